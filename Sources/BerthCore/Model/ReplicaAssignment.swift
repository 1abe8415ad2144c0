import Foundation

/// Which node runs one replica of a service, as the leader placed it (`placement` in the
/// manifest). The generation grows by one each time the replica moves to another node, and the
/// replica's container carries it (label `berth.assignment-generation`), so a container left
/// from an earlier placement is told apart from the current one.
public struct ReplicaAssignment: Sendable, Hashable, Codable {
    public var service: ResourceID
    /// The replica's index, 0 ..< replicas; container names keep it whichever node runs it.
    public var replica: Int
    public var node: String
    public var generation: Int64
    /// When it was placed on `node`, on the store's clock.
    public var assignedAt: Date

    public init(service: ResourceID, replica: Int, node: String, generation: Int64, assignedAt: Date) {
        self.service = service
        self.replica = replica
        self.node = node
        self.generation = generation
        self.assignedAt = assignedAt
    }
}
