import Foundation
import Testing

/// A Job document; `extra` is YAML under `spec:` (indented two spaces).
func jobYAML(_ scenario: Scenario, _ name: String, command: String, extra: String = "") -> String {
    """
    apiVersion: berth/v1
    kind: Job
    metadata: {name: \(name), project: \(scenario.project)}
    spec:
      image: \(scenario.image)
      pullPolicy: Never
      network: none
      stopGracePeriod: 1s
      command: ["sh", "-c", "\(command)"]
    \(extra)
    ---

    """
}

extension Scenario {
    /// The options every job test gives `serve`: quick polls and retries.
    static let jobServeOptions = ["--job-poll-interval", "200ms", "--job-retry-backoff", "1s"]

    /// Submits the Job documents in `yaml` (written to a file of their own); returns their ids.
    func submit(_ yaml: String, _ extra: [String] = []) async throws -> [String] {
        let file = folder.appendingPathComponent("submit-\(UUID().uuidString).yaml")
        try yaml.write(to: file, atomically: true, encoding: .utf8)
        let result = try await berth(["jobs", "submit", "-f", file.path, "--json"] + extra)
        guard result.status == 0, let jobs = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]] else {
            throw BerthProcess.SetupError("berth jobs submit failed: \(result.stdout)\n\(result.stderr)")
        }
        return jobs.compactMap { $0["id"] as? String }
    }

    /// `berth jobs show ID --json`.
    func job(_ id: String) async throws -> [String: Any] {
        let result = try await berth("jobs", "show", id, "--json")
        guard result.status == 0, let job = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] else {
            throw BerthProcess.SetupError("berth jobs show failed: \(result.stderr)")
        }
        return job
    }

    /// Waits until the job has ended and returns it.
    func ended(_ id: String, within seconds: Double = 60) async throws -> [String: Any] {
        var last: [String: Any] = [:]
        try await eventually(seconds, "job \(id) ends") {
            last = try await job(id)
            return ["finished", "failed", "cancelled"].contains(last["state"] as? String ?? "")
        }
        return last
    }

    /// Follows the engine's container creates in this project; `stop()` returns the job id of each.
    func captureJobCreates() async throws -> EventCapture {
        try await EventCapture(
            self, filters: ["type=container", "event=create", "label=berth.project=\(project)"],
            format: "{{index .Actor.Attributes \"berth.job\"}}"
        )
    }

    /// Follows the engine's creates of this project's job containers, with their times;
    /// `stop()` returns lines `<nanoseconds> <job id>` (`jobCreates(_:)` reads them).
    func captureJobCreates(withTimes: Bool) async throws -> JobCreateCapture {
        JobCreateCapture(
            capture: try await EventCapture(
                self, filters: ["type=container", "event=create", "label=berth.project=\(project)", "label=berth.kind=job"],
                format: "{{.TimeNano}} {{index .Actor.Attributes \"berth.job\"}}"
            ))
    }

    /// Controller `one` serving a CronJob `tick` that runs `true` every 2 s (runs may overlap; 50
    /// kept), and the capture of job container creates that counts its runs, started before it.
    func serveTickEveryTwoSeconds() async throws -> JobCreateCapture {
        try write(
            CronEndToEndTests.cronYAML(
                self, "tick", schedule: "@every 2s", command: "true", extra: "  concurrencyPolicy: Allow\n  successfulJobsHistoryLimit: 50"
            ))
        let creates = try await captureJobCreates(withTimes: true)
        try startServe(Scenario.jobServeOptions + ["--controller-id", "one"])
        return creates
    }

    /// The runs CronJobs fired, as each serve logged them (`submitted job … for the run scheduled
    /// at …`), by the log file that says so; the logs, not the store.
    func cronFirings(logs: [String]) -> [CronFiring] {
        logs.flatMap { log in
            serveLog(log).split(separator: "\n").compactMap { line -> CronFiring? in
                guard let range = line.range(of: "submitted job ") else { return nil }
                let words = line[range.upperBound...].split(separator: " ")
                guard words.count == 7, words[1] == "for", let scheduled = ISO8601DateFormatter().date(from: String(words[6])) else { return nil }
                return CronFiring(log: log, job: String(words[0]), scheduled: scheduled)
            }
        }
    }

    /// Names of this project's job containers and scratch volumes that still exist.
    func jobLeftovers() async throws -> [String] {
        let containers = try await docker("ps", "-a", "--filter", "label=berth.project=\(project)", "--filter", "label=berth.kind=job", "--format", "{{.Names}}")
        let volumes = try await docker("volume", "ls", "-q", "--filter", "label=berth.project=\(project)", "--filter", "label=berth.kind=job")
        return (containers + "\n" + volumes).split(separator: "\n").map(String.init)
    }
}

/// One run a CronJob fired, as a serve logged it.
struct CronFiring: Sendable, CustomStringConvertible {
    var log: String
    var job: String
    var scheduled: Date

    var description: String { "\(job) at \(scheduled.formatted(.iso8601)) by \(log)" }
}

/// The engine's creates of job containers, with their times (`Scenario.captureJobCreates(withTimes:)`).
struct JobCreateCapture: Sendable {
    let capture: Scenario.EventCapture

    /// Each create: when the engine made it, and for which job.
    func stop() async throws -> [(time: Date, job: String)] {
        try await capture.stop().compactMap { line in
            let columns = line.split(separator: " ")
            guard columns.count == 2, let nanoseconds = Double(columns[0]) else { return nil }
            return (Date(timeIntervalSince1970: nanoseconds / 1e9), String(columns[1]))
        }
    }
}

/// Jobs as applications meet them: submitted with `berth jobs submit`, run by `berth serve`, read
/// back with `berth jobs show`, on the private engine and both stores.
@Suite("Jobs end to end")
struct JobEndToEndTests {
    /// A job's events from `berth jobs show --json`, oldest first.
    static func events(_ job: [String: Any]) -> [(sequence: Int, time: Date, reason: String, message: String)] {
        let whole = ISO8601DateFormatter(), fractional = ISO8601DateFormatter()
        fractional.formatOptions.insert(.withFractionalSeconds)
        return (job["events"] as? [[String: Any]] ?? []).compactMap { event in
            guard let sequence = event["sequence"] as? Int, let text = event["time"] as? String,
                let time = whole.date(from: text) ?? fractional.date(from: text),
                let reason = event["reason"] as? String, let message = event["message"] as? String
            else { return nil }
            return (sequence, time, reason, message)
        }.sorted { $0.sequence < $1.sequence }
    }

    @Test(arguments: StoreChoice.allCases)
    func successErrorsRetriesAndTheExitCodePolicy(store: StoreChoice) async throws {
        let scenario = try await Scenario(store)
        defer { scenario.finish() }
        // given
        try scenario.write("")
        try scenario.startServe(Scenario.jobServeOptions)

        // when
        let ids = try await scenario.submit(
            jobYAML(scenario, "ok", command: "echo done; echo warn >&2")
                + jobYAML(scenario, "flaky", command: "echo try; exit 3", extra: "  backoffLimit: 2")
                + jobYAML(scenario, "fatal", command: "exit 4", extra: "  backoffLimit: 2\n  nonRetryableExitCodes: [4]")
        )
        try #require(ids.count == 3)

        // then
        let ok = try await scenario.ended(ids[0])
        #expect(ok["state"] as? String == "finished")
        #expect(ok["reason"] as? String == "Completed")
        #expect(ok["stdoutTail"] as? String == "done\n")
        #expect(ok["stderrTail"] as? String == "warn\n")
        let fatal = try await scenario.ended(ids[2])
        #expect(fatal["state"] as? String == "failed")
        #expect(fatal["exitCode"] as? Int == 4)
        #expect(fatal["attempt"] as? Int == 1, "a code in nonRetryableExitCodes is not retried")
        let flaky = try await scenario.ended(ids[1])
        #expect(flaky["state"] as? String == "failed")
        #expect(flaky["reason"] as? String == "Error")
        #expect(flaky["exitCode"] as? Int == 3)
        #expect(flaky["attempt"] as? Int == 3)
        // The backoff grows (1 s, then 2 s) and each retry was claimed no earlier than its backoff
        // after the attempt before it was requeued. The store's record, not the test's view of it:
        // a loaded machine only makes the waits longer.
        let events = Self.events(flaky)
        let messages = events.map(\.message)
        #expect(messages.contains { $0.hasPrefix("attempt 1: exited with code 3; attempt 2 of 3 in 1s") }, "\(messages)")
        #expect(messages.contains { $0.hasPrefix("attempt 2: exited with code 3; attempt 3 of 3 in 2s") }, "\(messages)")
        let requeued = events.filter { $0.reason == "Requeued" }.map(\.time), queued = events.filter { $0.reason == "Queued" }.map(\.time)
        try #require(requeued.count == 2 && queued.count == 3, "\(messages)")
        // Event times are whole seconds; a wait of at least n s spans at least n of them.
        #expect(queued[1].timeIntervalSince(requeued[0]) >= 1, "attempt 2 waited its 1 s: \(events)")
        #expect(queued[2].timeIntervalSince(requeued[1]) >= 2, "attempt 3 waited its 2 s: \(events)")
        try await scenario.eventually(20, "no worker container or scratch volume is left") { try await scenario.jobLeftovers().isEmpty }
    }

    @Test(arguments: StoreChoice.allCases)
    func deadlinesAndOutOfMemoryKillsAreTheirOwnReasons(store: StoreChoice) async throws {
        let scenario = try await Scenario(store)
        defer { scenario.finish() }
        // given
        try scenario.write("")
        try scenario.startServe(Scenario.jobServeOptions)

        // when
        let ids = try await scenario.submit(
            jobYAML(scenario, "slow", command: "sleep 60", extra: "  activeDeadline: 2s\n  backoffLimit: 3")
                + jobYAML(scenario, "hungry", command: "x=$(head -c 200000000 /dev/zero | tr '\\\\0' a)", extra: "  resources: {memory: 16Mi}")
        )

        // then
        let slow = try await scenario.ended(ids[0])
        #expect(slow["state"] as? String == "failed")
        #expect(slow["reason"] as? String == "DeadlineExceeded")
        #expect(slow["attempt"] as? Int == 1, "a deadline is final")
        let hungry = try await scenario.ended(ids[1])
        #expect(hungry["state"] as? String == "failed")
        #expect(hungry["reason"] as? String == "OOMKilled", "\(hungry)")
    }

    @Test func aJobWhoseImageIsMissingFailsWithTheReasonInItsEvents() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given
        try scenario.write("")
        try scenario.startServe(Scenario.jobServeOptions)

        // when
        let id = try await scenario.submit(jobYAML(scenario, "ghost", command: "true").replacingOccurrences(of: scenario.image, with: "localhost/no-such-image:1"))[0]

        // then
        let job = try await scenario.ended(id)
        #expect(job["state"] as? String == "failed")
        #expect(job["startedAt"] == nil)
        let events = job["events"] as? [[String: Any]] ?? []
        #expect(events.contains { ($0["message"] as? String)?.contains("localhost/no-such-image:1") == true }, "\(events)")
        let text = try await scenario.berth("jobs", "show", id)
        #expect(text.stdout.contains("pullPolicy is Never"), "\(text.stdout)")
        try await scenario.eventually(20, "no scratch volume is left") { try await scenario.jobLeftovers().isEmpty }
    }

    @Test func feedbackIsCollectedValidInvalidMissingOrTooLarge() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given
        try scenario.write("")
        try scenario.startServe(Scenario.jobServeOptions)
        let path = "  feedbackPath: /berth/scratch/feedback.json"

        // when
        let ids = try await scenario.submit(
            jobYAML(scenario, "valid", command: "echo '{\\\"rows\\\": 42}' > $BERTH_SCRATCH_DIR/feedback.json", extra: path)
                + jobYAML(scenario, "invalid", command: "echo 'not json' > $BERTH_SCRATCH_DIR/feedback.json; exit 2", extra: path)
                + jobYAML(scenario, "missing", command: "true", extra: path)
                + jobYAML(scenario, "huge", command: "head -c 200000 /dev/zero | tr '\\\\0' 1 > $BERTH_SCRATCH_DIR/feedback.json", extra: path)
        )

        // then
        let valid = try await scenario.ended(ids[0])
        #expect((valid["feedback"] as? [String: Any])?["rows"] as? Int == 42, "\(valid)")
        let invalid = try await scenario.ended(ids[1])
        #expect(((invalid["feedback"] as? [String: Any])?["berthError"] as? String)?.contains("not valid JSON") == true, "\(invalid)")
        #expect(invalid["exitCode"] as? Int == 2, "invalid feedback does not hide the exit status")
        let missing = try await scenario.ended(ids[2])
        #expect(missing["feedback"] == nil)
        #expect(missing["state"] as? String == "finished")
        let huge = try await scenario.ended(ids[3])
        #expect(((huge["feedback"] as? [String: Any])?["berthError"] as? String)?.contains("larger than") == true, "\(huge)")
    }

    @Test(arguments: StoreChoice.allCases)
    func cancellingAPendingJobNeverStartsItAndARunningOneIsStopped(store: StoreChoice) async throws {
        let scenario = try await Scenario(store)
        defer { scenario.finish() }
        // given: an exclusive project, so a second job waits while the first runs
        try scenario.write(
            """
            apiVersion: berth/v1
            kind: Project
            metadata: {name: \(scenario.project)}
            spec: {exclusiveJobs: true}
            """, declaringProject: false)
        try scenario.startServe(Scenario.jobServeOptions)
        let ids = try await scenario.submit(jobYAML(scenario, "long", command: "sleep 120") + jobYAML(scenario, "waiting", command: "echo never"))
        try await scenario.eventually(30, "the first job runs") { try await scenario.job(ids[0])["state"] as? String == "started" }
        #expect(try await scenario.job(ids[1])["state"] as? String == "pending", "exclusive: one active job per project")

        // when
        let cancelPending = try await scenario.berth("jobs", "cancel", ids[1])
        let cancelRunning = try await scenario.berth("jobs", "cancel", ids[0])

        // then
        #expect(cancelPending.status == 0)
        #expect(cancelPending.stdout.contains("cancelled"))
        #expect(cancelRunning.status == 0)
        let waiting = try await scenario.ended(ids[1])
        #expect(waiting["state"] as? String == "cancelled")
        #expect(waiting["startedAt"] == nil)
        let long = try await scenario.ended(ids[0], within: 30)
        #expect(long["state"] as? String == "cancelled", "\(long)\n\(scenario.serveLog)")
        #expect(long["reason"] as? String == "Cancelled")
        try await scenario.eventually(20, "the stopped worker is removed") { try await scenario.jobLeftovers().isEmpty }
        let again = try await scenario.berth("jobs", "cancel", ids[0])
        #expect(again.stdout.contains("already ended") || again.stdout.contains("cancelled"))
        #expect(try await scenario.berth("jobs", "cancel", "nosuchjob").status == 1)
    }

    @Test func cancellingAQueuedJobEndsItWithoutEverCreatingItsContainer() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given: a job claimed by controller "holder", which died before creating its container
        try scenario.write("")
        let id = try await scenario.submit(jobYAML(scenario, "claimed", command: "echo never"))[0]
        let probeOutput = scenario.folder.appendingPathComponent("probe.out")
        let probeBinary = try BerthProcess.executable().deletingLastPathComponent().appendingPathComponent("berth-store-probe").path
        let probe = try scenario.launch(
            [probeBinary, "sqlite", scenario.folder.appendingPathComponent("state/berth.sqlite").path, "holder", "1", "300"], stdout: probeOutput)
        try await scenario.eventually(60, "the probe claims the job") {
            (try String(contentsOf: probeOutput, encoding: .utf8)).contains("claimed \(id)")
        }
        await probe.stop(SIGKILL)
        let held = try await scenario.job(id)
        try #require(held["state"] as? String == "queued" && held["claimedBy"] as? String == "holder", "\(held)")

        // when: cancelled while queued, then the holder comes back
        let cancel = try await scenario.berth("jobs", "cancel", id)
        let flagged = try await scenario.job(id)
        let creates = try await Scenario.EventCapture(
            scenario, filters: ["type=container", "event=create", "label=berth.project=\(scenario.project)"], format: "{{.Actor.Attributes.name}}"
        )
        try scenario.startServe(Scenario.jobServeOptions + ["--controller-id", "holder"])

        // then
        #expect(cancel.status == 0)
        #expect(cancel.stdout.contains("cancel requested") && cancel.stdout.contains("queued"), "\(cancel.stdout)")
        #expect(flagged["state"] as? String == "queued" && flagged["cancelRequested"] as? Bool == true, "\(flagged)")
        let job = try await scenario.ended(id)
        #expect(job["state"] as? String == "cancelled", "\(job)\n\(scenario.serveLog)")
        #expect(job["reason"] as? String == "Cancelled")
        #expect(job["startedAt"] == nil)
        #expect(job["stdoutTail"] == nil)
        #expect(try await creates.stop().isEmpty, "no container is ever created for it")
        #expect(try await scenario.jobLeftovers().isEmpty)
    }

    @Test func aFinishedJobsContainerIsKeptForItsTTLThenRemoved() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given
        try scenario.write("")
        try scenario.startServe(Scenario.jobServeOptions)

        // when
        let ids = try await scenario.submit(
            jobYAML(scenario, "kept", command: "echo kept", extra: "  ttlAfterFinished: 10s")
                + jobYAML(scenario, "gone", command: "echo gone")
        )

        // then: the kept container outlives its job, and its output is read live from it
        let kept = try await scenario.ended(ids[0])
        let container = "berth-\(scenario.project)-job-\(ids[0])"
        #expect(kept["state"] as? String == "finished")
        #expect(await scenario.inspect(container, "{{.State.Status}}") == "exited", "kept for ttlAfterFinished")
        #expect(try await scenario.berth("jobs", "logs", ids[0]).stdout == "kept\n")
        let gone = try await scenario.ended(ids[1])
        #expect(gone["state"] as? String == "finished")
        try await scenario.eventually(20, "the container without a ttl is removed with its job") {
            await scenario.inspect("berth-\(scenario.project)-job-\(ids[1])", "{{.Id}}") == nil
        }
        // The janitor looks every 30 s: after the ttl, within one more round.
        try await scenario.eventually(90, "the kept container and its scratch volume are removed after the ttl") { try await scenario.jobLeftovers().isEmpty }
        let finishedAt = try #require((kept["finishedAt"] as? String).flatMap { ISO8601DateFormatter().date(from: $0) }, "\(kept)")
        #expect(Date().timeIntervalSince(finishedAt) >= 9.5, "not before the ttl of 10 s (finishedAt is in whole seconds)")
        #expect(try await scenario.job(ids[0])["stdoutTail"] as? String == "kept\n", "the job keeps its tail after the container is gone")
    }

    @Test func theStoredOutputIsTheLastBytesUpToTheConfiguredTail() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given: a 1 KiB tail; lines far shorter than the engine's line-count tail assumes
        try scenario.write("")
        try scenario.startServe(Scenario.jobServeOptions + ["--job-log-tail", "1Ki"])

        // when
        let ids = try await scenario.submit(
            jobYAML(scenario, "chatty", command: "seq 1 3000; seq 1 2000 >&2")
                + jobYAML(scenario, "quiet", command: "echo short; echo brief >&2")
        )

        // then: each stream keeps exactly its last 1024 bytes
        let chatty = try await scenario.ended(ids[0])
        let stdout = (1...3000).map { "\($0)\n" }.joined(), stderr = (1...2000).map { "\($0)\n" }.joined()
        #expect(chatty["state"] as? String == "finished")
        #expect(chatty["stdoutTail"] as? String == String(stdout.suffix(1024)), "\(chatty["stdoutTail"] ?? "")")
        #expect(chatty["stderrTail"] as? String == String(stderr.suffix(1024)), "\(chatty["stderrTail"] ?? "")")
        #expect((chatty["stdoutTail"] as? String)?.hasSuffix("2999\n3000\n") == true)
        let quiet = try await scenario.ended(ids[1])
        #expect(quiet["stdoutTail"] as? String == "short\n")
        #expect(quiet["stderrTail"] as? String == "brief\n")
    }

    /// SQLite: a submit through the API of the serving process; PostgreSQL: from the CLI's own
    /// process, by NOTIFY. Neither waits for a poll.
    @Test(arguments: StoreChoice.allCases)
    func aSubmitIsPickedUpAtOnceWhateverThePollInterval(store: StoreChoice) async throws {
        let scenario = try await Scenario(store)
        defer { scenario.finish() }
        // given: serve reads the store for jobs only every 60 s (and the lease renewal every 10 s)
        try scenario.write("")
        try scenario.startServe(["--job-poll-interval", "60s"], resync: "60s")
        if store == .sqlite {
            let created = try await scenario.berth("token", "create", "--name", "pickup", "--scope", "admin")
            try #require(created.status == 0, "\(created.stderr)")
            scenario.server = (url: try await scenario.apiURL(), token: created.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        let first = try await scenario.submit(jobYAML(scenario, "first", command: "sleep 60"))[0]
        try await scenario.eventually(60, "the first job runs") { try await scenario.job(first)["state"] as? String == "started" }

        // when: more jobs, one after the other, each while the runner waits for its next poll
        var pickups: [Double] = []
        for name in ["second", "third", "fourth"] {
            let submitted = Date()
            let id = try await scenario.submit(jobYAML(scenario, name, command: "sleep 60"))[0]
            try await scenario.eventually(60, "\(name) is claimed") { try await scenario.job(id)["state"] as? String != "pending" }
            pickups.append(Date().timeIntervalSince(submitted))
            try await scenario.eventually(60, "\(name) runs") { try await scenario.job(id)["state"] as? String == "started" }
        }

        // then: each claimed in moments (a poll would take up to 10 s)
        #expect(pickups.allSatisfy { $0 < 5 }, "seconds from submit to claim: \(pickups)")
    }

    @Test func theRetryBackoffStopsGrowingAtItsConfiguredMaximum() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given
        try scenario.write("")
        try scenario.startServe(["--job-poll-interval", "200ms", "--job-retry-backoff", "1s", "--job-retry-backoff-max", "1s"])

        // when
        let id = try await scenario.submit(jobYAML(scenario, "flaky", command: "exit 3", extra: "  backoffLimit: 3"))[0]

        // then: 1 s, 1 s, 1 s instead of 1 s, 2 s, 4 s
        let job = try await scenario.ended(id)
        #expect(job["attempt"] as? Int == 4)
        let messages = Self.events(job).map(\.message)
        for attempt in 1...3 {
            #expect(messages.contains { $0.hasPrefix("attempt \(attempt): exited with code 3; attempt \(attempt + 1) of 4 in 1s") }, "\(messages)")
        }
    }

    /// The order is the engine's: container starts and ends in nanoseconds, from `docker events`.
    /// The blocker holds the project's one slot until the test lets it go, after all three were
    /// submitted, so no submit races it, however slow the machine.
    @Test func higherPriorityRunsFirstWithinTheProjectLimit() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given: one job at a time in this project; a blocker holds the slot while three wait
        try scenario.write(
            """
            apiVersion: berth/v1
            kind: Project
            metadata: {name: \(scenario.project)}
            spec: {maxConcurrentJobs: 1}
            """, declaringProject: false)
        try scenario.startServe(Scenario.jobServeOptions)
        let engine = try await Scenario.EventCapture(
            scenario, filters: ["type=container", "event=start", "event=die", "label=berth.project=\(scenario.project)"],
            format: "{{.TimeNano}} {{.Action}} {{index .Actor.Attributes \"berth.job\"}}"
        )
        let blocker = try await scenario.submit(jobYAML(scenario, "blocker", command: "until [ -e /tmp/go ]; do sleep 0.1; done"))[0]
        try await scenario.eventually(120, "the blocker runs") { try await scenario.job(blocker)["state"] as? String == "started" }
        let low = try await scenario.submit(jobYAML(scenario, "low", command: "true", extra: "  priority: 1"))[0]
        let high = try await scenario.submit(jobYAML(scenario, "high", command: "true", extra: "  priority: 10"))[0]
        let middle = try await scenario.submit(jobYAML(scenario, "middle", command: "true", extra: "  priority: 5"))[0]
        for id in [low, high, middle] {
            #expect(try await scenario.job(id)["state"] as? String == "pending", "the blocker holds the only slot")
        }

        // when: the blocker is let go
        try await scenario.docker("exec", "berth-\(scenario.project)-job-\(blocker)", "touch", "/tmp/go")

        // then: each ran (none left out), and the engine started them by priority, each after the one before ended
        for id in [blocker, high, middle, low] {
            let job = try await scenario.ended(id, within: 120)
            #expect(job["state"] as? String == "finished", "\(job)")
        }
        let events = try await engine.stop().map { $0.split(separator: " ").map(String.init) }
        let order = events.filter { $0.count == 3 }.sorted { (Int($0[0]) ?? 0) < (Int($1[0]) ?? 0) }.map { "\($0[1]) \($0[2])" }
        let expected = [blocker, high, middle, low].flatMap { ["start \($0)", "die \($0)"] }
        #expect(order == expected, "blocker \(blocker), high \(high), middle \(middle), low \(low): \(events)")
    }

    /// `--job-retention` under serve: the janitor (at start and every 30 s) deletes an ended job
    /// older than the retention, with its events; a running one stays whatever its age.
    @Test func endedJobsOlderThanTheRetentionArePrunedWithTheirEvents() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given: a retention of 2 s, keeping no ended job for its recency
        try scenario.write("")
        try scenario.startServe(Scenario.jobServeOptions + ["--job-retention", "2s", "--job-keep-per-project", "0"])

        // when
        let ids = try await scenario.submit(jobYAML(scenario, "done", command: "true") + jobYAML(scenario, "running", command: "sleep 300"))
        let done = try await scenario.ended(ids[0], within: 120)
        #expect(done["state"] as? String == "finished", "\(done)")
        try await scenario.eventually(120, "the running job runs") { try await scenario.job(ids[1])["state"] as? String == "started" }

        // then: the ended job goes within a janitor round or two after its retention
        try await scenario.eventually(120, "the ended job is pruned") { try await scenario.berth("jobs", "show", ids[0]).status != 0 }
        let shown = try await scenario.berth("jobs", "show", ids[0])
        #expect(shown.status == 1 && shown.stderr.contains(ids[0]), "\(shown.stdout)\(shown.stderr)")
        let events = try await scenario.berth("events", "--project", scenario.project, "--job", ids[0], "--json")
        let listed = try JSONSerialization.jsonObject(with: Data(events.stdout.utf8)) as? [Any]
        #expect(events.status == 0 && listed?.isEmpty == true, "\(events.stdout)")
        #expect(try await scenario.job(ids[1])["state"] as? String == "started", "a running job is never pruned")
    }

    @Test func aJobDeclaredInTheManifestsRunsOnceAcrossRestarts() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given
        try scenario.write(jobYAML(scenario, "migrate", command: "echo migrated"))

        // when
        try scenario.startServe(Scenario.jobServeOptions)
        var listed: [[String: Any]] = []
        try await scenario.eventually(30, "the manifest job finishes") {
            let result = try await scenario.berth("jobs", "list", "--project", scenario.project, "--json")
            listed = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]] ?? []
            return listed.first?["state"] as? String == "finished"
        }
        await scenario.stopServe()
        try scenario.startServe(Scenario.jobServeOptions + ["--log-level", "debug"])
        // The restarted serve has read the manifests (it submits their jobs then) and made a pass.
        try await scenario.eventually(120, "the restarted serve loads the manifests and makes a pass") {
            scenario.serveLog.passDone(afterThe: 2, "desired state loaded")
        }

        // then
        let result = try await scenario.berth("jobs", "list", "--project", scenario.project, "--json")
        let after = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]] ?? []
        #expect(after.count == 1, "\(after)")
        #expect(after.first?["stdoutTail"] as? String == "migrated\n")
    }
}

/// The property users most need from the queue: the controller may die at any instruction.
@Suite("Jobs across controller crashes")
struct JobCrashSafetyTests {
    @Test(arguments: StoreChoice.allCases)
    func everyJobEndsOnceWithOneContainerWhateverMomentTheControllerIsKilled(store: StoreChoice) async throws {
        let scenario = try await Scenario(store)
        defer { scenario.finish() }
        // given: jobs of varied lengths, and a controller that is SIGKILLed again and again
        try scenario.write("")
        let creates = try await scenario.captureJobCreates()
        let options = Scenario.jobServeOptions + ["--max-concurrent-jobs", "4"]
        try scenario.startServe(options)
        var random = SystemRandomNumberGenerator()
        let documents = (0..<16).map { index in
            jobYAML(scenario, "job\(index)", command: "sleep 0.\(Int.random(in: 1...9, using: &random)); echo done \(index)")
        }
        let ids = try await scenario.submit(documents.joined())
        try #require(ids.count == 16)

        // when: killed at random moments (pending, claimed, created, running, collecting)
        for _ in 0..<6 {
            try await Task.sleep(for: .milliseconds(Int.random(in: 150...900, using: &random)))
            await scenario.stopServe(kill: true)
            try scenario.startServe(options)
        }

        // then: each job finished exactly once, on its first attempt, in one container
        for id in ids {
            let job = try await scenario.ended(id, within: 120)
            #expect(job["state"] as? String == "finished", "\(job)")
            #expect(job["attempt"] as? Int == 1, "\(job)")
            #expect((job["stdoutTail"] as? String)?.hasPrefix("done") == true, "\(job)")
        }
        var perJob: [String: Int] = [:]
        for job in try await creates.stop() { perJob[job, default: 0] += 1 }
        #expect(Set(perJob.keys) == Set(ids))
        #expect(perJob.values.allSatisfy { $0 == 1 }, "containers created per job: \(perJob)")
        try await scenario.eventually(60, "no worker container or scratch volume is left") { try await scenario.jobLeftovers().isEmpty }
    }
}

/// CronJobs on a short real schedule under `berth serve`.
@Suite("Cron jobs end to end")
struct CronEndToEndTests {
    /// A CronJob document; `extra` is YAML under `spec:` (indented two spaces).
    static func cronYAML(_ scenario: Scenario, _ name: String, schedule: String, command: String, extra: String = "") -> String {
        """
        apiVersion: berth/v1
        kind: CronJob
        metadata: {name: \(name), project: \(scenario.project)}
        spec:
          schedule: "\(schedule)"
        \(extra)
          jobTemplate:
            image: \(scenario.image)
            pullPolicy: Never
            network: none
            stopGracePeriod: 1s
            command: ["sh", "-c", "\(command)"]
        ---

        """
    }

    func jobs(_ scenario: Scenario) async throws -> [[String: Any]] {
        let result = try await scenario.berth("jobs", "list", "--project", scenario.project, "--json")
        return try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]] ?? []
    }

    @Test func aScheduleFiresRepeatedlyAndForbidNeverOverlapsRuns() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given: one quick job every 2 s keeping 2 finished runs, and one that outlasts its 1 s interval under Forbid
        try scenario.write(
            Self.cronYAML(scenario, "tick", schedule: "@every 2s", command: "echo tick", extra: "  concurrencyPolicy: Allow\n  successfulJobsHistoryLimit: 2")
                + Self.cronYAML(scenario, "long", schedule: "@every 1s", command: "sleep 3", extra: "  concurrencyPolicy: Forbid")
        )

        // when
        try scenario.startServe(Scenario.jobServeOptions)
        var maxActiveLong = 0
        var tickKeys: [String] = []
        var all: [[String: Any]] = []
        func look() async throws {
            all = try await jobs(scenario)
            let activeLong = all.filter { $0["name"] as? String == "long" && ["pending", "queued", "started"].contains($0["state"] as? String ?? "") }.count
            maxActiveLong = max(maxActiveLong, activeLong)
            for job in all where job["name"] as? String == "tick" {
                if let key = job["idempotencyKey"] as? String, !tickKeys.contains(key) { tickKeys.append(key) }
            }
        }
        try await scenario.eventually(60, "four runs of tick") {
            try await look()
            return tickKeys.count >= 4
        }

        // then: the history limit is applied at the following ticks, so the first run goes
        let first = tickKeys.sorted()[0]
        var finishedTicks = 0
        try await scenario.eventually(30, "the oldest run of tick pruned, at most two finished runs kept") {
            try await look()
            finishedTicks = all.filter { $0["name"] as? String == "tick" && $0["state"] as? String == "finished" }.count
            return !all.contains { $0["idempotencyKey"] as? String == first } && finishedTicks <= 2
        }
        #expect(finishedTicks <= 2, "successfulJobsHistoryLimit: 2, found \(finishedTicks)")
        #expect(tickKeys.allSatisfy { $0.hasPrefix("cron:tick:") })
        #expect(maxActiveLong <= 1, "Forbid: at most one run of long at a time")
        #expect(all.contains { $0["name"] as? String == "long" })
    }
}
