import BerthStore
import Foundation

/// A node as `GET /v1/nodes` and `berth nodes --json` show it: its state on the store's clock,
/// what its last heartbeat said, and how it is scheduled.
public struct NodeView: Codable, Sendable, Hashable {
    public var name: String
    /// `Ready`, `NotReady`, `Cordoned` or `Draining` (draining over cordoned over not ready).
    public var state: String
    /// Whether its heartbeat is recent (by its own `--node-timeout`), cordoned or not.
    public var ready: Bool
    /// Whether new work goes there: ready, neither cordoned nor draining.
    public var schedulable: Bool
    public var cordoned: Bool
    public var draining: Bool
    public var labels: [String: String]
    public var engineVersion: String
    public var cpus: Int
    public var memoryBytes: Int64
    public var runningJobs: Int
    public var runningReplicas: Int
    public var maxConcurrentJobs: Int
    public var heartbeatAt: Date
    /// Seconds between its last heartbeat and the read, on the store's clock.
    public var heartbeatAgeSeconds: Double
    /// Its `--node-timeout` in seconds.
    public var notReadyAfterSeconds: Double
    public var registeredAt: Date

    public init(_ node: NodeRecord) {
        name = node.name
        state = node.state.rawValue
        ready = node.isReady
        schedulable = node.isSchedulable
        cordoned = node.cordoned
        draining = node.draining
        labels = node.labels
        engineVersion = node.engineVersion
        cpus = node.cpus
        memoryBytes = node.memoryBytes
        runningJobs = node.runningJobs
        runningReplicas = node.runningReplicas
        maxConcurrentJobs = node.maxConcurrentJobs
        heartbeatAt = node.heartbeatAt
        heartbeatAgeSeconds = (node.heartbeatAge * 1000).rounded() / 1000
        notReadyAfterSeconds = node.notReadyAfter
        registeredAt = node.registeredAt
    }
}
