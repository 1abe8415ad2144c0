import Foundation
import Testing

/// The web UI as a person uses it: headless Chromium, driven through selenium by
/// Tests/browser/berth_ui.py, on a live `berth serve` with the real dockerd. Each test prepares
/// the state (manifests, tokens, jobs) with the CLI and the engine, runs one scenario of the
/// script, acts when the script reports a step, and expects the script to pass; its output is
/// shown when it does not. Screenshots go to the scenario's folder, and to the folder
/// `BERTH_TEST_SCREENSHOTS` names when set (kept after the run: the docs' images come from there).
@Suite("Web UI in a browser", .serialized) struct WebUIBrowserTests {
    /// A token made with `berth token create` (on the store, as an operator does).
    func token(_ scenario: Scenario, _ scope: String, project: String? = nil) async throws -> String {
        let created = try await scenario.berth(["token", "create", "--name", "ui-\(scope)", "--scope", scope] + (project.map { ["--project", $0] } ?? []))
        try #require(created.status == 0, "\(created.stderr)")
        return created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Serve on the scenario's manifests with the job options; returns its API's URL and an admin
    /// token, with which the scenario's CLI then works through the API.
    func serve(_ scenario: Scenario) async throws -> (url: String, admin: String) {
        try scenario.startServe(Scenario.jobServeOptions)
        let admin = try await token(scenario, "admin")
        let url = try await scenario.apiURL()
        scenario.server = (url: url, token: admin)
        return (url, admin)
    }

    @Test func signingInRefusesABadTokenAndSignedOutPagesShowNothing() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given: a service whose project name must not show while signed out
        try scenario.write(serviceYAML(scenario, "web"))
        let (url, admin) = try await serve(scenario)
        try await scenario.eventually(60, "the service runs") { await scenario.inspect(scenario.container("web"), "{{.State.Running}}") == "true" }

        // when
        let browser = try BrowserRun(
            scenario, "signin", ["--base", url, "--token", admin, "--bad-token", "berth_" + String(repeating: "0", count: 40), "--secret", scenario.project])

        // then
        await browser.passes()
        #expect(!scenario.serveLog.contains(admin), "the token never appears in serve's log")
    }

    @Test func aServiceReachesReadyAndItsRestartAndCauseShowLive() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given: the overview open on an empty project
        try scenario.write("")
        let (url, admin) = try await serve(scenario)
        let browser = try BrowserRun(
            scenario, "service-live",
            ["--base", url, "--token", admin, "--project", scenario.project, "--service", "web", "--restart-cause", "exited with code 137", "--image", scenario.image],
            deadline: 420)
        try await browser.reached("overview-open")

        // when: the manifest gains a service
        try scenario.write(serviceYAML(scenario, "web"))
        try await browser.reached("service-ready", within: 180)
        // and its container is killed
        try await scenario.docker("kill", scenario.container("web"))

        // then: the browser saw both live (its checks), and the status agrees
        await browser.passes()
        #expect((try await scenario.statuses()["Service/web"]?["restartCount"] as? Int ?? 0) >= 1)
    }

    @Test func aJobsOutputIsFollowedLiveUntilItEndsWithItsFeedback() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given: a job submitted through the API that waits for a file before it goes on
        try scenario.write("")
        let (url, admin) = try await serve(scenario)
        let feedback = #"{"rows": 42, "layers": ["points", "lines"]}"#
        let command = [
            "echo waiting for go", "i=0", "until [ -e /tmp/go ] || [ $i -ge 300 ]; do sleep 1; i=$((i+1)); done",
            "echo step 1", "sleep 1", "echo step 2", "sleep 1",
            "echo '\(feedback.replacingOccurrences(of: "\"", with: "\\\""))' > $BERTH_SCRATCH_DIR/feedback.json", "echo all done",
        ].joined(separator: "; ")
        let id = try await scenario.submit(jobYAML(scenario, "report", command: command, extra: "  feedbackPath: /berth/scratch/feedback.json"))[0]
        let browser = try BrowserRun(scenario, "job-live", ["--base", url, "--token", admin, "--project", scenario.project, "--job", id, "--feedback", feedback])
        try await browser.reached("job-open")

        // when: the job is let go on while its page is open
        let container = try await scenario.docker("ps", "-q", "--filter", "label=berth.job=\(id)")
        try #require(!container.isEmpty, "job \(id) has a running container")
        try await scenario.docker("exec", container, "touch", "/tmp/go")

        // then
        await browser.passes()
        #expect(try await scenario.job(id)["state"] as? String == "finished")
    }

    @Test func aRunningJobIsCancelledFromItsPage() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given
        try scenario.write("")
        let (url, admin) = try await serve(scenario)
        let id = try await scenario.submit(jobYAML(scenario, "long", command: "echo running; sleep 300"))[0]

        // when
        let browser = try BrowserRun(scenario, "cancel", ["--base", url, "--token", admin, "--job", id])

        // then: the page showed it cancelled, and so does the CLI
        await browser.passes()
        try await scenario.eventually(30, "berth jobs show says cancelled") { try await scenario.job(id)["state"] as? String == "cancelled" }
    }

    @Test func aReaderHasNoCancelAndItsForgedPostsAreRefused() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given: a running job and a read-only token
        try scenario.write("")
        let (url, _) = try await serve(scenario)
        let reader = try await token(scenario, "read")
        let id = try await scenario.submit(jobYAML(scenario, "long", command: "echo running; sleep 300"))[0]
        try await scenario.eventually(60, "the job runs") { try await scenario.job(id)["state"] as? String == "started" }

        // when
        let browser = try BrowserRun(scenario, "read-only", ["--base", url, "--token", reader, "--job", id])

        // then: refused everywhere, and the job went on
        await browser.passes()
        let job = try await scenario.job(id)
        #expect(job["state"] as? String == "started", "\(job)")
        let events = try await scenario.berth("events", "--project", scenario.project, "--job", id, "--json")
        #expect(!events.stdout.contains("Cancel"), "no cancel was recorded: \(events.stdout)")
    }

    @Test func aProjectLimitedTokenSeesOnlyItsProject() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given: a service and a job in this project and in another
        let other = scenario.project + "x"
        let otherService = serviceYAML(scenario, "web").replacingOccurrences(of: "project: \(scenario.project)}", with: "project: \(other)}")
        try scenario.write(serviceYAML(scenario, "web") + "apiVersion: berth/v1\nkind: Project\nmetadata: {name: \(other)}\n---\n" + otherService)
        scenario.dockerAtFinish("rm", "-f", "berth-\(other)-web-0")
        let (url, _) = try await serve(scenario)
        let mine = try await scenario.submit(jobYAML(scenario, "mine", command: "echo mine"))[0]
        let theirs = try await scenario.submit(jobYAML(scenario, "theirs", command: "echo theirs").replacingOccurrences(of: "project: \(scenario.project)}", with: "project: \(other)}"))[0]
        for id in [mine, theirs] { try #require(try await scenario.ended(id)["state"] as? String == "finished") }
        try await scenario.eventually(60, "both projects' services run") {
            let running = (await scenario.inspect(scenario.container("web"), "{{.State.Running}}"), await scenario.inspect("berth-\(other)-web-0", "{{.State.Running}}"))
            return running == ("true", "true")
        }
        let limited = try await token(scenario, "read", project: scenario.project)

        // when
        let browser = try BrowserRun(
            scenario, "limited",
            ["--base", url, "--token", limited, "--project", scenario.project, "--service", "web", "--job", mine, "--other", other, "--other-job", theirs])

        // then
        await browser.passes()
        let leftovers = try await scenario.docker("ps", "-aq", "--filter", "label=berth.project=\(other)")
        if !leftovers.isEmpty { try await scenario.docker(["rm", "-f"] + leftovers.split(separator: "\n").map(String.init)) }
    }

    @Test func everyPageParsesAsHTML5LoadsWithItsPartsAndWorksByKeyboardInDarkModeAtPhoneWidthAndWithoutJavaScript() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given: services, a volume, a cron job and a finished job: something on every page
        let volume = "apiVersion: berth/v1\nkind: Volume\nmetadata: {name: data, project: \(scenario.project)}\nspec: {}\n---\n"
        try scenario.write(
            serviceYAML(scenario, "web") + serviceYAML(scenario, "worker") + volume
                + CronEndToEndTests.cronYAML(scenario, "nightly", schedule: "0 3 * * *", command: "echo nightly"))
        let (url, admin) = try await serve(scenario)
        let id = try await scenario.submit(jobYAML(scenario, "hello", command: "echo hello from the job"))[0]
        try #require(try await scenario.ended(id)["state"] as? String == "finished")
        try await scenario.eventually(60, "the services are Ready") {
            let statuses = try await scenario.statuses()
            return ["Service/web", "Service/worker"].allSatisfy { statuses[$0]?["phase"] as? String == "Ready" }
        }
        // and a restart with its cause to show (the overview's screenshot is the docs' one)
        try await scenario.docker("kill", scenario.container("worker"))
        try await scenario.eventually(60, "the worker is restarted and Ready again") {
            let worker = try await scenario.statuses()["Service/worker"]
            return worker?["restartCount"] as? Int ?? 0 >= 1 && worker?["phase"] as? String == "Ready"
        }

        let site = ["--base", url, "--token", admin, "--project", scenario.project, "--service", "web", "--job", id, "--cron", "nightly", "--output", "hello from the job"]

        // then: three runs, each with a browser of its own, so that one's failure hides none of the others' checks
        try await BrowserRun(scenario, "html5", site).passes()
        try await BrowserRun(scenario, "pages", site).passes()
        try await BrowserRun(scenario, "usability", site).passes()
    }
}

/// One run of a scenario of Tests/browser/berth_ui.py against a scenario's serve: started at
/// once in the background; `reached(_:)` waits for a step it reports, `passes()` for its end.
struct BrowserRun {
    let scenario: Scenario
    let name: String
    let deadline: Int
    private let child: ChildProcess
    private let output: URL
    private let errors: URL
    private let shots: URL
    private let steps: URL

    static let script = BerthProcess.packageRoot.appendingPathComponent("Tests/browser/berth_ui.py")

    /// `deadline`: seconds after which the script fails by itself (and ends its browser).
    init(_ scenario: Scenario, _ name: String, _ arguments: [String], deadline: Int = 300) throws {
        self.scenario = scenario
        self.name = name
        self.deadline = deadline
        shots = scenario.folder.appendingPathComponent("screenshots")
        steps = scenario.folder.appendingPathComponent("steps-\(name)")
        output = scenario.folder.appendingPathComponent("browser-\(name).log")
        errors = scenario.folder.appendingPathComponent("browser-\(name).err")
        try FileManager.default.createDirectory(at: shots, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: steps, withIntermediateDirectories: true)
        // Set by scripts/services/browser.sh once headless chromium has started there.
        let python = try TestServices.value("BERTH_TEST_PYTHON")
        _ = try TestServices.value("BERTH_TEST_CHROMEDRIVER")
        let argv = [python, "-B", Self.script.path, name, "--shots", shots.path, "--signals", steps.path, "--deadline", "\(deadline)"] + arguments
        child = try scenario.launch(argv, stdout: output, stderr: errors)
    }

    /// What the script printed so far: its steps and screenshots, then its failure.
    var log: String { [output, errors].map { (try? String(contentsOf: $0, encoding: .utf8)) ?? "" }.joined() }

    /// Waits until the script reports `step`; fails, showing its output, when it ends before.
    func reached(_ step: String, within seconds: Double = 120) async throws {
        let file = steps.appendingPathComponent(step).path
        try await scenario.eventually(seconds, "the browser reaches \(step)") { FileManager.default.fileExists(atPath: file) || child.hasExited }
        guard FileManager.default.fileExists(atPath: file) else {
            Issue.record("berth_ui.py \(name) ended (\(child.status.map(String.init) ?? "?")) before \(step):\n\(log)\nserve log:\n\(scenario.serveLog.suffix(3000))")
            keepScreenshots()
            throw BerthProcess.SetupError("the browser did not reach \(step)")
        }
    }

    /// Waits for the script's end and expects it to pass; keeps the screenshots either way.
    func passes() async {
        let status = await child.exitStatus(within: .seconds(deadline + 30))
        keepScreenshots()
        #expect(
            status == 0,
            "berth_ui.py \(name) \(status.map { "exited with \($0)" } ?? "did not end within \(deadline + 30) s"):\n\(log)\nserve log:\n\(scenario.serveLog.suffix(3000))")
    }

    /// Copies the screenshots (and a failed page's source) and the script's output to
    /// `BERTH_TEST_SCREENSHOTS`, when set.
    private func keepScreenshots() {
        guard let folder = ProcessInfo.processInfo.environment["BERTH_TEST_SCREENSHOTS"], !folder.isEmpty else { return }
        let target = URL(fileURLWithPath: folder)
        try? FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
        for file in (try? FileManager.default.contentsOfDirectory(atPath: shots.path)) ?? [] where file.hasPrefix(name + "-") && !file.hasSuffix(".log") {
            let destination = target.appendingPathComponent(file)
            try? FileManager.default.removeItem(at: destination)
            try? FileManager.default.copyItem(at: shots.appendingPathComponent(file), to: destination)
        }
        try? log.write(to: target.appendingPathComponent("\(name).log"), atomically: true, encoding: .utf8)
    }
}
