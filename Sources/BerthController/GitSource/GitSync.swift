import BerthGit
import BerthCore
import BerthStore
import Foundation
import Logging
import Metrics
import Synchronization

/// How `serve` follows a git source.
public struct GitSyncSettings: Sendable {
    /// The ref is fetched at least this often; a webhook makes it sooner.
    public var interval: Duration
    /// How long an applied revision has to make every resource it changed Ready.
    public var healthTimeout: Duration
    /// Whether a revision that does not become healthy in time is replaced by the last one that did.
    public var rollback: Bool
    /// Checkouts kept on disk besides the running one (the revisions `berth rollback` can go back to).
    public var keptCheckouts: Int

    public init(interval: Duration = .seconds(60), healthTimeout: Duration = .seconds(120), rollback: Bool = true, keptCheckouts: Int = 10) {
        self.interval = interval
        self.healthTimeout = healthTimeout
        self.rollback = rollback
        self.keptCheckouts = keptCheckouts
    }
}

/// Follows a git ref: fetches it on a timer and on webhook deliveries; checks each new revision
/// as a whole (signature, every file read and validated with the store's resources) before
/// selecting it, so an invalid revision applies nothing and the running one stays; waits for
/// the resources a revision changed to become Ready; and goes back to the last healthy revision
/// when they do not in time. Every step is recorded in the store's source log (`berth history`,
/// `GET /v1/source`) and as an event. A revision that failed is not tried again until the ref
/// moves; `berth rollback REV` pins one by hand.
public actor GitSync {
    /// A revision applied and waiting to become healthy.
    private struct Gate {
        var revision: GitSelection.Revision
        var health: RevisionHealth
        var deadline: ContinuousClock.Instant
        /// Where a failure goes back to.
        var previous: GitSelection.Revision?
        var pinned: Bool
    }

    private let mirror: any GitMirror
    private let source: DesiredStateSource
    private let selection: GitSelection
    private let store: (any SourceLog & EventLog)?
    private let settings: GitSyncSettings
    private let logger: Logger
    /// Wakes the controller's loop to load the newly selected revision (set by the controller).
    private let reloadHook = Mutex<@Sendable () -> Void>({})
    private let wakeUps = WakeUpSignal()
    /// The statuses of the last pass and the revision it converged.
    private let lastPass = Mutex<(revision: String?, statuses: [ResourceID: ResourceStatus], elsewhere: Set<ResourceID>)>((nil, [:], []))
    private var state: SourceState
    private var selectedState: DesiredState?
    private var lastHealthy: GitSelection.Revision?
    private var gate: Gate?
    /// Revisions that were invalid, refused or failed: not tried again while the ref stays on them.
    private var rejected: Set<String> = []
    private var conditions: ConditionLog

    public init(mirror: any GitMirror, source: DesiredStateSource, store: (any SourceLog & EventLog)?, settings: GitSyncSettings, logger: Logger) {
        precondition(source.git != nil, "the source reads no git selection")
        self.mirror = mirror
        self.source = source
        self.selection = source.git!
        self.store = store
        self.settings = settings
        self.logger = logger
        state = SourceState(url: mirror.redactedURL, ref: mirror.ref, path: mirror.path)
        conditions = ConditionLog(logger: logger, occasion: "fetch")
    }

    /// Calls `body` whenever another revision is selected: the controller reloads desired state.
    nonisolated func whenSelected(_ body: @escaping @Sendable () -> Void) {
        reloadHook.withLock { $0 = body }
    }

    private func reload() {
        reloadHook.withLock { $0 }()
    }

    /// Asks for a fetch now (a webhook delivery, a pin); several asks before it starts are one fetch.
    public nonisolated func trigger() {
        wakeUps.fire(.reload)
    }

    /// Tells the sync what a pass converged, for the health of the revision applied last;
    /// `judgedElsewhere`: the declared resources the pass has no status of (``PassResult/judgedElsewhere``).
    public nonisolated func passCompleted(revision: String?, statuses: [ResourceStatus], judgedElsewhere: Set<ResourceID> = []) {
        lastPass.withLock { $0 = (revision, Dictionary(statuses.map { ($0.id, $0) }, uniquingKeysWith: { _, last in last }), judgedElsewhere) }
        wakeUps.fire(.engine)
    }

    /// Restores the revision last applied, then fetches until cancelled.
    public func run() async {
        await restore()
        var nextFetch = ContinuousClock.now
        while !Task.isCancelled {
            if ContinuousClock.now >= nextFetch {
                await sync()
                nextFetch = .now + settings.interval
            }
            await checkHealth()
            let reasons = await wakeUps.wait(until: min(nextFetch, gate?.deadline ?? nextFetch))
            if reasons.contains(.shutdown) { return }
            if reasons.contains(.reload) { nextFetch = .now }
        }
    }

    // MARK: Steps

    /// Selects the revision the store says was applied last, if its checkout is still on disk or
    /// can be made, so a restart converges it at once, even with the remote away.
    private func restore() async {
        guard let store else { return }
        do {
            guard let saved = try await store.sourceState(), saved.url == state.url, saved.ref == state.ref, saved.path == state.path else { return }
            state = saved
            guard let sha = saved.applied, let record = try await store.sourceRevision(sha: sha) else { return }
            let revision = try await checkout(record.commit)
            selectedState = try? await source.validate(revision)
            selection.select(revision)
            if record.outcome == .healthy { lastHealthy = revision }
            let history = try await store.sourceRevisions(limit: 100)
            if let healthy = history.first(where: { $0.outcome == .healthy }), healthy.sha != sha {
                lastHealthy = try? await checkout(healthy.commit)
            }
            for old in history where [.invalid, .refused, .failed].contains(old.outcome) {
                rejected.insert(old.sha)
            }
            logger.info("git source: converging revision \(revision.label), applied before this start")
            reload()
        } catch {
            logger.warning("git source: the revision applied before this start cannot be restored (\(error)); waiting for the first fetch")
        }
    }

    /// One fetch, and what follows from it.
    private func sync() async {
        let head: GitCommit
        let now = Date()
        state.lastFetchAt = now
        do {
            head = try await mirror.fetch()
        } catch {
            state.lastFetchError = "\(error)"
            conditions.holds("fetch", "git source: cannot fetch \(state.url): \(error); running revision \(selection.revision?.label ?? "none")")
            await saveState()
            return
        }
        conditions.ended("fetch")
        state.head = head.sha
        state.lastFetchError = nil
        state.lastSuccessfulSyncAt = now
        GitSyncMetrics.synced(at: now)
        let pinned = (try? await store?.sourceState())?.pinned
        state.pinned = pinned
        var target = head
        if let pinned {
            guard let record = try? await store?.sourceRevision(sha: pinned) else {
                conditions.holds("pin", "git source: the pinned revision \(pinned.prefix(7)) is not in the history; following \(head.sha.prefix(7))")
                await saveState()
                return
            }
            conditions.ended("pin")
            target = record.commit
        }
        if target.sha == selection.revision?.commit.sha || (pinned == nil && rejected.contains(target.sha)) {
            await saveState()
            return
        }
        await attempt(target, pinned: pinned != nil)
    }

    /// Checks `commit` as a whole and selects it when it passes; records the outcome either way.
    private func attempt(_ commit: GitCommit, pinned: Bool) async {
        let now = Date()
        state.attempted = commit.sha
        if let open = gate, open.revision.commit.sha != commit.sha {
            await record(open.revision.commit, outcome: .superseded) { $0.errors = ["superseded by \(commit.sha.prefix(7)) before it became healthy"] }
            gate = nil
        }
        var revision: GitSelection.Revision
        do {
            try await mirror.verifySignature(commit.sha)
            revision = try await checkout(commit)
        } catch {
            let outcome: RevisionOutcome = if case .signature = error { .refused } else { .invalid }
            await reject(commit, outcome: outcome, problems: ["\(error)"], at: now)
            return
        }
        let candidate: DesiredState
        do {
            candidate = try await source.validate(revision)
        } catch let error as ValidationError {
            await reject(commit, outcome: .invalid, problems: error.issues.map(\.description), at: now)
            return
        } catch {
            // The store could not be read: nothing is known to be wrong with the revision.
            logger.warning("git source: revision \(revision.label) not checked yet, the store cannot be read: \(error)")
            await saveState()
            return
        }
        let previous = selection.revision
        let health = RevisionHealth(from: selectedState, to: candidate)
        selection.select(revision)
        selectedState = candidate
        state.applied = commit.sha
        gate = Gate(revision: revision, health: health, deadline: .now + settings.healthTimeout, previous: lastHealthy ?? previous, pinned: pinned)
        logger.info("git source: applying revision \(revision.label)\(pinned ? ", pinned" : ""): \(health.changed.count) resources changed")
        await event(.normal, "RevisionApplied", "applied revision \(revision.label)\(pinned ? " (pinned by berth rollback)" : "")")
        await record(commit, outcome: .applying) { $0.appliedAt = now }
        await saveState()
        GitSyncMetrics.applied(commit.sha)
        reload()
        cleanUp()
    }

    /// Whether the revision applied last became healthy, or ran out of time.
    private func checkHealth() async {
        guard let open = gate else { return }
        let pass = lastPass.withLock { $0 }
        let waiting = pass.revision == open.revision.commit.sha ? open.health.waiting(pass.statuses, judgedElsewhere: pass.elsewhere) : ["no pass has converged it yet"]
        if waiting.isEmpty {
            gate = nil
            lastHealthy = open.revision
            logger.info("git source: revision \(open.revision.label) is healthy")
            await event(.normal, "RevisionHealthy", "revision \(open.revision.label) is healthy: every resource it changed is Ready")
            await record(open.revision.commit, outcome: .healthy) { $0.healthyAt = Date() }
        } else if ContinuousClock.now >= open.deadline {
            gate = nil
            await failed(open, causes: waiting)
        }
    }

    /// A revision that did not become healthy in time: recorded, not retried until the ref moves,
    /// and replaced by the last healthy one when rollback is on (never while pinned).
    private func failed(_ open: Gate, causes: [String]) async {
        let revision = open.revision
        rejected.insert(revision.commit.sha)
        let timeout = "did not become healthy within \(settings.healthTimeout)"
        guard settings.rollback, !open.pinned, let back = open.previous, back.commit.sha != revision.commit.sha else {
            logger.error("git source: revision \(revision.label) \(timeout): \(causes.joined(separator: "; "))")
            await event(.warning, "RevisionFailed", "revision \(revision.label) \(timeout): \(causes.joined(separator: "; "))")
            await record(revision.commit, outcome: .failed) {
                $0.failedAt = Date()
                $0.errors = causes
            }
            return
        }
        selection.select(back)
        selectedState = try? await source.validate(back)
        state.applied = back.commit.sha
        logger.error("git source: revision \(revision.label) \(timeout) (\(causes.joined(separator: "; "))); rolled back to \(back.label)")
        await event(.warning, "RolledBack", "revision \(revision.label) \(timeout) (\(causes.joined(separator: "; "))); rolled back to \(back.label)")
        await record(revision.commit, outcome: .failed) {
            $0.failedAt = Date()
            $0.errors = causes
            $0.rolledBackTo = back.commit.sha
        }
        await saveState()
        GitSyncMetrics.applied(back.commit.sha)
        reload()
    }

    /// A revision that is not applied (invalid, or refused by the signature check).
    private func reject(_ commit: GitCommit, outcome: RevisionOutcome, problems: [String], at time: Date) async {
        rejected.insert(commit.sha)
        let label = "\(commit.sha.prefix(7)) (\(commit.subject))"
        let running = selection.revision.map { "; still running \($0.label)" } ?? ""
        let what = outcome == .refused ? "refused" : "invalid, nothing of it applied"
        logger.error("git source: revision \(label) \(what)\(running): \(problems.joined(separator: "; "))")
        await event(
            .warning, outcome == .refused ? "RevisionRefused" : "RevisionInvalid",
            "revision \(label) \(what)\(running): \(problems.first ?? "")\(problems.count > 1 ? " (and \(problems.count - 1) more)" : "")")
        await record(commit, outcome: outcome) { $0.errors = problems }
        await saveState()
    }

    // MARK: Support

    private func checkout(_ commit: GitCommit) async throws(GitError) -> GitSelection.Revision {
        GitSelection.Revision(commit: commit, folder: try await mirror.checkout(commit.sha), path: mirror.path)
    }

    /// Keeps the checkouts of the running, last healthy and recently applied revisions.
    private func cleanUp() {
        Task {
            var keep = Set([selection.revision?.commit.sha, lastHealthy?.commit.sha, gate?.previous?.commit.sha].compactMap { $0 })
            let recent = (try? await store?.sourceRevisions(limit: 100)) ?? []
            keep.formUnion(recent.filter { $0.appliedAt != nil }.prefix(settings.keptCheckouts).map(\.sha))
            do { try mirror.removeCheckouts(keeping: keep) } catch { logger.warning("git source: old checkouts not removed: \(error)") }
        }
    }

    /// Writes `commit`'s record with `outcome`, keeping what an earlier write of it said.
    private func record(_ commit: GitCommit, outcome: RevisionOutcome, _ change: (inout SourceRevisionRecord) -> Void = { _ in }) async {
        guard let store else { return }
        do {
            var record =
                try await store.sourceRevision(sha: commit.sha)
                ?? SourceRevisionRecord(commit: commit, outcome: outcome, attemptedAt: Date())
            if outcome == .applying || outcome == .invalid || outcome == .refused { record.attemptedAt = Date() }
            record.outcome = outcome
            change(&record)
            try await store.recordSourceRevision(record)
        } catch {
            logger.warning("git source: revision \(commit.sha.prefix(7)) not recorded (\(outcome.rawValue)): \(error)")
        }
    }

    private func saveState() async {
        guard let store else { return }
        do { try await store.updateSourceState(state) } catch { logger.warning("git source: state not recorded: \(error)") }
    }

    private func event(_ type: EventRecord.Kind, _ reason: String, _ message: String) async {
        guard let store else { return }
        _ = try? await store.appendEvent(EventRecord(project: ResourceID.defaultProject, type: type, reason: reason, message: message, time: Date()))
    }
}

extension SourceRevisionRecord {
    /// A first record of `commit`.
    init(commit: GitCommit, outcome: RevisionOutcome, attemptedAt: Date) {
        self.init(
            sha: commit.sha, subject: commit.subject, author: commit.author, committedAt: commit.committedAt, outcome: outcome, attemptedAt: attemptedAt,
            appliedAt: nil, healthyAt: nil, failedAt: nil, errors: [], rolledBackTo: nil
        )
    }

    /// The commit the record is about.
    var commit: GitCommit { GitCommit(sha: sha, subject: subject, author: author, committedAt: committedAt) }
}

extension StatusRevision {
    /// What a resource's status shows of `commit`.
    init(_ commit: GitCommit) {
        self.init(sha: commit.sha, subject: commit.subject, author: commit.author, committedAt: commit.committedAt)
    }
}

/// The source's metrics: the revision running and when the ref was last fetched.
enum GitSyncMetrics {
    private static let running = Mutex<String?>(nil)

    static func synced(at time: Date) {
        Gauge(label: "berth_source_last_sync_timestamp_seconds").record(time.timeIntervalSince1970)
    }

    /// `berth_source_revision{sha="…"} 1` for the running revision, 0 for the one before.
    static func applied(_ sha: String) {
        let before = running.withLock { running in
            defer { running = sha }
            return running
        }
        if let before, before != sha { Gauge(label: "berth_source_revision", dimensions: [("sha", before)]).record(0) }
        Gauge(label: "berth_source_revision", dimensions: [("sha", sha)]).record(1)
    }
}
