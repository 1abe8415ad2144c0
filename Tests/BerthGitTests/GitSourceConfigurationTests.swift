@testable import BerthGit
import Testing

/// The forms `GitSourceConfiguration` accepts and refuses (pure: no git runs).
@Suite("Git source configuration") struct GitSourceConfigurationTests {
    @Test func acceptsTheSupportedURLForms() throws {
        for url in ["https://example.org/org/repo.git", "http://127.0.0.1:8080/r.git", "git://example.org/r.git", "file:///srv/git/r.git"] {
            #expect(try GitSourceConfiguration(url: url).redactedURL == url)
        }
        let scp = try GitSourceConfiguration(url: "git@github.com:org/repo.git", knownHostsFile: "/etc/ssh/known")
        #expect(scp.redactedURL == "github.com:org/repo.git")
        let ssh = try GitSourceConfiguration(url: "ssh://git@example.org:2222/org/repo.git", knownHostsFile: "/k")
        #expect(ssh.redactedURL == "ssh://example.org:2222/org/repo.git")
        #expect(try GitSourceConfiguration(url: "https://ada@example.org/r.git?token=x#frag").redactedURL == "https://example.org/r.git")
    }

    @Test func refusesOtherTransportsPasswordsAndOptions() {
        for url in ["ext::sh -c touch% /tmp/pwned", "ext::nc", "fd::3", "-uhttps://x/y", "https://ada:secret@example.org/r.git", "ftp://example.org/r.git", "file://host/r", "", "relative/path"] {
            #expect(throws: GitError.self, "\(url)") { try GitSourceConfiguration(url: url) }
        }
        #expect(throws: GitError.self) { try GitSourceConfiguration(url: "ssh://git@example.org/r.git") }
        #expect(throws: GitError.self) { try GitSourceConfiguration(url: "git@example.org:r.git") }
    }

    @Test func checksRefsAndPaths() throws {
        for ref in ["main", "release/1.2", "v1.0.0", "refs/heads/main", String(repeating: "a1", count: 20)] {
            #expect(try GitSourceConfiguration(url: "https://x.org/r", ref: ref).ref == ref)
        }
        for ref in ["", "-main", "a..b", "a b", "a:b", "x.lock", "a/.hidden", "HEAD@{1}", "/main", "main/"] {
            #expect(throws: GitError.self, "\(ref)") { try GitSourceConfiguration(url: "https://x.org/r", ref: ref) }
        }
        #expect(try GitSourceConfiguration(url: "https://x.org/r", path: "./deploy/prod/").path == "deploy/prod")
        #expect(try GitSourceConfiguration(url: "https://x.org/r", path: "./").path == ".")
        for path in ["/etc", "../up", "deploy/../../up"] {
            #expect(throws: GitError.self, "\(path)") { try GitSourceConfiguration(url: "https://x.org/r", path: path) }
        }
        #expect(throws: GitError.self) { try GitSourceConfiguration(url: "https://x.org/r", authFile: "/a b") }
        #expect(throws: GitError.self) { try GitSourceConfiguration(url: "https://x.org/r", commandTimeout: .zero) }
    }
}
