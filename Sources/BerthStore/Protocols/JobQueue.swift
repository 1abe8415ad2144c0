import BerthCore
import Foundation

/// The durable job queue: submissions, claims under leases, the state machine's transitions,
/// cancels and pruning.
public protocol JobQueue: Sendable {
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
    /// Atomically claims up to `limit` pending jobs for `controller` on `engine` (its Docker
    /// engine's ID): highest priority first, then oldest; skips retries whose `nextAttemptAt` is
    /// later than the store's clock; never lets a project's queued + started jobs exceed its limits
    /// (projects not in `projectLimits` have none). Claimed jobs are queued, with a new fencing
    /// token (`JobRecord.fence`), leased for `lease` from the store's clock (PostgreSQL's, or the
    /// SQLite store's `AnchoredClock`), never a controller's. Several controllers may claim at
    /// once: each job goes to exactly one. With a `node`, only jobs whose `nodeSelector` its
    /// labels match are claimed, and none while the node's row says cordoned or draining (read by
    /// the claim's query); without one, only jobs without a `nodeSelector`.
    func claimJobs(
        controller: String, engine: String, node: NodeIdentity?, limit: Int, projectLimits: [String: ProjectJobLimits], lease: TimeSpan
    ) async throws(StoreError) -> [JobRecord]
    /// Moves a job from `from` to `to`, recording `update`. Refuses transitions the state machine
    /// forbids (`illegalTransition`) and a job that is not in `from` (`stateConflict`). With a
    /// `claim`, an active job must still be held by that claim: another controller's, or one
    /// taken over since (a newer fencing token), is refused (`claimLost`). A `pending → queued`
    /// with a claim claims the job (a new fencing token). Ending a job revokes its job tokens.
    @discardableResult
    func transitionJob(_ id: String, from: JobState, to: JobState, claim: JobClaim?, update: JobUpdate, now: Date) async throws(StoreError) -> JobRecord
    /// Extends by `lease`, from the store's clock, the leases of the queued or started jobs that
    /// `controller` still holds with the fencing tokens in `claims` (job id → fence); returns the
    /// ids renewed. A job missing from the answer is no longer the caller's.
    func renewLeases(controller: String, claims: [String: Int], lease: TimeSpan) async throws(StoreError) -> Set<String>
    /// Moves every queued or started job whose lease expired by the store's clock to `controller`
    /// on `engine`: a new fencing token and lease, state and attempt kept, a `TakenOver` warning
    /// each; returns them. The taker observes the job's container and decides: adopt it when it
    /// runs on its engine, or end the attempt as lost.
    func takeOverExpiredJobs(controller: String, engine: String, lease: TimeSpan) async throws(StoreError) -> [JobRecord]
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

    // JobTemplate submissions.
    /// The input files submitted with a job (`JobSubmission.inputs`), by path; empty when none.
    func jobInputs(_ id: String) async throws(StoreError) -> [JobInputFile]
}
