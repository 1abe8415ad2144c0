import BerthCore
import Foundation
import Testing

/// The clock leases and deadlines are measured on: wall-clock times that advance with the
/// monotonic clock.
@Suite("Anchored clock")
struct AnchoredClockTests {
    @Test func itsTimesAdvanceWithTheMonotonicClockAndMapBackToItsInstants() async throws {
        // given
        let clock = AnchoredClock()
        let before = clock.now
        let startedAt = ContinuousClock.now
        // when
        try await Task.sleep(for: .milliseconds(200))
        let after = clock.now
        let elapsed = ContinuousClock.now - startedAt
        // then: it moved as the monotonic clock did, give or take the reads around it
        let moved = after.timeIntervalSince(before)
        #expect(moved >= 0.2 && moved <= Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18 + 0.01, "\(moved)")
        // and a time it shows maps to the instant it showed it, within a millisecond
        let deadline = after.addingTimeInterval(5)
        let instant = clock.instant(of: deadline)
        let distance = instant - ContinuousClock.now
        #expect(distance > .milliseconds(4900) && distance <= .milliseconds(5001), "\(distance)")
    }
}
