import BerthCore
import Foundation

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
    /// The attempt that runs or ran last, from 1; a retry adds one, a takeover does not.
    public var attempt: Int
    /// The controller holding the job (queued or started), or that held it last.
    public var claimedBy: String?
    /// The fencing token of the current claim: every claim and takeover adds one, and a holder's
    /// transitions carry it (`JobClaim`), so one whose claim was taken over is refused.
    public var fence: Int
    /// The Docker engine (`JobRuntime.engineID()`) of the controller holding the job, or that held it last:
    /// a controller that lost its claim leaves the container alone when this is its own engine.
    public var claimedEngine: String?
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
    /// The Job document's `metadata.labels`.
    public var labels: [String: String]

    // JobTemplate submissions.
    /// The template the job was rendered from; its input files are read with `JobQueue.jobInputs`.
    public var template: JobTemplateRef?

    public init(
        id: String, project: String, name: String, spec: JobSpec, specJSON: String, priority: Int, idempotencyKey: String?, owner: ResourceID?,
        state: JobState, attempt: Int, claimedBy: String?, leaseExpiresAt: Date?, containerID: String?, exitCode: Int?,
        reason: String?, stdoutTail: String?, stderrTail: String?, feedback: String?, cancelRequested: Bool,
        submittedAt: Date, queuedAt: Date?, startedAt: Date?, finishedAt: Date?, nextAttemptAt: Date?, fence: Int = 0, claimedEngine: String? = nil,
        labels: [String: String] = [:]
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
        self.fence = fence
        self.claimedEngine = claimedEngine
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
        self.labels = labels
    }
}

extension JobRecord {
    /// The claim of the controller holding the job, for its transitions; nil when none does.
    public var claim: JobClaim? {
        guard state.isActive, let claimedBy else { return nil }
        return JobClaim(controller: claimedBy, fence: fence)
    }
}
