import BerthCore
import Foundation
import Logging

/// The production store: `SQLStore` on PostgreSQL through the system libpq, shared by several
/// controllers. This type opens it (`PostgresBackend` runs it).
///
/// - A pool of connections, each driven by a thread of its own (libpq blocks); operations await
///   them through continuations.
/// - Claims take `FOR UPDATE SKIP LOCKED`, so controllers claiming together never wait for one
///   another and never take the same job.
/// - A lost connection is reopened with backoff. An operation whose first statement finds the
///   connection dead is retried once on a fresh one (nothing was applied); one that loses it later
///   fails with a retryable `connectionLost`.
/// - Job submissions are group-committed (`BatchedCalls`): all but one of the pool write them, and
///   the submits that arrive meanwhile go together in the next statement, every job and its event
///   through a CTE, without BEGIN and COMMIT: one round trip and one durable commit for all of
///   them. Reads of one job with its events go together the same way (`BatchedCalls`), one
///   statement at a time for all the jobs asked meanwhile. Statements are prepared once per
///   connection.
/// - Wake-ups: `NOTIFY berth` once a write committed, from a sender connection of its own
///   (`NotificationSender`); a listener thread with its own connection `LISTEN`s, reconnects
///   after a loss and then sends `.resync`.
/// - Leadership: session advisory locks on a dedicated connection; losing that connection loses
///   the lock, and the next `tryAcquireLeadership` says so.
///
/// SAFETY (`@unchecked Sendable`): no state of its own; `SQLStore`'s is immutable.
public final class PostgresStore: SQLStore, @unchecked Sendable {
    /// The dialect of every PostgreSQL store.
    static let dialect = PostgresDialect()
    /// The schema this Berth migrates a database to.
    static let migrations = Schema.migrations(dialect)

    /// Connects, migrates the schema and starts listening. Fails with a retryable `unavailable`
    /// error when the database cannot be reached, with `schemaTooNew` when a newer Berth migrated
    /// it, and with `database` when libpq itself cannot be loaded.
    public static func open(_ configuration: PostgresConfiguration, logger: Logger = Logger(label: "berth.store")) async throws(StoreError) -> PostgresStore {
        try PostgresConnection.loadLibPQ()
        let poolConnects = PoolConnects()
        let workers = BlockingWorkers<PostgresConnection>(
            count: configuration.poolSize, name: "berth-pg",
            makeConnection: { PostgresConnection(configuration: configuration, poolConnects: poolConnects) },
            closeConnection: { $0.close() }
        )
        let version: Int
        do throws(StoreError) {
            version = try await workers.run { connection throws(StoreError) in
                try connection.ensureConnected()
                return try Migrator.migrate(connection, migrations: migrations, begin: dialect.beginMigration, lock: dialect.migrationLock, now: Date())
            }
        } catch {
            await workers.stop()
            throw error
        }
        let hub = NotificationHub()
        let listener = NotificationListener(configuration: configuration, hub: hub, logger: logger)
        let sender = NotificationSender(configuration: configuration, logger: logger)
        await listener.start()
        let leadership = BlockingWorkers<LeaderConnection>(
            count: 1, name: "berth-pg-leader",
            makeConnection: { LeaderConnection(PostgresConnection(configuration: configuration)) },
            closeConnection: { $0.connection.close() }
        )
        logger.debug("opened the PostgreSQL store", metadata: ["berth.store.schema": "\(version)"])
        let backend = PostgresBackend(workers: workers, leadership: leadership, listener: listener, sender: sender, hub: hub)
        return PostgresStore(backend: backend, schemaVersion: version, submitWriters: submitWriters(poolSize: configuration.poolSize))
    }

    /// How many connections write job submissions at once: all but one of the pool, so a flood of
    /// submits always leaves a connection to the controller's claims and transitions. Fewer
    /// writers make bigger batches but fewer commits in flight; when the disk flush is what
    /// limits, that costs more than the batches save (docs/benchmarks.md, "Group commit").
    static func submitWriters(poolSize: Int) -> Int {
        max(1, poolSize - 1)
    }
}
