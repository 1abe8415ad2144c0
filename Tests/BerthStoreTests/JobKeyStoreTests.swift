import BerthCore
import Foundation
import Synchronization
import Testing

@testable import BerthStore

/// Job labels (stored, read back, filtered) and concurrency keys (the claim starts a key's jobs
/// oldest first, never more at once than the limit, across concurrent claimers) on both stores.
@Suite("Job labels and concurrency keys", .serialized)
struct JobKeyStoreTests {
    static func keyed(_ key: String?, limit: Int? = nil, priority: Int = 0, project: String = "qfield", labels: [String: String] = [:]) throws -> JobSubmission {
        var spec = try jobSpec(priority: priority)
        spec.concurrencyKey = key
        spec.maxConcurrentPerKey = limit
        return JobSubmission(project: project, name: key ?? "free", spec: spec, labels: labels)
    }

    static func claim(_ store: any Store, limit: Int = 100) async throws -> [JobRecord] {
        try await store.claimJobs(controller: "c1", engine: "engine-1", node: nil, limit: limit, projectLimits: [:], lease: .minutes(5))
    }

    /// Starts the claimed job, then finishes it.
    static func finish(_ store: any Store, _ job: JobRecord) async throws {
        try await store.transitionJob(job.id, from: .queued, to: .started, claim: job.claim, update: JobUpdate(), now: at(20))
        try await store.transitionJob(job.id, from: .started, to: .finished, claim: job.claim, update: JobUpdate(), now: at(21))
    }

    // MARK: Labels

    @Test(arguments: StoreKind.allCases)
    func labelsAreStoredReadBackAndFilterTheListing(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            // given: labels with characters a JSON path or SQL would trip on
            let awkward = "it's a \"quoted\" $.key[0] é"
            let a = try await store.submitJob(try Self.keyed(nil, labels: ["type": "apply-deltas", "project": "42", awkward: "odd"]), now: at(0)).job
            let b = try await store.submitJob(try Self.keyed(nil, labels: ["type": "apply-deltas", "project": "43", "empty": ""]), now: at(1)).job
            let c = try await store.submitJob(try Self.keyed(nil, labels: ["type": "export"]), now: at(2)).job
            let d = try await store.submitJob(try Self.keyed(nil, project: "shop", labels: ["type": "apply-deltas"]), now: at(3)).job
            func ids(_ selectors: [LabelSelector], project: String? = nil) async throws -> [String] {
                try await store.jobs(filter: JobFilter(project: project, labels: selectors), page: PageRequest(order: .oldestFirst)).items.map(\.id)
            }
            // then: read back as submitted
            #expect(try await store.job(a.id)?.labels == ["type": "apply-deltas", "project": "42", awkward: "odd"])
            #expect(a.labels == ["type": "apply-deltas", "project": "42", awkward: "odd"])
            #expect(try await store.job(c.id)?.labels == ["type": "export"])
            // one filter, two (both apply), with a project, an empty value, an awkward key, none matching
            #expect(try await ids([LabelSelector(key: "type", value: "apply-deltas")]) == [a.id, b.id, d.id])
            #expect(try await ids([LabelSelector(key: "type", value: "apply-deltas"), LabelSelector(key: "project", value: "43")]) == [b.id])
            #expect(try await ids([LabelSelector(key: "type", value: "apply-deltas")], project: "shop") == [d.id])
            #expect(try await ids([LabelSelector(key: "empty", value: "")]) == [b.id])
            #expect(try await ids([LabelSelector(key: awkward, value: "odd")]) == [a.id])
            #expect(try await ids([LabelSelector(key: "type", value: "Export")]).isEmpty)
            #expect(try await ids([LabelSelector(key: "missing", value: "")]).isEmpty)
            // claimed and ended, a job keeps its labels
            let claimed = try await Self.claim(store)
            #expect(claimed.first { $0.id == c.id }?.labels == ["type": "export"])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func jobsWrittenBeforeMigration8HaveNoLabelsAndNoKey(kind: StoreKind) async throws {
        let place = try await TestPlace.make(kind)
        defer { Task { try? await place.remove() } }
        let spec = try Coding.encode(try jobSpec())
        try await place.migrate(
            upTo: 6,
            then: [
                """
                INSERT INTO jobs (id, project, name, spec, priority, state, attempt, submitted_at)
                VALUES ('old-job', 'qfield', 'job', '\(spec)', 0, 'pending', 1, 1000)
                """
            ])
        let store = try await place.open()
        let job = try await store.job("old-job")
        let claimed = try await Self.claim(store)
        await store.close()
        try await place.remove()
        #expect(job?.labels == [:] && job?.spec.concurrencyKey == nil)
        #expect(claimed.map(\.id) == ["old-job"])
    }

    // MARK: Concurrency keys

    @Test(arguments: StoreKind.allCases)
    func aKeyStartsOneJobAtATimeOldestFirstWhateverItsPriority(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            // given: key a's second job has the highest priority of all
            let a1 = try await store.submitJob(try Self.keyed("a"), now: at(0)).job
            let b1 = try await store.submitJob(try Self.keyed("b"), now: at(1)).job
            let a2 = try await store.submitJob(try Self.keyed("a", priority: 50), now: at(2)).job
            let a3 = try await store.submitJob(try Self.keyed("a"), now: at(3)).job
            let free = try await store.submitJob(try Self.keyed(nil, priority: -5), now: at(4)).job
            let otherProject = try await store.submitJob(try Self.keyed("a", project: "shop"), now: at(5)).job
            // when / then: one of each key, and the job without a key
            let first = try await Self.claim(store)
            #expect(Set(first.map(\.id)) == [a1.id, b1.id, free.id])
            #expect(try await Self.claim(store).isEmpty)
            // a's next starts only when a1 ended, and then before a3 (both in every project: a key spans projects)
            try await Self.finish(store, first.first { $0.id == a1.id }!)
            #expect(try await Self.claim(store).map(\.id) == [a2.id])
            try await Self.finish(store, try #require(try await store.job(a2.id)))
            #expect(try await Self.claim(store).map(\.id) == [a3.id])
            try await Self.finish(store, try #require(try await store.job(a3.id)))
            #expect(try await Self.claim(store).map(\.id) == [otherProject.id])
            #expect(try await store.job(a2.id)?.spec.concurrencyKey == "a")
        }
    }

    @Test(arguments: StoreKind.allCases)
    func maxConcurrentPerKeyStartsThatMany(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            var jobs: [JobRecord] = []
            for second in 0..<5 { jobs.append(try await store.submitJob(try Self.keyed("k", limit: 2), now: at(Double(second))).job) }
            // a claim for one at a time still fills the key's two places, over two claims
            #expect(try await Self.claim(store, limit: 1).map(\.id) == [jobs[0].id])
            #expect(try await Self.claim(store, limit: 1).map(\.id) == [jobs[1].id])
            #expect(try await Self.claim(store).isEmpty)
            try await Self.finish(store, try #require(try await store.job(jobs[1].id)))
            #expect(try await Self.claim(store).map(\.id) == [jobs[2].id])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aPendingRetryKeepsItsPlaceAtTheHeadOfItsKey(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            let first = try await store.submitJob(try Self.keyed("k"), now: at(0)).job
            let second = try await store.submitJob(try Self.keyed("k"), now: at(1)).job
            let claimed = try #require(try await Self.claim(store).first)
            #expect(claimed.id == first.id)
            // when: the first fails and waits an hour for its retry
            try await store.transitionJob(
                first.id, from: .queued, to: .pending, claim: claimed.claim, update: JobUpdate(nextAttemptAt: Date().addingTimeInterval(3600)), now: at(30))
            // then: the second does not overtake it
            #expect(try await Self.claim(store).isEmpty)
            #expect(try await store.job(second.id)?.state == .pending)
        }
    }

    /// Four claimers (PostgreSQL: each on its own connection) claim, hold and finish 200 jobs over
    /// 20 keys. A job is counted running from after its claim commits until before its finish
    /// commits, so the count can only exceed the limit when the store let two overlap.
    @Test(arguments: StoreKind.allCases)
    func concurrentClaimersNeverRunTwoJobsOfOneKeyAtOnce(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, place in
            // given: submitted round-robin over the keys, with random priorities
            var submissions: [JobSubmission] = []
            for index in 0..<200 { submissions.append(try Self.keyed("key-\(index % 20)", priority: Int.random(in: 0...3))) }
            for (index, submission) in submissions.enumerated() { _ = try await store.submitJob(submission, now: at(Double(index) / 1000)) }
            let claimers: [any Store] =
                kind == .postgres
                ? try await (0..<4).asyncMap { _ in try await place.open(poolSize: 1) }
                : Array(repeating: store, count: 4)
            let watch = KeyWatch()
            // when
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, claimer) in claimers.enumerated() {
                    group.addTask {
                        var idleRounds = 0
                        while idleRounds < 50 {
                            let batch = try await claimer.claimJobs(controller: "c\(index)", engine: "engine-1", node: nil, limit: 3, projectLimits: [:], lease: .minutes(5))
                            if batch.isEmpty {
                                idleRounds += 1
                                try await Task.sleep(for: .milliseconds(5))
                                continue
                            }
                            idleRounds = 0
                            for job in batch { watch.started(job) }
                            try await Task.sleep(for: .milliseconds(2))
                            for job in batch {
                                watch.ending(job)
                                try await Self.finish(claimer, job)
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            if kind == .postgres { for claimer in claimers { await claimer.close() } }
            // then: every job ran, one per key at a time, each key's in submission order
            let seen = watch.state.withLock { $0 }
            #expect(seen.overlaps.isEmpty, "\(seen.overlaps.prefix(5))")
            #expect(try await store.jobCounts(project: nil) == [.finished: 200])
            for (key, ids) in seen.order { #expect(ids == ids.sorted(), "\(key) started out of order") }
            #expect(seen.order.count == 20)
        }
    }
}

/// The jobs of each key running in a test's claimers: counted from after a claim commits until
/// before the finish commits, so two at once mean the store let them overlap.
private final class KeyWatch: Sendable {
    struct State {
        var running: [String: Int] = [:]
        var overlaps: [String] = []
        /// Per key, the jobs in the order they were claimed.
        var order: [String: [String]] = [:]
    }

    let state = Mutex(State())

    func started(_ job: JobRecord) {
        let key = job.spec.concurrencyKey ?? "?"
        state.withLock { state in
            state.running[key, default: 0] += 1
            if state.running[key, default: 0] > 1 { state.overlaps.append("\(key): \(state.running[key, default: 0]) at once") }
            state.order[key, default: []].append(job.id)
        }
    }

    func ending(_ job: JobRecord) {
        state.withLock { $0.running[job.spec.concurrencyKey ?? "?", default: 0] -= 1 }
    }
}
