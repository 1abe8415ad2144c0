import Foundation
import Testing

/// Several controllers on one PostgreSQL: the standby takes the leader's work over when the
/// leader dies without letting go of its lease.
@Suite("Leader failover end to end")
struct LeaderFailoverEndToEndTests {
    @Test func theStandbyFiresSchedulesSoonAfterTheLeaderIsKilled() async throws {
        let scenario = try await Scenario(.postgres)
        defer { scenario.finish() }
        // given: a run every 2 s; controller one leads (it fired a run), two stands by
        let creates = try await scenario.serveTickEveryTwoSeconds()
        try await scenario.eventually(120, "controller one fires a run") { !scenario.cronFirings(logs: ["serve.log"]).isEmpty }
        try scenario.startAnotherServe(Scenario.jobServeOptions + ["--controller-id", "two"], log: "serve-two.log")
        try await scenario.eventually(120, "controller two stands by") {
            scenario.serveLog("serve-two.log").contains("another controller holds the leader lease; standing by")
        }
        #expect(scenario.cronFirings(logs: ["serve-two.log"]).isEmpty, "the standby fired nothing while one led")

        // when: the leader is killed, its lease left behind
        let killed = Date()
        await scenario.stopServe(kill: true)
        let byOne = scenario.cronFirings(logs: ["serve.log"])

        // then: two fires the schedule from then on, within about the lease (15 s)
        try await scenario.eventually(120, "controller two fires three runs") { scenario.cronFirings(logs: ["serve-two.log"]).count >= 3 }
        let byTwo = scenario.cronFirings(logs: ["serve-two.log"])
        for firing in byTwo { _ = try await scenario.ended(firing.job, within: 120) }
        let created = try await creates.stop()
        let takeover = try #require(created.first { $0.job == byTwo[0].job }, "the first run two fired has its container: \(created)")
        // The lease (15 s), the schedule's interval (2 s), and room for a loaded machine.
        #expect(takeover.time.timeIntervalSince(killed) < 15 + 2 + 10, "first container of two's runs \(takeover.time.timeIntervalSince(killed)) s after the kill")
        // each run was fired by one controller alone, and got one container
        #expect(Set(byOne.map(\.scheduled)).isDisjoint(with: byTwo.map(\.scheduled)), "one: \(byOne), two: \(byTwo)")
        let perJob = Dictionary(grouping: created.map(\.job), by: { $0 }).mapValues(\.count)
        #expect(perJob.values.allSatisfy { $0 == 1 }, "containers per job: \(perJob)")
    }
}
