import Foundation

/// Tunables of the planner's rules.
public struct PlannerOptions: Sendable, Hashable, Codable {
    /// Crash-loop backoff for restarts of exited and unhealthy containers.
    public var restartBackoff: BackoffPolicy

    public init(restartBackoff: BackoffPolicy = BackoffPolicy()) {
        self.restartBackoff = restartBackoff
    }
}

/// The pure heart of Berth: desired state, observed state, the time and the restart history in,
/// a plan of actions with causes out. No I/O, no clock reads, no randomness.
public enum Planner {
    /// `placement`: which replicas this engine runs (every one, or a node's); the containers of
    /// replicas assigned to another node are removed before anything of the plan starts.
    public static func plan(
        desired: DesiredState,
        observed: ObservedState,
        now: Date,
        history: PlanHistory = PlanHistory(),
        options: PlannerOptions = PlannerOptions(),
        placement: ReplicaPlacement = .all
    ) -> Plan {
        var builder = PlanBuilder(desired: desired, observed: observed, now: now, history: history, options: options, placement: placement)
        builder.planDisplacedReplicas()
        builder.planNetworks()
        builder.planVolumes()
        for (id, spec) in serviceOrder(desired.services) {
            builder.planService(id, spec)
        }
        builder.planOrphans()
        builder.planOrphanNetworks()
        builder.planBuckets()
        return builder.plan
    }

    /// Services with every dependency before its dependents; ties in identity order.
    static func serviceOrder(_ services: [(id: ResourceID, spec: ServiceSpec)]) -> [(id: ResourceID, spec: ServiceSpec)] {
        // Identity order already puts every dependency first when there are none.
        guard services.contains(where: { !$0.spec.dependsOn.isEmpty }) else { return services }
        var specs: [ResourceID: ServiceSpec] = [:]
        specs.reserveCapacity(services.count)
        for (id, spec) in services { specs[id] = spec }
        var ordered: [(id: ResourceID, spec: ServiceSpec)] = []
        var placed: Set<ResourceID> = []
        var visiting: Set<ResourceID> = []
        func place(_ id: ResourceID) {
            guard !placed.contains(id), !visiting.contains(id), let spec = specs[id] else { return }
            visiting.insert(id)
            for dependency in spec.dependsOn.map(\.name).sorted() {
                place(ResourceID(kind: .service, project: id.project, name: dependency))
            }
            visiting.remove(id)
            placed.insert(id)
            ordered.append((id, spec))
        }
        for (id, _) in services { place(id) }
        return ordered
    }
}

/// Accumulates one plan; every rule of the planner lives in one of its `plan…` methods (the
/// bucket rules in BucketPlanning.swift, the network rules in NetworkPlanning.swift).
struct PlanBuilder {
    let desired: DesiredState
    let now: Date
    let history: PlanHistory
    let options: PlannerOptions
    let placement: ReplicaPlacement
    let foreignContainers: Set<String>
    let foreignVolumes: Set<String>
    let serviceContainers: [ResourceID: [ObservedContainer]]
    let volumesByName: [String: ObservedVolume]
    let networksByName: [String: ObservedNetwork]
    let foreignNetworks: Set<String>
    let allContainers: [ObservedContainer]
    let objectStorage: ObservedObjectStorage

    var plan = Plan()
    /// Volume name → the action creating it, for containers that mount it.
    var volumeCreations: [String: Int] = [:]
    /// Containers this plan (re)starts, per service: final name and the action that starts it.
    var startedContainers: [ResourceID: [(name: String, action: Int)]] = [:]
    /// Await actions already added per service and condition.
    var readyAwaits: [ResourceID: [Dependency.Condition: [Int]]] = [:]
    /// Containers this plan removes, by name, with the removing action.
    var removedContainers: [String: Int] = [:]
    /// Network name → the action creating it, for containers that join it.
    var networkCreations: [String: Int] = [:]
    /// Networks containers cannot join in this plan: external ones that do not exist, names taken.
    var missingNetworks: Set<String> = []
    /// Containers this plan detaches from a network it recreates.
    var detachedContainers: Set<String> = []
    /// The last re-attaching action: containers are attached again one after another, in
    /// dependency order.
    var lastReattach: Int?
    /// The removals of containers whose replica is assigned to another node: every create and
    /// start of the plan comes after them (a replica moving here may need the host port one
    /// moving away holds).
    var displacements: [Int] = []
    /// The containers those removals remove, which the service rules no longer see.
    var displacedContainers: Set<String> = []

    init(desired: DesiredState, observed: ObservedState, now: Date, history: PlanHistory, options: PlannerOptions, placement: ReplicaPlacement) {
        self.desired = desired
        self.now = now
        self.history = history
        self.options = options
        self.placement = placement
        foreignContainers = observed.foreignContainerNames
        foreignVolumes = observed.foreignVolumeNames
        allContainers = observed.containers
        objectStorage = observed.objectStorage
        var byService: [ResourceID: [ObservedContainer]] = [:]
        byService.reserveCapacity(observed.containers.count)
        for container in allContainers where container.objectKind == .service {
            guard let project = container.project, let name = container.resourceName else { continue }
            byService[ResourceID(kind: .service, project: project, name: name), default: []].append(container)
        }
        // Names order each service's containers, so plans do not depend on the observer's order.
        for key in byService.keys where byService[key]!.count > 1 {
            byService[key]!.sort { $0.name < $1.name }
        }
        serviceContainers = byService
        volumesByName = Dictionary(observed.volumes.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        networksByName = Dictionary(observed.networks.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        foreignNetworks = observed.foreignNetworkNames
    }

    @discardableResult
    mutating func add(_ operation: Operation, _ resource: ResourceID, _ cause: String, after: [Int] = []) -> Int {
        let id = plan.actions.count
        var after = after
        switch operation {
        case .createContainer, .startContainer, .restartContainer: after += displacements.filter { !after.contains($0) }
        default: break
        }
        plan.actions.append(Action(id: id, resource: resource, operation: operation, cause: cause, after: after.sorted()))
        return id
    }

    // MARK: Volumes

    mutating func planVolumes() {
        for (id, spec) in desired.volumes {
            let name = ObjectName.volume(project: id.project, name: id.name)
            let hash = desired.specHashes[id] ?? SpecHash.of(spec)
            if spec.external {
                let engineName = spec.engineName(project: id.project, name: id.name)
                if volumesByName[engineName] == nil, !foreignVolumes.contains(engineName) {
                    plan.warnings.append(Warning(resource: id, message: "external volume \(engineName) does not exist; Berth does not create it, so create it or drop external"))
                }
            } else if let existing = volumesByName[name] {
                if existing.specHash != hash {
                    plan.warnings.append(
                        Warning(resource: id, message: "volume \(name) differs from its spec (driver, options or labels); Docker cannot change a volume in place, so remove it by hand to recreate it"))
                }
            } else if foreignVolumes.contains(name) {
                plan.warnings.append(Warning(resource: id, message: "volume \(name) exists without Berth labels; it is used as it is and never removed"))
            } else {
                var labels = Self.labels(id, kind: .volume, hash: hash)
                labels[LabelKey.reclaimPolicy] = spec.reclaimPolicy.rawValue
                labels.merge(spec.labels) { own, _ in own }
                volumeCreations[name] = add(.createVolume(target: VolumeTarget(name: name, spec: spec, labels: labels)), id, "missing")
            }
        }
    }

    // MARK: Services

    /// Removes the containers here of replicas the leader assigned to another node, first.
    mutating func planDisplacedReplicas() {
        for (id, spec) in desired.services {
            for container in serviceContainers[id] ?? [] {
                guard let replica = container.replica, replica < spec.replicas, let assignment = placement.elsewhere(id, replica: replica) else { continue }
                let cause = "replica \(replica) is assigned to node \(assignment.node) (generation \(assignment.generation))"
                displacements.append(remove(container, id, spec, cause: cause, after: []))
                displacedContainers.insert(container.name)
            }
        }
    }

    mutating func planService(_ id: ResourceID, _ spec: ServiceSpec) {
        let hash = desired.specHashes[id] ?? SpecHash.of(spec)
        let containers = (serviceContainers[id] ?? []).filter { !displacedContainers.contains($0.name) }
        let network = networkGate(id, spec)
        let gate = network.flatMap { network in dependencyGate(id, spec).map { $0 + network.after } }
        let endpoints = network?.endpoints ?? []
        var previousReplica: [Int] = []
        for replica in 0..<spec.replicas {
            let name = ObjectName.serviceContainer(project: id.project, service: id.name, replica: replica)
            var current: ObservedContainer?
            var others: [ObservedContainer] = []
            for container in containers where container.replica == replica {
                if container.name == name { current = container } else { others.append(container) }
            }
            // An adopted container is the replica's current instance, unless Berth's own is there.
            if current == nil, let adopted = others.firstIndex(where: \.adopted) { current = others.remove(at: adopted) }
            guard let current else {
                // A node creates only the replicas assigned to it.
                guard placement.creates(id, replica: replica) else { continue }
                if foreignContainers.contains(name) {
                    plan.warnings.append(
                        Warning(
                            resource: id,
                            message:
                                "container name \(name) is taken by a container without Berth labels; Berth does not touch it, so replica \(replica) cannot be created until it is renamed or removed"))
                } else if let gate {
                    let ready = createAndStart(id, spec, replica, hash, endpoints, cause: others.isEmpty ? "missing" : "replacing \(others.map(\.name).joined(separator: ", "))", after: gate)
                    removeAll(others, id, spec, cause: "replaced by \(name)", after: [ready])
                }
                continue
            }
            if let drift = drift(current, id, spec, hash) {
                guard let gate else { continue }
                previousReplica = replace(current, others: others, id, spec, replica, hash, endpoints, cause: drift, after: gate + previousReplica)
            } else {
                if network != nil { reattach(current, id, endpoints) }
                planRunning(current, id, spec, gate: gate)
                if !others.isEmpty {
                    let ready = awaitReady(name, id, condition: spec.healthcheck == nil ? .started : .healthy, after: startAction(of: current.name, in: id))
                    removeAll(others, id, spec, cause: "replaced by \(current.name)", after: [ready])
                }
            }
        }
        let surplus = containers.filter { container in
            guard let replica = container.replica else { return true }
            return replica < 0 || replica >= spec.replicas
        }
        var previousRemoval: [Int] = []
        for container in surplus.sorted(by: { ($0.replica ?? Int.max, $0.name) > ($1.replica ?? Int.max, $1.name) }) {
            let cause = "surplus replica (\(spec.replicas) desired)"
            previousRemoval = [remove(container, id, spec, cause: cause, after: previousRemoval)]
        }
    }

    /// Creates and starts one replica; returns the action after which it is ready.
    private mutating func createAndStart(_ id: ResourceID, _ spec: ServiceSpec, _ replica: Int, _ hash: String, _ endpoints: [NetworkEndpoint], cause: String, after: [Int]) -> Int {
        let name = ObjectName.serviceContainer(project: id.project, service: id.name, replica: replica)
        var labels = Self.labels(id, kind: .service, hash: hash)
        labels[LabelKey.replica] = String(replica)
        if let assignment = placement.here(id, replica: replica) { labels[LabelKey.assignmentGeneration] = String(assignment.generation) }
        labels[LabelKey.spec] = desired.canonicalSpecs[id] ?? SpecHash.canonicalText(spec)
        labels.merge(spec.container.labels) { own, _ in own }
        var volumeNames: [Int: String] = [:]
        var volumeActions: [Int] = []
        for (index, mount) in spec.container.volumes.enumerated() {
            guard case .volume(let volume) = mount.source else { continue }
            let volumeName = desired.volumeEngineName(project: id.project, name: volume)
            volumeNames[index] = volumeName
            if let creation = volumeCreations[volumeName] { volumeActions.append(creation) }
        }
        let target = ContainerTarget(name: name, service: id, replica: replica, spec: spec, labels: labels, volumeNames: volumeNames, endpoints: endpoints)
        let create = add(.createContainer(target: target), id, cause, after: after + volumeActions)
        let start = add(.startContainer(name: name), id, cause, after: [create])
        startedContainers[id, default: []].append((name, start))
        return start
    }

    /// Replaces a drifted replica, start-first (rename, create, start, wait, remove) or stop-first.
    /// An adopted container keeps its own name until it is removed: nothing needs renaming.
    private mutating func replace(
        _ current: ObservedContainer, others: [ObservedContainer], _ id: ResourceID, _ spec: ServiceSpec, _ replica: Int, _ hash: String, _ endpoints: [NetworkEndpoint],
        cause: String, after: [Int]
    ) -> [Int] {
        let name = ObjectName.serviceContainer(project: id.project, service: id.name, replica: replica)
        let stale = removeAll(others, id, spec, cause: "leftover of an interrupted update", after: after)
        let condition: Dependency.Condition = spec.healthcheck == nil ? .started : .healthy
        switch spec.effectiveUpdateOrder {
        case .startFirst:
            var outgoing = current.name
            var before = after + stale
            if !current.adopted {
                outgoing = ObjectName.outgoingContainer(project: id.project, service: id.name, replica: replica)
                before = [add(.renameContainer(from: current.name, to: outgoing), id, cause, after: before)]
            }
            let start = createAndStart(id, spec, replica, hash, endpoints, cause: cause, after: before)
            let ready = awaitReady(name, id, condition: condition, after: start)
            add(
                .removeContainer(name: outgoing, signal: current.spec?.container.stopSignal ?? spec.container.stopSignal, grace: spec.container.stopGracePeriod), id, "replaced by \(name)",
                after: [ready])
            return [ready]
        case .stopFirst:
            let removal = remove(current, id, spec, cause: cause, after: after + stale)
            let start = createAndStart(id, spec, replica, hash, endpoints, cause: cause, after: [removal])
            return [awaitReady(name, id, condition: condition, after: start)]
        }
    }

    /// Restart rules for a replica whose spec matches: start what stopped, restart what is unhealthy.
    private mutating func planRunning(_ container: ObservedContainer, _ id: ResourceID, _ spec: ServiceSpec, gate: [Int]?) {
        switch container.state {
        case .running:
            if container.health == .unhealthy, spec.restart != .never {
                let checks = container.failingStreak
                let cause = "unhealthy for \(checks) check\(checks == 1 ? "" : "s")"
                restartWithBackoff(container, id, .restartContainer(name: container.name, grace: spec.container.stopGracePeriod), cause: cause, after: [])
            }
        case .created:
            guard let gate else { return }
            let start = add(.startContainer(name: container.name), id, "created but not started", after: gate)
            startedContainers[id, default: []].append((container.name, start))
        case .exited, .dead:
            let failed = container.oomKilled || (container.exitCode ?? 0) != 0
            let shouldStart =
                switch spec.restart {
                case .always: true
                case .onFailure: failed
                case .never: false
                }
            guard shouldStart, let gate else { return }
            let cause = container.oomKilled ? "killed: out of memory" : "exited with code \(container.exitCode ?? 0)"
            restartWithBackoff(container, id, .startContainer(name: container.name), cause: cause, after: gate)
        case .paused:
            plan.warnings.append(Warning(resource: id, message: "container \(container.name) was paused outside Berth; unpause or remove it"))
        case .restarting, .removing:
            plan.waits.append(Wait(resource: id, reason: "container \(container.name) is \(container.state.rawValue)"))
        }
    }

    /// Adds `operation` unless the container is in crash-loop backoff, in which case a wait says until when.
    private mutating func restartWithBackoff(_ container: ObservedContainer, _ id: ResourceID, _ operation: Operation, cause: String, after: [Int]) {
        let policy = options.restartBackoff
        var count = history.restarts[container.name]?.count ?? 0
        // A container that ran long enough before it stopped is trusted again: both times are the
        // engine's. One still running is the history's to forget (on the monotonic clock; the
        // engine's start time against this pass's wall clock would forget after a step ahead).
        if container.state != .running, let started = container.startedAt, let finished = container.finishedAt,
            finished.timeIntervalSince(started) >= policy.resetAfter.seconds
        {
            count = 0
        }
        if count > 0, let last = history.restarts[container.name]?.last {
            let next = last.addingTimeInterval(policy.delay(afterAttempts: count).seconds)
            if next > now {
                let remaining = TimeSpan.milliseconds(Int64((next.timeIntervalSince(now) * 1000).rounded(.up)))
                plan.waits.append(Wait(resource: id, reason: "CrashLoopBackOff: \(container.name) \(cause); \(count) restart\(count == 1 ? "" : "s") so far, next in \(remaining)", until: next))
                return
            }
        }
        let action = add(operation, id, count > 0 ? "\(cause) (restart \(count + 1))" : cause, after: after)
        startedContainers[id, default: []].append((container.name, action))
    }

    /// `nil` when a dependency is not ready and this plan does not start it (a wait is recorded);
    /// otherwise the actions the service's starts must follow.
    private mutating func dependencyGate(_ id: ResourceID, _ spec: ServiceSpec) -> [Int]? {
        var after: [Int] = []
        for dependency in spec.dependsOn {
            let dependencyID = ResourceID(kind: .service, project: id.project, name: dependency.name)
            if let started = startedContainers[dependencyID], !started.isEmpty {
                after += awaits(dependencyID, dependency.condition)
                continue
            }
            if let problem = unreadiness(dependencyID, dependency.condition) {
                plan.waits.append(Wait(resource: id, reason: "waiting for service \(dependency.name) to be \(dependency.condition.rawValue): \(problem)"))
                return nil
            }
        }
        return after
    }

    /// Why a service is not yet as ready as `condition` asks, from observation alone; `nil` when it is.
    private func unreadiness(_ id: ResourceID, _ condition: Dependency.Condition) -> String? {
        guard case .service(let spec)? = desired.resource(id)?.spec else { return "not declared" }
        let containers = serviceContainers[id] ?? []
        // A dependency scaled to 0 is switched off on purpose and blocks nothing.
        for replica in 0..<spec.replicas {
            // A replica another node runs is not observed here: its node converges it.
            if placement.elsewhere(id, replica: replica) != nil { continue }
            let name = ObjectName.serviceContainer(project: id.project, service: id.name, replica: replica)
            guard let container = containers.first(where: { $0.name == name }) ?? containers.first(where: { $0.adopted && $0.replica == replica }) else {
                return placement.creates(id, replica: replica) ? "\(name) does not exist" : "replica \(replica) is not placed on a node yet"
            }
            // A dependency that ran to completion by design (exit 0, not restarted) counts as started.
            let completed = container.state == .exited && container.exitCode == 0 && spec.restart != .always
            if condition == .started, completed { continue }
            guard container.state == .running else { return "\(name) is \(container.state.rawValue)" }
            if condition == .healthy, container.health != .healthy {
                return "\(name) is \(container.health?.rawValue ?? "without health check")"
            }
        }
        return nil
    }

    /// Await actions for every container of `id` this plan starts (added once per condition).
    private mutating func awaits(_ id: ResourceID, _ condition: Dependency.Condition) -> [Int] {
        if let existing = readyAwaits[id]?[condition] { return existing }
        let ids = (startedContainers[id] ?? []).map { started in
            add(.awaitReady(name: started.name, condition: condition), id, "dependents wait for it", after: [started.action])
        }
        readyAwaits[id, default: [:]][condition] = ids
        return ids
    }

    private mutating func awaitReady(_ name: String, _ id: ResourceID, condition: Dependency.Condition, after: Int?) -> Int {
        add(.awaitReady(name: name, condition: condition), id, "before removing the replaced container", after: after.map { [$0] } ?? [])
    }

    private func startAction(of name: String, in id: ResourceID) -> Int? {
        startedContainers[id]?.last(where: { $0.name == name })?.action
    }

    /// Why the replica must be replaced, or `nil` when it matches `spec`: a Berth container by its
    /// spec hash, an adopted one field by field against the spec read back from the engine.
    private func drift(_ container: ObservedContainer, _ id: ResourceID, _ spec: ServiceSpec, _ hash: String) -> String? {
        guard container.adopted else { return container.specHash == hash ? generationDrift(container, id) : driftCause(container, spec, hash) }
        guard let observed = container.spec else { return "adopted container \(container.name) could not be read back" }
        let fields = desired.adoptionDifferences(observed: observed, desired: spec, service: id)
        return fields.isEmpty ? nil : "adopted container differs: \(fields.joined(separator: ", "))"
    }

    /// A container made for an earlier assignment of its replica to this node, left while the
    /// replica ran elsewhere (this node could not remove it then) and found when the replica is
    /// placed here again. One made without placement (no label) is not drift.
    private func generationDrift(_ container: ObservedContainer, _ id: ResourceID) -> String? {
        guard let replica = container.replica, let assignment = placement.here(id, replica: replica), let generation = container.assignmentGeneration,
            generation < assignment.generation
        else { return nil }
        return "placed on node \(assignment.node) again (assignment generation \(assignment.generation), the container's \(generation))"
    }

    private func driftCause(_ container: ObservedContainer, _ spec: ServiceSpec, _ hash: String) -> String {
        if let old = container.spec {
            let fields = SpecHash.changedFields(from: old, to: spec)
            if !fields.isEmpty { return "spec changed: \(fields.joined(separator: ", "))" }
        }
        return "spec changed (hash \(container.specHash ?? "none") → \(hash))"
    }

    // MARK: Removal

    @discardableResult
    private mutating func removeAll(_ containers: [ObservedContainer], _ id: ResourceID, _ spec: ServiceSpec?, cause: String, after: [Int]) -> [Int] {
        containers.map { remove($0, id, spec, cause: cause, after: after) }
    }

    private mutating func remove(_ container: ObservedContainer, _ id: ResourceID, _ spec: ServiceSpec?, cause: String, after: [Int]) -> Int {
        let stopSpec = container.spec ?? spec
        let action = add(
            .removeContainer(name: container.name, signal: stopSpec?.container.stopSignal ?? .sigterm, grace: stopSpec?.container.stopGracePeriod ?? .seconds(10)),
            id, cause, after: after
        )
        removedContainers[container.name] = action
        return action
    }

    /// Removes Berth's containers and Delete-policy volumes that are no longer declared, within the
    /// projects the desired state names; other projects are only reported.
    mutating func planOrphans() {
        let scope = desired.referencedProjects
        var unscoped: [String: Int] = [:]
        let candidates = allContainers.filter { container in
            guard container.objectKind == .service, let project = container.project, let name = container.resourceName else { return false }
            return !desired.contains(ResourceID(kind: .service, project: project, name: name))
        }
        for container in candidates.sorted(by: { $0.name < $1.name }) {
            guard let project = container.project, let name = container.resourceName else { continue }
            let id = ResourceID(kind: .service, project: project, name: name)
            guard scope.contains(project) else {
                unscoped[project, default: 0] += 1
                continue
            }
            _ = remove(container, id, nil, cause: "orphaned: no longer declared", after: [])
        }
        for (project, count) in unscoped.sorted(by: { $0.key < $1.key }) {
            plan.warnings.append(
                Warning(resource: nil, message: "project \(project) has \(count) Berth container\(count == 1 ? "" : "s") but no declared resources; `berth destroy --project \(project)` removes them"))
        }
        for volume in volumesByName.values.sorted(by: { $0.name < $1.name }) {
            guard let project = volume.project, let name = volume.resourceName, scope.contains(project) else { continue }
            let id = ResourceID(kind: .volume, project: project, name: name)
            guard !desired.contains(id), volume.reclaimPolicy == .delete else { continue }
            let users = allContainers.filter { $0.volumeNames.contains(volume.name) }
            let remaining = users.filter { removedContainers[$0.name] == nil }
            if remaining.isEmpty {
                add(.removeVolume(name: volume.name), id, "orphaned, reclaim policy Delete", after: users.compactMap { removedContainers[$0.name] })
            } else {
                plan.waits.append(Wait(resource: id, reason: "orphaned volume \(volume.name) is still used by \(remaining.map(\.name).joined(separator: ", "))"))
            }
        }
    }

    static func labels(_ id: ResourceID, kind: ObjectKind, hash: String) -> [String: String] {
        [
            LabelKey.managed: "true",
            LabelKey.project: id.project,
            LabelKey.kind: kind.rawValue,
            LabelKey.name: id.name,
            LabelKey.specHash: hash,
        ]
    }
}
