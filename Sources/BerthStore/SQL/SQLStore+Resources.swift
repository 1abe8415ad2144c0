import BerthCore
import Foundation

/// Desired resources (`ResourceStore`).
extension SQLStore {
    @discardableResult
    public func putResource(_ resource: Resource, source: ResourceSource, now: Date) async throws(StoreError) -> StoredResource {
        let document = try Coding.encodeResource(resource)
        let id = resource.id
        // The row is locked while it is read and changed, and a create that finds the row made
        // meanwhile by another writer reads it again: concurrent writes of one resource all land
        // (SKIP LOCKED here made the second writer miss the row and fail on its insert).
        return try await backend.write { tx throws(StoreError) in
            for _ in 0..<2 {
                if let existing = try tx.run(
                    "SELECT document, generation, deleted_at FROM resources WHERE kind = $1 AND project = $2 AND name = $3\(tx.dialect.forUpdate)",
                    .text(id.kind.rawValue), .text(id.project), .text(id.name)
                ).first {
                    let changed = try existing.requiredText(0) != document || existing.text(2) != nil
                    let generation = try existing.requiredInt(1) + (changed ? 1 : 0)
                    let rows = try tx.run(
                        """
                        UPDATE resources SET document = $4, generation = $5, source = $6, updated_at = CASE WHEN $7 THEN $8 ELSE updated_at END,
                            deleted_at = NULL
                        WHERE kind = $1 AND project = $2 AND name = $3 RETURNING \(SQLStore.resourceColumns)
                        """,
                        .text(id.kind.rawValue), .text(id.project), .text(id.name), .text(document), .int(generation),
                        .text(source.rawValue), .bool(changed), .date(now)
                    )
                    if changed { tx.notify(.resourceChanged(id)) }
                    guard let row = rows.first else { throw .database("writing \(id) returned no row") }
                    return try SQLStore.storedResource(row)
                }
                if let row = try tx.run(
                    """
                    INSERT INTO resources (kind, project, name, document, generation, source, created_at, updated_at)
                    VALUES ($1, $2, $3, $4, 1, $5, $6, $6) ON CONFLICT (kind, project, name) DO NOTHING RETURNING \(SQLStore.resourceColumns)
                    """,
                    .text(id.kind.rawValue), .text(id.project), .text(id.name), .text(document), .text(source.rawValue), .date(now)
                ).first {
                    tx.notify(.resourceChanged(id))
                    return try SQLStore.storedResource(row)
                }
            }
            throw .database("writing \(id) found neither its row nor room to create it")
        }
    }

    public func resource(_ id: ResourceID) async throws(StoreError) -> StoredResource? {
        let row = try await backend.read { connection throws(StoreError) in
            try connection.run(
                "SELECT \(SQLStore.resourceColumns) FROM resources WHERE kind = $1 AND project = $2 AND name = $3",
                .text(id.kind.rawValue), .text(id.project), .text(id.name)
            ).first
        }
        return try row.map(SQLStore.storedResource)
    }

    public func resources(kind: ResourceKind?, project: String?, includeDeleted: Bool) async throws(StoreError) -> [StoredResource] {
        var conditions: [String] = []
        var parameters: [SQLValue] = []
        if let kind {
            parameters.append(.text(kind.rawValue))
            conditions.append("kind = $\(parameters.count)")
        }
        if let project {
            parameters.append(.text(project))
            conditions.append("project = $\(parameters.count)")
        }
        if !includeDeleted { conditions.append("deleted_at IS NULL") }
        let whereClause = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        let rows = try await backend.read { [parameters] connection throws(StoreError) in
            try connection.query("SELECT \(SQLStore.resourceColumns) FROM resources\(whereClause)", parameters)
        }
        var result: [StoredResource] = []
        for row in rows { result.append(try SQLStore.storedResource(row)) }
        return result.sorted { $0.id < $1.id }
    }

    @discardableResult
    public func deleteResource(_ id: ResourceID, now: Date) async throws(StoreError) -> StoredResource? {
        try await backend.write { tx throws(StoreError) in
            let rows = try tx.run(
                """
                UPDATE resources SET deleted_at = $4, generation = generation + 1, updated_at = $4
                WHERE kind = $1 AND project = $2 AND name = $3 AND deleted_at IS NULL RETURNING \(SQLStore.resourceColumns)
                """,
                .text(id.kind.rawValue), .text(id.project), .text(id.name), .date(now)
            )
            if let row = rows.first {
                tx.notify(.resourceChanged(id))
                return try SQLStore.storedResource(row)
            }
            return try tx.run(
                "SELECT \(SQLStore.resourceColumns) FROM resources WHERE kind = $1 AND project = $2 AND name = $3",
                .text(id.kind.rawValue), .text(id.project), .text(id.name)
            ).first.map(SQLStore.storedResource)
        }
    }

    @discardableResult
    public func purgeResource(_ id: ResourceID) async throws(StoreError) -> Bool {
        try await backend.write { tx throws(StoreError) in
            let key: [SQLValue] = [.text(id.kind.rawValue), .text(id.project), .text(id.name)]
            try tx.query("DELETE FROM resource_status WHERE kind = $1 AND project = $2 AND name = $3", key)
            if id.kind == .certificate {
                try tx.run("DELETE FROM certificate_material WHERE project = $1 AND name = $2", .text(id.project), .text(id.name))
            }
            return !(try tx.query("DELETE FROM resources WHERE kind = $1 AND project = $2 AND name = $3 RETURNING name", key)).isEmpty
        }
    }
}
