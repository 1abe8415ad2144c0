import BerthCore
import BerthDocker
import BerthGit
import BerthStore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

/// Tunables of `berth serve`.
public struct ControllerConfiguration: Sendable {
    /// Passes happen at least this often, whatever else wakes the loop.
    public var resyncInterval: Duration
    /// The resync interval varies by up to this fraction, so several controllers do not align.
    public var resyncJitter: Double
    /// How often the manifest files are checked for changes.
    public var manifestPollInterval: Duration
    /// The leader lease on the store; asked for at a third of its length.
    public var leaderLease: TimeSpan
    /// This controller's name in job claims and the leader lease.
    public var identity: String
    /// While the desired state is stale, the store is tried again this often.
    public var staleReloadInterval: Duration

    public init(
        resyncInterval: Duration = .seconds(30),
        resyncJitter: Double = 0.1,
        manifestPollInterval: Duration = .seconds(1),
        leaderLease: TimeSpan = .seconds(15),
        identity: String = "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)",
        staleReloadInterval: Duration = .seconds(5)
    ) {
        self.resyncInterval = resyncInterval
        self.resyncJitter = resyncJitter
        self.manifestPollInterval = manifestPollInterval
        self.leaderLease = leaderLease
        self.identity = identity
        self.staleReloadInterval = staleReloadInterval
    }
}

/// `berth serve`: the reconcile loop, forever, and the job runner beside it. Passes are woken by engine events, store
/// notifications, manifest changes, SIGHUP, backoff timers and a jittered resync timer; each pass
/// plans from full state. Every controller converges the volumes of its own engine and the service
/// replicas it runs (on a node, those assigned to it: ``NodePlacement``) on every pass, from the
/// last desired state it could read when the store is away, and never waits for the store on the
/// way (statuses and events wait in the reconciler's ``StoreWriteBuffer``). The leader lease,
/// asked for beside the loop, guards only the work that must happen once: placing replicas on
/// nodes, cron firing, buckets and issuing certificates (other nodes write the stored ones their
/// replicas consume; expired job leases are taken over by any controller: see `JobRunner`); a
/// store that cannot be reached means not leading. Runs as a
/// service-lifecycle `Service`: on SIGTERM or SIGINT, actions in flight finish, no new one
/// starts, and the lease is released; the next start adopts what exists.
public final class Controller: Service {
    private let source: DesiredStateSource
    private let runtime: any ContainerRuntime
    private let store: (any LeaderLease & StoreNotifications)?
    private let reconciler: Reconciler
    private let jobs: JobRunner?
    private let cron: CronTrigger?
    private let certificates: CertificateManager?
    /// Follows the git source, when desired state comes from git.
    private let git: GitSync?
    /// Writes this controller's node heartbeat, when it is a node (`berth serve`).
    private let node: NodeHeartbeats?
    /// Places replicas (while leading) and tells which are this node's; nil: every replica runs here.
    private let placement: NodePlacement?
    private let configuration: ControllerConfiguration
    private let logger: Logger
    private let health: ControllerHealth?
    private let wakeUps = WakeUpSignal()
    /// Wakes the leader's duties: after a pass, when the lease is won, when a schedule is due.
    private let duties = WakeUpSignal()
    private let stopping = Atomic<Bool>(false)
    private let leading: Atomic<Bool>
    /// The desired state the last pass converged, for the leader's duties.
    private let converged = Mutex<DesiredStateSource.Snapshot?>(nil)
    /// Where the last pass found this node's replicas, for the certificates a node that does not lead writes.
    private let placed = Mutex<ReplicaPlacement>(.all)
    /// Containers engine events were about since the last pass: read afresh, not from the list.
    private let touched = Mutex<Set<String>>([])
    /// Whether the last pass left a wait (an orphaned network still attached to a container): only
    /// then can a job container's events change what a pass plans.
    private let waiting = Atomic<Bool>(false)
    /// Called after every pass (tests and `--once`-style tooling watch progress through it).
    private let onPass: @Sendable (PassResult) -> Void

    public init(
        source: DesiredStateSource, runtime: any ContainerRuntime, store: (any LeaderLease & StoreNotifications)?, reconciler: Reconciler, jobs: JobRunner? = nil, cron: CronTrigger? = nil,
        certificates: CertificateManager? = nil, git: GitSync? = nil, node: NodeHeartbeats? = nil, placement: NodePlacement? = nil,
        configuration: ControllerConfiguration = ControllerConfiguration(), health: ControllerHealth? = nil, logger: Logger = Logger(label: "berth.controller"),
        onPass: @escaping @Sendable (PassResult) -> Void = { _ in }
    ) {
        self.source = source
        self.runtime = runtime
        self.store = store
        self.reconciler = reconciler
        self.jobs = jobs
        self.cron = cron
        self.certificates = certificates
        self.git = git
        self.node = node
        self.placement = placement
        self.configuration = configuration
        self.health = health
        self.logger = logger
        self.onPass = onPass
        leading = Atomic(false)
        git?.whenSelected { [wakeUps] in wakeUps.fire(.reload) }
    }

    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await self.watchEngine() }
                group.addTask { await self.watchStore() }
                group.addTask { await self.watchManifests() }
                group.addTask { await self.watchHangUp() }
                group.addTask { await self.holdLease() }
                group.addTask { await self.performLeaderDuties() }
                group.addTask { await self.reconciler.runStoreWrites() }
                if let jobs { group.addTask { await jobs.run() } }
                if let git { group.addTask { await git.run() } }
                if let node {
                    // Once registered, the node can be placed on: a pass places at once.
                    group.addTask { await node.run(runningJobs: { await self.jobs?.runningJobIDs.count ?? 0 }, registered: { self.wakeUps.fire(.timer) }) }
                }
                defer { group.cancelAll() }
                try await loop()
                // What the last passes left for the store, if it takes it soon.
                try? await withStoreDeadline(.seconds(5)) { try await self.reconciler.flushStoreWrites() }
            }
        } onGracefulShutdown: {
            self.logger.info("shutting down: actions in flight finish, no new one starts")
            self.stopping.store(true, ordering: .relaxed)
            self.wakeUps.fire(.shutdown)
            self.duties.fire(.shutdown)
        }
    }

    private var isStopping: Bool { stopping.load(ordering: .relaxed) }
    private var isLeading: Bool { leading.load(ordering: .relaxed) }

    private func loop() async throws {
        var snapshot: DesiredStateSource.Snapshot?
        var reload = true
        var engineFailures = 0
        let clock = ContinuousClock()
        // Reloads are due by time too, not only when the resync timer fires: engine events coming
        // faster than the resync interval would otherwise put them off for ever.
        var nextReload = clock.now
        while !isStopping {
            if reload || clock.now >= nextReload {
                snapshot = await reloaded(keeping: snapshot)
                reload = false
                // While stale, the store is tried again soon, so the desired state is fresh soon after it is back.
                nextReload = clock.now + (snapshot?.staleness == nil ? jittered(configuration.resyncInterval) : configuration.staleReloadInterval)
            }
            var deadline = min(clock.now + jittered(configuration.resyncInterval), nextReload)
            if let snapshot {
                do {
                    let refreshing = touched.withLock { touched in
                        defer { touched = [] }
                        return touched
                    }
                    let passStart = clock.now
                    // A stale desired state may miss services: the leader places from a fresh one only.
                    let replicas =
                        await placement?.replicas(for: snapshot.state, leading: isLeading && snapshot.staleness == nil) ?? NodeReplicas(placement: .all)
                    placed.withLock { $0 = replicas.placement }
                    let result = try await reconciler.reconcile(
                        snapshot, refreshing: refreshing, leading: isLeading, replicas: replicas, shouldStop: { self.isStopping })
                    ControllerMetrics.pass(duration: clock.now - passStart, succeeded: true)
                    let changes = result.report.changeCount
                    logger.log(level: changes > 0 ? .info : .debug, "pass done in \(clock.now - passStart): \(changes) change\(changes == 1 ? "" : "s")")
                    engineFailures = 0
                    waiting.store(!result.plan.waits.isEmpty, ordering: .relaxed)
                    git?.passCompleted(revision: snapshot.revision?.sha, statuses: result.statuses, judgedElsewhere: result.judgedElsewhere)
                    node?.passCompleted(result.statuses)
                    onPass(result)
                    if let next = result.nextWakeUp { deadline = min(deadline, result.time.instant(of: next) + .milliseconds(10)) }
                    if let again = replicas.placeAgainIn { deadline = min(deadline, clock.now + again) }
                } catch {
                    engineFailures += 1
                    ControllerMetrics.pass(duration: .zero, succeeded: false)
                    let delay = BackoffPolicy(initial: .seconds(1), maximum: .seconds(30)).delay(afterAttempts: engineFailures)
                    logger.error("pass failed, next try in \(delay): \(error)")
                    deadline = min(deadline, clock.now + .milliseconds(delay.milliseconds))
                }
                converged.withLock { $0 = snapshot }
                // After the pass, so the volumes a certificate is written into exist.
                duties.fire(.engine)
            }
            report(snapshot)
            let reasons = await wakeUps.wait(until: deadline)
            if reasons.contains(.reload) || reasons.contains(.store) || reasons.contains(.timer) { reload = true }
        }
    }

    /// The desired state read afresh, or `previous` when it cannot be: an invalid edit must never
    /// tear down what runs, and a store that cannot be read leaves the last good state.
    private func reloaded(keeping previous: DesiredStateSource.Snapshot?) async -> DesiredStateSource.Snapshot? {
        do {
            let loaded = try await source.load()
            if previous == nil || loaded.files != previous?.files || loaded.state != previous?.state {
                logger.info("desired state loaded: \(loaded.state.resources.count) resources from \(loaded.files.count) manifest files and the store")
            }
            if let staleness = loaded.staleness, previous?.staleness == nil {
                logger.warning("cannot read the store (\(staleness.reason)); converging the manifests and the store's resources last read")
            } else if loaded.staleness == nil, let staleness = previous?.staleness {
                logger.info("the store is read again; the desired state was stale since \(staleness.since.formatted(.iso8601))")
            }
            await jobs?.updateDesired(loaded.state)
            return loaded
        } catch {
            logger.error("desired state not reloaded, keeping the last good one: \(error)")
            return previous
        }
    }

    /// Tells the process's API and metrics how this controller stands.
    private func report(_ snapshot: DesiredStateSource.Snapshot?) {
        let staleness = snapshot?.staleness
        ControllerMetrics.desiredStateStale(since: staleness?.since, now: Date())
        guard let health else { return }
        let report = ControllerReport(
            desiredStateStaleSince: staleness?.since, desiredStateStaleReason: staleness?.reason,
            pendingStoreWrites: reconciler.storeWrites.pendingCount, droppedStoreWrites: reconciler.storeWrites.droppedCount, leading: isLeading
        )
        health.update(report)
    }

    // MARK: Leadership

    /// Asks for the leader lease at a third of its length until the controller stops, then
    /// releases it. Winning it wakes a pass (buckets) and the duties; losing it, or not reaching
    /// the store, ends the duties.
    private func holdLease() async {
        guard let store else {
            leading.store(true, ordering: .relaxed)
            return
        }
        let interval = Duration.milliseconds(configuration.leaderLease.milliseconds / 3)
        // The first answer is logged either way, so a standby says it stands by.
        var told = false
        while !isStopping, !Task.isCancelled {
            let leads = await tryLease(store, within: interval)
            if leads != isLeading || !told {
                told = true
                leading.store(leads, ordering: .relaxed)
                logger.info(
                    leads
                        ? "holding the leader lease: placement, cron, buckets and certificates run here"
                        : "another controller holds the leader lease; standing by for placement, cron, buckets and certificates, converging this engine only")
                if leads {
                    wakeUps.fire(.timer)
                    duties.fire(.timer)
                }
            }
            try? await Task.sleep(for: interval)
        }
        if isLeading {
            leading.store(false, ordering: .relaxed)
        }
        _ = try? await withStoreDeadline(interval) { try await store.releaseLeadership(name: "controller", holder: self.configuration.identity) }
    }

    /// Whether this controller holds (or just took) the lease; a store that fails or does not
    /// answer within `limit` means no.
    private func tryLease(_ store: any LeaderLease & StoreNotifications, within limit: Duration) async -> Bool {
        do {
            return try await withStoreDeadline(limit) {
                try await store.tryAcquireLeadership(name: "controller", holder: self.configuration.identity, lease: self.configuration.leaderLease, now: Date())
            }
        } catch {
            if isLeading { logger.error("cannot reach the store for the leader lease: \(error)") }
            return false
        }
    }

    /// The work that must happen once, done while leading: fire due schedules (they need the
    /// store, not the engine, so a failed pass does not stop them) and converge certificates,
    /// after each pass and when one is due. A node that does not lead writes the stored
    /// certificates its replicas consume instead, after each pass.
    private func performLeaderDuties() async {
        while !isStopping, !Task.isCancelled {
            var deadline = ContinuousClock.now + configuration.resyncInterval
            if let snapshot = converged.withLock({ $0 }) {
                if isLeading {
                    if let cronDue = await cron?.tick(snapshot.state) { deadline = min(deadline, Self.instant(of: cronDue)) }
                    if let renewal = await certificates?.converge(snapshot.state).next { deadline = min(deadline, Self.instant(of: renewal)) }
                } else {
                    await certificates?.distribute(snapshot.state, placement: placed.withLock { $0 })
                }
            }
            _ = await duties.wait(until: deadline)
        }
    }

    /// The clock instant of a wall-clock time (a schedule, a certificate's renewal), a little
    /// after it so the time has surely come.
    private static func instant(of date: Date) -> ContinuousClock.Instant {
        .now + .milliseconds(Int64(max(0, date.timeIntervalSinceNow) * 1000) + 10)
    }

    private func jittered(_ interval: Duration) -> Duration {
        let factor = 1 + Double.random(in: -configuration.resyncJitter...configuration.resyncJitter)
        return interval * factor
    }

    // MARK: Wake-up sources

    private func watchEngine() async {
        do {
            logger.debug("watching engine events")
            for try await item in runtime.events() {
                switch item {
                case .reconnected: logger.info("engine event stream reconnected; resyncing")
                case .event(let event):
                    // Health checks alone send exec events every interval; a kill is followed by its die.
                    guard Self.changesState(event, jobsMatter: waiting.load(ordering: .relaxed)) else { continue }
                    logger.debug("engine event: \(event.type) \(event.action) \(event.attributes["name"] ?? event.actorID)")
                    if event.type == "container" { touched.withLock { _ = $0.insert(event.actorID) } }
                }
                wakeUps.fire(.engine)
            }
        } catch {
            logger.error("engine events stopped: \(error); relying on the resync timer")
        }
    }

    /// Whether an engine event can change what a pass would plan. Job containers are the job
    /// runner's: a pass plans nothing for them, so their create, start, die and destroy (four per
    /// job) wake no pass, unless `jobsMatter` (a wait of the last pass may end when one goes).
    static func changesState(_ event: EngineEvent, jobsMatter: Bool) -> Bool {
        guard event.type == "container" else { return true }
        if !jobsMatter, event.attributes[LabelKey.kind] == ObjectKind.job.rawValue { return false }
        if event.action.hasPrefix("health_status") { return true }
        return ["create", "start", "die", "destroy", "stop", "pause", "unpause", "rename", "oom", "update"].contains(event.action)
    }

    private func watchStore() async {
        guard let store else { return }
        for await notification in store.notifications() {
            // `berth rollback` through the API: the git source acts on the pin at once.
            if notification == .sourcePinned { git?.trigger() }
            // Submissions and cancels are the job runner's (it listens on its own stream); the
            // desired state they are not.
            if case .jobSubmitted = notification { continue }
            if case .jobCancelRequested = notification { continue }
            wakeUps.fire(.store)
        }
    }

    private func watchManifests() async {
        var fingerprint = source.manifestFingerprint()
        while !Task.isCancelled {
            try? await Task.sleep(for: configuration.manifestPollInterval)
            let current = source.manifestFingerprint()
            if current != fingerprint {
                fingerprint = current
                logger.info("manifest files changed; reloading")
                wakeUps.fire(.reload)
            }
        }
    }

    private func watchHangUp() async {
        for await _ in await UnixSignalsSequence(trapping: .sighup) {
            logger.info("SIGHUP: reloading the desired state")
            wakeUps.fire(.reload)
        }
    }
}
