import Foundation

/// A web UI session: made when a person signs in with an API token, valid until it expires or is
/// revoked, and only while its token is valid. The store keeps a SHA-256 hash of the cookie's
/// secret as `id`, never the secret.
public struct UISession: Sendable, Hashable {
    /// Lower-case hex SHA-256 of the cookie's secret.
    public var id: String
    /// The token the person signed in with: the session acts with its scopes and project limit.
    public var tokenID: String
    /// The value every form of the session carries (CSRF protection).
    public var csrf: String
    public var createdAt: Date
    public var expiresAt: Date
    public var revokedAt: Date?

    public init(id: String, tokenID: String, csrf: String, createdAt: Date, expiresAt: Date, revokedAt: Date?) {
        self.id = id
        self.tokenID = tokenID
        self.csrf = csrf
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
    }
}
