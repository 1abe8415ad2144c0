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

