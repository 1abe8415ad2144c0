import BerthCore
import Foundation

/// Tunables of the job runner.
public struct JobRunnerConfiguration: Sendable {
    /// This controller's name in claims; stable across restarts, so a restarted controller resumes
    /// its own jobs at once instead of waiting for their leases to run out.
    public var identity: String
    /// Jobs this controller runs at once (`--max-concurrent-jobs`).
    public var maxConcurrentJobs: Int
    /// How long a claim holds without renewal; renewed at a third of it.
    public var lease: TimeSpan
    /// How often the store is read for submits and cancels the controller was not told about
    /// (another process on the embedded store; a lost notification).
    public var pollInterval: Duration
    /// Retries wait this long, doubling per attempt.
    public var retryBackoff: BackoffPolicy
    /// The last bytes of stdout and stderr kept with a finished job.
    public var logTailBytes: Int
    /// The largest `feedback.json` read.
    public var feedbackLimit: Int
    /// Where the job's scratch volume is mounted in its container (`BERTH_SCRATCH_DIR`).
    public var scratchPath: String
    /// The API address given to workers as `BERTH_API_URL`, once the API listens (its port may
    /// be chosen by the kernel).
    public var apiURL: APIAddress?
    /// Finished jobs older than this are pruned, except the newest `keepPerProject` of each project.
    public var retention: TimeSpan
    public var keepPerProject: Int
    /// Events older than this are pruned (`--event-retention`, 30 days)…
    public var eventRetention: TimeSpan
    /// …and the oldest beyond this many (`--event-keep`, 100,000). A pruned job's go with it.
    public var eventsKept: Int
    /// The node this controller is (`--node`, `--node-label`): it claims only jobs whose
    /// `nodeSelector` its labels match, and none while the node is cordoned or draining. `nil`
    /// claims only jobs without a selector.
    public var node: NodeIdentity?

    public init(
        identity: String = ProcessInfo.processInfo.hostName, maxConcurrentJobs: Int = 4, lease: TimeSpan = .seconds(30),
        pollInterval: Duration = .seconds(2), retryBackoff: BackoffPolicy = BackoffPolicy(initial: .seconds(10), maximum: .minutes(10)),
        logTailBytes: Int = 16 * 1024, feedbackLimit: Int = 64 * 1024, scratchPath: String = "/berth/scratch", apiURL: APIAddress? = nil,
        retention: TimeSpan = .days(7), keepPerProject: Int = 100, eventRetention: TimeSpan = .days(30), eventsKept: Int = 100_000,
        node: NodeIdentity? = nil
    ) {
        self.identity = identity
        self.maxConcurrentJobs = max(1, maxConcurrentJobs)
        self.lease = lease
        self.pollInterval = pollInterval
        self.retryBackoff = retryBackoff
        self.logTailBytes = logTailBytes
        self.feedbackLimit = feedbackLimit
        self.scratchPath = scratchPath
        self.apiURL = apiURL
        self.retention = retention
        self.keepPerProject = keepPerProject
        self.eventRetention = eventRetention
        self.eventsKept = eventsKept
        self.node = node
    }
}
