import BerthCore
import Foundation

/// The job queue's listings, claims, transitions, leases, cancels and pruning (`JobQueue`).
extension SQLStore {
    public func jobs(filter: JobFilter, page: PageRequest) async throws(StoreError) -> Page<JobRecord> {
        guard page.limit > 0 else { throw .invalidArgument("a page holds at least one item; limit was \(page.limit)") }
        var conditions: [String] = []
        var parameters: [SQLValue] = []
        func add(_ condition: (Int) -> String, _ value: SQLValue) {
            parameters.append(value)
            conditions.append(condition(parameters.count))
        }
        if let project = filter.project { add({ "project = $\($0)" }, .text(project)) }
        if !filter.states.isEmpty {
            let states = filter.states.map(\.rawValue).sorted()
            conditions.append("state IN (\(placeholders(from: parameters.count + 1, count: states.count)))")
            parameters += states.map(SQLValue.text)
        }
        if let owner = filter.owner { add({ "owner = $\($0)" }, .text(Coding.encodeResourceID(owner))) }
        if let claimedBy = filter.claimedBy { add({ "claimed_by = $\($0)" }, .text(claimedBy)) }
        if let after = filter.submittedAfter { add({ "submitted_at >= $\($0)" }, .date(after)) }
        if let before = filter.submittedBefore { add({ "submitted_at < $\($0)" }, .date(before)) }
        for selector in filter.labels {
            parameters.append(.text(selector.key))
            add({ backend.dialect.labelMatches(keyParameter: $0 - 1, valueParameter: $0) }, .text(selector.value))
        }
        let newest = page.order == .newestFirst
        if let cursor = page.cursor { add({ newest ? "id < $\($0)" : "id > $\($0)" }, .text(cursor)) }
        parameters.append(.int(page.limit + 1))
        let sql = """
            SELECT \(SQLStore.jobColumns) FROM jobs\(conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND "))
            ORDER BY id \(newest ? "DESC" : "ASC") LIMIT $\(parameters.count)
            """
        let rows = try await backend.read { [parameters] connection throws(StoreError) in
            try connection.query(sql, parameters)
        }
        var items: [JobRecord] = []
        for row in rows.prefix(page.limit) { items.append(try SQLStore.jobRecord(row)) }
        return Page(items: items, nextCursor: rows.count > page.limit ? items.last?.id : nil)
    }

    public func jobCounts(project: String?) async throws(StoreError) -> [JobState: Int] {
        let rows = try await backend.read { connection throws(StoreError) in
            if let project {
                return try connection.run("SELECT state, count(*) FROM jobs WHERE project = $1 GROUP BY state", .text(project))
            }
            return try connection.run("SELECT state, count(*) FROM jobs GROUP BY state")
        }
        var counts: [JobState: Int] = [:]
        for row in rows {
            guard let state = JobState(rawValue: try row.requiredText(0)) else { continue }
            counts[state] = Int(try row.requiredInt(1))
        }
        return counts
    }

    public func claimJobs(
        controller: String, engine: String, node: NodeIdentity?, limit: Int, projectLimits: [String: ProjectJobLimits], lease: TimeSpan
    ) async throws(StoreError) -> [JobRecord] {
        guard limit > 0 else { return [] }
        let limits = projectLimits.compactMapValues(\.effectiveLimit)
        let nodeLabels = try node.map { node throws(StoreError) in try Coding.encode(node.labels) }
        let rows = try await backend.write { [backend] tx throws(StoreError) -> [SQLRow] in
            let now = try backend.now(in: tx)
            let leaseEnd = now.addingTimeInterval(lease.seconds)
            let claimable = "state = 'pending' AND cancel_requested = FALSE AND (next_attempt_at IS NULL OR next_attempt_at <= $1)"
            // Projects with a limit that have claimable jobs are locked (PostgreSQL: an advisory
            // lock per project, taken in name order) before their active jobs are counted, so two
            // controllers never both fill the last slot. Jobs of limited projects not locked here
            // are left for the next claim.
            var remaining: [String: Int] = [:]
            var blocked: Set<String> = []
            if !limits.isEmpty {
                let waiting = try tx.run("SELECT DISTINCT project FROM jobs WHERE \(claimable)", .date(now))
                var locked: [String] = []
                for row in waiting {
                    let project = try row.requiredText(0)
                    if limits[project] != nil { locked.append(project) }
                }
                locked.sort()
                for project in locked { try tx.dialect.lockProject(project, in: tx) }
                if !locked.isEmpty {
                    let active = try tx.query(
                        "SELECT project, count(*) FROM jobs WHERE state IN ('queued', 'started') AND project IN (\(placeholders(from: 1, count: locked.count))) GROUP BY project",
                        locked.map(SQLValue.text)
                    )
                    var counts: [String: Int] = [:]
                    for row in active { counts[try row.requiredText(0)] = Int(try row.requiredInt(1)) }
                    for project in locked {
                        remaining[project] = (limits[project] ?? 0) - (counts[project] ?? 0)
                        if remaining[project, default: 0] <= 0 { blocked.insert(project) }
                    }
                }
                for project in limits.keys where remaining[project] == nil { blocked.insert(project) }
            }

            var claimed: [SQLRow] = []
            var blockedKeys: Set<String> = []
            while claimed.count < limit {
                let wanted = limit - claimed.count
                var parameters: [SQLValue] = [.date(now)]
                var exclusion = ""
                if !blocked.isEmpty {
                    let names = blocked.sorted()
                    exclusion = " AND project NOT IN (\(placeholders(from: 2, count: names.count)))"
                    parameters += names.map(SQLValue.text)
                }
                if !blockedKeys.isEmpty {
                    let keys = blockedKeys.sorted()
                    exclusion += " AND (concurrency_key IS NULL OR concurrency_key NOT IN (\(placeholders(from: parameters.count + 1, count: keys.count))))"
                    parameters += keys.map(SQLValue.text)
                }
                if let node, let nodeLabels {
                    parameters.append(.text(nodeLabels))
                    exclusion += " AND (node_selector IS NULL OR \(tx.dialect.selectorMatches(labelsParameter: parameters.count)))"
                    // Nothing while the node's row says cordoned or draining (no row yet: its
                    // first heartbeat is not written, and it takes work).
                    parameters.append(.text(node.name))
                    exclusion += " AND NOT EXISTS (SELECT 1 FROM nodes WHERE nodes.name = $\(parameters.count) AND (nodes.cordoned = TRUE OR nodes.draining = TRUE))"
                } else {
                    exclusion += " AND node_selector IS NULL"
                }
                parameters.append(.int(wanted))
                let candidates = try tx.query(
                    """
                    SELECT id, project, concurrency_key FROM jobs WHERE \(claimable)\(exclusion) AND \(SQLStore.keyAllows)
                    ORDER BY priority DESC, id ASC LIMIT $\(parameters.count)\(tx.dialect.skipLocked)
                    """,
                    parameters
                )
                if candidates.isEmpty { break }
                var take: [String] = []
                var newlyBlocked = false
                let allowed = try SQLStore.keyedCandidatesAllowed(candidates, in: tx)
                for key in allowed.blockedKeys where blockedKeys.insert(key).inserted { newlyBlocked = true }
                for row in candidates {
                    let id = try row.requiredText(0), project = try row.requiredText(1)
                    if row.text(2) != nil, !allowed.ids.contains(id) { continue }
                    if let left = remaining[project] {
                        guard left > 0 else {
                            if blocked.insert(project).inserted { newlyBlocked = true }
                            continue
                        }
                        remaining[project] = left - 1
                    }
                    take.append(id)
                }
                if !take.isEmpty {
                    claimed += try tx.query(
                        """
                        UPDATE jobs SET state = 'queued', claimed_by = $1, claimed_engine = $2, fence = fence + 1, lease_expires_at = $3,
                            queued_at = $4, next_attempt_at = NULL
                        WHERE state = 'pending' AND id IN (\(placeholders(from: 5, count: take.count))) RETURNING \(SQLStore.jobColumns)
                        """,
                        [.text(controller), .text(engine), .date(leaseEnd), .date(now)] + take.map(SQLValue.text)
                    )
                }
                if candidates.count < wanted && !newlyBlocked { break }
                if take.isEmpty && !newlyBlocked { break }
            }
            for row in claimed {
                try SQLStore.insertEvent(
                    tx,
                    EventRecord(
                        jobID: try row.requiredText(0), project: try row.requiredText(1), reason: "Queued",
                        message: "claimed by \(controller) (attempt \(try row.requiredInt(8)))", time: now
                    ))
            }
            return claimed
        }
        var jobs: [JobRecord] = []
        for row in rows { jobs.append(try SQLStore.jobRecord(row)) }
        return jobs.sorted { ($0.priority, $1.id) > ($1.priority, $0.id) }
    }

    /// A candidate of the claim may start under its concurrency key: it has none, or the key's
    /// claimed jobs and its pending jobs submitted earlier are fewer than the candidate's limit.
    /// So a key's jobs start oldest first (a pending retry keeps its place), at most
    /// `max_per_key` claimed at once. Reads the row as `jobs`.
    static let keyAllows = """
        (concurrency_key IS NULL OR (
            SELECT count(*) FROM jobs earlier WHERE earlier.concurrency_key = jobs.concurrency_key
                AND earlier.state IN ('pending', 'queued', 'started')
                AND (earlier.state <> 'pending' OR earlier.id < jobs.id)
        ) < max_per_key)
        """

    /// Which candidates with a concurrency key may be taken: their keys are locked (PostgreSQL:
    /// an advisory lock per key, tried without waiting), then `keyAllows` is read again, past
    /// every claim of those keys that committed before the lock. The candidate query read it in
    /// its own snapshot, which a concurrent claim of the same key may have outdated. Keys not
    /// locked, or whose candidates no longer fit, are blocked for the rest of this claim.
    private static func keyedCandidatesAllowed(_ candidates: [SQLRow], in tx: SQLTransaction) throws(StoreError) -> (ids: Set<String>, blockedKeys: Set<String>) {
        var keyed: [String: String] = [:]
        for row in candidates { if let key = row.text(2) { keyed[try row.requiredText(0)] = key } }
        guard !keyed.isEmpty else { return ([], []) }
        let locked = try tx.dialect.tryLockKeys(Set(keyed.values).sorted(), in: tx)
        let checked = keyed.filter { locked.contains($0.value) }.keys.sorted()
        var ids = Set<String>()
        if !checked.isEmpty {
            let rows = try tx.query(
                "SELECT id FROM jobs WHERE state = 'pending' AND id IN (\(placeholders(from: 1, count: checked.count))) AND \(keyAllows)",
                checked.map(SQLValue.text)
            )
            for row in rows { ids.insert(try row.requiredText(0)) }
        }
        return (ids, Set(keyed.filter { !ids.contains($0.key) }.values))
    }

    @discardableResult
    public func transitionJob(_ id: String, from: JobState, to: JobState, claim: JobClaim?, update: JobUpdate, now: Date) async throws(StoreError) -> JobRecord {
        guard from.canTransition(to: to) else { throw .illegalTransition(job: id, from: from, to: to) }
        let controller = claim?.controller
        var assignments: [String] = ["state = $1"]
        var parameters: [SQLValue] = [.text(to.rawValue)]
        func set(_ column: String, _ value: SQLValue) {
            parameters.append(value)
            assignments.append("\(column) = $\(parameters.count)")
        }
        func setIfGiven(_ column: String, _ value: SQLValue) {
            if value != .null { set(column, value) }
        }
        setIfGiven("container_id", .text(update.containerID))
        setIfGiven("exit_code", .int(update.exitCode))
        setIfGiven("reason", .text(update.reason))
        setIfGiven("stdout_tail", .text(update.stdoutTail))
        setIfGiven("stderr_tail", .text(update.stderrTail))
        setIfGiven("feedback", .text(update.feedback))
        switch (from, to) {
        case (.pending, .queued):
            set("queued_at", .date(now))
            set("next_attempt_at", .null)
            if let controller {
                set("claimed_by", .text(controller))
                assignments.append("fence = fence + 1")
            }
            setIfGiven("lease_expires_at", .date(update.leaseExpiresAt))
        case (.queued, .started):
            set("started_at", .date(now))
            setIfGiven("lease_expires_at", .date(update.leaseExpiresAt))
        case (_, .queued), (_, .started):
            // An update in place.
            setIfGiven("lease_expires_at", .date(update.leaseExpiresAt))
        case (_, .pending):
            // A retry: the next attempt starts from scratch, not before `nextAttemptAt`.
            if update.attempt == nil { assignments.append("attempt = attempt + 1") }
            set("claimed_by", .null)
            set("claimed_engine", .null)
            set("lease_expires_at", .null)
            set("queued_at", .null)
            set("started_at", .null)
            if update.containerID == nil { set("container_id", .null) }
            set("next_attempt_at", .date(update.nextAttemptAt))
        case (_, .finished), (_, .failed), (_, .cancelled):
            set("finished_at", .date(now))
            set("lease_expires_at", .null)
        }
        setIfGiven("attempt", .int(update.attempt))
        parameters.append(.text(id))
        var condition = "id = $\(parameters.count)"
        parameters.append(.text(from.rawValue))
        condition += " AND state = $\(parameters.count)"
        if let claim, from.isActive {
            parameters.append(.text(claim.controller))
            condition += " AND claimed_by = $\(parameters.count)"
            parameters.append(.int(claim.fence))
            condition += " AND fence = $\(parameters.count)"
        }
        let sql = "UPDATE jobs SET \(assignments.joined(separator: ", ")) WHERE \(condition) RETURNING \(SQLStore.jobColumns)"
        let row = try await backend.write { [parameters] tx throws(StoreError) -> SQLRow in
            guard let row = try tx.query(sql, parameters).first else {
                guard let current = try tx.run("SELECT state, claimed_by, fence FROM jobs WHERE id = $1", .text(id)).first else {
                    throw .notFound("job \(id)")
                }
                let state = JobState(rawValue: try current.requiredText(0)) ?? from
                if state == from, let claim {
                    let fence = Int(try current.requiredInt(2))
                    if current.text(1) == claim.controller, fence != claim.fence {
                        throw .staleFence(job: id, fence: claim.fence, current: fence, state: state)
                    }
                    throw .notClaimed(job: id, by: claim.controller, state: state)
                }
                throw .stateConflict(job: id, expected: from, actual: state)
            }
            let project = try row.requiredText(1)
            if from != to {
                try SQLStore.insertEvent(tx, SQLStore.transitionEvent(id: id, project: project, from: from, to: to, update: update, controller: controller, now: now))
                if to.isTerminal {
                    try tx.run("UPDATE tokens SET revoked_at = $2 WHERE job_id = $1 AND revoked_at IS NULL", .text(id), .date(now))
                    try SQLStore.recordDelivery(tx, jobID: id, project: project, specJSON: try row.requiredText(3), state: to, now: now)
                }
                if to == .pending { tx.notify(.jobSubmitted(project: project)) }
            }
            if let explanation = update.explanation {
                try SQLStore.insertEvent(tx, EventRecord(jobID: id, project: project, type: explanation.type, reason: explanation.reason, message: explanation.message, time: now))
            }
            return row
        }
        // Ending a job revoked its tokens.
        if to.isTerminal, from != to { validTokens.forget { $0.jobID == id } }
        return try SQLStore.jobRecord(row)
    }

    private static func transitionEvent(id: String, project: String, from: JobState, to: JobState, update: JobUpdate, controller: String?, now: Date) -> EventRecord {
        let reason: String =
            switch to {
            case .pending: "Requeued"
            case .queued: "Queued"
            case .started: "Started"
            case .finished: "Finished"
            case .failed: "Failed"
            case .cancelled: "Cancelled"
            }
        var message = "\(from) → \(to)"
        if let controller { message += " by \(controller)" }
        if let why = update.reason { message += ": \(why)" }
        if let code = update.exitCode { message += " (exit code \(code))" }
        return EventRecord(jobID: id, project: project, type: to == .failed || to == .pending ? .warning : .normal, reason: reason, message: message, time: now)
    }

    public func renewLeases(controller: String, claims: [String: Int], lease: TimeSpan) async throws(StoreError) -> Set<String> {
        guard !claims.isEmpty else { return [] }
        var parameters: [SQLValue] = [.text(controller)]
        var held: [String] = []
        for (id, fence) in claims.sorted(by: { $0.key < $1.key }) {
            parameters += [.text(id), .int(fence)]
            held.append("(id = $\(parameters.count - 1) AND fence = $\(parameters.count))")
        }
        let sql = """
            UPDATE jobs SET lease_expires_at = $\(parameters.count + 1)
            WHERE claimed_by = $1 AND state IN ('queued', 'started') AND (\(held.joined(separator: " OR "))) RETURNING id
            """
        return try await backend.write { [backend, parameters] tx throws(StoreError) -> Set<String> in
            let leaseEnd = try backend.now(in: tx).addingTimeInterval(lease.seconds)
            var renewed = Set<String>()
            for row in try tx.query(sql, parameters + [.date(leaseEnd)]) { renewed.insert(try row.requiredText(0)) }
            return renewed
        }
    }

    public func takeOverExpiredJobs(controller: String, engine: String, lease: TimeSpan) async throws(StoreError) -> [JobRecord] {
        let rows = try await backend.write { [backend] tx throws(StoreError) -> [SQLRow] in
            let now = try backend.now(in: tx)
            let expired = try tx.run(
                "SELECT id, claimed_by FROM jobs WHERE state IN ('queued', 'started') AND lease_expires_at < $1 ORDER BY id\(tx.dialect.skipLocked)",
                .date(now)
            )
            guard !expired.isEmpty else { return [] }
            var ids: [String] = []
            var holders: [String: String] = [:]
            for row in expired {
                let id = try row.requiredText(0)
                ids.append(id)
                holders[id] = row.text(1) ?? "?"
            }
            let rows = try tx.query(
                """
                UPDATE jobs SET claimed_by = $1, claimed_engine = $2, fence = fence + 1, lease_expires_at = $3
                WHERE state IN ('queued', 'started') AND lease_expires_at < $4 AND id IN (\(placeholders(from: 5, count: ids.count)))
                RETURNING \(SQLStore.jobColumns)
                """,
                [.text(controller), .text(engine), .date(now.addingTimeInterval(lease.seconds)), .date(now)] + ids.map(SQLValue.text)
            )
            for row in rows {
                let id = try row.requiredText(0), project = try row.requiredText(1)
                try SQLStore.insertEvent(
                    tx,
                    EventRecord(
                        jobID: id, project: project, type: .warning, reason: "TakenOver",
                        message: "the lease of \(holders[id] ?? "?") expired; taken over by \(controller) on engine \(engine) (attempt \(try row.requiredInt(8)))",
                        time: now
                    ))
            }
            return rows
        }
        var jobs: [JobRecord] = []
        for row in rows { jobs.append(try SQLStore.jobRecord(row)) }
        return jobs
    }

    @discardableResult
    public func requestCancel(_ id: String, now: Date) async throws(StoreError) -> JobRecord {
        let row = try await backend.write { tx throws(StoreError) -> SQLRow in
            guard let current = try tx.run("SELECT state, project FROM jobs WHERE id = $1\(tx.dialect.skipLocked)", .text(id)).first else {
                throw .notFound("job \(id)")
            }
            let state = JobState(rawValue: try current.requiredText(0))
            let project = try current.requiredText(1)
            switch state {
            case .pending:
                // Never started: cancelled at once, nothing to stop.
                try SQLStore.insertEvent(tx, EventRecord(jobID: id, project: project, reason: "Cancelled", message: "pending → cancelled on request", time: now))
                try tx.run("UPDATE tokens SET revoked_at = $2 WHERE job_id = $1 AND revoked_at IS NULL", .text(id), .date(now))
                let cancelled = try SQLStore.one(
                    tx.run(
                        """
                        UPDATE jobs SET state = 'cancelled', cancel_requested = TRUE, reason = 'Cancelled', finished_at = $2,
                            lease_expires_at = NULL WHERE id = $1 RETURNING \(SQLStore.jobColumns)
                        """,
                        .text(id), .date(now)
                    ))
                try SQLStore.recordDelivery(tx, jobID: id, project: project, specJSON: try cancelled.requiredText(3), state: .cancelled, now: now)
                return cancelled
            case .queued, .started:
                try SQLStore.insertEvent(tx, EventRecord(jobID: id, project: project, reason: "CancelRequested", message: "cancel requested while \(state?.rawValue ?? "")", time: now))
                tx.notify(.jobCancelRequested(jobID: id))
                return try SQLStore.one(tx.run("UPDATE jobs SET cancel_requested = TRUE WHERE id = $1 RETURNING \(SQLStore.jobColumns)", .text(id)))
            case .finished, .failed, .cancelled, nil:
                return try SQLStore.one(tx.run("SELECT \(SQLStore.jobColumns) FROM jobs WHERE id = $1", .text(id)))
            }
        }
        let job = try SQLStore.jobRecord(row)
        // A pending job was cancelled at once, and its tokens revoked.
        if job.state == .cancelled { validTokens.forget { $0.jobID == id } }
        return job
    }

    @discardableResult
    public func pruneJobs(finishedBefore: Date, keepPerProject: Int) async throws(StoreError) -> Int {
        try await backend.write { tx throws(StoreError) in
            let doomed = """
                SELECT id FROM (
                    SELECT id, finished_at, row_number() OVER (PARTITION BY project ORDER BY finished_at DESC, id DESC) AS newest
                    FROM jobs WHERE state IN ('finished', 'failed', 'cancelled')
                ) ranked WHERE newest > $2 AND finished_at < $1
                """
            try SQLStore.deleteDeliveries(tx, of: doomed, [.date(finishedBefore), .int(max(0, keepPerProject))])
            try tx.run("DELETE FROM tokens WHERE job_id IN (\(doomed))", .date(finishedBefore), .int(max(0, keepPerProject)))
            try tx.run("DELETE FROM events WHERE job_id IN (\(doomed))", .date(finishedBefore), .int(max(0, keepPerProject)))
            try tx.run("DELETE FROM job_inputs WHERE job_id IN (\(doomed))", .date(finishedBefore), .int(max(0, keepPerProject)))
            return try tx.run("DELETE FROM jobs WHERE id IN (\(doomed)) RETURNING id", .date(finishedBefore), .int(max(0, keepPerProject))).count
        }
    }

    @discardableResult
    public func pruneOwnedJobs(owner: ResourceID, keepFinished: Int, keepFailed: Int) async throws(StoreError) -> Int {
        try await backend.write { tx throws(StoreError) in
            let doomed = """
                SELECT id FROM (
                    SELECT id, state, row_number() OVER (
                        PARTITION BY CASE WHEN state = 'finished' THEN 'finished' ELSE 'failed' END ORDER BY finished_at DESC, id DESC
                    ) AS newest
                    FROM jobs WHERE owner = $1 AND state IN ('finished', 'failed', 'cancelled')
                ) ranked WHERE (state = 'finished' AND newest > $2) OR (state <> 'finished' AND newest > $3)
                """
            let parameters: [SQLValue] = [.text(Coding.encodeResourceID(owner)), .int(max(0, keepFinished)), .int(max(0, keepFailed))]
            try SQLStore.deleteDeliveries(tx, of: doomed, parameters)
            try tx.query("DELETE FROM tokens WHERE job_id IN (\(doomed))", parameters)
            try tx.query("DELETE FROM events WHERE job_id IN (\(doomed))", parameters)
            try tx.query("DELETE FROM job_inputs WHERE job_id IN (\(doomed))", parameters)
            return try tx.query("DELETE FROM jobs WHERE id IN (\(doomed)) RETURNING id", parameters).count
        }
    }
}
