import BerthGit
import BerthCore

/// What the git sync needs of a repository: fetch the ref, check a revision out into a folder of
/// its own, check its signature, and clean up. `serve` hands it a `BerthGit.GitRepository`.
public protocol GitMirror: Sendable {
    /// The remote without credentials, for status, logs and events.
    var redactedURL: String { get }
    /// The branch, tag or sha followed; nil for the remote's default branch.
    var ref: String? { get }
    /// The folder inside the repository the manifests are read from.
    var path: String { get }
    /// Fetches the ref and returns the commit it points to now.
    func fetch() async throws(GitError) -> GitCommit
    /// The folder holding `sha`'s tree at `path`.
    func checkout(_ sha: String) async throws(GitError) -> String
    /// Throws unless `sha` carries a signature the operator allows (a no-op when none is asked for).
    func verifySignature(_ sha: String) async throws(GitError)
    /// Removes every checkout but those of `keeping`.
    func removeCheckouts(keeping: Set<String>) throws(GitError)
}

extension GitRepository: GitMirror {
    public var redactedURL: String { configuration.redactedURL }
    public var ref: String? { configuration.ref }
    public var path: String { configuration.path }
}
