import BerthCore
import BerthStore
import Foundation
import Testing

@testable import BerthAPI

/// The job routes write their answers with ``JSONWriter`` from the records the store returns;
/// `berth` and other clients read them as ``JobView``. Each answer must be byte for byte what
/// the API's JSON encoder makes of the ``JobView`` (the schema, and what the OpenAPI test checks).
@Suite("Job answers written without the encoder")
struct JobAnswerTests {
    /// Text that JSON escapes in every way: quotes, backslashes, control characters, `/`, and
    /// characters beyond ASCII.
    static let awkward = "a \"quoted\" \\ back/slash\u{1}\u{8}\u{c}\n\r\t\u{1f} é ü 日本 🚀 \u{7f}"

    static func spec(_ command: String, env: [String: String] = [:]) throws -> JobSpec {
        let document: [String: Any] = [
            "apiVersion": "berth/v1", "kind": "Job", "metadata": ["name": "answer", "project": "alpha"],
            "spec": [
                "image": "localhost/berth-busybox:latest", "command": ["sh", "-c", command], "env": env,
                "activeDeadline": "90m", "backoffLimit": 2, "priority": 7,
            ],
        ]
        let json = String(decoding: try JSONSerialization.data(withJSONObject: document), as: UTF8.self)
        guard case .job(let spec) = try Resource(json: json).spec else { throw SetupError("not a job") }
        return spec
    }

    static func expectSameAsEncoder(_ job: JobRecord, events: [EventRecord]?) throws {
        var writer = JSONWriter()
        try writer.job(job, events: events)
        let written = String(decoding: writer.bytes, as: UTF8.self)
        let encoded = String(decoding: try JSONAnswer.encoder.encode(JobView(job, events: events)), as: UTF8.self)
        #expect(written == encoded)
        // and clients read it back as the same view, literal env values hidden
        let read = try APIJSON.decoder().decode(JobView.self, from: Data(writer.bytes))
        #expect(read.id == job.id && read.spec == job.spec.hidingLiteralEnv() && read.events?.count == events?.count)
        #expect(read.spec.container.env.values.allSatisfy { if case .literal(let text) = $0 { text == "(hidden)" } else { true } })
    }

    @Test func everyStateAndFieldIsWrittenAsTheEncoderWritesIt() async throws {
        let directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("berth-answer-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try await SQLiteStore.open(.init(path: directory.appendingPathComponent("berth.db").path))
        // given: times with fractions of a second, before and after a leap day
        let start = Date(timeIntervalSince1970: 1_709_164_799.987) // 2024-02-28T23:59:59.987Z
        let plain = try await store.submitJob(
            JobSubmission(project: "alpha", name: "plain", spec: try Self.spec("true")), now: start
        ).job
        let owned = try await store.submitJob(
            JobSubmission(
                project: "alpha", name: "owned", spec: try Self.spec(Self.awkward, env: ["GREETING": Self.awkward, "EMPTY": ""]),
                priority: -3, idempotencyKey: "key/\(Self.awkward)", owner: ResourceID(kind: .cronJob, project: "alpha", name: "nightly"),
                labels: ["team": "geo", "B": "upper", "a10": "", "a9": Self.awkward, Self.awkward: "key", "é": "accent"]
            ),
            now: start.addingTimeInterval(1)
        ).job
        let feedbackJSON = try await store.submitJob(JobSubmission(project: "alpha", name: "feedback", spec: try Self.spec("exit 3")), now: start.addingTimeInterval(2)).job
        let feedbackText = try await store.submitJob(JobSubmission(project: "alpha", name: "text", spec: try Self.spec("exit 0")), now: start.addingTimeInterval(3)).job
        let claimed = try await store.claimJobs(controller: "c/1", engine: "engine-1", node: nil, limit: 10, projectLimits: [:], lease: .minutes(5))
        #expect(claimed.count == 4)
        let later = start.addingTimeInterval(86_401.25)
        for job in [owned, feedbackJSON, feedbackText] {
            _ = try await store.transitionJob(job.id, from: .queued, to: .started, claim: JobClaim(controller: "c/1", fence: 1), update: JobUpdate(containerID: "c\(job.name)"), now: later)
        }
        _ = try await store.transitionJob(
            feedbackJSON.id, from: .started, to: .failed, claim: JobClaim(controller: "c/1", fence: 1),
            update: JobUpdate(exitCode: 3, reason: "Error", stdoutTail: Self.awkward, stderrTail: "", feedback: #"{"z": [1, 2.5, -0.125, 1e3, "x/y", true, null], "a": {"é": "\u0001"}}"#),
            now: later.addingTimeInterval(0.999)
        )
        _ = try await store.transitionJob(
            feedbackText.id, from: .started, to: .finished, claim: JobClaim(controller: "c/1", fence: 1),
            update: JobUpdate(exitCode: 0, reason: "Completed", stdoutTail: "ok\n", feedback: "not json: \(Self.awkward)"),
            now: later.addingTimeInterval(2)
        )
        _ = try await store.requestCancel(owned.id, now: later.addingTimeInterval(3))
        _ = try await store.appendEvent(
            EventRecord(
                resource: owned.owner, jobID: owned.id, project: "alpha", type: .warning, reason: "Progress", message: Self.awkward, time: later.addingTimeInterval(4)
            ))

        // when / then: each job, alone and with its events, and a page of all of them
        for id in [plain.id, owned.id, feedbackJSON.id, feedbackText.id] {
            let job = try #require(try await store.job(id))
            let events = try await store.events(EventQuery(jobID: id, limit: 1000))
            #expect(!events.isEmpty)
            try Self.expectSameAsEncoder(job, events: nil)
            try Self.expectSameAsEncoder(job, events: events)
        }
        let page = try await store.jobs(filter: JobFilter(), page: PageRequest(limit: 3))
        #expect(page.nextCursor != nil)
        var writer = JSONWriter()
        try writer.jobs(page)
        let encoded = try JSONAnswer.encoder.encode(ItemsView(items: page.items.map { JobView($0) }, next: page.nextCursor))
        #expect(String(decoding: writer.bytes, as: UTF8.self) == String(decoding: encoded, as: UTF8.self))
        await store.close()
    }

    @Test func deliveriesAndArchivedOutputAreWrittenAsTheEncoderWritesThem() async throws {
        let directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("berth-answer-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try await SQLiteStore.open(.init(path: directory.appendingPathComponent("berth.db").path))
        // given: a job with a webhook, cancelled (its delivery recorded), with an archive
        var spec = try Self.spec("true", env: ["TOKEN": Self.awkward])
        spec.notify = JobNotifySpec(url: "https://app.example.com/h?a=1&b=%20", secretFile: "/k")
        spec.logArchive = LogArchiveSpec(bucket: "logs", prefix: "runs/")
        let job = try await store.submitJob(JobSubmission(project: "alpha", name: "hooked", spec: spec), now: Date(timeIntervalSince1970: 1_709_164_799.987)).job
        let cancelled = try await store.requestCancel(job.id, now: Date(timeIntervalSince1970: 1_709_164_800.5))
        try await store.recordDeliveryAttempt(
            "\(job.id)-cancelled", DeliveryAttempt(outcome: .pending, status: 502, error: Self.awkward, nextAttemptAt: Date(timeIntervalSince1970: 1_709_164_805.25)),
            now: Date(timeIntervalSince1970: 1_709_164_801))
        try await store.recordLogArchive(
            JobLogArchive(
                jobID: job.id, attempt: 1, bucket: "logs", stdoutKey: "runs/\(job.id)/1/stdout.gz", stderrKey: "runs/\(job.id)/1/stderr.gz", stdoutBytes: 10_088_896, stderrBytes: 0,
                archivedAt: Date(timeIntervalSince1970: 1_709_164_800.001)))
        let deliveries = try await store.deliveries(jobID: job.id), archives = try await store.logArchives(jobID: job.id)
        #expect(deliveries.count == 1 && archives.count == 1)

        // when
        var writer = JSONWriter()
        try writer.job(cancelled, events: [], deliveries: deliveries, logArchives: archives)

        // then: the same bytes as the encoder's, read back as the same records
        let encoded = try JSONAnswer.encoder.encode(JobView(cancelled, events: [], deliveries: deliveries, logArchives: archives))
        #expect(String(decoding: writer.bytes, as: UTF8.self) == String(decoding: encoded, as: UTF8.self))
        let read = try APIJSON.decoder().decode(JobView.self, from: Data(writer.bytes))
        #expect(read.deliveries?.map(\.id) == deliveries.map(\.id) && read.deliveries?.first?.lastError == Self.awkward)
        #expect(read.logArchives?.map(\.stdoutKey) == archives.map(\.stdoutKey))
        // and the webhook's body is the answer without events, secrets hidden
        let body = String(decoding: try JobAnswer.bytes(cancelled), as: UTF8.self)
        #expect(body == String(decoding: try JSONAnswer.encoder.encode(JobView(cancelled)), as: UTF8.self))
        #expect(!body.contains("quoted"), "literal env values are hidden: \(body)")
        await store.close()
    }

    @Test(arguments: [0.0, 0.4, 0.5, 0.999, 951_782_400.5, 4_107_542_399.999, 1_790_000_000])
    func datesAreWrittenAsTheEncoderWritesThem(seconds: Double) throws {
        struct Wrapped: Encodable { var time: Date }
        let date = Date(timeIntervalSince1970: seconds)
        var writer = JSONWriter()
        writer.beginObject()
        writer.key("time")
        writer.date(date)
        writer.endObject()
        #expect(String(decoding: writer.bytes, as: UTF8.self) == String(decoding: try JSONAnswer.encoder.encode(Wrapped(time: date)), as: UTF8.self))
    }
}
