import BerthCore
import BerthObjectStore
import Foundation
import Testing

/// The trust line as people meet it: an operator runs `berth serve` with manifests in git, and an
/// application holding a project-limited `resources:write` token applies documents through the API.
@Suite("Policy end to end", .serialized) struct PolicyEndToEndTests {
    @Test func anAPIWriterReachesAHostFolderOnlyOnceTheOperatorsPolicyAllowsIt() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given: a host folder holding a file, a project without a policy, and a writer's token
        let folder = scenario.folder.appendingPathComponent("srv-shop")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("data"), withIntermediateDirectories: true)
        try "from-the-host\n".write(to: folder.appendingPathComponent("data/greeting"), atomically: true, encoding: .utf8)
        try scenario.write("")
        try scenario.startServe(resync: "1s")
        let created = try await scenario.berth("token", "create", "--name", "shop-app", "--scope", "resources:write", "--project", scenario.project)
        try #require(created.status == 0, "\(created.stderr)")
        scenario.server = (url: try await scenario.apiURL(), token: created.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        let document = scenario.folder.appendingPathComponent("reader.yaml")
        try serviceYAML(scenario, "reader", extra: "  volumes: [\"\(folder.path)/data:/data:ro\"]").write(to: document, atomically: true, encoding: .utf8)

        // when: applied through the API while the project has no policy
        let refused = try await scenario.berth("resources", "apply", "-f", document.path)

        // then: refused, naming the field and the rule; nothing runs
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("spec.volumes[0]") && refused.stderr.contains("policy.hostPaths"), "\(refused.stderr)")
        let root = try await scenario.berth("resources", "apply", "-f", try Self.write(serviceYAML(scenario, "root", extra: "  volumes: [\"/:/host\"]"), in: scenario))
        #expect(root.status == 1)
        #expect(root.stderr.contains("is never allowed"), "\(root.stderr)")

        // when: the operator allows the folder in the project's manifest
        try """
        apiVersion: berth/v1
        kind: Project
        metadata: {name: \(scenario.project)}
        spec:
          policy: {hostPaths: ["\(folder.path)"]}
        """.write(to: scenario.folder.appendingPathComponent("manifests/project.yaml"), atomically: true, encoding: .utf8)
        let taken = try await scenario.berth("resources", "apply", "-f", document.path)

        // then: taken, and the controller converges it with the folder mounted
        #expect(taken.status == 0, "\(taken.stderr)")
        try await scenario.eventually(60, "the API writer's service runs") { await scenario.inspect(scenario.container("reader"), "{{.State.Running}}") == "true" }
        #expect(await scenario.inspect(scenario.container("reader"), "{{range .Mounts}}{{.Source}}{{end}}") == folder.path + "/data")
        #expect(try await scenario.docker("exec", scenario.container("reader"), "cat", "/data/greeting").contains("from-the-host"))
        // and "/" stays out of reach whatever the policy lists
        #expect(try await scenario.berth("resources", "apply", "-f", try Self.write(serviceYAML(scenario, "root", extra: "  volumes: [\"/:/host\"]"), in: scenario)).status == 1)
    }

    @Test func aProjectWhosePolicyAppliesToAllHoldsTheOperatorsManifestsToIt() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        try scenario.write(
            """
            apiVersion: berth/v1
            kind: Project
            metadata: {name: \(scenario.project)}
            spec:
              policy: {appliesTo: all}
            ---
            \(serviceYAML(scenario, "web", extra: "  volumes: [\"/etc:/host-etc:ro\"]"))
            """, declaringProject: false)

        let validated = try await scenario.berth("validate", "-f", scenario.manifests.path)
        let applied = try await scenario.berth("apply", "-f", scenario.manifests.path)

        #expect(validated.status == 1)
        #expect(validated.stderr.contains("project.yaml:") && validated.stderr.contains("spec.volumes[0]") && validated.stderr.contains("policy.hostPaths"), "\(validated.stderr)")
        #expect(applied.status != 0)
        #expect(try await scenario.containers().isEmpty)
    }

    @Test func aJobMountsNoOtherProjectsVolumeEvenWhenItsDockerNameMatches() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given: project <p>-prod's volume db, whose Docker name is what project <p>'s prod-db would be
        let prod = "\(scenario.project)-prod"
        try scenario.write(
            """
            apiVersion: berth/v1
            kind: Project
            metadata: {name: \(prod)}
            ---
            apiVersion: berth/v1
            kind: Volume
            metadata: {name: db, project: \(prod)}
            spec: {}
            """)
        try scenario.startServe(Scenario.jobServeOptions)
        try await scenario.eventually(60, "the controller made \(prod)'s volume") {
            (try? await scenario.docker("volume", "inspect", "-f", "{{index .Labels \"berth.project\"}}", "berth-\(prod)-db")) == prod
        }
        scenario.dockerAtFinish("volume", "rm", "-f", "berth-\(prod)-db")

        // when: the operator's CLI (on the store, so no API check) submits jobs of project <p>
        // mounting prod-db and a volume that does not exist
        let stolen = try await scenario.submit(jobYAML(scenario, "steal", command: "ls /steal", extra: "  volumes: [\"prod-db:/steal\"]"))[0]
        let missing = try await scenario.submit(jobYAML(scenario, "missing", command: "true", extra: "  volumes: [\"nothing:/x\"]"))[0]

        // then: both fail before a container is made, saying why; no volume is made on the spot
        let stolenJob = try await scenario.ended(stolen)
        #expect(stolenJob["state"] as? String == "failed")
        let stolenEvents = (stolenJob["events"] as? [[String: Any]] ?? []).compactMap { $0["message"] as? String }.joined(separator: "\n")
        #expect(stolenEvents.contains("is project \(prod)'s volume db, not volume prod-db of project \(scenario.project)"), "\(stolenEvents)")
        let missingJob = try await scenario.ended(missing)
        #expect(missingJob["state"] as? String == "failed")
        let missingEvents = (missingJob["events"] as? [[String: Any]] ?? []).compactMap { $0["message"] as? String }.joined(separator: "\n")
        #expect(missingEvents.contains("does not exist yet"), "\(missingEvents)")
        #expect((try? await scenario.docker("volume", "inspect", "berth-\(scenario.project)-nothing")) == nil)
    }

    @Test func everyProbeOfAProjectWriterIsRefusedOverHTTPWithItsStatusAndField() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given: berth serve with object storage, and the tokens an application would hold
        let storage = try TestServices.objectStorageEnvironment()
        scenario.extraEnvironment = storage
        try scenario.write("")
        try scenario.startServe(Scenario.jobServeOptions + ["--resync", "1s"])
        let url = try await scenario.apiURL()
        func token(_ scope: String, project: String) async throws -> String {
            try await scenario.berth("token", "create", "--name", "\(scope)-\(project)", "--scope", scope, "--project", project).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let resources = try await token("resources:write", project: scenario.project), jobs = try await token("jobs:write", project: scenario.project)
        let defaultWriter = try await token("resources:write", project: "default")
        let stateDirectory = scenario.folder.appendingPathComponent("state").path
        /// `curl` METHOD PATH with a token and a YAML body; the status and the error's field.
        func call(_ method: String, _ path: String, _ token: String, _ body: String) async throws -> (status: Int, field: String, text: String) {
            let file = try Self.write(body, in: scenario)
            let output = try await Scenario.run(
                "/usr/bin/curl",
                [
                    "-sS", "-o", "-", "-w", "\n%{http_code}", "-X", method, "-H", "Authorization: Bearer \(token)",
                    "-H", "Content-Type: application/yaml", "--data-binary", "@\(file)", url + path,
                ])
            let lines = output.split(separator: "\n", omittingEmptySubsequences: false)
            let text = lines.dropLast().joined(separator: "\n")
            let error = (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])?["error"] as? [String: Any]
            return (Int(lines.last ?? "") ?? 0, error?["field"] as? String ?? "", text)
        }
        let p = scenario.project
        let rootService = serviceYAML(scenario, "root", extra: "  volumes: [\"/:/host\", \"/var/run/docker.sock:/var/run/docker.sock\"]\n  user: \"0:0\"").replacingOccurrences(
            of: "network: none", with: "network: host")
        let probes: [(what: String, method: String, path: String, token: String, body: String, status: Int, field: String)] = [
            ("a service mounting / and the Docker socket on the host network as root", "PUT", "/v1/resources/service/\(p)/root", resources, rootService, 403, "spec.network"),
            (
                "a job reading the controller's environment", "POST", "/v1/jobs", jobs, jobYAML(scenario, "env", command: "env", extra: "  env: {LEAK: {fromEnv: BERTH_TEST_S3_SECRET_KEY}}"), 403,
                "spec.env.LEAK"
            ),
            (
                "a job reading the store file", "POST", "/v1/jobs", jobs, jobYAML(scenario, "file", command: "env", extra: "  env: {LEAK: {fromFile: \(stateDirectory)/berth.sqlite}}"), 403,
                "spec.env.LEAK"
            ),
            ("a job reading /dev/zero", "POST", "/v1/jobs", jobs, jobYAML(scenario, "zero", command: "env", extra: "  env: {ZERO: {fromFile: /dev/zero}}"), 403, "spec.env.ZERO"),
            (
                "a certificate over /etc/passwd", "PUT", "/v1/resources/certificate/\(p)/tls", resources,
                "apiVersion: berth/v1\nkind: Certificate\nmetadata: {name: tls, project: \(p)}\nspec: {dnsNames: [a.example.org], target: {hostPath: /etc}, files: {certificate: passwd, key: shadow}}\n",
                403, "spec.target.hostPath"
            ),
            (
                "a certificate into /dev", "PUT", "/v1/resources/certificate/\(p)/dev", resources,
                "apiVersion: berth/v1\nkind: Certificate\nmetadata: {name: dev, project: \(p)}\nspec: {dnsNames: [a.example.org], target: {hostPath: /dev}, files: {certificate: zero}}\n", 403,
                "spec.target.hostPath"
            ),
            (
                "a default-limited token rewriting another Project", "PUT", "/v1/resources/project/default/\(p)", defaultWriter,
                "apiVersion: berth/v1\nkind: Project\nmetadata: {name: \(p)}\nspec: {defaultResources: {memory: 4Mi}}\n", 403, ""
            ),
            (
                "a job mounting another project's volume by its Docker name", "POST", "/v1/jobs", jobs, jobYAML(scenario, "steal", command: "ls", extra: "  volumes: [\"prod-db:/steal\"]"), 422,
                "spec.volumes[0]"
            ),
        ]
        for probe in probes {
            let answer = try await call(probe.method, probe.path, probe.token, probe.body)
            #expect(answer.status == probe.status && answer.field == probe.field, "\(probe.what): \(answer.status) \(answer.text)")
        }
        let root = try await call("PUT", "/v1/resources/service/\(p)/root", resources, rootService)
        for rule in ["policy.hostNetwork", "host path / is never allowed", "/var/run/docker.sock (/run/docker.sock) is never allowed"] {
            #expect(root.text.contains(rule), "every violation is named: \(root.text)")
        }
        #expect(try await scenario.containers().isEmpty, "nothing a probe sent runs")

        // A bucket Berth did not create, declared by the writer: stored, never managed.
        let client = try BucketEndToEndTests.client()
        let foreign = "\(p)-foreign"
        try await client.createBucket(foreign)
        let bucket = try await call(
            "PUT", "/v1/resources/bucket/\(p)/taken", resources, BucketEndToEndTests.bucketYAML(scenario, "taken", spec: "bucketName: \(foreign)\nversioning: true\nlifecycle: {expireDays: 1}"))
        #expect(bucket.status == 201, "\(bucket.text)")
        try await scenario.eventually(60, "the controller says it leaves the bucket alone") {
            let status = try await scenario.berth("status", "--project", p, "--json")
            return status.stdout.contains("only a manifest or an admin token may manage it") || scenario.serveLog.contains("only a manifest or an admin token may manage it")
        }
        #expect(try await client.versioning(foreign) != .enabled)
        #expect(try await client.lifecycle(foreign).isEmpty)
        await BucketEndToEndTests.removeBuckets(of: scenario)
    }

    private static func write(_ yaml: String, in scenario: Scenario) throws -> String {
        let file = scenario.folder.appendingPathComponent("doc-\(UUID().uuidString).yaml")
        try yaml.write(to: file, atomically: true, encoding: .utf8)
        return file.path
    }
}
