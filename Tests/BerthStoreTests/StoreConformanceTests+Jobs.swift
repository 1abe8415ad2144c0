import BerthCore
import Foundation
import Testing

@testable import BerthStore

/// The job queue on both stores: submission, claims, transitions, leases, cancel, listing, retention.
extension StoreConformanceTests {
    // MARK: Job submission

    @Test(arguments: StoreKind.allCases)
    func submitsAJobAndReadsItBack(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            // given
            var spec = try jobSpec("process")
            spec.activeDeadline = .minutes(10)
            spec.backoffLimit = 2
            spec.feedbackPath = "/io/feedback.json"
            spec.nonRetryableExitCodes = [3]
            let owner = ResourceID(kind: .cronJob, project: "qfield", name: "nightly")
            // when
            let (job, created) = try await store.submitJob(JobSubmission(project: "qfield", name: "package", spec: spec, owner: owner), now: at(0))
            // then
            #expect(created)
            #expect(job.id.count == 26)
            #expect(job.state == .pending && job.attempt == 1 && job.priority == 0)
            #expect(job.spec == spec && job.owner == owner && job.submittedAt == at(0))
            #expect(job.queuedAt == nil && job.claimedBy == nil && !job.cancelRequested)
            #expect(try await store.job(job.id) == job)
            #expect(try await store.job("nope") == nil)
            let events = try await store.events(EventQuery(jobID: job.id))
            #expect(events.map(\.reason) == ["Submitted"])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aRepeatedIdempotencyKeyReturnsTheFirstJob(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            // when
            let first = try await store.submitJob(try submission(key: "export-17"), now: at(0))
            let second = try await store.submitJob(try submission(name: "other", key: "export-17"), now: at(1))
            let otherProject = try await store.submitJob(try submission(project: "shop", key: "export-17"), now: at(2))
            let withoutKey1 = try await store.submitJob(try submission(), now: at(3))
            let withoutKey2 = try await store.submitJob(try submission(), now: at(3))
            // then
            #expect(first.created && !second.created)
            #expect(second.job == first.job)
            #expect(otherProject.created && otherProject.job.id != first.job.id)
            #expect(withoutKey1.job.id != withoutKey2.job.id)
            #expect(try await store.jobCounts(project: nil) == [.pending: 4])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func concurrentSubmitsWithOneKeyMakeOneJob(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            let results = try await withThrowingTaskGroup(of: (JobRecord, Bool).self) { group in
                for _ in 0..<16 {
                    group.addTask { try await store.submitJob(try submission(key: "same"), now: at(0)) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(Set(results.map(\.0.id)).count == 1)
            #expect(results.filter(\.1).count == 1)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func concurrentSubmitsWithRepeatedKeysMakeOneJobPerKey(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            // given: 120 submits at once, far more than the writers, so they go in batches
            let keys = (0..<120).map { $0 < 80 ? "key-\($0 % 20)" : nil }
            // when
            let results = try await withThrowingTaskGroup(of: (String?, JobRecord, Bool).self) { group in
                for (index, key) in keys.enumerated() {
                    group.addTask {
                        let (job, created) = try await store.submitJob(try submission(name: "job-\(index)", key: key), now: at(0))
                        return (key, job, created)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            // then: one job per key and one per keyless submit, each with one Submitted event
            let byKey = Dictionary(grouping: results.filter { $0.0 != nil }, by: { $0.0 })
            #expect(byKey.count == 20)
            #expect(byKey.values.allSatisfy { Set($0.map(\.1.id)).count == 1 && $0.filter(\.2).count == 1 })
            let keyless = results.filter { $0.0 == nil }
            #expect(keyless.count == 40 && keyless.allSatisfy { $0.2 })
            #expect(try await store.jobCounts(project: "qfield") == [.pending: 60])
            let events = try await store.events(EventQuery(project: "qfield", limit: 1000))
            #expect(events.filter { $0.reason == "Submitted" }.count == 60)
            #expect(Set(events.compactMap(\.jobID)) == Set(results.filter(\.2).map(\.1.id)))
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aBatchMakesOneJobPerKeyAndAnEventPerJob(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            // given
            let earlier = try await store.submitJob(try submission(name: "earlier", key: "old"), now: at(0)).job
            // when
            let results = try await submitBatch(
                store,
                [
                    try submission(name: "a", key: "k1"),
                    try submission(name: "b"),
                    try submission(name: "a-again", key: "k1"),
                    try submission(project: "shop", name: "a-in-shop", key: "k1"),
                    try submission(name: "old-again", key: "old"),
                    try submission(name: "c"),
                ], now: at(1))
            // then
            let outcomes = try results.map { try $0.get() }
            #expect(outcomes.map(\.created) == [true, true, false, true, false, true])
            #expect(outcomes[2].job == outcomes[0].job)
            #expect(outcomes[3].job.id != outcomes[0].job.id && outcomes[3].job.project == "shop")
            #expect(outcomes[4].job == earlier)
            for outcome in outcomes where outcome.created {
                #expect(try await store.job(outcome.job.id) == outcome.job)
            }
            #expect(try await store.jobCounts(project: "qfield") == [.pending: 4])
            let submitted = try await store.events(EventQuery()).filter { $0.reason == "Submitted" }
            #expect(submitted.map(\.jobID) == [earlier.id] + outcomes.filter(\.created).map(\.job.id))
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aSubmissionTheDatabaseRefusesFailsAloneInItsBatch(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            // given: the database refuses jobs named poison
            switch kind {
            case .postgres:
                try await rawExecute(store, "ALTER TABLE jobs ADD CONSTRAINT no_poison CHECK (name <> 'poison')")
            case .sqlite:
                try await rawExecute(
                    store,
                    """
                    CREATE TRIGGER no_poison BEFORE INSERT ON jobs WHEN NEW.name = 'poison'
                    BEGIN SELECT RAISE(ABORT, 'no poison'); END
                    """)
            }
            // when
            let results = try await submitBatch(
                store,
                [
                    try submission(name: "a"), try submission(name: "poison", key: "p"), try submission(name: "b", key: "k"),
                    try submission(name: "c"),
                ], now: at(0))
            // then: the others are written, with their events; the refused one says why
            let refused = try #require(results[1].failure)
            #expect(refused.code == .database)
            #expect(refused.message.contains("poison"))
            let written = results.compactMap { try? $0.get() }
            #expect(written.map(\.job.name) == ["a", "b", "c"] && written.allSatisfy(\.created))
            let stored = try await store.jobs(filter: JobFilter(), page: PageRequest())
            #expect(stored.items.map(\.name).sorted() == ["a", "b", "c"])
            let events = try await store.events(EventQuery())
            #expect(events.map(\.jobID) == written.map(\.job.id))
        }
    }

    // MARK: Claims

    @Test(arguments: StoreKind.allCases)
    func claimsByPriorityThenAge(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            // given
            let low = try await store.submitJob(try submission(name: "low", priority: -5), now: at(0)).job
            let old = try await store.submitJob(try submission(name: "old"), now: at(1)).job
            let urgent = try await store.submitJob(try submission(name: "urgent", priority: 10), now: at(2)).job
            let young = try await store.submitJob(try submission(name: "young"), now: at(3)).job
            // when
            let first = try await store.claimJobs(controller: "c1", engine: "engine-1", node: nil, limit: 2, projectLimits: [:], lease: .seconds(30))
            let rest = try await store.claimJobs(controller: "c2", engine: "engine-1", node: nil, limit: 10, projectLimits: [:], lease: .seconds(30))
            let none = try await store.claimJobs(controller: "c2", engine: "engine-1", node: nil, limit: 10, projectLimits: [:], lease: .seconds(30))
            // then
            #expect(first.map(\.id) == [urgent.id, old.id])
            #expect(rest.map(\.id) == [young.id, low.id])
            #expect(none.isEmpty)
            #expect(first.allSatisfy { $0.state == .queued && $0.claimedBy == "c1" && $0.claimedEngine == "engine-1" && $0.fence == 1 })
            // leased from the store's clock (here the same host's): 30 s after the claim
            for job in first {
                let queued = try #require(job.queuedAt)
                #expect(abs(queued.timeIntervalSinceNow) < 60 && job.leaseExpiresAt == queued.addingTimeInterval(30), "\(job)")
            }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func claimsRespectProjectLimitsAndExclusivity(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            // given: qfield may run 2, shop 1 (exclusive), other has no limit
            for index in 0..<4 {
                try await store.submitJob(try submission(project: "qfield", name: "q\(index)", priority: 5), now: at(Double(index)))
                try await store.submitJob(try submission(project: "shop", name: "s\(index)", priority: 5), now: at(Double(index)))
                try await store.submitJob(try submission(project: "other", name: "o\(index)"), now: at(Double(index)))
            }
            let limits = ["qfield": ProjectJobLimits(maxConcurrent: 2), "shop": ProjectJobLimits(maxConcurrent: 3, exclusive: true)]
            // when
            let first = try await store.claimJobs(controller: "c1", engine: "engine-1", node: nil, limit: 5, projectLimits: limits, lease: .seconds(30))
            let second = try await store.claimJobs(controller: "c2", engine: "engine-1", node: nil, limit: 10, projectLimits: limits, lease: .seconds(30))
            // then
            #expect(first.map(\.name) == ["q0", "s0", "q1", "o0", "o1"])
            #expect(second.map(\.name) == ["o2", "o3"])
            // a finished job frees a slot
            let q0 = try #require(first.first)
            try await store.transitionJob(q0.id, from: .queued, to: .cancelled, claim: JobClaim(controller: "c1", fence: 1), update: JobUpdate(), now: at(11))
            let third = try await store.claimJobs(controller: "c2", engine: "engine-1", node: nil, limit: 10, projectLimits: limits, lease: .seconds(30))
            #expect(third.map(\.name) == ["q2"])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aRetryIsNotClaimedBeforeItsTime(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            // given
            let job = try await store.submitJob(try submission(), now: at(0)).job
            _ = try await store.claimJobs(controller: "c1", engine: "engine-1", node: nil, limit: 1, projectLimits: [:], lease: .seconds(30))
            try await store.transitionJob(job.id, from: .queued, to: .started, claim: JobClaim(controller: "c1", fence: 1), update: JobUpdate(containerID: "abc"), now: at(2))
            // when: due in 1.5 s (whole milliseconds, as the store keeps them)
            let dueAt = Date(timeIntervalSince1970: ((Date().timeIntervalSince1970 + 1.5) * 1000).rounded() / 1000)
            let retry = try await store.transitionJob(
                job.id, from: .started, to: .pending, claim: JobClaim(controller: "c1", fence: 1),
                update: JobUpdate(exitCode: 1, reason: "Error", nextAttemptAt: dueAt), now: at(5)
            )
            let early = try await store.claimJobs(controller: "c1", engine: "engine-1", node: nil, limit: 1, projectLimits: [:], lease: .seconds(30))
            var due: [JobRecord] = []
            let clock = ContinuousClock()
            let giveUp = clock.now + .seconds(30)
            while due.isEmpty, clock.now < giveUp {
                try await Task.sleep(for: .milliseconds(50))
                due = try await store.claimJobs(controller: "c2", engine: "engine-2", node: nil, limit: 1, projectLimits: [:], lease: .seconds(30))
            }
            // then
            #expect(retry.state == .pending && retry.attempt == 2 && retry.exitCode == 1 && retry.reason == "Error")
            #expect(retry.claimedBy == nil && retry.claimedEngine == nil && retry.containerID == nil && retry.startedAt == nil && retry.nextAttemptAt == dueAt)
            #expect(early.isEmpty)
            #expect(Date() >= dueAt.addingTimeInterval(-1), "claimed no earlier than due (give or take the clocks' difference)")
            #expect(due.map(\.id) == [job.id])
            #expect(due.first?.attempt == 2 && due.first?.nextAttemptAt == nil && due.first?.fence == 2 && due.first?.claimedEngine == "engine-2")
        }
    }

    // MARK: Transitions

    /// Puts a new job into `state` through legal transitions, claimed by `c1`.
    static func job(in state: JobState, store: any Store, name: String) async throws -> JobRecord {
        let job = try await store.submitJob(try submission(name: name), now: at(0)).job
        let lease = JobUpdate(leaseExpiresAt: at(100))
        switch state {
        case .pending:
            return job
        case .cancelled:
            return try await store.transitionJob(job.id, from: .pending, to: .cancelled, claim: nil, update: JobUpdate(reason: "Cancelled"), now: at(1))
        default:
            break
        }
        let queued = try await store.transitionJob(job.id, from: .pending, to: .queued, claim: JobClaim(controller: "c1", fence: 1), update: lease, now: at(1))
        if state == .queued { return queued }
        let started = try await store.transitionJob(job.id, from: .queued, to: .started, claim: JobClaim(controller: "c1", fence: 1), update: JobUpdate(containerID: "ctr"), now: at(2))
        switch state {
        case .started: return started
        case .finished: return try await store.transitionJob(job.id, from: .started, to: .finished, claim: JobClaim(controller: "c1", fence: 1), update: JobUpdate(exitCode: 0), now: at(3))
        default: return try await store.transitionJob(job.id, from: .started, to: .failed, claim: JobClaim(controller: "c1", fence: 1), update: JobUpdate(exitCode: 2), now: at(3))
        }
    }

    @Test(arguments: StoreKind.allCases)
    func everyLegalTransitionSucceedsAndEveryIllegalOneIsRefused(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            for from in JobState.allCases {
                for to in JobState.allCases {
                    let job = try await Self.job(in: from, store: store, name: "\(from)-\(to)")
                    #expect(job.state == from)
                    if from.canTransition(to: to) {
                        let moved = try await store.transitionJob(job.id, from: from, to: to, claim: JobClaim(controller: "c1", fence: 1), update: JobUpdate(reason: "Test"), now: at(50))
                        #expect(moved.state == to, "\(from) → \(to)")
                        #expect(moved.reason == "Test")
                        if to.isTerminal { #expect(moved.finishedAt == at(50) && moved.leaseExpiresAt == nil) }
                        if from == .pending && to == .queued { #expect(moved.claimedBy == "c1" && moved.queuedAt == at(50)) }
                        if from == .queued && to == .started { #expect(moved.startedAt == at(50)) }
                    } else {
                        let error = await expectStoreError(.illegalTransition) {
                            try await store.transitionJob(job.id, from: from, to: to, claim: JobClaim(controller: "c1", fence: 1), update: JobUpdate(), now: at(50))
                        }
                        #expect(error?.isRetryable == false)
                        #expect(try await store.job(job.id)?.state == from)
                    }
                }
            }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aTransitionFromTheWrongStateOrByAnotherControllerIsAConflict(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            // given
            let started = try await Self.job(in: .started, store: store, name: "running")
            // when / then
            let wrongState = await expectStoreError(.stateConflict) {
                try await store.transitionJob(started.id, from: .queued, to: .started, claim: JobClaim(controller: "c1", fence: 1), update: JobUpdate(), now: at(5))
            }
            #expect(wrongState?.jobState == .started)
            let otherController = await expectStoreError(.claimLost) {
                try await store.transitionJob(started.id, from: .started, to: .finished, claim: JobClaim(controller: "c2", fence: 1), update: JobUpdate(), now: at(5))
            }
            #expect(otherController?.message.contains("c2") == true)
            await expectStoreError(.notFound) {
                try await store.transitionJob("missing", from: .started, to: .finished, claim: nil, update: JobUpdate(), now: at(5))
            }
            // two controllers racing to finish the same job: exactly one wins
            let outcomes = await withTaskGroup(of: Bool.self) { group in
                for state in [JobState.finished, .failed, .cancelled] {
                    group.addTask {
                        (try? await store.transitionJob(started.id, from: .started, to: state, claim: nil, update: JobUpdate(), now: at(6))) != nil
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 }.count == 1)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func recordsResultsTimestampsAndAnEventPerTransition(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            // given
            let job = try await store.submitJob(try submission(), now: at(0)).job
            let claimed = try await store.claimJobs(controller: "c1", engine: "engine-1", node: nil, limit: 1, projectLimits: [:], lease: .seconds(30))
            let created = try await store.transitionJob(job.id, from: .queued, to: .queued, claim: JobClaim(controller: "c1", fence: 1), update: JobUpdate(containerID: "ctr-1"), now: at(2))
            try await store.transitionJob(job.id, from: .queued, to: .started, claim: JobClaim(controller: "c1", fence: 1), update: JobUpdate(), now: at(3))
            let progress = try await store.transitionJob(
                job.id, from: .started, to: .started, claim: JobClaim(controller: "c1", fence: 1), update: JobUpdate(feedback: #"{"progress":0.5}"#), now: at(4))
            // when
            let finished = try await store.transitionJob(
                job.id, from: .started, to: .finished, claim: JobClaim(controller: "c1", fence: 1),
                update: JobUpdate(exitCode: 0, reason: "Completed", stdoutTail: "done\n", stderrTail: "", feedback: #"{"ok":true}"#), now: at(9)
            )
            // then
            #expect(claimed.count == 1 && created.containerID == "ctr-1" && progress.feedback == #"{"progress":0.5}"#)
            #expect(finished.submittedAt == at(0) && finished.queuedAt == claimed.first?.queuedAt && finished.startedAt == at(3) && finished.finishedAt == at(9))
            #expect(finished.exitCode == 0 && finished.reason == "Completed" && finished.stdoutTail == "done\n" && finished.stderrTail == "")
            #expect(finished.feedback == #"{"ok":true}"# && finished.containerID == "ctr-1" && finished.claimedBy == "c1")
            let events = try await store.events(EventQuery(jobID: job.id))
            #expect(events.map(\.reason) == ["Submitted", "Queued", "Started", "Finished"])
            #expect(events.last?.message.contains("Completed") == true)
            // and read together, as the API shows a job: the same job and events, up to the limit
            let together = try #require(try await store.job(job.id, events: 1000))
            #expect(together.job == finished && together.events.map(\.sequence) == events.map(\.sequence))
            #expect(try await store.job(job.id, events: 2)?.events.map(\.reason) == ["Submitted", "Queued"])
            #expect(try await store.job("nope", events: 10) == nil)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aTransitionsExplanationIsWrittenWithItOrNotAtAll(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            // given: a started job
            let job = try await store.submitJob(try submission(), now: at(0)).job
            _ = try await store.claimJobs(controller: "c1", engine: "engine-1", node: nil, limit: 1, projectLimits: [:], lease: .seconds(30))
            try await store.transitionJob(job.id, from: .queued, to: .started, claim: JobClaim(controller: "c1", fence: 1), update: JobUpdate(), now: at(2))
            let explanation = JobUpdate.Explanation(type: .warning, reason: "BackoffLimitExceeded", message: "attempt 1: exit code 3")
            // when: another controller's transition is refused, then the holder's succeeds
            await #expect(throws: StoreError.self) {
                try await store.transitionJob(job.id, from: .started, to: .failed, claim: JobClaim(controller: "c2", fence: 1), update: JobUpdate(exitCode: 3, explanation: explanation), now: at(3))
            }
            try await store.transitionJob(job.id, from: .started, to: .failed, claim: JobClaim(controller: "c1", fence: 1), update: JobUpdate(exitCode: 3, explanation: explanation), now: at(4))
            // then: the explanation follows the transition's own event, once, at its time
            let events = try await store.events(EventQuery(jobID: job.id))
            #expect(events.map(\.reason) == ["Submitted", "Queued", "Started", "Failed", "BackoffLimitExceeded"])
            let written = try #require(events.last)
            #expect(written.type == .warning && written.message == "attempt 1: exit code 3" && written.time == at(4) && written.project == job.project)
        }
    }

    // MARK: Leases

    /// Takes over expired leases until `count` jobs were taken, for at most 30 s.
    static func takeOver(_ count: Int, store: any Store, controller: String, engine: String) async throws -> [JobRecord] {
        var taken: [JobRecord] = []
        let clock = ContinuousClock()
        let giveUp = clock.now + .seconds(30)
        while taken.count < count, clock.now < giveUp {
            taken += try await store.takeOverExpiredJobs(controller: controller, engine: engine, lease: .seconds(30))
            if taken.count < count { try await Task.sleep(for: .milliseconds(50)) }
        }
        return taken
    }

    @Test(arguments: StoreKind.allCases)
    func expiredLeasesAreTakenOverWithANewFenceAndRenewedOnesAreNot(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            // given: a and b held by a controller that stops renewing (a 2 s lease), c by one that renews
            let a = try await store.submitJob(try submission(name: "a"), now: at(0)).job
            let b = try await store.submitJob(try submission(name: "b"), now: at(0)).job
            let c = try await store.submitJob(try submission(name: "c"), now: at(0)).job
            _ = try await store.claimJobs(controller: "dead", engine: "engine-1", node: nil, limit: 2, projectLimits: [:], lease: .seconds(2))
            _ = try await store.claimJobs(controller: "alive", engine: "engine-1", node: nil, limit: 1, projectLimits: [:], lease: .seconds(2))
            try await store.transitionJob(b.id, from: .queued, to: .started, claim: JobClaim(controller: "dead", fence: 1), update: JobUpdate(containerID: "ctr-b"), now: at(2))
            // when
            #expect(try await store.renewLeases(controller: "alive", claims: [c.id: 1], lease: .seconds(60)) == [c.id])
            let early = try await store.takeOverExpiredJobs(controller: "taker", engine: "engine-2", lease: .seconds(30))
            let taken = try await Self.takeOver(2, store: store, controller: "taker", engine: "engine-2")
            // then: moved to the taker with a new fence and lease, state and attempt kept
            #expect(early.isEmpty)
            #expect(Set(taken.map(\.id)) == [a.id, b.id])
            #expect(taken.allSatisfy { $0.claimedBy == "taker" && $0.claimedEngine == "engine-2" && $0.fence == 2 && $0.attempt == 1 }, "\(taken)")
            #expect(taken.first { $0.id == a.id }?.state == .queued && taken.first { $0.id == b.id }?.state == .started)
            #expect(taken.first { $0.id == b.id }?.containerID == "ctr-b")
            #expect(try await store.job(c.id)?.claimedBy == "alive", "a renewed lease is not taken over")
            let event = try await store.events(EventQuery(jobID: b.id)).last
            #expect(event?.reason == "TakenOver" && event?.type == .warning, "\(String(describing: event))")
            #expect(event?.message.contains("dead") == true && event?.message.contains("taker") == true)
            // the old holder can neither renew nor advance its claim; the taker can
            #expect(try await store.renewLeases(controller: "dead", claims: [a.id: 1, b.id: 1], lease: .seconds(60)).isEmpty)
            await expectStoreError(.claimLost) {
                try await store.transitionJob(b.id, from: .started, to: .finished, claim: JobClaim(controller: "dead", fence: 1), update: JobUpdate(), now: at(33))
            }
            let finished = try await store.transitionJob(b.id, from: .started, to: .finished, claim: JobClaim(controller: "taker", fence: 2), update: JobUpdate(), now: at(34))
            #expect(finished.state == .finished && finished.attempt == 1)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aTransitionOrRenewalWithAStaleFenceIsRefused(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            // given: a job claimed by c1 whose lease ran out, taken over by c1 again (a restart
            // that kept its name), so fence 1 is stale and fence 2 current
            let job = try await store.submitJob(try submission(), now: at(0)).job
            _ = try await store.claimJobs(controller: "c1", engine: "engine-1", node: nil, limit: 1, projectLimits: [:], lease: .milliseconds(300))
            let taken = try await Self.takeOver(1, store: store, controller: "c1", engine: "engine-1")
            #expect(taken.map(\.fence) == [2])
            let leased = try #require(try await store.job(job.id)?.leaseExpiresAt)
            // when / then
            #expect(try await store.renewLeases(controller: "c1", claims: [job.id: 1], lease: .seconds(600)).isEmpty)
            #expect(try await store.job(job.id)?.leaseExpiresAt == leased, "a renewal with the wrong fence renews nothing")
            let stale = await expectStoreError(.claimLost) {
                try await store.transitionJob(job.id, from: .queued, to: .started, claim: JobClaim(controller: "c1", fence: 1), update: JobUpdate(), now: at(5))
            }
            #expect(stale?.message.contains("fencing token 1") == true, "\(stale?.message ?? "")")
            #expect(try await store.job(job.id)?.state == .queued)
            #expect(try await store.renewLeases(controller: "c1", claims: [job.id: 2], lease: .seconds(600)) == [job.id])
            let started = try await store.transitionJob(job.id, from: .queued, to: .started, claim: JobClaim(controller: "c1", fence: 2), update: JobUpdate(), now: at(6))
            #expect(started.state == .started && started.fence == 2)
            let lease = try #require(started.leaseExpiresAt)
            #expect(lease.timeIntervalSinceNow > 500, "renewed from the store's clock for 600 s: \(lease)")
        }
    }

    // MARK: Cancel

    @Test(arguments: StoreKind.allCases)
    func cancellingAPendingJobEndsItAndAnActiveOneIsFlagged(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            // given
            let pending = try await store.submitJob(try submission(name: "p"), now: at(0)).job
            let running = try await Self.job(in: .started, store: store, name: "r")
            let done = try await Self.job(in: .finished, store: store, name: "d")
            let notifications = store.notifications()
            // when
            let cancelledPending = try await store.requestCancel(pending.id, now: at(10))
            let flagged = try await store.requestCancel(running.id, now: at(10))
            let untouched = try await store.requestCancel(done.id, now: at(10))
            // then
            #expect(cancelledPending.state == .cancelled && cancelledPending.finishedAt == at(10) && cancelledPending.reason == "Cancelled")
            #expect(flagged.state == .started && flagged.cancelRequested)
            #expect(untouched == done)
            #expect(try await store.claimJobs(controller: "c9", engine: "engine-1", node: nil, limit: 10, projectLimits: [:], lease: .seconds(5)).isEmpty)
            await expectStoreError(.notFound) { try await store.requestCancel("missing", now: at(10)) }
            let wake = await firstNotification(notifications) { $0 == .jobCancelRequested(jobID: running.id) }
            #expect(wake)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func cancellingAQueuedJobIsFlaggedAndItsHolderEndsItCancelledNeverToBeClaimedAgain(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            // given: claimed by c1, its container not created yet
            let queued = try await Self.job(in: .queued, store: store, name: "q")
            let notifications = store.notifications()
            // when
            let flagged = try await store.requestCancel(queued.id, now: at(10))
            let ended = try await store.transitionJob(queued.id, from: .queued, to: .cancelled, claim: JobClaim(controller: "c1", fence: 1), update: JobUpdate(reason: "Cancelled"), now: at(11))
            // then: the holder is told and ends it; it never started and no one claims it again
            #expect(flagged.state == .queued && flagged.cancelRequested && flagged.finishedAt == nil)
            let wake = await firstNotification(notifications) { $0 == .jobCancelRequested(jobID: queued.id) }
            #expect(wake)
            #expect(ended.state == .cancelled && ended.reason == "Cancelled" && ended.finishedAt == at(11) && ended.startedAt == nil)
            let reasons = try await store.events(EventQuery(jobID: queued.id)).map(\.reason)
            #expect(reasons.suffix(2) == ["CancelRequested", "Cancelled"], "\(reasons)")
            #expect(try await store.claimJobs(controller: "c2", engine: "engine-1", node: nil, limit: 10, projectLimits: [:], lease: .seconds(5)).isEmpty)
            #expect(try await store.takeOverExpiredJobs(controller: "c2", engine: "engine-1", lease: .seconds(5)).isEmpty, "an ended job holds no lease")
            await expectStoreError(.stateConflict) {
                try await store.transitionJob(queued.id, from: .queued, to: .started, claim: JobClaim(controller: "c1", fence: 1), update: JobUpdate(containerID: "late"), now: at(12))
            }
        }
    }

    // MARK: Listing

    @Test(arguments: StoreKind.allCases)
    func listsJobsPageByPageWithFilters(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            // given: 25 jobs in qfield a second apart, 3 in shop
            var ids: [String] = []
            for index in 0..<25 {
                ids.append(try await store.submitJob(try submission(name: "q\(index)"), now: at(Double(index))).job.id)
            }
            for index in 0..<3 {
                try await store.submitJob(try submission(project: "shop", name: "s\(index)"), now: at(Double(index)))
            }
            _ = try await store.claimJobs(controller: "c1", engine: "engine-1", node: nil, limit: 2, projectLimits: ["shop": ProjectJobLimits(maxConcurrent: 0)], lease: .seconds(30))
            // when
            var pages: [[String]] = []
            var cursor: String?
            repeat {
                let page = try await store.jobs(filter: JobFilter(project: "qfield"), page: PageRequest(limit: 10, cursor: cursor))
                pages.append(page.items.map(\.id))
                cursor = page.nextCursor
            } while cursor != nil
            // then
            #expect(pages.map(\.count) == [10, 10, 5])
            #expect(pages.flatMap { $0 } == ids.reversed())
            let oldest = try await store.jobs(filter: JobFilter(project: "qfield"), page: PageRequest(limit: 3, order: .oldestFirst))
            #expect(oldest.items.map(\.id) == Array(ids.prefix(3)))
            let next = try await store.jobs(filter: JobFilter(project: "qfield"), page: PageRequest(limit: 3, cursor: oldest.nextCursor, order: .oldestFirst))
            #expect(next.items.map(\.id) == Array(ids[3..<6]))
            let queued = try await store.jobs(filter: JobFilter(states: [.queued]), page: PageRequest())
            #expect(queued.items.map(\.id) == [ids[1], ids[0]] && queued.nextCursor == nil)
            let pendingInRange = try await store.jobs(
                filter: JobFilter(project: "qfield", states: [.pending, .started], submittedAfter: at(5), submittedBefore: at(8)), page: PageRequest()
            )
            #expect(pendingInRange.items.map(\.name) == ["q7", "q6", "q5"])
            #expect(try await store.jobs(filter: JobFilter(claimedBy: "c1"), page: PageRequest()).items.count == 2)
            #expect(try await store.jobCounts(project: "qfield") == [.pending: 23, .queued: 2])
            await expectStoreError(.invalidArgument) { try await store.jobs(filter: JobFilter(), page: PageRequest(limit: 0)) }
        }
    }

    // MARK: Retention

    @Test(arguments: StoreKind.allCases)
    func prunesOldFinishedJobsKeepingTheNewestPerProject(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            // given: 5 finished jobs in qfield (ending at 10…14 s), 2 in shop, one running, one pending
            var finished: [String] = []
            for index in 0..<5 {
                let job = try await Self.job(in: .started, store: store, name: "q\(index)")
                try await store.transitionJob(job.id, from: .started, to: .finished, claim: JobClaim(controller: "c1", fence: 1), update: JobUpdate(exitCode: 0), now: at(10 + Double(index)))
                finished.append(job.id)
            }
            for index in 0..<2 {
                let job = try await store.submitJob(try submission(project: "shop", name: "s\(index)"), now: at(0)).job
                try await store.requestCancel(job.id, now: at(11))
            }
            let running = try await Self.job(in: .started, store: store, name: "running")
            let pending = try await store.submitJob(try submission(name: "waiting"), now: at(0)).job
            // when: older than 13 s, but keep 2 per project
            let pruned = try await store.pruneJobs(finishedBefore: at(13.5), keepPerProject: 2)
            // then: qfield keeps q3, q4 (newest two); shop's two are the newest of their project
            #expect(pruned == 3)
            let left = try await store.jobs(filter: JobFilter(), page: PageRequest(limit: 100)).items.map(\.id)
            #expect(Set(left) == Set([finished[3], finished[4], running.id, pending.id]).union(try await store.jobs(filter: JobFilter(project: "shop"), page: PageRequest()).items.map(\.id)))
            #expect(try await store.jobs(filter: JobFilter(project: "shop"), page: PageRequest()).items.count == 2)
            #expect(try await store.pruneJobs(finishedBefore: at(100), keepPerProject: 0) == 4)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func prunesAnOwnersHistoryToItsLimitsLeavingOthersAlone(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            // given: a CronJob's 4 finished and 3 failed runs, one running; another owner's finished run
            let cron = ResourceID(kind: .cronJob, project: "qfield", name: "nightly")
            let other = ResourceID(kind: .cronJob, project: "qfield", name: "hourly")
            func run(_ owner: ResourceID, _ name: String, ending: JobState?, at seconds: Double) async throws -> String {
                var owned = try submission(name: name)
                owned.owner = owner
                let job = try await store.submitJob(owned, now: at(0)).job
                _ = try await store.claimJobs(controller: "c1", engine: "engine-1", node: nil, limit: 1, projectLimits: [:], lease: .seconds(100))
                try await store.transitionJob(job.id, from: .queued, to: .started, claim: JobClaim(controller: "c1", fence: 1), update: JobUpdate(), now: at(2))
                if let ending {
                    try await store.transitionJob(
                        job.id, from: .started, to: ending, claim: JobClaim(controller: "c1", fence: 1), update: JobUpdate(exitCode: ending == .finished ? 0 : 1), now: at(seconds))
                }
                return job.id
            }
            var finished: [String] = []
            var failed: [String] = []
            for index in 0..<4 { finished.append(try await run(cron, "ok\(index)", ending: .finished, at: 10 + Double(index))) }
            for index in 0..<3 { failed.append(try await run(cron, "bad\(index)", ending: .failed, at: 20 + Double(index))) }
            let running = try await run(cron, "now", ending: nil, at: 0)
            let bystander = try await run(other, "elsewhere", ending: .finished, at: 5)

            // when
            let pruned = try await store.pruneOwnedJobs(owner: cron, keepFinished: 2, keepFailed: 1)

            // then: the two newest finished, the newest failed, the running one, and the other owner's
            #expect(pruned == 4)
            let left = Set(try await store.jobs(filter: JobFilter(), page: PageRequest(limit: 100)).items.map(\.id))
            #expect(left == [finished[2], finished[3], failed[2], running, bystander])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aPrunedJobTakesItsEventsAlong(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            // given: an old and a recent finished job, a CronJob's two runs, a resource's event
            func finished(_ name: String, owner: ResourceID? = nil, at seconds: Double) async throws -> String {
                var job = try submission(name: name)
                job.owner = owner
                let id = try await store.submitJob(job, now: at(0)).job.id
                try await store.requestCancel(id, now: at(seconds))
                return id
            }
            let cron = ResourceID(kind: .cronJob, project: "qfield", name: "nightly")
            let old = try await finished("old", at: 10), recent = try await finished("recent", at: 20)
            let firstRun = try await finished("run1", owner: cron, at: 21), secondRun = try await finished("run2", owner: cron, at: 22)
            let app = ResourceID(kind: .service, project: "qfield", name: "app")
            try await store.appendEvent(EventRecord(resource: app, project: "qfield", reason: "Created", message: "created", time: at(1)))
            for id in [old, recent, firstRun, secondRun] { #expect(try await store.events(EventQuery(jobID: id)).isEmpty == false) }

            // when
            try await store.pruneJobs(finishedBefore: at(15), keepPerProject: 0)
            try await store.pruneOwnedJobs(owner: cron, keepFinished: 0, keepFailed: 1)

            // then: the pruned jobs' events are gone, the kept ones' and the resource's stay
            #expect(try await store.events(EventQuery(jobID: old)).isEmpty)
            #expect(try await store.events(EventQuery(jobID: firstRun)).isEmpty)
            #expect(try await store.events(EventQuery(jobID: recent)).isEmpty == false)
            #expect(try await store.events(EventQuery(jobID: secondRun)).isEmpty == false)
            #expect(try await store.events(EventQuery(resource: app)).map(\.reason) == ["Created"])
        }
    }
}
