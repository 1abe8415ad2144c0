import BerthCore
import Foundation

/// How a `SQLiteStore` runs: one connection on one thread, write transactions that take the write
/// lock at once, wake-ups within the process, and the leader lease as a row with an expiry.
final class SQLiteBackend: SQLBackend {
    let workers: BlockingWorkers<SQLiteConnection>
    private let hub = NotificationHub()

    init(workers: BlockingWorkers<SQLiteConnection>) {
        self.workers = workers
    }

    var dialect: any SQLDialect { SQLiteStore.dialect }

    func session(_ connection: SQLiteConnection) -> any SQLSession {
        Session(connection: connection, hub: hub)
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

    func notifications() -> AsyncStream<StoreNotification> { hub.stream() }

    func tryAcquireLeadership(name: String, holder: String, lease: TimeSpan, now: Date) async throws(StoreError) -> Bool {
        let until = now.addingTimeInterval(lease.seconds)
        return try await write { tx throws(StoreError) in
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

    func releaseLeadership(name: String, holder: String) async throws(StoreError) {
        _ = try await write { tx throws(StoreError) in
            try tx.run("DELETE FROM leader_leases WHERE name = $1 AND holder = $2", .text(name), .text(holder))
        }
    }

    func close() async {
        await workers.stop()
        hub.finish()
    }
}
