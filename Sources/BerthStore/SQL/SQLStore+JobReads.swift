import BerthCore
import Foundation

/// Reads of one job (`JobQueue.job`); a job with its first events is read together with the
/// others asked for while the pool was busy.
extension SQLStore {
    public func job(_ id: String) async throws(StoreError) -> JobRecord? {
        // Decoded here, not on the connection's thread: decoding the spec costs more than the query.
        let row = try await backend.read { connection throws(StoreError) in
            try connection.run("SELECT \(SQLStore.jobColumns) FROM jobs WHERE id = $1", .text(id)).first
        }
        return try row.map(SQLStore.jobRecord)
    }

    public func job(_ id: String, events limit: Int) async throws(StoreError) -> (job: JobRecord, events: [EventRecord])? {
        guard limit > 0 else { throw .invalidArgument("an event query reads at least one event; limit was \(limit)") }
        // Decoded here, not on the connection's thread, like `job(_:)`.
        let rows = try await jobReads.run(JobRead(id: id, eventLimit: limit))
        guard let first = rows.first else { return nil }
        let job = try SQLStore.jobRecord(SQLRow(values: Array(first.values[1...SQLStore.jobColumnCount])))
        let events = try SQLStore.eventRecords(rows.dropFirst().map { SQLRow(values: Array($0.values[(SQLStore.jobColumnCount + 1)...])) })
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
}
