/// Exponential backoff: `initial`, doubling up to `maximum`; forgotten after `resetAfter` of good running.
public struct BackoffPolicy: Sendable, Hashable, Codable {
    public var initial: TimeSpan
    public var maximum: TimeSpan
    public var resetAfter: TimeSpan

    public init(initial: TimeSpan = .seconds(10), maximum: TimeSpan = .minutes(5), resetAfter: TimeSpan = .minutes(10)) {
        self.initial = initial
        self.maximum = maximum
        self.resetAfter = resetAfter
    }

    /// The wait before the next attempt after `attempts` earlier ones in a row (0 → no wait).
    public func delay(afterAttempts attempts: Int) -> TimeSpan {
        guard attempts > 0 else { return .milliseconds(0) }
        var delay = initial.milliseconds
        for _ in 1..<attempts where delay < maximum.milliseconds { delay *= 2 }
        return .milliseconds(min(delay, maximum.milliseconds))
    }
}
