import BerthCore
import Foundation

/// How a `SQLiteStore` runs: one connection on one thread, write transactions that take the write
/// lock at once, wake-ups within the process, and the leader lease as a row with an expiry.
final class SQLiteBackend: SQLBackend {
    let workers: BlockingWorkers<SQLiteConnection>
    private let hub = NotificationHub()
    private let clock = AnchoredClock()

    init(workers: BlockingWorkers<SQLiteConnection>) {
        self.workers = workers
    }

    var dialect: any SQLDialect { SQLiteStore.dialect }

    /// SQLite has no clock of its own: the process's wall clock read once when this store opened,
    /// advanced by the monotonic clock since (`AnchoredClock`). A wall-clock step afterwards
    /// neither expires nor extends a lease. Every process on one file (`berth serve`, a `berth jobs
    /// submit` beside it) anchors its own, so two disagree by the difference of their wall clocks
    /// when each opened the store, plus drift: on one host, normally milliseconds.
    func now(in tx: SQLTransaction) throws(StoreError) -> Date { clock.now }

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

    /// The lease's row names `holder` and runs out later than now.
    func leadershipCheck(name: String, holder: String) async throws(StoreError) -> LeadershipCheck {
        let clock = clock
        return { tx throws(StoreError) in
            !(try tx.run(
                "SELECT 1 FROM leader_leases WHERE name = $1 AND holder = $2 AND expires_at > $3", .text(name), .text(holder), .date(clock.now)
            )).isEmpty
        }
    }

    func close() async {
        await workers.stop()
        hub.finish()
    }
}
