import BerthCore
import Foundation

/// The coarse state of a resource, as `berth status` shows it.
public struct ResourcePhase: RawRepresentable, Sendable, Hashable, Codable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let pending = ResourcePhase(rawValue: "Pending")
    public static let progressing = ResourcePhase(rawValue: "Progressing")
    public static let ready = ResourcePhase(rawValue: "Ready")
    public static let degraded = ResourcePhase(rawValue: "Degraded")
    public static let failed = ResourcePhase(rawValue: "Failed")
    public static let deleting = ResourcePhase(rawValue: "Deleting")

    public var description: String { rawValue }
}

/// One condition on a resource's status (`Ready`, `Reconciling`, `Stalled`), in Flux's style.
public struct Condition: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        case ready = "Ready"
        case reconciling = "Reconciling"
        case stalled = "Stalled"
    }

    public enum Status: String, Sendable, Hashable, Codable, CaseIterable {
        case `true` = "True"
        case `false` = "False"
        case unknown = "Unknown"
    }

    public var type: Kind
    public var status: Status
    /// UpperCamel, machine-readable: `Converged`, `CrashLoopBackOff`, `InvalidSpec`.
    public var reason: String
    /// For a person; never a secret.
    public var message: String
    /// When `status` last changed.
    public var lastTransition: Date

    public init(type: Kind, status: Status, reason: String, message: String, lastTransition: Date) {
        self.type = type
        self.status = status
        self.reason = reason
        self.message = message
        self.lastTransition = lastTransition
    }
}

/// One container of a service as last observed: its state and how to reach it.
public struct ReplicaStatus: Sendable, Hashable, Codable {
    public var container: String
    public var state: String
    /// Its networks and addresses there (for an engine mode, the mode alone).
    public var networks: [ObservedEndpoint]
    /// Host ports published for it.
    public var ports: [PublishedPort]
    /// The engine's id of the container.
    public var containerID: String?
    /// The id of the image it runs (`sha256:…`): which build a tag named when it started.
    public var imageID: String?
    /// The replica's index (nil in statuses written before nodes placed replicas).
    public var replica: Int?
    /// The node whose engine runs it (nil in statuses written before nodes placed replicas).
    public var node: String?

    public init(
        container: String, state: String, networks: [ObservedEndpoint], ports: [PublishedPort], containerID: String? = nil, imageID: String? = nil,
        replica: Int? = nil, node: String? = nil
    ) {
        self.container = container
        self.state = state
        self.networks = networks
        self.ports = ports
        self.containerID = containerID
        self.imageID = imageID
        self.replica = replica
        self.node = node
    }

    /// `berth-shop-default 10.0.1.2, 127.0.0.1:8080->80/tcp`
    public var reachability: String {
        let places = networks.map { endpoint in
            [endpoint.network, endpoint.ipv4Address, endpoint.ipv6Address].compactMap { $0 }.joined(separator: " ")
        }
        return (places + ports.map(\.description)).joined(separator: ", ")
    }
}

/// The git revision a resource's desired state came from: what status shows of it.
public struct StatusRevision: Sendable, Hashable, Codable {
    /// The commit, 40 hex digits.
    public var sha: String
    public var subject: String
    /// `Name <email>`.
    public var author: String
    public var committedAt: Date

    public init(sha: String, subject: String, author: String, committedAt: Date) {
        self.sha = sha
        self.subject = subject
        self.author = author
        self.committedAt = committedAt
    }

    /// The first seven hex digits, as revisions are shown.
    public var shortSHA: String { String(sha.prefix(7)) }
}

/// What the controller last observed and did for one resource.
public struct ResourceStatus: Sendable, Hashable, Codable {
    public var id: ResourceID
    public var phase: ResourcePhase
    public var conditions: [Condition]
    /// The generation the resource was last Ready at.
    public var observedGeneration: Int64?
    public var restartCount: Int
    /// Services: how many replicas run and are ready, and how many are desired.
    public var readyReplicas: Int?
    public var desiredReplicas: Int?
    /// When a resource in backoff (a crash loop, a failed action) is tried again.
    public var nextAttemptAt: Date?
    /// Services: each replica's container and how to reach it.
    public var replicas: [ReplicaStatus]?
    /// The last action taken (`createContainer app-0`) and why (`missing`).
    public var lastAction: String?
    public var lastCause: String?
    /// With a git source: the revision the last pass converged this resource toward, and the
    /// one it last became ready at (they differ while a revision rolls out, or did not work).
    public var attemptedRevision: StatusRevision?
    public var appliedRevision: StatusRevision?
    public var updatedAt: Date
    /// A service's status is written by each node for the replicas it runs: the node that wrote
    /// this one (nil: a status every node shares, or one read back merged over the nodes).
    public var node: String?

    public init(
        id: ResourceID, phase: ResourcePhase, conditions: [Condition] = [], observedGeneration: Int64? = nil,
        restartCount: Int = 0, readyReplicas: Int? = nil, desiredReplicas: Int? = nil, nextAttemptAt: Date? = nil,
        replicas: [ReplicaStatus]? = nil, lastAction: String? = nil, lastCause: String? = nil,
        attemptedRevision: StatusRevision? = nil, appliedRevision: StatusRevision? = nil, updatedAt: Date, node: String? = nil
    ) {
        self.id = id
        self.phase = phase
        self.conditions = conditions
        self.observedGeneration = observedGeneration
        self.restartCount = restartCount
        self.readyReplicas = readyReplicas
        self.desiredReplicas = desiredReplicas
        self.nextAttemptAt = nextAttemptAt
        self.replicas = replicas
        self.lastAction = lastAction
        self.lastCause = lastCause
        self.attemptedRevision = attemptedRevision
        self.appliedRevision = appliedRevision
        self.updatedAt = updatedAt
        self.node = node
    }

    public func condition(_ type: Condition.Kind) -> Condition? {
        conditions.first { $0.type == type }
    }

    /// Sets a condition, keeping its `lastTransition` when the status did not change.
    public mutating func setCondition(_ type: Condition.Kind, _ status: Condition.Status, reason: String, message: String, now: Date) {
        if let index = conditions.firstIndex(where: { $0.type == type }) {
            let transition = conditions[index].status == status ? conditions[index].lastTransition : now
            conditions[index] = Condition(type: type, status: status, reason: reason, message: message, lastTransition: transition)
        } else {
            conditions.append(Condition(type: type, status: status, reason: reason, message: message, lastTransition: now))
        }
    }
}
