import Foundation

/// The revisions of the git source Berth attempted and what became of each, the source's state
/// as the controller last wrote it, and the revision an operator pinned (`berth rollback`).
public protocol SourceLog: Sendable {
    /// Inserts or replaces the record of `record.sha`; keeps the newest 1000 records (by
    /// `attemptedAt`) and those the source state names (applied, attempted, pinned).
    func recordSourceRevision(_ record: SourceRevisionRecord) async throws(StoreError)
    /// The newest first (by `attemptedAt`), at most `limit`.
    func sourceRevisions(limit: Int) async throws(StoreError) -> [SourceRevisionRecord]
    /// The records whose sha starts with `prefix` (lowercase hex digits), newest first, at most `limit`.
    func sourceRevisions(prefix: String, limit: Int) async throws(StoreError) -> [SourceRevisionRecord]
    func sourceRevision(sha: String) async throws(StoreError) -> SourceRevisionRecord?
    /// The source's state as the controller last wrote it, with the pin; nil before any write.
    func sourceState() async throws(StoreError) -> SourceState?
    /// Writes everything but `pinned` (the controller calls this; it never clears a pin).
    func updateSourceState(_ state: SourceState) async throws(StoreError)
    /// Sets or clears (nil) the pinned revision (`berth rollback`), and wakes the controller
    /// (`StoreNotification.sourcePinned`) so it acts at once.
    func pinSourceRevision(_ sha: String?) async throws(StoreError)
}

extension SourceLog {
    /// The revision `name` means for `berth rollback`: its sha, or a prefix of at least 7 hex
    /// digits that only it starts with, of a revision that became healthy once (`healthyAt`
    /// set: healthy now, or superseded since). Throws `invalidArgument` for a name that is no
    /// such prefix or starts several revisions' shas, `notFound` for none, and `stateConflict`
    /// for a revision that never became healthy.
    public func revisionToPin(_ name: String) async throws(StoreError) -> SourceRevisionRecord {
        let prefix = name.lowercased()
        guard (7...40).contains(prefix.count), prefix.allSatisfy(\.isHexDigit) else {
            throw .invalidArgument("a revision is named by its sha or the first 7 or more of its hex digits, not \"\(name)\"")
        }
        let found = try await sourceRevisions(prefix: prefix, limit: 2)
        guard let revision = found.first else { throw .notFound("a revision \(name) in the source's history") }
        guard found.count == 1 else {
            throw .invalidArgument("\(name) starts more than one revision's sha (\(found.map(\.shortSHA).joined(separator: ", ")), …); give more digits")
        }
        guard revision.healthyAt != nil else {
            throw .stateConflict(
                "revision \(revision.shortSHA) never became healthy (\(revision.outcome.rawValue)); only a revision that was healthy can be pinned")
        }
        return revision
    }
}
