import BerthStore
import Foundation

/// `GET /v1/source`: the git source as the controller last wrote it, with the records of the
/// applied and the attempted revision, and whether it is stalled.
public struct SourceView: Codable, Sendable {
    /// The repository, without credentials.
    public var url: String
    public var ref: String?
    public var path: String
    /// The sha the ref pointed to at the last fetch.
    public var head: String?
    public var lastFetchAt: Date?
    public var lastFetchError: String?
    public var lastSuccessfulSyncAt: Date?
    /// The sha of the revision running now.
    public var applied: String?
    /// The sha last attempted.
    public var attempted: String?
    /// The sha `berth rollback` pinned, until `berth rollback --clear`.
    public var pinned: String?
    public var appliedRevision: SourceRevisionRecord?
    public var attemptedRevision: SourceRevisionRecord?
    /// The attempted revision was invalid or refused: nothing of it was applied, the applied one
    /// keeps running.
    public var stalled: Bool
    /// The attempted revision's errors, when stalled.
    public var errors: [String]?

    public init(_ state: SourceState, applied: SourceRevisionRecord?, attempted: SourceRevisionRecord?) {
        url = state.url
        ref = state.ref
        path = state.path
        head = state.head
        lastFetchAt = state.lastFetchAt
        lastFetchError = state.lastFetchError
        lastSuccessfulSyncAt = state.lastSuccessfulSyncAt
        self.applied = state.applied
        self.attempted = state.attempted
        pinned = state.pinned
        appliedRevision = applied
        attemptedRevision = attempted
        stalled = attempted.map { [.invalid, .refused].contains($0.outcome) } ?? false
        errors = stalled ? attempted?.errors : nil
    }

    /// The source as `store` holds it; nil when no git source was ever recorded.
    public static func read(from store: any SourceLog) async throws(StoreError) -> SourceView? {
        guard let state = try await store.sourceState() else { return nil }
        var applied: SourceRevisionRecord?
        if let sha = state.applied { applied = try await store.sourceRevision(sha: sha) }
        var attempted: SourceRevisionRecord?
        if let sha = state.attempted { attempted = sha == state.applied ? applied : try await store.sourceRevision(sha: sha) }
        return SourceView(state, applied: applied, attempted: attempted)
    }
}

/// `POST /v1/source/rollback`: the revision to pin, by sha or a unique prefix of 7 or more hex
/// digits, or null to clear the pin. The member is required, so a body that forgot it clears nothing.
public struct RollbackRequest: Codable, Sendable {
    public var revision: String?

    public init(revision: String?) {
        self.revision = revision
    }

    private enum CodingKeys: String, CodingKey { case revision }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        guard container.contains(.revision) else {
            throw DecodingError.keyNotFound(CodingKeys.revision, .init(codingPath: [], debugDescription: "revision is required (null clears the pin)"))
        }
        revision = try container.decodeNil(forKey: .revision) ? nil : container.decode(String.self, forKey: .revision)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        // null, not absent: clearing is said out loud.
        try container.encode(revision, forKey: .revision)
    }
}
