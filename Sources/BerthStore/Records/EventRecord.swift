import BerthCore
import Foundation

/// One line of the append-only log of what the controller did and why.
public struct EventRecord: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        case normal = "Normal"
        case warning = "Warning"
    }

    /// Assigned by the store, increasing; 0 before the event is stored.
    public var sequence: Int64
    /// The resource the event is about, or the job (or both: a CronJob's run).
    public var resource: ResourceID?
    public var jobID: String?
    /// The project the event belongs to (the resource's or the job's).
    public var project: String
    public var type: Kind
    /// UpperCamel: `Created`, `Restarted`, `WorkerLost`.
    public var reason: String
    public var message: String
    public var time: Date

    public init(
        resource: ResourceID? = nil, jobID: String? = nil, project: String, type: Kind = .normal, reason: String,
        message: String, time: Date, sequence: Int64 = 0
    ) {
        self.sequence = sequence
        self.resource = resource
        self.jobID = jobID
        self.project = project
        self.type = type
        self.reason = reason
        self.message = message
        self.time = time
    }
}

/// Which events to read: every field narrows the result; oldest first unless `newestFirst`.
public struct EventQuery: Sendable, Hashable {
    public var resource: ResourceID?
    public var jobID: String?
    public var project: String?
    /// Only events at or after this time.
    public var since: Date?
    /// Only events after this sequence number (for following a log).
    public var afterSequence: Int64?
    public var limit: Int
    /// The newest `limit` events, newest first (the web UI's events page).
    public var newestFirst = false

    public init(resource: ResourceID? = nil, jobID: String? = nil, project: String? = nil, since: Date? = nil, afterSequence: Int64? = nil, limit: Int = 100) {
        self.resource = resource
        self.jobID = jobID
        self.project = project
        self.since = since
        self.afterSequence = afterSequence
        self.limit = limit
    }
}
