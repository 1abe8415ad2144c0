@testable import BerthAPI
import HTTPTypes
import Testing

/// The pace of progress reports, on instants the test chooses.
@Suite("Progress pace") struct ProgressPaceTests {
    @Test func aBurstThenTheRateAndEachJobItsOwn() throws {
        // given
        let pace = ProgressPace(perSecond: 10, burst: 3)
        let start = ContinuousClock.now

        // when: the burst at once
        for _ in 0..<3 { try pace.take(job: "a", now: start) }

        // then: the fourth waits a tenth of a second (Retry-After rounds up to 1), another job does not
        let refused = #expect(throws: APIError.self) { try pace.take(job: "a", now: start) }
        #expect(refused?.status == .tooManyRequests && refused?.retryAfter == 1)
        try pace.take(job: "b", now: start)
        try pace.take(job: "a", now: start + .milliseconds(100))
        #expect(throws: APIError.self) { try pace.take(job: "a", now: start + .milliseconds(150)) }
        try pace.take(job: "a", now: start + .milliseconds(200))
        // and a quiet job's bucket fills up to the burst, no more
        for _ in 0..<3 { try pace.take(job: "a", now: start + .seconds(60)) }
        #expect(throws: APIError.self) { try pace.take(job: "a", now: start + .seconds(60)) }
    }
}
