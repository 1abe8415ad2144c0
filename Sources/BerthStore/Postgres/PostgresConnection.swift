import BerthCore
import CLibPQ
import CLibraryLoader
import Foundation
import Synchronization

/// How to reach PostgreSQL. The connection string goes to libpq untouched, so everything
/// PostgreSQL users rely on works: URIs and `key=value` strings, `PG*` environment variables,
/// `~/.pgpass`, service files (`service=`), `sslmode`, and several hosts with
/// `target_session_attrs=read-write` to follow a failover to the new primary.
public struct PostgresConfiguration: Sendable {
    /// A libpq connection string or URI (`postgresql://…`, `host=… dbname=…`); empty to use only
    /// the `PG*` environment.
    public var connectionString: String
    /// libpq keywords that override the connection string (`dbname`, `application_name`, …).
    public var overrides: [String: String]
    /// Connections for operations; the listener and the leader lease have one each besides.
    public var poolSize: Int
    /// After a failed connection attempt, the next waits this long, doubling up to `maximumBackoff`,
    /// or until another connection of the pool got through; operations meanwhile fail at once with
    /// a retryable `unavailable` error.
    public var initialBackoff: TimeSpan
    public var maximumBackoff: TimeSpan

    public init(
        connectionString: String, overrides: [String: String] = [:], poolSize: Int = 4,
        initialBackoff: TimeSpan = .milliseconds(50), maximumBackoff: TimeSpan = .seconds(2)
    ) {
        self.connectionString = connectionString
        self.overrides = overrides
        self.poolSize = max(1, poolSize)
        self.initialBackoff = initialBackoff
        self.maximumBackoff = maximumBackoff
    }

    /// Keywords and values for `PQconnectdbParams`, processed in order (later ones win): Berth's
    /// defaults, then the expanded connection string, then the overrides.
    func keywordsAndValues() -> [(String, String)] {
        var pairs: [(String, String)] = [("fallback_application_name", "berth")]
        if ProcessInfo.processInfo.environment["PGCONNECT_TIMEOUT"] == nil {
            // libpq waits forever for an unreachable host unless told otherwise.
            pairs.append(("connect_timeout", "10"))
        }
        pairs.append(("dbname", connectionString))
        pairs += overrides.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        return pairs
    }
}

/// The connects that succeeded on any connection of a pool, shared by its connections.
///
/// A connection backing off after failed attempts has no news of the server; once another one
/// of its pool got through, it tries again at once instead of failing operations with
/// `unavailable` for up to `maximumBackoff` after the server is back (a restart, a failover).
final class PoolConnects: Sendable {
    private let count = Atomic<Int>(0)

    var current: Int { count.load(ordering: .acquiring) }

    func record() { count.add(1, ordering: .releasing) }
}

/// One libpq connection, used only by the thread that owns it. Connects lazily, reconnects with
/// backoff, and turns libpq's failures into `StoreError`s that never carry the connection string.
final class PostgresConnection: SQLScriptConnection {
    let dialect: any SQLDialect = PostgresStore.dialect
    private let configuration: PostgresConfiguration
    private var connection: OpaquePointer?
    private var backoff: TimeSpan
    private var nextAttempt = ContinuousClock.now
    private let poolConnects: PoolConnects
    /// `poolConnects` when the last attempt failed: another connect since ends the backoff.
    private var poolConnectsAtFailure = 0
    /// Bumped on every new session: session state (advisory locks, LISTEN, prepared statements)
    /// does not survive it.
    private(set) var session = 0
    /// SQL → the name it was prepared under in this session. Parsing and planning cost the server
    /// more than executing Berth's small statements, so each is prepared once per connection.
    private var prepared: [String: String] = [:]
    /// Dynamic statements (IN lists of any length) past this many run unprepared instead.
    private static let preparedLimit = 256

    /// Loads libpq, which Berth does not link (`CLibraryLoader`), or says why it cannot.
    static func loadLibPQ() throws(StoreError) {
        var message = [CChar](repeating: 0, count: 512)
        let loaded = message.withUnsafeMutableBufferPointer { berth_libpq_load($0.baseAddress, $0.count) == 0 }
        guard loaded else {
            throw .database(message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        }
    }

    /// `poolConnects` is shared with the other connections of the pool; a connection of its own
    /// (the listener's, the leader lease's) backs off on its own.
    init(configuration: PostgresConfiguration, poolConnects: PoolConnects = PoolConnects()) {
        self.configuration = configuration
        self.backoff = configuration.initialBackoff
        self.poolConnects = poolConnects
    }

    var isConnected: Bool {
        guard let connection else { return false }
        return PQstatus(connection) == CONNECTION_OK
    }

    var socket: Int32 { connection.map(PQsocket) ?? -1 }
    var raw: OpaquePointer? { connection }

    func close() {
        if let connection { PQfinish(connection) }
        connection = nil
        prepared = [:]
    }

    /// Closes the connection unless it is idle outside a transaction and alive, so the next
    /// statement starts on a fresh one instead of failing. Notices a server that dropped the
    /// connection (a restart, `pg_terminate_backend`) without a round trip: the socket is then
    /// readable, with a FATAL message or end-of-file. A write without BEGIN calls this first, since
    /// its failure on a dead connection would not say whether it ran.
    func closeUnlessIdle() {
        guard let connection else { return }
        guard isConnected, PQtransactionStatus(connection) == PQTRANS_IDLE else {
            close()
            return
        }
        for _ in 0..<3 {
            var descriptor = pollfd(fd: PQsocket(connection), events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 0) > 0 else { return }
            if PQconsumeInput(connection) == 0 || PQstatus(connection) != CONNECTION_OK {
                close()
                return
            }
        }
    }

    /// Connects when there is no healthy connection; fails at once while backing off.
    func ensureConnected() throws(StoreError) {
        if isConnected { return }
        close()
        let now = ContinuousClock.now
        let connects = poolConnects.current
        guard now >= nextAttempt || connects != poolConnectsAtFailure else {
            throw .unavailable("PostgreSQL could not be reached; the next attempt is in \(Int((nextAttempt - now) / .milliseconds(1))) ms")
        }
        let pairs = configuration.keywordsAndValues()
        let handle = withCStrings(pairs.map(\.0)) { keywords in
            withCStrings(pairs.map(\.1)) { values in PQconnectdbParams(keywords, values, 1) }
        }
        guard let handle, PQstatus(handle) == CONNECTION_OK else {
            let detail = handle.map { Self.errorText(PQerrorMessage($0)) } ?? "out of memory"
            if let handle { PQfinish(handle) }
            nextAttempt = ContinuousClock.now + backoff.duration
            poolConnectsAtFailure = connects
            backoff = TimeSpan(milliseconds: min(backoff.milliseconds * 2, configuration.maximumBackoff.milliseconds))
            throw .unavailable("cannot connect to PostgreSQL: \(detail)")
        }
        // libpq would print NOTICE messages on stderr.
        PQsetNoticeProcessor(handle, { _, _ in }, nil)
        connection = handle
        session += 1
        backoff = configuration.initialBackoff
        poolConnects.record()
    }

    /// libpq's messages end with a newline and may span lines; they name hosts and users, never passwords.
    static func errorText(_ text: UnsafePointer<CChar>?) -> String {
        guard let text else { return "unknown error" }
        return String(cString: text).trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "\n", with: "; ")
    }

    func execute(_ script: String) throws(StoreError) {
        try ensureConnected()
        try check(PQexec(connection, script))
    }

    func query(_ sql: String, _ parameters: [SQLValue]) throws(StoreError) -> [SQLRow] {
        try ensureConnected()
        let texts = parameters.map(\.postgresText)
        guard let name = try preparedName(sql, parameterCount: texts.count) else {
            let result = withOptionalCStrings(texts) { values in
                PQexecParams(connection, sql, Int32(values.count), nil, values, nil, nil, 0)
            }
            return try check(result)
        }
        let result = withOptionalCStrings(texts) { values in
            PQexecPrepared(connection, name, Int32(values.count), values, nil, nil, 0)
        }
        return try check(result)
    }

    /// The name `sql` is prepared under in this session, preparing it first; nil once the cache is full.
    private func preparedName(_ sql: String, parameterCount: Int) throws(StoreError) -> String? {
        if let name = prepared[sql] { return name }
        guard prepared.count < Self.preparedLimit else { return nil }
        let name = "berth_\(prepared.count + 1)"
        try check(PQprepare(connection, name, sql, Int32(parameterCount), nil))
        prepared[sql] = name
        return name
    }

    /// Reads a result, frees it, and throws for any failure.
    @discardableResult
    private func check(_ result: OpaquePointer?) throws(StoreError) -> [SQLRow] {
        defer { PQclear(result) }
        guard let result else {
            throw lostOrFailed("no result (\(Self.errorText(PQerrorMessage(connection))))")
        }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
            return []
        case PGRES_TUPLES_OK:
            let rowCount = PQntuples(result), columnCount = PQnfields(result)
            var rows: [SQLRow] = []
            rows.reserveCapacity(Int(rowCount))
            for row in 0..<rowCount {
                var values: [String?] = []
                values.reserveCapacity(Int(columnCount))
                for column in 0..<columnCount {
                    values.append(PQgetisnull(result, row, column) == 1 ? nil : String(cString: PQgetvalue(result, row, column)))
                }
                rows.append(SQLRow(values: values))
            }
            return rows
        default:
            let message = Self.errorText(PQresultErrorMessage(result))
            let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) } ?? ""
            throw classify(state: state, message: message)
        }
    }

    private func lostOrFailed(_ detail: String) -> StoreError {
        if !isConnected {
            close()
            return .connectionLost(detail)
        }
        return .database(detail)
    }

    private func classify(state: String, message: String) -> StoreError {
        if !isConnected || state.hasPrefix("08") || state == "57P01" || state == "57P02" || state == "57P03" {
            close()
            return .connectionLost("\(message) (SQLSTATE \(state))")
        }
        switch state {
        case "25006":
            // A read-only transaction: this server became a standby. Reconnect; with several hosts
            // and target_session_attrs=read-write libpq finds the new primary.
            close()
            return .database("\(message); reconnecting to find the primary", retryable: true)
        case "40001", "40P01", "55P03":
            return .database("\(message) (SQLSTATE \(state))", retryable: true)
        default:
            return .database("\(message) (SQLSTATE \(state))")
        }
    }
}

extension SQLValue {
    /// The parameter's text form (libpq sends every parameter as text); nil for NULL.
    var postgresText: String? {
        switch self {
        case .null: nil
        case .int(let value): String(value)
        case .bool(let value): value ? "t" : "f"
        case .text(let value): value
        }
    }
}

/// Calls `body` with NUL-terminated copies of `strings`, valid during the call only.
private func withCStrings<T>(_ strings: [String], _ body: ([UnsafePointer<CChar>?]) -> T) -> T {
    withOptionalCStrings(strings.map { Optional($0) }) { pointers in
        body(pointers + [nil])
    }
}

private func withOptionalCStrings<T>(_ strings: [String?], _ body: ([UnsafePointer<CChar>?]) -> T) -> T {
    let copies = strings.map { $0.map { strdup($0) } ?? nil }
    defer { for copy in copies { free(copy) } }
    return body(copies.map { $0.map { UnsafePointer($0) } })
}
