import BerthCore
import Foundation

/// The container engine as the controller sees it: one snapshot to plan from, and one call per
/// planned operation, each idempotent so a repeat after a crash converges instead of failing.
/// `DockerEngine` is the real one; tests of the executor use an in-memory double.
public protocol ContainerRuntime: Sendable {
    /// Berth's containers and volumes, and the names of everyone else's.
    func observe() async throws(DockerError) -> ObservedState
    /// The same, reading the containers named in `refreshing` (ids or names) afresh: the engine's
    /// list can lag behind an event or a change just made.
    func observe(refreshing: Set<String>) async throws(DockerError) -> ObservedState
    /// The same, with each adopted container that is still there (by id) observed as the replica
    /// its ``Adoption`` names (``ObservedContainer/adopted``), with its spec read back from the engine.
    func observe(refreshing: Set<String>, adoptions: [Adoption]) async throws(DockerError) -> ObservedState
    /// One container by name, or nil when there is none.
    func container(named name: String) async throws(DockerError) -> ObservedContainer?
    /// Creates a container; when one with the name and the same spec hash exists, adopts it.
    /// `environment` holds the resolved values of the spec's `env` (secrets resolved by the caller).
    func createContainer(_ target: ContainerTarget, environment: [String: String]) async throws(DockerError) -> String
    /// Starts a container; one already running is fine.
    func startContainer(named name: String) async throws(DockerError)
    /// Stops (grace, then kill) and starts a container.
    func restartContainer(named name: String, grace: TimeSpan) async throws(DockerError)
    func renameContainer(named name: String, to newName: String) async throws(DockerError)
    /// Stops with the container's stop signal, waits `grace`, kills, removes; a missing one is fine.
    func removeContainer(named name: String, grace: TimeSpan) async throws(DockerError)
    /// Creates a volume; an existing one with Berth's labels is fine, one without is a conflict.
    func createVolume(_ target: VolumeTarget) async throws(DockerError)
    /// Removes a volume; a missing one is fine, one in use is a conflict.
    func removeVolume(named name: String) async throws(DockerError)
    /// Creates a network; an existing one with Berth's labels is fine, one without is a conflict.
    func createNetwork(_ target: NetworkTarget) async throws(DockerError)
    /// Removes a network; a missing one is fine, one with containers attached is a conflict.
    func removeNetwork(named name: String) async throws(DockerError)
    /// Attaches a container to a network; one already attached is fine.
    func connectContainer(named name: String, to endpoint: NetworkEndpoint) async throws(DockerError)
    /// Detaches a container from a network; one not attached (or gone) is fine.
    func disconnectContainer(named name: String, from network: String) async throws(DockerError)
    /// Makes sure the image is present as the pull policy asks.
    func ensureImage(_ image: ImageReference, policy: PullPolicy) async throws(DockerError)
    /// Wake-ups from the engine about Berth's objects.
    func events() -> AsyncThrowingStream<EngineWatchItem, any Error>
}

extension ContainerRuntime {
    /// Runtimes that always read everything afresh need nothing more.
    public func observe(refreshing: Set<String>) async throws(DockerError) -> ObservedState {
        try await observe()
    }

    /// Runtimes that hold only Berth's own containers (the in-memory ones of tests) have none to adopt.
    public func observe(refreshing: Set<String>, adoptions: [Adoption]) async throws(DockerError) -> ObservedState {
        try await observe(refreshing: refreshing)
    }
}

/// ``ContainerRuntime`` on a real Docker engine.
public struct DockerEngine: ContainerRuntime {
    public let client: DockerClient
    /// How many inspections `observe` runs at once.
    public var observeConcurrency = 8
    /// The engine's ID once read (`engineID()`).
    let identity = EngineIdentity()

    public init(client: DockerClient) {
        self.client = client
    }

    public func observe() async throws(DockerError) -> ObservedState {
        try await observe(refreshing: [])
    }

    public func observe(refreshing: Set<String>) async throws(DockerError) -> ObservedState {
        try await observe(refreshing: refreshing, adoptions: [])
    }

    /// One list request, plus an inspection of each Berth container that is not running or not
    /// healthy, or that `refreshing` names: a converged engine is observed with a single request.
    /// Adopted containers are inspected on every pass, with their images, to read their spec back.
    public func observe(refreshing: Set<String>, adoptions: [Adoption]) async throws(DockerError) -> ObservedState {
        // The two lists are independent: the engine answers both at once.
        async let listedVolumes = Self.result { [client] () async throws(DockerError) in try await client.listVolumes() }
        async let listedNetworks = Self.result { [client] () async throws(DockerError) in try await client.listNetworks() }
        let containers = try await client.listContainers()
        let volumes = try await listedVolumes.get()
        let networks = try await listedNetworks.get()
        var state = ObservedState()
        let managed = containers.filter { $0.labels[LabelKey.managed] == "true" }
        let adoptionsByID = Dictionary(adoptions.map { ($0.containerID, $0) }, uniquingKeysWith: { first, _ in first })
        let adopted = containers.filter { $0.labels[LabelKey.managed] != "true" }.compactMap { summary in adoptionsByID[summary.id] }
        state.foreignContainerNames = Set(containers.filter { $0.labels[LabelKey.managed] != "true" && adoptionsByID[$0.id] == nil }.map(\.name))
        // Running, not unhealthy containers are read from the list; only the others are inspected.
        let now = Date()
        var listed: [ObservedContainer] = []
        var inspect: [String] = []
        for summary in managed {
            if !refreshing.contains(summary.id), !refreshing.contains(summary.name), let observed = ObservedContainer(summary, now: now) {
                listed.append(observed)
            } else {
                inspect.append(summary.id)
            }
        }
        state.containers = (listed + (try await inspectAll(inspect)) + (try await observeAdopted(adopted))).sorted { $0.name < $1.name }
        for volume in volumes {
            if volume.labels[LabelKey.managed] == "true" {
                state.volumes.append(ObservedVolume(name: volume.name, driver: volume.driver, labels: volume.labels))
            } else {
                state.foreignVolumeNames.insert(volume.name)
            }
        }
        var attached: [String: [String]] = [:]
        for summary in containers {
            for endpoint in summary.endpoints { attached[endpoint.network, default: []].append(summary.name) }
        }
        for network in networks {
            if network.labels[LabelKey.managed] == "true" {
                state.networks.append(
                    ObservedNetwork(
                        name: network.name, driver: network.driver, internal: network.internal, enableIPv6: network.enableIPv6,
                        subnets: network.subnets, labels: network.labels, containers: (attached[network.name] ?? []).sorted()
                    ))
            } else {
                state.foreignNetworkNames.insert(network.name)
            }
        }
        state.networks.sort { $0.name < $1.name }
        return state
    }

    /// Inspects containers a few at a time; one that vanished meanwhile is left out.
    private func inspectAll(_ ids: [String]) async throws(DockerError) -> [ObservedContainer] {
        do {
            return try await withThrowingTaskGroup(of: ObservedContainer?.self) { group in
                var pending = ids[...]
                var observed: [ObservedContainer] = []
                for _ in 0..<observeConcurrency {
                    guard let id = pending.popFirst() else { break }
                    group.addTask { try await inspectIfPresent(id) }
                }
                while let result = try await group.next() {
                    if let result { observed.append(result) }
                    if let id = pending.popFirst() { group.addTask { try await inspectIfPresent(id) } }
                }
                return observed
            }
        } catch let error as DockerError {
            throw error
        } catch {
            throw DockerClient.mapTransport(error, client.endpoint)
        }
    }

    /// Adopted containers as their replicas, with the spec read back from each one's configuration
    /// and image (one after another: a compose project has a few); one gone meanwhile is left out.
    private func observeAdopted(_ adoptions: [Adoption]) async throws(DockerError) -> [ObservedContainer] {
        guard !adoptions.isEmpty else { return [] }
        let logDriver = try await client.info().loggingDriver
        var images: [String: ImageConfiguration] = [:]
        var observed: [ObservedContainer] = []
        for adoption in adoptions {
            let inspected: (ContainerDetails, ContainerConfiguration)
            do {
                inspected = try await client.inspectContainerConfiguration(adoption.containerID)
            } catch  where error.code == .notFound {
                continue
            }
            let (details, configuration) = inspected
            if images[details.image] == nil {
                images[details.image] = (try? await client.inspectImage(details.image))?.config ?? ImageConfiguration()
            }
            var container = ObservedContainer(details)
            container.labels.merge(adoption.observedLabels) { _, berth in berth }
            container.spec = ServiceSpec(readingBack: configuration, image: images[details.image] ?? ImageConfiguration(), defaultLogDriver: logDriver)
            container.adopted = true
            observed.append(container)
        }
        return observed
    }

    private func inspectIfPresent(_ idOrName: String) async throws(DockerError) -> ObservedContainer? {
        do {
            return ObservedContainer(try await client.inspectContainer(idOrName))
        } catch  where error.code == .notFound {
            return nil
        }
    }

    public func container(named name: String) async throws(DockerError) -> ObservedContainer? {
        try await inspectIfPresent(name)
    }

    public func createContainer(_ target: ContainerTarget, environment: [String: String]) async throws(DockerError) -> String {
        let id: String
        do {
            id = try await client.createContainer(name: target.name, ContainerCreateRequest(target, environment: environment))
        } catch  where error.code == .conflict {
            let existing = try await client.inspectContainer(target.name)
            guard existing.labels[LabelKey.managed] == "true", existing.labels[LabelKey.specHash] == target.labels[LabelKey.specHash] else {
                throw DockerError(.conflict, "container name \(target.name) is taken by a container Berth did not create from this spec; rename or remove it", status: 409)
            }
            id = existing.id
        }
        try await connectRemaining(target.name, target.endpoints)
        return id
    }

    /// Attaches a just-created container to every network after the one it was created on.
    func connectRemaining(_ container: String, _ endpoints: [NetworkEndpoint]) async throws(DockerError) {
        for endpoint in endpoints.dropFirst() {
            try await connectContainer(named: container, to: endpoint)
        }
    }

    /// A container the engine cannot start again (a stale task, ``DockerError/isStaleTask``) is
    /// removed, so that the next pass creates it anew, and the start fails saying so.
    public func startContainer(named name: String) async throws(DockerError) {
        do {
            try await client.startContainer(name)
        } catch  where error.code == .notModified {
            return
        } catch  where error.isStaleTask {
            do {
                try await client.removeContainer(name, force: true)
            } catch {
                throw DockerError(error.code, "\(error.message) (removing the container, whose old task the engine kept after a restart)", status: error.status)
            }
            throw DockerError(.engine, "\(error.message): the engine kept the container's old task after a restart; removed it, the next pass creates it anew", status: error.status)
        }
    }

    public func restartContainer(named name: String, grace: TimeSpan) async throws(DockerError) {
        try await client.restartContainer(name, timeout: grace.wholeSeconds)
    }

    public func renameContainer(named name: String, to newName: String) async throws(DockerError) {
        try await client.renameContainer(name, to: newName)
    }

    public func removeContainer(named name: String, grace: TimeSpan) async throws(DockerError) {
        do {
            do {
                try await client.stopContainer(name, timeout: grace.wholeSeconds)
            } catch  where error.code == .notModified {
                // already stopped
            }
            try await client.removeContainer(name, force: true)
        } catch  where error.code == .notFound {
            return
        }
    }

    public func createVolume(_ target: VolumeTarget) async throws(DockerError) {
        let volume = try await client.createVolume(VolumeCreateRequest(name: target.name, driver: target.spec.driver, driverOpts: target.spec.options, labels: target.labels))
        guard volume.labels[LabelKey.managed] == "true" else {
            throw DockerError(.conflict, "volume \(target.name) already exists without Berth labels; Berth does not take it over", status: 409)
        }
    }

    public func removeVolume(named name: String) async throws(DockerError) {
        do {
            try await client.removeVolume(name)
        } catch  where error.code == .notFound {
            return
        }
    }

    public func createNetwork(_ target: NetworkTarget) async throws(DockerError) {
        do {
            try await client.createNetwork(NetworkCreateRequest(target))
        } catch  where error.code == .conflict {
            let existing = try await client.inspectNetwork(target.name)
            guard existing.labels[LabelKey.managed] == "true", existing.labels[LabelKey.specHash] == target.labels[LabelKey.specHash] else {
                throw DockerError(.conflict, "network \(target.name) already exists and Berth did not create it from this spec; Berth does not take it over", status: 409)
            }
        }
    }

    /// A network whose containers are all gone may still be refused for "active endpoints" for a
    /// moment (Docker 20.10, moby/moby#42119), or for good when an endpoint outlived its
    /// container. Such endpoints are disconnected by force and the removal tried again, for up to
    /// `staleEndpointPatience`; an endpoint of a container that exists is a conflict at once.
    public func removeNetwork(named name: String) async throws(DockerError) {
        let giveUp = ContinuousClock.now + Self.staleEndpointPatience
        while true {
            do {
                try await client.removeNetwork(name)
                return
            } catch  where error.code == .notFound {
                return
            } catch  where error.status == 403 {
                let attached: [String: NetworkDetails.Endpoint]
                do {
                    attached = try await client.inspectNetwork(name).endpoints
                } catch  where error.code == .notFound {
                    return
                }
                var live: [String] = []
                for (key, endpoint) in attached.sorted(by: { $0.key < $1.key }) {
                    if try await containerExists(key.hasPrefix("ep-") ? endpoint.name : key) {
                        live.append(endpoint.name)
                    } else {
                        try await disconnectContainer(named: endpoint.name, from: name)
                    }
                }
                guard live.isEmpty, ContinuousClock.now < giveUp else {
                    let who = live.isEmpty ? "" : " (\(live.joined(separator: ", ")))"
                    throw DockerError(.conflict, "network \(name) still has containers attached\(who): \(error.message)", status: 409)
                }
                try? await Task.sleep(for: .milliseconds(200))
            }
        }
    }

    /// How long a network removal waits for endpoints that outlive their containers.
    static let staleEndpointPatience = Duration.seconds(5)

    private func containerExists(_ idOrName: String) async throws(DockerError) -> Bool {
        do {
            _ = try await client.inspectContainer(idOrName)
            return true
        } catch  where error.code == .notFound {
            return false
        }
    }

    public func connectContainer(named name: String, to endpoint: NetworkEndpoint) async throws(DockerError) {
        let request = NetworkConnectRequest(container: name, endpointConfig: ContainerCreateRequest.EndpointSettings(endpoint))
        do {
            try await client.connectNetwork(endpoint.network, request)
        } catch  where error.status == 403 && error.message.contains("already exists") {
            return
        }
    }

    public func disconnectContainer(named name: String, from network: String) async throws(DockerError) {
        do {
            try await client.disconnectNetwork(network, NetworkDisconnectRequest(container: name))
        } catch  where error.code == .notFound || (error.status == 403 && error.message.contains("not connected")) {
            return
        }
    }

    public func ensureImage(_ image: ImageReference, policy: PullPolicy) async throws(DockerError) {
        let reference = image.repositoryWithRegistry
        let tag = image.digest ?? image.effectiveTag ?? "latest"
        switch policy {
        case .always:
            try await client.pullImage(reference, tag: tag)
        case .ifNotPresent, .never:
            do {
                _ = try await client.inspectImage(image.description)
            } catch  where error.code == .notFound {
                guard policy == .ifNotPresent else {
                    throw DockerError(.notFound, "image \(image) is not present and pullPolicy is Never; build or load it first", status: 404)
                }
                try await client.pullImage(reference, tag: tag)
            }
        }
    }

    private static let managedAttribute = Array("\"\(LabelKey.managed)\":\"true\"".utf8)
    private static let composeAttribute = Array("\"\(ComposeLabel.project)\":".utf8)

    /// Whether `needle` occurs in `line`: a plain scan (the generic `contains` of a collection
    /// took longer than decoding the line).
    static func find(_ needle: [UInt8], in line: [UInt8]) -> Bool {
        guard let first = needle.first, line.count >= needle.count else { return needle.isEmpty }
        var start = 0
        let last = line.count - needle.count
        while start <= last {
            if line[start] == first {
                var matched = 1
                while matched < needle.count, line[start + matched] == needle[matched] { matched += 1 }
                if matched == needle.count { return true }
            }
            start += 1
        }
        return false
    }

    /// Events about Berth's objects and compose's (adopted containers carry compose's labels, not
    /// Berth's). The engine ANDs label filters, so the two are told apart here: first by a look
    /// for either label in the raw line (the engine writes attributes as compact JSON), so the
    /// other events (volume mounts, network connects, strangers' containers) are never decoded,
    /// then by the decoded attributes.
    public func events() -> AsyncThrowingStream<EngineWatchItem, any Error> {
        let all = client.events(admitting: { line in Self.find(Self.managedAttribute, in: line) || Self.find(Self.composeAttribute, in: line) })
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    for try await item in all {
                        if case .event(let event) = item, event.attributes[LabelKey.managed] != "true", event.attributes[ComposeLabel.project] == nil { continue }
                        continuation.yield(item)
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

extension TimeSpan {
    /// Whole seconds, rounded up, for the engine's second-granular timeouts.
    var wholeSeconds: Int { Int((milliseconds + 999) / 1000) }
}

extension ImageReference {
    /// `registry/repository` without tag or digest, as the pull API wants it.
    var repositoryWithRegistry: String {
        registry.map { "\($0)/\(repository)" } ?? repository
    }
}

extension DockerEngine {
    /// A call's outcome as a value, so an `async let` keeps its typed error.
    static func result<T: Sendable>(_ body: @Sendable () async throws(DockerError) -> T) async -> Result<T, DockerError> {
        do {
            return .success(try await body())
        } catch {
            return .failure(error)
        }
    }
}
