import Foundation

/// What became of one revision of the git source (docs/operations.md, "Git source").
public enum RevisionOutcome: String, Codable, Sendable, CaseIterable {
    /// It did not read or validate: nothing of it was applied (`errors` says why).
    case invalid
    /// Its signature check failed: nothing of it was applied.
    case refused
    /// Applied, waiting for its resources to become healthy.
    case applying
    /// Applied, and its resources became healthy.
    case healthy
    /// Applied, but its resources did not become healthy in time (`errors` says which).
    case failed
    /// A newer revision was attempted after this one.
    case superseded
}

/// One revision of the git source and what Berth did with it.
public struct SourceRevisionRecord: Codable, Sendable, Hashable {
    /// The commit, 40 hex digits.
    public var sha: String
    public var subject: String
    /// `Name <email>`.
    public var author: String
    public var committedAt: Date
    public var outcome: RevisionOutcome
    public var attemptedAt: Date
    public var appliedAt: Date?
    public var healthyAt: Date?
    public var failedAt: Date?
    /// `file:line:column field: message` lines for an invalid revision; the causes for a failed
    /// or refused one.
    public var errors: [String]
    /// Set on a failed revision when Berth went back to that sha.
    public var rolledBackTo: String?

    public init(
        sha: String, subject: String, author: String, committedAt: Date, outcome: RevisionOutcome, attemptedAt: Date, appliedAt: Date? = nil,
        healthyAt: Date? = nil, failedAt: Date? = nil, errors: [String] = [], rolledBackTo: String? = nil
    ) {
        self.sha = sha
        self.subject = subject
        self.author = author
        self.committedAt = committedAt
        self.outcome = outcome
        self.attemptedAt = attemptedAt
        self.appliedAt = appliedAt
        self.healthyAt = healthyAt
        self.failedAt = failedAt
        self.errors = errors
        self.rolledBackTo = rolledBackTo
    }

    /// The first seven hex digits, as revisions are shown.
    public var shortSHA: String { String(sha.prefix(7)) }
}

/// The git source as the controller last wrote it, with the revision an operator pinned.
public struct SourceState: Codable, Sendable, Hashable {
    /// The repository's URL without credentials.
    public var url: String
    /// The branch, tag or sha followed; nil for the remote's default branch.
    public var ref: String?
    /// The folder of the manifests inside the repository.
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
    /// The revision `berth rollback` pinned; only ``SourceLog/pinSourceRevision(_:)`` sets it.
    public var pinned: String?

    public init(
        url: String, ref: String? = nil, path: String, head: String? = nil, lastFetchAt: Date? = nil, lastFetchError: String? = nil,
        lastSuccessfulSyncAt: Date? = nil, applied: String? = nil, attempted: String? = nil, pinned: String? = nil
    ) {
        self.url = url
        self.ref = ref
        self.path = path
        self.head = head
        self.lastFetchAt = lastFetchAt
        self.lastFetchError = lastFetchError
        self.lastSuccessfulSyncAt = lastSuccessfulSyncAt
        self.applied = applied
        self.attempted = attempted
        self.pinned = pinned
    }
}
