import Foundation

/// One commit of the source: what events, status and history show of a revision.
public struct GitCommit: Sendable, Hashable, Codable {
    /// The 40-hex commit id.
    public var sha: String
    /// The first line of the message.
    public var subject: String
    /// "Name <email>".
    public var author: String
    /// The committer's time.
    public var committedAt: Date

    public init(sha: String, subject: String, author: String, committedAt: Date) {
        self.sha = sha
        self.subject = subject
        self.author = author
        self.committedAt = committedAt
    }
}
