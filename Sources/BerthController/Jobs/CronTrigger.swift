import BerthCore
import BerthStore
import Foundation
import Logging

/// Turns CronJobs into submitted jobs at their times; only the leading controller calls it. Each
/// run is submitted with an idempotency key holding its scheduled time, so a controller that dies
/// after a submit and fires again submits nothing new, and a restarted controller learns from the
/// newest scheduled run's key where the schedule stands. Ended runs beyond the history limits are deleted.
/// The rules (missed runs, deadlines, concurrency
/// policies, suspend) are `CronPlanner`'s.
public actor CronTrigger {
    private let store: any JobQueue & EventLog
    private let logger: Logger
    private var firstSeen: [ResourceID: Date] = [:]
    private var lastScheduled: [ResourceID: Date] = [:]

    public init(store: any JobQueue & EventLog, logger: Logger = Logger(label: "berth.cron")) {
        self.store = store
        self.logger = logger
    }

    /// Fires what is due at `now`; returns when the next schedule is due.
    public func tick(_ desired: DesiredState, now: Date = Date()) async -> Date? {
        var next: Date?
        var declared: Set<ResourceID> = []
        for resource in desired.resources {
            guard case .cronJob(let spec) = resource.spec else { continue }
            declared.insert(resource.id)
            do {
                if let due = try await fire(resource.id, spec, now: now) { next = min(next ?? due, due) }
            } catch {
                logger.error("cron job \(resource.id) not fired: \(error)")
            }
        }
        firstSeen = firstSeen.filter { declared.contains($0.key) }
        lastScheduled = lastScheduled.filter { declared.contains($0.key) }
        return next
    }

    private func fire(_ id: ResourceID, _ spec: CronJobSpec, now: Date) async throws -> Date? {
        let seen = firstSeen[id] ?? now
        firstSeen[id] = seen
        try await store.pruneOwnedJobs(owner: id, keepFinished: spec.successfulJobsHistoryLimit, keepFailed: spec.failedJobsHistoryLimit)
        let owned = JobFilter(project: id.project, owner: id)
        if lastScheduled[id] == nil {
            // The newest scheduled run's: a run started now (`CronRun`) has no scheduled time.
            lastScheduled[id] = try await CronHistory.read(id, from: store).lastScheduled
        }
        var activeFilter = owned
        activeFilter.states = [.pending, .queued, .started]
        let active = try await store.jobs(filter: activeFilter, page: PageRequest(limit: 1000, order: .oldestFirst)).items
        let decision = CronPlanner.decide(spec, lastScheduled: lastScheduled[id], firstSeen: seen, activeJobs: active.count, now: now)
        if let accounted = decision.lastScheduled { lastScheduled[id] = accounted }
        if decision.missed > 0 {
            try await store.appendEvent(EventRecord(resource: id, project: id.project, type: .warning, reason: "MissedSchedule", message: decision.message, time: now))
            logger.warning("\(decision.message)", metadata: ["berth.resource": "\(id)"])
        }
        if decision.skippedBecauseActive {
            try await store.appendEvent(EventRecord(resource: id, project: id.project, reason: "Skipped", message: decision.message, time: now))
            return decision.next
        }
        guard let scheduled = decision.run else { return decision.next }
        if decision.replaceActive {
            for job in active {
                try await store.requestCancel(job.id, now: now)
                logger.info("cancelling job \(job.id) to replace it (concurrencyPolicy Replace)", metadata: ["berth.resource": "\(id)"])
            }
        }
        let submission = JobSubmission(
            project: id.project, name: id.name, spec: spec.jobTemplate,
            idempotencyKey: CronPlanner.idempotencyKey(cron: id.name, scheduled: scheduled), owner: id
        )
        let (job, created) = try await store.submitJob(submission, now: now)
        if created {
            logger.info("submitted job \(job.id) for the run scheduled at \(scheduled.formatted(.iso8601))", metadata: ["berth.resource": "\(id)"])
        }
        return decision.next
    }
}
