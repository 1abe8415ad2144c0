import BerthCore
import Foundation

/// What the controller observed of each resource (`ResourceStore`).
extension SQLStore {
    public func putStatus(_ status: ResourceStatus) async throws(StoreError) {
        let conditions = try Coding.encode(status.conditions)
        let replicas = try status.replicas.map { replicas throws(StoreError) in try Coding.encode(replicas) }
        let attempted = try status.attemptedRevision.map { revision throws(StoreError) in try Coding.encode(revision) }
        let applied = try status.appliedRevision.map { revision throws(StoreError) in try Coding.encode(revision) }
        _ = try await backend.write { tx throws(StoreError) in
            try tx.run(
                """
                INSERT INTO resource_status (\(SQLStore.statusColumns)) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
                ON CONFLICT (kind, project, name) DO UPDATE SET phase = excluded.phase, conditions = excluded.conditions,
                    observed_generation = excluded.observed_generation, restart_count = excluded.restart_count,
                    last_action = excluded.last_action, last_cause = excluded.last_cause, updated_at = excluded.updated_at,
                    ready_replicas = excluded.ready_replicas, desired_replicas = excluded.desired_replicas,
                    next_attempt_at = excluded.next_attempt_at, replicas = excluded.replicas,
                    attempted_revision = excluded.attempted_revision, applied_revision = excluded.applied_revision
                """,
                .text(status.id.kind.rawValue), .text(status.id.project), .text(status.id.name), .text(status.phase.rawValue),
                .text(conditions), .int(status.observedGeneration), .int(status.restartCount), .text(status.lastAction),
                .text(status.lastCause), .date(status.updatedAt), .int(status.readyReplicas), .int(status.desiredReplicas),
                .date(status.nextAttemptAt), .text(replicas), .text(attempted), .text(applied)
            )
        }
    }

    public func status(_ id: ResourceID) async throws(StoreError) -> ResourceStatus? {
        try await backend.read { connection throws(StoreError) in
            try connection.run(
                "SELECT \(SQLStore.statusColumns) FROM resource_status WHERE kind = $1 AND project = $2 AND name = $3",
                .text(id.kind.rawValue), .text(id.project), .text(id.name)
            ).first.map(SQLStore.resourceStatus)
        }
    }

    public func statuses(project: String?) async throws(StoreError) -> [ResourceStatus] {
        let rows = try await backend.read { connection throws(StoreError) in
            if let project {
                return try connection.run("SELECT \(SQLStore.statusColumns) FROM resource_status WHERE project = $1", .text(project))
            }
            return try connection.run("SELECT \(SQLStore.statusColumns) FROM resource_status")
        }
        var result: [ResourceStatus] = []
        for row in rows { result.append(try SQLStore.resourceStatus(row)) }
        return result.sorted { $0.id < $1.id }
    }

    @discardableResult
    public func deleteStatus(_ id: ResourceID) async throws(StoreError) -> Bool {
        try await backend.write { tx throws(StoreError) in
            !(try tx.run(
                "DELETE FROM resource_status WHERE kind = $1 AND project = $2 AND name = $3 RETURNING name",
                .text(id.kind.rawValue), .text(id.project), .text(id.name)
            )).isEmpty
        }
    }
}
