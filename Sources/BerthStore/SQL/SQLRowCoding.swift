import BerthCore
import Foundation

/// Row coding: the columns each record is read from, in order, and a row back into its record.
extension SQLStore {
    // MARK: Resources

    static let resourceColumns = "kind, project, name, document, generation, source, created_at, updated_at, deleted_at"

    static func storedResource(_ row: SQLRow) throws(StoreError) -> StoredResource {
        let resource = try Coding.decodeResource(try row.requiredText(3))
        guard let source = ResourceSource(rawValue: try row.requiredText(5)) else {
            throw .invalidStoredData("unknown resource source \(row.text(5) ?? "")")
        }
        return StoredResource(
            resource: resource, generation: try row.requiredInt(4), source: source, createdAt: try row.requiredDate(6),
            updatedAt: try row.requiredDate(7), deletedAt: try row.date(8)
        )
    }

    // MARK: Status

    static let statusColumns = """
        kind, project, name, phase, conditions, observed_generation, restart_count, last_action, last_cause, updated_at, \
        ready_replicas, desired_replicas, next_attempt_at, replicas, attempted_revision, applied_revision, node
        """

    static func resourceStatus(_ row: SQLRow) throws(StoreError) -> ResourceStatus {
        guard let kind = ResourceKind(rawValue: try row.requiredText(0)) else {
            throw .invalidStoredData("unknown resource kind \(row.text(0) ?? "")")
        }
        return ResourceStatus(
            id: ResourceID(kind: kind, project: try row.requiredText(1), name: try row.requiredText(2)),
            phase: ResourcePhase(rawValue: try row.requiredText(3)),
            conditions: try Coding.decode([Condition].self, from: try row.requiredText(4)),
            observedGeneration: try row.int(5),
            restartCount: Int(try row.requiredInt(6)),
            readyReplicas: try row.int(10).map { Int($0) },
            desiredReplicas: try row.int(11).map { Int($0) },
            nextAttemptAt: try row.date(12),
            replicas: try row.text(13).map { text throws(StoreError) in try Coding.decode([ReplicaStatus].self, from: text) },
            lastAction: row.text(7),
            lastCause: row.text(8),
            attemptedRevision: try row.text(14).map { text throws(StoreError) in try Coding.decode(StatusRevision.self, from: text) },
            appliedRevision: try row.text(15).map { text throws(StoreError) in try Coding.decode(StatusRevision.self, from: text) },
            updatedAt: try row.requiredDate(9),
            node: row.text(16).flatMap { $0.isEmpty ? nil : $0 }
        )
    }

    // MARK: Jobs

    static let jobColumns = """
        id, project, name, spec, priority, idempotency_key, owner, state, attempt, claimed_by, lease_expires_at, container_id, \
        exit_code, reason, stdout_tail, stderr_tail, feedback, cancel_requested, submitted_at, queued_at, started_at, finished_at, \
        next_attempt_at, fence, claimed_engine, labels, \
        template, template_generation
        """

    static func jobRecord(_ row: SQLRow) throws(StoreError) -> JobRecord {
        guard let state = JobState(rawValue: try row.requiredText(7)) else {
            throw .invalidStoredData("unknown job state \(row.text(7) ?? "")")
        }
        let spec = try row.requiredText(3)
        var record = JobRecord(
            id: try row.requiredText(0), project: try row.requiredText(1), name: try row.requiredText(2),
            spec: try Coding.decodeJobSpec(spec), specJSON: spec, priority: Int(try row.requiredInt(4)),
            idempotencyKey: row.text(5), owner: try row.text(6).map(Coding.decodeResourceID), state: state,
            attempt: Int(try row.requiredInt(8)), claimedBy: row.text(9), leaseExpiresAt: try row.date(10),
            containerID: row.text(11), exitCode: try row.int(12).map { Int($0) }, reason: row.text(13),
            stdoutTail: row.text(14), stderrTail: row.text(15), feedback: row.text(16), cancelRequested: row.bool(17),
            submittedAt: try row.requiredDate(18), queuedAt: try row.date(19), startedAt: try row.date(20),
            finishedAt: try row.date(21), nextAttemptAt: try row.date(22), fence: Int(try row.requiredInt(23)), claimedEngine: row.text(24),
            labels: try Coding.decode([String: String].self, from: try row.requiredText(25))
        )
        if let template = row.text(26) { record.template = JobTemplateRef(name: template, generation: try row.int(27)) }
        return record
    }

    static let jobColumnCount = jobColumns.split(separator: ",").count

    // MARK: Events

    static let eventColumns = "sequence, time, project, resource_kind, resource_name, job_id, type, reason, message"

    /// The columns of `eventValues`, in order.
    static let eventValueColumns = "time, project, resource_kind, resource_name, job_id, type, reason, message"

    /// An event's values for `eventValueColumns`; it belongs to its resource's project, if it has one.
    static func eventValues(_ event: EventRecord) -> [SQLValue] {
        [
            .date(event.time), .text(event.resource?.project ?? event.project), .text(event.resource?.kind.rawValue),
            .text(event.resource?.name), .text(event.jobID), .text(event.type.rawValue), .text(event.reason), .text(event.message),
        ]
    }

    /// `job_id`'s position among `eventColumns`.
    static let eventJobIDColumn = eventColumns.split(separator: ", ").firstIndex(of: "job_id")!

    static func eventRecords(_ rows: [SQLRow]) throws(StoreError) -> [EventRecord] {
        var events: [EventRecord] = []
        events.reserveCapacity(rows.count)
        for row in rows {
            var resource: ResourceID?
            if let kindText = row.text(3), let name = row.text(4) {
                guard let kind = ResourceKind(rawValue: kindText) else { throw .invalidStoredData("unknown resource kind \(kindText)") }
                resource = ResourceID(kind: kind, project: try row.requiredText(2), name: name)
            }
            events.append(
                EventRecord(
                    resource: resource, jobID: row.text(5), project: try row.requiredText(2),
                    type: EventRecord.Kind(rawValue: try row.requiredText(6)) ?? .normal, reason: try row.requiredText(7),
                    message: try row.requiredText(8), time: try row.requiredDate(1), sequence: try row.requiredInt(0)
                ))
        }
        return events
    }

    // MARK: Source revisions

    static let sourceRevisionColumns = """
        sha, subject, author, committed_at, outcome, attempted_at, applied_at, healthy_at, failed_at, errors, rolled_back_to
        """

    static func sourceRevisionRecords(_ rows: [SQLRow]) throws(StoreError) -> [SourceRevisionRecord] {
        var records: [SourceRevisionRecord] = []
        records.reserveCapacity(rows.count)
        for row in rows {
            guard let outcome = RevisionOutcome(rawValue: try row.requiredText(4)) else {
                throw .invalidStoredData("unknown revision outcome \(row.text(4) ?? "")")
            }
            records.append(
                SourceRevisionRecord(
                    sha: try row.requiredText(0), subject: try row.requiredText(1), author: try row.requiredText(2),
                    committedAt: try row.requiredDate(3), outcome: outcome, attemptedAt: try row.requiredDate(5), appliedAt: try row.date(6),
                    healthyAt: try row.date(7), failedAt: try row.date(8), errors: try Coding.decode([String].self, from: try row.requiredText(9)),
                    rolledBackTo: row.text(10)
                ))
        }
        return records
    }

    // MARK: Tokens

    static let tokenColumns = "id, name, scopes, project, job_id, created_at, expires_at, last_used_at, revoked_at"

    static func tokenRecord(_ row: SQLRow) throws(StoreError) -> TokenRecord {
        TokenRecord(
            id: try row.requiredText(0), name: try row.requiredText(1),
            scopes: try row.requiredText(2).split(separator: " ").map { TokenScope(rawValue: String($0)) },
            project: row.text(3), jobID: row.text(4), createdAt: try row.requiredDate(5), expiresAt: try row.date(6),
            lastUsedAt: try row.date(7), revokedAt: try row.date(8)
        )
    }

    /// The row of a statement that returns exactly one.
    static func one(_ rows: [SQLRow]) throws(StoreError) -> SQLRow {
        guard let row = rows.first else { throw .database("the statement returned no row") }
        return row
    }
}
