import BerthCore
import BerthDocker
import BerthStore
import Foundation
import Logging

/// The job side of the controller: claims pending jobs the moment they are submitted (store
/// notifications, and a poll for what no notification reaches), runs one `JobExecution` per
/// claimed job up to the controller's limit, keeps their leases alive, hands cancels to them,
/// takes over the jobs whose leases expired (any controller may: the takeover is one transaction
/// on the store's clock, so each job goes to one taker), submits the
/// manifests' `Job`s, and clears away containers and scratch volumes of ended jobs.
///
/// Leases: renewed at a third of `lease`, each execution's hold tracked in a `HeldClaim`. A
/// renewal that leaves a job out means another controller took it over: the execution stops
/// there. When no renewal succeeded for a whole lease (measured on the monotonic clock from the
/// last renewal sent that succeeded), and the latest attempt failed or hangs, every execution
/// whose lease ran out stops and removes its container without recording anything
/// (self-fencing): the store may have handed the job to another controller meanwhile.
public actor JobRunner {
    private let runtime: any JobRuntime
    private let store: any JobQueue & EventLog & TokenStore & StoreNotifications & UISessionStore
    private let configuration: JobRunnerConfiguration
    private let environment: EnvironmentResolver
    private let logger: Logger
    /// The store refusing claims, logged when that starts, changes and ends, not on every poll.
    private var claimFailures: ConditionLog
    private let wakeUps = WakeUpSignal()
    private var executions: [String: (task: Task<Void, Never>, cancel: CancelFlag, held: HeldClaim)] = [:]
    /// This runner's engine ID, once read.
    private var engine: String?
    /// When the renewal in flight was sent, and whether the last one failed.
    private var renewalSent: ContinuousClock.Instant?
    private var renewalFailed = false
    /// The renewal in flight looked hung at the watcher's last look.
    private var renewalHung = false
    private let clock = ContinuousClock()
    private var projectLimits: [String: ProjectJobLimits] = [:]
    /// Projects of the desired state: only their job objects without a job row are cleared away
    /// (another Berth with another store may share the engine).
    private var knownProjects: Set<String> = []
    /// Claims wait for the first desired state, so project limits hold from the first claim on.
    private var desiredKnown = false
    private var submittedManifestJobs: Set<String> = []
    /// The latest desired state: the networks of the jobs claimed next.
    private var desired = DesiredState()
    /// Runs between two steps of every execution: the crash points, or a test's simulated crash.
    private let betweenSteps: JobExecution.BetweenSteps
    /// What follows an attempt's end: its output archived, its webhook woken.
    private let completion: JobCompletion

    public init(
        runtime: any JobRuntime, store: any JobQueue & EventLog & TokenStore & StoreNotifications & UISessionStore, configuration: JobRunnerConfiguration = JobRunnerConfiguration(),
        environment: EnvironmentResolver = EnvironmentResolver(), logger: Logger = Logger(label: "berth.jobs"), completion: JobCompletion = JobCompletion()
    ) {
        self.init(
            runtime: runtime, store: store, configuration: configuration, environment: environment, logger: logger, betweenSteps: CrashPoint.reach,
            completion: completion)
    }

    init(
        runtime: any JobRuntime, store: any JobQueue & EventLog & TokenStore & StoreNotifications & UISessionStore, configuration: JobRunnerConfiguration, environment: EnvironmentResolver,
        logger: Logger,
        betweenSteps: @escaping JobExecution.BetweenSteps, completion: JobCompletion = JobCompletion()
    ) {
        self.completion = completion
        self.runtime = runtime
        self.store = store
        self.configuration = configuration
        self.environment = environment
        self.logger = logger
        claimFailures = ConditionLog(logger: logger, occasion: "poll")
        self.betweenSteps = betweenSteps
    }

    /// Jobs this runner is carrying out now.
    public var runningJobIDs: Set<String> { Set(executions.keys) }

    /// Takes the projects' job limits from the desired state and submits its `Job` resources (once
    /// per spec: the idempotency key holds the spec hash, so an edited Job runs again).
    public func updateDesired(_ state: DesiredState) async {
        var limits: [String: ProjectJobLimits] = [:]
        for (name, spec) in state.projects { limits[name] = ProjectJobLimits(spec) }
        projectLimits = limits
        knownProjects = state.referencedProjects
        desired = state
        desiredKnown = true
        for resource in state.resources {
            guard case .job(let spec) = resource.spec else { continue }
            let key = "manifest:\(resource.metadata.name):\(SpecHash.of(spec))"
            guard !submittedManifestJobs.contains("\(resource.metadata.project)/\(key)") else { continue }
            do {
                let submission = JobSubmission(
                    project: resource.metadata.project, name: resource.metadata.name, spec: spec, idempotencyKey: key, owner: resource.id,
                    labels: resource.metadata.labels
                )
                let (job, created) = try await store.submitJob(submission, now: Date())
                if created { logger.info("submitted job \(job.id) for \(resource.id)") }
                submittedManifestJobs.insert("\(resource.metadata.project)/\(key)")
            } catch {
                logger.error("cannot submit \(resource.id): \(error)")
            }
        }
        wakeUps.fire(.reload)
    }

    /// Runs until cancelled; in-flight executions are left to finish or to be resumed later.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.listen() }
            group.addTask { await self.keepLeases() }
            group.addTask { await self.watchLeases() }
            if let webhooks = completion.webhooks {
                group.addTask { await webhooks.run() }
            }
            // The janitor's engine listing can take a while: never in the way of a claim.
            group.addTask {
                while !Task.isCancelled {
                    await self.clearAway()
                    try? await Task.sleep(for: .seconds(30))
                }
            }
            await loop()
            group.cancelAll()
        }
    }

    private var renewEvery: Duration { .milliseconds(configuration.lease.milliseconds / 3) }

    private func loop() async {
        // Claims record the engine: nothing runs before its ID is known.
        while await engineID() == nil, !Task.isCancelled {
            try? await Task.sleep(for: configuration.pollInterval)
        }
        var lastCancelPoll = clock.now
        await resumeOwnJobs()
        while !Task.isCancelled {
            await claim()
            // Cancels reach this process by notification; the poll is for other processes.
            if clock.now - lastCancelPoll >= configuration.pollInterval {
                await deliverCancels()
                lastCancelPoll = clock.now
            }
            _ = await wakeUps.wait(until: clock.now + configuration.pollInterval)
        }
    }

    /// Renews at a third of the lease and takes over expired leases; a task of its
    /// own, so a slow claim never delays a renewal.
    private func keepLeases() async {
        while !Task.isCancelled {
            await renew()
            await takeOver()
            try? await Task.sleep(for: renewEvery)
        }
    }

    /// Self-fencing, checked often: a renewal that hangs must not keep the containers running.
    private func watchLeases() async {
        let tick = max(Duration.milliseconds(20), min(renewEvery / 4, .seconds(1)))
        while !Task.isCancelled {
            fenceUnrenewed()
            try? await Task.sleep(for: tick)
        }
    }

    /// This runner's engine ID, read once.
    private func engineID() async -> String? {
        if let engine { return engine }
        do {
            engine = try await runtime.engineID()
        } catch {
            logger.error("cannot read the engine's ID, needed to claim jobs: \(error)")
        }
        return engine
    }

    /// Store notifications: a submit wakes the claim at once; a cancel reaches its execution.
    private func listen() async {
        for await notification in store.notifications() {
            switch notification {
            case .jobCancelRequested(let id):
                executions[id]?.cancel.set()
                wakeUps.fire(.store)
            case .jobSubmitted, .resync:
                wakeUps.fire(.store)
            case .resourceChanged, .sourcePinned:
                break
            }
        }
    }

    /// Continues the jobs this controller held when it stopped (its identity is stable).
    private func resumeOwnJobs() async {
        do {
            let page = try await store.jobs(filter: JobFilter(states: [.queued, .started], claimedBy: configuration.identity), page: PageRequest(limit: 1000, order: .oldestFirst))
            let now = clock.now
            for job in page.items {
                logger.info("resuming \(job.state) job after a restart", metadata: ["berth.job": "\(job.id)"])
                start(job, takenOver: false, confirmed: now)
            }
        } catch {
            logger.error("cannot list this controller's jobs to resume them: \(error)")
        }
    }

    private func claim() async {
        let free = configuration.maxConcurrentJobs - executions.count
        guard free > 0, desiredKnown, let engine = await engineID() else { return }
        do {
            let sent = clock.now
            let claimed = try await store.claimJobs(
                controller: configuration.identity, engine: engine, node: configuration.node, limit: free, projectLimits: projectLimits, lease: configuration.lease
            )
            claimFailures.ended("claim")
            let now = Date()
            for job in claimed {
                ControllerMetrics.pickedUp(job, at: now)
                start(job, takenOver: false, confirmed: sent)
            }
        } catch {
            claimFailures.holds("claim", "cannot claim jobs: \(error)", level: .error)
        }
    }

    /// Runs an execution for `job`, its lease confirmed at `confirmed`. Jobs taken over start one
    /// even beyond `maxConcurrentJobs`: their containers run already (or ran), whoever follows them.
    private func start(_ job: JobRecord, takenOver: Bool, confirmed: ContinuousClock.Instant) {
        guard executions[job.id] == nil, let engine else { return }
        let cancel = CancelFlag()
        if job.cancelRequested { cancel.set() }
        let held = HeldClaim(controller: configuration.identity, fence: job.fence, confirmed: confirmed)
        let execution = JobExecution(
            runtime: runtime, store: store, configuration: configuration, environment: environment, logger: logger, cancel: cancel, held: held,
            engine: engine, desired: desired, betweenSteps: betweenSteps, completion: completion
        )
        let task = Task {
            await execution.run(job, takenOver: takenOver)
            self.finished(job.id)
        }
        executions[job.id] = (task, cancel, held)
    }

    private func finished(_ id: String) {
        executions[id] = nil
        wakeUps.fire(.engine)
    }

    /// Renews the lease of every job an execution holds; one left out was taken over.
    private func renew() async {
        var claims: [String: Int] = [:]
        for (id, execution) in executions where execution.held.loss == nil { claims[id] = execution.held.fence }
        let sent = clock.now
        renewalSent = sent
        defer { renewalSent = nil }
        do {
            let renewed = try await store.renewLeases(controller: configuration.identity, claims: claims, lease: configuration.lease)
            renewalFailed = false
            for (id, fence) in claims {
                guard let held = executions[id]?.held else { continue }
                if renewed.contains(id) {
                    held.confirm(fence: fence, at: sent)
                } else {
                    held.lose(.takenOver, fence: fence)
                }
            }
        } catch {
            renewalFailed = true
            logger.error("cannot renew the leases of \(claims.count) job\(claims.count == 1 ? "" : "s"): \(error)")
        }
    }

    /// Fences every execution whose lease ran out unrenewed, once a renewal failed or hangs: after
    /// a pause (SIGSTOP, a VM freeze) the next renewal tells whether the claim is still held. A
    /// renewal hangs when two looks in a row find it in flight for longer than a renewal interval:
    /// one sent just before a pause looks old at the first look after it, and answers at once.
    private func fenceUnrenewed() {
        let now = clock.now
        let hanging = renewalSent.map { now - $0 > renewEvery } ?? false
        defer { renewalHung = hanging }
        guard renewalFailed || (hanging && renewalHung) else { return }
        let lease = Duration.milliseconds(configuration.lease.milliseconds)
        for (id, execution) in executions where execution.held.loss == nil && now - execution.held.confirmed >= lease {
            logger.error(
                "job \(id): no lease renewal succeeded for \(configuration.lease); stopping its container, as another controller may hold the job now",
                metadata: ["berth.job": "\(id)"])
            execution.held.lose(.unrenewed, fence: execution.held.fence)
        }
    }

    /// Takes over the jobs whose leases expired and follows each from what its container shows.
    private func takeOver() async {
        guard let engine = await engineID() else { return }
        do {
            let sent = clock.now
            for job in try await store.takeOverExpiredJobs(controller: configuration.identity, engine: engine, lease: configuration.lease) {
                logger.warning("took over job \(job.id) (attempt \(job.attempt), \(job.state)) after its lease expired", metadata: ["berth.job": "\(job.id)"])
                if let held = executions[job.id]?.held {
                    held.renew(fence: job.fence, at: sent)
                } else {
                    start(job, takenOver: true, confirmed: sent)
                }
            }
        } catch {
            logger.error("cannot take over expired job leases: \(error)")
        }
    }

    /// Cancels requested from another process reach running executions through this poll.
    private func deliverCancels() async {
        for (id, execution) in executions where !execution.cancel.isSet {
            if let job = try? await store.job(id), job.cancelRequested { execution.cancel.set() }
        }
    }

    /// Removes containers and scratch volumes of jobs that ended (after `ttlAfterFinished`), that
    /// wait for a retry, or whose rows are gone (in the desired state's projects); prunes old
    /// finished jobs, and events by age and count.
    private func clearAway() async {
        do {
            let objects = try await runtime.jobObjects()
            let engine = await engineID()
            var keep: Set<String> = []
            for container in objects.containers {
                guard let id = container.jobID, executions[id] == nil else { continue }
                let project = container.labels[LabelKey.project] ?? ""
                let job = try await store.job(id)
                if let job, !Self.mayRemove(job, container: container, engine: engine) {
                    keep.insert(id)
                    continue
                }
                if job == nil, !knownProjects.contains(project) { continue }
                try await runtime.removeContainer(named: container.name, grace: .seconds(1))
                try await runtime.removeVolume(named: ObjectName.jobScratchVolume(project: project, jobID: id))
                logger.info("removed leftover worker container \(container.name)")
            }
            for (volume, labels) in objects.volumes {
                guard let id = labels[LabelKey.job], executions[id] == nil, !keep.contains(id) else { continue }
                let job = try await store.job(id)
                if let job, job.state.isActive { continue }
                if job == nil, !knownProjects.contains(labels[LabelKey.project] ?? "") { continue }
                try await runtime.removeVolume(named: volume)
            }
            try await store.pruneJobs(finishedBefore: Date().addingTimeInterval(-configuration.retention.seconds), keepPerProject: configuration.keepPerProject)
            try await store.pruneEvents(before: Date().addingTimeInterval(-configuration.eventRetention.seconds), keepAtMost: configuration.eventsKept)
            try await store.pruneUISessions(before: Date())
        } catch {
            logger.error("cleaning up ended jobs failed: \(error)")
        }
    }

    /// A worker container may go when its job ended (and its `ttlAfterFinished` passed) or waits
    /// for a retry; while its job is queued or started, only when a controller on another engine
    /// holds the job (a claim lost by a controller of this engine, whose container stayed).
    static func mayRemove(_ job: JobRecord, container: JobContainer, engine: String?) -> Bool {
        switch job.state {
        case .queued, .started: return engine != nil && job.claimedEngine != nil && job.claimedEngine != engine
        // A pending job waits for its next attempt: only an earlier attempt's container goes.
        case .pending: return container.attempt != job.attempt
        case .finished, .failed, .cancelled:
            guard let ttl = job.spec.ttlAfterFinished, let finished = job.finishedAt else { return true }
            return finished.addingTimeInterval(ttl.seconds) <= Date()
        }
    }
}
