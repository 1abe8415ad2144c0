import Foundation

/// Where desired state comes from in git: a remote, one of its refs and a folder inside it.
///
/// The initializer checks forms only (no file is read): the URL's scheme, that it carries no
/// password, the ref's syntax and that the path stays inside the repository. `GitRepository`
/// checks the files it names.
public struct GitSourceConfiguration: Sendable, Hashable {
    /// `https://…`, `http://…`, `ssh://…`, `git@host:path`, `git://…` or `file:///…`.
    public var url: String
    /// A branch, a tag or a 40-hex commit; nil is the remote's default branch (its HEAD).
    public var ref: String?
    /// The folder inside the repository that holds the manifests; "." is the whole repository.
    public var path: String
    /// https: a file in git-credential format (`username=…`, `password=…`); ssh: the private key.
    public var authFile: String?
    /// ssh: the known_hosts file the server's key is checked against (required for ssh URLs).
    public var knownHostsFile: String?
    /// When set, every applied commit must carry a valid SSH signature by a key of this file
    /// (ssh-keygen's allowed_signers format).
    public var allowedSignersFile: String?
    /// The longest one git command may run before it is killed.
    public var commandTimeout: Duration

    /// Checks the forms of the values; throws `.invalidConfiguration` naming what is wrong.
    public init(
        url: String,
        ref: String? = nil,
        path: String = ".",
        authFile: String? = nil,
        knownHostsFile: String? = nil,
        allowedSignersFile: String? = nil,
        commandTimeout: Duration = .seconds(60)
    ) throws(GitError) {
        let remote = try GitRemoteURL(url)
        if remote.isSSH && knownHostsFile == nil {
            throw .invalidConfiguration("the ssh URL \(remote.redacted) needs a known_hosts file (--git-known-hosts-file) to check the server's key")
        }
        if let ref { try Self.checkRef(ref) }
        self.url = url
        self.ref = ref
        self.path = try Self.normalizedPath(path)
        self.authFile = try authFile.map { (file) throws(GitError) in try Self.absoluteFilePath(file, name: "auth file") }
        self.knownHostsFile = try knownHostsFile.map { (file) throws(GitError) in try Self.absoluteFilePath(file, name: "known_hosts file") }
        self.allowedSignersFile = try allowedSignersFile.map { (file) throws(GitError) in try Self.absoluteFilePath(file, name: "allowed signers file") }
        guard commandTimeout > .zero else { throw .invalidConfiguration("the git command timeout must be positive") }
        self.commandTimeout = commandTimeout
    }

    /// The URL without userinfo, query or fragment: safe to show, log and store.
    public var redactedURL: String {
        (try? GitRemoteURL(url).redacted) ?? "(invalid URL)"
    }

    /// The URL's transport (validated by the initializer).
    var remote: GitRemoteURL {
        get throws(GitError) { try GitRemoteURL(url) }
    }

    /// `ref` is a 40-hex commit rather than a name.
    var refIsCommit: Bool {
        ref.map(GitCommitID.isValid) ?? false
    }

    /// The rules of `git check-ref-format --allow-onelevel`, and no leading "-" (never an option).
    static func checkRef(_ ref: String) throws(GitError) {
        if GitCommitID.isValid(ref) { return }
        let forbidden: Set<Character> = [" ", "~", "^", ":", "?", "*", "[", "\\"]
        let broken =
            ref.isEmpty || ref == "@" || ref.hasPrefix("-") || ref.hasPrefix("/") || ref.hasSuffix("/") || ref.hasSuffix(".")
            || ref.hasSuffix(".lock") || ref.contains("..") || ref.contains("@{") || ref.contains("//")
            || ref.contains(where: { forbidden.contains($0) || $0.asciiValue.map { $0 < 0x20 || $0 == 0x7F } == true })
            || ref.split(separator: "/").contains { $0.hasPrefix(".") || $0.hasSuffix(".lock") }
        if broken { throw .invalidConfiguration("\"\(ref)\" is not a valid branch, tag or 40-hex commit") }
    }

    /// "." or a relative folder without "." or ".." parts, e.g. "deploy/prod".
    static func normalizedPath(_ path: String) throws(GitError) -> String {
        if path.hasPrefix("/") { throw .invalidConfiguration("the git path \"\(path)\" must be relative to the repository's root") }
        if path.contains("\0") || path.contains("\\") { throw .invalidConfiguration("the git path \"\(path)\" holds a NUL or a backslash") }
        let parts = path.split(separator: "/").filter { $0 != "." }
        if parts.contains("..") { throw .invalidConfiguration("the git path \"\(path)\" must not contain \"..\"") }
        return parts.isEmpty ? "." : parts.joined(separator: "/")
    }

    /// `file` made absolute (git runs in other folders). Paths reach ssh's option parser: no
    /// whitespace, quotes or `%` tokens.
    private static func absoluteFilePath(_ file: String, name: String) throws(GitError) -> String {
        if file.isEmpty || file.contains(where: { $0.isWhitespace || $0 == "\"" || $0 == "'" || $0 == "%" || $0 == "\0" }) {
            throw .invalidConfiguration("the \(name) path \"\(file)\" must not be empty or contain whitespace, quotes or %")
        }
        return file.hasPrefix("/") ? file : FileManager.default.currentDirectoryPath + "/" + file
    }
}
