import BerthCore
import Foundation

/// How a `PostgresStore` runs: a pool of connections, each on a thread of its own (libpq
/// blocks); sessions that retry an operation whose first statement finds its connection dead;
/// wake-ups sent (`NotificationSender`) and listened for (`NotificationListener`) on connections
/// of their own; and the leader lease as a session advisory lock on a dedicated connection.
final class PostgresBackend: SQLBackend {
    static let channel = "berth"

    let workers: BlockingWorkers<PostgresConnection>
    private let leadership: BlockingWorkers<LeaderConnection>
    private let listener: NotificationListener
    private let sender: NotificationSender
    private let hub: NotificationHub

    init(
        workers: BlockingWorkers<PostgresConnection>, leadership: BlockingWorkers<LeaderConnection>,
        listener: NotificationListener, sender: NotificationSender, hub: NotificationHub
    ) {
        self.workers = workers
        self.leadership = leadership
        self.listener = listener
        self.sender = sender
        self.hub = hub
    }

    var dialect: any SQLDialect { PostgresStore.dialect }

    /// The server's clock at this moment (`clock_timestamp()`, not the transaction's start), in
    /// milliseconds since 1970 as the time columns hold it: one clock for every controller.
    func now(in tx: SQLTransaction) throws(StoreError) -> Date {
        let row = try SQLStore.one(tx.run("SELECT (extract(epoch from clock_timestamp()) * 1000)::bigint"))
        return try row.requiredDate(0)
    }

    func session(_ connection: PostgresConnection) -> any SQLSession {
        Session(connection: connection, sender: sender)
    }

    private struct Session: SQLSession {
        let connection: PostgresConnection
        let sender: NotificationSender

        func read<T>(_ body: (any SQLConnection) throws(StoreError) -> T) throws(StoreError) -> T {
            do throws(StoreError) {
                return try body(connection)
            } catch  where error.code == .connectionLost {
                // A read changes nothing: once more on a fresh connection.
                return try body(connection)
            }
        }

        func write<T>(_ body: (SQLTransaction) throws(StoreError) -> T) throws(StoreError) -> T {
            do throws(StoreError) {
                try connection.execute("BEGIN")
            } catch  where error.code == .connectionLost {
                // The connection died while idle (a server restart): nothing was sent yet.
                try connection.execute("BEGIN")
            }
            let transaction = SQLTransaction(connection: connection)
            do throws(StoreError) {
                let value = try body(transaction)
                try connection.execute("COMMIT")
                sender.send(transaction.notifications)
                return value
            } catch {
                if connection.isConnected { try? connection.execute("ROLLBACK") }
                throw error
            }
        }

        func writeStatement<T>(_ body: (SQLTransaction) throws(StoreError) -> T) throws(StoreError) -> T {
            // A statement outside BEGIN commits by itself. It must not be sent on a connection
            // that died while idle, where its failure could not be retried safely.
            connection.closeUnlessIdle()
            let transaction = SQLTransaction(connection: connection)
            let value = try body(transaction)
            sender.send(transaction.notifications)
            return value
        }
    }

    func notifications() -> AsyncStream<StoreNotification> { hub.stream() }

    /// A session advisory lock on the leadership connection; `lease` and `now` are not needed
    /// (the lock lives exactly as long as that connection).
    func tryAcquireLeadership(name: String, holder: String, lease: TimeSpan, now: Date) async throws(StoreError) -> Bool {
        try await leadership.run { leader throws(StoreError) in
            let session = leader.connection.session
            try leader.connection.ensureConnected()
            if leader.connection.session != session { leader.held = [:] }
            if let current = leader.held[name] {
                // This process holds it: for `holder` only, and only while the session that took it lives.
                guard current == holder else { return false }
                try leader.connection.run("SELECT 1")
                if leader.connection.session == session { return true }
                leader.held = [:]
            }
            let taken =
                try leader.connection.run(
                    "SELECT pg_try_advisory_lock(\(PostgresDialect.leaderLock), hashtext($1))", .text(name)
                ).first?.bool(0) ?? false
            if taken { leader.held[name] = holder }
            return taken
        }
    }

    func releaseLeadership(name: String, holder: String) async throws(StoreError) {
        try await leadership.run { leader throws(StoreError) in
            guard leader.held[name] == holder else { return }
            leader.held[name] = nil
            guard leader.connection.isConnected else { return }
            try leader.connection.run("SELECT pg_advisory_unlock(\(PostgresDialect.leaderLock), hashtext($1))", .text(name))
        }
    }

    /// This process took the lease for `holder` on its leadership connection, and the server
    /// still lists that connection's session as holding the advisory lock: a lost connection
    /// releases the lock, and whoever takes it next holds it in another session.
    func leadershipCheck(name: String, holder: String) async throws(StoreError) -> LeadershipCheck {
        let session: Int64? = try await leadership.run { leader throws(StoreError) in
            guard leader.held[name] == holder, leader.connection.isConnected else { return nil }
            do throws(StoreError) {
                return try leader.connection.run("SELECT pg_backend_pid()").first?.int(0)
            } catch {
                // The session that took the lock cannot answer: the write cannot be fenced, so
                // it is refused as made without the lease.
                return nil
            }
        }
        return { tx throws(StoreError) in
            guard let session else { return false }
            let held = try tx.run(
                """
                SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = $1::bigint::oid
                    AND objid = hashtext($2)::oid AND objsubid = 2 AND pid = $3::integer
                """,
                .int(Int64(PostgresDialect.leaderLock)), .text(name), .int(session)
            )
            return !held.isEmpty
        }
    }

    func close() async {
        await listener.stop()
        await leadership.stop()
        await workers.stop()
        await sender.stop()
        hub.finish()
    }
}

/// The leadership connection and the leases it holds.
final class LeaderConnection {
    let connection: PostgresConnection
    /// Lease name → the holder it was taken for.
    var held: [String: String] = [:]

    init(_ connection: PostgresConnection) {
        self.connection = connection
    }
}
