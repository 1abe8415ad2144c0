import Foundation
import Testing

/// PostgreSQL high availability with real processes: a primary with a synchronous streaming
/// standby, `berth serve` (controller and API) and a second `berth serve --role api` on the
/// multi-host URL, and a stream of job submissions with idempotency keys through both APIs. The
/// primary is stopped at once mid-stream and the standby promoted; clients retry 503s and refused
/// connections with the same key, as the API asks them to.
@Suite("PostgreSQL failover end to end")
struct PostgresFailoverEndToEndTests {
    static let submissions = 200
    /// The primary stops once this many submissions were acknowledged.
    static let acknowledgedBeforeFailover = 50
    /// Submissions in flight at once (each client waits `pause` between its submissions).
    static let clients = 4
    static let pause = Duration.milliseconds(40)

    @Test func noAcknowledgedJobIsLostNoneRunsTwiceAndBothAPIsAnswerAfterThePrimaryStopsAndTheStandbyIsPromoted() async throws {
        let postgres = try await ReplicatedPostgres()
        let scenario: Scenario
        do {
            scenario = try await Scenario(.sqlite)
        } catch {
            await postgres.finish()
            throw error
        }
        scenario.extraEnvironment["BERTH_DATABASE_URL"] = postgres.url
        do {
            try await Self.failOverUnderSubmissions(postgres, scenario)
        } catch {
            await scenario.finish().value
            await postgres.finish()
            throw error
        }
        // The serves stop cleanly only with their store; then the servers go.
        await scenario.finish().value
        await postgres.finish()
    }

    private static func failOverUnderSubmissions(_ postgres: ReplicatedPostgres, _ scenario: Scenario) async throws {
        // given: a controller with an API and a second API process, both on the multi-host URL
        try scenario.write("")
        let tokenCreated = try await scenario.berth("token", "create", "--name", "pgha", "--scope", "admin")
        try #require(tokenCreated.status == 0, "\(tokenCreated.stderr)")
        let token = tokenCreated.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let creates = try await scenario.captureJobCreates()
        // At debug level: the listener's reconnect is logged there, and no password may show at any level.
        try scenario.startServe(Scenario.jobServeOptions + ["--controller-id", "pgha", "--log-level", "debug"])
        try scenario.startAnotherServe(["--role", "api", "--log-level", "debug"], log: "api.log")
        let apis = [try await scenario.apiURL(), try await scenario.apiURL(log: "api.log")]
        let client = SubmittingClient(scenario: scenario, token: token)

        // when: submissions stream in through both APIs and, mid-stream, the primary stops at
        // once and the standby is promoted
        let ledger = SubmissionLedger()
        let failover = Task {
            try await ledger.waitUntilAcknowledged(acknowledgedBeforeFailover)
            await ledger.primaryStops()
            try await postgres.stopPrimary()
            try await postgres.promoteStandby()
            await ledger.standbyPromoted()
        }
        defer { failover.cancel() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in 0..<clients {
                group.addTask {
                    for number in stride(from: lane, to: submissions, by: clients) {
                        try await client.submit(number, to: apis[number % apis.count], ledger: ledger)
                        try await Task.sleep(for: pause)
                    }
                }
            }
            try await group.waitForAll()
        }
        try await failover.value
        let outcome = await ledger.outcome()
        print(outcome.summary)

        // then: every submission was acknowledged, some of them only after the failover
        #expect(outcome.unexpected.isEmpty, "answers a client would not retry: \(outcome.unexpected)")
        #expect(outcome.acknowledged.count == submissions, "\(outcome.summary)")
        #expect(outcome.acknowledgedAfterStop > 0, "the stream went on past the failover: \(outcome.summary)")

        // and each acknowledged job is in the store, once, under its key, and ends Succeeded on
        // its first attempt, as seen through each API
        var jobs: [[String: Any]] = []
        try await scenario.eventually(300, "every job has ended") {
            jobs = try await client.jobs(api: apis[1])
            return jobs.count >= outcome.acknowledged.count && jobs.allSatisfy { ["finished", "failed", "cancelled"].contains($0["state"] as? String ?? "") }
        }
        let byKey = Dictionary(jobs.map { ($0["idempotencyKey"] as? String ?? "", $0) }) { first, _ in first }
        #expect(jobs.count == submissions && byKey.count == submissions, "one job per key: \(jobs.count) jobs, \(byKey.count) keys")
        for (key, id) in outcome.acknowledged.sorted(by: { $0.key < $1.key }) {
            guard let job = byKey[key] else {
                Issue.record("acknowledged job \(id) (key \(key)) is not in the store")
                continue
            }
            #expect(job["id"] as? String == id, "key \(key): acknowledged as \(id), stored as \(job["id"] ?? "")")
            #expect(job["state"] as? String == "finished" && job["attempt"] as? Int == 1, "key \(key): \(job)")
        }
        #expect(try await client.jobs(api: apis[0]).count == submissions, "the controller's API answers after the failover")

        // and no job ran twice: one container create per job
        let createsPerJob = Dictionary(grouping: try await creates.stop(), by: { $0 }).mapValues(\.count)
        #expect(Set(createsPerJob.keys) == Set(jobs.compactMap { $0["id"] as? String }), "every job's container, and no other")
        #expect(createsPerJob.values.allSatisfy { $0 == 1 }, "created more than once: \(createsPerJob.filter { $0.value > 1 })")

        // and the controller leads again: its lease, a session lock, went with the old primary
        try await scenario.eventually(60, "the controller holds the leader lease again, on the new primary") {
            scenario.serveLog.components(separatedBy: "holding the leader lease").count - 1 >= 2
        }

        // and each process's notification listener reconnected, and the password never shows in
        // what the processes wrote
        for log in ["serve.log", "api.log"] {
            #expect(scenario.serveLog(log).contains("the store's notification listener reconnected"), "\(log)")
            #expect(!scenario.serveLog(log).contains(postgres.password), "\(log) shows the database password")
        }
        #expect(!scenario.serveHasExited)
    }
}

/// A client of the jobs API: `curl`, so that a refused connection is seen as a client sees it.
struct SubmittingClient: Sendable {
    let scenario: Scenario
    let token: String

    /// Submits job `number` under its key until the API acknowledges it (2xx), retrying a 503 or
    /// a failed connection with the same key; records everything in `ledger`. Gives up (a failed
    /// test) after 60 s or on any other answer.
    func submit(_ number: Int, to api: String, ledger: SubmissionLedger) async throws {
        let key = String(format: "pgha-%03d", number)
        let document = scenario.folder.appendingPathComponent("\(key).yaml")
        try jobYAML(scenario, key, command: "echo ran \(number)").write(to: document, atomically: true, encoding: .utf8)
        let deadline = ContinuousClock.now + .seconds(60)
        while true {
            let sent = ContinuousClock.now
            let answer = try await BerthProcess.runCommand([
                "/usr/bin/curl", "-sS", "--max-time", "15", "-X", "POST", "-H", "Authorization: Bearer \(token)", "-H", "Content-Type: application/yaml",
                "-H", "Idempotency-Key: \(key)", "--data-binary", "@\(document.path)", "-w", "\n%{http_code}", api + "/v1/jobs",
            ])
            let lines = answer.stdout.split(separator: "\n", omittingEmptySubsequences: false)
            let status = Int(lines.last ?? "") ?? 0
            let body = lines.dropLast().joined(separator: "\n")
            if (200..<300).contains(status) {
                let job = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
                await ledger.acknowledge(key, id: job?["id"] as? String ?? "", sent: sent)
                return
            }
            guard status == 503 || status == 0, ContinuousClock.now < deadline else {
                await ledger.unexpected("\(key): \(status) \(body) \(answer.stderr)")
                return
            }
            await ledger.retry(status)
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// This scenario's jobs as `api` lists them.
    func jobs(api: String) async throws -> [[String: Any]] {
        let listed = try await Scenario.run(
            "/usr/bin/curl", ["-sS", "--fail", "--max-time", "15", "-H", "Authorization: Bearer \(token)", api + "/v1/jobs?project=\(scenario.project)&limit=1000"])
        let answer = try JSONSerialization.jsonObject(with: Data(listed.utf8)) as? [String: Any]
        return answer?["items"] as? [[String: Any]] ?? []
    }
}

/// What the submitting clients saw, and when the failover happened.
actor SubmissionLedger {
    /// Key → the job id the API acknowledged.
    private var acknowledged: [String: String] = [:]
    private var retries: [Int: Int] = [:]
    private var unexpectedAnswers: [String] = []
    private var stopped: ContinuousClock.Instant?
    private var promoted: ContinuousClock.Instant?
    /// The first acknowledgement of a submission sent after the primary stopped.
    private var firstAcknowledgedAfterStop: ContinuousClock.Instant?
    private var acknowledgedAfterStop = 0

    func acknowledge(_ key: String, id: String, sent: ContinuousClock.Instant) {
        acknowledged[key] = id
        if let stopped, sent >= stopped {
            acknowledgedAfterStop += 1
            if firstAcknowledgedAfterStop == nil { firstAcknowledgedAfterStop = .now }
        }
    }

    func retry(_ status: Int) { retries[status, default: 0] += 1 }
    func unexpected(_ answer: String) { unexpectedAnswers.append(answer) }
    func primaryStops() { stopped = .now }
    func standbyPromoted() { promoted = .now }

    /// Returns once `count` submissions were acknowledged; throws after 120 s.
    func waitUntilAcknowledged(_ count: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(120)
        while acknowledged.count < count {
            guard ContinuousClock.now < deadline else { throw BerthProcess.SetupError("only \(acknowledged.count) of \(count) submissions acknowledged in 120 s") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    struct Outcome {
        var acknowledged: [String: String]
        var acknowledgedAfterStop: Int
        var unexpected: [String]
        var summary: String
    }

    func outcome() -> Outcome {
        func since(_ instant: ContinuousClock.Instant?) -> String {
            guard let stopped, let instant else { return "never" }
            return "\(Int((instant - stopped) / .milliseconds(1))) ms"
        }
        let retried = retries.sorted { $0.key < $1.key }.map { "\($0.value) × \($0.key == 0 ? "no connection" : String($0.key))" }.joined(separator: ", ")
        let summary =
            "failover: \(acknowledged.count) acknowledged, \(acknowledgedAfterStop) of them sent after the primary stopped; standby promoted after \(since(promoted)); "
            + "primary stopped → first acknowledged write \(since(firstAcknowledgedAfterStop)); retries: \(retried.isEmpty ? "none" : retried)"
        return Outcome(acknowledged: acknowledged, acknowledgedAfterStop: acknowledgedAfterStop, unexpected: unexpectedAnswers, summary: summary)
    }
}
