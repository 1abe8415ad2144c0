import BerthCore
import BerthDocker
import BerthStore
import Foundation
import Logging

/// The job side of the controller: claims pending jobs the moment they are submitted (store
/// notifications, and a poll for what no notification reaches), runs one `JobExecution` per
/// claimed job up to the controller's limit, keeps their leases alive, hands cancels to them,
/// puts jobs of lost controllers back in the queue, submits the manifests' `Job`s, and clears away
/// containers and scratch volumes of ended jobs.
public actor JobRunner {
    private let runtime: any JobRuntime
    private let store: any JobQueue & EventLog & TokenStore & StoreNotifications
    private let configuration: JobRunnerConfiguration
    private let environment: EnvironmentResolver
    private let logger: Logger
    private let wakeUps = WakeUpSignal()
    private var executions: [String: (task: Task<Void, Never>, cancel: CancelFlag)] = [:]
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

    public init(
        runtime: any JobRuntime, store: any JobQueue & EventLog & TokenStore & StoreNotifications, configuration: JobRunnerConfiguration = JobRunnerConfiguration(),
        environment: EnvironmentResolver = EnvironmentResolver(), logger: Logger = Logger(label: "berth.jobs")
    ) {
        self.init(runtime: runtime, store: store, configuration: configuration, environment: environment, logger: logger, betweenSteps: CrashPoint.reach)
    }

    init(
        runtime: any JobRuntime, store: any JobQueue & EventLog & TokenStore & StoreNotifications, configuration: JobRunnerConfiguration, environment: EnvironmentResolver, logger: Logger,
        betweenSteps: @escaping JobExecution.BetweenSteps
    ) {
        self.runtime = runtime
        self.store = store
        self.configuration = configuration
        self.environment = environment
        self.logger = logger
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
                let submission = JobSubmission(project: resource.metadata.project, name: resource.metadata.name, spec: spec, idempotencyKey: key, owner: resource.id)
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

    private func loop() async {
        let clock = ContinuousClock()
        var lastRenewal = clock.now - .seconds(3600)
        var lastCancelPoll = clock.now
        await resumeOwnJobs()
        while !Task.isCancelled {
            let renewEvery = Duration.milliseconds(configuration.lease.milliseconds / 3)
            if clock.now - lastRenewal >= renewEvery {
                await renewAndReclaim()
                lastRenewal = clock.now
            }
            await claim()
            // Cancels reach this process by notification; the poll is for other processes.
            if clock.now - lastCancelPoll >= configuration.pollInterval {
                await deliverCancels()
                lastCancelPoll = clock.now
            }
            _ = await wakeUps.wait(until: clock.now + min(configuration.pollInterval, renewEvery))
        }
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
            case .resourceChanged:
                break
            }
        }
    }

    /// Continues the jobs this controller held when it stopped (its identity is stable).
    private func resumeOwnJobs() async {
        do {
            let page = try await store.jobs(filter: JobFilter(states: [.queued, .started], claimedBy: configuration.identity), page: PageRequest(limit: 1000, order: .oldestFirst))
            for job in page.items {
                logger.info("resuming \(job.state) job after a restart", metadata: ["berth.job": "\(job.id)"])
                start(job)
            }
        } catch {
            logger.error("cannot list this controller's jobs to resume them: \(error)")
        }
    }

    private func claim() async {
        let free = configuration.maxConcurrentJobs - executions.count
        guard free > 0, desiredKnown else { return }
        do {
            let claimed = try await store.claimJobs(
                controller: configuration.identity, limit: free, projectLimits: projectLimits, lease: configuration.lease, now: Date()
            )
            let now = Date()
            for job in claimed {
                ControllerMetrics.pickedUp(job, at: now)
                start(job)
            }
        } catch {
            logger.error("cannot claim jobs: \(error)")
        }
    }

    private func start(_ job: JobRecord) {
        guard executions[job.id] == nil else { return }
        let cancel = CancelFlag()
        if job.cancelRequested { cancel.set() }
        let execution = JobExecution(
            runtime: runtime, store: store, configuration: configuration, environment: environment, logger: logger, cancel: cancel, desired: desired,
            betweenSteps: betweenSteps
        )
        let task = Task {
            await execution.run(job)
            self.finished(job.id)
        }
        executions[job.id] = (task, cancel)
    }

    private func finished(_ id: String) {
        executions[id] = nil
        wakeUps.fire(.engine)
    }

    /// Keeps this controller's leases and returns lost controllers' jobs to the queue.
    private func renewAndReclaim() async {
        do {
            try await store.renewLeases(controller: configuration.identity, until: Date().addingTimeInterval(configuration.lease.seconds))
            for job in try await store.reclaimExpiredLeases(now: Date()) {
                logger.warning("job \(job.id) of \(job.claimedBy ?? "a controller") lost its lease; back in the queue (WorkerLost)")
            }
        } catch {
            logger.error("cannot renew or reclaim leases: \(error)")
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
            var keep: Set<String> = []
            for container in objects.containers {
                guard let id = container.jobID, executions[id] == nil else { continue }
                let project = container.labels[LabelKey.project] ?? ""
                let job = try await store.job(id)
                if let job, !Self.mayRemove(job, container: container) {
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
        } catch {
            logger.error("cleaning up ended jobs failed: \(error)")
        }
    }

    /// A worker container may go when its job ended (and its `ttlAfterFinished` passed) or waits
    /// for a retry; never while its job is queued or started.
    static func mayRemove(_ job: JobRecord, container: JobContainer) -> Bool {
        switch job.state {
        case .queued, .started: return false
        // A reclaimed job keeps its attempt: its container is adopted by the next claim, not replaced.
        case .pending: return container.attempt != job.attempt
        case .finished, .failed, .cancelled:
            guard let ttl = job.spec.ttlAfterFinished, let finished = job.finishedAt else { return true }
            return finished.addingTimeInterval(ttl.seconds) <= Date()
        }
    }
}
