import BerthCore
import Foundation

/// API tokens: made, checked and revoked; the store keeps only their hashes.
public protocol TokenStore: Sendable {
    /// Makes a token; the returned string is its only copy (the store keeps a SHA-256 hash).
    func createToken(name: String, scopes: [TokenScope], project: String?, expiresAt: Date?, now: Date) async throws(StoreError) -> (token: String, record: TokenRecord)
    /// A token for the worker of one job (scope `job`, the job's project), revoked when the job ends.
    func createJobToken(jobID: String, now: Date) async throws(StoreError) -> (token: String, record: TokenRecord)
    /// The token's record when it is known, not revoked and not expired. Its `lastUsedAt` is set
    /// to `now` when it was unset or older than a minute, so that a busy token is not a write per request.
    /// A token found valid is remembered for a second: revoking it through this store (or ending
    /// its job) takes effect at once, through another process within that second.
    func authenticate(token: String, now: Date) async throws(StoreError) -> TokenRecord?
    /// Every token but job tokens, oldest first.
    func tokens() async throws(StoreError) -> [TokenRecord]
    /// Returns whether a token with that id existed and was not revoked yet.
    @discardableResult
    func revokeToken(_ id: String, now: Date) async throws(StoreError) -> Bool
}
