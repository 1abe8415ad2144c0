import BerthCore
import BerthDocker
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
    /// The leader lease on the store; renewed every pass and at a third of its length.
    public var leaderLease: TimeSpan
    /// This controller's name in job claims and the leader lease.
    public var identity: String

    public init(
        resyncInterval: Duration = .seconds(30),
        resyncJitter: Double = 0.1,
        manifestPollInterval: Duration = .seconds(1),
        leaderLease: TimeSpan = .seconds(15),
        identity: String = "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)"
    ) {
        self.resyncInterval = resyncInterval
        self.resyncJitter = resyncJitter
        self.manifestPollInterval = manifestPollInterval
        self.leaderLease = leaderLease
        self.identity = identity
    }
}

/// `berth serve`: the reconcile loop, forever, and the job runner beside it. Passes are woken by engine events, store
/// notifications, manifest changes, SIGHUP, backoff timers and a jittered resync timer; each pass
/// plans from full state. Runs as a service-lifecycle `Service`: on SIGTERM or SIGINT, actions in
/// flight finish, no new one starts, and the lease is released; the next start adopts what exists.
public final class Controller: Service {
    private let source: DesiredStateSource
    private let runtime: any ContainerRuntime
    private let store: (any LeaderLease & StoreNotifications)?
    private let reconciler: Reconciler
    private let jobs: JobRunner?
    private let cron: CronTrigger?
    private let certificates: CertificateManager?
    private let configuration: ControllerConfiguration
    private let logger: Logger
    private let wakeUps = WakeUpSignal()
    private let stopping = Atomic<Bool>(false)
    /// Containers engine events were about since the last pass: read afresh, not from the list.
    private let touched = Mutex<Set<String>>([])
    /// Called after every pass (tests and `--once`-style tooling watch progress through it).
    private let onPass: @Sendable (PassResult) -> Void

    public init(
        source: DesiredStateSource, runtime: any ContainerRuntime, store: (any LeaderLease & StoreNotifications)?, reconciler: Reconciler, jobs: JobRunner? = nil, cron: CronTrigger? = nil,
        certificates: CertificateManager? = nil,
        configuration: ControllerConfiguration = ControllerConfiguration(), logger: Logger = Logger(label: "berth.controller"),
        onPass: @escaping @Sendable (PassResult) -> Void = { _ in }
    ) {
        self.source = source
        self.runtime = runtime
        self.store = store
        self.reconciler = reconciler
        self.jobs = jobs
        self.cron = cron
        self.certificates = certificates
        self.configuration = configuration
        self.logger = logger
        self.onPass = onPass
    }

    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await self.watchEngine() }
                group.addTask { await self.watchStore() }
                group.addTask { await self.watchManifests() }
                group.addTask { await self.watchHangUp() }
                if let jobs { group.addTask { await jobs.run() } }
                defer { group.cancelAll() }
                try await loop()
            }
        } onGracefulShutdown: {
            self.logger.info("shutting down: actions in flight finish, no new one starts")
            self.stopping.store(true, ordering: .relaxed)
            self.wakeUps.fire(.shutdown)
        }
    }

    private var isStopping: Bool { stopping.load(ordering: .relaxed) }

    private func loop() async throws {
        var snapshot: DesiredStateSource.Snapshot?
        var reload = true
        var engineFailures = 0
        while !isStopping {
            let clock = ContinuousClock()
            var deadline = clock.now + jittered(configuration.resyncInterval)
            if reload {
                do {
                    let loaded = try await source.load()
                    if snapshot == nil || loaded.files != snapshot?.files || loaded.state != snapshot?.state {
                        logger.info("desired state loaded: \(loaded.state.resources.count) resources from \(loaded.files.count) manifest files and the store")
                    }
                    snapshot = loaded
                    reload = false
                    await jobs?.updateDesired(loaded.state)
                } catch {
                    // An invalid edit must never tear down what runs: keep converging the last good state.
                    logger.error("desired state not reloaded, keeping the last good one: \(error)")
                    reload = false
                }
            }
            if let snapshot, try await leads() {
                do {
                    let refreshing = touched.withLock { touched in
                        defer { touched = [] }
                        return touched
                    }
                    let passStart = clock.now
                    let result = try await reconciler.reconcile(snapshot, refreshing: refreshing, shouldStop: { self.isStopping })
                    ControllerMetrics.pass(duration: clock.now - passStart, succeeded: true)
                    let changes = result.report.changeCount
                    logger.log(level: changes > 0 ? .info : .debug, "pass done in \(clock.now - passStart): \(changes) change\(changes == 1 ? "" : "s")")
                    engineFailures = 0
                    onPass(result)
                    if let next = result.nextWakeUp { deadline = min(deadline, Self.instant(of: next, on: clock)) }
                } catch {
                    engineFailures += 1
                    ControllerMetrics.pass(duration: .zero, succeeded: false)
                    let delay = BackoffPolicy(initial: .seconds(1), maximum: .seconds(30)).delay(afterAttempts: engineFailures)
                    logger.error("pass failed, next try in \(delay): \(error)")
                    deadline = min(deadline, clock.now + .milliseconds(delay.milliseconds))
                }
                // Only the leader fires schedules, so a run is submitted once however many controllers
                // there are; schedules need the store, not the engine, so a failed pass does not stop them.
                if let cronDue = await cron?.tick(snapshot.state) { deadline = min(deadline, Self.instant(of: cronDue, on: clock)) }
                // After the pass, so the volumes a certificate is written into exist.
                if let renewal = await certificates?.converge(snapshot.state).next { deadline = min(deadline, Self.instant(of: renewal, on: clock)) }
            } else if store != nil {
                deadline = min(deadline, clock.now + .milliseconds(configuration.leaderLease.milliseconds / 3))
            }
            let reasons = await wakeUps.wait(until: deadline)
            if reasons.contains(.reload) || reasons.contains(.store) || reasons.contains(.timer) { reload = true }
        }
        try? await store?.releaseLeadership(name: "controller", holder: configuration.identity)
    }

    /// The clock instant of a wall-clock time, a little after it so the time has surely come.
    private static func instant(of date: Date, on clock: ContinuousClock) -> ContinuousClock.Instant {
        clock.now + .milliseconds(Int64(max(0, date.timeIntervalSinceNow) * 1000) + 10)
    }

    /// Whether this controller holds (or just took) the leader lease; without a store it always leads.
    private func leads() async throws -> Bool {
        guard let store else { return true }
        do {
            let leads = try await store.tryAcquireLeadership(name: "controller", holder: configuration.identity, lease: configuration.leaderLease, now: Date())
            if !leads { logger.info("another controller holds the leader lease; standing by") }
            return leads
        } catch {
            logger.error("cannot reach the store for the leader lease: \(error)")
            return false
        }
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
                    guard Self.changesState(event) else { continue }
                    logger.debug("engine event: \(event.type) \(event.action) \(event.attributes["name"] ?? event.actorID)")
                    if event.type == "container" { touched.withLock { _ = $0.insert(event.actorID) } }
                }
                wakeUps.fire(.engine)
            }
        } catch {
            logger.error("engine events stopped: \(error); relying on the resync timer")
        }
    }

    /// Whether an engine event can change what a pass would plan.
    static func changesState(_ event: EngineEvent) -> Bool {
        guard event.type == "container" else { return true }
        if event.action.hasPrefix("health_status") { return true }
        return ["create", "start", "die", "destroy", "stop", "pause", "unpause", "rename", "oom", "update"].contains(event.action)
    }

    private func watchStore() async {
        guard let store else { return }
        for await _ in store.notifications() {
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
