import BerthCore
import BerthStore
import Foundation

/// The store as the runner sees it (its queue, events, job tokens, the sessions it prunes and
/// wake-ups): the job calls timed, everything else forwarded.
struct TimedStore: JobQueue, EventLog, TokenStore, StoreNotifications, UISessionStore {
    let inner: any Store
    let recorder: Recorder

    func submitJob(_ submission: JobSubmission, now: Date) async throws(StoreError) -> (job: JobRecord, created: Bool) {
        let begin = ContinuousClock.now
        defer { recorder.record(nil, "store: submit", since: begin) }
        return try await inner.submitJob(submission, now: now)
    }

    func job(_ id: String) async throws(StoreError) -> JobRecord? {
        let begin = ContinuousClock.now
        defer { recorder.record(id, "store: read job (cancel poll)", since: begin) }
        return try await inner.job(id)
    }

    func job(_ id: String, events limit: Int) async throws(StoreError) -> (job: JobRecord, events: [EventRecord])? {
        let begin = ContinuousClock.now
        defer { recorder.record(id, "store: read job with events", since: begin) }
        return try await inner.job(id, events: limit)
    }

    func jobs(filter: JobFilter, page: PageRequest) async throws(StoreError) -> Page<JobRecord> {
        try await inner.jobs(filter: filter, page: page)
    }
    func jobCounts(project: String?) async throws(StoreError) -> [JobState: Int] { try await inner.jobCounts(project: project) }

    func claimJobs(
        controller: String, engine: String, node: NodeIdentity?, limit: Int, projectLimits: [String: ProjectJobLimits], lease: TimeSpan
    ) async throws(StoreError) -> [JobRecord] {
        let begin = ContinuousClock.now
        let claimed = try await inner.claimJobs(controller: controller, engine: engine, node: node, limit: limit, projectLimits: projectLimits, lease: lease)
        if claimed.isEmpty {
            recorder.record(nil, "store: claim (nothing pending)", since: begin)
        } else {
            for job in claimed { recorder.record(job.id, "store: claim", since: begin) }
        }
        return claimed
    }

    func transitionJob(_ id: String, from: JobState, to: JobState, claim: JobClaim?, update: JobUpdate, now: Date) async throws(StoreError) -> JobRecord {
        let begin = ContinuousClock.now
        defer { recorder.record(id, from == to ? "store: record container id" : "store: transition → \(to.rawValue)", since: begin) }
        return try await inner.transitionJob(id, from: from, to: to, claim: claim, update: update, now: now)
    }

    func renewLeases(controller: String, claims: [String: Int], lease: TimeSpan) async throws(StoreError) -> Set<String> {
        let begin = ContinuousClock.now
        defer { recorder.record(nil, "store: renew leases", since: begin) }
        return try await inner.renewLeases(controller: controller, claims: claims, lease: lease)
    }

    func takeOverExpiredJobs(controller: String, engine: String, lease: TimeSpan) async throws(StoreError) -> [JobRecord] {
        let begin = ContinuousClock.now
        defer { recorder.record(nil, "store: take over expired leases", since: begin) }
        return try await inner.takeOverExpiredJobs(controller: controller, engine: engine, lease: lease)
    }

    func requestCancel(_ id: String, now: Date) async throws(StoreError) -> JobRecord { try await inner.requestCancel(id, now: now) }

    func jobInputs(_ id: String) async throws(StoreError) -> [JobInputFile] { try await inner.jobInputs(id) }

    func pruneOwnedJobs(owner: ResourceID, keepFinished: Int, keepFailed: Int) async throws(StoreError) -> Int {
        try await inner.pruneOwnedJobs(owner: owner, keepFinished: keepFinished, keepFailed: keepFailed)
    }

    func pruneJobs(finishedBefore: Date, keepPerProject: Int) async throws(StoreError) -> Int {
        let begin = ContinuousClock.now
        defer { recorder.record(nil, "store: prune", since: begin) }
        return try await inner.pruneJobs(finishedBefore: finishedBefore, keepPerProject: keepPerProject)
    }

    func appendEvent(_ event: EventRecord) async throws(StoreError) -> EventRecord { try await inner.appendEvent(event) }
    func events(_ query: EventQuery) async throws(StoreError) -> [EventRecord] { try await inner.events(query) }
    func pruneEvents(before: Date, keepAtMost: Int) async throws(StoreError) -> Int {
        try await inner.pruneEvents(before: before, keepAtMost: keepAtMost)
    }

    func createToken(name: String, scopes: [TokenScope], project: String?, expiresAt: Date?, now: Date) async throws(StoreError) -> (token: String, record: TokenRecord) {
        try await inner.createToken(name: name, scopes: scopes, project: project, expiresAt: expiresAt, now: now)
    }

    func createJobToken(jobID: String, now: Date) async throws(StoreError) -> (token: String, record: TokenRecord) {
        let begin = ContinuousClock.now
        defer { recorder.record(jobID, "store: job token", since: begin) }
        return try await inner.createJobToken(jobID: jobID, now: now)
    }

    func authenticate(token: String, now: Date) async throws(StoreError) -> TokenRecord? { try await inner.authenticate(token: token, now: now) }
    func tokens() async throws(StoreError) -> [TokenRecord] { try await inner.tokens() }
    func revokeToken(_ id: String, now: Date) async throws(StoreError) -> Bool { try await inner.revokeToken(id, now: now) }

    func createUISession(tokenID: String, lifetime: TimeInterval, now: Date) async throws(StoreError) -> (secret: String, session: UISession) {
        try await inner.createUISession(tokenID: tokenID, lifetime: lifetime, now: now)
    }

    func uiSession(secret: String, now: Date) async throws(StoreError) -> (session: UISession, token: TokenRecord)? { try await inner.uiSession(secret: secret, now: now) }
    func revokeUISession(_ id: String, now: Date) async throws(StoreError) -> Bool { try await inner.revokeUISession(id, now: now) }
    func pruneUISessions(before: Date) async throws(StoreError) -> Int { try await inner.pruneUISessions(before: before) }

    func notifications() -> AsyncStream<StoreNotification> { inner.notifications() }
}
