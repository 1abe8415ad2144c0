import BerthCore
import Foundation

/// API tokens (`TokenStore`).
extension SQLStore {
    public func createToken(name: String, scopes: [TokenScope], project: String?, expiresAt: Date?, now: Date) async throws(StoreError) -> (token: String, record: TokenRecord) {
        try await insertToken(name: name, scopes: scopes, project: project, jobID: nil, expiresAt: expiresAt, now: now)
    }

    public func createJobToken(jobID: String, now: Date) async throws(StoreError) -> (token: String, record: TokenRecord) {
        try await insertToken(name: "job \(jobID)", scopes: [.job], project: nil, jobID: jobID, expiresAt: nil, now: now)
    }

    /// A new token; a job's (`jobID`) takes the job's project, and only while the job has not ended.
    private func insertToken(name: String, scopes: [TokenScope], project: String?, jobID: String?, expiresAt: Date?, now: Date) async throws(StoreError) -> (token: String, record: TokenRecord) {
        guard !scopes.isEmpty else { throw .invalidArgument("a token needs at least one scope") }
        guard scopes.allSatisfy({ !$0.rawValue.isEmpty && !$0.rawValue.contains(" ") }) else {
            throw .invalidArgument("a scope is one word, such as jobs:write")
        }
        let token = TokenSecret.generate()
        let hash = TokenSecret.hash(token)
        let id = StoreID.make(now: now)
        let scopeText = Set(scopes).sorted().map(\.rawValue).joined(separator: " ")
        let row = try await backend.write { tx throws(StoreError) -> SQLRow in
            var project = project
            if let jobID {
                guard let job = try tx.run("SELECT project, state FROM jobs WHERE id = $1", .text(jobID)).first else {
                    throw .notFound("job \(jobID)")
                }
                if let state = JobState(rawValue: try job.requiredText(1)), state.isTerminal {
                    throw .invalidArgument("job \(jobID) has ended (\(state)); its worker needs no token")
                }
                project = try job.requiredText(0)
            }
            return try SQLStore.one(
                tx.run(
                    """
                    INSERT INTO tokens (id, name, hash, scopes, project, job_id, created_at, expires_at)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING \(SQLStore.tokenColumns)
                    """,
                    .text(id), .text(name), .text(hash), .text(scopeText), .text(project), .text(jobID), .date(now), .date(expiresAt)
                ))
        }
        return (token, try SQLStore.tokenRecord(row))
    }

    public func authenticate(token: String, now: Date) async throws(StoreError) -> TokenRecord? {
        let hash = TokenSecret.hash(token)
        let (known, mark) = validTokens.record(hash: hash, now: now)
        if let known { return known }
        guard let record = try await lookUp(hash: hash, now: now) else { return nil }
        validTokens.remember(hash: hash, record, now: now, since: mark)
        return record
    }

    private func lookUp(hash: String, now: Date) async throws(StoreError) -> TokenRecord? {
        let valid = "hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)"
        let found = try await backend.read { connection throws(StoreError) -> SQLRow? in
            try connection.run("SELECT \(SQLStore.tokenColumns) FROM tokens WHERE \(valid)", .text(hash), .date(now)).first
        }
        guard let found else { return nil }
        let record = try SQLStore.tokenRecord(found)
        // A busy token is not a durable write per request: its last use is kept to the minute.
        if let used = record.lastUsedAt, now.timeIntervalSince(used) < SQLStore.lastUsedInterval { return record }
        // Revoked or expired meanwhile: the update finds no row, and the token is refused.
        let row = try await backend.write { tx throws(StoreError) -> SQLRow? in
            try tx.run("UPDATE tokens SET last_used_at = $2 WHERE \(valid) RETURNING \(SQLStore.tokenColumns)", .text(hash), .date(now)).first
        }
        return try row.map(SQLStore.tokenRecord)
    }

    /// How stale a token's `lastUsedAt` may get before a request writes it again.
    static let lastUsedInterval: TimeInterval = 60

    public func tokens() async throws(StoreError) -> [TokenRecord] {
        let rows = try await backend.read { connection throws(StoreError) in
            try connection.run("SELECT \(SQLStore.tokenColumns) FROM tokens WHERE job_id IS NULL ORDER BY id")
        }
        var records: [TokenRecord] = []
        for row in rows { records.append(try SQLStore.tokenRecord(row)) }
        return records
    }

    @discardableResult
    public func revokeToken(_ id: String, now: Date) async throws(StoreError) -> Bool {
        let revoked = try await backend.write { tx throws(StoreError) in
            !(try tx.run("UPDATE tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL RETURNING id", .text(id), .date(now))).isEmpty
        }
        validTokens.forget { $0.id == id }
        return revoked
    }
}
