import BerthCore
import CSQLite
import Foundation
import Glibc
import Logging

/// The embedded store: one SQLite file (the system libsqlite3), for a single controller.
///
/// - WAL journal, so readers (`sqlite3 berth.sqlite`, a backup) never block the controller.
/// - `synchronous=FULL`: a commit returns only after the WAL is fsynced, so a job submission that
///   was acknowledged survives a power loss; `NORMAL` would lose the last commits then. The cost
///   is one fsync per write transaction; job submissions that arrive while one is written share
///   the next transaction (`BatchedCalls`).
/// - `busy_timeout` of 30 s for other processes that open the same file (`berth jobs submit`
///   beside `berth serve`): a commit stalled by a slow disk makes them wait, not fail.
/// - One connection on one dedicated thread: SQLite has one writer anyway, and serializing every
///   operation there makes each one atomic without locks.
/// - Wake-ups are in-process: a submit from another process is found by the controller's resync.
/// - The leader lease is a row with an expiry (`leader_leases`), so two processes on one file
///   still elect one leader.
public final class SQLiteStore: Store {
    public struct Configuration: Sendable {
        /// The database file; created with its folder when missing.
        public var path: String
        public var busyTimeout: TimeSpan

        public init(path: String, busyTimeout: TimeSpan = .seconds(30)) {
            self.path = path
            self.busyTimeout = busyTimeout
        }

        /// `<stateDirectory>/berth.sqlite`, the default when no database URL is configured.
        public static func inStateDirectory(_ directory: String) -> Configuration {
            Configuration(path: URL(fileURLWithPath: directory).appendingPathComponent("berth.sqlite").path)
        }
    }

    static let migrations = [migration0001, migration0002, Migration.replicaAddresses]

    private let workers: BlockingWorkers<SQLiteConnection>
    private let hub = NotificationHub()
    /// Internal for tests that write a batch of submissions directly.
    let engine: SQLStoreEngine
    private let logger: Logger
    /// The schema version after opening.
    public let schemaVersion: Int

    /// Opens (creating when missing) and migrates the database file.
    public static func open(_ configuration: Configuration, logger: Logger = Logger(label: "berth.store")) async throws(StoreError) -> SQLiteStore {
        let folder = URL(fileURLWithPath: configuration.path).deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw .unavailable("cannot create the folder \(folder.path) for the SQLite store: \(error.localizedDescription)")
        }
        try prepareFile(configuration.path, in: folder.path, logger: logger)
        let workers = BlockingWorkers<SQLiteConnection>(
            count: 1, name: "berth-sqlite",
            makeConnection: { SQLiteConnection(configuration: configuration) },
            closeConnection: { $0.close() }
        )
        do throws(StoreError) {
            let version = try await workers.run { connection throws(StoreError) in
                try Migrator.migrate(connection, migrations: migrations, begin: "BEGIN IMMEDIATE", lock: nil, now: Date())
            }
            logger.debug("opened the SQLite store", metadata: ["berth.store.path": "\(configuration.path)", "berth.store.schema": "\(version)"])
            return SQLiteStore(workers: workers, logger: logger, schemaVersion: version)
        } catch {
            await workers.stop()
            throw error
        }
    }

    /// Creates the database file with mode 0600 before SQLite opens it, so the WAL and
    /// shared-memory files SQLite makes beside it take that mode too. A folder or file others can
    /// access is reported, not changed: an operator may have opened it on purpose.
    private static func prepareFile(_ path: String, in folder: String, logger: Logger) throws(StoreError) {
        let file = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard file >= 0 || errno == EEXIST else {
            throw .unavailable("cannot create the SQLite file \(path): \(String(cString: strerror(errno)))")
        }
        if file >= 0 { Glibc.close(file) }
        for (place, mode) in [(folder, "700"), (path, "600")] {
            var status = stat()
            if stat(place, &status) == 0, status.st_mode & 0o077 != 0 {
                logger.warning("\(place) can be accessed by group or others (mode 0\(String(status.st_mode & 0o777, radix: 8))); run chmod \(mode) \(place)")
            }
        }
    }

    private init(workers: BlockingWorkers<SQLiteConnection>, logger: Logger, schemaVersion: Int) {
        self.workers = workers
        self.logger = logger
        self.schemaVersion = schemaVersion
        // One connection: while it writes a batch, the submissions that arrive wait for the next.
        let backend = PooledBackend(workers: workers, dialect: .sqlite) { [hub] connection in Session(connection: connection, hub: hub) }
        self.engine = SQLStoreEngine(backend: backend, submitWriters: 1)
    }

    private struct Session: SQLSession {
        let connection: SQLiteConnection
        let hub: NotificationHub

        func read<T>(_ body: (any SQLConnection) throws(StoreError) -> T) throws(StoreError) -> T {
            try body(connection)
        }

        func write<T>(_ body: (SQLTransaction) throws(StoreError) -> T) throws(StoreError) -> T {
            try connection.execute("BEGIN IMMEDIATE")
            let transaction = SQLTransaction(connection: connection)
            let value: T
            do throws(StoreError) {
                value = try body(transaction)
                try connection.execute("COMMIT")
            } catch {
                try? connection.execute("ROLLBACK")
                throw error
            }
            for notification in transaction.notifications { hub.send(notification) }
            return value
        }

        /// SQLite commits are cheap in round trips (there are none): a transaction like any other write.
        func writeStatement<T>(_ body: (SQLTransaction) throws(StoreError) -> T) throws(StoreError) -> T {
            try write(body)
        }
    }

    /// Runs SQL on the store's connection, for tests that need to reach under the API.
    func executeForTesting(_ script: String) async throws(StoreError) {
        try await workers.run { connection throws(StoreError) in try connection.execute(script) }
    }

    // MARK: Store

    public func putResource(_ resource: Resource, source: ResourceSource, now: Date) async throws(StoreError) -> StoredResource {
        try await engine.putResource(resource, source: source, now: now)
    }

    public func resource(_ id: ResourceID) async throws(StoreError) -> StoredResource? { try await engine.resource(id) }

    public func resources(kind: ResourceKind?, project: String?, includeDeleted: Bool) async throws(StoreError) -> [StoredResource] {
        try await engine.resources(kind: kind, project: project, includeDeleted: includeDeleted)
    }

    public func deleteResource(_ id: ResourceID, now: Date) async throws(StoreError) -> StoredResource? { try await engine.deleteResource(id, now: now) }
    public func purgeResource(_ id: ResourceID) async throws(StoreError) -> Bool { try await engine.purgeResource(id) }
    public func putStatus(_ status: ResourceStatus) async throws(StoreError) { try await engine.putStatus(status) }
    public func status(_ id: ResourceID) async throws(StoreError) -> ResourceStatus? { try await engine.status(id) }
    public func statuses(project: String?) async throws(StoreError) -> [ResourceStatus] { try await engine.statuses(project: project) }
    public func deleteStatus(_ id: ResourceID) async throws(StoreError) -> Bool { try await engine.deleteStatus(id) }

    public func submitJob(_ submission: JobSubmission, now: Date) async throws(StoreError) -> (job: JobRecord, created: Bool) {
        try await engine.submitJob(submission, now: now)
    }

    public func job(_ id: String) async throws(StoreError) -> JobRecord? { try await engine.job(id) }
    public func job(_ id: String, events limit: Int) async throws(StoreError) -> (job: JobRecord, events: [EventRecord])? {
        try await engine.job(id, events: limit)
    }
    public func jobs(filter: JobFilter, page: PageRequest) async throws(StoreError) -> Page<JobRecord> { try await engine.jobs(filter: filter, page: page) }
    public func jobCounts(project: String?) async throws(StoreError) -> [JobState: Int] { try await engine.jobCounts(project: project) }

    public func claimJobs(controller: String, limit: Int, projectLimits: [String: ProjectJobLimits], lease: TimeSpan, now: Date) async throws(StoreError) -> [JobRecord] {
        // One writer at a time (BEGIN IMMEDIATE): nothing else can count or claim meanwhile.
        try await engine.claimJobs(controller: controller, limit: limit, projectLimits: projectLimits, lease: lease, now: now) { _, _ throws(StoreError) in }
    }

    public func transitionJob(_ id: String, from: JobState, to: JobState, controller: String?, update: JobUpdate, now: Date) async throws(StoreError) -> JobRecord {
        try await engine.transitionJob(id, from: from, to: to, controller: controller, update: update, now: now)
    }

    public func renewLeases(controller: String, until: Date) async throws(StoreError) -> Int { try await engine.renewLeases(controller: controller, until: until) }
    public func reclaimExpiredLeases(now: Date) async throws(StoreError) -> [JobRecord] { try await engine.reclaimExpiredLeases(now: now) }
    public func requestCancel(_ id: String, now: Date) async throws(StoreError) -> JobRecord { try await engine.requestCancel(id, now: now) }

    public func pruneJobs(finishedBefore: Date, keepPerProject: Int) async throws(StoreError) -> Int {
        try await engine.pruneJobs(finishedBefore: finishedBefore, keepPerProject: keepPerProject)
    }

    @discardableResult
    public func pruneOwnedJobs(owner: ResourceID, keepFinished: Int, keepFailed: Int) async throws(StoreError) -> Int {
        try await engine.pruneOwnedJobs(owner: owner, keepFinished: keepFinished, keepFailed: keepFailed)
    }

    public func appendEvent(_ event: EventRecord) async throws(StoreError) -> EventRecord { try await engine.appendEvent(event) }
    public func events(_ query: EventQuery) async throws(StoreError) -> [EventRecord] { try await engine.events(query) }
    public func pruneEvents(before: Date, keepAtMost: Int) async throws(StoreError) -> Int {
        try await engine.pruneEvents(before: before, keepAtMost: keepAtMost)
    }

    public func createToken(name: String, scopes: [TokenScope], project: String?, expiresAt: Date?, now: Date) async throws(StoreError) -> (token: String, record: TokenRecord) {
        try await engine.createToken(name: name, scopes: scopes, project: project, jobID: nil, expiresAt: expiresAt, now: now)
    }

    public func createJobToken(jobID: String, now: Date) async throws(StoreError) -> (token: String, record: TokenRecord) {
        try await engine.createToken(name: "job \(jobID)", scopes: [.job], project: nil, jobID: jobID, expiresAt: nil, now: now)
    }

    public func authenticate(token: String, now: Date) async throws(StoreError) -> TokenRecord? { try await engine.authenticate(token: token, now: now) }
    public func tokens() async throws(StoreError) -> [TokenRecord] { try await engine.tokens() }
    public func revokeToken(_ id: String, now: Date) async throws(StoreError) -> Bool { try await engine.revokeToken(id, now: now) }

    public func notifications() -> AsyncStream<StoreNotification> { hub.stream() }

    public func tryAcquireLeadership(name: String, holder: String, lease: TimeSpan, now: Date) async throws(StoreError) -> Bool {
        let until = now.addingTimeInterval(lease.seconds)
        return try await engine.backend.write { tx throws(StoreError) in
            !(try tx.run(
                """
                INSERT INTO leader_leases (name, holder, expires_at) VALUES ($1, $2, $3)
                ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
                WHERE leader_leases.holder = excluded.holder OR leader_leases.expires_at <= $4
                RETURNING holder
                """,
                .text(name), .text(holder), .date(until), .date(now)
            )).isEmpty
        }
    }

    public func releaseLeadership(name: String, holder: String) async throws(StoreError) {
        _ = try await engine.backend.write { tx throws(StoreError) in
            try tx.run("DELETE FROM leader_leases WHERE name = $1 AND holder = $2", .text(name), .text(holder))
        }
    }

    public func close() async {
        await workers.stop()
        hub.finish()
    }
}

/// The SQLite connection of the store's thread, with its prepared statements.
final class SQLiteConnection: SQLScriptConnection {
    private var database: OpaquePointer?
    private var openError: StoreError?
    private var statements: [String: OpaquePointer] = [:]
    let dialect = SQLDialect.sqlite

    init(configuration: SQLiteStore.Configuration) {
        var handle: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let status = sqlite3_open_v2(configuration.path, &handle, flags, nil)
        guard status == SQLITE_OK, let handle else {
            let detail = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close(handle)
            openError = .unavailable("cannot open the SQLite file \(configuration.path): \(detail)")
            return
        }
        database = handle
        sqlite3_busy_timeout(handle, Int32(clamping: configuration.busyTimeout.milliseconds))
        do throws(StoreError) {
            // journal_mode answers with a row: run it as a query.
            let mode = try retryingDeadlock(until: .now + .milliseconds(configuration.busyTimeout.milliseconds)) { () throws(StoreError) in
                try query("PRAGMA journal_mode = WAL", []).first?.text(0)
            }
            guard mode == "wal" else { throw .unavailable("SQLite refused WAL mode for \(configuration.path) (it answered \(mode ?? "nothing"))") }
            try execute("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON")
        } catch {
            openError = error
            close()
        }
    }

    /// Runs `body` again while SQLite answers busy, until `deadline`. A new file is still in
    /// rollback-journal mode, and two processes switching it to WAL at once (`berth serve` and a
    /// `berth jobs submit` started beside it) can meet SQLite's deadlock rule: it answers
    /// SQLITE_BUSY at once rather than call the busy handler, so wait here as the handler would.
    private func retryingDeadlock<T>(until deadline: ContinuousClock.Instant, _ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        while true {
            do throws(StoreError) {
                return try body()
            } catch where error.isRetryable && ContinuousClock.now < deadline {
                usleep(UInt32.random(in: 1_000...20_000))
            }
        }
    }

    func close() {
        for statement in statements.values { sqlite3_finalize(statement) }
        statements = [:]
        if let database { sqlite3_close_v2(database) }
        database = nil
    }

    private func handle() throws(StoreError) -> OpaquePointer {
        guard let database else { throw openError ?? .closed }
        return database
    }

    private func failure(_ status: Int32, _ database: OpaquePointer) -> StoreError {
        let message = String(cString: sqlite3_errmsg(database))
        let primary = status & 0xff
        return .database("SQLite: \(message)", retryable: primary == SQLITE_BUSY || primary == SQLITE_LOCKED)
    }

    func execute(_ script: String) throws(StoreError) {
        let database = try handle()
        var error: UnsafeMutablePointer<CChar>?
        let status = sqlite3_exec(database, script, nil, nil, &error)
        if let error { sqlite3_free(error) }
        guard status == SQLITE_OK else { throw failure(status, database) }
    }

    func query(_ sql: String, _ parameters: [SQLValue]) throws(StoreError) -> [SQLRow] {
        let database = try handle()
        let statement: OpaquePointer
        if let cached = statements[sql] {
            statement = cached
        } else {
            var prepared: OpaquePointer?
            let status = sqlite3_prepare_v3(database, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &prepared, nil)
            guard status == SQLITE_OK, let prepared else { throw failure(status, database) }
            // Dynamic queries (IN lists of any length) would grow the cache without bound.
            if statements.count > 256 {
                for old in statements.values { sqlite3_finalize(old) }
                statements = [:]
            }
            statements[sql] = prepared
            statement = prepared
        }
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
        }
        // Parameters are written `$1`, `$2`, … as for PostgreSQL; SQLite sees named parameters
        // and numbers them in order of appearance, so bind each by its name.
        let count = sqlite3_bind_parameter_count(statement)
        if count > 0 {
            for index in 1...count {
                guard let name = sqlite3_bind_parameter_name(statement, index),
                      let number = Int(String(cString: name).dropFirst()), number >= 1, number <= parameters.count
                else { throw .invalidArgument("SQL parameter \(index) has no value") }
                let status: Int32 = switch parameters[number - 1] {
                case .null: sqlite3_bind_null(statement, index)
                case .int(let value): sqlite3_bind_int64(statement, index, value)
                case .bool(let value): sqlite3_bind_int64(statement, index, value ? 1 : 0)
                case .text(let value): sqlite3_bind_text(statement, index, value, -1, berth_sqlite_transient())
                }
                guard status == SQLITE_OK else { throw failure(status, database) }
            }
        }
        var rows: [SQLRow] = []
        let columns = sqlite3_column_count(statement)
        while true {
            let status = sqlite3_step(statement)
            if status == SQLITE_DONE { break }
            guard status == SQLITE_ROW else { throw failure(status, database) }
            var values: [String?] = []
            values.reserveCapacity(Int(columns))
            for column in 0..<columns {
                if sqlite3_column_type(statement, column) == SQLITE_NULL {
                    values.append(nil)
                } else if let text = sqlite3_column_text(statement, column) {
                    values.append(String(cString: text))
                } else {
                    values.append("")
                }
            }
            rows.append(SQLRow(values: values))
        }
        return rows
    }
}

extension SQLiteStore {
    /// Runs one query on the store's connection, for tests that need to reach under the API.
    func queryForTesting(_ sql: String) async throws(StoreError) -> [[String?]] {
        try await engine.backend.read { connection throws(StoreError) in try connection.query(sql, []).map(\.values) }
    }
}
