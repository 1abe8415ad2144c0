@testable import BerthGit
import Foundation
import Testing

/// No spawned process ever holds the password in its arguments or environment: git runs through
/// a wrapper that records its argv and environment and turns on GIT_TRACE (which logs every
/// helper git starts, with its arguments), then execs the real git.
@Suite("Git secrets") struct GitSecretTests {
    @Test func thePasswordIsNeverInAnArgumentOrEnvironment() async throws {
        let remote = try ScratchRemote()
        let sha = try remote.commit(["a.yaml": "a\n"], message: "one")
        try remote.push()
        let folder = try scratchFolder("recorder")
        let log = folder + "/log"
        let wrapper = folder + "/git"
        try writeExecutable(
            wrapper,
            """
            #!/bin/sh
            { printf 'argv:'; printf ' %s' "$@"; printf '\\n'; env; } >>'\(log)'
            GIT_TRACE='\(log)' exec /usr/bin/git "$@"

            """)
        let password = try GitServers.httpPassword
        let authFile = folder + "/credentials"
        try writeFile(authFile, "username=\(try GitServers.httpUser)\npassword=\(password)\n")
        let repository = try remote.repository(url: try remote.httpURL, authFile: authFile, gitExecutable: wrapper)
        #expect(try await repository.fetch().sha == sha)
        _ = try await repository.checkout(sha)

        let recorded = try String(contentsOfFile: log, encoding: .utf8)
        // The record is real: it holds git's helpers and the auth file's path.
        #expect(recorded.contains("git-remote-http"))
        #expect(recorded.contains("BERTH_GIT_AUTH_FILE=\(authFile)"))
        #expect(recorded.contains("credential.helper"))
        #expect(!recorded.contains(password))

        // A wrong password in the file: the error names neither it nor the right one.
        let wrong = "not-\(password)"
        try writeFile(authFile, "username=\(try GitServers.httpUser)\npassword=\(wrong)\n")
        let error = await gitError { () async throws(GitError) in try await repository.fetch() }
        #expect(error != nil)
        #expect(!"\(error.map { "\($0)" } ?? "")".contains(wrong))
        #expect(!(try String(contentsOfFile: log, encoding: .utf8)).contains(password))
    }

    @Test func scrubbingDropsUserinfoAndLinesHoldingASecret() {
        let text = "fatal: unable to access 'https://ada:hunter2@example.org/x.git/'\nremote: token hunter2 rejected\nfatal: done\n"
        #expect(GitErrorText.scrub(text, secrets: ["hunter2"]) == "fatal: done")
        #expect(GitErrorText.scrub("fatal: unable to access 'https://ada@example.org/x.git/'", secrets: []) == "fatal: unable to access 'https://example.org/x.git/'")
    }

    @Test func anAuthFileReadableByOthersIsRefused() throws {
        let folder = try scratchFolder("mode")
        let authFile = folder + "/credentials"
        try writeFile(authFile, "password=x\n", mode: 0o644)
        let configuration = try GitSourceConfiguration(url: "https://example.org/x.git", authFile: authFile)
        #expect(throws: GitError.self) { try GitRepository(configuration: configuration, directory: folder + "/state") }
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: authFile)
        _ = try GitRepository(configuration: configuration, directory: folder + "/state")
    }

    @Test func anHTTPAuthFileWithoutAPasswordIsRefused() throws {
        let folder = try scratchFolder("nopassword")
        let authFile = folder + "/credentials"
        try writeFile(authFile, "username=ada\n")
        let configuration = try GitSourceConfiguration(url: "https://example.org/x.git", authFile: authFile)
        #expect(throws: GitError.self) { try GitRepository(configuration: configuration, directory: folder + "/state") }
    }
}
