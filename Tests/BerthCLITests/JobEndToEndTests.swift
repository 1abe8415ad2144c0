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
    func submit(_ yaml: String, _ extra: [String] = []) throws -> [String] {
        let file = folder.appendingPathComponent("submit-\(UUID().uuidString).yaml")
        try yaml.write(to: file, atomically: true, encoding: .utf8)
        let result = try berth(["jobs", "submit", "-f", file.path, "--json"] + extra)
        guard result.status == 0, let jobs = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]] else {
            throw BerthProcess.SetupError("berth jobs submit failed: \(result.stdout)\n\(result.stderr)")
        }
        return jobs.compactMap { $0["id"] as? String }
    }

    /// `berth jobs show ID --json`.
    func job(_ id: String) throws -> [String: Any] {
        let result = try berth("jobs", "show", id, "--json")
        guard result.status == 0, let job = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] else {
            throw BerthProcess.SetupError("berth jobs show failed: \(result.stderr)")
        }
        return job
    }

    /// Waits until the job has ended and returns it.
    func ended(_ id: String, within seconds: Double = 60) async throws -> [String: Any] {
        var last: [String: Any] = [:]
        try await eventually(seconds, "job \(id) ends") {
            last = try job(id)
            return ["finished", "failed", "cancelled"].contains(last["state"] as? String ?? "")
        }
        return last
    }

    /// Names of this project's job containers and scratch volumes that still exist.
    func jobLeftovers() throws -> [String] {
        let containers = try docker("ps", "-a", "--filter", "label=berth.project=\(project)", "--filter", "label=berth.kind=job", "--format", "{{.Names}}")
        let volumes = try docker("volume", "ls", "-q", "--filter", "label=berth.project=\(project)", "--filter", "label=berth.kind=job")
        return (containers + "\n" + volumes).split(separator: "\n").map(String.init)
    }
}

/// Jobs as applications meet them: submitted with `berth jobs submit`, run by `berth serve`, read
/// back with `berth jobs show`, on the private engine and both stores.
@Suite("Jobs end to end")
struct JobEndToEndTests {
    @Test(arguments: StoreChoice.allCases)
    func successErrorsRetriesAndTheExitCodePolicy(store: StoreChoice) async throws {
        let scenario = try await Scenario(store)
        defer { scenario.finish() }
        // given
        try scenario.write("")
        try scenario.startServe(Scenario.jobServeOptions)

        // when
        let ids = try scenario.submit(
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
        var attempts: [(attempt: Int, seen: Date)] = []
        try await scenario.eventually(60, "the flaky job used all its attempts") {
            let job = try scenario.job(ids[1])
            let attempt = job["attempt"] as? Int ?? 0
            if attempts.last?.attempt != attempt { attempts.append((attempt, Date())) }
            return job["state"] as? String == "failed"
        }
        let flaky = try scenario.job(ids[1])
        #expect(flaky["reason"] as? String == "Error")
        #expect(flaky["exitCode"] as? Int == 3)
        #expect(flaky["attempt"] as? Int == 3)
        if let second = attempts.first(where: { $0.attempt == 2 }), let third = attempts.first(where: { $0.attempt == 3 }), let first = attempts.first {
            // 1 s before the second attempt, 2 s before the third.
            #expect(third.seen.timeIntervalSince(second.seen) > second.seen.timeIntervalSince(first.seen) - 0.5, "\(attempts)")
        }
        try await scenario.eventually(20, "no worker container or scratch volume is left") { try scenario.jobLeftovers().isEmpty }
    }

    @Test func deadlinesAndOutOfMemoryKillsAreTheirOwnReasons() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given
        try scenario.write("")
        try scenario.startServe(Scenario.jobServeOptions)

        // when
        let ids = try scenario.submit(
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
        let id = try scenario.submit(jobYAML(scenario, "ghost", command: "true").replacingOccurrences(of: scenario.image, with: "localhost/no-such-image:1"))[0]

        // then
        let job = try await scenario.ended(id)
        #expect(job["state"] as? String == "failed")
        #expect(job["startedAt"] == nil)
        let events = job["events"] as? [[String: Any]] ?? []
        #expect(events.contains { ($0["message"] as? String)?.contains("localhost/no-such-image:1") == true }, "\(events)")
        let text = try scenario.berth("jobs", "show", id)
        #expect(text.stdout.contains("pullPolicy is Never"), "\(text.stdout)")
        try await scenario.eventually(20, "no scratch volume is left") { try scenario.jobLeftovers().isEmpty }
    }

    @Test func feedbackIsCollectedValidInvalidMissingOrTooLarge() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given
        try scenario.write("")
        try scenario.startServe(Scenario.jobServeOptions)
        let path = "  feedbackPath: /berth/scratch/feedback.json"

        // when
        let ids = try scenario.submit(
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

    @Test func cancellingAPendingJobNeverStartsItAndARunningOneIsStopped() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given: an exclusive project, so a second job waits while the first runs
        try scenario.write("""
            apiVersion: berth/v1
            kind: Project
            metadata: {name: \(scenario.project)}
            spec: {exclusiveJobs: true}
            """, declaringProject: false)
        try scenario.startServe(Scenario.jobServeOptions)
        let ids = try scenario.submit(jobYAML(scenario, "long", command: "sleep 120") + jobYAML(scenario, "waiting", command: "echo never"))
        try await scenario.eventually(30, "the first job runs") { try scenario.job(ids[0])["state"] as? String == "started" }
        #expect(try scenario.job(ids[1])["state"] as? String == "pending", "exclusive: one active job per project")

        // when
        let cancelPending = try scenario.berth("jobs", "cancel", ids[1])
        let cancelRunning = try scenario.berth("jobs", "cancel", ids[0])

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
        try await scenario.eventually(20, "the stopped worker is removed") { try scenario.jobLeftovers().isEmpty }
        let again = try scenario.berth("jobs", "cancel", ids[0])
        #expect(again.stdout.contains("already ended") || again.stdout.contains("cancelled"))
        #expect(try scenario.berth("jobs", "cancel", "nosuchjob").status == 1)
    }

    @Test func higherPriorityRunsFirstWithinTheProjectLimit() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given: one job at a time in this project; a blocker holds the slot while three wait
        try scenario.write("""
            apiVersion: berth/v1
            kind: Project
            metadata: {name: \(scenario.project)}
            spec: {maxConcurrentJobs: 1}
            """, declaringProject: false)
        try scenario.startServe(Scenario.jobServeOptions)
        let blocker = try scenario.submit(jobYAML(scenario, "blocker", command: "sleep 3"))[0]
        try await scenario.eventually(30, "the blocker runs") { try scenario.job(blocker)["state"] as? String == "started" }

        // when
        let low = try scenario.submit(jobYAML(scenario, "low", command: "true", extra: "  priority: 1"))[0]
        let high = try scenario.submit(jobYAML(scenario, "high", command: "true", extra: "  priority: 10"))[0]
        let middle = try scenario.submit(jobYAML(scenario, "middle", command: "true", extra: "  priority: 5"))[0]

        // then
        var starts: [String] = []
        for id in [high, middle, low] {
            starts.append(try await scenario.ended(id)["startedAt"] as? String ?? "")
        }
        #expect(starts == starts.sorted(), "high, then middle, then low: \(starts)")
        let blocked = try await scenario.ended(blocker)
        #expect((blocked["finishedAt"] as? String ?? "") <= starts[0])
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
            let result = try scenario.berth("jobs", "list", "--project", scenario.project, "--json")
            listed = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]] ?? []
            return listed.first?["state"] as? String == "finished"
        }
        scenario.stopServe()
        try scenario.startServe(Scenario.jobServeOptions)
        try await Task.sleep(for: .seconds(3))

        // then
        let result = try scenario.berth("jobs", "list", "--project", scenario.project, "--json")
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
        let creates = try Scenario.EventCapture(
            scenario, filters: ["type=container", "event=create", "label=berth.project=\(scenario.project)"],
            format: "{{index .Actor.Attributes \"berth.job\"}}"
        )
        let options = Scenario.jobServeOptions + ["--max-concurrent-jobs", "4"]
        try scenario.startServe(options)
        var random = SystemRandomNumberGenerator()
        let documents = (0..<16).map { index in
            jobYAML(scenario, "job\(index)", command: "sleep 0.\(Int.random(in: 1...9, using: &random)); echo done \(index)")
        }
        let ids = try scenario.submit(documents.joined())
        try #require(ids.count == 16)

        // when: killed at random moments (pending, claimed, created, running, collecting)
        for _ in 0..<6 {
            try await Task.sleep(for: .milliseconds(Int.random(in: 150...900, using: &random)))
            scenario.stopServe(kill: true)
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
        for job in try creates.stop() { perJob[job, default: 0] += 1 }
        #expect(Set(perJob.keys) == Set(ids))
        #expect(perJob.values.allSatisfy { $0 == 1 }, "containers created per job: \(perJob)")
        try await scenario.eventually(60, "no worker container or scratch volume is left") { try scenario.jobLeftovers().isEmpty }
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

    func jobs(_ scenario: Scenario) throws -> [[String: Any]] {
        let result = try scenario.berth("jobs", "list", "--project", scenario.project, "--json")
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
        func look() throws {
            all = try jobs(scenario)
            let activeLong = all.filter { $0["name"] as? String == "long" && ["pending", "queued", "started"].contains($0["state"] as? String ?? "") }.count
            maxActiveLong = max(maxActiveLong, activeLong)
            for job in all where job["name"] as? String == "tick" {
                if let key = job["idempotencyKey"] as? String, !tickKeys.contains(key) { tickKeys.append(key) }
            }
        }
        try await scenario.eventually(60, "four runs of tick") {
            try look()
            return tickKeys.count >= 4
        }

        // then: the history limit is applied at the following ticks, so the first run goes
        let first = tickKeys.sorted()[0]
        var finishedTicks = 0
        try await scenario.eventually(30, "the oldest run of tick pruned, at most two finished runs kept") {
            try look()
            finishedTicks = all.filter { $0["name"] as? String == "tick" && $0["state"] as? String == "finished" }.count
            return !all.contains { $0["idempotencyKey"] as? String == first } && finishedTicks <= 2
        }
        #expect(finishedTicks <= 2, "successfulJobsHistoryLimit: 2, found \(finishedTicks)")
        #expect(tickKeys.allSatisfy { $0.hasPrefix("cron:tick:") })
        #expect(maxActiveLong <= 1, "Forbid: at most one run of long at a time")
        #expect(all.contains { $0["name"] as? String == "long" })
    }
}
