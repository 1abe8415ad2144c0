import BerthCore
import Foundation
import Testing

/// Issue 20's pure parts: a Job's concurrency key fields, label filters, and what a CronJob's
/// run now does under each concurrency policy.
@Suite("Job queue fields")
struct JobQueueFieldTests {
    static func issues(_ json: String) -> [String] {
        do {
            _ = try JobSpec(json: json)
            return []
        } catch {
            return error.issues.map { "\($0.path): \($0.message)" }
        }
    }

    @Test func concurrencyKeyFieldsRoundTripAndAreEncodedOnlyWhenSet() throws {
        let spec = try JobSpec(json: #"{"image": "localhost/app:1", "concurrencyKey": "project-42", "maxConcurrentPerKey": 3}"#)
        #expect(spec.concurrencyKey == "project-42" && spec.maxConcurrentPerKey == 3 && spec.keyLimit == 3)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let stored = String(decoding: try encoder.encode(spec), as: UTF8.self)
        #expect(try JobSpec(json: stored) == spec)
        let plain = try JobSpec(json: #"{"image": "localhost/app:1"}"#)
        #expect(plain.concurrencyKey == nil && plain.keyLimit == 1)
        let plainText = String(decoding: try encoder.encode(plain), as: UTF8.self)
        #expect(!plainText.contains("concurrencyKey") && !plainText.contains("maxConcurrentPerKey"))
        // alone, the key's limit is 1
        #expect(try JobSpec(json: #"{"image": "localhost/app:1", "concurrencyKey": "k"}"#).keyLimit == 1)
    }

    @Test(arguments: [
        (#""concurrencyKey": """#, "spec.concurrencyKey: a concurrency key has 1 to 200 characters, found 0"),
        (#""concurrencyKey": "\#(String(repeating: "k", count: 201))""#, "spec.concurrencyKey: a concurrency key has 1 to 200 characters, found 201"),
        (#""concurrencyKey": "k", "maxConcurrentPerKey": 0"#, "spec.maxConcurrentPerKey:"),
        (#""concurrencyKey": "k", "maxConcurrentPerKey": 1001"#, "spec.maxConcurrentPerKey:"),
        (#""maxConcurrentPerKey": 2"#, "spec.maxConcurrentPerKey: maxConcurrentPerKey limits the jobs of a concurrencyKey; set concurrencyKey too"),
    ])
    func badKeyFieldsAreRefusedWithTheirPath(fields: String, expected: String) {
        let found = Self.issues(#"{"image": "localhost/app:1", "# + fields + "}")
        #expect(found.contains { $0.hasPrefix(expected) }, "\(found)")
    }

    @Test func labelFiltersSplitAtTheFirstEqualsSign() throws {
        #expect(try LabelSelector(parsing: "type=apply-deltas") == LabelSelector(key: "type", value: "apply-deltas"))
        #expect(try LabelSelector(parsing: "expr=a=b") == LabelSelector(key: "expr", value: "a=b"))
        #expect(try LabelSelector(parsing: "empty=") == LabelSelector(key: "empty", value: ""))
        #expect(throws: ValidationError.self) { try LabelSelector(parsing: "novalue") }
        #expect(throws: ValidationError.self) { try LabelSelector(parsing: "=value") }
    }

    static func cron(_ policy: CronJobSpec.ConcurrencyPolicy) throws -> CronJobSpec {
        CronJobSpec(
            schedule: try CronSchedule(parsing: "0 3 * * *"), concurrencyPolicy: policy,
            jobTemplate: JobSpec(container: ContainerSpec(image: try ImageReference(parsing: "busybox")))
        )
    }

    @Test func runNowKeepsToTheConcurrencyPolicy() throws {
        // Forbid: refused while a run is active, else started under a key naming the newest job
        #expect(
            CronPlanner.runNow(try Self.cron(.forbid), cron: "nightly", activeJobs: 1, newestJob: "J1")
                == .refuse(
                    "cron job nightly not started: 1 job of it is still active and its concurrencyPolicy is Forbid; wait for it to end, or cancel it with berth jobs cancel"
                ))
        #expect(CronPlanner.runNow(try Self.cron(.forbid), cron: "nightly", activeJobs: 0, newestJob: "J1") == .start(idempotencyKey: "run:nightly:after:J1", replaceActive: false))
        #expect(CronPlanner.runNow(try Self.cron(.forbid), cron: "nightly", activeJobs: 0, newestJob: nil) == .start(idempotencyKey: "run:nightly:after:none", replaceActive: false))
        // Replace: cancels the active ones first
        #expect(CronPlanner.runNow(try Self.cron(.replace), cron: "nightly", activeJobs: 2, newestJob: "J2") == .start(idempotencyKey: "run:nightly:after:J2", replaceActive: true))
        // Allow: another, every time
        #expect(CronPlanner.runNow(try Self.cron(.allow), cron: "nightly", activeJobs: 3, newestJob: "J3") == .start(idempotencyKey: nil, replaceActive: false))
        // a run now's key is no scheduled time
        #expect(CronPlanner.scheduledTime(fromIdempotencyKey: "run:nightly:after:J1") == nil)
    }
}
