import Foundation
import Testing

/// What a CronJob does when a run is due while another is active, or when no controller ran at its
/// time: `Replace`, missed runs and `startingDeadline` under `berth serve`, on both stores.
@Suite("Cron policies end to end")
struct CronPolicyEndToEndTests {
    /// The CronJob's jobs, oldest scheduled time first, with that time.
    static func runs(_ scenario: Scenario, of cron: String) async throws -> [(scheduled: Date, job: [String: Any])] {
        let result = try await scenario.berth("jobs", "list", "--project", scenario.project, "--json")
        let jobs = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]] ?? []
        let prefix = "cron:\(cron):"
        return jobs.compactMap { job in
            guard let key = job["idempotencyKey"] as? String, key.hasPrefix(prefix),
                let time = ISO8601DateFormatter().date(from: String(key.dropFirst(prefix.count)))
            else { return nil }
            return (time, job)
        }.sorted { $0.scheduled < $1.scheduled }
    }

    /// This project's events with `reason`, as `berth events --json` prints them.
    static func events(_ scenario: Scenario, reason: String) async throws -> [[String: Any]] {
        let result = try await scenario.berth("events", "--project", scenario.project, "--limit", "1000", "--json")
        let events = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]] ?? []
        return events.filter { $0["reason"] as? String == reason }
    }

    @Test(arguments: StoreChoice.allCases)
    func replaceCancelsTheActiveRunAndStartsTheNewOne(store: StoreChoice) async throws {
        let scenario = try await Scenario(store)
        defer { scenario.finish() }
        // given: a run every 10 s (time enough to start on a loaded machine) that would last five minutes
        try scenario.write(
            CronEndToEndTests.cronYAML(
                scenario, "swap", schedule: "@every 10s", command: "sleep 300",
                extra: "  concurrencyPolicy: Replace\n  successfulJobsHistoryLimit: 10\n  failedJobsHistoryLimit: 10"
            ))

        // when
        try scenario.startServe(Scenario.jobServeOptions)

        // then: the first run ends cancelled once the second is due, and the second runs
        var runs: [(scheduled: Date, job: [String: Any])] = []
        try await scenario.eventually(120, "the first run is cancelled and the second started") {
            runs = try await Self.runs(scenario, of: "swap")
            return runs.count >= 2 && runs[0].job["state"] as? String == "cancelled" && ["started", "cancelled"].contains(runs[1].job["state"] as? String ?? "")
        }
        let first = runs[0].job, firstID = try #require(first["id"] as? String)
        #expect(first["reason"] as? String == "Cancelled", "\(first)")
        #expect(first["startedAt"] != nil, "it was running when replaced: \(first)")
        #expect(runs[1].scheduled.timeIntervalSince(runs[0].scheduled) >= 9.999, "\(runs.map(\.scheduled))")
        #expect(scenario.serveLog.contains("cancelling job \(firstID) to replace it (concurrencyPolicy Replace)"), "\(scenario.serveLog.suffix(2000))")
        try await scenario.eventually(60, "the replaced run's container is removed") {
            await scenario.inspect("berth-\(scenario.project)-job-\(firstID)", "{{.Id}}") == nil
        }
    }

    /// Two schedules stopped through two fire times by the controller's absence: the one without
    /// `startingDeadline` runs the latest, the one with a short deadline does not; both say what
    /// they missed, and both carry on at their next time.
    @Test(arguments: StoreChoice.allCases)
    func runsMissedWhileNoControllerRanAreReportedAndAStartingDeadlineSkipsALateOne(store: StoreChoice) async throws {
        let scenario = try await Scenario(store)
        defer { scenario.finish() }
        // given: two schedules every 15 s, first seen by the controller at the same moment
        try scenario.write(
            CronEndToEndTests.cronYAML(scenario, "catchup", schedule: "@every 15s", command: "true", extra: "  concurrencyPolicy: Allow")
                + CronEndToEndTests.cronYAML(
                    scenario, "late", schedule: "@every 15s", command: "true", extra: "  concurrencyPolicy: Allow\n  startingDeadline: 2s")
        )
        try scenario.startServe(Scenario.jobServeOptions)
        var first: Date = .distantPast
        try await scenario.eventually(120, "both ran once") {
            let catchup = try await Self.runs(scenario, of: "catchup"), late = try await Self.runs(scenario, of: "late")
            guard let time = catchup.first?.scheduled, late.first?.scheduled == time else { return false }
            first = time
            return true
        }
        await scenario.stopServe()

        // when: no controller runs through the next two fire times; one starts 3 s after the second
        // (the outage is the scenario itself, not a wait for a result: 12 s are left for the start)
        let missed = first.addingTimeInterval(15), latest = first.addingTimeInterval(30), next = first.addingTimeInterval(45)
        try await Task.sleep(for: .milliseconds(Int64(max(0, latest.addingTimeInterval(3).timeIntervalSinceNow) * 1000)))
        try scenario.startServe(Scenario.jobServeOptions)

        // then: catchup runs the latest run it missed (the sign the schedules were looked at again)
        try await scenario.eventually(120, "catchup runs the run scheduled at \(latest)") {
            try await Self.runs(scenario, of: "catchup").contains { $0.scheduled == latest }
        }
        let warnings = try await Self.events(scenario, reason: "MissedSchedule")
        func message(_ cron: String) -> String? {
            warnings.first { "\($0["resource"] ?? "")".contains(cron) && $0["type"] as? String == "Warning" }?["message"] as? String
        }
        let since = "missed 1 run since \(missed.formatted(.iso8601))"
        #expect(message("catchup")?.contains(since) == true, "\(warnings)")
        let late = try #require(message("late"), "\(warnings)")
        #expect(late.contains(since), "\(late)")
        #expect(late.contains("not starting the run scheduled for \(latest.formatted(.iso8601))") && late.contains("more than startingDeadline 2s"), "\(late)")
        #expect(try await !Self.runs(scenario, of: "late").contains { $0.scheduled == latest || $0.scheduled == missed }, "the late run is not started")
        #expect(try await !Self.runs(scenario, of: "catchup").contains { $0.scheduled == missed }, "only the latest missed run is made up")
        // and both carry on at their next time
        try await scenario.eventually(120, "both run the run scheduled at \(next)") {
            let catchup = try await Self.runs(scenario, of: "catchup"), late = try await Self.runs(scenario, of: "late")
            return catchup.contains { $0.scheduled == next } && late.contains { $0.scheduled == next }
        }
    }
}
