import Logging
import Testing

@testable import BerthController

/// A lasting condition is logged when it starts, when its message changes and once when it ends.
@Suite("Condition log")
struct ConditionLogTests {
    @Test func aRepeatedConditionIsLoggedOnceAndItsEndWithTheCount() {
        let logs = CapturedLogs()
        var log = ConditionLog(logger: logs.logger, occasion: "poll")

        // when: the store refuses claims on five polls in a row, then takes them
        for _ in 0..<5 { log.holds("claim", "cannot claim jobs: connection refused", level: .error) }
        log.ended("claim")
        log.ended("claim")

        // then
        #expect(logs.messages(at: .error) == ["cannot claim jobs: connection refused"])
        #expect(logs.messages(at: .info) == ["no longer the case (seen on 5 polls in a row): cannot claim jobs: connection refused"])
    }

    @Test func aChangedMessageIsLoggedAgainAndOthersEndTogether() {
        let logs = CapturedLogs()
        var log = ConditionLog(logger: logs.logger, occasion: "pass")

        // when: two conditions; one changes its message, then only the other remains, then none
        log.holds("buckets", "cannot read the buckets: timeout")
        log.holds("orphans", "project old has 2 Berth containers")
        log.holds("buckets", "cannot read the buckets: AccessDenied")
        log.endAll(except: ["orphans"])
        log.endAll(except: [])

        // then
        #expect(
            logs.messages(at: .warning) == [
                "cannot read the buckets: timeout", "project old has 2 Berth containers", "cannot read the buckets: AccessDenied",
            ])
        #expect(
            logs.messages(at: .info) == [
                "no longer the case (seen on 2 passes in a row): cannot read the buckets: AccessDenied",
                "no longer the case (seen on 1 pass in a row): project old has 2 Berth containers",
            ])
    }
}
