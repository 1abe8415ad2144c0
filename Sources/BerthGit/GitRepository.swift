import BerthSubprocess
import Foundation

/// A local shallow mirror of one ref of a remote, under `directory` (the state dir's `git/`):
/// a bare repository (`mirror.git`), one folder per checked-out commit (`checkouts/<sha>`), and
/// the home folder git runs with (`home`, so no user's configuration applies).
///
/// Every command runs the git executable directly with a clean environment
/// (`GIT_CONFIG_NOSYSTEM=1`, `GIT_TERMINAL_PROMPT=0`, no askpass), hooks off, and is killed when
/// it overruns `configuration.commandTimeout`. Each fetched or checked-out commit is kept by a
/// ref `refs/berth/keep/<sha>`, so later shallow fetches or a gc never drop it.
public final class GitRepository: Sendable {
    public let configuration: GitSourceConfiguration
    private let mirror: String
    private let checkouts: String
    private let runner: Subprocess
    private let credentials: GitCredentials
    private let redactedURL: String
    /// With `allowedSignersFile` of GPG public keys: the gpg program and the home holding those
    /// keys alone (`gnupg`, made afresh at start).
    private let gpg: (program: String, home: String)?

    /// Checks the files the configuration names and makes `directory`'s folders (mode 700).
    public convenience init(configuration: GitSourceConfiguration, directory: String) throws(GitError) {
        try self.init(configuration: configuration, directory: directory, gitExecutable: nil)
    }

    /// `gitExecutable` replaces the git found on PATH (tests record what git was run with).
    init(configuration: GitSourceConfiguration, directory: String, gitExecutable: String?) throws(GitError) {
        self.configuration = configuration
        credentials = try GitCredentials(configuration: configuration)
        redactedURL = configuration.redactedURL
        let directory = directory.hasPrefix("/") ? directory : FileManager.default.currentDirectoryPath + "/" + directory
        mirror = directory + "/mirror.git"
        checkouts = directory + "/checkouts"
        let home = directory + "/home"
        for folder in [directory, checkouts, home] {
            do {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw .invalidConfiguration("cannot make the folder \(folder): \(error.localizedDescription)")
            }
        }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        guard let executable = gitExecutable ?? Subprocess.find("git", on: path) else {
            throw .invalidConfiguration("git is not installed (no git on PATH \(path))")
        }
        let environment = [
            "PATH": path, "HOME": home, "LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1",
            "SSH_ASKPASS_REQUIRE": "never",
        ].merging(credentials.environment) { $1 }
        runner = Subprocess(executable: executable, environment: environment, timeout: configuration.commandTimeout)
        gpg = try configuration.allowedSignersFile.flatMap { (file) throws(GitError) in
            try Self.gpgKeyring(file, in: directory + "/gnupg", path: path, timeout: configuration.commandTimeout)
        }
    }

    /// A GPG home holding only the public keys of `file` when it is an armored GPG key block
    /// (`-----BEGIN PGP PUBLIC KEY BLOCK-----`), trusting each of them (`trust-model always`:
    /// being in the file is what makes a key allowed) and starting no agent (`no-autostart`:
    /// public keys need none); nil for an SSH allowed-signers file.
    private static func gpgKeyring(_ file: String, in home: String, path: String, timeout: Duration) throws(GitError) -> (program: String, home: String)? {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { throw .invalidConfiguration("cannot read the allowed signers file \(file)") }
        guard text.contains("-----BEGIN PGP PUBLIC KEY BLOCK-----") else { return nil }
        guard let program = Subprocess.find("gpg", on: path) else {
            throw .invalidConfiguration("\(file) holds GPG keys, and gpg is not installed (no gpg on PATH); install the gnupg package")
        }
        do {
            if FileManager.default.fileExists(atPath: home) { try FileManager.default.removeItem(atPath: home) }
            try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try "trust-model always\nno-autostart\n".write(toFile: home + "/gpg.conf", atomically: true, encoding: .utf8)
        } catch {
            throw .invalidConfiguration("cannot make the GPG home \(home): \(error.localizedDescription)")
        }
        let importer = Subprocess(executable: program, environment: ["PATH": path, "GNUPGHOME": home, "LC_ALL": "C"], timeout: timeout)
        let output: SubprocessOutput
        do throws(SubprocessError) {
            output = try importer.runBlocking(["--batch", "--quiet", "--import", file])
        } catch {
            throw .invalidConfiguration(error.description)
        }
        guard output.succeeded else { throw .invalidConfiguration("cannot import the GPG keys of \(file): \(output.errorText.trimmingCharacters(in: .whitespacesAndNewlines))") }
        return (program, home)
    }

    /// Fetches the ref (`--depth 1` into the mirror, with a `+` refspec so force-pushes are
    /// taken) and returns the commit it points to now. A deleted branch or missing tag is
    /// `.refNotFound`.
    public func fetch() async throws(GitError) -> GitCommit {
        if !FileManager.default.fileExists(atPath: mirror + "/HEAD") {
            try await local(["init", "--quiet", "--bare", mirror], subcommand: "init", inMirror: false)
        }
        let source = configuration.ref ?? "HEAD"
        let arguments =
            credentials.configArguments + [
                "--git-dir", mirror, "fetch", "--quiet", "--depth", "1", "--no-tags", "--no-write-fetch-head", "--no-recurse-submodules",
                "--", configuration.url, "+\(source):refs/berth/head",
            ]
        let output = try await git(Self.safety + arguments)
        guard output.succeeded else {
            throw GitErrorText.remoteError(
                output, subcommand: "fetch", url: redactedURL, ref: configuration.ref ?? "the default branch (HEAD)",
                secrets: credentials.secrets, timeout: configuration.commandTimeout)
        }
        let commit = try await commit("refs/berth/head^{commit}")
        try await local(["update-ref", "refs/berth/keep/\(commit.sha)", commit.sha], subcommand: "update-ref")
        return commit
    }

    /// The folder holding `sha`'s tree at `configuration.path`, checked out into
    /// `checkouts/<sha>` (through a temporary folder and a rename, so it is whole or absent) and
    /// reused when present. Symbolic links are checked out as plain files holding the link's
    /// text, so nothing in a revision points outside its folder.
    public func checkout(_ sha: String) async throws(GitError) -> String {
        let target = "\(checkouts)/\(sha.lowercased())"
        let folder = configuration.path == "." ? target : "\(target)/\(configuration.path)"
        try await requireCommit(sha)
        if FileManager.default.fileExists(atPath: target) { return folder }
        try await requireFolder(at: sha)
        let unique = UUID().uuidString
        let temporary = "\(checkouts)/.tmp-\(unique)"
        let index = "\(checkouts)/.index-\(unique)"
        defer {
            try? FileManager.default.removeItem(atPath: temporary)
            try? FileManager.default.removeItem(atPath: index)
        }
        do {
            try FileManager.default.createDirectory(atPath: temporary, withIntermediateDirectories: false)
        } catch {
            throw .failed("cannot make \(temporary): \(error.localizedDescription)")
        }
        try await local(
            ["-c", "core.symlinks=false", "--work-tree", temporary, "checkout", "--quiet", "--force", sha, "--", configuration.path],
            subcommand: "checkout", environment: ["GIT_INDEX_FILE": index])
        // Another checkout of the same commit may have won the race: its folder is as good.
        if rename(temporary, target) != 0 && !FileManager.default.fileExists(atPath: target) {
            throw .failed("cannot move the checkout of \(sha) to \(target): \(String(cString: strerror(errno)))")
        }
        try await local(["update-ref", "refs/berth/keep/\(sha.lowercased())", sha], subcommand: "update-ref")
        return folder
    }

    /// Checks `sha`'s signature against `configuration.allowedSignersFile` (nothing to do when
    /// none is configured): an SSH signature by a key of an allowed-signers file, or a GPG
    /// signature by a key of a file of GPG public keys.
    public func verifySignature(_ sha: String) async throws(GitError) {
        guard let allowedSigners = configuration.allowedSignersFile else { return }
        try await requireCommit(sha)
        let format = ["show", "--no-patch", "--format=%G?%x00%GK", sha]
        let output =
            if let gpg {
                try await local(["-c", "gpg.program=\(gpg.program)"] + format, subcommand: "show", environment: ["GNUPGHOME": gpg.home])
            } else {
                try await local(["-c", "gpg.ssh.allowedSignersFile=\(allowedSigners)"] + format, subcommand: "show")
            }
        let fields = output.text.split(separator: "\0", omittingEmptySubsequences: false).map(String.init)
        let key = fields.count > 1 && !fields[1].isEmpty ? fields[1] : "an unknown key"
        let kind = gpg == nil ? "an SSH allowed-signers file: only SSH signatures are checked" : "GPG keys: only GPG signatures are checked"
        let why: String? =
            switch fields.first ?? "" {
            case "G": nil
            case "N": "it is not signed"
            case "U", "E": "it is signed by \(key), which is not in \(allowedSigners)"
            case "B": "its signature does not match its content"
            case "X": "its signature has expired"
            case "Y": "it is signed by \(key), which has expired"
            case "R": "it is signed by \(key), which is revoked"
            default: "its signature cannot be checked (\(allowedSigners) is \(kind))"
            }
        if let why { throw .signature("commit \(sha): \(why)") }
    }

    /// Removes the checkouts, and the refs keeping their commits, of every commit not in `keeping`.
    public func removeCheckouts(keeping: Set<String>) throws(GitError) {
        let kept = Set(keeping.map { $0.lowercased() })
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: checkouts)) ?? []
        for entry in entries where GitCommitID.isValid(entry) && !kept.contains(entry) {
            do {
                try FileManager.default.removeItem(atPath: "\(checkouts)/\(entry)")
            } catch {
                throw .failed("cannot remove the checkout \(checkouts)/\(entry): \(error.localizedDescription)")
            }
        }
        guard FileManager.default.fileExists(atPath: mirror + "/HEAD") else { return }
        let refs = try check(
            try gitBlocking(Self.safety + ["--git-dir", mirror, "for-each-ref", "--format=%(refname)", "refs/berth/keep/"]),
            subcommand: "for-each-ref")
        let stale = refs.text.split(separator: "\n").filter { !kept.contains(String($0.dropFirst("refs/berth/keep/".count))) }
        if stale.isEmpty { return }
        let commands = stale.map { "delete \($0)\n" }.joined()
        _ = try check(
            try gitBlocking(Self.safety + ["--git-dir", mirror, "update-ref", "--stdin"], input: Data(commands.utf8)), subcommand: "update-ref")
    }

    // MARK: - Helpers

    /// Options for every command: no hooks, no `ext::` transport, gc in the foreground (bounded
    /// by the timeout), no submodules.
    private static let safety = [
        "-c", "core.hooksPath=/dev/null", "-c", "protocol.ext.allow=never", "-c", "gc.autoDetach=false", "-c", "fetch.recurseSubmodules=false",
    ]

    /// Runs a command on the mirror; a failure is `.failed` with its scrubbed error output.
    @discardableResult
    private func local(_ arguments: [String], subcommand: String, environment: [String: String] = [:], inMirror: Bool = true) async throws(GitError)
        -> SubprocessOutput
    {
        let output = try await git(Self.safety + (inMirror ? ["--git-dir", mirror] : []) + arguments, environment: environment)
        return try check(output, subcommand: subcommand)
    }

    private func check(_ output: SubprocessOutput, subcommand: String) throws(GitError) -> SubprocessOutput {
        guard output.succeeded else { throw GitErrorText.localError(output, subcommand: subcommand, timeout: configuration.commandTimeout) }
        return output
    }

    /// The commit `revision` names in the mirror.
    private func commit(_ revision: String) async throws(GitError) -> GitCommit {
        let output = try await local(["show", "--no-patch", "--format=%H%x00%s%x00%an <%ae>%x00%ct", revision], subcommand: "show")
        let fields = output.text.split(separator: "\0", omittingEmptySubsequences: false).map(String.init)
        guard fields.count == 4, let seconds = TimeInterval(fields[3]) else {
            throw .failed("git show printed an unexpected commit line for \(revision)")
        }
        return GitCommit(sha: fields[0], subject: fields[1], author: fields[2], committedAt: Date(timeIntervalSince1970: seconds))
    }

    /// `sha` is a commit id present in the mirror (fetched before and kept).
    private func requireCommit(_ sha: String) async throws(GitError) {
        guard GitCommitID.isValid(sha) else { throw .refNotFound("\"\(sha)\" is not a 40-hex commit id") }
        let output = try await git(Self.safety + ["--git-dir", mirror, "cat-file", "-e", "\(sha)^{commit}"])
        guard output.succeeded else { throw .refNotFound("commit \(sha) is not in the local mirror of \(redactedURL) (fetch it first)") }
    }

    /// `configuration.path` is a folder at `sha`.
    private func requireFolder(at sha: String) async throws(GitError) {
        guard configuration.path != "." else { return }
        let output = try await git(Self.safety + ["--git-dir", mirror, "cat-file", "-t", "\(sha):\(configuration.path)"])
        guard output.succeeded else { throw .pathNotFound("\(configuration.path) does not exist at \(sha) of \(redactedURL)") }
        guard output.text == "tree" else { throw .pathNotFound("\(configuration.path) is a file, not a folder, at \(sha) of \(redactedURL)") }
    }

    /// Runs git; one that cannot be started at all is `.failed`.
    private func git(_ arguments: [String], environment: [String: String] = [:]) async throws(GitError) -> SubprocessOutput {
        do throws(SubprocessError) {
            return try await runner.run(arguments, environment: environment)
        } catch {
            throw .failed(error.description)
        }
    }

    /// Runs git on the calling thread.
    private func gitBlocking(_ arguments: [String], input: Data? = nil) throws(GitError) -> SubprocessOutput {
        do throws(SubprocessError) {
            return try runner.runBlocking(arguments, input: input)
        } catch {
            throw .failed(error.description)
        }
    }
}
