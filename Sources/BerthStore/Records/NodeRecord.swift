import BerthCore
import Foundation

/// How a node stands, as `berth nodes` shows it. One state per node, the first that holds of:
/// `draining` (drained: nothing new, its work moves off), `cordoned` (nothing new is placed
/// there), `notReady` (no heartbeat within its timeout), `ready`. A cordoned or draining node
/// whose heartbeat is late is still shown as cordoned or draining; `NodeRecord.isReady` and
/// `isSchedulable` tell the two sides apart.
public enum NodeState: String, Sendable, Hashable, Codable, CaseIterable {
    case ready = "Ready"
    case notReady = "NotReady"
    case cordoned = "Cordoned"
    case draining = "Draining"
}

/// One node (a `berth serve --node NAME` controller) as the store keeps it: what its last
/// heartbeat said, when that was on the store's clock, and whether an operator cordoned or
/// drained it.
public struct NodeRecord: Sendable, Hashable {
    public var name: String
    public var labels: [String: String]
    /// The engine's version (`/info`'s `ServerVersion`); empty until the engine answered.
    public var engineVersion: String
    public var cpus: Int
    public var memoryBytes: Int64
    /// Jobs its controller was running at its last heartbeat.
    public var runningJobs: Int
    /// Service replicas running on its engine after its last pass.
    public var runningReplicas: Int
    /// Its `--max-concurrent-jobs`.
    public var maxConcurrentJobs: Int
    /// Its last heartbeat, on the store's clock (as job leases are).
    public var heartbeatAt: Date
    /// Its first heartbeat, on the store's clock.
    public var registeredAt: Date
    /// The node's own `--node-timeout`: a heartbeat older than this means NotReady.
    public var notReadyAfter: TimeInterval
    public var cordoned: Bool
    public var draining: Bool
    /// The store's clock when the row was read: the `now` its state is judged at.
    public var readAt: Date

    public init(
        name: String, labels: [String: String], engineVersion: String, cpus: Int, memoryBytes: Int64, runningJobs: Int, runningReplicas: Int,
        maxConcurrentJobs: Int, heartbeatAt: Date, registeredAt: Date, notReadyAfter: TimeInterval, cordoned: Bool, draining: Bool, readAt: Date
    ) {
        self.name = name
        self.labels = labels
        self.engineVersion = engineVersion
        self.cpus = cpus
        self.memoryBytes = memoryBytes
        self.runningJobs = runningJobs
        self.runningReplicas = runningReplicas
        self.maxConcurrentJobs = maxConcurrentJobs
        self.heartbeatAt = heartbeatAt
        self.registeredAt = registeredAt
        self.notReadyAfter = notReadyAfter
        self.cordoned = cordoned
        self.draining = draining
        self.readAt = readAt
    }

    /// The node's state at `now` when a heartbeat older than `notReadyAfter` means NotReady.
    public func state(now: Date, notReadyAfter: TimeInterval) -> NodeState {
        if draining { return .draining }
        if cordoned { return .cordoned }
        return isReady(now: now, notReadyAfter: notReadyAfter) ? .ready : .notReady
    }

    /// The state when the row was read, by the node's own timeout.
    public var state: NodeState { state(now: readAt, notReadyAfter: notReadyAfter) }

    /// Whether its heartbeat is recent at `now`, cordoned or not.
    public func isReady(now: Date, notReadyAfter: TimeInterval) -> Bool {
        now.timeIntervalSince(heartbeatAt) <= notReadyAfter
    }

    /// Whether its heartbeat was recent when the row was read, by its own timeout.
    public var isReady: Bool { isReady(now: readAt, notReadyAfter: notReadyAfter) }

    /// Whether new work may go there: ready, neither cordoned nor draining.
    public var isSchedulable: Bool { state == .ready }

    /// Seconds since its heartbeat when the row was read.
    public var heartbeatAge: TimeInterval { max(0, readAt.timeIntervalSince(heartbeatAt)) }

    public var identity: NodeIdentity { NodeIdentity(name: name, labels: labels) }

    /// The node as `PlacementPlanner` sees it when the row was read: NotReady since its last
    /// heartbeat plus its timeout. Plan with `readAt` as `now`, the same store clock.
    public var placementNode: PlacementNode {
        PlacementNode(
            name: name, labels: labels, ready: isReady, cordoned: cordoned, draining: draining,
            notReadySince: isReady ? nil : heartbeatAt.addingTimeInterval(notReadyAfter))
    }
}

/// What a node's controller writes every few seconds (`NodeRegistry.heartbeat`).
public struct NodeHeartbeat: Sendable, Hashable {
    public var node: NodeIdentity
    public var engineVersion: String
    public var cpus: Int
    public var memoryBytes: Int64
    public var runningJobs: Int
    public var runningReplicas: Int
    public var maxConcurrentJobs: Int
    /// The node's `--node-timeout`.
    public var notReadyAfter: TimeInterval

    public init(
        node: NodeIdentity, engineVersion: String, cpus: Int, memoryBytes: Int64, runningJobs: Int, runningReplicas: Int, maxConcurrentJobs: Int,
        notReadyAfter: TimeInterval
    ) {
        self.node = node
        self.engineVersion = engineVersion
        self.cpus = cpus
        self.memoryBytes = memoryBytes
        self.runningJobs = runningJobs
        self.runningReplicas = runningReplicas
        self.maxConcurrentJobs = maxConcurrentJobs
        self.notReadyAfter = notReadyAfter
    }
}
