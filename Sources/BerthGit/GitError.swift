/// What went wrong talking to git. Every message is scrubbed: URLs lose their userinfo and no
/// line holding a credential survives.
public enum GitError: Error, Sendable, CustomStringConvertible, Equatable {
    /// A value of `GitSourceConfiguration`, or a file it names, is wrong; the message says which.
    case invalidConfiguration(String)
    /// The server refused the credentials, or the server's ssh key is not the known one.
    case authenticationFailed(String)
    /// The server could not be reached (refused, unresolvable, timed out).
    case unreachable(String)
    /// The ref (branch deleted, tag missing) or commit is not on the remote or in the mirror.
    case refNotFound(String)
    /// The configured path does not exist (as a folder) at that revision.
    case pathNotFound(String)
    /// The commit is unsigned or not signed by an allowed key: names the sha and why.
    case signature(String)
    /// Anything else: the git subcommand and its scrubbed error output.
    case failed(String)

    public var description: String {
        switch self {
        case .invalidConfiguration(let message): "invalid git source configuration: \(message)"
        case .authenticationFailed(let message): "git authentication failed: \(message)"
        case .unreachable(let message): "git remote unreachable: \(message)"
        case .refNotFound(let message): "git ref not found: \(message)"
        case .pathNotFound(let message): "git path not found: \(message)"
        case .signature(let message): "git signature check failed: \(message)"
        case .failed(let message): "git failed: \(message)"
        }
    }
}
