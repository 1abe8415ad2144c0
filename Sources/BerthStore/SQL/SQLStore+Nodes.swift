import BerthCore
import Foundation

/// The nodes' rows (`NodeRegistry`): heartbeats, cordon and drain, removal. Times are the
/// store's clock (`SQLBackend.now(in:)`), read in the same round of work as the rows.
extension SQLStore {
    static let nodeColumns = """
        name, labels, engine_version, cpus, memory_bytes, running_jobs, running_replicas, max_concurrent_jobs, not_ready_after_ms, \
        heartbeat_at, registered_at, cordoned, draining
        """

    static func nodeRecord(_ row: SQLRow, readAt: Date) throws(StoreError) -> NodeRecord {
        NodeRecord(
            name: try row.requiredText(0), labels: try Coding.decode([String: String].self, from: try row.requiredText(1)),
            engineVersion: try row.requiredText(2), cpus: Int(try row.requiredInt(3)), memoryBytes: try row.requiredInt(4),
            runningJobs: Int(try row.requiredInt(5)), runningReplicas: Int(try row.requiredInt(6)), maxConcurrentJobs: Int(try row.requiredInt(7)),
            heartbeatAt: try row.requiredDate(9), registeredAt: try row.requiredDate(10),
            notReadyAfter: Double(try row.requiredInt(8)) / 1000, cordoned: row.bool(11), draining: row.bool(12), readAt: readAt
        )
    }

    @discardableResult
    public func heartbeat(_ node: NodeHeartbeat) async throws(StoreError) -> NodeRecord {
        do throws(ValidationError) {
            try NodeIdentity.validateName(node.node.name)
        } catch {
            throw .invalidArgument("node name: \(error)")
        }
        let labels = try Coding.encode(node.node.labels)
        return try await backend.write { [backend] tx throws(StoreError) in
            let now = try backend.now(in: tx)
            let row = try SQLStore.one(
                tx.run(
                    """
                    INSERT INTO nodes (\(SQLStore.nodeColumns))
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, FALSE, FALSE)
                    ON CONFLICT (name) DO UPDATE SET labels = excluded.labels, engine_version = excluded.engine_version, cpus = excluded.cpus,
                        memory_bytes = excluded.memory_bytes, running_jobs = excluded.running_jobs, running_replicas = excluded.running_replicas,
                        max_concurrent_jobs = excluded.max_concurrent_jobs, not_ready_after_ms = excluded.not_ready_after_ms,
                        heartbeat_at = excluded.heartbeat_at
                    RETURNING \(SQLStore.nodeColumns)
                    """,
                    .text(node.node.name), .text(labels), .text(node.engineVersion), .int(node.cpus), .int(node.memoryBytes), .int(node.runningJobs),
                    .int(node.runningReplicas), .int(node.maxConcurrentJobs), .int(Int64((node.notReadyAfter * 1000).rounded())), .date(now)
                ))
            return try SQLStore.nodeRecord(row, readAt: now)
        }
    }

    public func nodes() async throws(StoreError) -> [NodeRecord] {
        try await backend.read { [backend] connection throws(StoreError) in
            let now = try backend.now(in: SQLTransaction(connection: connection))
            var nodes: [NodeRecord] = []
            for row in try connection.run("SELECT \(SQLStore.nodeColumns) FROM nodes ORDER BY name") {
                nodes.append(try SQLStore.nodeRecord(row, readAt: now))
            }
            return nodes
        }
    }

    public func node(named name: String) async throws(StoreError) -> NodeRecord? {
        try await backend.read { [backend] connection throws(StoreError) in
            let now = try backend.now(in: SQLTransaction(connection: connection))
            return try connection.run("SELECT \(SQLStore.nodeColumns) FROM nodes WHERE name = $1", .text(name)).first.map {
                row throws(StoreError) in try SQLStore.nodeRecord(row, readAt: now)
            }
        }
    }

    @discardableResult
    public func setNodeScheduling(name: String, cordoned: Bool, draining: Bool) async throws(StoreError) -> NodeRecord {
        try await backend.write { [backend] tx throws(StoreError) in
            let now = try backend.now(in: tx)
            guard
                let row = try tx.run(
                    "UPDATE nodes SET cordoned = $2, draining = $3 WHERE name = $1 RETURNING \(SQLStore.nodeColumns)", .text(name), .bool(cordoned),
                    .bool(draining)
                ).first
            else { throw .notFound("node \(name)") }
            return try SQLStore.nodeRecord(row, readAt: now)
        }
    }

    public func removeNode(name: String, force: Bool) async throws(StoreError) {
        try await backend.write { [backend] tx throws(StoreError) in
            let now = try backend.now(in: tx)
            guard let row = try tx.run("SELECT \(SQLStore.nodeColumns) FROM nodes WHERE name = $1\(tx.dialect.forUpdate)", .text(name)).first else {
                throw .notFound("node \(name)")
            }
            let node = try SQLStore.nodeRecord(row, readAt: now)
            if node.isReady, !force {
                throw .stateConflict(
                    "node \(name) sent a heartbeat \(Int(node.heartbeatAge))s ago, so its controller still runs (it would register again); stop it first, or remove it with --force"
                )
            }
            try tx.run("DELETE FROM nodes WHERE name = $1", .text(name))
        }
    }
}
