import BerthCore
import Foundation

/// Which node runs each service replica (`PlacementStore`): written by the leader alone, fenced
/// by its lease in the same transaction.
extension SQLStore {
    static let assignmentColumns = "project, name, replica, node, generation, assigned_at"

    static func replicaAssignment(_ row: SQLRow) throws(StoreError) -> ReplicaAssignment {
        ReplicaAssignment(
            service: ResourceID(kind: .service, project: try row.requiredText(0), name: try row.requiredText(1)),
            replica: Int(try row.requiredInt(2)), node: try row.requiredText(3), generation: try row.requiredInt(4),
            assignedAt: try row.requiredDate(5)
        )
    }

    public func assignments() async throws(StoreError) -> [ReplicaAssignment] {
        try await backend.read { connection throws(StoreError) in
            try SQLStore.assignments(project: nil, on: connection)
        }
    }

    /// Every assignment, or those of one project, by service and replica.
    static func assignments(project: String?, on connection: any SQLConnection) throws(StoreError) -> [ReplicaAssignment] {
        let rows =
            if let project {
                try connection.run(
                    "SELECT \(assignmentColumns) FROM replica_assignments WHERE project = $1 ORDER BY project, name, replica", .text(project))
            } else {
                try connection.run("SELECT \(assignmentColumns) FROM replica_assignments ORDER BY project, name, replica")
            }
        var assignments: [ReplicaAssignment] = []
        for row in rows { assignments.append(try replicaAssignment(row)) }
        return assignments
    }

    /// Each service whose assignments changed gets a wake-up, so every node converges the
    /// replicas it gained or lost without waiting for its next resync.
    public func updateAssignments(
        assign: [ReplicaAssignment], unassign: [(service: ResourceID, replica: Int)], leaseName: String, holder: String
    ) async throws(StoreError) {
        guard !assign.isEmpty || !unassign.isEmpty else { return }
        if let wrong = (assign.map(\.service) + unassign.map(\.service)).first(where: { $0.kind != .service }) {
            throw .invalidArgument("only a Service's replicas are placed, not \(wrong)")
        }
        let holdsLease = try await backend.leadershipCheck(name: leaseName, holder: holder)
        try await backend.write { tx throws(StoreError) in
            guard try holdsLease(tx) else {
                throw .stateConflict("\(holder) does not hold the leader lease \(leaseName): only the leader places replicas")
            }
            for assignment in assign {
                try tx.run(
                    """
                    INSERT INTO replica_assignments (\(SQLStore.assignmentColumns)) VALUES ($1, $2, $3, $4, $5, $6)
                    ON CONFLICT (project, name, replica) DO UPDATE SET node = excluded.node, generation = excluded.generation,
                        assigned_at = excluded.assigned_at
                    """,
                    .text(assignment.service.project), .text(assignment.service.name), .int(assignment.replica), .text(assignment.node),
                    .int(assignment.generation), .date(assignment.assignedAt)
                )
                tx.notify(.resourceChanged(assignment.service))
            }
            for (service, replica) in unassign {
                try tx.run(
                    "DELETE FROM replica_assignments WHERE project = $1 AND name = $2 AND replica = $3", .text(service.project), .text(service.name),
                    .int(replica))
                tx.notify(.resourceChanged(service))
            }
        }
    }
}
