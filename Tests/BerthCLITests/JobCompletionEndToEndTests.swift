import BerthObjectStore
import Crypto
import Foundation
import Testing

/// What follows a job's end (issue 20): its signed completion webhook, retried with one delivery
/// id until the receiver takes it, refused for API writers outside the project's policy; and its
/// whole output archived in a bucket and read back byte for byte.
@Suite("Job completion end to end", .serialized) struct JobCompletionEndToEndTests {
    /// A job document with `extra` spec lines (each indented two spaces).
    private func job(_ scenario: Scenario, _ name: String, command: String, extra: [String]) -> String {
        jobYAML(scenario, name, command: command, extra: extra.map { "  " + $0 }.joined(separator: "\n"))
    }

    @Test(arguments: StoreChoice.allCases)
    func aWebhookFailingTwiceIsRetriedWithOneDeliveryIDAndASignatureOverEachBody(store: StoreChoice) async throws {
        let scenario = try await Scenario(store)
        defer { scenario.finish() }
        // given: a receiver that answers 500 twice, then 200; a secret file with a trailing newline
        let receiver = try WebhookReceiver { $0 < 2 ? 500 : 200 }
        defer { receiver.stop() }
        let secret = scenario.folder.appendingPathComponent("webhook.secret")
        try "s3cret-key\n".write(to: secret, atomically: true, encoding: .utf8)
        try scenario.write("")
        try scenario.startServe(Scenario.jobServeOptions + ["--webhook-retry", "200ms"])

        // when: an operator's job with a literal secret in its env ends
        let id = try await scenario.submit(
            job(
                scenario, "notified", command: "echo done",
                extra: [
                    "env: {API_TOKEN: hunter2}",
                    "notify: {url: \"http://127.0.0.1:\(receiver.port)/hooks/berth\", secretFile: \"\(secret.path)\"}",
                ]))[0]
        try #require(try await scenario.ended(id)["state"] as? String == "finished")
        try await scenario.eventually(60, "three deliveries reach the receiver") { receiver.requests.count >= 3 }

        // then: three POSTs with the same delivery id and event, each body the job's answer
        // (secrets hidden) signed with the trimmed secret
        let requests = receiver.requests
        #expect(requests.count == 3, "no delivery after the first 2xx: \(requests.count)")
        for request in requests {
            #expect(request.path == "/hooks/berth")
            #expect(request.headers["x-berth-delivery"] == "\(id)-finished", "\(request.headers)")
            #expect(request.headers["x-berth-event"] == "finished")
            let code = HMAC<SHA256>.authenticationCode(for: request.body, using: SymmetricKey(data: Array("s3cret-key".utf8)))
            #expect(request.headers["x-berth-signature"] == "sha256=" + code.map { String(format: "%02x", $0) }.joined(), "\(request.headers)")
            let body = try #require(try JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any])
            #expect(body["id"] as? String == id)
            #expect(body["state"] as? String == "finished")
            #expect(!String(decoding: request.body, as: UTF8.self).contains("hunter2"), "literal env values are hidden")
        }
        // and the job shows the delivery: three attempts, delivered, the last answer 200
        var delivery: [String: Any] = [:]
        try await scenario.eventually(30, "the delivery is recorded as delivered") {
            delivery = (try await scenario.job(id)["deliveries"] as? [[String: Any]])?.first ?? [:]
            return delivery["outcome"] as? String == "delivered"
        }
        #expect(delivery["id"] as? String == "\(id)-finished")
        #expect(delivery["attempts"] as? Int == 3, "\(delivery)")
        #expect(delivery["lastStatus"] as? Int == 200, "\(delivery)")
        let shown = try await scenario.berth("jobs", "show", id)
        #expect(shown.stdout.contains("finished  delivered, 3 attempts, last HTTP 200"), "\(shown.stdout)")
    }

    @Test func anAPIWriterReachesOnlyThePolicysWebhookHostsWithASecretFileInItsHostPaths() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given: a policy allowing one webhook host and one host folder, and a jobs:write token
        let allowed = scenario.folder.appendingPathComponent("secrets")
        try FileManager.default.createDirectory(at: allowed, withIntermediateDirectories: true)
        try "k\n".write(to: allowed.appendingPathComponent("hook"), atomically: true, encoding: .utf8)
        try """
        apiVersion: berth/v1
        kind: Project
        metadata: {name: \(scenario.project)}
        spec:
          policy: {webhookHosts: ["hooks.invalid:443"], hostPaths: ["\(allowed.path)"]}
        """.write(to: scenario.manifests.appendingPathComponent("project.yaml"), atomically: true, encoding: .utf8)
        try scenario.startServe(Scenario.jobServeOptions)
        let created = try await scenario.berth("token", "create", "--name", "app", "--scope", "jobs:write", "--project", scenario.project)
        try #require(created.status == 0, "\(created.stderr)")
        scenario.server = (url: try await scenario.apiURL(), token: created.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        func submit(_ notify: String) async throws -> CommandResult {
            let file = scenario.folder.appendingPathComponent("job-\(UUID().uuidString).yaml")
            try job(scenario, "hooked", command: "true", extra: ["notify: \(notify)"]).write(to: file, atomically: true, encoding: .utf8)
            return try await scenario.berth("jobs", "submit", "-f", file.path)
        }

        // when
        let otherHost = try await submit("{url: \"http://127.0.0.1:7700/v1/jobs\", secretFile: \"\(allowed.path)/hook\"}")
        let otherPort = try await submit("{url: \"https://hooks.invalid:8443/hook\", secretFile: \"\(allowed.path)/hook\"}")
        let hostFile = try await submit("{url: \"https://hooks.invalid/hook\", secretFile: /etc/shadow}")
        // Only on cancel, which never comes: no request leaves the host.
        let taken = try await submit("{url: \"https://hooks.invalid/hook\", secretFile: \"\(allowed.path)/hook\", events: [cancelled]}")

        // then: refused naming the field and the rule, unless both are within the policy
        for refused in [otherHost, otherPort] {
            #expect(refused.status == 1)
            #expect(refused.stderr.contains("spec.notify.url") && refused.stderr.contains("policy.webhookHosts"), "\(refused.stderr)")
        }
        #expect(hostFile.status == 1)
        #expect(hostFile.stderr.contains("spec.notify.secretFile") && hostFile.stderr.contains("policy.hostPaths"), "\(hostFile.stderr)")
        #expect(taken.status == 0, "\(taken.stderr)")
    }

    @Test func anAPIWriterArchivesOutputOnlyIntoItsOwnProjectsBuckets() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given: a bucket declared by another project only
        try scenario.write("")
        try scenario.startServe(Scenario.jobServeOptions)
        let created = try await scenario.berth("token", "create", "--name", "app", "--scope", "jobs:write", "--project", scenario.project)
        try #require(created.status == 0, "\(created.stderr)")
        scenario.server = (url: try await scenario.apiURL(), token: created.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        let file = scenario.folder.appendingPathComponent("job.yaml")
        try job(scenario, "archived", command: "true", extra: ["logArchive: {bucket: someone-elses-bucket}"]).write(to: file, atomically: true, encoding: .utf8)

        // when
        let refused = try await scenario.berth("jobs", "submit", "-f", file.path)

        // then
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("spec.logArchive.bucket"), "\(refused.stderr)")
    }

    /// `seq 1 1400000`: 10,088,896 bytes, as the worker prints them.
    private static let tenMegabytes = Array((1...1_400_000).map { "\($0)\n" }.joined().utf8)

    @Test func theWholeOutputOfAFinishedAndAFailedJobIsReadBackByteForByteFromTheBucket() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given: the project's bucket, declared in the manifests, as the jobs' archive by default
        scenario.extraEnvironment = try TestServices.objectStorageEnvironment()
        let bucket = "\(scenario.project)-logs"
        try """
        apiVersion: berth/v1
        kind: Project
        metadata: {name: \(scenario.project)}
        spec:
          logArchive: {bucket: \(bucket), prefix: runs/}
        ---
        \(BucketEndToEndTests.bucketYAML(scenario, "logs", spec: "reclaimPolicy: Delete\ndeleteNonEmpty: true"))
        """.write(to: scenario.manifests.appendingPathComponent("project.yaml"), atomically: true, encoding: .utf8)
        try scenario.startServe(Scenario.jobServeOptions)
        try await scenario.eventually(60, "the bucket exists") { try await BucketEndToEndTests.client().bucketExists(bucket) }

        // when: one job prints 10 MB and finishes, another prints them and fails
        let ids = try await scenario.submit(
            jobYAML(scenario, "big", command: "seq 1 1400000; echo to-stderr >&2")
                + jobYAML(scenario, "big-failing", command: "seq 1 1400000; echo failing >&2; exit 3"))
        let finished = try await scenario.ended(ids[0], within: 120)
        let failed = try await scenario.ended(ids[1], within: 120)
        #expect(finished["state"] as? String == "finished")
        #expect(failed["state"] as? String == "failed")

        // then: both archived under the prefix, read back whole, locally and through the API
        for id in ids {
            let archives = try #require(try await scenario.job(id)["logArchives"] as? [[String: Any]], "\(id)")
            #expect(archives.first?["stdoutKey"] as? String == "runs/\(id)/1/stdout.gz", "\(archives)")
            #expect(archives.first?["stdoutBytes"] as? Int == Self.tenMegabytes.count, "\(archives)")
        }
        let local = try await scenario.berth("jobs", "logs", "--full", ids[0])
        #expect(local.status == 0, "\(local.stderr)")
        #expect(Array(local.stdout.utf8) == Self.tenMegabytes, "\(local.stdout.utf8.count) bytes")
        #expect(local.stderr == "to-stderr\n")
        let created = try await scenario.berth("token", "create", "--name", "reader", "--scope", "admin")
        scenario.server = (url: try await scenario.apiURL(), token: created.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        let remote = try await scenario.berth("jobs", "logs", "--full", ids[1])
        #expect(remote.status == 0, "\(remote.stderr)")
        #expect(Array(remote.stdout.utf8) == Self.tenMegabytes, "\(remote.stdout.utf8.count) bytes")
        #expect(remote.stderr == "failing\n")
        await BucketEndToEndTests.removeBuckets(of: scenario)
    }
}
