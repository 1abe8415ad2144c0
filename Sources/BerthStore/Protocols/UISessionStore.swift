import Foundation

/// The web UI's sign-in sessions; the store keeps only hashes of their secrets.
public protocol UISessionStore: Sendable {
    /// Makes a session of a token for `lifetime`; the returned secret (the cookie's value) is its
    /// only copy.
    func createUISession(tokenID: String, lifetime: TimeInterval, now: Date) async throws(StoreError) -> (secret: String, session: UISession)
    /// The session of `secret` and its token, when the session is neither expired nor revoked and
    /// its token is valid (revoking the token ends its sessions); nil otherwise.
    func uiSession(secret: String, now: Date) async throws(StoreError) -> (session: UISession, token: TokenRecord)?
    /// Ends a session (sign-out); returns whether it existed and was not revoked yet.
    @discardableResult
    func revokeUISession(_ id: String, now: Date) async throws(StoreError) -> Bool
    /// Deletes sessions that expired or were revoked before `before`; returns how many.
    @discardableResult
    func pruneUISessions(before: Date) async throws(StoreError) -> Int
}
