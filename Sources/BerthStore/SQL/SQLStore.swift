import BerthCore
import Foundation

/// Berth's store, over SQL: every operation written once, in the SQL both databases understand,
/// in one extension per concern (`SQLStore+Resources`, `+Status`, `+Jobs`, `+JobSubmissions`,
/// `+JobReads`, `+Events`, `+Source`, `+Tokens`; rows are read back in `SQLRowCoding`). Its backend adds
/// what differs (`SQLBackend`: the connections, the dialect, the wake-ups and the leader lease).
/// Opened on PostgreSQL as `PostgresStore`, on SQLite as `SQLiteStore`.
///
/// SAFETY (`@unchecked Sendable`): every stored property is a `let` of a Sendable type. The class
/// is not final only so that `PostgresStore` and `SQLiteStore`, which add no state, can name how
/// each database is opened.
public class SQLStore: Store, @unchecked Sendable {
    let backend: any SQLBackend
    /// Job submissions, written together when they come faster than they commit.
    let submissions: BatchedCalls<PendingJob, SubmittedJob>
    /// Reads of one job with its events, read together when they come faster than the pool answers.
    let jobReads: BatchedCalls<JobRead, [SQLRow]>
    /// Tokens found valid in the last second.
    let validTokens = TokenCache()
    /// The schema version after opening.
    public let schemaVersion: Int

    /// At most `submitWriters` connections write job submissions at once; the others stay free
    /// for everything else, and submissions that wait share the next commit. Reads of one job go
    /// one statement at a time: whatever arrives while one is in flight goes into the next (up to
    /// `maxJobReadBatch` jobs). More statements in flight only split the same waiting reads into
    /// smaller ones, each a round trip and a thread wake-up more: on PostgreSQL, 32 clients polling
    /// a job got 33 % more answers from one than from four (docs/benchmarks.md, "HTTP API").
    init(backend: any SQLBackend, schemaVersion: Int, submitWriters: Int) {
        self.backend = backend
        self.schemaVersion = schemaVersion
        let dialect = backend.dialect
        submissions = BatchedCalls(
            limit: submitWriters, maxBatch: SQLStore.maxSubmitBatch, post: { [backend] work, fromWorker in backend.post(work, fromWorker: fromWorker) },
            run: { batch, session in SQLStore.writeSubmissions(batch, on: session, dialect: dialect) }
        )
        jobReads = BatchedCalls(
            limit: 1, maxBatch: SQLStore.maxJobReadBatch, post: { [backend] work, fromWorker in backend.post(work, fromWorker: fromWorker) },
            run: { batch, session in SQLStore.readJobs(batch, on: session) }
        )
    }

    // MARK: What the backend does its own way

    public func notifications() -> AsyncStream<StoreNotification> { backend.notifications() }

    public func tryAcquireLeadership(name: String, holder: String, lease: TimeSpan, now: Date) async throws(StoreError) -> Bool {
        try await backend.tryAcquireLeadership(name: name, holder: holder, lease: lease, now: now)
    }

    public func releaseLeadership(name: String, holder: String) async throws(StoreError) {
        try await backend.releaseLeadership(name: name, holder: holder)
    }

    public func close() async {
        await backend.close()
    }

    // MARK: Reaching under the API, for tests

    /// Runs SQL on a pool connection.
    func executeForTesting(_ script: String) async throws(StoreError) {
        try await backend.execute(script)
    }

    /// Runs one query on a pool connection.
    func queryForTesting(_ sql: String) async throws(StoreError) -> [[String?]] {
        try await backend.read { connection throws(StoreError) in try connection.query(sql, []).map(\.values) }
    }
}
