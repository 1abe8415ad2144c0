import BerthCore
import Foundation

/// Issued certificates and the local CA (`CertificateMaterialStore`).
extension SQLStore {
    static let certificateMaterialColumns = "project, name, certificate_pem, key_pem, not_after, issued_at"
    static let certificateAuthorityColumns = "name, certificate_pem, key_pem, created_at"

    static func certificateAuthority(_ row: SQLRow) throws(StoreError) -> StoredCertificateAuthority {
        StoredCertificateAuthority(
            name: try row.requiredText(0), certificatePEM: try row.requiredText(1), keyPEM: try row.requiredText(2), createdAt: try row.requiredDate(3))
    }

    public func putCertificateMaterial(_ material: CertificateMaterial) async throws(StoreError) {
        guard material.id.kind == .certificate else { throw .invalidArgument("only a Certificate has certificate material, not \(material.id)") }
        try await backend.write { tx throws(StoreError) in
            try tx.run(
                """
                INSERT INTO certificate_material (\(SQLStore.certificateMaterialColumns)) VALUES ($1, $2, $3, $4, $5, $6)
                ON CONFLICT (project, name) DO UPDATE SET certificate_pem = excluded.certificate_pem, key_pem = excluded.key_pem,
                    not_after = excluded.not_after, issued_at = excluded.issued_at
                """,
                .text(material.id.project), .text(material.id.name), .text(material.certificatePEM), .text(material.keyPEM),
                .date(material.notAfter), .date(material.issuedAt)
            )
        }
    }

    public func certificateMaterial(_ id: ResourceID) async throws(StoreError) -> CertificateMaterial? {
        guard id.kind == .certificate else { return nil }
        let row = try await backend.read { connection throws(StoreError) -> SQLRow? in
            try connection.run(
                "SELECT \(SQLStore.certificateMaterialColumns) FROM certificate_material WHERE project = $1 AND name = $2", .text(id.project),
                .text(id.name)
            ).first
        }
        guard let row else { return nil }
        return CertificateMaterial(
            id: id, certificatePEM: try row.requiredText(2), keyPEM: try row.requiredText(3), notAfter: try row.requiredDate(4),
            issuedAt: try row.requiredDate(5))
    }

    public func certificateAuthority(_ name: String, creatingWith candidate: StoredCertificateAuthority) async throws(StoreError)
        -> StoredCertificateAuthority
    {
        let row = try await backend.write { tx throws(StoreError) -> SQLRow in
            try tx.run(
                "INSERT INTO certificate_authority (\(SQLStore.certificateAuthorityColumns)) VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING",
                .text(name), .text(candidate.certificatePEM), .text(candidate.keyPEM), .date(candidate.createdAt)
            )
            return try SQLStore.one(
                tx.run("SELECT \(SQLStore.certificateAuthorityColumns) FROM certificate_authority WHERE name = $1", .text(name)))
        }
        return try SQLStore.certificateAuthority(row)
    }

    public func certificateAuthority(_ name: String) async throws(StoreError) -> StoredCertificateAuthority? {
        let row = try await backend.read { connection throws(StoreError) -> SQLRow? in
            try connection.run("SELECT \(SQLStore.certificateAuthorityColumns) FROM certificate_authority WHERE name = $1", .text(name)).first
        }
        guard let row else { return nil }
        return try SQLStore.certificateAuthority(row)
    }
}
