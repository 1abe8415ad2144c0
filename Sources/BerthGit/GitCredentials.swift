import BerthHostFiles
import Foundation

/// How git gets the credentials of the auth file without a secret ever reaching an argument list
/// or an environment: only the files' paths do. For http(s), a credential helper (a constant
/// shell function, the file's path in `BERTH_GIT_AUTH_FILE`) prints the file, preceded by
/// `username=git` when the URL names no user: the file's `username=` wins, then the URL's user. For ssh, `GIT_SSH_COMMAND` (also constant, paths
/// in `BERTH_GIT_SSH_KEY` and `BERTH_GIT_KNOWN_HOSTS`) runs ssh in batch mode with that key only
/// and the server's key checked strictly against the known_hosts file.
struct GitCredentials: Sendable {
    /// `-c` options for every command (the helper list reset, so no other helper answers).
    let configArguments: [String]
    /// Variables for every command: paths only.
    let environment: [String: String]
    /// The http auth file, read again at each use for the values that errors must never show.
    private let passwordFile: String?

    private static let helper =
        #"!f() { test "$1" = get || exit 0; grep -q '^username=' || printf 'username=git\n'; cat -- "$BERTH_GIT_AUTH_FILE"; }; f"#

    /// Checks the files the configuration names: present, readable, and the auth file readable by
    /// its owner only (refused otherwise, as ssh refuses such keys).
    init(configuration: GitSourceConfiguration) throws(GitError) {
        let remote = try configuration.remote
        for file in [configuration.knownHostsFile, configuration.allowedSignersFile].compactMap({ $0 }) {
            guard FileManager.default.isReadableFile(atPath: file) else { throw .invalidConfiguration("cannot read \(file)") }
        }
        var configArguments = ["-c", "credential.helper="]
        var environment: [String: String] = [:]
        passwordFile = remote.isHTTP ? configuration.authFile : nil
        if let authFile = configuration.authFile {
            try Self.checkPrivate(authFile)
            if remote.isHTTP {
                guard Self.passwords(in: authFile).isEmpty == false else {
                    throw .invalidConfiguration("the auth file \(authFile) has no password= line (git-credential format: username=…, password=…)")
                }
                configArguments += ["-c", "credential.helper=\(Self.helper)"]
                environment["BERTH_GIT_AUTH_FILE"] = authFile
            } else if remote.isSSH {
                environment["BERTH_GIT_SSH_KEY"] = authFile
            } else {
                throw .invalidConfiguration("an auth file is used with https, http and ssh URLs only, not \(remote.redacted)")
            }
        }
        if remote.isSSH, let knownHosts = configuration.knownHostsFile {
            environment["BERTH_GIT_KNOWN_HOSTS"] = knownHosts
            let seconds = max(1, Int(configuration.commandTimeout.components.seconds))
            var command =
                #"ssh -F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes -o UpdateHostKeys=no"#
                + #" -o GlobalKnownHostsFile=/dev/null -o UserKnownHostsFile="$BERTH_GIT_KNOWN_HOSTS" -o ConnectTimeout=\#(seconds)"#
            if configuration.authFile != nil { command += #" -i "$BERTH_GIT_SSH_KEY""# }
            environment["GIT_SSH_COMMAND"] = command
            environment["GIT_SSH_VARIANT"] = "ssh"
        }
        self.configArguments = configArguments
        self.environment = environment
    }

    /// The values no error text may contain (the passwords of the http auth file, as it is now).
    var secrets: [String] {
        passwordFile.map(Self.passwords(in:)) ?? []
    }

    private static func passwords(in file: String) -> [String] {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return [] }
        return text.split(whereSeparator: \.isNewline).compactMap { line in
            line.hasPrefix("password=") ? String(line.dropFirst("password=".count)).trimmingCharacters(in: .whitespaces) : nil
        }.filter { !$0.isEmpty }
    }

    private static func checkPrivate(_ file: String) throws(GitError) {
        guard FileManager.default.isReadableFile(atPath: file) else { throw .invalidConfiguration("cannot read the auth file \(file)") }
        if let problem = OwnerOnly.problem(at: file) { throw .invalidConfiguration("the auth file \(problem)") }
    }
}
