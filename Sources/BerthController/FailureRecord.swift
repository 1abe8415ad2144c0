import Foundation

/// A resource whose last action failed, and when it may be tried again.
public struct FailureRecord: Sendable, Hashable {
    /// Failed passes in a row.
    public var count: Int
    public var last: Date
    public var message: String
    public var nextAttempt: Date
}
