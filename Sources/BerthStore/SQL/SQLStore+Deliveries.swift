import BerthCore
import Foundation

/// Completion webhooks and archived output of jobs (`JobDeliveryLog`).
extension SQLStore {
    static let deliveryColumns = """
        id, job_id, project, event, url, attempts, outcome, created_at, last_attempt_at, next_attempt_at, last_status, last_error, delivered_at
        """

    static func delivery(_ row: SQLRow) throws(StoreError) -> JobDelivery {
        let eventText = try row.requiredText(3), outcomeText = try row.requiredText(6)
        guard let event = JobNotifySpec.Event(rawValue: eventText), let outcome = JobDelivery.Outcome(rawValue: outcomeText) else {
            throw .invalidStoredData("unknown delivery event \(eventText) or outcome \(outcomeText)")
        }
        return JobDelivery(
            id: try row.requiredText(0), jobID: try row.requiredText(1), project: try row.requiredText(2), event: event, url: try row.requiredText(4),
            attempts: Int(try row.requiredInt(5)), outcome: outcome, createdAt: try row.requiredDate(7), lastAttemptAt: try row.date(8),
            nextAttemptAt: try row.date(9), lastStatus: try row.int(10).map { Int($0) }, lastError: row.text(11), deliveredAt: try row.date(12)
        )
    }

    /// In the transaction that ends job `id` in `state`: its delivery, when its spec (`specJSON`)
    /// asks for one on that event; due at once. A repeated end keeps the first.
    static func recordDelivery(_ tx: SQLTransaction, jobID id: String, project: String, specJSON: String, state: JobState, now: Date) throws(StoreError) {
        // Most jobs have no webhook: their specs are not decoded again here.
        guard specJSON.contains("\"notify\""), let event = JobNotifySpec.Event(state) else { return }
        guard let notify = try Coding.decodeJobSpec(specJSON).notify, notify.events.contains(event) else { return }
        try tx.run(
            """
            INSERT INTO job_deliveries (id, job_id, project, event, url, attempts, outcome, created_at, next_attempt_at)
            VALUES ($1, $2, $3, $4, $5, 0, 'pending', $6, $6) ON CONFLICT (id) DO NOTHING
            """,
            .text(JobDelivery.id(jobID: id, event: event)), .text(id), .text(project), .text(event.rawValue), .text(notify.url), .date(now)
        )
    }

    public func deliveries(jobID: String) async throws(StoreError) -> [JobDelivery] {
        let rows = try await backend.read { connection throws(StoreError) in
            try connection.run("SELECT \(SQLStore.deliveryColumns) FROM job_deliveries WHERE job_id = $1 ORDER BY created_at, id", .text(jobID))
        }
        var deliveries: [JobDelivery] = []
        for row in rows { deliveries.append(try SQLStore.delivery(row)) }
        return deliveries
    }

    public func claimDueDeliveries(limit: Int, hold: TimeSpan) async throws(StoreError) -> [JobDelivery] {
        guard limit > 0 else { return [] }
        let rows = try await backend.write { [backend] tx throws(StoreError) -> [SQLRow] in
            let now = try backend.now(in: tx)
            let due = try tx.run(
                "SELECT id FROM job_deliveries WHERE outcome = 'pending' AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $2\(tx.dialect.skipLocked)",
                .date(now), .int(limit)
            )
            guard !due.isEmpty else { return [] }
            var ids: [SQLValue] = []
            for row in due { ids.append(.text(try row.requiredText(0))) }
            return try tx.query(
                """
                UPDATE job_deliveries SET next_attempt_at = $1
                WHERE outcome = 'pending' AND next_attempt_at <= $2 AND id IN (\(placeholders(from: 3, count: ids.count))) RETURNING \(SQLStore.deliveryColumns)
                """,
                [.date(now.addingTimeInterval(hold.seconds)), .date(now)] + ids
            )
        }
        var deliveries: [JobDelivery] = []
        for row in rows { deliveries.append(try SQLStore.delivery(row)) }
        return deliveries.sorted { ($0.nextAttemptAt ?? $0.createdAt, $0.id) < ($1.nextAttemptAt ?? $1.createdAt, $1.id) }
    }

    @discardableResult
    public func recordDeliveryAttempt(_ id: String, _ attempt: DeliveryAttempt, now: Date) async throws(StoreError) -> JobDelivery {
        let row = try await backend.write { tx throws(StoreError) -> SQLRow in
            guard
                let row = try tx.run(
                    """
                    UPDATE job_deliveries SET attempts = attempts + 1, outcome = $2, last_status = $3, last_error = $4, last_attempt_at = $5,
                        next_attempt_at = $6, delivered_at = $7
                    WHERE id = $1 AND outcome = 'pending' RETURNING \(SQLStore.deliveryColumns)
                    """,
                    .text(id), .text(attempt.outcome.rawValue), .int(attempt.status), .text(attempt.error), .date(now),
                    .date(attempt.outcome == .pending ? attempt.nextAttemptAt : nil), .date(attempt.outcome == .delivered ? now : nil)
                ).first
            else {
                // Another controller recorded the end of this delivery first (its hold ran out
                // while this one waited for an answer): that record stands.
                return try SQLStore.one(tx.run("SELECT \(SQLStore.deliveryColumns) FROM job_deliveries WHERE id = $1", .text(id)))
            }
            return row
        }
        return try SQLStore.delivery(row)
    }

    public func nextDeliveryDue() async throws(StoreError) -> Date? {
        let rows = try await backend.read { connection throws(StoreError) in
            try connection.run("SELECT min(next_attempt_at) FROM job_deliveries WHERE outcome = 'pending'")
        }
        return try rows.first?.date(0)
    }

    public func recordLogArchive(_ archive: JobLogArchive) async throws(StoreError) {
        try await backend.write { tx throws(StoreError) in
            _ = try tx.run(
                """
                INSERT INTO job_log_archives (job_id, attempt, bucket, stdout_key, stderr_key, stdout_bytes, stderr_bytes, archived_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                ON CONFLICT (job_id, attempt) DO UPDATE SET bucket = excluded.bucket, stdout_key = excluded.stdout_key, stderr_key = excluded.stderr_key,
                    stdout_bytes = excluded.stdout_bytes, stderr_bytes = excluded.stderr_bytes, archived_at = excluded.archived_at
                """,
                .text(archive.jobID), .int(archive.attempt), .text(archive.bucket), .text(archive.stdoutKey), .text(archive.stderrKey),
                .int(archive.stdoutBytes), .int(archive.stderrBytes), .date(archive.archivedAt)
            )
        }
    }

    public func logArchives(jobID: String) async throws(StoreError) -> [JobLogArchive] {
        let rows = try await backend.read { connection throws(StoreError) in
            try connection.run(
                "SELECT job_id, attempt, bucket, stdout_key, stderr_key, stdout_bytes, stderr_bytes, archived_at FROM job_log_archives WHERE job_id = $1 ORDER BY attempt",
                .text(jobID)
            )
        }
        var archives: [JobLogArchive] = []
        for row in rows {
            archives.append(
                JobLogArchive(
                    jobID: try row.requiredText(0), attempt: Int(try row.requiredInt(1)), bucket: try row.requiredText(2), stdoutKey: try row.requiredText(3),
                    stderrKey: try row.requiredText(4), stdoutBytes: Int(try row.requiredInt(5)), stderrBytes: Int(try row.requiredInt(6)),
                    archivedAt: try row.requiredDate(7)
                ))
        }
        return archives
    }

    /// Deletes the deliveries and archive records of the jobs `doomed` selects (a subquery of ids
    /// over `parameters`), before the jobs go.
    static func deleteDeliveries(_ tx: SQLTransaction, of doomed: String, _ parameters: [SQLValue]) throws(StoreError) {
        try tx.query("DELETE FROM job_deliveries WHERE job_id IN (\(doomed))", parameters)
        try tx.query("DELETE FROM job_log_archives WHERE job_id IN (\(doomed))", parameters)
    }
}
