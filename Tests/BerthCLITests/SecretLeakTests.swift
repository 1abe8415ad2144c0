import Foundation
import Testing

/// No secret used in a run shows in what the run shows anyone: API answers, events, logs,
/// `berth status --json`, the CLI's output and the server's own log.
@Suite("Secrets stay secret", .serialized) struct SecretLeakTests {
    @Test func noAnswerEventLogOrStatusOfARunHoldsASecretUsedInIt() async throws {
        let scenario = try await Scenario(.postgres)
        defer { scenario.finish() }
        // given: a store with a password, S3 credentials, tokens, and a job with a literal secret
        let storage = try TestServices.objectStorageEnvironment()
        scenario.extraEnvironment = storage
        let databasePassword = try #require(URLComponents(string: try TestServices.postgresURL())?.password)
        let envSecret = "job-secret-\(UUID().uuidString)"
        try scenario.write(serviceYAML(scenario, "web") + BucketEndToEndTests.bucketYAML(scenario, "media", spec: "versioning: true"))
        try scenario.startServe(Scenario.jobServeOptions)
        let admin = try await scenario.berth("token", "create", "--name", "leak-admin", "--scope", "admin").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let writer = try await scenario.berth("token", "create", "--name", "leak-jobs", "--scope", "jobs:write", "--project", scenario.project).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let url = try await scenario.apiURL()
        scenario.server = (url: url, token: writer)
        let id = try await scenario.submit(
            jobYAML(scenario, "secretive", command: "echo working; case $API_KEY in job-secret-*) echo key-arrived;; esac", extra: "  env: {API_KEY: \"\(envSecret)\", MODE: batch}"))[0]
        let job = try await scenario.ended(id)
        #expect(job["state"] as? String == "finished", "the worker got the value: \(job)")
        try await scenario.eventually(60, "the service runs") { await scenario.inspect(scenario.container("web"), "{{.State.Running}}") == "true" }

        // when: everything the run shows is collected
        var shown: [String: String] = [:]
        scenario.server = (url: url, token: admin)
        for command in [
            ["jobs", "show", id], ["jobs", "show", id, "--json"], ["jobs", "list", "--json"], ["jobs", "logs", id],
            ["events", "--project", scenario.project, "--json"], ["status", "--json"], ["status"], ["plan", "--json"],
            ["resources", "get", "--json"],
        ] {
            let result = try await scenario.berth(command)
            shown["berth " + command.joined(separator: " ")] = result.stdout + result.stderr
        }
        for path in ["/v1/jobs/\(id)", "/v1/jobs", "/v1/jobs/\(id)/logs", "/v1/events", "/v1/status", "/v1/plan", "/v1/resources", "/metrics"] {
            shown["GET " + path] = try await Scenario.run("/usr/bin/curl", ["-sS", "-H", "Authorization: Bearer \(admin)", url + path])
        }
        shown["GET /readyz"] = try await Scenario.run("/usr/bin/curl", ["-sS", url + "/readyz"])
        shown["serve's log"] = scenario.serveLog

        // then: none holds a secret, and the collection is not empty by accident
        let secrets = [
            "the job's env literal": envSecret, "the admin token": admin, "the writer's token": writer,
            "the S3 secret key": storage["AWS_SECRET_ACCESS_KEY"]!, "the database password": ":\(databasePassword)@",
        ]
        #expect(shown["berth jobs show \(id) --json"]?.contains("API_KEY") == true)
        #expect(shown["berth jobs logs \(id)"]?.contains("key-arrived") == true)
        for (what, text) in shown.sorted(by: { $0.key < $1.key }) {
            for (secret, value) in secrets.sorted(by: { $0.key < $1.key }) {
                #expect(!text.contains(value), "\(what) shows \(secret)")
            }
        }
        await BucketEndToEndTests.removeBuckets(of: scenario)
    }
}
