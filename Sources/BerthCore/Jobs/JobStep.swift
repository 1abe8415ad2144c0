import Foundation

/// The one next thing to do for a claimed job's attempt, decided purely from what is observed:
/// the job's record, its worker container (found by its name, told apart by its labels), this
/// execution's own progress, a cancel request and the clock. The execution observes, asks
/// ``next(job:worker:progress:cancelled:now:)``, performs the step and records what it learnt,
/// until there is nothing left to do. Every path of an attempt, including a resume after a crash
/// in any state, is a row of this table, tested without an engine.
public enum JobStep: Sendable, Hashable {
    /// Inspect the worker container.
    case observeContainer
    /// The container is an earlier attempt's: remove it and its scratch volume.
    case removeStaleContainer
    /// Make the job token, the scratch volume and the container (adopting the one this attempt
    /// made before a crash), and record the container on the queued job.
    case createContainer
    case startContainer
    /// Record the job `started` (`queued → started`): its container runs, or ran already.
    case markStarted
    /// Wait until the container is no longer running, `deadline` passes (`nil`: no deadline) or a
    /// cancel comes; then look again.
    case awaitEnd(deadline: Date?)
    /// A SIGKILL exit (137) without the engine's OOM flag: the flag can lag the exit, so look
    /// again, flag and the engine's `oom` events, for a while.
    case confirmOutOfMemory
    /// Stop the running container for a deadline or a cancel; the attempt ended as `end`.
    case stopContainer(for: AttemptEnd)
    /// Record how the attempt ended (the verdict and its event), with the container's output
    /// tails and feedback when `collectOutput`.
    case record(AttemptEnd, collectOutput: Bool)
    /// Remove the container and scratch volume after the record: for a retry, or a job without
    /// `ttlAfterFinished`.
    case removeObjects

    /// What the decision needs of the job's record.
    public struct Job: Sendable, Hashable {
        public var state: JobState
        public var attempt: Int
        /// The container's engine name, for the messages of a lost worker.
        public var containerName: String
        /// The record holds a container id: the container was created (and perhaps removed since).
        public var containerRecorded: Bool
        public var startedAt: Date?
        public var activeDeadline: TimeSpan?
        /// `ttlAfterFinished` is set: an ended job's objects stay for the janitor.
        public var keepsObjects: Bool

        public init(
            state: JobState, attempt: Int, containerName: String, containerRecorded: Bool, startedAt: Date? = nil,
            activeDeadline: TimeSpan? = nil, keepsObjects: Bool = false
        ) {
            self.state = state
            self.attempt = attempt
            self.containerName = containerName
            self.containerRecorded = containerRecorded
            self.startedAt = startedAt
            self.activeDeadline = activeDeadline
            self.keepsObjects = keepsObjects
        }
    }

    /// The worker container as last inspected.
    public struct Container: Sendable, Hashable {
        public var state: ObservedContainer.State
        /// Its `berth.attempt` label.
        public var attempt: Int?
        public var exitCode: Int
        public var oomKilled: Bool
        public var startedAt: Date?

        public init(state: ObservedContainer.State, attempt: Int?, exitCode: Int = 0, oomKilled: Bool = false, startedAt: Date? = nil) {
            self.state = state
            self.attempt = attempt
            self.exitCode = exitCode
            self.oomKilled = oomKilled
            self.startedAt = startedAt
        }

        /// Exited or dead: it will not run again.
        public var hasExited: Bool { state == .exited || state == .dead }
    }

    /// What is known of the worker container.
    public enum Worker: Sendable, Hashable {
        /// Not looked at since the last step that may have changed it.
        case unobserved
        case absent
        case present(Container)
    }

    /// What this execution did that the record and the engine do not show; a resumed execution
    /// starts without it, as a restarted controller does.
    public struct Progress: Sendable, Hashable {
        /// It created (or adopted) the container: it never creates another.
        public var created: Bool
        /// The create failed; the attempt could not start, for this reason.
        public var createFailure: String?
        /// It asked the engine to start the container.
        public var startRequested: Bool
        /// The start failed; the attempt could not start, for this reason.
        public var startFailure: String?
        /// It waited for the worker: a container gone afterwards was removed while the job ran.
        public var waited: Bool
        /// It looked again for an OOM kill of a SIGKILL exit.
        public var outOfMemoryChecked: Bool
        /// It stopped the container, and the attempt ended this way.
        public var stoppedFor: AttemptEnd?
        /// It removed the container and scratch volume after the record.
        public var removed: Bool
        /// It took the job over from a controller whose lease expired: a container the record
        /// names that is not on this engine ran elsewhere, and that attempt is lost.
        public var takenOver: Bool

        public init(
            created: Bool = false, createFailure: String? = nil, startRequested: Bool = false, startFailure: String? = nil,
            waited: Bool = false, outOfMemoryChecked: Bool = false, stoppedFor: AttemptEnd? = nil, removed: Bool = false,
            takenOver: Bool = false
        ) {
            self.created = created
            self.createFailure = createFailure
            self.startRequested = startRequested
            self.startFailure = startFailure
            self.waited = waited
            self.outOfMemoryChecked = outOfMemoryChecked
            self.stoppedFor = stoppedFor
            self.removed = removed
            self.takenOver = takenOver
        }
    }

    /// The next step for `job`, or `nil` when the execution is done.
    ///
    /// - A recorded job (no longer queued or started) only has its objects removed, at once for a
    ///   retry or without `ttlAfterFinished`.
    /// - An end this execution brought about (a failed create or start, a stop) is recorded, with
    ///   the output of the container it saw.
    /// - A queued first attempt without a container on record is fresh: it is created without a
    ///   look first (a container left by a crash before the record is adopted by the create). A
    ///   retry looks first: the earlier attempt's container may still hold the name.
    /// - An earlier attempt's container is removed first; a missing one is created for a queued
    ///   job, or the worker is lost.
    /// - A job taken over from an expired lease is looked at first: its container on this engine is
    ///   adopted and followed; a container on record but not on this engine ran elsewhere, so that
    ///   attempt is lost (`WorkerLost`, retried per the job's `backoffLimit`). A queued job taken
    ///   over before any container was recorded never ran: it is created here.
    /// - A created container starts (a cancel ends the attempt instead); a queued job whose
    ///   container ran is marked started.
    /// - An exited container ends the attempt with its exit status, even when a cancel or the
    ///   deadline came meanwhile: the work is done.
    /// - A running one is stopped for a cancel or a passed deadline, and waited for otherwise.
    public static func next(job: Job, worker: Worker, progress: Progress, cancelled: Bool, now: Date) -> JobStep? {
        guard job.state.isActive else {
            return (job.state == .pending || !job.keepsObjects) && !progress.removed ? .removeObjects : nil
        }
        if let problem = progress.createFailure { return .record(.couldNotStart(problem), collectOutput: false) }
        if let end = progress.stoppedFor ?? progress.startFailure.map(AttemptEnd.couldNotStart) {
            switch worker {
            case .unobserved: return .observeContainer
            case .absent: return .record(end, collectOutput: false)
            case .present: return .record(end, collectOutput: true)
            }
        }
        switch worker {
        case .unobserved:
            // A retry looks first: the earlier attempt's container may still hold the name (its
            // controller was cut off before it removed it).
            let fresh = job.state == .queued && job.attempt == 1 && !job.containerRecorded && !progress.created
            return fresh ? whenAbsent(job, progress, cancelled: cancelled) : .observeContainer
        case .absent:
            return whenAbsent(job, progress, cancelled: cancelled)
        case .present(let container):
            return whenPresent(container, job, progress, cancelled: cancelled, now: now)
        }
    }

    private static func whenAbsent(_ job: Job, _ progress: Progress, cancelled: Bool) -> JobStep {
        let name = job.containerName
        if progress.takenOver, job.containerRecorded, !progress.created, !progress.waited {
            return .record(.workerLost("the worker container \(name) is not on this engine: its attempt ran under a lease that expired"), collectOutput: false)
        }
        if progress.waited { return .record(.workerLost("the worker container \(name) was removed while the job ran"), collectOutput: false) }
        if job.state == .started { return .record(.workerLost("the worker container \(name) disappeared while the job ran"), collectOutput: false) }
        if progress.created { return .record(.workerLost("the worker container \(name) disappeared before it started"), collectOutput: false) }
        if cancelled { return .record(.cancelled, collectOutput: false) }
        return .createContainer
    }

    private static func whenPresent(_ container: Container, _ job: Job, _ progress: Progress, cancelled: Bool, now: Date) -> JobStep {
        guard container.attempt == job.attempt else { return .removeStaleContainer }
        if container.state == .created, !progress.startRequested {
            return cancelled ? .record(.cancelled, collectOutput: true) : .startContainer
        }
        if job.state == .queued { return .markStarted }
        if container.hasExited {
            if container.exitCode == 137, !container.oomKilled, !progress.outOfMemoryChecked { return .confirmOutOfMemory }
            return .record(.exited(code: container.exitCode, oomKilled: container.oomKilled), collectOutput: true)
        }
        if cancelled { return .stopContainer(for: .cancelled) }
        let deadline = job.activeDeadline.map { (container.startedAt ?? job.startedAt ?? now).addingTimeInterval($0.seconds) }
        if let deadline, let limit = job.activeDeadline, now >= deadline { return .stopContainer(for: .deadlineExceeded(limit)) }
        return .awaitEnd(deadline: deadline)
    }
}
