import Foundation
import Testing
@testable import BerthCore

/// Builders for planner tests: resources, desired states and observed containers.
enum Fixture {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func service(
        _ name: String,
        project: String = "shop",
        replicas: Int = 1,
        image: String = "example/app:1",
        env: [String: EnvValue] = [:],
        volumes: [String] = [],
        ports: [String] = [],
        network: NetworkMode? = nil,
        healthcheck: Bool = false,
        restart: RestartPolicy = .always,
        dependsOn: [Dependency] = []
    ) throws -> Resource {
        let container = ContainerSpec(
            image: try ImageReference(parsing: image),
            env: env,
            volumes: try volumes.map { try Mount(parsing: $0) },
            // Published ports need a network with port mapping: the project's default one in these tests.
            network: network ?? (ports.isEmpty ? NetworkMode.none : .project)
        )
        let spec = ServiceSpec(
            container: container,
            replicas: replicas,
            ports: try ports.map { try PortMapping(parsing: $0) },
            healthcheck: healthcheck ? HealthcheckSpec(command: ["true"], interval: .seconds(5)) : nil,
            restart: restart,
            dependsOn: dependsOn
        )
        return Resource(metadata: ResourceMetadata(name: name, project: project), spec: .service(spec))
    }

    static func volume(_ name: String, project: String = "shop", reclaim: ReclaimPolicy = .retain) -> Resource {
        Resource(metadata: ResourceMetadata(name: name, project: project), spec: .volume(VolumeSpec(reclaimPolicy: reclaim)))
    }

    static func bucket(_ name: String, project: String = "shop", _ spec: BucketSpec) -> Resource {
        Resource(metadata: ResourceMetadata(name: name, project: project), spec: .bucket(spec))
    }

    static func project(_ name: String) -> Resource {
        Resource(metadata: ResourceMetadata(name: name), spec: .project(ProjectSpec()))
    }

    static func desired(_ resources: Resource...) throws -> DesiredState {
        try DesiredState.validate([project("shop")] + resources)
    }

    /// A container exactly as the executor would have created it for `resource`'s replica.
    static func container(
        for resource: Resource,
        in state: DesiredState,
        replica: Int = 0,
        state containerState: ObservedContainer.State = .running,
        health: ObservedContainer.Health? = nil,
        name: String? = nil,
        hash: String? = nil,
        exitCode: Int? = nil,
        startedAt: Date? = nil
    ) -> ObservedContainer {
        guard case .service(let spec) = state.resource(resource.id)?.spec else {
            preconditionFailure("\(resource.id) is not a declared service")
        }
        let id = resource.id
        return ObservedContainer(
            id: "id-\(id.name)-\(replica)",
            name: name ?? ObjectName.serviceContainer(project: id.project, service: id.name, replica: replica),
            labels: [
                LabelKey.managed: "true", LabelKey.project: id.project, LabelKey.kind: "service",
                LabelKey.name: id.name, LabelKey.replica: String(replica),
                LabelKey.specHash: hash ?? state.specHashes[id]!,
            ],
            state: containerState,
            health: health ?? (spec.healthcheck == nil ? nil : .healthy),
            exitCode: exitCode,
            startedAt: startedAt ?? now.addingTimeInterval(-60),
            finishedAt: containerState == .exited ? now.addingTimeInterval(-5) : nil,
            volumeNames: spec.container.volumes.compactMap {
                if case .volume(let volume) = $0.source { return ObjectName.volume(project: id.project, name: volume) }
                return nil
            },
            endpoints: state.endpoints(of: spec.container, project: id.project, alias: id.name).map { ObservedEndpoint(network: $0.network) },
            spec: hash == nil ? spec : nil
        )
    }

    /// The networks of `state` exactly as the executor would have created them, with `containers` attached.
    static func networks(in state: DesiredState, attached containers: [ObservedContainer] = []) -> [ObservedNetwork] {
        state.networks.filter { !$0.spec.external }.map { id, spec in
            let name = spec.engineName(project: id.project, name: id.name)
            return ObservedNetwork(
                name: name, driver: spec.driver, internal: spec.internal, subnets: spec.ipam.map { [$0.subnet] } ?? [],
                labels: [
                    LabelKey.managed: "true", LabelKey.project: id.project, LabelKey.kind: "network", LabelKey.name: id.name,
                    LabelKey.specHash: state.specHashes[id]!, LabelKey.reclaimPolicy: spec.reclaimPolicy.rawValue,
                ],
                containers: containers.filter { $0.endpoints.contains { $0.network == name } }.map(\.name)
            )
        }
    }

    static func plan(
        _ desired: DesiredState,
        _ observed: ObservedState = ObservedState(),
        history: PlanHistory = PlanHistory(),
        at time: Date = now,
        placement: ReplicaPlacement = .all
    ) -> Plan {
        Planner.plan(desired: desired, observed: observed, now: time, history: history, placement: placement)
    }
}

/// The world as the planner sees it, changed by applying plans instantly: creates succeed, starts
/// run, health checks pass at once. A double for planner tests only; adapters are tested for real.
struct InMemoryWorld {
    var observed: ObservedState
    var history = PlanHistory()
    private var nextID = 0

    init(_ observed: ObservedState = ObservedState()) {
        self.observed = observed
    }

    mutating func apply(_ plan: Plan, at now: Date) {
        for action in plan.actions {
            switch action.operation {
            case .createVolume(let target):
                observed.volumes.append(ObservedVolume(name: target.name, driver: target.spec.driver, labels: target.labels))
            case .removeVolume(let name):
                observed.volumes.removeAll { $0.name == name }
            case .createNetwork(let target):
                observed.networks.append(ObservedNetwork(name: target.name, driver: target.spec.driver, labels: target.labels))
            case .removeNetwork(let name):
                observed.networks.removeAll { $0.name == name }
            case .connectContainer(let name, let endpoint):
                update(name) { $0.endpoints.append(ObservedEndpoint(network: endpoint.network)) }
                updateNetwork(endpoint.network) { $0.containers.append(name) }
            case .disconnectContainer(let name, let network):
                update(name) { $0.endpoints.removeAll { $0.network == network } }
                updateNetwork(network) { $0.containers.removeAll { $0 == name } }
            case .createContainer(let target):
                nextID += 1
                observed.containers.append(
                    ObservedContainer(
                        id: "c\(nextID)", name: target.name, labels: target.labels, state: .created,
                        volumeNames: target.volumeNames.values.sorted(),
                        endpoints: target.endpoints.map { ObservedEndpoint(network: $0.network) }, spec: target.spec
                    ))
                for endpoint in target.endpoints { updateNetwork(endpoint.network) { $0.containers.append(target.name) } }
            case .startContainer(let name), .restartContainer(let name, _):
                if case .restartContainer = action.operation { recordRestart(name, now) }
                if let existing = observed.containers.first(where: { $0.name == name }), existing.state == .exited || existing.state == .dead {
                    recordRestart(name, now)
                }
                update(name) { container in
                    container.state = .running
                    container.health = container.spec?.healthcheck == nil ? nil : .healthy
                    container.failingStreak = 0
                    container.exitCode = nil
                    container.startedAt = now
                }
            case .renameContainer(let from, let to):
                update(from) { $0.name = to }
            case .removeContainer(let name, _, _):
                observed.containers.removeAll { $0.name == name }
                for index in observed.networks.indices { observed.networks[index].containers.removeAll { $0 == name } }
            case .awaitReady:
                break
            case .createBucket(let target):
                observed.objectStorage = .available(observed.objectStorage.buckets + [ObservedBucket(name: target.name, tags: target.tags, versioning: .unversioned, isEmpty: true)])
            case .setBucketVersioning(let name, let enabled):
                updateBucket(name) { $0.versioning = enabled ? .enabled : .suspended }
            case .setBucketLifecycle(let name, let lifecycle):
                updateBucket(name) { bucket in
                    bucket.lifecycle = lifecycle
                    bucket.hasOtherLifecycleRules = false
                }
            case .setBucketTags(let name, let tags):
                updateBucket(name) { $0.tags = tags }
            case .removeBucket(let name, _):
                observed.objectStorage = .available(observed.objectStorage.buckets.filter { $0.name != name })
            }
        }
    }

    private mutating func updateBucket(_ name: String, _ change: (inout ObservedBucket) -> Void) {
        var buckets = observed.objectStorage.buckets
        guard let index = buckets.firstIndex(where: { $0.name == name }) else {
            Issue.record("plan acts on missing bucket \(name)")
            return
        }
        change(&buckets[index])
        observed.objectStorage = .available(buckets)
    }

    private mutating func recordRestart(_ name: String, _ now: Date) {
        let count = (history.restarts[name]?.count ?? 0) + 1
        history.restarts[name] = PlanHistory.Restarts(count: count, last: now)
    }

    private mutating func updateNetwork(_ name: String, _ change: (inout ObservedNetwork) -> Void) {
        guard let index = observed.networks.firstIndex(where: { $0.name == name }) else {
            Issue.record("plan acts on missing network \(name)")
            return
        }
        change(&observed.networks[index])
    }

    private mutating func update(_ name: String, _ change: (inout ObservedContainer) -> Void) {
        guard let index = observed.containers.firstIndex(where: { $0.name == name }) else {
            Issue.record("plan acts on missing container \(name)")
            return
        }
        change(&observed.containers[index])
    }
}
