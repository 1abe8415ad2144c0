import BerthCore
import Foundation
import Synchronization

/// Every store operation, written once in the SQL both backends understand; `PostgresStore` and
/// `SQLiteStore` add the connection handling, the dialect and the wake-ups.
struct SQLStoreEngine: Sendable {
    let backend: any SQLBackend
    /// Job submissions, written together when they come faster than they commit.
    private let submissions: BatchedCalls<PendingJob, SubmittedJob>
    /// Reads of one job with its events, read together when they come faster than the pool answers.
    private let jobReads: BatchedCalls<JobRead, [SQLRow]>
    /// Tokens found valid in the last second.
    let tokens = TokenCache()

    /// At most `submitWriters` connections write job submissions at once; the others stay free
    /// for everything else, and submissions that wait share the next commit. Reads of one job go
    /// one statement at a time: whatever arrives while one is in flight goes into the next (up to
    /// `maxJobReadBatch` jobs). More statements in flight only split the same waiting reads into
    /// smaller ones, each a round trip and a thread wake-up more: on PostgreSQL, 32 clients polling
    /// a job got 33 % more answers from one than from four (docs/benchmarks.md, "HTTP API").
    init(backend: any SQLBackend, submitWriters: Int) {
        self.backend = backend
        submissions = BatchedCalls(
            limit: submitWriters, maxBatch: Self.maxSubmitBatch, post: { [backend] work, fromWorker in backend.post(work, fromWorker: fromWorker) },
            run: { batch, session in Self.writeSubmissions(batch, on: session, dialect: backend.dialect) }
        )
        jobReads = BatchedCalls(
            limit: 1, maxBatch: Self.maxJobReadBatch, post: { [backend] work, fromWorker in backend.post(work, fromWorker: fromWorker) },
            run: { batch, session in Self.readJobs(batch, on: session) }
        )
    }

    // MARK: Resources

    private static let resourceColumns = "kind, project, name, document, generation, source, created_at, updated_at, deleted_at"

    func putResource(_ resource: Resource, source: ResourceSource, now: Date) async throws(StoreError) -> StoredResource {
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
                        WHERE kind = $1 AND project = $2 AND name = $3 RETURNING \(Self.resourceColumns)
                        """,
                        .text(id.kind.rawValue), .text(id.project), .text(id.name), .text(document), .int(generation),
                        .text(source.rawValue), .bool(changed), .date(now)
                    )
                    if changed { tx.notify(.resourceChanged(id)) }
                    guard let row = rows.first else { throw .database("writing \(id) returned no row") }
                    return try Self.storedResource(row)
                }
                if let row = try tx.run(
                    """
                    INSERT INTO resources (kind, project, name, document, generation, source, created_at, updated_at)
                    VALUES ($1, $2, $3, $4, 1, $5, $6, $6) ON CONFLICT (kind, project, name) DO NOTHING RETURNING \(Self.resourceColumns)
                    """,
                    .text(id.kind.rawValue), .text(id.project), .text(id.name), .text(document), .text(source.rawValue), .date(now)
                ).first {
                    tx.notify(.resourceChanged(id))
                    return try Self.storedResource(row)
                }
            }
            throw .database("writing \(id) found neither its row nor room to create it")
        }
    }

    func resource(_ id: ResourceID) async throws(StoreError) -> StoredResource? {
        let row = try await backend.read { connection throws(StoreError) in
            try connection.run(
                "SELECT \(Self.resourceColumns) FROM resources WHERE kind = $1 AND project = $2 AND name = $3",
                .text(id.kind.rawValue), .text(id.project), .text(id.name)
            ).first
        }
        return try row.map(Self.storedResource)
    }

    func resources(kind: ResourceKind?, project: String?, includeDeleted: Bool) async throws(StoreError) -> [StoredResource] {
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
            try connection.query("SELECT \(Self.resourceColumns) FROM resources\(whereClause)", parameters)
        }
        var result: [StoredResource] = []
        for row in rows { result.append(try Self.storedResource(row)) }
        return result.sorted { $0.id < $1.id }
    }

    func deleteResource(_ id: ResourceID, now: Date) async throws(StoreError) -> StoredResource? {
        try await backend.write { tx throws(StoreError) in
            let rows = try tx.run(
                """
                UPDATE resources SET deleted_at = $4, generation = generation + 1, updated_at = $4
                WHERE kind = $1 AND project = $2 AND name = $3 AND deleted_at IS NULL RETURNING \(Self.resourceColumns)
                """,
                .text(id.kind.rawValue), .text(id.project), .text(id.name), .date(now)
            )
            if let row = rows.first {
                tx.notify(.resourceChanged(id))
                return try Self.storedResource(row)
            }
            return try tx.run(
                "SELECT \(Self.resourceColumns) FROM resources WHERE kind = $1 AND project = $2 AND name = $3",
                .text(id.kind.rawValue), .text(id.project), .text(id.name)
            ).first.map(Self.storedResource)
        }
    }

    func purgeResource(_ id: ResourceID) async throws(StoreError) -> Bool {
        try await backend.write { tx throws(StoreError) in
            let key: [SQLValue] = [.text(id.kind.rawValue), .text(id.project), .text(id.name)]
            try tx.query("DELETE FROM resource_status WHERE kind = $1 AND project = $2 AND name = $3", key)
            return !(try tx.query("DELETE FROM resources WHERE kind = $1 AND project = $2 AND name = $3 RETURNING name", key)).isEmpty
        }
    }

    private static func storedResource(_ row: SQLRow) throws(StoreError) -> StoredResource {
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

    private static let statusColumns = """
        kind, project, name, phase, conditions, observed_generation, restart_count, last_action, last_cause, updated_at, \
        ready_replicas, desired_replicas, next_attempt_at, replicas
        """

    func putStatus(_ status: ResourceStatus) async throws(StoreError) {
        let conditions = try Coding.encode(status.conditions)
        let replicas = try status.replicas.map { replicas throws(StoreError) in try Coding.encode(replicas) }
        _ = try await backend.write { tx throws(StoreError) in
            try tx.run(
                """
                INSERT INTO resource_status (\(Self.statusColumns)) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
                ON CONFLICT (kind, project, name) DO UPDATE SET phase = excluded.phase, conditions = excluded.conditions,
                    observed_generation = excluded.observed_generation, restart_count = excluded.restart_count,
                    last_action = excluded.last_action, last_cause = excluded.last_cause, updated_at = excluded.updated_at,
                    ready_replicas = excluded.ready_replicas, desired_replicas = excluded.desired_replicas,
                    next_attempt_at = excluded.next_attempt_at, replicas = excluded.replicas
                """,
                .text(status.id.kind.rawValue), .text(status.id.project), .text(status.id.name), .text(status.phase.rawValue),
                .text(conditions), .int(status.observedGeneration), .int(status.restartCount), .text(status.lastAction),
                .text(status.lastCause), .date(status.updatedAt), .int(status.readyReplicas), .int(status.desiredReplicas),
                .date(status.nextAttemptAt), .text(replicas)
            )
        }
    }

    func status(_ id: ResourceID) async throws(StoreError) -> ResourceStatus? {
        try await backend.read { connection throws(StoreError) in
            try connection.run(
                "SELECT \(Self.statusColumns) FROM resource_status WHERE kind = $1 AND project = $2 AND name = $3",
                .text(id.kind.rawValue), .text(id.project), .text(id.name)
            ).first.map(Self.resourceStatus)
        }
    }

    func statuses(project: String?) async throws(StoreError) -> [ResourceStatus] {
        let rows = try await backend.read { connection throws(StoreError) in
            if let project {
                return try connection.run("SELECT \(Self.statusColumns) FROM resource_status WHERE project = $1", .text(project))
            }
            return try connection.run("SELECT \(Self.statusColumns) FROM resource_status")
        }
        var result: [ResourceStatus] = []
        for row in rows { result.append(try Self.resourceStatus(row)) }
        return result.sorted { $0.id < $1.id }
    }

    func deleteStatus(_ id: ResourceID) async throws(StoreError) -> Bool {
        try await backend.write { tx throws(StoreError) in
            !(try tx.run(
                "DELETE FROM resource_status WHERE kind = $1 AND project = $2 AND name = $3 RETURNING name",
                .text(id.kind.rawValue), .text(id.project), .text(id.name)
            )).isEmpty
        }
    }

    private static func resourceStatus(_ row: SQLRow) throws(StoreError) -> ResourceStatus {
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
            updatedAt: try row.requiredDate(9)
        )
    }

    // MARK: Jobs

    static let jobColumns = """
        id, project, name, spec, priority, idempotency_key, owner, state, attempt, claimed_by, lease_expires_at, container_id, \
        exit_code, reason, stdout_tail, stderr_tail, feedback, cancel_requested, submitted_at, queued_at, started_at, finished_at, \
        next_attempt_at
        """

    static func jobRecord(_ row: SQLRow) throws(StoreError) -> JobRecord {
        guard let state = JobState(rawValue: try row.requiredText(7)) else {
            throw .invalidStoredData("unknown job state \(row.text(7) ?? "")")
        }
        let spec = try row.requiredText(3)
        return JobRecord(
            id: try row.requiredText(0), project: try row.requiredText(1), name: try row.requiredText(2),
            spec: try Coding.decodeJobSpec(spec), specJSON: spec, priority: Int(try row.requiredInt(4)),
            idempotencyKey: row.text(5), owner: try row.text(6).map(Coding.decodeResourceID), state: state,
            attempt: Int(try row.requiredInt(8)), claimedBy: row.text(9), leaseExpiresAt: try row.date(10),
            containerID: row.text(11), exitCode: try row.int(12).map { Int($0) }, reason: row.text(13),
            stdoutTail: row.text(14), stderrTail: row.text(15), feedback: row.text(16), cancelRequested: row.bool(17),
            submittedAt: try row.requiredDate(18), queuedAt: try row.date(19), startedAt: try row.date(20),
            finishedAt: try row.date(21), nextAttemptAt: try row.date(22)
        )
    }

    func submitJob(_ submission: JobSubmission, now: Date) async throws(StoreError) -> (job: JobRecord, created: Bool) {
        try await submissions.run(try PendingJob(submission, now: now))
    }

    // MARK: Job submission, in batches

    /// A job and whether this submission made it (false: an earlier one with the same key did).
    typealias SubmittedJob = (job: JobRecord, created: Bool)

    /// Submissions in one batch at most; bounds a statement's size and a batch's latency.
    static let maxSubmitBatch = 64

    /// A submission ready to be written: id and time fixed, spec encoded, event made.
    struct PendingJob: Sendable {
        /// Submissions with one key in one project make one job.
        struct Key: Hashable, Sendable {
            var project: String
            var idempotencyKey: String
        }

        /// Exactly what is written: decoding the spec just encoded would cost more than the insert.
        var record: JobRecord
        /// The values of `jobValueColumns`.
        var jobValues: [SQLValue]
        /// The values of `eventValueColumns`, for the `Submitted` event.
        var eventValues: [SQLValue]

        init(_ submission: JobSubmission, now: Date) throws(StoreError) {
            let spec = try Coding.encode(submission.spec)
            let id = StoreID.make(now: now)
            let submittedAt = SQLTime.date(SQLTime.milliseconds(now))
            record = JobRecord(
                id: id, project: submission.project, name: submission.name, spec: submission.spec, specJSON: spec, priority: submission.priority,
                idempotencyKey: submission.idempotencyKey, owner: submission.owner, state: .pending, attempt: 1, claimedBy: nil,
                leaseExpiresAt: nil, containerID: nil, exitCode: nil, reason: nil, stdoutTail: nil, stderrTail: nil, feedback: nil,
                cancelRequested: false, submittedAt: submittedAt, queuedAt: nil, startedAt: nil, finishedAt: nil, nextAttemptAt: nil
            )
            jobValues = [
                .text(id), .text(submission.project), .text(submission.name), .text(spec), .int(submission.priority),
                .text(submission.idempotencyKey), .text(submission.owner.map(Coding.encodeResourceID)), .date(submittedAt),
            ]
            eventValues = SQLStoreEngine.eventValues(EventRecord(
                resource: submission.owner, jobID: id, project: submission.project, reason: "Submitted",
                message: "job \(submission.name) submitted", time: submittedAt
            ))
        }

        var key: Key? { record.idempotencyKey.map { Key(project: record.project, idempotencyKey: $0) } }
    }

    /// The columns of `PendingJob.jobValues`, in order.
    private static let jobValueColumns = "id, project, name, spec, priority, idempotency_key, owner, submitted_at"

    /// One batch: the first submission with a key is written, later ones in the batch get its job.
    static func writeSubmissions(_ batch: [PendingJob], on session: any SQLSession, dialect: SQLDialect) -> [Result<SubmittedJob, StoreError>] {
        var distinct: [PendingJob] = []
        var written: [Int] = []  // for each submission, the index of the one written for it in `distinct`
        var firstWithKey: [PendingJob.Key: Int] = [:]
        for job in batch {
            if let key = job.key, let first = firstWithKey[key] {
                written.append(first)
                continue
            }
            if let key = job.key { firstWithKey[key] = distinct.count }
            written.append(distinct.count)
            distinct.append(job)
        }
        let outcomes = writeDistinct(distinct, on: session, dialect: dialect)
        return zip(batch, written).map { job, index in
            distinct[index].record.id == job.record.id ? outcomes[index] : outcomes[index].map { ($0.job, false) }
        }
    }

    /// Writes submissions with distinct keys together: one statement on PostgreSQL, one transaction
    /// on SQLite, all or nothing. A database error may be one submission's fault: then each is
    /// written on its own, so that only that one fails. Any other failure (a lost connection, a
    /// closed store) is every submission's.
    private static func writeDistinct(_ jobs: [PendingJob], on session: any SQLSession, dialect: SQLDialect) -> [Result<SubmittedJob, StoreError>] {
        do throws(StoreError) {
            return try insertJobs(jobs, on: session, dialect: dialect)
        } catch where error.code == .database && jobs.count > 1 {
            var outcomes: [Result<SubmittedJob, StoreError>] = []
            for job in jobs { outcomes += writeDistinct([job], on: session, dialect: dialect) }
            return outcomes
        } catch {
            return Array(repeating: .failure(error), count: jobs.count)
        }
    }

    /// Inserts the jobs whose key was not used before, and returns each submission's job: the new
    /// one, or the one first submitted with its key.
    private static func insertJobs(_ jobs: [PendingJob], on session: any SQLSession, dialect: SQLDialect) throws(StoreError) -> [Result<SubmittedJob, StoreError>] {
        let inserted: Set<String>
        switch dialect {
        case .postgres:
            // The hot path of the API: every job and its event in one statement, atomic without
            // BEGIN/COMMIT, so a batch is one round trip and one commit.
            let (sql, parameters) = if jobs.count == 1 {
                (postgresInsertJob, jobs[0].jobValues + jobs[0].eventValues)
            } else {
                (postgresInsertJobs, postgresArrays(jobs.map(\.jobValues)) + postgresArrays(jobs.map(\.eventValues)))
            }
            inserted = try session.writeStatement { tx throws(StoreError) in
                var ids = Set<String>()
                for row in try tx.query(sql, parameters) { ids.insert(try row.requiredText(0)) }
                for job in jobs where ids.contains(job.record.id) { tx.notify(.jobSubmitted(project: job.record.project)) }
                return ids
            }
        case .sqlite:
            inserted = try session.write { tx throws(StoreError) in
                var ids = Set<String>()
                for job in jobs {
                    guard try tx.query(insertJob, job.jobValues).first != nil else { continue }
                    try tx.query(insertEventStatement, job.eventValues)
                    tx.notify(.jobSubmitted(project: job.record.project))
                    ids.insert(job.record.id)
                }
                return ids
            }
        }
        let repeated = jobs.filter { !inserted.contains($0.record.id) }
        var firstJobs: [String: Result<SubmittedJob, StoreError>] = [:]
        if !repeated.isEmpty {
            // Their keys were used before: hand back the first jobs (the insert waited for
            // concurrent ones with the same keys to commit). The new jobs are written already, so
            // a failure here is only these submissions'.
            do throws(StoreError) {
                let rows = try session.read { connection throws(StoreError) -> [SQLRow?] in
                    var rows: [SQLRow?] = []
                    for job in repeated {
                        rows.append(try connection.run(
                            "SELECT \(jobColumns) FROM jobs WHERE project = $1 AND idempotency_key = $2",
                            .text(job.record.project), .text(job.record.idempotencyKey)
                        ).first)
                    }
                    return rows
                }
                for (job, row) in zip(repeated, rows) {
                    firstJobs[job.record.id] = Result { () throws(StoreError) -> SubmittedJob in
                        guard let row else { throw .database("the job with idempotency key of a conflicting submit vanished; retry", retryable: true) }
                        return (try jobRecord(row), false)
                    }
                }
            } catch {
                for job in repeated { firstJobs[job.record.id] = .failure(error) }
            }
        }
        return jobs.map { job in firstJobs[job.record.id] ?? .success((job.record, true)) }
    }

    /// One job, skipped when its key was used before in its project.
    private static let insertJob = """
        INSERT INTO jobs (\(jobValueColumns), state, attempt, cancel_requested)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', 1, FALSE)
        ON CONFLICT (project, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
        RETURNING id
        """

    /// A lone job and its event: for one row, cheaper for the server than `postgresInsertJobs`
    /// (about a quarter less CPU: no arrays to parse, no sorts).
    private static let postgresInsertJob = """
        WITH job AS (\(insertJob)),
        event AS (
            INSERT INTO events (\(eventValueColumns))
            SELECT $9::bigint, $10::text, $11::text, $12::text, $13::text, $14::text, $15::text, $16::text FROM job
        )
        SELECT id FROM job
        """

    /// Every job of a batch and the events of those inserted, from one array per column. Keyed
    /// jobs go in by project and key, in the same order in every batch, so two batches never each
    /// wait for a key the other inserted first (a deadlock). Events follow submission order.
    private static let postgresInsertJobs = """
        WITH input AS (
            SELECT * FROM unnest(
                $1::text[], $2::text[], $3::text[], $4::text[], $5::integer[], $6::text[], $7::text[], $8::bigint[],
                $9::bigint[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[]
            ) WITH ORDINALITY AS input (
                \(jobValueColumns),
                event_time, event_project, event_resource_kind, event_resource_name, event_job_id, event_type, event_reason,
                event_message, position
            )
        ),
        job AS (
            INSERT INTO jobs (\(jobValueColumns), state, attempt, cancel_requested)
            SELECT \(jobValueColumns), 'pending', 1, FALSE FROM input ORDER BY project, idempotency_key, position
            ON CONFLICT (project, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
            RETURNING id
        ),
        event AS (
            INSERT INTO events (\(eventValueColumns))
            SELECT event_time, event_project, event_resource_kind, event_resource_name, event_job_id, event_type, event_reason,
                event_message
            FROM input WHERE id IN (SELECT id FROM job) ORDER BY position
        )
        SELECT id FROM job
        """

    func job(_ id: String) async throws(StoreError) -> JobRecord? {
        // Decoded here, not on the connection's thread: decoding the spec costs more than the query.
        let row = try await backend.read { connection throws(StoreError) in
            try connection.run("SELECT \(Self.jobColumns) FROM jobs WHERE id = $1", .text(id)).first
        }
        return try row.map(Self.jobRecord)
    }

    func job(_ id: String, events limit: Int) async throws(StoreError) -> (job: JobRecord, events: [EventRecord])? {
        guard limit > 0 else { throw .invalidArgument("an event query reads at least one event; limit was \(limit)") }
        // Decoded here, not on the connection's thread, like `job(_:)`.
        let rows = try await jobReads.run(JobRead(id: id, eventLimit: limit))
        guard let first = rows.first else { return nil }
        let job = try Self.jobRecord(SQLRow(values: Array(first.values[1...Self.jobColumnCount])))
        let events = try Self.eventRecords(rows.dropFirst().map { SQLRow(values: Array($0.values[(Self.jobColumnCount + 1)...])) })
        return (job, events)
    }

    /// One call of `job(_:events:)`.
    struct JobRead: Hashable, Sendable {
        var id: String
        var eventLimit: Int
    }

    /// Job reads that wait go together, up to this many per statement.
    static let maxJobReadBatch = 64

    /// On a connection's thread: one statement per distinct event limit in `batch` (the API asks
    /// with one) for every job asked, each once; each call gets its job's row, then its events'
    /// rows in order, or no rows for a job that does not exist.
    static func readJobs(_ batch: [JobRead], on session: any SQLSession) -> [Result<[SQLRow], StoreError>] {
        var rowsByRead: [JobRead: [SQLRow]] = [:]
        var failures: [Int: StoreError] = [:]
        for (limit, reads) in Dictionary(grouping: batch, by: \.eventLimit) {
            var seen = Set<String>()
            let ids = reads.map(\.id).filter { seen.insert($0).inserted }
            do throws(StoreError) {
                let rows = try session.read { connection throws(StoreError) in
                    try connection.query(jobsWithEventsStatements[ids.count - 1], [.int(Int64(limit))] + ids.map(SQLValue.text))
                }
                for row in rows {
                    // A job's row names it in its first column after the part; an event's in its job_id.
                    let isJob = row.text(0) == "0"
                    guard let id = isJob ? row.text(1) : row.text(jobColumnCount + 1 + eventJobIDColumn) else { continue }
                    rowsByRead[JobRead(id: id, eventLimit: limit), default: []].append(row)
                }
            } catch {
                failures[limit] = error
            }
        }
        return batch.map { read in
            if let failure = failures[read.eventLimit] { return .failure(failure) }
            let rows = rowsByRead[read] ?? []
            // Events of a job deleted between the two parts of the statement answer as no job.
            return .success(rows.first?.text(0) == "0" ? rows : [])
        }
    }

    private static let jobColumnCount = jobColumns.split(separator: ",").count
    /// `job_id`'s position among `eventColumns`.
    private static let eventJobIDColumn = eventColumns.split(separator: ", ").firstIndex(of: "job_id")!

    /// For 1…`maxJobReadBatch` jobs, one statement each, so one round trip on PostgreSQL: the
    /// jobs' rows ($2…; part 0: the job's columns, then NULLs), then the first $1 events of each
    /// (part 1: NULLs, then the event's columns; one subquery per job, so each stops after $1
    /// rows of its index), in order.
    private static let jobsWithEventsStatements = (1...maxJobReadBatch).map(jobsWithEventsStatement)

    private static func jobsWithEventsStatement(count: Int) -> String {
        let noEvent = Array(repeating: "NULL", count: eventColumns.split(separator: ",").count).joined(separator: ", ")
        let noJob = Array(repeating: "NULL", count: jobColumnCount).joined(separator: ", ")
        let events = (2..<2 + count).map { id in
            "SELECT 1, \(noJob), e.* FROM (SELECT \(eventColumns) FROM events WHERE job_id = $\(id) ORDER BY sequence LIMIT $1) AS e"
        }
        return """
            SELECT 0 AS part, \(jobColumns), \(noEvent) FROM jobs WHERE id IN (\(placeholders(from: 2, count: count)))
            UNION ALL
            \(events.joined(separator: "\nUNION ALL\n"))
            ORDER BY 1, \(jobColumnCount + 2)
            """
    }

    func jobs(filter: JobFilter, page: PageRequest) async throws(StoreError) -> Page<JobRecord> {
        guard page.limit > 0 else { throw .invalidArgument("a page holds at least one item; limit was \(page.limit)") }
        var conditions: [String] = []
        var parameters: [SQLValue] = []
        func add(_ condition: (Int) -> String, _ value: SQLValue) {
            parameters.append(value)
            conditions.append(condition(parameters.count))
        }
        if let project = filter.project { add({ "project = $\($0)" }, .text(project)) }
        if !filter.states.isEmpty {
            let states = filter.states.map(\.rawValue).sorted()
            conditions.append("state IN (\(placeholders(from: parameters.count + 1, count: states.count)))")
            parameters += states.map(SQLValue.text)
        }
        if let owner = filter.owner { add({ "owner = $\($0)" }, .text(Coding.encodeResourceID(owner))) }
        if let claimedBy = filter.claimedBy { add({ "claimed_by = $\($0)" }, .text(claimedBy)) }
        if let after = filter.submittedAfter { add({ "submitted_at >= $\($0)" }, .date(after)) }
        if let before = filter.submittedBefore { add({ "submitted_at < $\($0)" }, .date(before)) }
        let newest = page.order == .newestFirst
        if let cursor = page.cursor { add({ newest ? "id < $\($0)" : "id > $\($0)" }, .text(cursor)) }
        parameters.append(.int(page.limit + 1))
        let sql = """
            SELECT \(Self.jobColumns) FROM jobs\(conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND "))
            ORDER BY id \(newest ? "DESC" : "ASC") LIMIT $\(parameters.count)
            """
        let rows = try await backend.read { [parameters] connection throws(StoreError) in
            try connection.query(sql, parameters)
        }
        var items: [JobRecord] = []
        for row in rows.prefix(page.limit) { items.append(try Self.jobRecord(row)) }
        return Page(items: items, nextCursor: rows.count > page.limit ? items.last?.id : nil)
    }

    func jobCounts(project: String?) async throws(StoreError) -> [JobState: Int] {
        let rows = try await backend.read { connection throws(StoreError) in
            if let project {
                return try connection.run("SELECT state, count(*) FROM jobs WHERE project = $1 GROUP BY state", .text(project))
            }
            return try connection.run("SELECT state, count(*) FROM jobs GROUP BY state")
        }
        var counts: [JobState: Int] = [:]
        for row in rows {
            guard let state = JobState(rawValue: try row.requiredText(0)) else { continue }
            counts[state] = Int(try row.requiredInt(1))
        }
        return counts
    }

    func claimJobs(
        controller: String, limit: Int, projectLimits: [String: ProjectJobLimits], lease: TimeSpan, now: Date,
        lockProject: @escaping @Sendable (SQLTransaction, String) throws(StoreError) -> Void
    ) async throws(StoreError) -> [JobRecord] {
        guard limit > 0 else { return [] }
        let limits = projectLimits.compactMapValues(\.effectiveLimit)
        let leaseEnd = now.addingTimeInterval(lease.seconds)
        let rows = try await backend.write { tx throws(StoreError) -> [SQLRow] in
            let claimable = "state = 'pending' AND cancel_requested = FALSE AND (next_attempt_at IS NULL OR next_attempt_at <= $1)"
            // Projects with a limit that have claimable jobs are locked (PostgreSQL: an advisory
            // lock per project, taken in name order) before their active jobs are counted, so two
            // controllers never both fill the last slot. Jobs of limited projects not locked here
            // are left for the next claim.
            var remaining: [String: Int] = [:]
            var blocked: Set<String> = []
            if !limits.isEmpty {
                let waiting = try tx.run("SELECT DISTINCT project FROM jobs WHERE \(claimable)", .date(now))
                var locked: [String] = []
                for row in waiting {
                    let project = try row.requiredText(0)
                    if limits[project] != nil { locked.append(project) }
                }
                locked.sort()
                for project in locked { try lockProject(tx, project) }
                if !locked.isEmpty {
                    let active = try tx.query(
                        "SELECT project, count(*) FROM jobs WHERE state IN ('queued', 'started') AND project IN (\(placeholders(from: 1, count: locked.count))) GROUP BY project",
                        locked.map(SQLValue.text)
                    )
                    var counts: [String: Int] = [:]
                    for row in active { counts[try row.requiredText(0)] = Int(try row.requiredInt(1)) }
                    for project in locked {
                        remaining[project] = (limits[project] ?? 0) - (counts[project] ?? 0)
                        if remaining[project, default: 0] <= 0 { blocked.insert(project) }
                    }
                }
                for project in limits.keys where remaining[project] == nil { blocked.insert(project) }
            }

            var claimed: [SQLRow] = []
            while claimed.count < limit {
                let wanted = limit - claimed.count
                var parameters: [SQLValue] = [.date(now)]
                var exclusion = ""
                if !blocked.isEmpty {
                    let names = blocked.sorted()
                    exclusion = " AND project NOT IN (\(placeholders(from: 2, count: names.count)))"
                    parameters += names.map(SQLValue.text)
                }
                parameters.append(.int(wanted))
                let candidates = try tx.query(
                    "SELECT id, project FROM jobs WHERE \(claimable)\(exclusion) ORDER BY priority DESC, id ASC LIMIT $\(parameters.count)\(tx.dialect.skipLocked)",
                    parameters
                )
                if candidates.isEmpty { break }
                var take: [String] = []
                var newlyBlocked = false
                for row in candidates {
                    let id = try row.requiredText(0), project = try row.requiredText(1)
                    if let left = remaining[project] {
                        guard left > 0 else {
                            if blocked.insert(project).inserted { newlyBlocked = true }
                            continue
                        }
                        remaining[project] = left - 1
                    }
                    take.append(id)
                }
                if !take.isEmpty {
                    claimed += try tx.query(
                        """
                        UPDATE jobs SET state = 'queued', claimed_by = $1, lease_expires_at = $2, queued_at = $3, next_attempt_at = NULL
                        WHERE state = 'pending' AND id IN (\(placeholders(from: 4, count: take.count))) RETURNING \(Self.jobColumns)
                        """,
                        [.text(controller), .date(leaseEnd), .date(now)] + take.map(SQLValue.text)
                    )
                }
                if candidates.count < wanted && !newlyBlocked { break }
                if take.isEmpty && !newlyBlocked { break }
            }
            for row in claimed {
                try Self.insertEvent(tx, EventRecord(
                    jobID: try row.requiredText(0), project: try row.requiredText(1), reason: "Queued",
                    message: "claimed by \(controller) (attempt \(try row.requiredInt(8)))", time: now
                ))
            }
            return claimed
        }
        var jobs: [JobRecord] = []
        for row in rows { jobs.append(try Self.jobRecord(row)) }
        return jobs.sorted { ($0.priority, $1.id) > ($1.priority, $0.id) }
    }

    func transitionJob(_ id: String, from: JobState, to: JobState, controller: String?, update: JobUpdate, now: Date) async throws(StoreError) -> JobRecord {
        guard from.canTransition(to: to) else { throw .illegalTransition(job: id, from: from, to: to) }
        var assignments: [String] = ["state = $1"]
        var parameters: [SQLValue] = [.text(to.rawValue)]
        func set(_ column: String, _ value: SQLValue) {
            parameters.append(value)
            assignments.append("\(column) = $\(parameters.count)")
        }
        func setIfGiven(_ column: String, _ value: SQLValue) {
            if value != .null { set(column, value) }
        }
        setIfGiven("container_id", .text(update.containerID))
        setIfGiven("exit_code", .int(update.exitCode))
        setIfGiven("reason", .text(update.reason))
        setIfGiven("stdout_tail", .text(update.stdoutTail))
        setIfGiven("stderr_tail", .text(update.stderrTail))
        setIfGiven("feedback", .text(update.feedback))
        switch (from, to) {
        case (.pending, .queued):
            set("queued_at", .date(now))
            set("next_attempt_at", .null)
            if let controller { set("claimed_by", .text(controller)) }
            setIfGiven("lease_expires_at", .date(update.leaseExpiresAt))
        case (.queued, .started):
            set("started_at", .date(now))
            setIfGiven("lease_expires_at", .date(update.leaseExpiresAt))
        case (_, .queued), (_, .started):
            // An update in place.
            setIfGiven("lease_expires_at", .date(update.leaseExpiresAt))
        case (_, .pending):
            // A retry: the next attempt starts from scratch, not before `nextAttemptAt`.
            if update.attempt == nil { assignments.append("attempt = attempt + 1") }
            set("claimed_by", .null)
            set("lease_expires_at", .null)
            set("queued_at", .null)
            set("started_at", .null)
            if update.containerID == nil { set("container_id", .null) }
            set("next_attempt_at", .date(update.nextAttemptAt))
        case (_, .finished), (_, .failed), (_, .cancelled):
            set("finished_at", .date(now))
            set("lease_expires_at", .null)
        }
        setIfGiven("attempt", .int(update.attempt))
        parameters.append(.text(id))
        var condition = "id = $\(parameters.count)"
        parameters.append(.text(from.rawValue))
        condition += " AND state = $\(parameters.count)"
        if let controller, from.isActive {
            parameters.append(.text(controller))
            condition += " AND claimed_by = $\(parameters.count)"
        }
        let sql = "UPDATE jobs SET \(assignments.joined(separator: ", ")) WHERE \(condition) RETURNING \(Self.jobColumns)"
        let row = try await backend.write { [parameters] tx throws(StoreError) -> SQLRow in
            guard let row = try tx.query(sql, parameters).first else {
                guard let current = try tx.run("SELECT state, claimed_by FROM jobs WHERE id = $1", .text(id)).first else {
                    throw .notFound("job \(id)")
                }
                let state = JobState(rawValue: try current.requiredText(0)) ?? from
                if state == from, let controller { throw .notClaimed(job: id, by: controller, state: state) }
                throw .stateConflict(job: id, expected: from, actual: state)
            }
            if from != to {
                let project = try row.requiredText(1)
                try Self.insertEvent(tx, Self.transitionEvent(id: id, project: project, from: from, to: to, update: update, controller: controller, now: now))
                if to.isTerminal {
                    try tx.run("UPDATE tokens SET revoked_at = $2 WHERE job_id = $1 AND revoked_at IS NULL", .text(id), .date(now))
                }
                if to == .pending { tx.notify(.jobSubmitted(project: project)) }
            }
            return row
        }
        // Ending a job revoked its tokens.
        if to.isTerminal, from != to { tokens.forget { $0.jobID == id } }
        return try Self.jobRecord(row)
    }

    private static func transitionEvent(id: String, project: String, from: JobState, to: JobState, update: JobUpdate, controller: String?, now: Date) -> EventRecord {
        let reason: String = switch to {
        case .pending: "Requeued"
        case .queued: "Queued"
        case .started: "Started"
        case .finished: "Finished"
        case .failed: "Failed"
        case .cancelled: "Cancelled"
        }
        var message = "\(from) → \(to)"
        if let controller { message += " by \(controller)" }
        if let why = update.reason { message += ": \(why)" }
        if let code = update.exitCode { message += " (exit code \(code))" }
        return EventRecord(jobID: id, project: project, type: to == .failed || to == .pending ? .warning : .normal, reason: reason, message: message, time: now)
    }

    func renewLeases(controller: String, until: Date) async throws(StoreError) -> Int {
        try await backend.write { tx throws(StoreError) in
            try tx.run(
                "UPDATE jobs SET lease_expires_at = $2 WHERE claimed_by = $1 AND state IN ('queued', 'started') RETURNING id",
                .text(controller), .date(until)
            ).count
        }
    }

    func reclaimExpiredLeases(now: Date) async throws(StoreError) -> [JobRecord] {
        let rows = try await backend.write { tx throws(StoreError) -> [SQLRow] in
            let expired = try tx.run(
                "SELECT id, claimed_by FROM jobs WHERE state IN ('queued', 'started') AND lease_expires_at < $1 ORDER BY id\(tx.dialect.skipLocked)",
                .date(now)
            )
            guard !expired.isEmpty else { return [] }
            var ids: [String] = []
            var holders: [String: String] = [:]
            for row in expired {
                let id = try row.requiredText(0)
                ids.append(id)
                holders[id] = row.text(1) ?? "?"
            }
            let rows = try tx.query(
                """
                UPDATE jobs SET state = 'pending', claimed_by = NULL, lease_expires_at = NULL, queued_at = NULL, started_at = NULL,
                    reason = 'WorkerLost'
                WHERE state IN ('queued', 'started') AND id IN (\(placeholders(from: 1, count: ids.count))) RETURNING \(Self.jobColumns)
                """,
                ids.map(SQLValue.text)
            )
            for row in rows {
                let id = try row.requiredText(0), project = try row.requiredText(1)
                try Self.insertEvent(tx, EventRecord(
                    jobID: id, project: project, type: .warning, reason: "WorkerLost",
                    message: "the lease of controller \(holders[id] ?? "?") expired; the job is pending again", time: now
                ))
                tx.notify(.jobSubmitted(project: project))
            }
            return rows
        }
        var jobs: [JobRecord] = []
        for row in rows { jobs.append(try Self.jobRecord(row)) }
        return jobs
    }

    func requestCancel(_ id: String, now: Date) async throws(StoreError) -> JobRecord {
        let row = try await backend.write { tx throws(StoreError) -> SQLRow in
            guard let current = try tx.run("SELECT state, project FROM jobs WHERE id = $1\(tx.dialect.skipLocked)", .text(id)).first else {
                throw .notFound("job \(id)")
            }
            let state = JobState(rawValue: try current.requiredText(0))
            let project = try current.requiredText(1)
            switch state {
            case .pending:
                // Never started: cancelled at once, nothing to stop.
                try Self.insertEvent(tx, EventRecord(jobID: id, project: project, reason: "Cancelled", message: "pending → cancelled on request", time: now))
                try tx.run("UPDATE tokens SET revoked_at = $2 WHERE job_id = $1 AND revoked_at IS NULL", .text(id), .date(now))
                return try Self.one(tx.run(
                    """
                    UPDATE jobs SET state = 'cancelled', cancel_requested = TRUE, reason = 'Cancelled', finished_at = $2,
                        lease_expires_at = NULL WHERE id = $1 RETURNING \(Self.jobColumns)
                    """,
                    .text(id), .date(now)
                ))
            case .queued, .started:
                try Self.insertEvent(tx, EventRecord(jobID: id, project: project, reason: "CancelRequested", message: "cancel requested while \(state?.rawValue ?? "")", time: now))
                tx.notify(.jobCancelRequested(jobID: id))
                return try Self.one(tx.run("UPDATE jobs SET cancel_requested = TRUE WHERE id = $1 RETURNING \(Self.jobColumns)", .text(id)))
            case .finished, .failed, .cancelled, nil:
                return try Self.one(tx.run("SELECT \(Self.jobColumns) FROM jobs WHERE id = $1", .text(id)))
            }
        }
        let job = try Self.jobRecord(row)
        // A pending job was cancelled at once, and its tokens revoked.
        if job.state == .cancelled { tokens.forget { $0.jobID == id } }
        return job
    }

    func pruneJobs(finishedBefore: Date, keepPerProject: Int) async throws(StoreError) -> Int {
        try await backend.write { tx throws(StoreError) in
            let doomed = """
                SELECT id FROM (
                    SELECT id, finished_at, row_number() OVER (PARTITION BY project ORDER BY finished_at DESC, id DESC) AS newest
                    FROM jobs WHERE state IN ('finished', 'failed', 'cancelled')
                ) ranked WHERE newest > $2 AND finished_at < $1
                """
            try tx.run("DELETE FROM tokens WHERE job_id IN (\(doomed))", .date(finishedBefore), .int(max(0, keepPerProject)))
            try tx.run("DELETE FROM events WHERE job_id IN (\(doomed))", .date(finishedBefore), .int(max(0, keepPerProject)))
            return try tx.run("DELETE FROM jobs WHERE id IN (\(doomed)) RETURNING id", .date(finishedBefore), .int(max(0, keepPerProject))).count
        }
    }

    func pruneOwnedJobs(owner: ResourceID, keepFinished: Int, keepFailed: Int) async throws(StoreError) -> Int {
        try await backend.write { tx throws(StoreError) in
            let doomed = """
                SELECT id FROM (
                    SELECT id, state, row_number() OVER (
                        PARTITION BY CASE WHEN state = 'finished' THEN 'finished' ELSE 'failed' END ORDER BY finished_at DESC, id DESC
                    ) AS newest
                    FROM jobs WHERE owner = $1 AND state IN ('finished', 'failed', 'cancelled')
                ) ranked WHERE (state = 'finished' AND newest > $2) OR (state <> 'finished' AND newest > $3)
                """
            let parameters: [SQLValue] = [.text(Coding.encodeResourceID(owner)), .int(max(0, keepFinished)), .int(max(0, keepFailed))]
            try tx.query("DELETE FROM tokens WHERE job_id IN (\(doomed))", parameters)
            try tx.query("DELETE FROM events WHERE job_id IN (\(doomed))", parameters)
            return try tx.query("DELETE FROM jobs WHERE id IN (\(doomed)) RETURNING id", parameters).count
        }
    }

    private static func one(_ rows: [SQLRow]) throws(StoreError) -> SQLRow {
        guard let row = rows.first else { throw .database("the statement returned no row") }
        return row
    }

    // MARK: Events

    private static let eventColumns = "sequence, time, project, resource_kind, resource_name, job_id, type, reason, message"

    /// The columns of `eventValues`, in order.
    static let eventValueColumns = "time, project, resource_kind, resource_name, job_id, type, reason, message"
    private static let insertEventStatement = """
        INSERT INTO events (\(eventValueColumns)) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING sequence
        """

    /// An event's values for `eventValueColumns`; it belongs to its resource's project, if it has one.
    static func eventValues(_ event: EventRecord) -> [SQLValue] {
        [
            .date(event.time), .text(event.resource?.project ?? event.project), .text(event.resource?.kind.rawValue),
            .text(event.resource?.name), .text(event.jobID), .text(event.type.rawValue), .text(event.reason), .text(event.message),
        ]
    }

    @discardableResult
    static func insertEvent(_ tx: SQLTransaction, _ event: EventRecord) throws(StoreError) -> Int64 {
        try one(tx.query(insertEventStatement, eventValues(event))).requiredInt(0)
    }

    func appendEvent(_ event: EventRecord) async throws(StoreError) -> EventRecord {
        let sequence = try await backend.write { tx throws(StoreError) in try Self.insertEvent(tx, event) }
        var stored = event
        stored.sequence = sequence
        if let resource = event.resource { stored.project = resource.project }
        return stored
    }

    func events(_ query: EventQuery) async throws(StoreError) -> [EventRecord] {
        guard query.limit > 0 else { throw .invalidArgument("an event query reads at least one event; limit was \(query.limit)") }
        var conditions: [String] = []
        var parameters: [SQLValue] = []
        func add(_ condition: (Int) -> String, _ value: SQLValue) {
            parameters.append(value)
            conditions.append(condition(parameters.count))
        }
        if let resource = query.resource {
            add({ "resource_kind = $\($0)" }, .text(resource.kind.rawValue))
            add({ "project = $\($0)" }, .text(resource.project))
            add({ "resource_name = $\($0)" }, .text(resource.name))
        } else if let project = query.project {
            add({ "project = $\($0)" }, .text(project))
        }
        if let job = query.jobID { add({ "job_id = $\($0)" }, .text(job)) }
        if let since = query.since { add({ "time >= $\($0)" }, .date(since)) }
        if let after = query.afterSequence { add({ "sequence > $\($0)" }, .int(after)) }
        parameters.append(.int(query.limit))
        let sql = """
            SELECT \(Self.eventColumns) FROM events\(conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND "))
            ORDER BY sequence LIMIT $\(parameters.count)
            """
        let rows = try await backend.read { [parameters] connection throws(StoreError) in try connection.query(sql, parameters) }
        return try Self.eventRecords(rows)
    }

    static func eventRecords(_ rows: [SQLRow]) throws(StoreError) -> [EventRecord] {
        var events: [EventRecord] = []
        events.reserveCapacity(rows.count)
        for row in rows {
            var resource: ResourceID?
            if let kindText = row.text(3), let name = row.text(4) {
                guard let kind = ResourceKind(rawValue: kindText) else { throw .invalidStoredData("unknown resource kind \(kindText)") }
                resource = ResourceID(kind: kind, project: try row.requiredText(2), name: name)
            }
            events.append(EventRecord(
                resource: resource, jobID: row.text(5), project: try row.requiredText(2),
                type: EventRecord.Kind(rawValue: try row.requiredText(6)) ?? .normal, reason: try row.requiredText(7),
                message: try row.requiredText(8), time: try row.requiredDate(1), sequence: try row.requiredInt(0)
            ))
        }
        return events
    }

    func pruneEvents(before: Date, keepAtMost: Int) async throws(StoreError) -> Int {
        try await backend.write { tx throws(StoreError) in
            // The newest `keepAtMost` are those after the sequence at that offset (none: keep all).
            try tx.run(
                """
                DELETE FROM events WHERE time < $1
                    OR sequence <= (SELECT sequence FROM events ORDER BY sequence DESC LIMIT 1 OFFSET $2)
                RETURNING sequence
                """,
                .date(before), .int(max(0, keepAtMost))
            ).count
        }
    }

    // MARK: Tokens

    private static let tokenColumns = "id, name, scopes, project, job_id, created_at, expires_at, last_used_at, revoked_at"

    private static func tokenRecord(_ row: SQLRow) throws(StoreError) -> TokenRecord {
        TokenRecord(
            id: try row.requiredText(0), name: try row.requiredText(1),
            scopes: try row.requiredText(2).split(separator: " ").map { TokenScope(rawValue: String($0)) },
            project: row.text(3), jobID: row.text(4), createdAt: try row.requiredDate(5), expiresAt: try row.date(6),
            lastUsedAt: try row.date(7), revokedAt: try row.date(8)
        )
    }

    func createToken(name: String, scopes: [TokenScope], project: String?, jobID: String?, expiresAt: Date?, now: Date) async throws(StoreError) -> (token: String, record: TokenRecord) {
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
            return try Self.one(tx.run(
                """
                INSERT INTO tokens (id, name, hash, scopes, project, job_id, created_at, expires_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING \(Self.tokenColumns)
                """,
                .text(id), .text(name), .text(hash), .text(scopeText), .text(project), .text(jobID), .date(now), .date(expiresAt)
            ))
        }
        return (token, try Self.tokenRecord(row))
    }

    func authenticate(token: String, now: Date) async throws(StoreError) -> TokenRecord? {
        let hash = TokenSecret.hash(token)
        let (known, mark) = tokens.record(hash: hash, now: now)
        if let known { return known }
        guard let record = try await lookUp(hash: hash, now: now) else { return nil }
        tokens.remember(hash: hash, record, now: now, since: mark)
        return record
    }

    private func lookUp(hash: String, now: Date) async throws(StoreError) -> TokenRecord? {
        let valid = "hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)"
        let found = try await backend.read { connection throws(StoreError) -> SQLRow? in
            try connection.run("SELECT \(Self.tokenColumns) FROM tokens WHERE \(valid)", .text(hash), .date(now)).first
        }
        guard let found else { return nil }
        let record = try Self.tokenRecord(found)
        // A busy token is not a durable write per request: its last use is kept to the minute.
        if let used = record.lastUsedAt, now.timeIntervalSince(used) < Self.lastUsedInterval { return record }
        // Revoked or expired meanwhile: the update finds no row, and the token is refused.
        let row = try await backend.write { tx throws(StoreError) -> SQLRow? in
            try tx.run("UPDATE tokens SET last_used_at = $2 WHERE \(valid) RETURNING \(Self.tokenColumns)", .text(hash), .date(now)).first
        }
        return try row.map(Self.tokenRecord)
    }

    /// How stale a token's `lastUsedAt` may get before a request writes it again.
    static let lastUsedInterval: TimeInterval = 60

    func tokens() async throws(StoreError) -> [TokenRecord] {
        let rows = try await backend.read { connection throws(StoreError) in
            try connection.run("SELECT \(Self.tokenColumns) FROM tokens WHERE job_id IS NULL ORDER BY id")
        }
        var records: [TokenRecord] = []
        for row in rows { records.append(try Self.tokenRecord(row)) }
        return records
    }

    func revokeToken(_ id: String, now: Date) async throws(StoreError) -> Bool {
        let revoked = try await backend.write { tx throws(StoreError) in
            !(try tx.run("UPDATE tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL RETURNING id", .text(id), .date(now))).isEmpty
        }
        tokens.forget { $0.id == id }
        return revoked
    }
}

/// JSON for the columns that hold documents: sorted keys, so an unchanged document is the same text.
enum Coding {
    /// One encoder and one decoder for every call (both are thread-safe): their options never
    /// change after this, and making one per value showed in a submit's profile.
    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .millisecondsSince1970
        return encoder
    }()

    static func encode(_ value: some Encodable) throws(StoreError) -> String {
        do {
            return String(decoding: try encoder.encode(value), as: UTF8.self)
        } catch {
            throw .invalidArgument("the value cannot be encoded as JSON: \(error)")
        }
    }

    private static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        return decoder
    }()

    static func decode<T: Decodable>(_ type: T.Type, from text: String) throws(StoreError) -> T {
        do {
            return try decoder.decode(type, from: Data(text.utf8))
        } catch {
            throw .invalidStoredData("a stored \(T.self) is not valid JSON: \(error)")
        }
    }

    static func encodeResource(_ resource: Resource) throws(StoreError) -> String { try encode(resource) }

    /// Stored documents and specs are read with the manifest reader's JSON path: the same checks
    /// as on the way in, at a fraction of `JSONDecoder`'s cost (it throws and catches an error for
    /// every type it tries on every value).
    static func decodeResource(_ text: String) throws(StoreError) -> Resource {
        try readStored(Resource.self) { () throws(ValidationError) in try Resource(json: text) }
    }

    /// Jobs read again and again (a client polling its job, the controller's passes) and jobs
    /// submitted from one template share their spec text: each text is read and validated once.
    static func decodeJobSpec(_ text: String) throws(StoreError) -> JobSpec {
        try decodedSpecs.value(for: text) { () throws(StoreError) in
            try readStored(JobSpec.self) { () throws(ValidationError) in try JobSpec(json: text) }
        }
    }

    /// The stored spec text `stored` of `spec` with its literal env values hidden, encoded once
    /// per text.
    static func shownSpecJSON(_ spec: JobSpec, stored: String) -> String {
        // Encoding a spec that was encoded before cannot fail; were it to, nothing is shown.
        shownSpecs.value(for: stored) { (try? encode(spec.hidingLiteralEnv())) ?? "{}" }
    }

    private static let decodedSpecs = SpecTextMemo<JobSpec>(capacity: 512)
    private static let shownSpecs = SpecTextMemo<String>(capacity: 512)

    private static func readStored<T>(_ type: T.Type, _ read: () throws(ValidationError) -> T) throws(StoreError) -> T {
        do {
            return try read()
        } catch {
            throw .invalidStoredData("a stored \(T.self) no longer validates: \(error)", underlying: error)
        }
    }

    /// `CronJob/qfield/runcrons`: names and projects hold no `/`.
    static func encodeResourceID(_ id: ResourceID) -> String { "\(id.kind.rawValue)/\(id.project)/\(id.name)" }

    static func decodeResourceID(_ text: String) throws(StoreError) -> ResourceID {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, let kind = ResourceKind(rawValue: String(parts[0])) else {
            throw .invalidStoredData("a resource id \(text) is not Kind/project/name")
        }
        return ResourceID(kind: kind, project: String(parts[1]), name: String(parts[2]))
    }
}

/// Values worked out from stored spec texts, each once per text; emptied when full (a bound, not
/// an LRU: the texts that keep being read are back after one read each).
final class SpecTextMemo<Value: Sendable>: Sendable {
    private let values = Mutex<[String: Value]>([:])
    private let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// The value for `text`, from `compute` the first time.
    func value<Failure: Error>(for text: String, _ compute: () throws(Failure) -> Value) throws(Failure) -> Value {
        if let value = values.withLock({ $0[text] }) { return value }
        let value = try compute()
        values.withLock { values in
            if values.count >= capacity { values.removeAll(keepingCapacity: true) }
            values[text] = value
        }
        return value
    }
}
