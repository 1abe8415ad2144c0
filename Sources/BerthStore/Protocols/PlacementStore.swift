import BerthCore
import Foundation

/// Where each service replica runs: the leader writes the assignments its placement makes, and
/// every node's controller reads those of its own node.
public protocol PlacementStore: Sendable {
    /// Every assignment, by service and replica.
    func assignments() async throws(StoreError) -> [ReplicaAssignment]
    /// Writes `assign` (new or moved replicas, each with its generation) and removes `unassign`
    /// (replicas of services that are gone or shrank), in one transaction. Only the holder of
    /// the leader lease `leaseName` may write: `stateConflict` when `holder` does not hold it.
    func updateAssignments(
        assign: [ReplicaAssignment], unassign: [(service: ResourceID, replica: Int)], leaseName: String, holder: String
    ) async throws(StoreError)
}
