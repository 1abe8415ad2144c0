import BerthCore
import Foundation

/// A query parameter. Queries are always parameterized: values never become SQL text.
enum SQLValue: Sendable, Hashable {
    case null
    case int(Int64)
    case text(String)
    case bool(Bool)

    static func text(_ value: String?) -> SQLValue { value.map(SQLValue.text) ?? .null }
    static func int(_ value: Int?) -> SQLValue { value.map { .int(Int64($0)) } ?? .null }
    static func int(_ value: Int64?) -> SQLValue { value.map(SQLValue.int) ?? .null }
    static func date(_ value: Date?) -> SQLValue { value.map { .int(SQLTime.milliseconds($0)) } ?? .null }
}

/// Times are stored as milliseconds since 1970 (UTC) in 64-bit integers on both backends, so the
/// same SQL compares them and the ordering never depends on a server's time zone.
enum SQLTime {
    static func milliseconds(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }
    static func date(_ milliseconds: Int64) -> Date { Date(timeIntervalSince1970: Double(milliseconds) / 1000) }
}

/// One result row; both backends hand over every value as text (or nil for NULL), by position.
struct SQLRow: Sendable {
    var values: [String?]

    func text(_ index: Int) -> String? { values[index] }

    func requiredText(_ index: Int) throws(StoreError) -> String {
        guard let value = values[index] else { throw .invalidStoredData("unexpected NULL in column \(index)") }
        return value
    }

    func int(_ index: Int) throws(StoreError) -> Int64? {
        guard let text = values[index] else { return nil }
        guard let value = Int64(text) else { throw .invalidStoredData("expected an integer in column \(index)") }
        return value
    }

    func requiredInt(_ index: Int) throws(StoreError) -> Int64 {
        guard let value = try int(index) else { throw .invalidStoredData("unexpected NULL in column \(index)") }
        return value
    }

    func date(_ index: Int) throws(StoreError) -> Date? {
        try int(index).map(SQLTime.date)
    }

    func requiredDate(_ index: Int) throws(StoreError) -> Date {
        SQLTime.date(try requiredInt(index))
    }

    /// PostgreSQL's text form of a boolean is `t`/`f`; SQLite's is `1`/`0`.
    func bool(_ index: Int) -> Bool {
        switch values[index] {
        case "t", "true", "1": true
        default: false
        }
    }
}

/// The SQL both backends do not share.
enum SQLDialect: Sendable {
    case postgres
    case sqlite

    /// Locks the selected rows, waiting for other transactions that hold them (SQLite has one writer).
    var forUpdate: String {
        switch self {
        case .postgres: " FOR UPDATE"
        case .sqlite: ""
        }
    }

    /// Locks the selected rows and skips rows other transactions locked (SQLite has one writer).
    var skipLocked: String {
        switch self {
        case .postgres: " FOR UPDATE SKIP LOCKED"
        case .sqlite: ""
        }
    }
}

/// A connection inside one operation, confined to the thread that owns it.
protocol SQLConnection: AnyObject {
    var dialect: SQLDialect { get }
    /// Runs one parameterized statement (`$1`, `$2`, … on both backends) and returns its rows.
    func query(_ sql: String, _ parameters: [SQLValue]) throws(StoreError) -> [SQLRow]
}

extension SQLConnection {
    @discardableResult
    func run(_ sql: String, _ parameters: SQLValue...) throws(StoreError) -> [SQLRow] {
        try query(sql, parameters)
    }
}

/// One write transaction: the connection and the wake-ups to send once it commits.
final class SQLTransaction {
    let connection: any SQLConnection
    private(set) var notifications: [StoreNotification] = []

    init(connection: any SQLConnection) {
        self.connection = connection
    }

    var dialect: SQLDialect { connection.dialect }

    @discardableResult
    func run(_ sql: String, _ parameters: SQLValue...) throws(StoreError) -> [SQLRow] {
        try connection.query(sql, parameters)
    }

    @discardableResult
    func query(_ sql: String, _ parameters: [SQLValue]) throws(StoreError) -> [SQLRow] {
        try connection.query(sql, parameters)
    }

    func notify(_ notification: StoreNotification) {
        if !notifications.contains(notification) { notifications.append(notification) }
    }
}

/// One pool connection, on the thread that owns it: reads as single statements, writes in one
/// transaction each, synchronously.
protocol SQLSession {
    /// Runs `body`'s statements; a read changes nothing, so it may run them twice (once more on a
    /// fresh connection when the first finds the connection dead).
    func read<T>(_ body: (any SQLConnection) throws(StoreError) -> T) throws(StoreError) -> T
    /// Runs `body` in one transaction and sends the wake-ups it asked for once it committed.
    func write<T>(_ body: (SQLTransaction) throws(StoreError) -> T) throws(StoreError) -> T
    /// A write made of one statement, atomic by itself: run without BEGIN and COMMIT around it
    /// (one round trip instead of three), durable once it returns. The wake-ups `body` asks for
    /// through the transaction are sent after it committed; `body` must run one write statement
    /// at most (reads may follow it).
    func writeStatement<T>(_ body: (SQLTransaction) throws(StoreError) -> T) throws(StoreError) -> T
}

/// Where a backend runs statements: on its pool's connections, each driven by a thread of its own.
protocol SQLBackend: Sendable {
    var dialect: SQLDialect { get }
    /// Runs `body` with a session on a pool connection once one is free, and returns its result.
    func run<T: Sendable>(_ body: @escaping @Sendable (any SQLSession) throws(StoreError) -> T) async throws(StoreError) -> T
    /// Queues `work` for a pool connection without waiting for it, for work that hands its results
    /// over itself (`BatchedCalls`). Returns false, and never runs `work`, once the store is closed.
    /// `fromWorker`: the caller is work on a pool connection that ends right after, so its thread
    /// takes the queue's next item and no other needs waking.
    func post(_ work: @escaping @Sendable (any SQLSession) -> Void, fromWorker: Bool) -> Bool
}

extension SQLBackend {
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
}

/// A backend on a pool of blocking workers: each piece of work gets a session on the connection of
/// the thread that runs it.
struct PooledBackend<Connection: AnyObject>: SQLBackend {
    let workers: BlockingWorkers<Connection>
    let dialect: SQLDialect
    /// The store's session over one of its connections (transactions and wake-ups as it does them).
    let session: @Sendable (Connection) -> any SQLSession

    func run<T: Sendable>(_ body: @escaping @Sendable (any SQLSession) throws(StoreError) -> T) async throws(StoreError) -> T {
        try await workers.run { [session] connection throws(StoreError) in try body(session(connection)) }
    }

    func post(_ work: @escaping @Sendable (any SQLSession) -> Void, fromWorker: Bool) -> Bool {
        workers.post({ [session] connection in work(session(connection)) }, fromWorker: fromWorker)
    }
}

/// `$first, $first+1, …` for an `IN (…)` list of `count` parameters.
func placeholders(from first: Int, count: Int) -> String {
    (first..<first + count).map { "$\($0)" }.joined(separator: ", ")
}
