import BerthCore
import BerthStore
import Foundation

/// Where a CronJob stands, for `berth status` and `GET /v1/status`: its schedule, the newest
/// scheduled time accounted for, its last run and when it fires next.
public struct CronJobStatus: Codable, Sendable, Hashable {
    /// The last run, scheduled or started now.
    public struct LastRun: Codable, Sendable, Hashable {
        public var jobID: String
        public var state: JobState
        /// The job's reason (`Completed`, `Error`, …) once it has one.
        public var reason: String?
        public var exitCode: Int?
        public var submittedAt: Date
        public var finishedAt: Date?
    }

    public var cronJob: ResourceID
    public var schedule: String
    public var timeZone: String
    public var concurrencyPolicy: CronJobSpec.ConcurrencyPolicy
    public var suspend: Bool
    /// The scheduled time of the newest run the schedule submitted; nil before the first.
    public var lastScheduleTime: Date?
    public var lastRun: LastRun?
    /// When the schedule fires next (while suspended: once resumed); nil when it never fires again.
    public var nextFireTime: Date?
    /// Its jobs pending, queued or started.
    public var activeJobs: Int

    /// The status of each of `cronJobs` (``DesiredStateSource/cronJobs(project:)``), from their jobs in `store`.
    public static func read(_ cronJobs: [Resource], store: any JobQueue, now: Date) async throws(StoreError) -> [CronJobStatus] {
        var statuses: [CronJobStatus] = []
        for resource in cronJobs {
            guard case .cronJob(let spec) = resource.spec else { continue }
            let id = resource.id
            let history = try await CronHistory.read(id, from: store)
            let lastScheduled = history.lastScheduled
            // The planner's own view of the next fire time; `firstSeen` only counts before a first run.
            let next = CronPlanner.decide(spec, lastScheduled: lastScheduled, firstSeen: now, activeJobs: 0, now: now).next
            statuses.append(
                CronJobStatus(
                    cronJob: id, schedule: spec.schedule.description, timeZone: spec.timeZone.description,
                    concurrencyPolicy: spec.concurrencyPolicy, suspend: spec.suspend, lastScheduleTime: lastScheduled,
                    lastRun: history.lastRun.map {
                        LastRun(jobID: $0.id, state: $0.state, reason: $0.reason, exitCode: $0.exitCode, submittedAt: $0.submittedAt, finishedAt: $0.finishedAt)
                    },
                    nextFireTime: next, activeJobs: history.active.count
                ))
        }
        return statuses.sorted { $0.cronJob < $1.cronJob }
    }
}

extension DesiredStateSource {
    /// The CronJobs the manifests (or the git revision) and the store's API resources declare, in
    /// `project` or in all; throws when the manifests do not validate or the store cannot be read.
    public func cronJobs(project: String?) async throws -> [Resource] {
        var found = try manifestResources().filter { $0.kind == .cronJob && (project == nil || $0.metadata.project == project) }
        if let store {
            found += try await store.resources(kind: .cronJob, project: project, includeDeleted: false).map(\.resource)
        }
        return found
    }

    /// The CronJob `id`, or nil when nothing declares it.
    public func cronJob(_ id: ResourceID) async throws -> Resource? {
        try await cronJobs(project: id.project).first { $0.id == id }
    }
}
