import Foundation
import Testing

/// Age-encrypted env values as an operator meets them: a key from `age-keygen`, a value from
/// `berth secret encrypt`, manifests holding only the ciphertext, the controller decrypting it
/// into the container and nowhere else.
@Suite("Encrypted env values end to end", .serialized) struct EncryptedEnvEndToEndTests {
    /// An identity file made by `age-keygen` in the scenario's folder, and its recipient.
    static func makeKey(in scenario: Scenario) async throws -> (identity: String, recipient: String) {
        let identity = scenario.folder.appendingPathComponent("age-key.txt").path
        _ = try await Scenario.run("/usr/bin/age-keygen", ["-o", identity])
        return (identity, try await Scenario.run("/usr/bin/age-keygen", ["-y", identity]))
    }

    /// What `printf %s SECRET | berth secret encrypt --recipient R extra…` prints; the secret goes
    /// through the shell's environment and a pipe, never an argument.
    static func encrypt(_ secret: String, to recipient: String, _ extra: [String] = []) async throws -> String {
        let result = try await BerthProcess.runCommand(
            ["/bin/sh", "-c", #"printf %s "$SECRET" | "$BERTH" secret encrypt --recipient "$RECIPIENT" "$@""#, "sh"] + extra,
            environment: ["SECRET": secret, "BERTH": try BerthProcess.executable().path, "RECIPIENT": recipient])
        try #require(result.status == 0, "berth secret encrypt failed: \(result.stderr)")
        return result.stdout
    }

    @Test func theContainerGetsThePlaintextAndNothingBerthShowsHoldsIt() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given: a key, and a service whose TOKEN is encrypted with `berth secret encrypt --env`
        let (identity, recipient) = try await Self.makeKey(in: scenario)
        let secret = "age-plaintext-\(UUID().uuidString)"
        let pasted = try await Self.encrypt(secret, to: recipient, ["--env", "TOKEN"])
        #expect(pasted.hasPrefix("TOKEN: |\n  -----BEGIN AGE ENCRYPTED FILE-----\n"), "\(pasted)")
        #expect(!pasted.contains(secret))
        let env = "  env:\n" + pasted.split(separator: "\n").map { "    \($0)\n" }.joined()
        try scenario.write(serviceYAML(scenario, "web", extra: env))

        // when: applied without an identity
        let refused = try await scenario.berth("apply", "-f", scenario.manifests.path)

        // then: the create fails naming the variable and the flag, and the status says so
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("env.TOKEN") && refused.stderr.contains("--age-identity-file"), "\(refused.stderr)")
        let failed = try await scenario.statuses()["Service/web"]
        #expect("\(failed ?? [:])".contains("--age-identity-file"), "\(failed ?? [:])")

        // when: applied with the identity
        let applied = try await scenario.berth("apply", "-f", scenario.manifests.path, "--age-identity-file", identity)

        // then: the container has the plaintext
        #expect(applied.status == 0, "\(applied.stdout)\(applied.stderr)")
        #expect(await scenario.inspect(scenario.container("web"), "{{json .Config.Env}}")?.contains("\"TOKEN=\(secret)\"") == true)

        // when: serve (with the identity from the environment) converges a second service whose
        // value is a file holding a block
        let fileSecret = "age-file-plaintext-\(UUID().uuidString)"
        let block = try await Self.encrypt(fileSecret + "\n", to: recipient, ["--indent", "1"])
        let cipherFile = scenario.folder.appendingPathComponent("worker-key.age")
        try block.split(separator: "\n").map { $0.dropFirst() + "\n" }.joined().write(to: cipherFile, atomically: true, encoding: .utf8)
        try scenario.write(serviceYAML(scenario, "web", extra: env) + serviceYAML(scenario, "worker", extra: "  env: {KEY: {fromFile: \(cipherFile.path)}}"))
        scenario.extraEnvironment = ["BERTH_AGE_IDENTITY_FILE": identity]
        try scenario.startServe(["--log-level", "debug"])

        // then: its container has the file's plaintext, one final newline removed
        try await scenario.eventually(60, "the worker runs") { await scenario.inspect(scenario.container("worker"), "{{.State.Running}}") == "true" }
        #expect(await scenario.inspect(scenario.container("worker"), "{{json .Config.Env}}")?.contains("\"KEY=\(fileSecret)\"") == true)

        // and nothing Berth shows holds either plaintext
        var shown: [String: String] = [:]
        for command in [
            ["render", "-f", scenario.manifests.path], ["plan", "-f", scenario.manifests.path], ["plan", "-f", scenario.manifests.path, "--json"],
            ["status", "--json"], ["status"], ["events", "--project", scenario.project, "--json"],
        ] {
            let result = try await scenario.berth(command)
            shown["berth " + command.joined(separator: " ")] = result.stdout + result.stderr
        }
        shown["apply's output"] = refused.stdout + refused.stderr + applied.stdout + applied.stderr
        shown["serve's log"] = scenario.serveLog
        #expect(shown["berth render -f \(scenario.manifests.path)"]?.contains("-----BEGIN AGE ENCRYPTED FILE-----") == true)
        #expect(shown["berth events --project \(scenario.project) --json"]?.contains("web") == true)
        for (what, text) in shown.sorted(by: { $0.key < $1.key }) {
            #expect(!text.contains(secret), "\(what) shows the value's plaintext")
            #expect(!text.contains(fileSecret), "\(what) shows the file's plaintext")
        }
    }

    @Test func aJobGetsItsEncryptedValueDecryptedByTheJobRunner() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given: serve with the identity, and a job whose TOKEN is encrypted (submitted by the operator)
        let (identity, recipient) = try await Self.makeKey(in: scenario)
        let secret = "job-plaintext-\(UUID().uuidString)"
        let pasted = try await Self.encrypt(secret, to: recipient, ["--env", "TOKEN"])
        try scenario.write("")
        try scenario.startServe(Scenario.jobServeOptions + ["--age-identity-file", identity])
        let env = "  env:\n" + pasted.split(separator: "\n").map { "    \($0)\n" }.joined()

        // when
        // The command must not hold the secret itself (job answers show it): its prefix and length tell.
        let check = "case $TOKEN in job-plaintext-*) echo token-arrived ${#TOKEN};; esac"
        let id = try await scenario.submit(jobYAML(scenario, "decrypting", command: check, extra: env))[0]

        // then: the worker saw the plaintext; the job's answer shows the ciphertext only
        let job = try await scenario.ended(id)
        #expect(job["state"] as? String == "finished", "\(job)")
        let logs = try await scenario.berth("jobs", "logs", id)
        #expect(logs.stdout.contains("token-arrived \(secret.count)"), "\(logs.stdout)\(logs.stderr)")
        let shown = try await scenario.berth("jobs", "show", id, "--json")
        #expect(shown.stdout.contains("-----BEGIN AGE ENCRYPTED FILE-----") || shown.stdout.contains("(hidden)"), "\(shown.stdout)")
        #expect(!(shown.stdout + scenario.serveLog).contains(secret))
    }

    @Test func anAPIWriterMayUseEncryptedValuesOnlyWhenThePolicyDecryptsSecrets() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given: a writer's token, and a service copying a ciphertext into a container it controls
        let (identity, recipient) = try await Self.makeKey(in: scenario)
        let pasted = try await Self.encrypt("copied-\(UUID().uuidString)", to: recipient, ["--env", "TOKEN"])
        try scenario.write("")
        let unreadable = scenario.folder.appendingPathComponent("no-such-key.txt").path
        let early = try await scenario.berth("apply", "-f", scenario.manifests.path, "--age-identity-file", unreadable)
        #expect(early.status != 0 && early.stderr.contains("--age-identity-file: \(unreadable) is not a readable file"), "\(early.stderr)")
        try scenario.startServe(["--age-identity-file", identity], resync: "1s")
        let created = try await scenario.berth("token", "create", "--name", "copier", "--scope", "resources:write", "--project", scenario.project)
        try #require(created.status == 0, "\(created.stderr)")
        scenario.server = (url: try await scenario.apiURL(), token: created.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        let document = scenario.folder.appendingPathComponent("copier.yaml")
        let env = "  env:\n" + pasted.split(separator: "\n").map { "    \($0)\n" }.joined()
        try serviceYAML(scenario, "copier", extra: env).write(to: document, atomically: true, encoding: .utf8)

        // when: applied through the API under the default policy
        let refused = try await scenario.berth("resources", "apply", "-f", document.path)

        // then: refused, naming the field and the rule
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("spec.env.TOKEN") && refused.stderr.contains("policy.decryptSecrets"), "\(refused.stderr)")

        // when: the operator's policy allows it
        try scenario.write(
            """
            apiVersion: berth/v1
            kind: Project
            metadata: {name: \(scenario.project)}
            spec:
              policy: {decryptSecrets: true}
            """, declaringProject: false)
        let taken = try await scenario.berth("resources", "apply", "-f", document.path)

        // then: taken and decrypted into the container
        #expect(taken.status == 0, "\(taken.stderr)")
        try await scenario.eventually(60, "the API writer's service runs") { await scenario.inspect(scenario.container("copier"), "{{.State.Running}}") == "true" }
    }

    @Test func anAPIWritersFromFileIsDecryptedOnlyWhenThePolicyDecryptsSecrets() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given: a policy that lets the project's writers read one host folder, an encrypted file
        // there, and a writer's token
        let (identity, recipient) = try await Self.makeKey(in: scenario)
        let secret = "from-file-\(UUID().uuidString)"
        let folder = scenario.folder.appendingPathComponent("shared")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let cipherFile = folder.appendingPathComponent("token.age")
        let block = try await Self.encrypt(secret, to: recipient, ["--indent", "1"])
        try block.split(separator: "\n").map { $0.dropFirst() + "\n" }.joined().write(to: cipherFile, atomically: true, encoding: .utf8)
        func policy(decrypting: Bool) throws {
            try scenario.write(
                """
                apiVersion: berth/v1
                kind: Project
                metadata: {name: \(scenario.project)}
                spec:
                  policy: {hostPaths: ["\(folder.path)"], decryptSecrets: \(decrypting)}
                """, declaringProject: false)
        }
        try policy(decrypting: false)
        try scenario.startServe(["--age-identity-file", identity], resync: "1s")
        let created = try await scenario.berth("token", "create", "--name", "reader", "--scope", "resources:write", "--project", scenario.project)
        try #require(created.status == 0, "\(created.stderr)")
        scenario.server = (url: try await scenario.apiURL(), token: created.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        let document = scenario.folder.appendingPathComponent("reader.yaml")
        try serviceYAML(scenario, "reader", extra: "  env: {TOKEN: {fromFile: \(cipherFile.path)}}").write(to: document, atomically: true, encoding: .utf8)

        // when: the writer's service reads the encrypted file (its path is allowed)
        let taken = try await scenario.berth("resources", "apply", "-f", document.path)
        scenario.server = nil
        // then: the service is stored, but its container is never made: the status says why
        #expect(taken.status == 0, "\(taken.stderr)")
        try await scenario.eventually(60, "the service's status names the refusal") {
            let status = try await scenario.berth("status", "--json")
            return status.stdout.contains("is age-encrypted") && status.stdout.contains("decryptSecrets")
        }
        #expect(await scenario.inspect(scenario.container("reader"), "{{.State.Running}}") == nil)

        // when: the operator's policy decrypts secrets for the project
        try policy(decrypting: true)
        // then: the container runs with the plaintext, which shows nowhere
        try await scenario.eventually(60, "the writer's service runs") { await scenario.inspect(scenario.container("reader"), "{{.State.Running}}") == "true" }
        let env = await scenario.inspect(scenario.container("reader"), "{{range .Config.Env}}{{println .}}{{end}}")
        #expect(env?.contains("TOKEN=\(secret)") == true)
        #expect(!scenario.serveLog.contains(secret))
        #expect(!(try await scenario.berth("status", "--json")).stdout.contains(secret))
    }
}
