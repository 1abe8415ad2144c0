import BerthCore
import Foundation

/// A wake-up: something changed, look again. It carries a key, never the truth (the loop is
/// level-triggered), and may be lost: after `.resync` a consumer replans everything.
public enum StoreNotification: Sendable, Hashable {
    /// A job was submitted (or came back to pending) in this project.
    case jobSubmitted(project: String)
    /// A desired resource was written or deleted.
    case resourceChanged(ResourceID)
    /// Someone asked to cancel this job.
    case jobCancelRequested(jobID: String)
    /// Notifications may have been missed (the listener reconnected): replan from scratch.
    case resync
}

/// Berth's durable state: API-written desired resources, resource status, the job queue, events,
/// API tokens, and the leader lease. Implemented by `PostgresStore` and `SQLiteStore`, which pass
/// one conformance suite. Every operation is atomic; none blocks a Swift concurrency thread.
public protocol Store: Sendable {
    // MARK: Desired resources

    /// Creates or updates a resource. The generation is bumped only when the document changed
    /// (or the resource was deleted before); writing the same document again changes nothing.
    @discardableResult
    func putResource(_ resource: Resource, source: ResourceSource, now: Date) async throws(StoreError) -> StoredResource
    func resource(_ id: ResourceID) async throws(StoreError) -> StoredResource?
    /// Sorted by id; soft-deleted ones only with `includeDeleted`.
    func resources(kind: ResourceKind?, project: String?, includeDeleted: Bool) async throws(StoreError) -> [StoredResource]
    /// Soft delete: sets `deletedAt` and bumps the generation so the controller converges the
    /// deletion; `purgeResource` removes the row afterwards. Returns nil when there was no such resource.
    @discardableResult
    func deleteResource(_ id: ResourceID, now: Date) async throws(StoreError) -> StoredResource?
    /// Removes the row and its status. Returns whether there was one.
    @discardableResult
    func purgeResource(_ id: ResourceID) async throws(StoreError) -> Bool

    // MARK: Status

    func putStatus(_ status: ResourceStatus) async throws(StoreError)
    func status(_ id: ResourceID) async throws(StoreError) -> ResourceStatus?
    /// Sorted by id.
    func statuses(project: String?) async throws(StoreError) -> [ResourceStatus]
    /// Removes the status row of a resource that is neither declared nor observed any more;
    /// returns whether there was one.
    @discardableResult
    func deleteStatus(_ id: ResourceID) async throws(StoreError) -> Bool

    // MARK: Jobs

    /// Adds a pending job, or returns the job first submitted with the same idempotency key in
    /// the same project (`created` false). A submit that returned is durable.
    func submitJob(_ submission: JobSubmission, now: Date) async throws(StoreError) -> (job: JobRecord, created: Bool)
    func job(_ id: String) async throws(StoreError) -> JobRecord?
    /// The job with its first `limit` events, oldest first, read together (one trip to the store).
    func job(_ id: String, events limit: Int) async throws(StoreError) -> (job: JobRecord, events: [EventRecord])?
    /// Ordered by id (submission order), with keyset pagination.
    func jobs(filter: JobFilter, page: PageRequest) async throws(StoreError) -> Page<JobRecord>
    /// Active (queued + started) and pending jobs per state, for metrics and queue depth.
    func jobCounts(project: String?) async throws(StoreError) -> [JobState: Int]
    /// Atomically claims up to `limit` pending jobs for `controller`: highest priority first, then
    /// oldest; skips retries whose `nextAttemptAt` is later than `now`; never lets a project's
    /// queued + started jobs exceed its limits (projects not in `projectLimits` have none). Claimed
    /// jobs are queued, leased until `now + lease`. Several controllers may claim at once: each job
    /// goes to exactly one.
    func claimJobs(controller: String, limit: Int, projectLimits: [String: ProjectJobLimits], lease: TimeSpan, now: Date) async throws(StoreError) -> [JobRecord]
    /// Moves a job from `from` to `to`, recording `update`. Refuses transitions the state machine
    /// forbids (`illegalTransition`), and a job that is not in `from` or, when `controller` is
    /// given, not claimed by it (`stateConflict`). Ending a job revokes its job tokens.
    @discardableResult
    func transitionJob(_ id: String, from: JobState, to: JobState, controller: String?, update: JobUpdate, now: Date) async throws(StoreError) -> JobRecord
    /// Extends the lease of every queued or started job `controller` holds; returns how many.
    @discardableResult
    func renewLeases(controller: String, until: Date) async throws(StoreError) -> Int
    /// Puts queued or started jobs whose lease expired before `now` back to pending (attempt kept,
    /// reason `WorkerLost`, a Warning event each) and returns them.
    func reclaimExpiredLeases(now: Date) async throws(StoreError) -> [JobRecord]
    /// Marks the job for cancelling. A pending job is cancelled at once (it never starts); an
    /// active one is left for its controller to stop; a finished one is returned unchanged.
    @discardableResult
    func requestCancel(_ id: String, now: Date) async throws(StoreError) -> JobRecord
    /// Deletes finished, failed and cancelled jobs that ended before `finishedBefore`, except the
    /// `keepPerProject` most recent ones of each project, with their events. Returns how many
    /// jobs were deleted.
    @discardableResult
    func pruneJobs(finishedBefore: Date, keepPerProject: Int) async throws(StoreError) -> Int
    /// Keeps the `keepFinished` newest finished and the `keepFailed` newest failed or cancelled jobs
    /// of one owner (a CronJob's history limits) and deletes its older ended ones with their
    /// events; returns how many jobs.
    @discardableResult
    func pruneOwnedJobs(owner: ResourceID, keepFinished: Int, keepFailed: Int) async throws(StoreError) -> Int

    // MARK: Events

    /// Appends an event and returns it with its sequence number.
    @discardableResult
    func appendEvent(_ event: EventRecord) async throws(StoreError) -> EventRecord
    /// Oldest first.
    func events(_ query: EventQuery) async throws(StoreError) -> [EventRecord]
    /// Deletes events older than `before`, and the oldest beyond the newest `keepAtMost`;
    /// returns how many.
    @discardableResult
    func pruneEvents(before: Date, keepAtMost: Int) async throws(StoreError) -> Int

    // MARK: Tokens

    /// Makes a token; the returned string is its only copy (the store keeps a SHA-256 hash).
    func createToken(name: String, scopes: [TokenScope], project: String?, expiresAt: Date?, now: Date) async throws(StoreError) -> (token: String, record: TokenRecord)
    /// A token for the worker of one job (scope `job`, the job's project), revoked when the job ends.
    func createJobToken(jobID: String, now: Date) async throws(StoreError) -> (token: String, record: TokenRecord)
    /// The token's record when it is known, not revoked and not expired. Its `lastUsedAt` is set
    /// to `now` when it was unset or older than a minute, so that a busy token is not a write per request.
    /// A token found valid is remembered for a second: revoking it through this store (or ending
    /// its job) takes effect at once, through another process within that second.
    func authenticate(token: String, now: Date) async throws(StoreError) -> TokenRecord?
    /// Every token but job tokens, oldest first.
    func tokens() async throws(StoreError) -> [TokenRecord]
    /// Returns whether a token with that id existed and was not revoked yet.
    @discardableResult
    func revokeToken(_ id: String, now: Date) async throws(StoreError) -> Bool

    // MARK: Wake-ups and leadership

    /// A new stream of wake-ups for one consumer; ends when the store closes.
    func notifications() -> AsyncStream<StoreNotification>
    /// Takes or keeps the named leader lease for `holder`; false while another holder has it.
    /// Call it again before `lease` runs out to keep it (see each store for how it is held).
    func tryAcquireLeadership(name: String, holder: String, lease: TimeSpan, now: Date) async throws(StoreError) -> Bool
    func releaseLeadership(name: String, holder: String) async throws(StoreError)

    /// Closes connections and ends notification streams. Operations afterwards throw `closed`.
    func close() async
}
