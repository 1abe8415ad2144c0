import BerthCore
import Foundation

/// A job to add to the queue.
public struct JobSubmission: Sendable, Hashable {
    public var project: String
    /// The Job document's name; several jobs may share it.
    public var name: String
    public var spec: JobSpec
    /// Higher is claimed first; defaults to the spec's priority.
    public var priority: Int
    /// A second submit with the same key in the same project returns the first job instead of a new one.
    public var idempotencyKey: String?
    /// The resource that made the job: a CronJob (for its concurrency policy and history), a
    /// manifest Job; `nil` for API submissions.
    public var owner: ResourceID?

    public init(project: String, name: String, spec: JobSpec, priority: Int? = nil, idempotencyKey: String? = nil, owner: ResourceID? = nil) {
        self.project = project
        self.name = name
        self.spec = spec
        self.priority = priority ?? spec.priority
        self.idempotencyKey = idempotencyKey
        self.owner = owner
    }
}

/// A job row: what was asked, where it is, and what happened.
public struct JobRecord: Sendable, Hashable {
    /// Time-ordered and unique (see `StoreID`): sorting by id sorts by submission.
    public var id: String
    public var project: String
    public var name: String
    public var spec: JobSpec
    /// `spec` as the store keeps it: compact JSON with sorted keys, the same text the API writes
    /// for it, so answers embed it instead of encoding the spec again.
    public var specJSON: String
    /// `specJSON` as answers show it, literal env values hidden (``JobSpec/hidingLiteralEnv()``);
    /// the same text when there are none.
    public var shownSpecJSON: String {
        spec.hasLiteralEnv ? Coding.shownSpecJSON(spec, stored: specJSON) : specJSON
    }
    public var priority: Int
    public var idempotencyKey: String?
    public var owner: ResourceID?
    public var state: JobState
    /// The attempt that runs or ran last, from 1; a retry adds one, a reclaim does not.
    public var attempt: Int
    /// The controller holding the job (queued or started), or that held it last.
    public var claimedBy: String?
    public var leaseExpiresAt: Date?
    public var containerID: String?
    public var exitCode: Int?
    /// UpperCamel: `Completed`, `Error`, `OOMKilled`, `DeadlineExceeded`, `Cancelled`, `WorkerLost`.
    public var reason: String?
    public var stdoutTail: String?
    public var stderrTail: String?
    /// The worker's `feedback.json`, as JSON text (or a note that it was invalid).
    public var feedback: String?
    public var cancelRequested: Bool
    public var submittedAt: Date
    public var queuedAt: Date?
    public var startedAt: Date?
    public var finishedAt: Date?
    /// A pending retry is not claimed before this time.
    public var nextAttemptAt: Date?

    public init(
        id: String, project: String, name: String, spec: JobSpec, specJSON: String, priority: Int, idempotencyKey: String?, owner: ResourceID?,
        state: JobState, attempt: Int, claimedBy: String?, leaseExpiresAt: Date?, containerID: String?, exitCode: Int?,
        reason: String?, stdoutTail: String?, stderrTail: String?, feedback: String?, cancelRequested: Bool,
        submittedAt: Date, queuedAt: Date?, startedAt: Date?, finishedAt: Date?, nextAttemptAt: Date?
    ) {
        self.id = id
        self.project = project
        self.name = name
        self.spec = spec
        self.specJSON = specJSON
        self.priority = priority
        self.idempotencyKey = idempotencyKey
        self.owner = owner
        self.state = state
        self.attempt = attempt
        self.claimedBy = claimedBy
        self.leaseExpiresAt = leaseExpiresAt
        self.containerID = containerID
        self.exitCode = exitCode
        self.reason = reason
        self.stdoutTail = stdoutTail
        self.stderrTail = stderrTail
        self.feedback = feedback
        self.cancelRequested = cancelRequested
        self.submittedAt = submittedAt
        self.queuedAt = queuedAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.nextAttemptAt = nextAttemptAt
    }
}

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

/// A project's limits on active (queued + started) jobs, from its Project resource.
public struct ProjectJobLimits: Sendable, Hashable {
    /// At most this many active jobs; `nil` for no limit.
    public var maxConcurrent: Int?
    /// At most one active job at a time (a project locked while it is processed).
    public var exclusive: Bool

    public init(maxConcurrent: Int? = nil, exclusive: Bool = false) {
        self.maxConcurrent = maxConcurrent
        self.exclusive = exclusive
    }

    public init(_ spec: ProjectSpec) {
        self.init(maxConcurrent: spec.maxConcurrentJobs, exclusive: spec.exclusiveJobs)
    }

    /// The number of active jobs allowed; `nil` for no limit.
    public var effectiveLimit: Int? {
        exclusive ? min(1, maxConcurrent ?? 1) : maxConcurrent
    }
}

/// Which jobs to list; every field narrows the result.
public struct JobFilter: Sendable, Hashable {
    public var project: String?
    /// Any of these states; empty for all.
    public var states: Set<JobState>
    public var owner: ResourceID?
    public var claimedBy: String?
    public var submittedAfter: Date?
    public var submittedBefore: Date?

    public init(
        project: String? = nil, states: Set<JobState> = [], owner: ResourceID? = nil, claimedBy: String? = nil,
        submittedAfter: Date? = nil, submittedBefore: Date? = nil
    ) {
        self.project = project
        self.states = states
        self.owner = owner
        self.claimedBy = claimedBy
        self.submittedAfter = submittedAfter
        self.submittedBefore = submittedBefore
    }
}

/// One page of a keyset-paginated listing.
public struct PageRequest: Sendable, Hashable {
    public enum Order: String, Sendable, Hashable, CaseIterable {
        case newestFirst, oldestFirst
    }

    public var limit: Int
    /// The `nextCursor` of the previous page; `nil` for the first.
    public var cursor: String?
    public var order: Order

    public init(limit: Int = 50, cursor: String? = nil, order: Order = .newestFirst) {
        self.limit = limit
        self.cursor = cursor
        self.order = order
    }
}

public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    /// Pass in the next `PageRequest`; `nil` when this was the last page.
    public var nextCursor: String?

    public init(items: [Item], nextCursor: String?) {
        self.items = items
        self.nextCursor = nextCursor
    }
}
