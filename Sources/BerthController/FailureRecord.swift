import Foundation

/// A resource whose last action failed, and when it may be tried again (on the monotonic clock:
/// see ``PassTime``).
public struct FailureRecord: Sendable, Hashable {
    /// Failed passes in a row.
    public var count: Int
    public var last: ContinuousClock.Instant
    public var message: String
    public var nextAttempt: ContinuousClock.Instant
}
