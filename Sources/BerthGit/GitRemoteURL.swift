import Foundation

/// A remote's URL, checked: only transports that reach a git server (never `ext::`, which runs a
/// command), never starting with "-", never with a password in it (that belongs in the auth file).
struct GitRemoteURL: Sendable {
    /// The URL as given.
    let text: String
    /// ssh, by `ssh://` or scp-like `[user@]host:path`: needs a known_hosts file, a key as auth file.
    let isSSH: Bool
    /// http or https: the auth file is in git-credential format.
    let isHTTP: Bool
    /// The URL without userinfo, query or fragment.
    let redacted: String

    private static let schemes = ["https", "http", "ssh", "git", "file"]

    init(_ text: String) throws(GitError) {
        self.text = text
        if text.isEmpty || text.hasPrefix("-") || text.contains(where: { $0.isWhitespace || $0 == "\0" }) {
            throw .invalidConfiguration("the git URL must not be empty, start with \"-\" or contain whitespace")
        }
        // `<transport>::<address>` picks a remote helper (ext:: runs a command): never.
        if text.contains("::") { throw .invalidConfiguration("the git URL must not name a remote helper (\"::\")") }
        if let range = text.range(of: "://") {
            let scheme = text[..<range.lowerBound].lowercased()
            guard Self.schemes.contains(scheme) else {
                throw .invalidConfiguration("the git URL's scheme \"\(scheme)\" is not one of https, http, ssh, git, file")
            }
            let rest = text[range.upperBound...]
            let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
            let authority = rest[..<authorityEnd]
            var host = authority
            if let at = authority.lastIndex(of: "@") {
                if authority[..<at].contains(":") {
                    throw .invalidConfiguration("the git URL carries a password: put credentials in the auth file instead")
                }
                host = authority[authority.index(after: at)...]
            }
            if scheme == "file" ? !host.isEmpty || authorityEnd == rest.endIndex : host.isEmpty {
                throw .invalidConfiguration(scheme == "file" ? "a file URL is file:///absolute/path" : "the git URL names no host")
            }
            let path = rest[authorityEnd...].prefix { $0 != "?" && $0 != "#" }
            redacted = "\(scheme)://\(host)\(path)"
            isSSH = scheme == "ssh"
            isHTTP = scheme == "https" || scheme == "http"
        } else {
            // scp-like: [user@]host:path, the host without "/" (else git reads a local path).
            guard let colon = text.firstIndex(of: ":"), !text[..<colon].contains("/"), colon != text.startIndex,
                text.index(after: colon) != text.endIndex
            else {
                throw .invalidConfiguration("the git URL must be https://…, http://…, ssh://…, user@host:path, git://… or file:///…")
            }
            let authority = text[..<colon]
            if authority.contains(":") { throw .invalidConfiguration("the git URL carries a password: put credentials in the auth file instead") }
            let host = authority.lastIndex(of: "@").map { authority[authority.index(after: $0)...] } ?? authority
            guard !host.isEmpty else { throw .invalidConfiguration("the git URL names no host") }
            redacted = "\(host)\(text[colon...])"
            isSSH = true
            isHTTP = false
        }
    }
}

/// A commit's id as Berth accepts it: 40 lowercase or uppercase hex digits (SHA-1 repositories).
enum GitCommitID {
    static func isValid(_ text: String) -> Bool {
        text.utf8.count == 40 && text.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) || ($0 >= 65 && $0 <= 70) }
    }
}
