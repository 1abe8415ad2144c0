import Foundation

/// One run-to-completion container: started once per attempt, bounded by a deadline, retried with backoff.
public struct JobSpec: Sendable, Hashable, Codable {
    public var container: ContainerSpec
    /// Wall-clock limit for one attempt; `nil` means no limit.
    public var activeDeadline: TimeSpan?
    /// Failed attempts retried before the job fails (0: run once).
    public var backoffLimit: Int
    /// Higher runs first; ties run oldest first.
    public var priority: Int
    /// Absolute path of a JSON file the worker writes; read from the container when it ends.
    public var feedbackPath: String?
    /// How long the finished container is kept for inspection; `nil` removes it at once.
    public var ttlAfterFinished: TimeSpan?
    /// Exit codes that fail the job at once, without retries.
    public var nonRetryableExitCodes: [Int]
    // Completion webhooks and full logs (issue 20, NOTIFY).
    /// The signed POST sent when the job ends; `nil` sends none.
    public var notify: JobNotifySpec?
    /// Where the complete output of each attempt goes; `nil` takes the project's, if any.
    public var logArchive: LogArchiveSpec?

    // Concurrency keys (issue 20).
    /// Jobs sharing this key run at most ``maxConcurrentPerKey`` at once, across every controller
    /// and project, oldest submitted first; `nil` for none.
    public var concurrencyKey: String?
    /// How many jobs with ``concurrencyKey`` may be claimed (queued or started) at once when this
    /// one starts (1 to 1000; 1 unless set).
    public var maxConcurrentPerKey: Int?

    // Input files (JobTemplate submissions).
    /// Absolute paths in the container under which submitted input files may be written; empty
    /// accepts none.
    public var inputPaths: [String]

    // Nodes (issue 23).
    /// Labels a node must carry (each `key: value`) for its controller to claim this job; empty:
    /// any node. It narrows where the job runs and widens nothing, so no project policy applies.
    public var nodeSelector: [String: String]

    public init(
        container: ContainerSpec,
        activeDeadline: TimeSpan? = nil,
        backoffLimit: Int = 0,
        priority: Int = 0,
        feedbackPath: String? = nil,
        ttlAfterFinished: TimeSpan? = nil,
        nonRetryableExitCodes: [Int] = [],
        concurrencyKey: String? = nil,
        maxConcurrentPerKey: Int? = nil,
        notify: JobNotifySpec? = nil,
        logArchive: LogArchiveSpec? = nil,
        inputPaths: [String] = [],
        nodeSelector: [String: String] = [:]
    ) {
        self.container = container
        self.activeDeadline = activeDeadline
        self.backoffLimit = backoffLimit
        self.priority = priority
        self.feedbackPath = feedbackPath
        self.ttlAfterFinished = ttlAfterFinished
        self.nonRetryableExitCodes = nonRetryableExitCodes
        self.concurrencyKey = concurrencyKey
        self.maxConcurrentPerKey = maxConcurrentPerKey
        self.notify = notify
        self.logArchive = logArchive
        self.inputPaths = inputPaths
        self.nodeSelector = nodeSelector
    }

    /// The limit of jobs with ``concurrencyKey`` claimed at once that this job starts under.
    public var keyLimit: Int { maxConcurrentPerKey ?? 1 }

    static func read(_ map: MapReader) -> JobSpec? {
        let container = ContainerSpec.read(map)
        let deadline = map.optional("activeDeadline") { try $0.positiveTimeSpan() }
        let backoffLimit = map.optional("backoffLimit", default: 0) { try $0.int(in: 0...100) }
        let priority = map.optional("priority", default: 0) { try $0.int(in: -1000...1000) }
        let feedbackPath = map.optional("feedbackPath") { try $0.absolutePath() }
        let ttl = map.optional("ttlAfterFinished") { try $0.parse(TimeSpan.init(parsing:)) }
        let codes = map.optional("nonRetryableExitCodes", default: []) { try $0.list { try $0.int(in: 1...255) } }
        let concurrencyKey = map.optional("concurrencyKey") { reader -> String in
            let key = try reader.string()
            guard (1...200).contains(key.count) else { throw reader.fail("a concurrency key has 1 to 200 characters, found \(key.count)") }
            return key
        }
        let maxPerKey = map.optional("maxConcurrentPerKey") { try $0.int(in: 1...1000) }
        if maxPerKey != nil, concurrencyKey == nil {
            map.report("maxConcurrentPerKey limits the jobs of a concurrencyKey; set concurrencyKey too", field: "maxConcurrentPerKey")
        }
        let notify = map.optional("notify") { try $0.nested(JobNotifySpec.read) }
        let logArchive = map.optional("logArchive") { try $0.nested(LogArchiveSpec.read) }
        let inputPaths = map.optional("inputPaths", default: []) { try $0.list { try $0.parse(JobInputFile.normalizedPath) } }
        let nodeSelector = map.optional("nodeSelector", default: [:]) { try $0.nodeSelector() }
        guard let container else { return nil }
        return JobSpec(
            container: container, activeDeadline: deadline, backoffLimit: backoffLimit, priority: priority,
            feedbackPath: feedbackPath, ttlAfterFinished: ttl, nonRetryableExitCodes: codes,
            concurrencyKey: concurrencyKey, maxConcurrentPerKey: maxPerKey,
            notify: notify, logArchive: logArchive, inputPaths: inputPaths, nodeSelector: nodeSelector
        )
    }

    private enum CodingKeys: String, CodingKey {
        case activeDeadline, backoffLimit, priority, feedbackPath, ttlAfterFinished, nonRetryableExitCodes
        case concurrencyKey, maxConcurrentPerKey
        case notify, logArchive
        case inputPaths
        case nodeSelector
    }

    public init(from decoder: any Decoder) throws {
        self = try Self.decodeInput(from: decoder, read: Self.read)
    }

    /// Reads JSON text (a stored spec) through the same checks, without Foundation's decoder.
    public init(json: String) throws(ValidationError) {
        self = try Self.readInput(InputNode(json: json), read: Self.read)
    }

    /// Encodes flat, as written in manifests: the container fields, then the job's own.
    public func encode(to encoder: any Encoder) throws {
        try container.encode(to: encoder)
        var keyed = encoder.container(keyedBy: CodingKeys.self)
        try keyed.encodeIfPresent(activeDeadline, forKey: .activeDeadline)
        try keyed.encode(backoffLimit, forKey: .backoffLimit)
        try keyed.encode(priority, forKey: .priority)
        try keyed.encodeIfPresent(feedbackPath, forKey: .feedbackPath)
        try keyed.encodeIfPresent(ttlAfterFinished, forKey: .ttlAfterFinished)
        try keyed.encode(nonRetryableExitCodes, forKey: .nonRetryableExitCodes)
        try keyed.encodeIfPresent(concurrencyKey, forKey: .concurrencyKey)
        try keyed.encodeIfPresent(maxConcurrentPerKey, forKey: .maxConcurrentPerKey)
        try keyed.encodeIfPresent(notify, forKey: .notify)
        try keyed.encodeIfPresent(logArchive, forKey: .logArchive)
        if !inputPaths.isEmpty { try keyed.encode(inputPaths, forKey: .inputPaths) }
        if !nodeSelector.isEmpty { try keyed.encode(nodeSelector, forKey: .nodeSelector) }
    }
}

/// A Job template started on a schedule.
public struct CronJobSpec: Sendable, Hashable, Codable {
    /// What happens when a run is due while the previous one is still active.
    public enum ConcurrencyPolicy: String, Sendable, Hashable, Codable, CaseIterable {
        case allow = "Allow"
        case forbid = "Forbid"
        case replace = "Replace"
    }

    public var schedule: CronSchedule
    /// The zone whose wall clock a calendar schedule is read on; `@every` intervals ignore it.
    public var timeZone: TimeZoneName
    public var concurrencyPolicy: ConcurrencyPolicy
    /// A run that could not start within this long after its time is skipped; `nil` never skips.
    public var startingDeadline: TimeSpan?
    public var suspend: Bool
    public var successfulJobsHistoryLimit: Int
    public var failedJobsHistoryLimit: Int
    public var jobTemplate: JobSpec

    public init(
        schedule: CronSchedule,
        timeZone: TimeZoneName = .utc,
        concurrencyPolicy: ConcurrencyPolicy = .forbid,
        startingDeadline: TimeSpan? = nil,
        suspend: Bool = false,
        successfulJobsHistoryLimit: Int = 3,
        failedJobsHistoryLimit: Int = 1,
        jobTemplate: JobSpec
    ) {
        self.schedule = schedule
        self.timeZone = timeZone
        self.concurrencyPolicy = concurrencyPolicy
        self.startingDeadline = startingDeadline
        self.suspend = suspend
        self.successfulJobsHistoryLimit = successfulJobsHistoryLimit
        self.failedJobsHistoryLimit = failedJobsHistoryLimit
        self.jobTemplate = jobTemplate
    }

    static func read(_ map: MapReader) -> CronJobSpec? {
        let schedule = map.required("schedule") { reader -> CronSchedule in
            let schedule = try reader.parse(CronSchedule.init(parsing:))
            // Any fixed start works: a calendar schedule that fires at all fires within 28 years of it.
            guard schedule.nextFire(after: Date(timeIntervalSince1970: 0)) != nil else {
                throw reader.fail("the schedule \"\(schedule)\" never fires (no such date); check day-of-month and month")
            }
            return schedule
        }
        let timeZone = map.optional("timeZone", default: .utc) { try $0.parse(TimeZoneName.init(parsing:)) }
        let policy = map.optional("concurrencyPolicy", default: .forbid) { try $0.choice(ConcurrencyPolicy.self) }
        let deadline = map.optional("startingDeadline") { try $0.positiveTimeSpan() }
        let suspend = map.optional("suspend", default: false) { try $0.bool() }
        let successLimit = map.optional("successfulJobsHistoryLimit", default: 3) { try $0.int(in: 0...1000) }
        let failedLimit = map.optional("failedJobsHistoryLimit", default: 1) { try $0.int(in: 0...1000) }
        let template = map.required("jobTemplate") { reader -> JobSpec in
            let templateMap = try reader.map()
            defer { templateMap.finish() }
            guard let job = JobSpec.read(templateMap) else { throw AlreadyReported() }
            return job
        }
        guard let schedule, let template else { return nil }
        return CronJobSpec(
            schedule: schedule, timeZone: timeZone, concurrencyPolicy: policy, startingDeadline: deadline, suspend: suspend,
            successfulJobsHistoryLimit: successLimit, failedJobsHistoryLimit: failedLimit, jobTemplate: template
        )
    }

    public init(from decoder: any Decoder) throws {
        self = try Self.decodeInput(from: decoder, read: Self.read)
    }
}
