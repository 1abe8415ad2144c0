@testable import BerthGit
import Foundation
import Testing

/// Fetching from real servers on 127.0.0.1 (nginx + git http-backend, git daemon, sshd, file://).
@Suite("Git fetch") struct GitFetchTests {
    @Test func fetchesOverHTTPWithBasicAuthFromAnAuthFile() async throws {
        let remote = try ScratchRemote()
        let sha = try remote.commit(["deploy/app.yaml": "kind: Service\n"], message: "first")
        try remote.push()
        let authFile = try scratchFolder("auth") + "/credentials"
        try writeFile(authFile, "username=\(try GitServers.httpUser)\npassword=\(try GitServers.httpPassword)\n")
        let commit = try await remote.repository(url: try remote.httpURL, authFile: authFile).fetch()
        #expect(commit.sha == sha)
        #expect(commit.subject == "first")
        #expect(commit.author == "Ada Tester <ada@example.org>")
        #expect(abs(commit.committedAt.timeIntervalSinceNow) < 600)
    }

    @Test func aTokenAloneIsSentAsTheUserGit() async throws {
        let remote = try ScratchRemote()
        let sha = try remote.commit(["a.yaml": "a\n"], message: "token")
        try remote.push()
        let authFile = try scratchFolder("auth") + "/token"
        try writeFile(authFile, "password=\(try GitServers.httpPassword)")
        #expect(try await remote.repository(url: try remote.httpURL, authFile: authFile).fetch().sha == sha)
    }

    @Test func fetchesFromGitDaemonAndThenOnlyTheNewCommit() async throws {
        let remote = try ScratchRemote()
        try remote.commit(["a.yaml": "a\n"], message: "one")
        try remote.push()
        let repository = try remote.repository(url: try remote.daemonURL)
        let first = try await repository.fetch()
        #expect(try await repository.fetch() == first)
        let second = try remote.commit(["b.yaml": "b\n"], message: "two")
        try remote.push()
        let fetched = try await repository.fetch()
        #expect(fetched.sha == second)
        #expect(fetched.subject == "two")
        // The mirror stays shallow: one commit per fetch, the first one still kept for its checkout.
        let folder = try await repository.checkout(first.sha)
        #expect(FileManager.default.fileExists(atPath: folder + "/a.yaml"))
        #expect(!FileManager.default.fileExists(atPath: folder + "/b.yaml"))
    }

    @Test func fetchesOverSSHWithTheServersKeyChecked() async throws {
        let remote = try ScratchRemote()
        let sha = try remote.commit(["a.yaml": "a\n"], message: "over ssh")
        try remote.push()
        let repository = try remote.repository(url: try remote.sshURL, authFile: try GitServers.sshKey, knownHostsFile: try GitServers.knownHosts)
        #expect(try await repository.fetch().sha == sha)
    }

    @Test func anSSHServerWhoseKeyIsNotKnownIsRefused() async throws {
        let remote = try ScratchRemote()
        try remote.commit(["a.yaml": "a\n"], message: "over ssh")
        try remote.push()
        let repository = try remote.repository(url: try remote.sshURL, authFile: try GitServers.sshKey, knownHostsFile: try GitServers.otherKnownHosts)
        let error = await gitError { () async throws(GitError) in try await repository.fetch() }
        guard case .authenticationFailed(let message) = error else {
            Issue.record("expected authenticationFailed, got \(String(describing: error))")
            return
        }
        #expect(message.contains("known_hosts"))
    }

    @Test func anSSHKeyTheServerDoesNotKnowIsAnAuthenticationFailure() async throws {
        let remote = try ScratchRemote()
        try remote.commit(["a.yaml": "a\n"], message: "over ssh")
        try remote.push()
        let key = try scratchFolder("key") + "/id"
        try runProgram("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key])
        let repository = try remote.repository(url: try remote.sshURL, authFile: key, knownHostsFile: try GitServers.knownHosts)
        let error = await gitError { () async throws(GitError) in try await repository.fetch() }
        guard case .authenticationFailed = error else {
            Issue.record("expected authenticationFailed, got \(String(describing: error))")
            return
        }
    }

    @Test func fetchesAFileURL() async throws {
        let remote = try ScratchRemote()
        let sha = try remote.commit(["a.yaml": "a\n"], message: "local")
        try remote.push()
        #expect(try await remote.repository(url: remote.fileURL).fetch().sha == sha)
    }

    @Test func aForcePushIsFetchedAndTheOldCheckoutStaysReadable() async throws {
        let remote = try ScratchRemote()
        try remote.commit(["a.yaml": "a\n"], message: "one")
        let old = try remote.commit(["a.yaml": "a2\n"], message: "two")
        try remote.push()
        let repository = try remote.repository(url: try remote.daemonURL)
        #expect(try await repository.fetch().sha == old)
        let oldFolder = try await repository.checkout(old)
        try remote.git(["reset", "--quiet", "--hard", "HEAD~1"])
        let rewritten = try remote.commit(["a.yaml": "rewritten\n"], message: "rewritten")
        try remote.push(force: true)
        let fetched = try await repository.fetch()
        #expect(fetched.sha == rewritten)
        #expect(try String(contentsOfFile: try await repository.checkout(rewritten) + "/a.yaml", encoding: .utf8) == "rewritten\n")
        #expect(try await repository.checkout(old) == oldFolder)
        #expect(try String(contentsOfFile: oldFolder + "/a.yaml", encoding: .utf8) == "a2\n")
    }

    @Test func aDeletedBranchIsRefNotFound() async throws {
        let remote = try ScratchRemote()
        try remote.commit(["a.yaml": "a\n"], message: "one")
        try remote.push("main:feature")
        let repository = try remote.repository(url: try remote.daemonURL, ref: "feature")
        _ = try await repository.fetch()
        try remote.push(":feature")
        let error = await gitError { () async throws(GitError) in try await repository.fetch() }
        guard case .refNotFound(let message) = error else {
            Issue.record("expected refNotFound, got \(String(describing: error))")
            return
        }
        #expect(message.contains("feature"))
    }

    @Test func aWrongPasswordIsAnAuthenticationFailureThatNeverShowsThePassword() async throws {
        let remote = try ScratchRemote()
        try remote.commit(["a.yaml": "a\n"], message: "one")
        try remote.push()
        let wrong = "wrong-\(UUID().uuidString)"
        let authFile = try scratchFolder("auth") + "/credentials"
        try writeFile(authFile, "username=\(try GitServers.httpUser)\npassword=\(wrong)\n")
        let url = try remote.httpURL.replacingOccurrences(of: "http://", with: "http://berth@")
        let repository = try remote.repository(url: url, authFile: authFile)
        let error = await gitError { () async throws(GitError) in try await repository.fetch() }
        guard case .authenticationFailed(let message) = error else {
            Issue.record("expected authenticationFailed, got \(String(describing: error))")
            return
        }
        #expect(message.contains(try remote.httpURL))
        #expect(!"\(error!)".contains(wrong))
        #expect(!"\(error!)".contains("berth@"))
    }

    @Test func aClosedPortIsUnreachable() async throws {
        let remote = try ScratchRemote()
        for url in ["http://127.0.0.1:9/x.git", "git://127.0.0.1:9/x.git"] {
            let repository = try remote.repository(url: url)
            let error = await gitError { () async throws(GitError) in try await repository.fetch() }
            guard case .unreachable = error else {
                Issue.record("\(url): expected unreachable, got \(String(describing: error))")
                continue
            }
        }
    }

    @Test func aTagAndAShaCanBeTheRef() async throws {
        let remote = try ScratchRemote()
        let tagged = try remote.commit(["a.yaml": "v1\n"], message: "release 1")
        try remote.git(["tag", "-a", "-m", "v1", "v1"])
        let middle = try remote.commit(["a.yaml": "v2\n"], message: "two")
        try remote.commit(["a.yaml": "v3\n"], message: "three")
        try remote.push()
        try remote.push("v1")
        let byTag = try remote.repository(url: try remote.daemonURL, ref: "v1")
        #expect(try await byTag.fetch().sha == tagged)
        let bySha = try remote.repository(url: try remote.httpURL, ref: middle, authFile: try httpAuthFile())
        let commit = try await bySha.fetch()
        #expect(commit.sha == middle)
        #expect(try String(contentsOfFile: try await bySha.checkout(middle) + "/a.yaml", encoding: .utf8) == "v2\n")
    }

    @Test func aCommandOverrunningItsTimeoutIsKilled() async throws {
        let remote = try ScratchRemote()
        let folder = try scratchFolder("slow")
        let slowGit = folder + "/git"
        try writeExecutable(slowGit, "#!/bin/sh\nexec sleep 60\n")
        let repository = try remote.repository(url: try remote.daemonURL, gitExecutable: slowGit, timeout: .seconds(1))
        let started = ContinuousClock.now
        let error = await gitError { () async throws(GitError) in try await repository.fetch() }
        #expect(ContinuousClock.now - started < .seconds(20))
        #expect(error != nil)
        #expect("\(error.map { "\($0)" } ?? "")".contains("did not finish within"))
    }

    private func httpAuthFile() throws -> String {
        let file = try scratchFolder("auth") + "/credentials"
        try writeFile(file, "username=\(try GitServers.httpUser)\npassword=\(try GitServers.httpPassword)\n")
        return file
    }
}
