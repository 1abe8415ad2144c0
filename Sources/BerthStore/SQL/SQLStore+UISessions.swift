import Foundation

/// The web UI's sessions (`UISessionStore`).
extension SQLStore {
    static let uiSessionColumns = "id, token_id, csrf, created_at, expires_at, revoked_at"

    static func uiSession(_ row: SQLRow, from first: Int = 0) throws(StoreError) -> UISession {
        UISession(
            id: try row.requiredText(first), tokenID: try row.requiredText(first + 1), csrf: try row.requiredText(first + 2),
            createdAt: try row.requiredDate(first + 3), expiresAt: try row.requiredDate(first + 4), revokedAt: try row.date(first + 5)
        )
    }

    public func createUISession(tokenID: String, lifetime: TimeInterval, now: Date) async throws(StoreError) -> (secret: String, session: UISession) {
        guard lifetime > 0 else { throw .invalidArgument("a session lives longer than 0 seconds; lifetime was \(lifetime)") }
        let secret = TokenSecret.generate()
        let csrf = TokenSecret.generate()
        let row = try await backend.write { tx throws(StoreError) -> SQLRow in
            guard !(try tx.run("SELECT id FROM tokens WHERE id = $1", .text(tokenID))).isEmpty else { throw .notFound("token \(tokenID)") }
            return try SQLStore.one(
                tx.run(
                    "INSERT INTO ui_sessions (\(SQLStore.uiSessionColumns)) VALUES ($1, $2, $3, $4, $5, NULL) RETURNING \(SQLStore.uiSessionColumns)",
                    .text(TokenSecret.hash(secret)), .text(tokenID), .text(csrf), .date(now), .date(now.addingTimeInterval(lifetime))
                ))
        }
        return (secret, try SQLStore.uiSession(row))
    }

    public func uiSession(secret: String, now: Date) async throws(StoreError) -> (session: UISession, token: TokenRecord)? {
        let tokenColumns = SQLStore.tokenColumns.split(separator: ", ").map { "t.\($0)" }.joined(separator: ", ")
        let sessionColumns = SQLStore.uiSessionColumns.split(separator: ", ").map { "s.\($0)" }.joined(separator: ", ")
        let row = try await backend.read { connection throws(StoreError) -> SQLRow? in
            try connection.run(
                """
                SELECT \(tokenColumns), \(sessionColumns) FROM ui_sessions s JOIN tokens t ON t.id = s.token_id
                WHERE s.id = $1 AND s.revoked_at IS NULL AND s.expires_at > $2
                    AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > $2)
                """,
                .text(TokenSecret.hash(secret)), .date(now)
            ).first
        }
        guard let row else { return nil }
        return (try SQLStore.uiSession(row, from: 9), try SQLStore.tokenRecord(row))
    }

    @discardableResult
    public func revokeUISession(_ id: String, now: Date) async throws(StoreError) -> Bool {
        try await backend.write { tx throws(StoreError) in
            !(try tx.run("UPDATE ui_sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL RETURNING id", .text(id), .date(now))).isEmpty
        }
    }

    @discardableResult
    public func pruneUISessions(before: Date) async throws(StoreError) -> Int {
        try await backend.write { tx throws(StoreError) in
            try tx.run("DELETE FROM ui_sessions WHERE expires_at < $1 OR revoked_at < $1 RETURNING id", .date(before)).count
        }
    }
}
