import BerthCore
import BerthHostFiles
import Foundation
import Glibc
import Logging

/// The embedded store: `SQLStore` on one SQLite file (the system libsqlite3), for a single
/// controller. This type opens it (`SQLiteBackend` runs it).
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
///
/// SAFETY (`@unchecked Sendable`): no state of its own; `SQLStore`'s is immutable.
public final class SQLiteStore: SQLStore, @unchecked Sendable {
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

    /// The dialect of every SQLite store.
    static let dialect = SQLiteDialect()
    /// The schema this Berth migrates a database to.
    static let migrations = Schema.migrations(dialect)

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
                try Migrator.migrate(connection, migrations: migrations, begin: dialect.beginMigration, lock: dialect.migrationLock, now: Date())
            }
            logger.debug("opened the SQLite store", metadata: ["berth.store.path": "\(configuration.path)", "berth.store.schema": "\(version)"])
            // One connection: while it writes a batch, the submissions that arrive wait for the next.
            return SQLiteStore(backend: SQLiteBackend(workers: workers), schemaVersion: version, submitWriters: 1)
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
        for (place, fix) in [(folder, "700"), (path, "600")] {
            if let problem = OwnerOnly.problem(at: place, fix: fix) { logger.warning("\(problem)") }
        }
    }
}
