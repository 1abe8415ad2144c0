import BerthCore
import Foundation

/// Job submissions (`JobQueue.submitJob`), written in batches when they come faster than they
/// commit; each dialect writes a batch its own way (`SQLDialect.insertJobs`).
extension SQLStore {
    public func submitJob(_ submission: JobSubmission, now: Date) async throws(StoreError) -> (job: JobRecord, created: Bool) {
        if SQLStore.hasTemplateData(submission) { return try await submitTemplatedJob(submission, now: now) }
        return try await submissions.run(try PendingJob(submission, now: now))
    }

    // MARK: In batches

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
                cancelRequested: false, submittedAt: submittedAt, queuedAt: nil, startedAt: nil, finishedAt: nil, nextAttemptAt: nil,
                labels: submission.labels
            )
            jobValues = [
                .text(id), .text(submission.project), .text(submission.name), .text(spec), .int(submission.priority),
                .text(submission.idempotencyKey), .text(submission.owner.map(Coding.encodeResourceID)), .date(submittedAt),
                .text(try Coding.encode(submission.labels)), .text(submission.spec.concurrencyKey),
                .int(submission.spec.concurrencyKey == nil ? nil : submission.spec.keyLimit),
                .text(submission.spec.nodeSelector.isEmpty ? nil : try Coding.encode(submission.spec.nodeSelector)),
            ]
            eventValues = SQLStore.eventValues(
                EventRecord(
                    resource: submission.owner, jobID: id, project: submission.project, reason: "Submitted",
                    message: "job \(submission.name) submitted", time: submittedAt
                ))
        }

        var key: Key? { record.idempotencyKey.map { Key(project: record.project, idempotencyKey: $0) } }
    }

    /// The columns of `PendingJob.jobValues`, in order.
    static let jobValueColumns = "id, project, name, spec, priority, idempotency_key, owner, submitted_at, labels, concurrency_key, max_per_key, node_selector"

    /// One batch: the first submission with a key is written, later ones in the batch get its job.
    static func writeSubmissions(_ batch: [PendingJob], on session: any SQLSession, dialect: any SQLDialect) -> [Result<SubmittedJob, StoreError>] {
        var distinct: [PendingJob] = []
        var written: [Int] = [] // for each submission, the index of the one written for it in `distinct`
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
    private static func writeDistinct(_ jobs: [PendingJob], on session: any SQLSession, dialect: any SQLDialect) -> [Result<SubmittedJob, StoreError>] {
        do throws(StoreError) {
            return try insertJobs(jobs, on: session, dialect: dialect)
        } catch  where error.code == .database && jobs.count > 1 {
            var outcomes: [Result<SubmittedJob, StoreError>] = []
            for job in jobs { outcomes += writeDistinct([job], on: session, dialect: dialect) }
            return outcomes
        } catch {
            return Array(repeating: .failure(error), count: jobs.count)
        }
    }

    /// Inserts the jobs whose key was not used before, and returns each submission's job: the new
    /// one, or the one first submitted with its key.
    private static func insertJobs(_ jobs: [PendingJob], on session: any SQLSession, dialect: any SQLDialect) throws(StoreError) -> [Result<SubmittedJob, StoreError>] {
        let inserted = try dialect.insertJobs(jobs, on: session)
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
                        rows.append(
                            try connection.run(
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

    /// One job, skipped when its key was used before in its project (every dialect's insert).
    static let insertJob = """
        INSERT INTO jobs (\(jobValueColumns), state, attempt, cancel_requested)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'pending', 1, FALSE)
        ON CONFLICT (project, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
        RETURNING id
        """
}
