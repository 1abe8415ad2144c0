import BerthCore
import Foundation

/// One completion webhook of a job (`notify`): recorded in the transaction that ends the job,
/// before its first attempt, so a restarted or another controller carries it on.
public struct JobDelivery: Sendable, Hashable, Codable {
    /// What became of the delivery.
    public enum Outcome: String, Sendable, Hashable, Codable, CaseIterable {
        /// Not delivered yet; attempted again at `nextAttemptAt`.
        case pending
        /// A 2xx answer came.
        case delivered
        /// Given up: the attempts or the time allowed ran out, or the answer said not to retry.
        case failed
    }

    /// `<job id>-<event>`: the same on every attempt, for the receiver to deduplicate.
    public var id: String
    public var jobID: String
    public var project: String
    public var event: JobNotifySpec.Event
    public var url: String
    public var attempts: Int
    public var outcome: Outcome
    public var createdAt: Date
    public var lastAttemptAt: Date?
    public var nextAttemptAt: Date?
    /// The HTTP status of the last answer; nil when none came.
    public var lastStatus: Int?
    /// Why the last attempt failed, below HTTP or in reading the secret.
    public var lastError: String?
    public var deliveredAt: Date?

    public init(
        id: String, jobID: String, project: String, event: JobNotifySpec.Event, url: String, attempts: Int = 0, outcome: Outcome = .pending,
        createdAt: Date, lastAttemptAt: Date? = nil, nextAttemptAt: Date? = nil, lastStatus: Int? = nil, lastError: String? = nil, deliveredAt: Date? = nil
    ) {
        self.id = id
        self.jobID = jobID
        self.project = project
        self.event = event
        self.url = url
        self.attempts = attempts
        self.outcome = outcome
        self.createdAt = createdAt
        self.lastAttemptAt = lastAttemptAt
        self.nextAttemptAt = nextAttemptAt
        self.lastStatus = lastStatus
        self.lastError = lastError
        self.deliveredAt = deliveredAt
    }

    /// The delivery id of a job's event.
    public static func id(jobID: String, event: JobNotifySpec.Event) -> String { "\(jobID)-\(event.rawValue)" }
}

/// What one delivery attempt came to, as the dispatcher records it.
public struct DeliveryAttempt: Sendable, Hashable {
    public var outcome: JobDelivery.Outcome
    public var status: Int?
    public var error: String?
    /// For `pending`: the next attempt's time.
    public var nextAttemptAt: Date?

    public init(outcome: JobDelivery.Outcome, status: Int? = nil, error: String? = nil, nextAttemptAt: Date? = nil) {
        self.outcome = outcome
        self.status = status
        self.error = error
        self.nextAttemptAt = nextAttemptAt
    }
}

/// One attempt's complete output in object storage (`logArchive`).
public struct JobLogArchive: Sendable, Hashable, Codable {
    public var jobID: String
    public var attempt: Int
    public var bucket: String
    /// The gzip objects of standard output and error.
    public var stdoutKey: String
    public var stderrKey: String
    /// Uncompressed sizes.
    public var stdoutBytes: Int
    public var stderrBytes: Int
    public var archivedAt: Date

    public init(jobID: String, attempt: Int, bucket: String, stdoutKey: String, stderrKey: String, stdoutBytes: Int, stderrBytes: Int, archivedAt: Date) {
        self.jobID = jobID
        self.attempt = attempt
        self.bucket = bucket
        self.stdoutKey = stdoutKey
        self.stderrKey = stderrKey
        self.stdoutBytes = stdoutBytes
        self.stderrBytes = stderrBytes
        self.archivedAt = archivedAt
    }
}

extension [JobLogArchive] {
    /// The archive of `attempt`, or the latest one when nil.
    public func archive(attempt: Int?) -> JobLogArchive? {
        guard let attempt else { return self.max { $0.attempt < $1.attempt } }
        return first { $0.attempt == attempt }
    }
}

extension JobLogArchive {
    /// The object of `stream` (`stdout` or `stderr`); nil for any other name.
    public func key(stream: String) -> String? {
        switch stream {
        case "stdout": stdoutKey
        case "stderr": stderrKey
        default: nil
        }
    }
}
