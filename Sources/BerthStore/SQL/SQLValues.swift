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

/// `$first, $first+1, …` for an `IN (…)` list of `count` parameters.
func placeholders(from first: Int, count: Int) -> String {
    (first..<first + count).map { "$\($0)" }.joined(separator: ", ")
}
