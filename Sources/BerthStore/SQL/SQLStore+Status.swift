import BerthCore
import Foundation

/// What the controller observed of each resource (`ResourceStore`).
extension SQLStore {
    /// Writes the row of `status.node` (a node's own row of a service; '' for a status every node
    /// shares).
    public func putStatus(_ status: ResourceStatus) async throws(StoreError) {
        let conditions = try Coding.encode(status.conditions)
        let replicas = try status.replicas.map { replicas throws(StoreError) in try Coding.encode(replicas) }
        let attempted = try status.attemptedRevision.map { revision throws(StoreError) in try Coding.encode(revision) }
        let applied = try status.appliedRevision.map { revision throws(StoreError) in try Coding.encode(revision) }
        _ = try await backend.write { tx throws(StoreError) in
            try tx.run(
                """
                INSERT INTO resource_status (\(SQLStore.statusColumns))
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
                ON CONFLICT (kind, project, name, node) DO UPDATE SET phase = excluded.phase, conditions = excluded.conditions,
                    observed_generation = excluded.observed_generation, restart_count = excluded.restart_count,
                    last_action = excluded.last_action, last_cause = excluded.last_cause, updated_at = excluded.updated_at,
                    ready_replicas = excluded.ready_replicas, desired_replicas = excluded.desired_replicas,
                    next_attempt_at = excluded.next_attempt_at, replicas = excluded.replicas,
                    attempted_revision = excluded.attempted_revision, applied_revision = excluded.applied_revision
                """,
                .text(status.id.kind.rawValue), .text(status.id.project), .text(status.id.name), .text(status.phase.rawValue),
                .text(conditions), .int(status.observedGeneration), .int(status.restartCount), .text(status.lastAction),
                .text(status.lastCause), .date(status.updatedAt), .int(status.readyReplicas), .int(status.desiredReplicas),
                .date(status.nextAttemptAt), .text(replicas), .text(attempted), .text(applied), .text(status.node ?? "")
            )
        }
    }

    /// The status merged over the rows the nodes wrote (`ResourceStatus.merged`).
    public func status(_ id: ResourceID) async throws(StoreError) -> ResourceStatus? {
        try await backend.read { [backend] connection throws(StoreError) in
            let rows = try connection.run(
                "SELECT \(SQLStore.statusColumns) FROM resource_status WHERE kind = $1 AND project = $2 AND name = $3",
                .text(id.kind.rawValue), .text(id.project), .text(id.name)
            )
            return try SQLStore.mergedStatuses(rows, project: id.project, on: connection, backend: backend).first
        }
    }

    /// One status per resource, each merged over the rows the nodes wrote (`ResourceStatus.merged`).
    public func statuses(project: String?) async throws(StoreError) -> [ResourceStatus] {
        try await backend.read { [backend] connection throws(StoreError) in
            let rows =
                if let project {
                    try connection.run("SELECT \(SQLStore.statusColumns) FROM resource_status WHERE project = $1", .text(project))
                } else {
                    try connection.run("SELECT \(SQLStore.statusColumns) FROM resource_status")
                }
            return try SQLStore.mergedStatuses(rows, project: project, on: connection, backend: backend)
        }
    }

    /// The rows `node` wrote, unmerged, and the shared rows of the resources it wrote none of.
    public func statuses(node: String) async throws(StoreError) -> [ResourceStatus] {
        try await backend.read { connection throws(StoreError) in
            var byID: [ResourceID: ResourceStatus] = [:]
            for row in try connection.run("SELECT \(SQLStore.statusColumns) FROM resource_status WHERE node = $1 OR node = ''", .text(node)) {
                let status = try SQLStore.resourceStatus(row)
                if byID[status.id]?.node == nil { byID[status.id] = status }
            }
            return byID.values.sorted { $0.id < $1.id }
        }
    }

    /// The statuses of `rows`, one per resource, sorted by id. Assignments (of `project`, or all)
    /// and nodes are read only when a node wrote a row of its own.
    private static func mergedStatuses(_ rows: [SQLRow], project: String?, on connection: any SQLConnection, backend: any SQLBackend) throws(StoreError)
        -> [ResourceStatus]
    {
        var byID: [ResourceID: [ResourceStatus]] = [:]
        for row in rows {
            let status = try resourceStatus(row)
            byID[status.id, default: []].append(status)
        }
        guard byID.values.contains(where: { $0.contains { $0.node != nil } }) else {
            return byID.values.flatMap { $0 }.sorted { $0.id < $1.id }
        }
        let assignments = try SQLStore.assignments(project: project, on: connection)
        let now = try backend.now(in: SQLTransaction(connection: connection))
        var nodes: [NodeRecord] = []
        for row in try connection.run("SELECT \(SQLStore.nodeColumns) FROM nodes") { nodes.append(try nodeRecord(row, readAt: now)) }
        let byService = Dictionary(grouping: assignments, by: \.service)
        return byID.map { id, rows in ResourceStatus.merged(rows, assignments: byService[id] ?? [], nodes: nodes) }.sorted { $0.id < $1.id }
    }

    /// Deletes the row `node` wrote, or with nil every row of the resource; returns whether
    /// there was one.
    @discardableResult
    public func deleteStatus(_ id: ResourceID, node: String?) async throws(StoreError) -> Bool {
        try await backend.write { tx throws(StoreError) in
            var sql = "DELETE FROM resource_status WHERE kind = $1 AND project = $2 AND name = $3"
            var parameters: [SQLValue] = [.text(id.kind.rawValue), .text(id.project), .text(id.name)]
            if let node {
                sql += " AND node = $4"
                parameters.append(.text(node))
            }
            return !(try tx.query(sql + " RETURNING name", parameters)).isEmpty
        }
    }
}
