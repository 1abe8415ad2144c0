import BerthCore
import BerthObjectStore
import Foundation
import Testing

/// Buckets as users meet them: `berth apply`, `plan` and `status` against moto's S3 server
/// (signatures checked), with the settings a user gives (`--s3-endpoint` or `BERTH_S3_ENDPOINT`,
/// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`).
@Suite("Buckets end to end")
struct BucketEndToEndTests {
    /// The same endpoint and key `berth` uses, for looking at and tampering with the buckets.
    static func client() throws -> S3Client {
        let environment = try TestServices.objectStorageEnvironment()
        return S3Client(
            configuration: try S3Configuration(
                endpoint: environment["BERTH_S3_ENDPOINT"]!,
                credentials: S3Credentials(accessKey: environment["AWS_ACCESS_KEY_ID"]!, secretKey: environment["AWS_SECRET_ACCESS_KEY"]!)
            ))
    }

    static func bucketYAML(_ scenario: Scenario, _ name: String, spec: String) -> String {
        """
        apiVersion: berth/v1
        kind: Bucket
        metadata: {name: \(name), project: \(scenario.project)}
        spec:
        \(spec.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
        ---

        """
    }

    /// Deletes the scenario's buckets (named `<project>-…`) with everything in them.
    static func removeBuckets(of scenario: Scenario) async {
        guard let client = try? client(), let names = try? await client.listBuckets() else { return }
        for name in names where name.hasPrefix(scenario.project) {
            try? await client.deleteAllObjects(name)
            try? await client.deleteBucket(name)
        }
    }

    @Test func applyCreatesAConfiguredBucketChangesNothingTwiceAndRepairsDrift() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        let client = try Self.client()
        let name = "\(scenario.project)-media"
        // given: the endpoint as a flag, the credentials from the environment
        var environment = try TestServices.objectStorageEnvironment()
        let endpoint = environment.removeValue(forKey: "BERTH_S3_ENDPOINT")!
        scenario.extraEnvironment = environment
        try scenario.write(
            Self.bucketYAML(
                scenario, "media",
                spec: """
                    versioning: true
                    lifecycle: {expireDays: 30, noncurrentExpireDays: 7, abortIncompleteUploadsDays: 2}
                    tags: {team: maps}
                    """))
        let flags = ["-f", scenario.manifests.path, "--s3-endpoint", endpoint, "--s3-region", "us-east-1", "--s3-addressing", "path"]

        // when
        let first = try await scenario.berth(["apply"] + flags)

        // then
        #expect(first.status == 0, "stdout: \(first.stdout)\nstderr: \(first.stderr)")
        #expect(first.stdout.contains("+ create bucket \(name)"), "\(first.stdout)")
        #expect(try await client.versioning(name) == .enabled)
        #expect(try await client.lifecycle(name) == [LifecycleRule(id: "berth", expirationDays: 30, noncurrentVersionExpirationDays: 7, abortIncompleteUploadDays: 2)])
        let tags = try await client.tags(name)
        #expect(tags["team"] == "maps")
        #expect(tags["berth.managed"] == "true")
        #expect(tags["berth.project"] == scenario.project)
        let statuses = try await scenario.statuses()
        #expect(statuses["Bucket/media"]?["phase"] as? String == "Ready")

        let plan = try await scenario.berth(["plan", "--detailed-exitcode"] + flags)
        #expect(plan.status == 0, "stdout: \(plan.stdout)\nstderr: \(plan.stderr)")
        #expect(plan.stdout.contains("No changes."))
        let second = try await scenario.berth(["apply"] + flags)
        #expect(second.status == 0)
        #expect(second.stdout.contains("No changes."), "\(second.stdout)")

        // when someone changes the bucket by hand
        try await client.setVersioning(name, enabled: false)
        try await client.setTags(name, tags.merging(["team": "ops"]) { _, new in new })
        try await client.setLifecycle(name, rules: [LifecycleRule(id: "berth", expirationDays: 90)])

        // then plan names each drifted field, and apply puts it back
        let drift = try await scenario.berth(["plan", "--detailed-exitcode"] + flags)
        #expect(drift.status == 2, "stdout: \(drift.stdout)\nstderr: \(drift.stderr)")
        #expect(drift.stdout.contains("versioning: Suspended → Enabled"), "\(drift.stdout)")
        #expect(drift.stdout.contains("lifecycle.expireDays: 90 → 30"), "\(drift.stdout)")
        #expect(drift.stdout.contains("tags changed: tags.team"), "\(drift.stdout)")
        let repair = try await scenario.berth(["apply"] + flags)
        #expect(repair.status == 0, "stdout: \(repair.stdout)\nstderr: \(repair.stderr)")
        #expect(try await client.versioning(name) == .enabled)
        #expect(try await client.tags(name)["team"] == "maps")
        #expect(try await client.lifecycle(name).first?.expirationDays == 30)
        #expect(try await scenario.berth(["plan", "--detailed-exitcode"] + flags).status == 0)
        await Self.removeBuckets(of: scenario)
    }

    /// Polls `condition` every 200 ms until it holds; fails the test with `what` after `seconds`.
    static func eventually(_ scenario: Scenario, _ seconds: Double, _ what: String, _ condition: () async throws -> Bool) async throws {
        if try await poll(seconds, condition) { return }
        // Other tests' engine events fill the log with their warnings: show what concerns buckets.
        let relevant = scenario.serveLog.split(separator: "\n").filter { $0.localizedCaseInsensitiveContains("bucket") || $0.contains("error") }
        Issue.record("timed out after \(seconds)s waiting until \(what)\nserve log (bucket lines and errors):\n\(relevant.suffix(40).joined(separator: "\n"))")
        throw BerthProcess.SetupError("timed out waiting until \(what)")
    }

    @Test func serveCreatesTheBucketAndUndoesDriftAtItsResync() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        let client = try Self.client()
        let name = "\(scenario.project)-media"
        scenario.extraEnvironment = try TestServices.objectStorageEnvironment()
        try scenario.write(Self.bucketYAML(scenario, "media", spec: "versioning: true\ntags: {team: maps}"))

        // when
        try scenario.startServe(resync: "1s")

        // then
        try await Self.eventually(scenario, 60, "\(name) exists with versioning on") { try await client.versioning(name) == .enabled }
        try await scenario.eventually(30, "the bucket's status is Ready") { try await scenario.statuses()["Bucket/media"]?["phase"] as? String == "Ready" }

        // when someone suspends versioning and drops a tag by hand (Berth's own tags stay: without
        // them the bucket would no longer be Berth's)
        try await client.setVersioning(name, enabled: false)
        try await client.setTags(name, try await client.tags(name).filter { $0.key != "team" })

        // then a resync puts both back
        try await Self.eventually(scenario, 60, "versioning and tags of \(name) are restored") {
            let tags = try await client.tags(name)
            return try await client.versioning(name) == .enabled && tags["team"] == "maps" && tags["berth.managed"] == "true"
        }
        await scenario.stopServe()
        await Self.removeBuckets(of: scenario)
    }

    @Test func neverDeletesABucketItDidNotCreateOrOneThatIsNotEmpty() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        let client = try Self.client()
        scenario.extraEnvironment = try TestServices.objectStorageEnvironment()
        let foreign = "\(scenario.project)-foreign", full = "\(scenario.project)-full"
        // given: a bucket made outside Berth, declared with reclaim policy Delete, and one Berth makes
        try await client.createBucket(foreign)
        try await client.setTags(foreign, ["owner": "ops"])
        try scenario.write(
            Self.bucketYAML(scenario, "foreign", spec: "bucketName: \(foreign)\nreclaimPolicy: Delete\ntags: {team: maps}")
                + Self.bucketYAML(scenario, "full", spec: "reclaimPolicy: Delete")
        )
        let apply = try await scenario.berth("apply", "-f", scenario.manifests.path)
        #expect(apply.status == 0, "stdout: \(apply.stdout)\nstderr: \(apply.stderr)")
        #expect(apply.stdout.contains("bucket \(foreign) exists and Berth did not create it"), "\(apply.stdout)")
        #expect(try await client.tags(foreign) == ["owner": "ops", "team": "maps"])
        try await client.putObject(full, key: "keep/me.txt", body: Array("data".utf8))

        // when both documents are removed
        try scenario.write("")
        let removal = try await scenario.berth("apply", "-f", scenario.manifests.path)

        // then neither bucket is deleted, and the non-empty one says why
        #expect(removal.status == 0, "stdout: \(removal.stdout)\nstderr: \(removal.stderr)")
        #expect(removal.stdout.contains("bucket \(full) is orphaned with reclaim policy Delete but is not empty"), "\(removal.stdout)")
        #expect(try await client.bucketExists(foreign))
        #expect(try await client.bucketExists(full))

        // when the bucket Berth made is emptied, the next apply deletes it (and still not the other)
        try await client.deleteAllObjects(full)
        let emptied = try await scenario.berth("apply", "-f", scenario.manifests.path)
        #expect(emptied.status == 0, "stdout: \(emptied.stdout)\nstderr: \(emptied.stderr)")
        #expect(emptied.stdout.contains("- delete bucket \(full)"), "\(emptied.stdout)")
        #expect(try await client.bucketExists(full) == false)
        #expect(try await client.bucketExists(foreign))
        await Self.removeBuckets(of: scenario)
    }

    @Test func withoutAnEndpointBucketsFailClearlyAndTheRestConverges() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given: no S3 settings at all
        try scenario.write(Self.bucketYAML(scenario, "media", spec: "versioning: true") + serviceYAML(scenario, "app"))

        // when
        let apply = try await scenario.berth("apply", "-f", scenario.manifests.path)

        // then
        #expect(apply.status == 1, "stdout: \(apply.stdout)\nstderr: \(apply.stderr)")
        #expect(apply.stderr.contains("error: Bucket \(scenario.project)/media: no S3 endpoint is configured"), "\(apply.stderr)")
        #expect(await scenario.inspect(scenario.container("app"), "{{.State.Status}}") == "running")
        let statuses = try await scenario.statuses()
        #expect(statuses["Service/app"]?["phase"] as? String == "Ready")
        let bucket = try #require(statuses["Bucket/media"])
        #expect(bucket["phase"] as? String == "Failed")
        let conditions = bucket["conditions"] as? [[String: Any]] ?? []
        let ready = conditions.first { $0["type"] as? String == "Ready" }
        #expect(ready?["reason"] as? String == "ObjectStorageUnavailable")
        #expect((ready?["message"] as? String)?.contains("--s3-endpoint") == true)
        let status = try await scenario.berth("status", "--project", scenario.project)
        #expect(status.stdout.contains("Bucket \(scenario.project)/media: ObjectStorageUnavailable: no S3 endpoint is configured"), "\(status.stdout)")
    }

    @Test func temporaryCredentialsWorkWithTheirSessionToken() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        let name = "\(scenario.project)-temp"
        // given: an assumed role's key, secret and session token in the environment
        var environment = try TestServices.objectStorageEnvironment()
        environment["AWS_ACCESS_KEY_ID"] = try TestServices.value("BERTH_TEST_S3_SESSION_ACCESS_KEY")
        environment["AWS_SECRET_ACCESS_KEY"] = try TestServices.value("BERTH_TEST_S3_SESSION_SECRET_KEY")
        environment["AWS_SESSION_TOKEN"] = try TestServices.value("BERTH_TEST_S3_SESSION_TOKEN")
        scenario.extraEnvironment = environment
        try scenario.write(Self.bucketYAML(scenario, "temp", spec: "versioning: true"))

        // when
        let applied = try await scenario.berth(["apply", "-f", scenario.manifests.path])
        environment["AWS_SESSION_TOKEN"] = "not-the-token"
        scenario.extraEnvironment = environment
        let refused = try await scenario.berth(["apply", "-f", scenario.manifests.path])

        // then
        #expect(applied.status == 0, "stdout: \(applied.stdout)\nstderr: \(applied.stderr)")
        #expect(try await Self.client().versioning(name) == .enabled)
        #expect(refused.status != 0, "stdout: \(refused.stdout)\nstderr: \(refused.stderr)")
        #expect((refused.stdout + refused.stderr).contains("InvalidToken"), "stdout: \(refused.stdout)\nstderr: \(refused.stderr)")
        #expect(!(refused.stdout + refused.stderr).contains("not-the-token"))
        await Self.removeBuckets(of: scenario)
    }

    @Test func planWithDetailedExitcodeExitsOneWhenTheBucketsCannotBeRead() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given: the endpoint with a wrong secret key (moto checks signatures)
        var environment = try TestServices.objectStorageEnvironment()
        environment["AWS_SECRET_ACCESS_KEY"] = "not-the-secret"
        scenario.extraEnvironment = environment
        try scenario.write(Self.bucketYAML(scenario, "media", spec: "versioning: true"))

        // when
        let plain = try await scenario.berth("plan", "-f", scenario.manifests.path)
        let detailed = try await scenario.berth("plan", "-f", scenario.manifests.path, "--detailed-exitcode")
        let json = try await scenario.berth("plan", "-f", scenario.manifests.path, "--json")

        // then: a plain plan still prints (with the warning); a script asking for the exit code is told
        #expect(plain.status == 0, "stdout: \(plain.stdout)\nstderr: \(plain.stderr)")
        #expect(detailed.status == 1, "stdout: \(detailed.stdout)\nstderr: \(detailed.stderr)")
        #expect(detailed.stderr.contains("the plan is incomplete: cannot read the buckets"), "\(detailed.stderr)")
        #expect(detailed.stderr.contains("SignatureDoesNotMatch") || detailed.stderr.contains("InvalidAccessKeyId"), "\(detailed.stderr)")
        #expect(!(detailed.stdout + detailed.stderr).contains("not-the-secret"))
        let answer = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect((answer?["unreadable"] as? [String])?.first?.hasPrefix("cannot read the buckets") == true, "\(json.stdout)")

        // and: an endpoint nothing listens on
        let unreachable = try await scenario.berth("plan", "-f", scenario.manifests.path, "--detailed-exitcode", "--s3-endpoint", "http://127.0.0.1:9")
        #expect(unreachable.status == 1, "stdout: \(unreachable.stdout)\nstderr: \(unreachable.stderr)")
        #expect(unreachable.stderr.contains("the plan is incomplete: cannot read the buckets"), "\(unreachable.stderr)")
    }

    @Test func anEndpointWithoutCredentialsFailsAtOnceNamingWhatIsMissing() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        try scenario.write(Self.bucketYAML(scenario, "media", spec: "versioning: true"))

        let result = try await BerthProcess.run(
            ["plan", "-f", scenario.manifests.path, "--s3-endpoint", "http://127.0.0.1:9"],
            environment: scenario.environment.merging(["AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SHARED_CREDENTIALS_FILE": "", "HOME": scenario.folder.path]) { _, new in new }
        )

        #expect(result.status == 1)
        #expect(result.stderr.contains("the S3 endpoint http://127.0.0.1:9 is set but no credentials are"), "\(result.stderr)")
    }
}
