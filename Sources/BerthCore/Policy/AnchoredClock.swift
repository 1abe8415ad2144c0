import Foundation

/// Wall-clock times that move with the monotonic clock: the wall clock read once, when the clock
/// is made, advanced by `ContinuousClock` since. A step of the wall clock afterwards (an NTP
/// correction, an operator's `date`) moves none of its times, so a deadline or a lease measured
/// on it neither ends early nor lasts longer. Two clocks made apart differ by how far the wall
/// clock stepped in between.
public struct AnchoredClock: Sendable {
    private let wall = Date()
    private let start = ContinuousClock.now

    public init() {}

    public var now: Date {
        let elapsed = (ContinuousClock.now - start).components
        return wall.addingTimeInterval(Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18)
    }

    /// The instant of the continuous clock when this clock shows `date`.
    public func instant(of date: Date) -> ContinuousClock.Instant {
        start + .milliseconds(Int64((date.timeIntervalSince(wall) * 1000).rounded(.up)))
    }
}
