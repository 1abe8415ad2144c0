import BerthCore
import BerthDocker
import Foundation

/// A container engine in memory, for executor and reconciler tests: it keeps containers and
/// volumes as `observe` reports them, records every call that acts on the world in the order it
/// began, fails the calls it is told to fail, and can hold calls for a while to see how many run
/// at once. Started containers run (and are healthy) at once unless told otherwise. The real engine
/// is tested in BerthDockerTests; this double only imitates what the controller relies on.
actor InMemoryRuntime: ContainerRuntime {
    /// A call that acts on the world, by the name of what it acts on.
    enum Call: Sendable, Hashable, CustomStringConvertible {
        case ensureImage(String)
        case createVolume(String)
        case removeVolume(String)
        case createContainer(String)
        case startContainer(String)
        case restartContainer(String)
        case renameContainer(String, to: String)
        case removeContainer(String)
        case createNetwork(String)
        case removeNetwork(String)
        case connect(String, network: String)
        case disconnect(String, network: String)

        var description: String {
            switch self {
            case .ensureImage(let image): "ensure image \(image)"
            case .createVolume(let name): "create volume \(name)"
            case .removeVolume(let name): "remove volume \(name)"
            case .createContainer(let name): "create container \(name)"
            case .startContainer(let name): "start container \(name)"
            case .restartContainer(let name): "restart container \(name)"
            case .renameContainer(let name, let newName): "rename container \(name) to \(newName)"
            case .removeContainer(let name): "remove container \(name)"
            case .createNetwork(let name): "create network \(name)"
            case .removeNetwork(let name): "remove network \(name)"
            case .connect(let name, let network): "connect container \(name) to network \(network)"
            case .disconnect(let name, let network): "disconnect container \(name) from network \(network)"
            }
        }
    }

    /// What a container does once started.
    enum Behaviour: Sendable {
        /// Runs, and is healthy at once when it has a health check.
        case runs
        /// Runs with health `starting` until it has been looked at this many times, then is healthy.
        case becomesHealthy(afterInspections: Int)
        /// Exits with this code as soon as it starts.
        case exits(code: Int)
    }

    private(set) var calls: [Call] = []
    /// Environments containers were created with, by container name.
    private(set) var environments: [String: [String: String]] = [:]
    /// The most calls that were under way at the same time.
    private(set) var maxInFlight = 0
    private var inFlight = 0
    private var containers: [String: ObservedContainer] = [:]
    private var volumes: [String: ObservedVolume] = [:]
    private var networks: [String: ObservedNetwork] = [:]
    private var failures: [Call: DockerError] = [:]
    private var delays: [Call: Duration] = [:]
    private var defaultDelay: Duration = .zero
    private var behaviours: [String: Behaviour] = [:]
    private var inspectionsUntilHealthy: [String: Int] = [:]
    private var nextID = 0

    // MARK: Scripting the world

    /// Makes `call` throw `error` until ``stopFailing(_:)``.
    func fail(_ call: Call, with error: DockerError) {
        failures[call] = error
    }

    func stopFailing(_ call: Call) {
        failures[call] = nil
    }

    /// Holds `call` (or, with `nil`, every call without a delay of its own) for `duration`.
    func delay(_ call: Call?, by duration: Duration) {
        if let call { delays[call] = duration } else { defaultDelay = duration }
    }

    func setBehaviour(_ behaviour: Behaviour, ofContainer name: String) {
        behaviours[name] = behaviour
    }

    /// What happens behind Berth's back: a container exits (a crash, a kill).
    func exit(_ name: String, code: Int) {
        guard var container = containers[name] else { return }
        container.state = .exited
        container.exitCode = code
        container.health = nil
        container.finishedAt = Date()
        containers[name] = container
    }

    func state(of name: String) -> ObservedContainer.State? {
        containers[name]?.state
    }

    var containerNames: [String] { containers.keys.sorted() }
    var volumeNames: [String] { volumes.keys.sorted() }
    var networkNames: [String] { networks.keys.sorted() }

    /// The networks a container is attached to.
    func networks(of name: String) -> [String] {
        containers[name]?.endpoints.map(\.network).sorted() ?? []
    }

    // MARK: ContainerRuntime

    func observe() async throws(DockerError) -> ObservedState {
        var attached: [String: [String]] = [:]
        for container in containers.values {
            for endpoint in container.endpoints { attached[endpoint.network, default: []].append(container.name) }
        }
        return ObservedState(
            containers: containers.values.sorted { $0.name < $1.name },
            volumes: volumes.values.sorted { $0.name < $1.name },
            networks: networks.values.sorted { $0.name < $1.name }.map { network in
                var network = network
                network.containers = (attached[network.name] ?? []).sorted()
                return network
            }
        )
    }

    func container(named name: String) async throws(DockerError) -> ObservedContainer? {
        if let remaining = inspectionsUntilHealthy[name] {
            if remaining <= 1 {
                inspectionsUntilHealthy[name] = nil
                containers[name]?.health = .healthy
            } else {
                inspectionsUntilHealthy[name] = remaining - 1
            }
        }
        return containers[name]
    }

    func createContainer(_ target: ContainerTarget, environment: [String: String]) async throws(DockerError) -> String {
        try await perform(.createContainer(target.name))
        if let existing = containers[target.name] {
            guard existing.specHash == target.labels[LabelKey.specHash] else {
                throw DockerError(.conflict, "container name \(target.name) is taken", status: 409)
            }
            return existing.id
        }
        nextID += 1
        containers[target.name] = ObservedContainer(
            id: "c\(nextID)", name: target.name, labels: target.labels, state: .created,
            volumeNames: target.volumeNames.values.sorted(),
            endpoints: target.endpoints.map { ObservedEndpoint(network: $0.network, ipv4Address: $0.ipv4Address) }, spec: target.spec
        )
        if let missing = target.endpoints.first(where: { networks[$0.network] == nil }) {
            containers[target.name] = nil
            throw DockerError(.notFound, "network \(missing.network) not found", status: 404)
        }
        environments[target.name] = environment
        return "c\(nextID)"
    }

    func startContainer(named name: String) async throws(DockerError) {
        try await perform(.startContainer(name))
        try start(name)
    }

    func restartContainer(named name: String, grace: TimeSpan) async throws(DockerError) {
        try await perform(.restartContainer(name))
        try start(name)
    }

    func renameContainer(named name: String, to newName: String) async throws(DockerError) {
        try await perform(.renameContainer(name, to: newName))
        guard var container = containers[name] else { throw Self.noSuchContainer(name) }
        guard containers[newName] == nil else { throw DockerError(.conflict, "container name \(newName) is taken", status: 409) }
        container.name = newName
        containers[name] = nil
        containers[newName] = container
    }

    func removeContainer(named name: String, grace: TimeSpan) async throws(DockerError) {
        try await perform(.removeContainer(name))
        containers[name] = nil
    }

    func createVolume(_ target: VolumeTarget) async throws(DockerError) {
        try await perform(.createVolume(target.name))
        if volumes[target.name] == nil {
            volumes[target.name] = ObservedVolume(name: target.name, driver: target.spec.driver, labels: target.labels)
        }
    }

    func removeVolume(named name: String) async throws(DockerError) {
        try await perform(.removeVolume(name))
        volumes[name] = nil
    }

    func ensureImage(_ image: ImageReference, policy: PullPolicy) async throws(DockerError) {
        try await perform(.ensureImage(image.description))
    }

    func createNetwork(_ target: NetworkTarget) async throws(DockerError) {
        try await perform(.createNetwork(target.name))
        if networks[target.name] == nil {
            networks[target.name] = ObservedNetwork(
                name: target.name, driver: target.spec.driver, internal: target.spec.internal, enableIPv6: target.spec.enableIPv6,
                subnets: target.spec.ipam.map { [$0.subnet] } ?? [], labels: target.labels
            )
        }
    }

    func removeNetwork(named name: String) async throws(DockerError) {
        try await perform(.removeNetwork(name))
        if containers.values.contains(where: { $0.endpoints.contains { $0.network == name } }) {
            throw DockerError(.conflict, "network \(name) has active endpoints", status: 409)
        }
        networks[name] = nil
    }

    func connectContainer(named name: String, to endpoint: NetworkEndpoint) async throws(DockerError) {
        try await perform(.connect(name, network: endpoint.network))
        guard containers[name] != nil else { throw Self.noSuchContainer(name) }
        guard networks[endpoint.network] != nil else { throw DockerError(.notFound, "network \(endpoint.network) not found", status: 404) }
        if containers[name]?.endpoints.contains(where: { $0.network == endpoint.network }) == false {
            containers[name]?.endpoints.append(ObservedEndpoint(network: endpoint.network, ipv4Address: endpoint.ipv4Address))
        }
    }

    func disconnectContainer(named name: String, from network: String) async throws(DockerError) {
        try await perform(.disconnect(name, network: network))
        containers[name]?.endpoints.removeAll { $0.network == network }
    }

    nonisolated func events() -> AsyncThrowingStream<EngineWatchItem, any Error> {
        AsyncThrowingStream { $0.finish() }
    }

    // MARK: Helpers

    /// Records the call, holds it for its delay (counting it in flight meanwhile), then fails it if told to.
    private func perform(_ call: Call) async throws(DockerError) {
        calls.append(call)
        inFlight += 1
        maxInFlight = max(maxInFlight, inFlight)
        let delay = delays[call] ?? defaultDelay
        if delay > .zero { try? await Task.sleep(for: delay) }
        inFlight -= 1
        if let error = failures[call] { throw error }
    }

    private func start(_ name: String) throws(DockerError) {
        guard var container = containers[name] else { throw Self.noSuchContainer(name) }
        let hasHealthcheck = container.spec?.healthcheck != nil
        container.exitCode = nil
        container.startedAt = Date()
        container.finishedAt = nil
        switch behaviours[name] ?? .runs {
        case .runs:
            container.state = .running
            container.health = hasHealthcheck ? .healthy : nil
        case .becomesHealthy(let inspections):
            container.state = .running
            container.health = hasHealthcheck ? .starting : nil
            if hasHealthcheck { inspectionsUntilHealthy[name] = inspections }
        case .exits(let code):
            container.state = .exited
            container.health = nil
            container.exitCode = code
            container.finishedAt = Date()
        }
        containers[name] = container
    }

    private static func noSuchContainer(_ name: String) -> DockerError {
        DockerError(.notFound, "no such container: \(name)", status: 404)
    }
}
