import Foundation

/// The git source's revisions and state (`SourceLog`).
extension SQLStore {
    /// Revision records kept: the newest by attempt, besides those the source state names.
    static let keptSourceRevisions = 1000

    static let sourceStateColumns = """
        url, ref, path, head, last_fetch_at, last_fetch_error, last_successful_sync_at, applied, attempted, pinned
        """

    public func recordSourceRevision(_ record: SourceRevisionRecord) async throws(StoreError) {
        try await recordSourceRevision(record, keeping: SQLStore.keptSourceRevisions)
    }

    /// Records `record`, then deletes the records beyond the newest `keeping` that the source
    /// state does not name.
    func recordSourceRevision(_ record: SourceRevisionRecord, keeping: Int) async throws(StoreError) {
        let errors = try Coding.encode(record.errors)
        _ = try await backend.write { tx throws(StoreError) in
            try tx.run(
                """
                INSERT INTO source_revisions (\(SQLStore.sourceRevisionColumns)) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                ON CONFLICT (sha) DO UPDATE SET subject = excluded.subject, author = excluded.author,
                    committed_at = excluded.committed_at, outcome = excluded.outcome, attempted_at = excluded.attempted_at,
                    applied_at = excluded.applied_at, healthy_at = excluded.healthy_at, failed_at = excluded.failed_at,
                    errors = excluded.errors, rolled_back_to = excluded.rolled_back_to
                """,
                .text(record.sha), .text(record.subject), .text(record.author), .date(record.committedAt), .text(record.outcome.rawValue),
                .date(record.attemptedAt), .date(record.appliedAt), .date(record.healthyAt), .date(record.failedAt), .text(errors),
                .text(record.rolledBackTo)
            )
            try tx.run(
                """
                DELETE FROM source_revisions
                WHERE sha NOT IN (SELECT sha FROM source_revisions ORDER BY attempted_at DESC, sha DESC LIMIT $1)
                    AND NOT EXISTS (SELECT 1 FROM source_state s WHERE source_revisions.sha IN (s.applied, s.attempted, s.pinned))
                """,
                .int(max(1, keeping))
            )
        }
    }

    public func sourceRevisions(limit: Int) async throws(StoreError) -> [SourceRevisionRecord] {
        guard limit > 0 else { throw .invalidArgument("a history read reads at least one revision; limit was \(limit)") }
        let rows = try await backend.read { connection throws(StoreError) in
            try connection.run("SELECT \(SQLStore.sourceRevisionColumns) FROM source_revisions ORDER BY attempted_at DESC, sha DESC LIMIT $1", .int(limit))
        }
        return try SQLStore.sourceRevisionRecords(rows)
    }

    public func sourceRevisions(prefix: String, limit: Int) async throws(StoreError) -> [SourceRevisionRecord] {
        // Hex digits only, so the pattern holds no LIKE wildcard of the caller's.
        guard !prefix.isEmpty, prefix.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else {
            throw .invalidArgument("a sha prefix is lowercase hex digits, not \"\(prefix)\"")
        }
        guard limit > 0 else { throw .invalidArgument("a history read reads at least one revision; limit was \(limit)") }
        let rows = try await backend.read { connection throws(StoreError) in
            try connection.run(
                "SELECT \(SQLStore.sourceRevisionColumns) FROM source_revisions WHERE sha LIKE $1 ORDER BY attempted_at DESC, sha DESC LIMIT $2",
                .text(prefix + "%"), .int(limit)
            )
        }
        return try SQLStore.sourceRevisionRecords(rows)
    }

    public func sourceRevision(sha: String) async throws(StoreError) -> SourceRevisionRecord? {
        let rows = try await backend.read { connection throws(StoreError) in
            try connection.run("SELECT \(SQLStore.sourceRevisionColumns) FROM source_revisions WHERE sha = $1", .text(sha))
        }
        return try SQLStore.sourceRevisionRecords(rows).first
    }

    public func sourceState() async throws(StoreError) -> SourceState? {
        let row = try await backend.read { connection throws(StoreError) in
            try connection.run("SELECT \(SQLStore.sourceStateColumns) FROM source_state WHERE id = 1").first
        }
        // A pin written before the controller's first write leaves a row without a source.
        guard let row, let url = row.text(0), let path = row.text(2) else { return nil }
        return SourceState(
            url: url, ref: row.text(1), path: path, head: row.text(3), lastFetchAt: try row.date(4), lastFetchError: row.text(5),
            lastSuccessfulSyncAt: try row.date(6), applied: row.text(7), attempted: row.text(8), pinned: row.text(9)
        )
    }

    public func updateSourceState(_ state: SourceState) async throws(StoreError) {
        _ = try await backend.write { tx throws(StoreError) in
            try tx.run(
                """
                INSERT INTO source_state (id, url, ref, path, head, last_fetch_at, last_fetch_error, last_successful_sync_at, applied, attempted)
                VALUES (1, $1, $2, $3, $4, $5, $6, $7, $8, $9)
                ON CONFLICT (id) DO UPDATE SET url = excluded.url, ref = excluded.ref, path = excluded.path, head = excluded.head,
                    last_fetch_at = excluded.last_fetch_at, last_fetch_error = excluded.last_fetch_error,
                    last_successful_sync_at = excluded.last_successful_sync_at, applied = excluded.applied, attempted = excluded.attempted
                """,
                .text(state.url), .text(state.ref), .text(state.path), .text(state.head), .date(state.lastFetchAt), .text(state.lastFetchError),
                .date(state.lastSuccessfulSyncAt), .text(state.applied), .text(state.attempted)
            )
        }
    }

    public func pinSourceRevision(_ sha: String?) async throws(StoreError) {
        _ = try await backend.write { tx throws(StoreError) in
            try tx.run("INSERT INTO source_state (id, pinned) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET pinned = excluded.pinned", .text(sha))
            tx.notify(.sourcePinned)
        }
    }
}
