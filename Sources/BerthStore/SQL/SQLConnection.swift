import Foundation

/// A connection inside one operation, confined to the thread that owns it.
protocol SQLConnection: AnyObject {
    var dialect: any SQLDialect { get }
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

    var dialect: any SQLDialect { connection.dialect }

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

/// A connection that also runs scripts of several statements without parameters (migrations,
/// transaction control).
protocol SQLScriptConnection: SQLConnection {
    func execute(_ script: String) throws(StoreError)
}
