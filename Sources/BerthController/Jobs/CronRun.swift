import BerthCore
import BerthStore
import Foundation

/// Starts a CronJob's run now (`berth cron run`, `POST /v1/cronjobs/{project}/{name}/run`),
/// keeping to its concurrency policy (``CronPlanner/runNow(_:cron:activeJobs:newestJob:)``).
/// The job is the CronJob's like a scheduled run (its owner, its history limits), without a
/// scheduled time: the schedule goes on as it stands.
public enum CronRun {
    /// What the request came to.
    public enum Outcome: Sendable {
        /// The job started (`created` false: when two requests raced, the one the other
        /// started), and the ids of the active jobs cancelled to make way (policy Replace).
        case started(JobRecord, created: Bool, cancelled: [String])
        /// Refused (policy Forbid while a run is active): why.
        case refused(String)
    }

    public static func start(_ id: ResourceID, _ spec: CronJobSpec, labels: [String: String] = [:], store: any JobQueue & EventLog, now: Date) async throws(StoreError) -> Outcome {
        let history = try await CronHistory.read(id, from: store)
        let active = history.active
        switch CronPlanner.runNow(spec, cron: id.name, activeJobs: active.count, newestJob: history.lastRun?.id) {
        case .refuse(let message):
            try await store.appendEvent(EventRecord(resource: id, project: id.project, reason: "RunRefused", message: message, time: now))
            return .refused(message)
        case .start(let key, let replaceActive):
            var cancelled: [String] = []
            if replaceActive {
                for job in active {
                    try await store.requestCancel(job.id, now: now)
                    cancelled.append(job.id)
                }
            }
            let submission = JobSubmission(project: id.project, name: id.name, spec: spec.jobTemplate, idempotencyKey: key, owner: id, labels: labels)
            let (job, created) = try await store.submitJob(submission, now: now)
            if created {
                let replaced = cancelled.isEmpty ? "" : " (cancelled \(cancelled.joined(separator: ", ")): concurrencyPolicy Replace)"
                try await store.appendEvent(EventRecord(resource: id, project: id.project, reason: "RunNow", message: "started job \(job.id) on request\(replaced)", time: now))
            }
            return .started(job, created: created, cancelled: cancelled)
        }
    }
}
