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
    /// Why, in words (an attempt's verdict): an event of the job written in the same transaction
    /// as the transition, after the transition's own event, so a crash never keeps one without the other.
    public var explanation: Explanation?

    /// An event a transition records beside its own.
    public struct Explanation: Sendable, Hashable {
        public var type: EventRecord.Kind
        /// UpperCamel, like every event reason: `Completed`, `DeadlineExceeded`.
        public var reason: String
        public var message: String

        public init(type: EventRecord.Kind, reason: String, message: String) {
            self.type = type
            self.reason = reason
            self.message = message
        }
    }

    public init(
        containerID: String? = nil, exitCode: Int? = nil, reason: String? = nil, stdoutTail: String? = nil,
        stderrTail: String? = nil, feedback: String? = nil, attempt: Int? = nil, nextAttemptAt: Date? = nil,
        leaseExpiresAt: Date? = nil, explanation: Explanation? = nil
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
        self.explanation = explanation
    }
}
