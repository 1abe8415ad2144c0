import Foundation

/// When a pass happens, on both clocks it needs: the wall clock for what people and the engine
/// read (statuses, events, a container's start time), and a monotonic clock for every wait Berth
/// measures itself (crash-loop and failure backoff), so a step of the wall clock, backwards or
/// forwards, neither delays a restart nor makes it early. The two are read once, together; a
/// monotonic instant is shown to people as the wall-clock time it maps to at this pass.
public struct PassTime: Sendable, Hashable {
    public var wall: Date
    public var monotonic: ContinuousClock.Instant

    public init(wall: Date, monotonic: ContinuousClock.Instant) {
        self.wall = wall
        self.monotonic = monotonic
    }

    /// Both clocks read now.
    public static var now: PassTime { PassTime(wall: Date(), monotonic: .now) }

    /// Both clocks moved on by `duration` (a pass's own time, or a test's step).
    public func advanced(by duration: Duration) -> PassTime {
        PassTime(wall: wall.addingTimeInterval(duration.seconds), monotonic: monotonic + duration)
    }

    /// The wall-clock time `instant` maps to, seen from this pass.
    public func date(of instant: ContinuousClock.Instant) -> Date {
        wall.addingTimeInterval((instant - monotonic).seconds)
    }

    /// The monotonic instant a wall-clock time of this pass maps to.
    public func instant(of date: Date) -> ContinuousClock.Instant {
        monotonic + .milliseconds(Int64((date.timeIntervalSince(wall) * 1000).rounded(.up)))
    }
}

extension Duration {
    /// In seconds, with the fraction.
    var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}
