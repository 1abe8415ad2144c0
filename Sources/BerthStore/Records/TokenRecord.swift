import Crypto
import Foundation
import Synchronization

/// What an API token may do. The API module decides what each scope allows.
public struct TokenScope: RawRepresentable, Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let admin = TokenScope(rawValue: "admin")
    public static let read = TokenScope(rawValue: "read")
    public static let jobsWrite = TokenScope(rawValue: "jobs:write")
    public static let resourcesWrite = TokenScope(rawValue: "resources:write")
    /// A worker's token: its own job only (`TokenRecord.jobID`).
    public static let job = TokenScope(rawValue: "job")

    public static func < (lhs: TokenScope, rhs: TokenScope) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { rawValue }
}

/// An API token as stored: everything but the token, of which only a SHA-256 hash is kept.
public struct TokenRecord: Sendable, Hashable, Codable {
    public var id: String
    public var name: String
    public var scopes: [TokenScope]
    /// The one project the token may act on; `nil` for all.
    public var project: String?
    /// The job a worker's token belongs to; revoked when the job ends.
    public var jobID: String?
    public var createdAt: Date
    public var expiresAt: Date?
    public var lastUsedAt: Date?
    public var revokedAt: Date?

    public init(
        id: String, name: String, scopes: [TokenScope], project: String?, jobID: String?, createdAt: Date,
        expiresAt: Date?, lastUsedAt: Date?, revokedAt: Date?
    ) {
        self.id = id
        self.name = name
        self.scopes = scopes
        self.project = project
        self.jobID = jobID
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.lastUsedAt = lastUsedAt
        self.revokedAt = revokedAt
    }

    public func isValid(at now: Date) -> Bool {
        revokedAt == nil && (expiresAt.map { $0 > now } ?? true)
    }
}

/// Making and hashing tokens. A token is `berth_` and 32 random bytes in base64url (256 bits), so a
/// plain SHA-256 is enough to store it: there is nothing to brute-force, unlike a password.
enum TokenSecret {
    static let prefix = "berth_"

    static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let base64 = Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        return prefix + base64
    }

    /// Lower-case hex SHA-256 of the token's UTF-8 bytes. Lookups go by this hash, so the secret
    /// itself is never compared and a timing difference can reveal at most a hash prefix.
    static func hash(_ token: String) -> String {
        var text: [UInt8] = []
        text.reserveCapacity(2 * SHA256.byteCount)
        for byte in SHA256.hash(data: Data(token.utf8)) {
            text.append(hexDigits[Int(byte >> 4)])
            text.append(hexDigits[Int(byte & 0xF)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)
}

/// Tokens found valid in the last second, by hash: a request then authenticates without a trip
/// to the database (on PostgreSQL, one round trip of the two a `GET` of a job makes). Revoking
/// through the same store forgets at once; a revocation by another process (`berth token revoke`
/// on the store, another API process) takes effect here within `lifetime`. Expiry is checked on
/// every use.
final class TokenCache: Sendable {
    private struct Entry {
        var record: TokenRecord
        var foundAt: Date
    }

    private struct State {
        var entries: [String: Entry] = [:]
        /// Counts forgets: a lookup that began before one may have read a token since revoked.
        var forgets: UInt64 = 0
    }

    private let state = Mutex(State())
    let lifetime: TimeInterval
    private let capacity: Int

    init(lifetime: TimeInterval = 1, capacity: Int = 4096) {
        self.lifetime = lifetime
        self.capacity = capacity
    }

    /// The token's record if it was found valid less than `lifetime` before `now` and has not
    /// expired since (a clock that went back does not extend an entry); else nil and a mark to
    /// pass to ``remember(hash:_:now:since:)`` after looking the token up.
    func record(hash: String, now: Date) -> (record: TokenRecord?, mark: UInt64) {
        state.withLock { state in
            guard let entry = state.entries[hash] else { return (nil, state.forgets) }
            let age = now.timeIntervalSince(entry.foundAt)
            guard age >= 0, age < lifetime, entry.record.isValid(at: now) else {
                state.entries[hash] = nil
                return (nil, state.forgets)
            }
            return (entry.record, state.forgets)
        }
    }

    /// Keeps a record just read, unless something was forgotten since `mark` (the read may
    /// predate that revocation).
    func remember(hash: String, _ record: TokenRecord, now: Date, since mark: UInt64) {
        state.withLock { state in
            guard state.forgets == mark else { return }
            if state.entries.count >= capacity { state.entries.removeAll(keepingCapacity: true) }
            state.entries[hash] = Entry(record: record, foundAt: now)
        }
    }

    /// Forgets the tokens `revoked` matches (a revoked token, the tokens of a job that ended).
    func forget(where revoked: (TokenRecord) -> Bool) {
        state.withLock { state in
            state.forgets &+= 1
            state.entries = state.entries.filter { !revoked($0.value.record) }
        }
    }
}
