import BerthCore
import Foundation

/// What a `SQLStore` runs on besides its SQL: a pool of connections, each driven by a thread of
/// its own, with the session that wraps each (transactions and when wake-ups are sent), the
/// dialect, the wake-ups, the leader lease and closing. `PostgresBackend` and `SQLiteBackend`.
protocol SQLBackend: Sendable {
    associatedtype Connection: SQLScriptConnection

    var dialect: any SQLDialect { get }
    /// The pool: one connection per thread.
    var workers: BlockingWorkers<Connection> { get }
    /// The backend's session over one of its connections.
    func session(_ connection: Connection) -> any SQLSession

    /// A new stream of wake-ups for one consumer (`StoreNotifications`).
    func notifications() -> AsyncStream<StoreNotification>
    /// The store's clock, read inside `tx`: job claims, renewals and takeovers compare leases
    /// against it, never against a controller's own clock, so controllers on hosts whose clocks
    /// differ agree on when a lease expired.
    func now(in tx: SQLTransaction) throws(StoreError) -> Date
    /// `LeaderLease.tryAcquireLeadership`, as this database holds a lease.
    func tryAcquireLeadership(name: String, holder: String, lease: TimeSpan, now: Date) async throws(StoreError) -> Bool
    /// `LeaderLease.releaseLeadership`.
    func releaseLeadership(name: String, holder: String) async throws(StoreError)
    /// Fences a write made for a leader (`PlacementStore.updateAssignments`): the check returned
    /// runs inside the write's transaction and says whether `holder` holds the lease `name` then.
    func leadershipCheck(name: String, holder: String) async throws(StoreError) -> LeadershipCheck
    /// Stops the pool and everything else the backend runs, and ends the wake-up streams.
    func close() async
}

/// Whether a leader still holds its lease, asked inside a write transaction (`SQLBackend.leadershipCheck`).
typealias LeadershipCheck = @Sendable (SQLTransaction) throws(StoreError) -> Bool

extension SQLBackend {
    /// Runs `body` with a session on a pool connection once one is free, and returns its result.
    func run<T: Sendable>(_ body: @escaping @Sendable (any SQLSession) throws(StoreError) -> T) async throws(StoreError) -> T {
        try await workers.run { connection throws(StoreError) in try body(session(connection)) }
    }

    /// Queues `work` for a pool connection without waiting for it, for work that hands its results
    /// over itself (`BatchedCalls`). Returns false, and never runs `work`, once the store is closed.
    /// `fromWorker`: the caller is work on a pool connection that ends right after, so its thread
    /// takes the queue's next item and no other needs waking.
    func post(_ work: @escaping @Sendable (any SQLSession) -> Void, fromWorker: Bool) -> Bool {
        workers.post({ connection in work(session(connection)) }, fromWorker: fromWorker)
    }

    /// `SQLSession.read` on a pool connection.
    func read<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) throws(StoreError) -> T) async throws(StoreError) -> T {
        try await run { session throws(StoreError) in try session.read(body) }
    }

    /// `SQLSession.write` on a pool connection.
    func write<T: Sendable>(_ body: @escaping @Sendable (SQLTransaction) throws(StoreError) -> T) async throws(StoreError) -> T {
        try await run { session throws(StoreError) in try session.write(body) }
    }

    /// `SQLSession.writeStatement` on a pool connection.
    func writeStatement<T: Sendable>(_ body: @escaping @Sendable (SQLTransaction) throws(StoreError) -> T) async throws(StoreError) -> T {
        try await run { session throws(StoreError) in try session.writeStatement(body) }
    }

    /// Runs a script on a pool connection outside any session, for tests that reach under the API.
    func execute(_ script: String) async throws(StoreError) {
        try await workers.run { connection throws(StoreError) in try connection.execute(script) }
    }
}
