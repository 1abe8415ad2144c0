import BerthCore
import BerthDocker
import BerthObjectStore
import BerthStore
import Foundation
import Logging

/// Tunables of a pass.
public struct ReconcilerOptions: Sendable {
    public var planner: PlannerOptions
    /// Backoff for a resource whose action failed (a missing image, an engine refusal).
    public var failureBackoff: BackoffPolicy
    /// Actions run at once.
    public var concurrency: Int
    /// Status and event writes kept while the store does not take them.
    public var storeWriteCapacity: Int
    /// How long a pass waits for a read of the store (the statuses recorded, once).
    public var storeTimeout: Duration
    /// How containers' `env` is resolved (the age identity, for encrypted values).
    public var environment: EnvironmentResolver

    public init(
        planner: PlannerOptions = PlannerOptions(),
        failureBackoff: BackoffPolicy = BackoffPolicy(initial: .seconds(5), maximum: .minutes(5), resetAfter: .minutes(10)),
        concurrency: Int = 8,
        storeWriteCapacity: Int = 1000,
        storeTimeout: Duration = .seconds(5),
        environment: EnvironmentResolver = EnvironmentResolver()
    ) {
        self.planner = planner
        self.failureBackoff = failureBackoff
        self.concurrency = concurrency
        self.storeWriteCapacity = storeWriteCapacity
        self.storeTimeout = storeTimeout
        self.environment = environment
    }
}

/// What one pass saw and did.
public struct PassResult: Sendable {
    /// The plan carried out (actions of resources in backoff withheld, with a wait each).
    public var plan: Plan
    public var report: ExecutionReport
    /// The status of every declared service, volume and bucket after the pass (on a node, of
    /// those it runs something of; buckets only while leading).
    public var statuses: [ResourceStatus]
    /// The declared services and buckets this pass has no status of: their replicas run on
    /// other nodes, or (buckets) another controller leads. Others judge whether they are Ready.
    public var judgedElsewhere: Set<ResourceID> = []
    /// When the next pass is due by time alone (a backoff ends), on the wall clock as seen at `time`.
    public var nextWakeUp: Date?
    /// When the pass ended, on both clocks: `time.instant(of: nextWakeUp)` is the monotonic instant to wait for.
    public var time: PassTime

    /// Nothing left to do: every planned action succeeded and every service, volume and bucket is ready.
    public var converged: Bool {
        report.results.count == plan.actions.count && report.results.allSatisfy { $0.outcome.succeeded }
            && statuses.allSatisfy { $0.phase == .ready }
    }
}

/// One converge pass, the same for `apply` and `serve`: observe, plan (pure), execute (no
/// decisions), record status and events. Keeps between passes what the planner needs to remember:
/// the restarts it made (crash-loop backoff) and the resources whose actions failed (backoff),
/// both on the monotonic clock (``PassTime``). Status and event writes go through
/// ``storeWrites``, so a pass never waits for the store: `serve` flushes it beside the loop,
/// `apply` after its pass.
public actor Reconciler {
    private let runtime: any ContainerRuntime
    private let objectStorage: (any ObjectStorage)?
    private let store: (any ResourceStore & EventLog)?
    /// Where adopted containers are recorded; `nil`: none are.
    private let adoptionStore: (any AdoptionStore)?
    /// The adoptions last read, for a pass that cannot read them.
    private var adoptions: [Adoption] = []
    private let options: ReconcilerOptions
    private let logger: Logger
    /// The writes of passes on their way to the store.
    public nonisolated let storeWrites: StoreWriteBuffer
    /// Restarts Berth made of each container (by name) in a row, and the last one's instant.
    private var restarts: [String: (count: Int, last: ContinuousClock.Instant)] = [:]
    private var failures: [ResourceID: FailureRecord] = [:]
    private var statuses: [ResourceID: ResourceStatus]?
    /// The plan warnings, logged when they start, change and end.
    private var warnings: ConditionLog
    /// The buckets' endpoint that cannot be read, logged when that starts, changes and ends.
    private var unreadableBuckets: ConditionLog

    /// What a bucket's status says when no endpoint is configured.
    public static let noObjectStorage =
        "no S3 endpoint is configured, so buckets cannot be converged: set --s3-endpoint (or BERTH_S3_ENDPOINT) and the credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"

    /// `objectStorage` is `nil` when no endpoint is configured: declared buckets then fail with a
    /// status saying so, and everything else converges.
    public init(
        runtime: any ContainerRuntime, objectStorage: (any ObjectStorage)? = nil, store: (any ResourceStore & EventLog)?,
        adoptions: (any AdoptionStore)? = nil, options: ReconcilerOptions = ReconcilerOptions(), logger: Logger = Logger(label: "berth.controller")
    ) {
        self.runtime = runtime
        self.objectStorage = objectStorage
        self.store = store
        adoptionStore = adoptions
        self.options = options
        self.logger = logger
        warnings = ConditionLog(logger: logger, occasion: "pass")
        unreadableBuckets = ConditionLog(logger: logger, occasion: "pass")
        storeWrites = StoreWriteBuffer(capacity: options.storeWriteCapacity)
    }

    /// The plan a pass would carry out now, without doing anything. `observed`: the engine as the
    /// caller just observed it (nil: observed now); `placement`: the replicas this engine runs.
    public func plan(_ desired: DesiredState, observed: ObservedState? = nil, at time: PassTime = .now, placement: ReplicaPlacement = .all) async throws -> Plan {
        var observed = try await observe(given: observed, refreshing: [])
        observed.objectStorage = await observeObjectStorage(desired)
        var plan = makePlan(desired, observed, at: time, placement: placement)
        // No endpoint is unreadable only when there are buckets to read.
        if case .unavailable(let why) = observed.objectStorage, objectStorage != nil || !desired.buckets.isEmpty {
            plan.unreadable.append(why)
        }
        return plan
    }

    /// The buckets, or why they cannot be read; a broken endpoint fails only the buckets' statuses.
    private func observeObjectStorage(_ desired: DesiredState) async -> ObservedObjectStorage {
        guard let objectStorage else { return .unavailable(Self.noObjectStorage) }
        do throws(S3Error) {
            let buckets = try await objectStorage.observe(declared: Set(desired.buckets.map(\.spec.bucketName)))
            unreadableBuckets.ended("buckets")
            return .available(buckets)
        } catch {
            unreadableBuckets.holds("buckets", "cannot read the buckets: \(error)")
            return .unavailable("cannot read the buckets: \(error)")
        }
    }

    /// Observes, plans, executes and records once; containers named in `refreshing` (those an
    /// engine event was about) are read afresh rather than from the engine's list. `observed`: the
    /// engine as the caller just observed it (`apply` observes while it reads the store and the
    /// manifests); nil: observed now. `leading`: whether this controller holds the leader lease;
    /// without it, buckets (one endpoint for every controller) are left to the leader, and
    /// everything on this controller's engine converges all the same. `replicas`: which
    /// service replicas this engine runs (every one, or a node's); a node records the status of
    /// its own replicas (``ResourceStatus/node``).
    public func reconcile(
        _ snapshot: DesiredStateSource.Snapshot,
        observed: ObservedState? = nil,
        refreshing: Set<String> = [],
        at time: PassTime = .now,
        leading: Bool = true,
        replicas: NodeReplicas = NodeReplicas(placement: .all),
        progress: @escaping @Sendable (ExecutionProgress) -> Void = { _ in },
        shouldStop: @escaping @Sendable () -> Bool = { false }
    ) async throws -> PassResult {
        let desired = leading ? snapshot.state : snapshot.state.withoutBuckets()
        var before = try await observe(given: observed, refreshing: refreshing)
        before.objectStorage = if leading { await observeObjectStorage(desired) } else { .available([]) }
        forgetSettledRestarts(before, at: time.monotonic)
        let plan = makePlan(desired, before, at: time, placement: replicas.placement)
        logWarnings(plan.warnings)
        let node = replicas.placement.nodeName
        let executor = Executor(
            runtime: runtime, objectStorage: objectStorage, noObjectStorage: Self.noObjectStorage, concurrency: options.concurrency,
            environment: options.environment,
            fileDecryptionRefused: Set(desired.writtenByAPIWriters.filter { !desired.decryptsFiles(for: $0, project: $0.project) }),
            progress: { [logger] event in
                if case .finished(let result) = event { Self.log(result, node: node, logger) }
                progress(event)
            }, shouldStop: shouldStop)
        let clock = ContinuousClock()
        let started = clock.now
        let report = plan.actions.isEmpty ? ExecutionReport() : await executor.execute(plan)
        ControllerMetrics.actions(report)
        // The pass's own time plus how long the actions took: backoffs then start when the pass
        // ended, on the same clocks later passes plan with.
        let finished = time.advanced(by: clock.now - started)
        let restarted = recordRestarts(report, before: before, at: finished.monotonic)
        await forgetRemovedAdoptions(report, before: before)
        recordFailures(report, desired: desired, at: finished.monotonic)
        var after = before
        if !plan.actions.isEmpty {
            after = try await runtime.observe(refreshing: Set(plan.actions.compactMap(\.operation.containerName)), adoptions: adoptions)
            after.objectStorage = plan.actions.contains(where: \.operation.isBucketOperation) ? await observeObjectStorage(desired) : before.objectStorage
        }
        let statuses = StatusBuilder(
            desired: desired, observed: after, plan: plan, report: report, failures: failures,
            previous: await previousStatuses(node: node), generations: snapshot.generations, restarts: restarted,
            revision: snapshot.revision.map(StatusRevision.init), time: finished, replicas: replicas
        ).build()
        await record(statuses, report, desired: snapshot.state, observed: after, deleted: snapshot.deleted, node: node)
        let backoffEnds = plan.waits.compactMap(\.until).map(finished.instant(of:)) + failures.values.map(\.nextAttempt)
        let nextWakeUp = backoffEnds.filter { $0 > finished.monotonic }.min().map(finished.date(of:))
        var result = PassResult(plan: plan, report: report, statuses: statuses, nextWakeUp: nextWakeUp, time: finished)
        let judged = Set(statuses.map(\.id))
        result.judgedElsewhere = Set((snapshot.state.services.map(\.id) + snapshot.state.buckets.map(\.id)).filter { !judged.contains($0) })
        return result
    }

    /// The engine as the caller observed it, unless containers are adopted (the caller's
    /// observation does not know them); else observed now, adopted containers included.
    private func observe(given observed: ObservedState?, refreshing: Set<String>) async throws -> ObservedState {
        await readAdoptions()
        if let observed, adoptions.isEmpty { return observed }
        return try await runtime.observe(refreshing: refreshing, adoptions: adoptions)
    }

    /// Reads the adoptions afresh; a store that cannot be read leaves the last ones known.
    private func readAdoptions() async {
        guard let adoptionStore else { return }
        do throws(StoreError) {
            adoptions = try await adoptionStore.adoptions(project: nil)
        } catch {
            logger.warning("cannot read the adopted containers; planning with the ones last read: \(error)")
        }
    }

    /// Forgets the adoption of each adopted container a succeeded action removed (replaced,
    /// surplus or orphaned): its replica is Berth's own from now on.
    private func forgetRemovedAdoptions(_ report: ExecutionReport, before: ObservedState) async {
        guard let adoptionStore else { return }
        let adopted = Dictionary(before.containers.filter(\.adopted).map { ($0.name, $0.id) }, uniquingKeysWith: { first, _ in first })
        guard !adopted.isEmpty else { return }
        for result in report.results where result.outcome.succeeded {
            guard case .removeContainer(let name, _, _) = result.action.operation, let id = adopted[name] else { continue }
            do throws(StoreError) {
                try await adoptionStore.forgetAdoption(containerID: id)
                adoptions.removeAll { $0.containerID == id }
            } catch {
                logger.warning("cannot forget the adoption of removed container \(name); its record stays and matches no container any more: \(error)")
            }
        }
    }

    /// Logs a plan warning when it first appears (a changed one, a count in it say, is a new one),
    /// not on every pass while it lasts, and once when it is gone, with how many passes had it.
    private func logWarnings(_ warnings: [Warning]) {
        var messages: Set<String> = []
        for warning in warnings where messages.insert(warning.message).inserted {
            self.warnings.holds(warning.message, warning.message, metadata: warning.resource.map { ["berth.resource": "\($0)"] })
        }
        self.warnings.endAll(except: messages)
    }

    /// Plans at `time`: the planner sees the restart history on the wall clock of this pass,
    /// each restart as long ago as the monotonic clock says.
    private func makePlan(_ desired: DesiredState, _ observed: ObservedState, at time: PassTime, placement: ReplicaPlacement = .all) -> Plan {
        let history = PlanHistory(restarts: restarts.mapValues { PlanHistory.Restarts(count: $0.count, last: time.date(of: $0.last)) })
        let plan = Planner.plan(desired: desired, observed: observed, now: time.wall, history: history, options: options.planner, placement: placement)
        var held: [ResourceID: Wait] = [:]
        for (id, failure) in failures where failure.nextAttempt > time.monotonic {
            let remaining = TimeSpan.milliseconds(Int64(((failure.nextAttempt - time.monotonic).seconds * 1000).rounded(.up)))
            held[id] = Wait(resource: id, reason: "backing off after a failure (\(failure.message)); next attempt in \(remaining)", until: time.date(of: failure.nextAttempt))
        }
        return plan.withholding(held)
    }

    // MARK: Memory between passes

    /// Drops restart counts of containers that are gone or have run long enough to be trusted
    /// again: still running `resetAfter` after this controller last restarted them, on the
    /// monotonic clock (the engine's start time against the wall clock would forget the backoff
    /// of a crash loop as soon as the wall clock jumped ahead; scripts/chaos's `step` found it).
    private func forgetSettledRestarts(_ observed: ObservedState, at instant: ContinuousClock.Instant) {
        let byName = Dictionary(observed.containers.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let trustAfter = Duration.milliseconds(options.planner.restartBackoff.resetAfter.milliseconds)
        restarts = restarts.filter { name, restart in
            guard let container = byName[name] else { return false }
            guard container.state == .running else { return true }
            return instant - restart.last < trustAfter
        }
    }

    /// Counts the restarts this pass made: restarts, and starts of containers that had stopped.
    private func recordRestarts(_ report: ExecutionReport, before: ObservedState, at instant: ContinuousClock.Instant) -> [ResourceID: Int] {
        let stopped = Set(before.containers.filter { $0.state == .exited || $0.state == .dead }.map(\.name))
        var perResource: [ResourceID: Int] = [:]
        for result in report.results where result.outcome.succeeded {
            let name: String
            switch result.action.operation {
            case .restartContainer(let restarted, _): name = restarted
            case .startContainer(let started) where stopped.contains(started): name = started
            default: continue
            }
            restarts[name] = ((restarts[name]?.count ?? 0) + 1, instant)
            perResource[result.action.resource, default: 0] += 1
        }
        return perResource
    }

    /// Puts resources whose actions failed into backoff; clears those whose actions all succeeded.
    private func recordFailures(_ report: ExecutionReport, desired: DesiredState, at now: ContinuousClock.Instant) {
        let failed = report.failures
        for (id, message) in failed {
            let count = (failures[id]?.count ?? 0) + 1
            let delay = options.failureBackoff.delay(afterAttempts: count)
            failures[id] = FailureRecord(count: count, last: now, message: message, nextAttempt: now + .milliseconds(delay.milliseconds))
        }
        let attempted = Set(report.results.filter { $0.outcome.succeeded }.map(\.action.resource))
        for id in attempted where failed[id] == nil { failures[id] = nil }
        // Orphans are not declared: keep theirs until the backoff ends, then forget it.
        failures = failures.filter { desired.contains($0.key) || failed[$0.key] != nil || $0.value.nextAttempt > now }
    }

    // MARK: Recording

    /// The statuses recorded last: read from the store once (on a node, the rows it wrote), then
    /// kept as this reconciler writes them. When that first read fails (or takes longer than
    /// `storeTimeout`), statuses start afresh from this pass (restart counts from 0) rather than
    /// wait for the store.
    private func previousStatuses(node: String?) async -> [ResourceID: ResourceStatus] {
        if let statuses { return statuses }
        guard let store else { return [:] }
        do {
            let stored = try await withStoreDeadline(options.storeTimeout) {
                if let node { try await store.statuses(node: node) } else { try await store.statuses(project: nil) }
            }
            let loaded = Dictionary(stored.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
            statuses = loaded
            return loaded
        } catch {
            logger.warning("cannot read the recorded statuses, restart counts start from this pass's: \(error)")
            return [:]
        }
    }

    /// Hands the store, through ``storeWrites``, the statuses that changed, an event per action
    /// that did something, the removal of statuses of resources that are gone (on a node, also of
    /// services it no longer runs a replica of: its own row only), and the purge of deleted API
    /// resources whose objects are gone.
    private func record(_ new: [ResourceStatus], _ report: ExecutionReport, desired: DesiredState, observed: ObservedState, deleted: [StoredResource], node: String?) async {
        var known = await previousStatuses(node: node)
        for id in storeWrites.takeDroppedStatuses() { known[id] = nil }
        defer { statuses = known }
        guard store != nil else {
            for status in new { known[status.id] = status }
            return
        }
        var writes: [StoreWrite] = []
        for status in new where !status.sameContent(as: known[status.id]) {
            writes.append(.putStatus(status))
            if let event = Self.reachabilityEvent(status, before: known[status.id]) { writes.append(.appendEvent(event)) }
            known[status.id] = status
        }
        for result in report.results {
            guard let event = Self.event(for: result, node: node) else { continue }
            writes.append(.appendEvent(event))
        }
        let observedServices = Set(
            observed.containers.compactMap { container -> ResourceID? in
                guard let project = container.project, let name = container.resourceName else { return nil }
                return ResourceID(kind: .service, project: project, name: name)
            })
        let written = Set(new.map(\.id))
        for id in known.keys where (!desired.contains(id) && !observedServices.contains(id)) || (node != nil && id.kind == .service && !written.contains(id)) {
            // Buckets have one status, whichever node leads.
            writes.append(.deleteStatus(id, node: id.kind == .bucket ? nil : node))
            known[id] = nil
        }
        let deletableVolumes = Set(observed.volumes.filter { $0.reclaimPolicy == .delete }.map(\.name))
        let deletableNetworks = Set(observed.networks.filter { $0.reclaimPolicy == .delete }.map(\.name))
        for resource in deleted {
            let remains =
                switch resource.id.kind {
                case .service: observedServices.contains(resource.id)
                case .volume: deletableVolumes.contains(ObjectName.volume(project: resource.id.project, name: resource.id.name))
                case .network: deletableNetworks.contains(ObjectName.network(project: resource.id.project, name: resource.id.name))
                default: false
                }
            guard !remains else { continue }
            writes.append(.purgeResource(resource.id))
            logger.info("purging deleted resource \(resource.id): its objects are gone")
        }
        storeWrites.add(writes)
    }

    /// Writes what waits for the store now; throws the store's error (what is left waits).
    /// `apply` calls it after its pass.
    public nonisolated func flushStoreWrites() async throws(StoreError) {
        guard let store else { return }
        try await storeWrites.flush(to: store)
    }

    /// Writes what passes leave for the store as it comes, retrying while the store is away,
    /// until cancelled: `serve` runs it beside the loop.
    public nonisolated func runStoreWrites() async {
        guard let store else { return }
        await storeWrites.run(to: store, logger: logger)
    }

    /// An event when a service's replicas can be reached somewhere new (a replica started, an
    /// address changed): which container, on which networks at which addresses, which host ports.
    static func reachabilityEvent(_ status: ResourceStatus, before: ResourceStatus?) -> EventRecord? {
        let running = (status.replicas ?? []).filter { $0.state == "running" && !$0.reachability.isEmpty }
        let known = Set((before?.replicas ?? []).filter { $0.state == "running" }.map { "\($0.container) \($0.reachability)" })
        let new = running.filter { !known.contains("\($0.container) \($0.reachability)") }
        guard !new.isEmpty else { return nil }
        return EventRecord(
            resource: status.id, project: status.id.project, type: .normal, reason: "Reachable",
            message: new.map { "\($0.container): \($0.reachability)" }.joined(separator: "; "), time: Date()
        )
    }

    /// The event an executed action leaves in the store: what changed and why, or what failed;
    /// on a node, on which.
    static func event(for result: ExecutedAction, node: String? = nil) -> EventRecord? {
        let action = result.action
        let reason: String
        switch result.outcome {
        case .succeeded:
            switch action.operation {
            case .createVolume: reason = "VolumeCreated"
            case .removeVolume: reason = "VolumeRemoved"
            case .createNetwork: reason = "NetworkCreated"
            case .removeNetwork: reason = "NetworkRemoved"
            case .connectContainer: reason = "Connected"
            case .disconnectContainer: reason = "Disconnected"
            case .createContainer: reason = "Created"
            case .startContainer: reason = "Started"
            case .restartContainer: reason = "Restarted"
            case .renameContainer: reason = "Renamed"
            case .removeContainer: reason = "Removed"
            case .createBucket: reason = "BucketCreated"
            case .setBucketVersioning, .setBucketLifecycle, .setBucketTags: reason = "BucketConfigured"
            case .removeBucket: reason = "BucketDeleted"
            case .awaitReady: return nil
            }
        case .failed: reason = "Failed"
        case .notReady: reason = "NotReady"
        case .skipped: return nil
        }
        let failed = !result.outcome.succeeded
        return EventRecord(
            resource: action.resource, project: action.resource.project, type: failed ? .warning : .normal, reason: reason,
            message: "\(action.operation.summary)\(node.map { " on node \($0)" } ?? "") (\(action.cause))" + (failed ? ": \(result.outcome.summary)" : ""), time: Date()
        )
    }

    private static func log(_ result: ExecutedAction, node: String?, _ logger: Logger) {
        var metadata: Logger.Metadata = ["berth.resource": "\(result.action.resource)", "berth.cause": "\(result.action.cause)"]
        if let node { metadata["berth.node"] = "\(node)" }
        switch result.outcome {
        case .succeeded:
            if result.action.operation.isChange { logger.info("\(result.action.operation.summary)", metadata: metadata) }
        case .failed, .notReady:
            logger.warning("\(result.action.operation.summary): \(result.outcome.summary)", metadata: metadata)
        case .skipped:
            logger.debug("\(result.action.operation.summary): \(result.outcome.summary)", metadata: metadata)
        }
    }
}
