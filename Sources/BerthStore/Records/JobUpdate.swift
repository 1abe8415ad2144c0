import BerthCore
import Foundation

/// What a transition records besides the state; `nil` fields leave the row as it is.
public struct JobUpdate: Sendable, Hashable {
    public var containerID: String?
    public var exitCode: Int?
    public var reason: String?
    public var stdoutTail: String?
    public var stderrTail: String?
    public var feedback: String?
    /// Overrides the attempt number (a retry otherwise adds one).
    public var attempt: Int?
    /// For a retry (`→ pending`): not claimed before this time.
    public var nextAttemptAt: Date?
    /// For `→ queued`, `queued → queued`, `started → started`: extends the lease until then.
    public var leaseExpiresAt: Date?

    public init(
        containerID: String? = nil, exitCode: Int? = nil, reason: String? = nil, stdoutTail: String? = nil,
        stderrTail: String? = nil, feedback: String? = nil, attempt: Int? = nil, nextAttemptAt: Date? = nil,
        leaseExpiresAt: Date? = nil
    ) {
        self.containerID = containerID
        self.exitCode = exitCode
        self.reason = reason
        self.stdoutTail = stdoutTail
        self.stderrTail = stderrTail
        self.feedback = feedback
        self.attempt = attempt
        self.nextAttemptAt = nextAttemptAt
        self.leaseExpiresAt = leaseExpiresAt
    }
}
