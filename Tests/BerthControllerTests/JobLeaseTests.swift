import BerthCore
import BerthDocker
import Foundation
import Testing

@testable import BerthController
@testable import BerthStore

/// Job leases in process, against a real SQLite store file and in-memory engines: a controller
/// takes over the jobs of one whose lease expired and adopts or loses their containers by what its
/// own engine shows; a controller whose claim was taken over, or that cannot renew, stops its own.
@Suite("Job leases")
struct JobLeaseTests {
    static let lease = TimeSpan.milliseconds(900)

    @Test func aJobTakenOverOnTheSameEngineIsAdoptedAndEndsOnceInItsOneContainer() async throws {
        try await JobWorld.run { world in
            // given: the first controller runs a job, then dies holding it
            await world.runtime.script(.runs)
            let first = try await world.start(lease: Self.lease)
            let id = try await first.submit(try JobWorld.spec()).id
            try await eventually("the job runs") { try await first.job(id).state == .started }
            await first.stop()

            // when: a second controller on the same engine takes it over once the lease expired
            let second = try await world.start(identity: "controller-2", lease: Self.lease)
            try await eventually("the second controller took the job over") { try await second.job(id).claimedBy == "controller-2" }
            try await eventually("it follows the job") { await second.runner.runningJobIDs.contains(id) }
            let name = JobWorld.containerName(id)
            await world.runtime.workerExits(name, code: 0)

            // then: the one container ran the attempt to its end, recorded once. (On a loaded machine
            // the second runner's own 0.9 s lease may lapse and be taken over again, by itself: a
            // newer fence, still the one container.)
            let job = try await second.ended(id)
            #expect(job.state == .finished && job.attempt == 1 && job.exitCode == 0 && job.claimedEngine == "engine-1" && job.fence >= 2, "\(job)")
            #expect(await world.runtime.creations == [name], "one container was made")
            let reasons = try await second.reasons(id)
            #expect(reasons.contains("TakenOver") && reasons.filter { $0 == "Finished" }.count == 1, "\(reasons)")
            #expect(!reasons.contains("WorkerLost") && !reasons.contains("Requeued"), "\(reasons)")
        }
    }

    @Test func aJobTakenOverOnAnotherEngineLostItsWorkerAndIsRetriedThere() async throws {
        try await JobWorld.run { world in
            // given: the first controller runs a job on its engine, then dies holding it
            await world.runtime.script(.runs)
            let first = try await world.start(lease: Self.lease)
            let id = try await first.submit(try JobWorld.spec(retries: 1)).id
            try await eventually("the job runs") { try await first.job(id).state == .started }
            await first.stop()

            // when: a controller on another engine takes it over
            let second = try await world.start(identity: "controller-2", engine: world.otherRuntime, lease: Self.lease)

            // then: that attempt was lost; the retry ran on the other engine
            let job = try await second.ended(id)
            let name = JobWorld.containerName(id)
            #expect(job.state == .finished && job.attempt == 2 && job.claimedEngine == "engine-2", "\(job)")
            #expect(await world.otherRuntime.creations == [name])
            let events = try #require(try await second.store.job(id, events: 100)).events
            #expect(events.map(\.reason).contains("TakenOver"), "\(events.map(\.reason))")
            let lost = try #require(events.first { $0.reason == "WorkerLost" }, "\(events.map(\.reason))")
            #expect(lost.message.contains("not on this engine") && lost.message.contains("attempt 2 of 2"), "\(lost.message)")
        }
    }

    @Test func aControllerWhoseClaimWentToAnotherEngineStopsAndRemovesItsContainer() async throws {
        try await JobWorld.run { world in
            // given: a controller runs a job
            await world.runtime.script(.runs)
            let controller = try await world.start(lease: Self.lease)
            let id = try await controller.submit(try JobWorld.spec()).id
            try await eventually("the job runs") { try await controller.job(id).state == .started }

            // when: a controller on another engine takes the claim over (as after a pause past the lease)
            let other = try await world.openStore()
            let job = try await controller.job(id)
            // (and renewed by it for ten minutes)
            try await other.executeForTesting(
                """
                UPDATE jobs SET claimed_by = 'controller-2', claimed_engine = 'engine-2', fence = fence + 1,
                    lease_expires_at = lease_expires_at + 600000 WHERE id = '\(job.id)'
                """)
            await other.close()

            // then: the first controller removes its container and records nothing
            try await eventually("its container is removed") { await world.runtime.isEmpty }
            try await eventually("it is done with the job") { await !controller.runner.runningJobIDs.contains(id) }
            #expect(await world.runtime.calls.contains(.removeContainer(JobWorld.containerName(id))))
            let after = try await controller.job(id)
            #expect(after.state == .started && after.claimedBy == "controller-2", "\(after)")
            #expect(!(try await controller.reasons(id)).contains("Finished"))
        }
    }

    @Test func aControllerThatCannotRenewForAWholeLeaseStopsItsContainerWithoutRecording() async throws {
        try await JobWorld.run { world in
            // given: a controller runs a job
            await world.runtime.script(.runs)
            let controller = try await world.start(lease: Self.lease)
            let id = try await controller.submit(try JobWorld.spec()).id
            try await eventually("the job runs") { try await controller.job(id).state == .started }
            let clock = ContinuousClock()

            // when: its store goes away
            let cut = clock.now
            await controller.store.close()

            // then: once a lease passed unrenewed, its container is stopped and removed
            try await eventually("its container is removed") { await world.runtime.isEmpty }
            // the last renewal came at most a third of a lease before the cut
            #expect(clock.now - cut >= .milliseconds(Self.lease.milliseconds * 2 / 3 - 50), "not before the lease could have run out")
            let store = try await world.openStore()
            let job = try #require(try await store.job(id, events: 100))
            await store.close()
            #expect(job.job.state == .started, "nothing recorded: \(job.job)")
            #expect(!job.events.map(\.reason).contains("Finished") && !job.events.map(\.reason).contains("Failed"))
        }
    }
}
