import BerthCore
import Foundation

/// Adopted containers (`AdoptionStore`).
extension SQLStore {
    static let adoptionColumns = "container_id, container_name, project, service, replica, adopted_at"

    public func recordAdoptions(_ adoptions: [Adoption]) async throws(StoreError) {
        guard !adoptions.isEmpty else { return }
        for adoption in adoptions where adoption.service.kind != .service || adoption.replica < 0 {
            throw .invalidArgument("an adoption names a replica (0 or more) of a Service, not \(adoption.service) replica \(adoption.replica)")
        }
        _ = try await backend.write { tx throws(StoreError) in
            for adoption in adoptions {
                try tx.run(
                    "DELETE FROM adoptions WHERE container_id = $1 OR (project = $2 AND service = $3 AND replica = $4)",
                    .text(adoption.containerID), .text(adoption.service.project), .text(adoption.service.name), .int(adoption.replica)
                )
                try tx.run(
                    "INSERT INTO adoptions (\(SQLStore.adoptionColumns)) VALUES ($1, $2, $3, $4, $5, $6)",
                    .text(adoption.containerID), .text(adoption.containerName), .text(adoption.service.project), .text(adoption.service.name),
                    .int(adoption.replica), .date(adoption.adoptedAt)
                )
            }
        }
    }

    public func adoptions(project: String?) async throws(StoreError) -> [Adoption] {
        let order = "ORDER BY project, service, replica"
        let rows = try await backend.read { connection throws(StoreError) in
            if let project {
                return try connection.run("SELECT \(SQLStore.adoptionColumns) FROM adoptions WHERE project = $1 \(order)", .text(project))
            }
            return try connection.run("SELECT \(SQLStore.adoptionColumns) FROM adoptions \(order)")
        }
        var adoptions: [Adoption] = []
        for row in rows {
            adoptions.append(
                Adoption(
                    containerID: try row.requiredText(0), containerName: try row.requiredText(1),
                    service: ResourceID(kind: .service, project: try row.requiredText(2), name: try row.requiredText(3)),
                    replica: Int(try row.requiredInt(4)), adoptedAt: try row.requiredDate(5)
                ))
        }
        return adoptions
    }

    @discardableResult
    public func forgetAdoption(containerID: String) async throws(StoreError) -> Bool {
        try await backend.write { tx throws(StoreError) in
            !(try tx.run("DELETE FROM adoptions WHERE container_id = $1 RETURNING container_id", .text(containerID))).isEmpty
        }
    }
}
