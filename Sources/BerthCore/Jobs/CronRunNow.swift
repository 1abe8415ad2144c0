/// What a request to run a CronJob now (`berth cron run`) does, decided by
/// ``CronPlanner/runNow(_:cron:activeJobs:newestJob:)``.
public enum CronRunNowDecision: Sendable, Hashable {
    /// Submit the CronJob's job now under `idempotencyKey` (nil: none), after cancelling its
    /// active jobs when `replaceActive`.
    case start(idempotencyKey: String?, replaceActive: Bool)
    /// Nothing is submitted; the sentence says why, for the person who asked.
    case refuse(String)
}

extension CronPlanner {
    /// A run now keeps to the concurrency policy as a scheduled run does: Forbid refuses while a
    /// job of the CronJob is active, Replace cancels the active ones first, Allow starts another.
    /// Under Forbid and Replace the job's key names the newest job the caller saw (`newestJob`,
    /// nil for none), so two requests that both saw it idle start one job, not two. A run now
    /// ignores `suspend` and leaves the schedule as it stands.
    public static func runNow(_ spec: CronJobSpec, cron: String, activeJobs: Int, newestJob: String?) -> CronRunNowDecision {
        let guarded = runNowPrefix + cron + ":after:" + (newestJob ?? "none")
        switch spec.concurrencyPolicy {
        case .forbid where activeJobs > 0:
            let jobs = activeJobs == 1 ? "1 job of it is" : "\(activeJobs) jobs of it are"
            return .refuse(
                "cron job \(cron) not started: \(jobs) still active and its concurrencyPolicy is Forbid; "
                    + "wait for it to end, or cancel it with berth jobs cancel")
        case .forbid, .replace: return .start(idempotencyKey: guarded, replaceActive: activeJobs > 0)
        case .allow: return .start(idempotencyKey: nil, replaceActive: false)
        }
    }

    private static let runNowPrefix = "run:"
}
