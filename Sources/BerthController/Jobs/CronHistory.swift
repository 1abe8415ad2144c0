import BerthCore
import BerthStore
import Foundation

/// A CronJob's jobs as the store holds them (its runs: the history limits keep few ended ones),
/// and what they tell: the newest scheduled time accounted for, the last run, the active ones.
public struct CronHistory: Sendable {
    /// Newest first.
    public var jobs: [JobRecord]

    /// The most runs read; the history limits and the policies keep far fewer.
    static let readLimit = 200

    public static func read(_ id: ResourceID, from store: any JobQueue) async throws(StoreError) -> CronHistory {
        let filter = JobFilter(project: id.project, owner: id)
        return CronHistory(jobs: try await store.jobs(filter: filter, page: PageRequest(limit: readLimit, order: .newestFirst)).items)
    }

    /// The scheduled time of the newest run the schedule submitted (runs started now carry none).
    public var lastScheduled: Date? {
        jobs.lazy.compactMap { $0.idempotencyKey.flatMap(CronPlanner.scheduledTime(fromIdempotencyKey:)) }.first
    }

    /// The newest run, scheduled or started now.
    public var lastRun: JobRecord? { jobs.first }

    /// Runs pending, queued or started.
    public var active: [JobRecord] { jobs.filter { !$0.state.isTerminal } }
}
