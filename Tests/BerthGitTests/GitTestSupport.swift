@testable import BerthGit
import Foundation
import Synchronization
import Testing

struct SetupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The git servers scripts/services/git.sh started; a test that needs them fails (never skips) without them.
enum GitServers {
    static func value(_ name: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
            throw SetupError("\(name) is not set: run the tests through scripts/test, which starts the git servers")
        }
        return value
    }

    static var root: String { get throws { try value("BERTH_TEST_GIT_ROOT") } }
    static var httpURL: String { get throws { try value("BERTH_TEST_GIT_HTTP_URL") } }
    static var httpUser: String { get throws { try value("BERTH_TEST_GIT_HTTP_USER") } }
    static var httpPassword: String { get throws { try value("BERTH_TEST_GIT_HTTP_PASSWORD") } }
    static var daemonURL: String { get throws { try value("BERTH_TEST_GIT_DAEMON_URL") } }
    static var sshURL: String { get throws { try value("BERTH_TEST_GIT_SSH_URL") } }
    static var sshKey: String { get throws { try value("BERTH_TEST_GIT_SSH_KEY") } }
    static var knownHosts: String { get throws { try value("BERTH_TEST_GIT_KNOWN_HOSTS") } }
    static var otherKnownHosts: String { get throws { try value("BERTH_TEST_GIT_OTHER_KNOWN_HOSTS") } }
}

/// A folder of its own for one test, under the test root scripts/test removes afterwards.
func scratchFolder(_ prefix: String) throws -> String {
    let root = ProcessInfo.processInfo.environment["BERTH_TEST_ROOT"] ?? FileManager.default.temporaryDirectory.path
    let path = "\(root)/berth-git-\(prefix)-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Writes `text` to `path` with `mode`.
func writeFile(_ path: String, _ text: String, mode: Int = 0o600) throws {
    try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
}

/// Writes an executable script. Written by `install`, not by this process: a descriptor this
/// process held open for writing could be inherited by a child another test forks meanwhile,
/// and running the script would then fail with "Text file busy".
func writeExecutable(_ path: String, _ text: String) throws {
    try writeFile(path + ".source", text)
    try runProgram("/usr/bin/install", ["-m", "755", path + ".source", path])
}

/// Runs a program (no shell) and returns its standard output; fails with its error output.
@discardableResult
func runProgram(_ executable: String, _ arguments: [String], in directory: String? = nil, environment: [String: String]? = nil) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    if let environment { process.environment = environment }
    let output = Pipe()
    let error = Pipe()
    process.standardOutput = output
    process.standardError = error
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let errorHandle = error.fileHandleForReading
    let errorData = ErrorOutput()
    let reader = DispatchGroup()
    DispatchQueue.global().async(group: reader) { errorData.set(errorHandle.readDataToEndOfFile()) }
    let data = output.fileHandleForReading.readDataToEndOfFile()
    reader.wait()
    process.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    guard process.terminationStatus == 0 else {
        throw SetupError("\(executable) \(arguments.joined(separator: " ")) failed (\(process.terminationStatus)): \(text) \(errorData.text)")
    }
    return text
}

/// Standard error, filled by a reading thread.
private final class ErrorOutput: Sendable {
    private let data = Mutex(Data())
    func set(_ value: Data) { data.withLock { $0 = value } }
    var text: String { data.withLock { String(decoding: $0, as: UTF8.self) } }
}

/// A GPG key made for a test: its own GPG home, its fingerprint, and its public key armored.
struct GPGKey {
    let home: String
    let fingerprint: String
    let publicKey: String

    /// A new ed25519 signing key without passphrase for `identity` in a home of its own.
    init(_ identity: String) throws {
        home = try scratchFolder("gnupg")
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: home)
        let environment = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "GNUPGHOME": home]
        _ = try runProgram(
            "/usr/bin/gpg", ["--batch", "--pinentry-mode", "loopback", "--passphrase", "", "--quick-gen-key", identity, "ed25519", "sign", "never"],
            environment: environment)
        let listing = try runProgram("/usr/bin/gpg", ["--batch", "--with-colons", "--list-secret-keys"], environment: environment)
        guard let line = listing.split(separator: "\n").first(where: { $0.hasPrefix("fpr:") }) else { throw SetupError("gpg listed no fingerprint") }
        fingerprint = String(line.split(separator: ":", omittingEmptySubsequences: false)[9])
        publicKey = try runProgram("/usr/bin/gpg", ["--batch", "--armor", "--export", fingerprint], environment: environment)
    }

    /// Ends the gpg-agent that making and using the key started for this home.
    func stopAgent() {
        _ = try? runProgram("/usr/bin/gpgconf", ["--kill", "gpg-agent"], environment: ["GNUPGHOME": home, "PATH": "/usr/bin:/bin"])
    }
}

/// A bare repository served by every test server (made under BERTH_TEST_GIT_ROOT), a scratch
/// clone that commits and pushes to it with real `git push`, and a state folder for the
/// `GitRepository` under test.
struct ScratchRemote {
    let name: String
    let bare: String
    let work: String
    let state: String
    let home: String

    init() throws {
        name = "t-\(UUID().uuidString.lowercased().prefix(12))"
        bare = try GitServers.root + "/\(name).git"
        let folder = try scratchFolder("remote")
        work = folder + "/work"
        state = folder + "/state"
        home = folder + "/home"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        try git(["init", "--quiet", "--bare", "--initial-branch=main", bare])
        try git(["init", "--quiet", "--initial-branch=main", work])
    }

    var fileURL: String { "file://\(bare)" }
    var daemonURL: String { get throws { try GitServers.daemonURL + "/\(name).git" } }
    var httpURL: String { get throws { try GitServers.httpURL + "/\(name).git" } }
    var sshURL: String { get throws { try GitServers.sshURL + "/\(name).git" } }

    /// Runs git in the scratch clone, as a user with no configuration of their own.
    @discardableResult
    func git(_ arguments: [String], environment extra: [String: String] = [:]) throws -> String {
        let environment = [
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "HOME": home, "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": "Ada Tester", "GIT_AUTHOR_EMAIL": "ada@example.org", "GIT_COMMITTER_NAME": "Ada Tester",
            "GIT_COMMITTER_EMAIL": "ada@example.org",
        ].merging(extra) { $1 }
        return try runProgram("/usr/bin/git", arguments, in: FileManager.default.fileExists(atPath: work) ? work : nil, environment: environment)
    }

    /// Writes (or, for nil, removes) files, commits them (signed with an SSH key, or a GPG key
    /// of a GPG home, when given) and returns the new commit's sha.
    @discardableResult
    func commit(_ files: [String: String?], message: String, signingKey: String? = nil, gpgKey: GPGKey? = nil) throws -> String {
        for (path, content) in files {
            if let content {
                try writeFile(work + "/" + path, content, mode: 0o644)
            } else {
                try git(["rm", "--quiet", path])
            }
        }
        try git(["add", "--all"])
        var arguments = ["commit", "--quiet", "--allow-empty", "-m", message]
        if let signingKey { arguments = ["-c", "gpg.format=ssh", "-c", "user.signingkey=\(signingKey)"] + arguments + ["-S"] }
        if let gpgKey { arguments = ["-c", "gpg.program=/usr/bin/gpg", "-c", "user.signingkey=\(gpgKey.fingerprint)"] + arguments + ["-S"] }
        try git(arguments, environment: gpgKey.map { ["GNUPGHOME": $0.home] } ?? [:])
        return try git(["rev-parse", "HEAD"])
    }

    /// Pushes a refspec to the bare repository.
    func push(_ refspec: String = "main", force: Bool = false) throws {
        try git(["push", "--quiet"] + (force ? ["--force"] : []) + [bare, refspec])
    }

    /// A `GitRepository` of this remote under the state folder.
    func repository(
        url: String? = nil, ref: String? = nil, path: String = ".", authFile: String? = nil, knownHostsFile: String? = nil,
        allowedSignersFile: String? = nil, gitExecutable: String? = nil, timeout: Duration = .seconds(60)
    ) throws -> GitRepository {
        let configuration = try GitSourceConfiguration(
            url: url ?? fileURL, ref: ref, path: path, authFile: authFile, knownHostsFile: knownHostsFile, allowedSignersFile: allowedSignersFile,
            commandTimeout: timeout)
        return try GitRepository(configuration: configuration, directory: state, gitExecutable: gitExecutable)
    }
}

/// The error `body` throws, as a `GitError` (nil when it throws none).
func gitError<T>(_ body: () async throws(GitError) -> T) async -> GitError? {
    do {
        _ = try await body()
        return nil
    } catch {
        return error
    }
}
