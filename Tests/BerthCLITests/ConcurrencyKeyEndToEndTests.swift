import Foundation
import Testing

/// Concurrency keys under two controllers on one PostgreSQL store, judged from the engine: every
/// job's container start and die, from `docker events`, never overlap within a key.
@Suite("Concurrency keys end to end")
struct ConcurrencyKeyEndToEndTests {
    @Test func twoControllersNeverRunTwoJobsOfOneKeyAtOnce() async throws {
        let scenario = try await Scenario(.postgres)
        defer { scenario.finish() }
        // given: two controllers of four slots each
        try scenario.write("")
        try scenario.startServe(Scenario.jobServeOptions)
        try scenario.startAnotherServe(Scenario.jobServeOptions + ["--controller-id", "two"], log: "serve-two.log")
        let engine = try await Scenario.EventCapture(
            scenario, filters: ["type=container", "event=start", "event=die", "label=berth.project=\(scenario.project)"],
            format: "{{.TimeNano}} {{.Action}} {{index .Actor.Attributes \"berth.job\"}}"
        )

        // when: 200 short jobs over 20 keys, submitted round-robin, some with a sleep
        let keys = (0..<200).map { "key-\($0 % 20)" }
        var yaml = ""
        for (index, key) in keys.enumerated() {
            yaml += jobYAML(scenario, "work-\(index)", command: index % 4 == 0 ? "sleep 0.2" : "true", extra: "  concurrencyKey: \(key)")
        }
        let ids = try await scenario.submit(yaml)
        #expect(ids.count == 200)
        let keyOf = Dictionary(uniqueKeysWithValues: zip(ids, keys))
        try await scenario.eventually(600, "every job has ended") {
            let result = try await scenario.berth("jobs", "list", "--project", scenario.project, "--state", "finished", "--limit", "1000", "--json")
            let finished = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]] ?? []
            return finished.count == 200
        }

        // then: per key, each container died before the next one started, in submission order
        let events = try await engine.stop().map { $0.split(separator: " ").map(String.init) }.filter { $0.count == 3 }
        var byKey: [String: [(time: Int, action: String, job: String)]] = [:]
        for event in events {
            guard let key = keyOf[event[2]], let time = Int(event[0]) else { continue }
            byKey[key, default: []].append((time, event[1], event[2]))
        }
        #expect(byKey.count == 20)
        var overlaps: [String] = []
        for (key, timeline) in byKey {
            let ordered = timeline.sorted { $0.time < $1.time }
            #expect(ordered.count == 20, "\(key): \(ordered.count) events for its 10 jobs")
            var running: String?
            for event in ordered {
                switch event.action {
                case "start":
                    if let running { overlaps.append("\(key): \(event.job) started while \(running) ran") }
                    running = event.job
                default:
                    if running == event.job { running = nil }
                }
            }
            let starts = ordered.filter { $0.action == "start" }.map(\.job)
            #expect(starts == starts.sorted(), "\(key) started out of submission order")
        }
        #expect(overlaps.isEmpty, "\(overlaps.prefix(10))")
        // and both controllers ran some
        let jobs = try await scenario.berth("jobs", "list", "--project", scenario.project, "--limit", "1000", "--json")
        let claimers = Set((try JSONSerialization.jsonObject(with: Data(jobs.stdout.utf8)) as? [[String: Any]] ?? []).compactMap { $0["claimedBy"] as? String })
        #expect(claimers.count == 2, "claimed by \(claimers)")
    }

    /// `berth cron run`: an idle Forbid CronJob starts a run at once; asked again while that run
    /// is active, it is refused with a clear message and a failing exit status; `berth status`
    /// shows the last run and the next fire time.
    @Test func cronRunStartsAnIdleCronJobAndRefusesAForbidOneWhileItRuns() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given: a yearly schedule, far from firing by itself
        try scenario.write(CronEndToEndTests.cronYAML(scenario, "yearly", schedule: "0 0 1 1 *", command: "sleep 300"))
        try scenario.startServe(Scenario.jobServeOptions)
        let manifests = scenario.manifests.path

        // when: on the store directly, the CronJob is read from the manifests serve was given
        let first = try await scenario.berth("cron", "run", "yearly", "--project", scenario.project, "-f", manifests, "--json")
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        let job = try #require(try JSONSerialization.jsonObject(with: Data(first.stdout.utf8)) as? [String: Any])
        let id = try #require(job["id"] as? String)
        try await scenario.eventually(120, "the run starts") { try await scenario.job(id)["state"] as? String == "started" }
        let second = try await scenario.berth("cron", "run", "yearly", "--project", scenario.project, "-f", manifests)

        // then
        #expect(second.status != 0)
        #expect(second.stderr.contains("cron job yearly not started: 1 job of it is still active and its concurrencyPolicy is Forbid"), "\(second.stderr)")
        let status = try await scenario.berth("status", "--json", "--project", scenario.project, "-f", manifests)
        let answer = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
        let cron = try #require((answer["cronJobs"] as? [[String: Any]])?.first)
        #expect((cron["lastRun"] as? [String: Any])?["jobID"] as? String == id, "\(cron)")
        #expect((cron["lastRun"] as? [String: Any])?["state"] as? String == "started", "\(cron)")
        #expect(cron["nextFireTime"] as? String != nil && cron["activeJobs"] as? Int == 1, "\(cron)")
        let text = try await scenario.berth("status", "--project", scenario.project, "-f", manifests)
        #expect(text.stdout.contains("CRONJOB") && text.stdout.contains(id), "\(text.stdout)")
        let jobs = try await scenario.berth("jobs", "list", "--project", scenario.project, "--json")
        let listed = try JSONSerialization.jsonObject(with: Data(jobs.stdout.utf8)) as? [[String: Any]] ?? []
        #expect(listed.map { $0["id"] as? String } == [id], "the refused run made no job: \(jobs.stdout)")
    }
}
