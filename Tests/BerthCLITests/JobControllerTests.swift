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

    /// The leader lease itself, seen from outside: of two controllers on one store exactly one
    /// fires schedules (each says so in its log) while the other stands by, and the runs are
    /// counted from the engine's container creates, not from the store (which would hide a second
    /// leader: both compute the same idempotency keys and the store keeps one job per key).
    @Test func ofTwoControllersOnlyTheLeaderFiresSchedulesAndEachRunGetsOneContainer() async throws {
        let scenario = try await Scenario(.postgres)
        defer { scenario.finish() }
        // given: a run every 2 s, and two controllers (both run jobs; only the leader fires schedules)
        let creates = try await scenario.serveTickEveryTwoSeconds()
        try scenario.startAnotherServe(Scenario.jobServeOptions + ["--controller-id", "two"], log: "serve-two.log")

        // when: six runs were fired, and each has ended
        var fired: [CronFiring] = []
        try await scenario.eventually(120, "six runs of tick are fired") {
            fired = scenario.cronFirings(logs: ["serve.log", "serve-two.log"])
            return fired.count >= 6
        }
        for firing in fired { _ = try await scenario.ended(firing.job, within: 120) }
        let created = try await creates.stop()

        // then: one controller fired them all while the other stood by
        let leaders = Set(fired.map(\.log))
        #expect(leaders.count == 1, "runs fired by both controllers: \(fired)")
        let standby = leaders.contains("serve.log") ? "serve-two.log" : "serve.log"
        #expect(scenario.serveLog(standby).contains("another controller holds the leader lease; standing by"), "\(scenario.serveLog(standby).suffix(2000))")
        // each fired run got one container, and nothing else was created
        let perJob = Dictionary(grouping: created.map(\.job), by: { $0 }).mapValues(\.count)
        #expect(Set(fired.map(\.job)).isSubset(of: Set(perJob.keys)), "fired \(fired), created \(perJob)")
        #expect(perJob.values.allSatisfy { $0 == 1 }, "containers per job: \(perJob)")
        // the scheduled times are distinct and 2 s apart or more (a second controller firing on a
        // schedule of its own would add runs in between)
        let times = fired.map(\.scheduled).sorted()
        for (earlier, later) in zip(times, times.dropFirst()) {
            #expect(later.timeIntervalSince(earlier) >= 1.999, "runs scheduled at \(times)")
        }
        // and the engine saw no more creates than a 2 s schedule allows over the time it watched
        // (a container is created after its run is due, so the span only shortens by the delay)
        let instants = created.map(\.time).sorted()
        if let first = instants.first, let last = instants.last {
            #expect(Double(created.count) <= last.timeIntervalSince(first) / 2 + 2, "\(created.count) creates over \(last.timeIntervalSince(first)) s")
        }
    }
}
