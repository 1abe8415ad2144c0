import BerthCore
import Foundation

/// Jobs rendered from a JobTemplate: their template and input files are written with the job, in
/// one transaction, so no controller claims a job whose files are not there yet; such submissions
/// are rare and go on their own, outside the batches.
extension SQLStore {
    /// Whether a submission carries more than the batched insert writes.
    static func hasTemplateData(_ submission: JobSubmission) -> Bool {
        submission.template != nil || !submission.inputs.isEmpty
    }

    /// Writes the job, its template columns and its input files; a repeated idempotency key
    /// returns the first job, as a batched submit does.
    func submitTemplatedJob(_ submission: JobSubmission, now: Date) async throws(StoreError) -> SubmittedJob {
        var pending = try PendingJob(submission, now: now)
        pending.record.template = submission.template
        let job = pending
        let inputs = submission.inputs
        return try await backend.write { tx throws(StoreError) -> SubmittedJob in
            guard try tx.query(SQLStore.insertJob, job.jobValues).first != nil else {
                let row = try SQLStore.one(
                    tx.run("SELECT \(SQLStore.jobColumns) FROM jobs WHERE project = $1 AND idempotency_key = $2", .text(job.record.project), .text(job.record.idempotencyKey)))
                return (try SQLStore.jobRecord(row), false)
            }
            try tx.query(SQLStore.insertEventStatement, job.eventValues)
            if let template = job.record.template {
                try tx.run(
                    "UPDATE jobs SET template = $2, template_generation = $3 WHERE id = $1", .text(job.record.id), .text(template.name), .int(template.generation))
            }
            for input in inputs {
                try tx.run(
                    "INSERT INTO job_inputs (job_id, path, content) VALUES ($1, $2, $3)", .text(job.record.id), .text(input.path),
                    .text(Data(input.content).base64EncodedString()))
            }
            tx.notify(.jobSubmitted(project: job.record.project))
            return (job.record, true)
        }
    }

    public func jobInputs(_ id: String) async throws(StoreError) -> [JobInputFile] {
        let rows = try await backend.read { connection throws(StoreError) in
            try connection.run("SELECT path, content FROM job_inputs WHERE job_id = $1 ORDER BY path", .text(id))
        }
        return try rows.map { row throws(StoreError) -> JobInputFile in
            guard let content = Data(base64Encoded: try row.requiredText(1)) else {
                throw .invalidStoredData("the input file \(row.text(0) ?? "") of job \(id) is not base64")
            }
            return JobInputFile(path: try row.requiredText(0), content: Array(content))
        }
    }
}
