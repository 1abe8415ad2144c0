import BerthStore
import Foundation
import Testing

/// `berth history`, `berth rollback` and the source line of `berth status`, on a SQLite store
/// holding a git source's records as the controller writes them.
@Suite("Source history and rollback through the CLI") struct SourceCommandTests {
    static let zeros = String(repeating: "0", count: 32)
    static let older = SourceRevisionRecord(
        sha: "0a1b2c3d" + zeros, subject: "first layout", author: "Ada <ada@example.com>", committedAt: Date(timeIntervalSince1970: 1_800_000_000),
        outcome: .superseded, attemptedAt: Date(timeIntervalSince1970: 1_800_000_001), appliedAt: Date(timeIntervalSince1970: 1_800_000_002),
        healthyAt: Date(timeIntervalSince1970: 1_800_000_003)
    )
    static let running = SourceRevisionRecord(
        sha: "1a2b3c4d" + zeros, subject: "raise web replicas", author: "Ada <ada@example.com>", committedAt: Date(timeIntervalSince1970: 1_800_000_005),
        outcome: .healthy, attemptedAt: Date(timeIntervalSince1970: 1_800_000_010), appliedAt: Date(timeIntervalSince1970: 1_800_000_011),
        healthyAt: Date(timeIntervalSince1970: 1_800_000_020)
    )
    static let invalid = SourceRevisionRecord(
        sha: "9f8e7d6c" + zeros, subject: "typo\u{1B}[31m", author: "Bob <bob@example.com>", committedAt: Date(timeIntervalSince1970: 1_800_000_200),
        outcome: .invalid, attemptedAt: Date(timeIntervalSince1970: 1_800_000_210),
        errors: ["hosts/web.yaml:12:5 spec.replicas: expected an integer", "hosts/db.yaml:1:1 kind: unknown kind Sevrice"]
    )

    /// Runs `berth arguments… --state-dir <state>` on the embedded store.
    static func berth(_ arguments: [String], state: URL) async throws -> CommandResult {
        try await BerthProcess.run(
            arguments + ["--state-dir", state.path], environment: ["BERTH_DATABASE_URL": "", "BERTH_SERVER": "", "BERTH_CONFIG": state.appendingPathComponent("none.yaml").path],
            timeout: 60)
    }

    /// A state folder whose store holds the three revisions, `running` applied and `invalid` attempted last.
    static func withSource(_ body: (URL) async throws -> Void) async throws {
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("berth-source-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: state) }
        let store = try await SQLiteStore.open(.inStateDirectory(state.path))
        for record in [older, running, invalid] { try await store.recordSourceRevision(record) }
        try await store.updateSourceState(
            SourceState(
                url: "https://git.example.com/ops/hosts.git", ref: "main", path: "hosts", head: invalid.sha,
                lastSuccessfulSyncAt: Date().addingTimeInterval(-12), applied: running.sha, attempted: invalid.sha
            ))
        await store.close()
        try await body(state)
    }

    @Test func historyListsTheRevisionsNewestAttemptFirst() async throws {
        try await Self.withSource { state in
            // when
            let json = try await Self.berth(["history", "--json"], state: state)
            let table = try await Self.berth(["history", "--limit", "2"], state: state)
            // then
            #expect(json.status == 0, "\(json.stderr)")
            let items = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]], "\(json.stdout)")
            #expect(items.map { $0["sha"] as? String } == [Self.invalid.sha, Self.running.sha, Self.older.sha])
            #expect(items.map { $0["outcome"] as? String } == ["invalid", "healthy", "superseded"])
            #expect((items[0]["errors"] as? [String]) == Self.invalid.errors)
            #expect(table.status == 0, "\(table.stderr)")
            let lines = table.stdout.split(separator: "\n")
            #expect(lines.count == 3 && lines[0].hasPrefix("REVISION  OUTCOME"), "\(table.stdout)")
            #expect(lines[1].hasPrefix("9f8e7d6") && lines[1].contains("typo\\u{1B}[31m"), "escaped: \(table.stdout)")
            #expect(lines[2].hasPrefix("1a2b3c4") && lines[2].contains("healthy") && lines[2].contains("raise web replicas"), "\(table.stdout)")
        }
    }

    @Test func statusStartsWithTheSourceAndSaysStalled() async throws {
        try await Self.withSource { state in
            // when
            let text = try await Self.berth(["status"], state: state)
            let json = try await Self.berth(["status", "--json"], state: state)
            // then
            #expect(text.status == 0, "\(text.stderr)")
            let lines = text.stdout.split(separator: "\n").map(String.init)
            #expect(lines.first?.hasPrefix(#"source: https://git.example.com/ops/hosts.git main at 1a2b3c4 "raise web replicas" (healthy), last sync "#) == true, "\(text.stdout)")
            #expect(lines.first?.hasSuffix(" ago") == true, "\(text.stdout)")
            #expect(lines.count > 1 && lines[1] == "STALLED at 9f8e7d6: hosts/web.yaml:12:5 spec.replicas: expected an integer (and 1 more: berth history)", "\(text.stdout)")
            let answer = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any], "\(json.stdout)")
            let source = try #require(answer["source"] as? [String: Any], "\(json.stdout)")
            #expect(source["stalled"] as? Bool == true && source["applied"] as? String == Self.running.sha)
            #expect((source["attemptedRevision"] as? [String: Any])?["outcome"] as? String == "invalid")
        }
    }

    @Test func rollbackPinsAHealthyRevisionAndClears() async throws {
        try await Self.withSource { state in
            // when: a revision that never became healthy, then the previous healthy one
            let refused = try await Self.berth(["rollback", "9f8e7d6"], state: state)
            let previous = try await Self.berth(["rollback"], state: state)
            let status = try await Self.berth(["status"], state: state)
            // then
            #expect(refused.status == 1 && refused.stderr.contains("never became healthy"), "\(refused.stderr)")
            #expect(previous.status == 0 && previous.stdout.contains("Pinned to 0a1b2c3"), "\(previous.stdout) \(previous.stderr)")
            #expect(status.stdout.contains("PINNED to 0a1b2c3"), "\(status.stdout)")
            // when
            let named = try await Self.berth(["rollback", "1a2b3c4d", "--json"], state: state)
            let cleared = try await Self.berth(["rollback", "--clear"], state: state)
            let both = try await Self.berth(["rollback", "1a2b3c4d", "--clear"], state: state)
            // then
            let pinned = try #require(try JSONSerialization.jsonObject(with: Data(named.stdout.utf8)) as? [String: Any], "\(named.stdout) \(named.stderr)")
            #expect(pinned["pinned"] as? String == Self.running.sha)
            #expect(cleared.status == 0 && cleared.stdout.contains("Pin cleared"), "\(cleared.stdout) \(cleared.stderr)")
            #expect(both.status == 64, "a usage error: \(both.stderr)")
            let after = try await Self.berth(["status"], state: state)
            #expect(!after.stdout.contains("PINNED"), "\(after.stdout)")
        }
    }

    @Test func serveRefusesAWebhookSecretFileOthersCanReadOrThatIsEmpty() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("berth-webhook-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let secret = folder.appendingPathComponent("secret").path
        for (text, mode, message) in [
            ("s3cret\n", 0o644, "can be accessed by group or others (mode 0644); run chmod 600 \(secret)"),
            ("s3cret\n", 0o640, "can be accessed by group or others (mode 0640)"),
            ("\n", 0o600, "\(secret) is empty"),
            ("", 0o600, "\(secret) is empty"),
        ] as [(String, mode_t, String)] {
            // given
            try text.write(toFile: secret, atomically: false, encoding: .utf8)
            #expect(chmod(secret, mode) == 0)
            // when: it fails before it opens anything (a timeout ends it should it serve instead)
            let result = try await BerthProcess.run(
                ["serve", "--listen", "127.0.0.1:0", "--state-dir", "/nonexistent/berth", "--git-webhook-secret-file", secret], timeout: 60)
            // then
            #expect(result.status == 64, "a usage error: \(result.stderr)")
            #expect(result.stderr.contains(message), "stderr: \(result.stderr)")
            #expect(!result.stderr.contains("s3cret"), "the secret is never printed")
        }
    }
}
