import Foundation

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
    /// Submits jobs from JobTemplates (and reads and cancels jobs), never a Job document: an
    /// application holding it never sends a container spec.
    public static let jobsSubmitTemplate = TokenScope(rawValue: "jobs:submit-template")

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
