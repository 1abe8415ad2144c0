import Foundation

/// One snapshot of the world, taken before planning; the planner reads nothing else.
public struct ObservedState: Sendable, Hashable, Codable {
    /// Containers carrying `berth.managed=true`.
    public var containers: [ObservedContainer]
    /// Volumes carrying `berth.managed=true`.
    public var volumes: [ObservedVolume]
    /// Names of containers without Berth's labels: never touched, but a name collision is reported.
    public var foreignContainerNames: Set<String>
    /// Names of volumes without Berth's labels.
    public var foreignVolumeNames: Set<String>
    /// Networks carrying `berth.managed=true`.
    public var networks: [ObservedNetwork]
    /// Names of networks without Berth's labels (the engine's own among them): never touched.
    public var foreignNetworkNames: Set<String>
    /// What the object storage endpoint holds, or why it could not be read.
    public var objectStorage: ObservedObjectStorage

    public init(
        containers: [ObservedContainer] = [],
        volumes: [ObservedVolume] = [],
        foreignContainerNames: Set<String> = [],
        foreignVolumeNames: Set<String> = [],
        networks: [ObservedNetwork] = [],
        foreignNetworkNames: Set<String> = [],
        objectStorage: ObservedObjectStorage = .available([])
    ) {
        self.containers = containers
        self.volumes = volumes
        self.foreignContainerNames = foreignContainerNames
        self.foreignVolumeNames = foreignVolumeNames
        self.networks = networks
        self.foreignNetworkNames = foreignNetworkNames
        self.objectStorage = objectStorage
    }
}

/// The buckets on the object storage endpoint, or why there are none to plan with.
public enum ObservedObjectStorage: Sendable, Hashable, Codable {
    /// Every bucket Berth may care about: the declared ones that exist, and every bucket carrying
    /// Berth's ownership tags.
    case available([ObservedBucket])
    /// No endpoint is configured, or it could not be read; the message says which and what to do.
    case unavailable(String)

    /// The observed buckets; none when unavailable.
    public var buckets: [ObservedBucket] {
        if case .available(let buckets) = self { return buckets }
        return []
    }
}

/// A bucket as the endpoint reports it, reduced to what planning needs.
public struct ObservedBucket: Sendable, Hashable, Codable {
    /// The three states S3 knows; a bucket never returns to `unversioned` once versioned.
    public enum Versioning: String, Sendable, Hashable, Codable {
        case unversioned = "Unversioned"
        case enabled = "Enabled"
        case suspended = "Suspended"
    }

    public var name: String
    public var tags: [String: String]
    /// Read for declared buckets only; `nil` when not read.
    public var versioning: Versioning?
    /// The whole-bucket rules Berth understands; `nil` without a lifecycle configuration.
    public var lifecycle: BucketSpec.Lifecycle?
    /// Whether the configuration holds rules Berth does not write (filters, transitions, disabled rules).
    public var hasOtherLifecycleRules: Bool
    /// Whether the bucket holds no object and no object version; `nil` when not checked.
    public var isEmpty: Bool?

    public init(
        name: String,
        tags: [String: String] = [:],
        versioning: Versioning? = nil,
        lifecycle: BucketSpec.Lifecycle? = nil,
        hasOtherLifecycleRules: Bool = false,
        isEmpty: Bool? = nil
    ) {
        self.name = name
        self.tags = tags
        self.versioning = versioning
        self.lifecycle = lifecycle
        self.hasOtherLifecycleRules = hasOtherLifecycleRules
        self.isEmpty = isEmpty
    }

    /// Whether Berth created the bucket (only those are ever deleted).
    public var isOwned: Bool { tags[LabelKey.managed] == "true" }
    public var project: String? { tags[LabelKey.project] }
    public var resourceName: String? { tags[LabelKey.name] }
    public var reclaimPolicy: ReclaimPolicy {
        tags[LabelKey.reclaimPolicy].flatMap(ReclaimPolicy.init(rawValue:)) ?? .retain
    }
    public var deleteNonEmpty: Bool { tags[LabelKey.deleteNonEmpty] == "true" }
}

/// A container as the engine reports it, reduced to what planning needs.
public struct ObservedContainer: Sendable, Hashable, Codable {
    /// The engine's lifecycle states.
    public enum State: String, Sendable, Hashable, Codable {
        case created, running, paused, restarting, removing, exited, dead
    }

    /// The engine's health check verdict.
    public enum Health: String, Sendable, Hashable, Codable {
        case starting, healthy, unhealthy
    }

    public var id: String
    public var name: String
    public var labels: [String: String]
    public var state: State
    /// `nil` when the container has no health check.
    public var health: Health?
    /// Consecutive failed health checks.
    public var failingStreak: Int
    public var exitCode: Int?
    public var oomKilled: Bool
    public var startedAt: Date?
    public var finishedAt: Date?
    /// Names of the volumes the container mounts.
    public var volumeNames: [String]
    /// The networks it is attached to, with its addresses there.
    public var endpoints: [ObservedEndpoint]
    /// Host ports published for it.
    public var publishedPorts: [PublishedPort]
    /// The id of the image it runs (`sha256:…`), when the engine said.
    public var imageID: String?
    /// The spec the container was created from, when the observer could tell (names changed fields).
    /// For an adopted container: the spec read back from the engine, in engine names (volumes and
    /// networks as the engine names them).
    public var spec: ServiceSpec?
    /// A container Berth did not create, recorded as this replica's current instance (``Adoption``):
    /// its labels carry Berth's project, kind, name and replica, but no spec hash.
    public var adopted: Bool

    public init(
        id: String,
        name: String,
        labels: [String: String],
        state: State,
        health: Health? = nil,
        failingStreak: Int = 0,
        exitCode: Int? = nil,
        oomKilled: Bool = false,
        startedAt: Date? = nil,
        finishedAt: Date? = nil,
        volumeNames: [String] = [],
        endpoints: [ObservedEndpoint] = [],
        publishedPorts: [PublishedPort] = [],
        imageID: String? = nil,
        spec: ServiceSpec? = nil,
        adopted: Bool = false
    ) {
        self.id = id
        self.name = name
        self.labels = labels
        self.state = state
        self.health = health
        self.failingStreak = failingStreak
        self.exitCode = exitCode
        self.oomKilled = oomKilled
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.volumeNames = volumeNames
        self.endpoints = endpoints
        self.publishedPorts = publishedPorts
        self.imageID = imageID
        self.spec = spec
        self.adopted = adopted
    }

    public var project: String? { labels[LabelKey.project] }
    public var resourceName: String? { labels[LabelKey.name] }
    public var objectKind: ObjectKind? { labels[LabelKey.kind].flatMap(ObjectKind.init(rawValue:)) }
    public var replica: Int? { labels[LabelKey.replica].flatMap { Int($0) } }
    public var specHash: String? { labels[LabelKey.specHash] }
    /// The generation of the assignment it was made for; nil for one made without placement.
    public var assignmentGeneration: Int64? { labels[LabelKey.assignmentGeneration].flatMap { Int64($0) } }
}

/// A container's place on one network: how other containers (and people) reach it.
public struct ObservedEndpoint: Sendable, Hashable, Codable {
    /// The engine's network name (`host`, `none` and `bridge` included).
    public var network: String
    public var ipv4Address: String?
    public var ipv6Address: String?

    public init(network: String, ipv4Address: String? = nil, ipv6Address: String? = nil) {
        self.network = network
        self.ipv4Address = ipv4Address
        self.ipv6Address = ipv6Address
    }
}

/// A container port the engine publishes on the host.
public struct PublishedPort: Sendable, Hashable, Codable, CustomStringConvertible {
    public var hostIP: String
    public var hostPort: Int
    public var containerPort: Int
    public var transport: String

    public init(hostIP: String, hostPort: Int, containerPort: Int, transport: String) {
        self.hostIP = hostIP
        self.hostPort = hostPort
        self.containerPort = containerPort
        self.transport = transport
    }

    /// `127.0.0.1:8080->80/tcp`, as `docker ps` shows it.
    public var description: String {
        let host = hostIP.contains(":") ? "[\(hostIP)]" : hostIP
        return "\(host):\(hostPort)->\(containerPort)/\(transport)"
    }
}

/// A network as the engine reports it, with every container attached to it (Berth's or not).
public struct ObservedNetwork: Sendable, Hashable, Codable {
    public var name: String
    public var driver: String
    public var `internal`: Bool
    public var enableIPv6: Bool
    /// The subnets of its address management, in the engine's order.
    public var subnets: [String]
    public var labels: [String: String]
    /// Names of the containers attached to it.
    public var containers: [String]

    public init(
        name: String, driver: String = "bridge", internal isInternal: Bool = false, enableIPv6: Bool = false,
        subnets: [String] = [], labels: [String: String], containers: [String] = []
    ) {
        self.name = name
        self.driver = driver
        self.internal = isInternal
        self.enableIPv6 = enableIPv6
        self.subnets = subnets
        self.labels = labels
        self.containers = containers
    }

    public var project: String? { labels[LabelKey.project] }
    public var resourceName: String? { labels[LabelKey.name] }
    public var specHash: String? { labels[LabelKey.specHash] }
    public var reclaimPolicy: ReclaimPolicy {
        labels[LabelKey.reclaimPolicy].flatMap(ReclaimPolicy.init(rawValue:)) ?? .delete
    }
}

/// A volume as the engine reports it.
public struct ObservedVolume: Sendable, Hashable, Codable {
    public var name: String
    public var driver: String
    public var labels: [String: String]

    public init(name: String, driver: String = "local", labels: [String: String]) {
        self.name = name
        self.driver = driver
        self.labels = labels
    }

    public var project: String? { labels[LabelKey.project] }
    public var resourceName: String? { labels[LabelKey.name] }
    public var specHash: String? { labels[LabelKey.specHash] }
    public var reclaimPolicy: ReclaimPolicy {
        labels[LabelKey.reclaimPolicy].flatMap(ReclaimPolicy.init(rawValue:)) ?? .retain
    }
}
