import BerthCore
import CSQLite
import Foundation
import Glibc

/// The SQLite connection of the store's thread, with its prepared statements.
final class SQLiteConnection: SQLScriptConnection {
    private var database: OpaquePointer?
    private var openError: StoreError?
    private var statements: [String: OpaquePointer] = [:]
    /// The database file, for messages.
    private let path: String
    let dialect: any SQLDialect = SQLiteDialect()

    init(configuration: SQLiteStore.Configuration) {
        path = configuration.path
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
            } catch  where error.isRetryable && ContinuousClock.now < deadline {
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

    /// SQLite's error as a `StoreError`: a full disk (`SQLITE_FULL`) is a status of its own, which
    /// a later write may clear (SQLite rolled the statement back; the file is intact).
    private func failure(_ status: Int32, _ database: OpaquePointer) -> StoreError {
        let message = String(cString: sqlite3_errmsg(database))
        let primary = status & 0xff
        // A write or sync the kernel refused for lack of space can also come back as an I/O error.
        if primary == SQLITE_FULL || (primary == SQLITE_IOERR && sqlite3_system_errno(database) == ENOSPC) { return .storageFull(path: path, detail: "SQLite: \(message)") }
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
                let status: Int32 =
                    switch parameters[number - 1] {
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
