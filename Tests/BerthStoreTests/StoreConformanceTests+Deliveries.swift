import BerthCore
import Foundation
import Testing

@testable import BerthStore

/// Completion webhooks and archived output on both stores (issue 20): a delivery is recorded by
/// the transition that ends a job, held while one controller sends it, and goes with its job.
extension StoreConformanceTests {
    private func notifiedSubmission(events: [JobNotifySpec.Event]) throws -> JobSubmission {
        var spec = try jobSpec("true")
        spec.notify = JobNotifySpec(url: "http://127.0.0.1:9/hook", secretFile: "/etc/berth/hook.key", events: events)
        return JobSubmission(project: "qfield", name: "notified", spec: spec)
    }

    @Test(arguments: StoreKind.allCases)
    func endingAJobRecordsItsDeliveryOnlyForTheEventsItAsksFor(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            // given: two jobs with a webhook on failed and cancelled, one without
            let failing = try await store.submitJob(try notifiedSubmission(events: [.failed, .cancelled]), now: at(0)).job
            let finishing = try await store.submitJob(try notifiedSubmission(events: [.failed, .cancelled]), now: at(1)).job
            let plain = try await store.submitJob(try submission(), now: at(2)).job
            let cancelled = try await store.submitJob(try notifiedSubmission(events: [.cancelled]), now: at(3)).job
            let claimed = try await store.claimJobs(controller: "c1", engine: "e1", node: nil, limit: 3, projectLimits: [:], lease: .seconds(30))
            let claims = Dictionary(uniqueKeysWithValues: claimed.map { ($0.id, $0.claim) })
            let now = Date()
            // when
            try await store.transitionJob(failing.id, from: .queued, to: .failed, claim: claims[failing.id] ?? nil, update: JobUpdate(reason: "Error"), now: now)
            try await store.transitionJob(finishing.id, from: .queued, to: .started, claim: claims[finishing.id] ?? nil, update: JobUpdate(), now: now)
            try await store.transitionJob(finishing.id, from: .started, to: .finished, claim: claims[finishing.id] ?? nil, update: JobUpdate(), now: now)
            try await store.transitionJob(plain.id, from: .queued, to: .failed, claim: claims[plain.id] ?? nil, update: JobUpdate(), now: now)
            try await store.requestCancel(cancelled.id, now: now)
            // then
            let recorded = try await store.deliveries(jobID: failing.id)
            #expect(recorded.count == 1)
            #expect(recorded.first?.id == "\(failing.id)-failed" && recorded.first?.event == .failed && recorded.first?.outcome == .pending)
            #expect(recorded.first?.attempts == 0 && recorded.first?.url == "http://127.0.0.1:9/hook" && recorded.first?.project == "qfield")
            #expect(try await store.deliveries(jobID: finishing.id).isEmpty)
            #expect(try await store.deliveries(jobID: plain.id).isEmpty)
            #expect(try await store.deliveries(jobID: cancelled.id).map(\.id) == ["\(cancelled.id)-cancelled"])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aClaimedDeliveryIsHeldUntilItsAttemptIsRecordedAndRetriedWhenDue(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            // given: one delivery due
            let job = try await store.submitJob(try notifiedSubmission(events: [.cancelled]), now: at(0)).job
            try await store.requestCancel(job.id, now: Date().addingTimeInterval(-1))
            #expect(try await store.nextDeliveryDue() != nil)
            // when: claimed, then claimed again while held
            let first = try await store.claimDueDeliveries(limit: 10, hold: .seconds(60))
            let held = try await store.claimDueDeliveries(limit: 10, hold: .seconds(60))
            // then
            #expect(first.map(\.id) == ["\(job.id)-cancelled"])
            #expect(held.isEmpty)
            // when: the attempt failed and the retry is due at once
            let retried = try await store.recordDeliveryAttempt(
                first[0].id, DeliveryAttempt(outcome: .pending, status: 500, error: "HTTP 500", nextAttemptAt: Date().addingTimeInterval(-1)), now: Date())
            let again = try await store.claimDueDeliveries(limit: 10, hold: .seconds(60))
            // then: one attempt recorded, and taken again
            #expect(retried.attempts == 1 && retried.lastStatus == 500 && retried.lastError == "HTTP 500" && retried.outcome == .pending)
            #expect(again.map(\.id) == [first[0].id])
            // when: delivered
            let delivered = try await store.recordDeliveryAttempt(first[0].id, DeliveryAttempt(outcome: .delivered, status: 204), now: Date())
            let late = try await store.recordDeliveryAttempt(first[0].id, DeliveryAttempt(outcome: .failed, error: "late"), now: Date())
            // then: done, and a late record of another controller changes nothing
            #expect(delivered.outcome == .delivered && delivered.attempts == 2 && delivered.lastStatus == 204 && delivered.deliveredAt != nil)
            #expect(delivered.nextAttemptAt == nil && delivered.lastError == nil)
            #expect(late == delivered)
            #expect(try await store.nextDeliveryDue() == nil)
            #expect(try await store.claimDueDeliveries(limit: 10, hold: .seconds(60)).isEmpty)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func logArchivesAreRecordedPerAttemptAndGoWithTheirJob(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            // given
            let job = try await store.submitJob(try notifiedSubmission(events: [.cancelled]), now: at(0)).job
            func archive(_ attempt: Int, bytes: Int) -> JobLogArchive {
                JobLogArchive(
                    jobID: job.id, attempt: attempt, bucket: "logs", stdoutKey: "runs/\(job.id)/\(attempt)/stdout.gz", stderrKey: "runs/\(job.id)/\(attempt)/stderr.gz",
                    stdoutBytes: bytes, stderrBytes: 3, archivedAt: at(Double(attempt)))
            }
            // when: attempt 1 archived twice (a resumed execution), attempt 2 once
            try await store.recordLogArchive(archive(1, bytes: 10))
            try await store.recordLogArchive(archive(1, bytes: 11))
            try await store.recordLogArchive(archive(2, bytes: 20))
            // then
            let archives = try await store.logArchives(jobID: job.id)
            #expect(archives == [archive(1, bytes: 11), archive(2, bytes: 20)])
            #expect(archives.archive(attempt: nil)?.attempt == 2 && archives.archive(attempt: 1)?.stdoutBytes == 11 && archives.archive(attempt: 3) == nil)
            // when: the ended job is pruned
            try await store.requestCancel(job.id, now: at(5))
            #expect(try await store.deliveries(jobID: job.id).count == 1)
            let pruned = try await store.pruneJobs(finishedBefore: at(100), keepPerProject: 0)
            // then: its deliveries and archives went with it
            #expect(pruned == 1)
            #expect(try await store.deliveries(jobID: job.id).isEmpty)
            #expect(try await store.logArchives(jobID: job.id).isEmpty)
        }
    }
}
