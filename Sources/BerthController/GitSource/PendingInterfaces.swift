// TEMPORARY: the shapes the `git` and `source` branches build (see /work/notes/git-design.md),
// declared here so the controller side compiles before they are merged. Deleted at the merge.
import BerthCore
import Foundation

public struct GitCommit: Sendable, Hashable, Codable {
    public var sha: String
    public var subject: String
    public var author: String
    public var committedAt: Date
}

public enum GitError: Error, Sendable, CustomStringConvertible, Equatable {
    case invalidConfiguration(String)
    case authenticationFailed(String)
    case unreachable(String)
    case refNotFound(String)
    case pathNotFound(String)
    case signature(String)
    case failed(String)
    public var description: String { "\(self)" }
}

public enum RevisionOutcome: String, Codable, Sendable, CaseIterable { case invalid, refused, applying, healthy, failed, superseded }

public struct SourceRevisionRecord: Codable, Sendable, Hashable {
    public var sha: String
    public var subject: String
    public var author: String
    public var committedAt: Date
    public var outcome: RevisionOutcome
    public var attemptedAt: Date
    public var appliedAt: Date?
    public var healthyAt: Date?
    public var failedAt: Date?
    public var errors: [String]
    public var rolledBackTo: String?
}

public struct SourceState: Codable, Sendable, Hashable {
    public var url: String
    public var ref: String?
    public var path: String
    public var head: String?
    public var lastFetchAt: Date?
    public var lastFetchError: String?
    public var lastSuccessfulSyncAt: Date?
    public var applied: String?
    public var attempted: String?
    public var pinned: String?
}

public protocol SourceLog: Sendable {
    func recordSourceRevision(_ record: SourceRevisionRecord) async throws
    func sourceRevisions(limit: Int) async throws -> [SourceRevisionRecord]
    func sourceRevision(sha: String) async throws -> SourceRevisionRecord?
    func sourceState() async throws -> SourceState?
    func updateSourceState(_ state: SourceState) async throws
    func pinSourceRevision(_ sha: String?) async throws
}
