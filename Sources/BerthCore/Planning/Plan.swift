import Foundation

/// Everything the executor needs to create one service container.
public struct ContainerTarget: Sendable, Hashable, Codable {
    public var name: String
    public var service: ResourceID
    public var replica: Int
    public var spec: ServiceSpec
    /// Labels per the design's label table, `berth.spec-hash` included.
    public var labels: [String: String]
    /// Docker volume names for the spec's `volume:` mounts, by mount index.
    public var volumeNames: [Int: String]
    /// The networks it joins, as the engine names them; empty with an engine network mode.
    public var endpoints: [NetworkEndpoint]

    public init(
        name: String, service: ResourceID, replica: Int, spec: ServiceSpec, labels: [String: String],
        volumeNames: [Int: String], endpoints: [NetworkEndpoint] = []
    ) {
        self.name = name
        self.service = service
        self.replica = replica
        self.spec = spec
        self.labels = labels
        self.volumeNames = volumeNames
        self.endpoints = endpoints
    }
}

/// One network a container joins, as the engine names it, with the DNS names it answers to there.
public struct NetworkEndpoint: Sendable, Hashable, Codable {
    /// The engine's network name.
    public var network: String
    public var aliases: [String]
    public var ipv4Address: String?

    public init(network: String, aliases: [String] = [], ipv4Address: String? = nil) {
        self.network = network
        self.aliases = aliases
        self.ipv4Address = ipv4Address
    }
}

/// Everything the executor needs to create one network.
public struct NetworkTarget: Sendable, Hashable, Codable {
    public var name: String
    public var spec: NetworkSpec
    public var labels: [String: String]

    public init(name: String, spec: NetworkSpec, labels: [String: String]) {
        self.name = name
        self.spec = spec
        self.labels = labels
    }
}

/// Everything the executor needs to create one volume.
public struct VolumeTarget: Sendable, Hashable, Codable {
    public var name: String
    public var spec: VolumeSpec
    public var labels: [String: String]

    public init(name: String, spec: VolumeSpec, labels: [String: String]) {
        self.name = name
        self.spec = spec
        self.labels = labels
    }
}

/// Everything the executor needs to create one bucket: its name and its complete tag set
/// (Berth's ownership tags and the spec's), written right after the bucket is made.
public struct BucketTarget: Sendable, Hashable, Codable {
    public var name: String
    public var tags: [String: String]

    public init(name: String, tags: [String: String]) {
        self.name = name
        self.tags = tags
    }
}

/// One step of a plan; each maps to one engine or S3 call (a remove stops gracefully first; a
/// bucket is tagged right after it is created, and emptied before it is deleted when asked).
public enum Operation: Sendable, Hashable, Codable {
    case createVolume(target: VolumeTarget)
    case removeVolume(name: String)
    case createNetwork(target: NetworkTarget)
    /// Removes a network no container is attached to any more; a missing one is fine.
    case removeNetwork(name: String)
    /// Attaches a container to a network it should be on (after the network was recreated).
    case connectContainer(name: String, endpoint: NetworkEndpoint)
    /// Detaches a container from a network that is about to be recreated.
    case disconnectContainer(name: String, network: String)
    case createContainer(target: ContainerTarget)
    case startContainer(name: String)
    case restartContainer(name: String, grace: TimeSpan)
    case renameContainer(from: String, to: String)
    /// Stops with `signal`, waits `grace`, kills, then removes.
    case removeContainer(name: String, signal: StopSignal, grace: TimeSpan)
    /// Holds the actions after it until the container runs (or is healthy).
    case awaitReady(name: String, condition: Dependency.Condition)
    case createBucket(target: BucketTarget)
    /// Enabled, or Suspended (a versioned bucket never returns to unversioned).
    case setBucketVersioning(name: String, enabled: Bool)
    /// `nil` removes the lifecycle configuration.
    case setBucketLifecycle(name: String, lifecycle: BucketSpec.Lifecycle?)
    /// Replaces the bucket's whole tag set.
    case setBucketTags(name: String, tags: [String: String])
    /// `emptyFirst` deletes every object and object version before the bucket.
    case removeBucket(name: String, emptyFirst: Bool)

    /// Terraform-like marker: `+` create, `-` remove, `~` change in place, `!` restart, `…` wait.
    public var marker: Character {
        switch self {
        case .createVolume, .createNetwork, .createContainer, .createBucket: "+"
        case .removeVolume, .removeNetwork, .removeContainer, .removeBucket: "-"
        case .connectContainer, .disconnectContainer: "~"
        case .startContainer, .renameContainer, .setBucketVersioning, .setBucketLifecycle, .setBucketTags: "~"
        case .restartContainer: "!"
        case .awaitReady: "…"
        }
    }

    /// `create container berth-qfield-app-0`
    public var summary: String {
        switch self {
        case .createVolume(let target): "create volume \(target.name)"
        case .removeVolume(let name): "remove volume \(name)"
        case .createNetwork(let target): "create network \(target.name)"
        case .removeNetwork(let name): "remove network \(name)"
        case .connectContainer(let name, let endpoint): "connect container \(name) to network \(endpoint.network)"
        case .disconnectContainer(let name, let network): "disconnect container \(name) from network \(network)"
        case .createContainer(let target): "create container \(target.name)"
        case .startContainer(let name): "start container \(name)"
        case .restartContainer(let name, _): "restart container \(name)"
        case .renameContainer(let from, let to): "rename container \(from) to \(to)"
        case .removeContainer(let name, _, _): "remove container \(name)"
        case .awaitReady(let name, let condition): "wait until container \(name) is \(condition == .healthy ? "healthy" : "running")"
        case .createBucket(let target): "create bucket \(target.name)"
        case .setBucketVersioning(let name, let enabled): "set versioning of bucket \(name) to \(enabled ? "Enabled" : "Suspended")"
        case .setBucketLifecycle(let name, let lifecycle): lifecycle == nil ? "remove lifecycle rules of bucket \(name)" : "set lifecycle rules of bucket \(name)"
        case .setBucketTags(let name, _): "set tags of bucket \(name)"
        case .removeBucket(let name, let emptyFirst): emptyFirst ? "delete bucket \(name) and every object in it" : "delete bucket \(name)"
        }
    }

    /// The container the step is about, if any.
    public var containerName: String? {
        switch self {
        case .createVolume, .removeVolume, .createNetwork, .removeNetwork, .createBucket, .setBucketVersioning, .setBucketLifecycle, .setBucketTags, .removeBucket: nil
        case .createContainer(let target): target.name
        case .connectContainer(let name, _), .disconnectContainer(let name, _): name
        case .startContainer(let name), .restartContainer(let name, _), .removeContainer(let name, _, _), .awaitReady(let name, _): name
        case .renameContainer(_, let to): to
        }
    }

    /// Whether the step is about a bucket (read back from object storage after a pass).
    public var isBucketOperation: Bool {
        switch self {
        case .createBucket, .setBucketVersioning, .setBucketLifecycle, .setBucketTags, .removeBucket: true
        case .createVolume, .removeVolume, .createNetwork, .removeNetwork, .connectContainer, .disconnectContainer,
            .createContainer, .startContainer, .restartContainer, .renameContainer, .removeContainer, .awaitReady:
            false
        }
    }

    /// Whether the step changes the world (waits do not).
    public var isChange: Bool {
        if case .awaitReady = self { return false }
        return true
    }
}

/// A planned step: what to do, to which resource, why, and which steps must finish first.
public struct Action: Sendable, Hashable, Encodable, Identifiable, CustomStringConvertible {
    /// Position in the plan; `after` refers to these.
    public var id: Int
    public var resource: ResourceID
    public var operation: Operation
    /// Why, for people: `missing`, `spec changed: env.FOO`, `unhealthy for 3 checks`, `orphaned`.
    public var cause: String
    /// Actions that must have succeeded before this one starts.
    public var after: [Int]

    public init(id: Int, resource: ResourceID, operation: Operation, cause: String, after: [Int] = []) {
        self.id = id
        self.resource = resource
        self.operation = operation
        self.cause = cause
        self.after = after
    }

    /// `+ create container berth-qfield-app-0 (Service qfield/app: missing)`
    public var description: String {
        "\(operation.marker) \(operation.summary) (\(resource): \(cause))"
    }

    private enum CodingKeys: String, CodingKey { case id, resource, operation, cause, after, marker, text }

    /// The fields, plus `marker` and the printed line as `text`, so scripts need not rebuild them.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(resource, forKey: .resource)
        try container.encode(operation, forKey: .operation)
        try container.encode(cause, forKey: .cause)
        try container.encode(after, forKey: .after)
        try container.encode(String(operation.marker), forKey: .marker)
        try container.encode(description, forKey: .text)
    }
}

/// Something the planner chose not to do yet, and when to look again.
public struct Wait: Sendable, Hashable, Codable, CustomStringConvertible {
    public var resource: ResourceID
    public var reason: String
    /// When the condition can change by time alone (a backoff ends); `nil` waits for an event.
    public var until: Date?

    public init(resource: ResourceID, reason: String, until: Date? = nil) {
        self.resource = resource
        self.reason = reason
        self.until = until
    }

    public var description: String { "  \(resource): \(reason)" }
}

/// Something an operator should look at; the planner leaves it alone.
public struct Warning: Sendable, Hashable, Codable, CustomStringConvertible {
    public var resource: ResourceID?
    public var message: String

    public init(resource: ResourceID?, message: String) {
        self.resource = resource
        self.message = message
    }

    public var description: String { "! warning: \(resource.map { "\($0): " } ?? "")\(message)" }
}

/// The planner's output: ordered actions with their dependencies, plus waits and warnings.
public struct Plan: Sendable, Hashable, Encodable, CustomStringConvertible {
    public var actions: [Action]
    public var waits: [Wait]
    public var warnings: [Warning]
    /// The parts of the observed state that could not be read (the buckets' endpoint), each with
    /// why: the plan is incomplete there, and `plan --detailed-exitcode` exits 1.
    public var unreadable: [String]

    public init(actions: [Action] = [], waits: [Wait] = [], warnings: [Warning] = [], unreadable: [String] = []) {
        self.actions = actions
        self.waits = waits
        self.warnings = warnings
        self.unreadable = unreadable
    }

    /// True when applying the plan would change nothing.
    public var isEmpty: Bool { !actions.contains { $0.operation.isChange } }

    /// The earliest time a wait ends by itself: when the controller should plan again.
    public var nextWakeUp: Date? { waits.compactMap(\.until).min() }

    /// Counts by marker, for the summary line.
    public var summary: String {
        let changes = actions.filter(\.operation.isChange)
        let create = changes.filter { $0.operation.marker == "+" }.count
        let change = changes.filter { $0.operation.marker == "~" || $0.operation.marker == "!" }.count
        let remove = changes.filter { $0.operation.marker == "-" }.count
        return "Plan: \(create) to create, \(change) to change, \(remove) to remove."
    }

    /// One stable line per action, then waits and warnings, then the summary (golden-tested).
    public var description: String {
        var lines = actions.map(\.description)
        if !waits.isEmpty { lines.append("Waiting:") }
        lines += waits.map(\.description)
        lines += warnings.map(\.description)
        lines.append(isEmpty ? "No changes. The world matches the desired state." : summary)
        return lines.joined(separator: "\n")
    }
}
