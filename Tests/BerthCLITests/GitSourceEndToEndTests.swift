import Foundation
import Testing

/// A git repository this test pushes to, and a working clone of it.
struct GitRemote {
    let bare: URL
    let work: URL

    /// A new bare repository with a `main` branch in `folder` (`served`: in the folder the test
    /// git servers serve, BERTH_TEST_GIT_ROOT), and a clone of it.
    init(in folder: URL, served: Bool = false) async throws {
        let name = folder.lastPathComponent + "-remote.git"
        bare = served ? URL(fileURLWithPath: try TestServices.value("BERTH_TEST_GIT_ROOT")).appendingPathComponent(name) : folder.appendingPathComponent("remote.git")
        work = folder.appendingPathComponent("work")
        _ = try await Scenario.run("/usr/bin/git", ["init", "-q", "--bare", "--initial-branch=main", bare.path])
        _ = try await Scenario.run("/usr/bin/git", ["init", "-q", "--initial-branch=main", work.path])
        try await git("remote", "add", "origin", bare.path)
    }

    var url: String { "file://" + bare.path }

    /// The repository's URL on the test HTTP server (basic auth).
    var httpURL: String { get throws { try TestServices.value("BERTH_TEST_GIT_HTTP_URL") + "/" + bare.lastPathComponent } }
    /// The repository's URL on the test `git daemon`.
    var daemonURL: String { get throws { try TestServices.value("BERTH_TEST_GIT_DAEMON_URL") + "/" + bare.lastPathComponent } }
    /// The repository's URL on the test sshd (key BERTH_TEST_GIT_SSH_KEY, BERTH_TEST_GIT_KNOWN_HOSTS).
    var sshURL: String { get throws { try TestServices.value("BERTH_TEST_GIT_SSH_URL") + "/" + bare.lastPathComponent } }

    @discardableResult
    func git(_ arguments: String...) async throws -> String {
        try await Scenario.run("/usr/bin/git", ["-C", work.path, "-c", "user.name=Berth Test", "-c", "user.email=test@berth.invalid"] + arguments)
    }

    /// Writes `files` (path in the repository → text), commits them with `subject` and pushes;
    /// returns the new commit's sha.
    @discardableResult
    func commit(_ subject: String, _ files: [String: String], force: Bool = false, signingKey: String? = nil) async throws -> String {
        for (path, text) in files {
            let url = work.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        try await git("add", "-A")
        let signing = signingKey.map { ["-c", "gpg.format=ssh", "-c", "user.signingkey=\($0)", "commit", "-S"] } ?? ["commit"]
        try await git(signing + ["-q", "-m", subject])
        try await git(["push", "-q"] + (force ? ["--force"] : []) + ["origin", "main"])
        return try await git("rev-parse", "HEAD")
    }

    @discardableResult
    func git(_ arguments: [String]) async throws -> String {
        try await Scenario.run("/usr/bin/git", ["-C", work.path, "-c", "user.name=Berth Test", "-c", "user.email=test@berth.invalid"] + arguments)
    }
}

@Suite("Git as the source of desired state (end to end)", .serialized)
struct GitSourceEndToEndTests {
    /// The manifests of one service `web` whose env is `VERSION=version`; `healthy: false` makes
    /// its health check fail for ever.
    private func webYAML(_ scenario: Scenario, version: String, healthy: Bool = true) -> String {
        let check = healthy ? "touch /tmp/ok; sleep 300" : "sleep 300"
        return "apiVersion: berth/v1\nkind: Project\nmetadata: {name: \(scenario.project)}\n---\n"
            + serviceYAML(
                scenario, "web", command: check,
                extra: "  env: {VERSION: \"\(version)\"}\n  healthcheck: {command: [\"test\", \"-f\", \"/tmp/ok\"], interval: 1s, timeout: 5s, retries: 1}")
    }

    /// `berth events --project default --json`: the source's events, by reason, messages in order.
    private func sourceEvents(_ scenario: Scenario) async throws -> [(reason: String, message: String)] {
        let result = try await scenario.berth("events", "--project", "default", "--limit", "1000", "--json")
        guard result.status == 0, let list = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]] else { return [] }
        return list.compactMap { event in
            guard let reason = event["reason"] as? String, reason.hasPrefix("Revision") || reason == "RolledBack" else { return nil }
            return (reason, event["message"] as? String ?? "")
        }
    }

    /// The revisions `berth status --json` records for a resource: (attempted, applied) shas.
    private func statusRevisions(_ scenario: Scenario, _ name: String) async throws -> (attempted: String?, applied: String?) {
        let result = try await scenario.berth("status", "--json")
        guard result.status == 0, let answer = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any],
            let items = answer["items"] as? [[String: Any]],
            let item = items.first(where: { ($0["id"] as? [String: Any])?["name"] as? String == name && ($0["id"] as? [String: Any])?["project"] as? String == scenario.project })
        else { return (nil, nil) }
        func sha(_ key: String) -> String? { (item[key] as? [String: Any])?["sha"] as? String }
        return (sha("attemptedRevision"), sha("appliedRevision"))
    }

    /// POSTs a GitHub-style push delivery signed with `secret`; the HTTP status.
    private func deliverWebhook(_ scenario: Scenario, api: String, secret: String, delivery: String) async throws -> String {
        let body = scenario.folder.appendingPathComponent("push-\(delivery).json")
        try #"{"ref":"refs/heads/main"}"#.write(to: body, atomically: true, encoding: .utf8)
        let signature = try await Scenario.run("/usr/bin/openssl", ["dgst", "-sha256", "-hmac", secret, "-r", body.path]).split(separator: " ")[0]
        return try await Scenario.run(
            "/usr/bin/curl",
            [
                "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "-H", "Content-Type: application/json", "-H", "X-GitHub-Event: push",
                "-H", "X-GitHub-Delivery: \(delivery)", "-H", "X-Hub-Signature-256: sha256=\(signature)", "--data-binary", "@" + body.path, api + "/v1/hooks/git",
            ])
    }

    @Test func pushesConvergeThroughTheWebhookAndBadRevisionsNeverReplaceAGoodOne() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given: a repository whose first commit declares a healthy service, and serve following it
        // (the health timeout leaves room for passes of several seconds on a loaded machine)
        let remote = try await GitRemote(in: scenario.folder)
        let first = try await remote.commit("first version", ["deploy/web.yaml": webYAML(scenario, version: "1")])
        let secret = "webhook-secret-\(UUID().uuidString)"
        let secretFile = scenario.folder.appendingPathComponent("webhook-secret")
        try secret.write(to: secretFile, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: secretFile.path)
        try scenario.startServe([
            "--git-url", remote.url, "--git-path", "deploy", "--git-interval", "1h", "--git-health-timeout", "25s",
            "--git-webhook-secret-file", secretFile.path,
        ])
        let api = try await scenario.apiURL()
        let web = scenario.container("web")
        try await scenario.eventually(60, "the first revision runs and is healthy") {
            let health = await scenario.inspect(web, "{{.State.Health.Status}}")
            let events = try await sourceEvents(scenario)
            return health == "healthy" && events.contains { $0.reason == "RevisionHealthy" && $0.message.contains(String(first.prefix(7))) }
        }

        // when: a push, announced by the webhook (the fetch interval is an hour)
        let second = try await remote.commit("second version", ["deploy/web.yaml": webYAML(scenario, version: "2")])
        #expect(try await deliverWebhook(scenario, api: api, secret: secret, delivery: "d-2") == "202")
        // then
        try await scenario.eventually(60, "the second revision runs") {
            await scenario.inspect(web, "{{range .Config.Env}}{{println .}}{{end}}")?.contains("VERSION=2") == true
        }
        try await scenario.eventually(30, "the second revision is healthy") {
            (try await sourceEvents(scenario)).contains { $0.reason == "RevisionHealthy" && $0.message.contains(String(second.prefix(7))) }
        }
        try await scenario.eventually(30, "the service's status records the second revision") {
            let revisions = try await statusRevisions(scenario, "web")
            return revisions.attempted == second && revisions.applied == second
        }
        let running = await scenario.inspect(web, "{{.Id}}")

        // when: a revision that does not validate (a bad value on line 13 of web.yaml)
        let broken = try await remote.commit("broken", ["deploy/web.yaml": webYAML(scenario, version: "3").replacingOccurrences(of: "pullPolicy: Never", with: "pullPolicy: Sometimes")])
        #expect(try await deliverWebhook(scenario, api: api, secret: secret, delivery: "d-3") == "202")
        // then: nothing of it is applied; the event names the file, line and field
        try await scenario.eventually(30, "the broken revision is reported invalid") {
            (try await sourceEvents(scenario)).contains { $0.reason == "RevisionInvalid" && $0.message.contains(String(broken.prefix(7))) }
        }
        let invalid = try #require(try await sourceEvents(scenario).first { $0.reason == "RevisionInvalid" })
        #expect(invalid.message.contains("deploy/web.yaml:"))
        #expect(invalid.message.contains("pullPolicy"))
        #expect(await scenario.inspect(web, "{{.Id}}") == running)

        // when: a revision whose service never becomes healthy
        let unhealthy = try await remote.commit("never healthy", ["deploy/web.yaml": webYAML(scenario, version: "4", healthy: false)])
        #expect(try await deliverWebhook(scenario, api: api, secret: secret, delivery: "d-4") == "202")
        // then: applied, failed after the health timeout, and rolled back to the second revision
        try await scenario.eventually(90, "the unhealthy revision is rolled back") {
            (try await sourceEvents(scenario)).contains { $0.reason == "RolledBack" && $0.message.contains(String(unhealthy.prefix(7))) && $0.message.contains(String(second.prefix(7))) }
        }
        try await scenario.eventually(60, "the second revision runs again, healthy") {
            let env = await scenario.inspect(web, "{{range .Config.Env}}{{println .}}{{end}}")
            let health = await scenario.inspect(web, "{{.State.Health.Status}}")
            return env?.contains("VERSION=2") == true && health == "healthy"
        }
        // the service never became ready at the unhealthy revision, so its status says the second
        #expect(try await statusRevisions(scenario, "web").applied == second)

        // and: a bad signature is refused and triggers nothing; the secret never shows in the log
        #expect(try await deliverWebhook(scenario, api: api, secret: "not-the-secret", delivery: "d-5") == "401")
        #expect(!scenario.serveLog.contains(secret))
    }

    @Test func aForcePushIsFollowedAndADeletedBranchAppliesNothing() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given
        let remote = try await GitRemote(in: scenario.folder)
        try await remote.commit("first", ["web.yaml": webYAML(scenario, version: "1")])
        try scenario.startServe(["--git-url", remote.url, "--git-ref", "main", "--git-interval", "1s", "--git-health-timeout", "30s"])
        let web = scenario.container("web")
        try await scenario.eventually(60, "the first revision runs") { await scenario.inspect(web, "{{.State.Running}}") == "true" }

        // when: history rewritten
        try await remote.git("reset", "-q", "--hard", "HEAD")
        try await remote.git("commit", "-q", "--amend", "-m", "rewritten")
        let rewritten = try await remote.commit("rewritten again", ["web.yaml": webYAML(scenario, version: "5")], force: true)
        // then
        try await scenario.eventually(60, "the rewritten history runs") {
            await scenario.inspect(web, "{{range .Config.Env}}{{println .}}{{end}}")?.contains("VERSION=5") == true
        }
        #expect(!rewritten.isEmpty)
        let running = await scenario.inspect(web, "{{.Id}}")

        // when: the branch is deleted on the remote
        _ = try await Scenario.run("/usr/bin/git", ["-C", remote.bare.path, "update-ref", "-d", "refs/heads/main"])
        // then: the fetch fails, is said once, and nothing is removed
        try await scenario.eventually(30, "serve says the ref is gone") { scenario.serveLog.contains("cannot fetch") }
        #expect(await scenario.inspect(web, "{{.Id}}") == running)
        #expect(!scenario.serveHasExited)
    }

    @Test func overHTTPWithCredentialsThatNeverShowAndAWrongPasswordThatIsAStatus() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given: a repository on the HTTP server (basic auth) and a credentials file
        let remote = try await GitRemote(in: scenario.folder, served: true)
        let first = try await remote.commit("over http", ["web.yaml": webYAML(scenario, version: "1")])
        let user = try TestServices.value("BERTH_TEST_GIT_HTTP_USER"), password = try TestServices.value("BERTH_TEST_GIT_HTTP_PASSWORD")
        let credentials = scenario.folder.appendingPathComponent("git-credentials")
        func writeCredentials(_ secret: String) throws {
            try "username=\(user)\npassword=\(secret)\n".write(to: credentials, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: credentials.path)
        }
        try writeCredentials(password)
        let arguments = ["--git-url", try remote.httpURL, "--git-auth-file", credentials.path, "--git-interval", "1s", "--git-health-timeout", "30s"]
        // when
        try scenario.startServe(arguments)
        // then
        let web = scenario.container("web")
        try await scenario.eventually(60, "the revision fetched over HTTP runs") { await scenario.inspect(web, "{{.State.Running}}") == "true" }
        try await scenario.eventually(30, "the history records it") {
            (try await scenario.berth("history", "--json")).stdout.contains(first)
        }
        let running = await scenario.inspect(web, "{{.Id}}")

        // when: serve starts again with a wrong password
        await scenario.stopServe()
        let wrong = "wrong-\(UUID().uuidString)"
        try writeCredentials(wrong)
        try scenario.startServe(arguments)
        // then: the failure is a status, the revision applied before keeps running
        try await scenario.eventually(60, "the failed fetch is reported") {
            (try await scenario.berth("status", "--json")).stdout.contains("lastFetchError")
        }
        #expect(await scenario.inspect(web, "{{.Id}}") == running)
        #expect(!scenario.serveHasExited)

        // and: neither password shows in any output of the test
        var outputs = [scenario.serveLog]
        for command in [["history", "--json"], ["status", "--json"], ["status"], ["events", "--project", "default", "--json"]] {
            let result = try await scenario.berth(command)
            outputs += [result.stdout, result.stderr]
        }
        for output in outputs {
            #expect(!output.contains(password))
            #expect(!output.contains(wrong))
        }
        #expect(outputs[0].contains("authentication"))
    }

    @Test func withSignaturesCheckedAnUnsignedRevisionIsRefusedAndTheSignedOneKeepsRunning() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given: a key allowed to sign, a signed first revision, and serve checking signatures
        let key = scenario.folder.appendingPathComponent("signing_key").path
        _ = try await Scenario.run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "test@berth.invalid", "-f", key])
        let allowed = scenario.folder.appendingPathComponent("allowed_signers")
        try ("test@berth.invalid " + String(contentsOfFile: key + ".pub", encoding: .utf8)).write(to: allowed, atomically: true, encoding: .utf8)
        let remote = try await GitRemote(in: scenario.folder)
        let signed = try await remote.commit("signed", ["web.yaml": webYAML(scenario, version: "1")], signingKey: key)
        try scenario.startServe(["--git-url", remote.url, "--git-interval", "1s", "--git-verify-signatures", allowed.path])
        let web = scenario.container("web")
        try await scenario.eventually(60, "the signed revision runs") {
            await scenario.inspect(web, "{{range .Config.Env}}{{println .}}{{end}}")?.contains("VERSION=1") == true
        }
        let running = await scenario.inspect(web, "{{.Id}}")
        // when: an unsigned commit
        let unsigned = try await remote.commit("unsigned", ["web.yaml": webYAML(scenario, version: "2")])
        // then: refused, with the reason; the signed revision keeps running
        try await scenario.eventually(30, "the unsigned revision is refused") {
            (try await sourceEvents(scenario)).contains { $0.reason == "RevisionRefused" && $0.message.contains(String(unsigned.prefix(7))) }
        }
        let history = try await scenario.berth("history", "--json")
        #expect(history.stdout.contains("refused"))
        #expect(history.stdout.contains(signed))
        #expect(await scenario.inspect(web, "{{.Id}}") == running)
    }

    /// Over `git daemon` and over ssh (a key file and the server's known_hosts): the first revision
    /// runs, a pushed one follows by polling, and each resource's status names the revision.
    @Test(arguments: ["daemon", "ssh"])
    func followsARepositoryServedOver(transport: String) async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given
        let remote = try await GitRemote(in: scenario.folder, served: true)
        let first = try await remote.commit("first over \(transport)", ["web.yaml": webYAML(scenario, version: "1")])
        let access =
            transport == "ssh"
            ? [
                "--git-url", try remote.sshURL, "--git-auth-file", try TestServices.value("BERTH_TEST_GIT_SSH_KEY"),
                "--git-known-hosts", try TestServices.value("BERTH_TEST_GIT_KNOWN_HOSTS"),
            ]
            : ["--git-url", try remote.daemonURL]
        // when
        try scenario.startServe(access + ["--git-interval", "1s", "--git-health-timeout", "30s"])
        // then
        let web = scenario.container("web")
        try await scenario.eventually(60, "the first revision runs and its status says so") {
            let applied = try await statusRevisions(scenario, "web").applied
            return await scenario.inspect(web, "{{.State.Health.Status}}") == "healthy" && applied == first
        }
        // when: a push, found by polling
        let second = try await remote.commit("second over \(transport)", ["web.yaml": webYAML(scenario, version: "2")])
        // then
        try await scenario.eventually(60, "the second revision runs and its status says so") {
            let env = await scenario.inspect(web, "{{range .Config.Env}}{{println .}}{{end}}")
            let applied = try await statusRevisions(scenario, "web").applied
            return env?.contains("VERSION=2") == true && applied == second
        }
        let table = try await scenario.berth("status")
        #expect(table.stdout.contains("REVISION"))
        #expect(table.stdout.contains(String(second.prefix(7))))
    }

    @Test func anUnreachableServerIsAStatusNotACrash() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given: a git URL where nothing listens (port 9 on loopback)
        try scenario.startServe(["--git-url", "git://127.0.0.1:9/nothing.git", "--git-interval", "1s"])
        // then: the source says the fetch failed; serve keeps running and answers
        try await scenario.eventually(60, "the failed fetch is a status") {
            let status = try await scenario.berth("status")
            return status.status == 0 && status.stdout.contains("last fetch failed")
        }
        let json = try await scenario.berth("status", "--json")
        #expect(json.stdout.contains("lastFetchError"), "\(json.stdout)")
        #expect(!scenario.serveHasExited)
    }
}
