import Foundation
import Synchronization

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
