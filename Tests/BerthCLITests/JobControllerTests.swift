import Foundation
import Testing

/// A controller's own job limit, how a deadline stops a worker that ignores SIGTERM, and a
/// schedule under two controllers of one store.
@Suite("Jobs under a controller's limits and beside another controller")
struct JobControllerTests {
    /// `startedAt`/`finishedAt` of a job as the API prints them (ISO 8601, whole seconds).
    private func interval(_ job: [String: Any]) throws -> (start: Date, end: Date) {
        let format = ISO8601DateFormatter()
        let start = try #require((job["startedAt"] as? String).flatMap(format.date(from:)), "\(job)")
        let end = try #require((job["finishedAt"] as? String).flatMap(format.date(from:)), "\(job)")
        return (start, end)
    }

    @Test func aControllerRunsNoMoreJobsAtOnceThanItsLimit() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given: a limit of 2, and 5 jobs of 3 s each
        try scenario.write("")
        try scenario.startServe(Scenario.jobServeOptions + ["--max-concurrent-jobs", "2"])
        let ids = try await scenario.submit((0..<5).map { jobYAML(scenario, "j\($0)", command: "sleep 3; echo done") }.joined())

        // when
        var intervals: [(start: Date, end: Date)] = []
        for id in ids {
            let job = try await scenario.ended(id, within: 120)
            #expect(job["state"] as? String == "finished", "\(job)")
            intervals.append(try interval(job))
        }

        // then: counted over half-open intervals (times are truncated to the second, which keeps
        // their order, so a job that started after another ended is never counted as overlapping)
        var points: [(time: Date, change: Int)] = []
        for interval in intervals {
            points.append((interval.start, 1))
            points.append((interval.end, -1))
        }
        // An end sorts before a start at the same second: half-open intervals.
        points.sort { $0.time != $1.time ? $0.time < $1.time : $0.change < $1.change }
        var running = 0, most = 0
        for point in points {
            running += point.change
            most = max(most, running)
        }
        #expect(most == 2, "at most 2 at once, and the limit was reached: \(intervals)")
    }

    @Test func aDeadlineSendsTheStopSignalThenKillsAfterTheGracePeriod() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given: a worker that notes SIGTERM and carries on; deadline 2 s, grace 1 s (jobYAML)
        try scenario.write("")
        try scenario.startServe(Scenario.jobServeOptions)
        let id = try await scenario.submit(
            jobYAML(
                scenario, "stubborn", command: "trap 'echo got TERM; t=1' TERM; echo started; while true; do sleep 0.2; [ ${t:-0} = 1 ] && echo still here; done",
                extra: "  activeDeadline: 2s"
            ))[0]

        // when
        let job = try await scenario.ended(id, within: 60)

        // then: stopped with SIGTERM first (the worker saw it), and killed only after it ran on
        // through the grace period (it prints every 0.2 s after the signal)
        #expect(job["state"] as? String == "failed")
        #expect(job["reason"] as? String == "DeadlineExceeded")
        let output = job["stdoutTail"] as? String ?? ""
        #expect(output.hasPrefix("started\ngot TERM\n"), "\(output)")
        #expect(output.components(separatedBy: "still here").count - 1 >= 2, "ran on after SIGTERM: \(output)")
        let (start, end) = try interval(job)
        #expect(end.timeIntervalSince(start) < 30, "killed, not left to loop: \(job)")
        try await scenario.eventually(30, "the killed worker is removed") { try await scenario.jobLeftovers().isEmpty }
    }

    @Test func twoControllersOfOneStoreFireEachScheduledRunOnce() async throws {
        let scenario = try await Scenario(.postgres)
        defer { scenario.finish() }
        // given: a run every 2 s, and two controllers (both run jobs; only the leader fires schedules)
        try scenario.write(
            CronEndToEndTests.cronYAML(
                scenario, "tick", schedule: "@every 2s", command: "echo tick", extra: "  concurrencyPolicy: Allow\n  successfulJobsHistoryLimit: 50"
            ))
        try scenario.startServe(Scenario.jobServeOptions + ["--controller-id", "one"])
        try scenario.startAnotherServe(Scenario.jobServeOptions + ["--controller-id", "two"], log: "serve-two.log")

        // when
        var runs: [[String: Any]] = []
        try await scenario.eventually(90, "five runs of tick") {
            let listed = try await scenario.berth("jobs", "list", "--project", scenario.project, "--json")
            runs = try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]] ?? []
            return runs.count >= 5
        }

        // then: one job per scheduled time, the times 2 s apart or more (a second controller firing
        // on its own would add runs in between, or the same time twice)
        let prefix = "cron:tick:"
        let keys = runs.compactMap { $0["idempotencyKey"] as? String }
        #expect(keys.count == runs.count && Set(keys).count == keys.count, "\(keys)")
        let plain = ISO8601DateFormatter(), fractional = ISO8601DateFormatter()
        fractional.formatOptions.insert(.withFractionalSeconds)
        let times = try keys.map { key in
            let text = String(key.dropFirst(prefix.count))
            return try #require(key.hasPrefix(prefix) ? plain.date(from: text) ?? fractional.date(from: text) : nil, "\(key)")
        }.sorted()
        for (earlier, later) in zip(times, times.dropFirst()) {
            #expect(later.timeIntervalSince(earlier) >= 1.999, "runs at \(times)")
        }
        #expect(runs.allSatisfy { ["one", "two", nil].contains($0["claimedBy"] as? String) }, "\(runs)")
    }
}
