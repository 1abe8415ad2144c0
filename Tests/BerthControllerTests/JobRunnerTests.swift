import BerthCore
import BerthDocker
import BerthStore
import Foundation
import Testing

@testable import BerthController

/// The job runner in process, against a real SQLite store file and the in-memory engine: claims,
/// retries, deadlines, cancels, lost workers, and a controller that dies between any two steps
/// of an execution and is started again.
@Suite("Job runner")
struct JobRunnerTests {
    /// The steps of one uninterrupted attempt whose worker exits 0 when waited for.
    static let uninterruptedSteps: [JobStep?] = [
        .createContainer, .observeContainer, .startContainer, .observeContainer, .markStarted, .awaitEnd(deadline: nil), .observeContainer,
        .record(.exited(code: 0, oomKilled: false), collectOutput: true), .removeObjects, nil,
    ]

    @Test func aClaimedJobRunsToItsEndAndLeavesNothingBehind() async throws {
        try await JobWorld.run { world in
            // given
            let steps = SimulatedCrash(at: nil)
            let controller = try await world.start(betweenSteps: steps.betweenSteps)

            // when
            let submitted = try await controller.submit(try JobWorld.spec())
            let job = try await controller.ended(submitted.id)

            // then
            let name = JobWorld.containerName(job.id)
            #expect(job.state == .finished && job.reason == "Completed" && job.exitCode == 0 && job.attempt == 1, "\(job)")
            #expect(job.stdoutTail == "done\n" && job.stderrTail == "")
            #expect(try await controller.reasons(job.id) == ["Submitted", "Queued", "Started", "Finished", "Completed"])
            try await eventually("its objects are removed") { await world.runtime.isEmpty }
            #expect(
                await world.runtime.calls == [
                    .createContainer(name), .startContainer(name), .removeContainer(name), .removeVolume(ObjectName.jobScratchVolume(project: "shop", jobID: job.id)),
                ])
            #expect(steps.steps == Self.uninterruptedSteps)
            let environment = try #require(await world.runtime.environments[name])
            #expect(environment["BERTH_JOB_ID"] == job.id && environment["BERTH_JOB_ATTEMPT"] == "1" && environment["BERTH_SCRATCH_DIR"] == "/berth/scratch")
            let token = try #require(environment["BERTH_JOB_TOKEN"])
            #expect(try await controller.store.authenticate(token: token, now: Date()) == nil, "the job's token is revoked once it ended")
        }
    }

    @Test(arguments: 0..<(uninterruptedSteps.count - 1))
    func aControllerKilledBetweenAnyTwoStepsIsResumedByTheNextAndTheJobEndsOnce(crashAt index: Int) async throws {
        try await JobWorld.run { world in
            // given: a controller that dies before the step
            let crash = SimulatedCrash(at: index)
            let first = try await world.start(betweenSteps: crash.betweenSteps)
            let id = try await first.submit(try JobWorld.spec()).id
            try await eventually("the first controller dies before \(String(describing: Self.uninterruptedSteps[index]))") { crash.happened }
            await first.stop()
            #expect(crash.steps == Array(Self.uninterruptedSteps.prefix(index)))

            // when: the controller starts again
            let second = try await world.start()

            // then
            let job = try await second.ended(id)
            #expect(job.state == .finished && job.attempt == 1 && job.exitCode == 0 && job.stdoutTail == "done\n", "\(job)")
            let reasons = try await second.reasons(id)
            #expect(reasons.filter { $0 == "Finished" }.count == 1 && reasons.filter { $0 == "Completed" }.count == 1, "one end recorded: \(reasons)")
            #expect(!reasons.contains("Requeued") && !reasons.contains("WorkerLost"), "never retried or lost: \(reasons)")
            try await eventually("no worker container or scratch volume is left") {
                await world.runtime.isEmpty
            }
            #expect(await world.runtime.creations == [JobWorld.containerName(id)], "one container was made for the job")
        }
    }

    @Test func aCancelWhileTheControllerIsDownEndsTheClaimedJobWithoutEverCreatingItsContainer() async throws {
        try await JobWorld.run { world in
            // given: claimed, and the controller died before the first step
            let crash = SimulatedCrash(at: 0)
            let first = try await world.start(betweenSteps: crash.betweenSteps)
            let id = try await first.submit(try JobWorld.spec()).id
            try await eventually("the first controller dies") { crash.happened }
            #expect(try await first.store.requestCancel(id, now: Date()).state == .queued)
            await first.stop()

            // when
            let second = try await world.start()

            // then
            let job = try await second.ended(id)
            #expect(job.state == .cancelled && job.reason == "Cancelled", "\(job)")
            #expect(await world.runtime.creations.isEmpty)
            #expect(!(await world.runtime.calls.contains(.createContainer(JobWorld.containerName(id)))))
        }
    }

    @Test func aFailedAttemptIsRetriedAfterItsBackoffInAContainerOfItsOwn() async throws {
        try await JobWorld.run { world in
            // given
            await world.runtime.script(.exitsWhenWaitedFor(code: 3, stdout: "first\n"), attempt: 1)
            let controller = try await world.start()

            // when
            let submitted = try await controller.submit(try JobWorld.spec(retries: 1))
            let job = try await controller.ended(submitted.id)

            // then
            let name = JobWorld.containerName(job.id)
            #expect(job.state == .finished && job.attempt == 2 && job.exitCode == 0 && job.stdoutTail == "done\n", "\(job)")
            let reasons = try await controller.reasons(job.id)
            #expect(reasons == ["Submitted", "Queued", "Started", "Requeued", "Error", "Queued", "Started", "Finished", "Completed"])
            #expect(await world.runtime.creations == [name, name])
            let calls = await world.runtime.calls
            let firstRemoval = try #require(calls.firstIndex(of: .removeContainer(name)))
            #expect(calls.lastIndex(of: .createContainer(name)).map { $0 > firstRemoval } == true, "the first attempt's container goes before the retry's: \(calls)")
        }
    }

    @Test func inputFilesAreWrittenIntoEveryAttemptsContainerBeforeItStarts() async throws {
        try await JobWorld.run { world in
            // given: a job with a file, whose first attempt fails
            await world.runtime.script(.exitsWhenWaitedFor(code: 3), attempt: 1)
            let controller = try await world.start()
            var spec = try JobWorld.spec(retries: 1)
            spec.inputPaths = ["/io"]
            var submission = JobSubmission(project: "shop", name: "with-input", spec: spec)
            submission.inputs = [JobInputFile(path: "/io/deltas.json", content: Array("[]".utf8))]

            // when
            let submitted = try await controller.store.submitJob(submission, now: Date()).job
            let job = try await controller.ended(submitted.id)

            // then
            let name = JobWorld.containerName(job.id)
            #expect(job.state == .finished && job.attempt == 2, "\(job)")
            let calls = await world.runtime.calls.filter { [.createContainer(name), .writeInputFiles(name), .startContainer(name)].contains($0) }
            #expect(calls == [.createContainer(name), .writeInputFiles(name), .startContainer(name), .createContainer(name), .writeInputFiles(name), .startContainer(name)])
            #expect(await world.runtime.inputFiles[name] == submission.inputs)
        }
    }

    @Test func aWorkerPastItsDeadlineIsStoppedAndTheJobFailsWithoutARetry() async throws {
        try await JobWorld.run { world in
            // given
            await world.runtime.script(.runs)
            let controller = try await world.start()

            // when
            let submitted = try await controller.submit(try JobWorld.spec(deadline: .milliseconds(200), retries: 2))
            let job = try await controller.ended(submitted.id)

            // then
            #expect(job.state == .failed && job.reason == "DeadlineExceeded" && job.attempt == 1, "\(job)")
            #expect(await world.runtime.calls.contains(.stopContainer(JobWorld.containerName(job.id))))
            let finished = try #require(job.finishedAt)
            #expect(finished.timeIntervalSince(job.submittedAt) >= 0.2, "not stopped before its deadline")
        }
    }

    @Test func aCancelStopsARunningWorkerAndEndsTheJob() async throws {
        try await JobWorld.run { world in
            // given: a worker that runs
            await world.runtime.script(.runs)
            let controller = try await world.start()
            let id = try await controller.submit(try JobWorld.spec(retries: 2)).id
            try await eventually("the job starts") { try await controller.job(id).state == .started }

            // when
            _ = try await controller.store.requestCancel(id, now: Date())

            // then
            let job = try await controller.ended(id)
            #expect(job.state == .cancelled && job.reason == "Cancelled" && job.attempt == 1, "\(job)")
            #expect(await world.runtime.calls.contains(.stopContainer(JobWorld.containerName(id))))
            #expect(try await controller.reasons(id).suffix(2) == ["Cancelled", "Cancelled"])
        }
    }

    @Test func aWorkerRemovedWhileItRunsIsLostAndItsJobRetried() async throws {
        try await JobWorld.run { world in
            // given: a first attempt that runs
            await world.runtime.script(.runs, attempt: 1)
            let controller = try await world.start()
            let id = try await controller.submit(try JobWorld.spec(retries: 1)).id
            try await eventually("the job starts") { try await controller.job(id).state == .started }

            // when
            await world.runtime.removeBehindTheBack(JobWorld.containerName(id))

            // then
            let job = try await controller.ended(id)
            #expect(job.state == .finished && job.attempt == 2, "\(job)")
            #expect(try await controller.reasons(id).contains("WorkerLost"))
        }
    }

    @Test func aSIGKILLExitThatTheEngineAnnouncesAsAnOOMKillIsOne() async throws {
        try await JobWorld.run { world in
            // given: the engine's flag lags, its event does not
            await world.runtime.script(.exitsWhenWaitedFor(code: 137))
            let controller = try await world.start()

            // when
            let id = try await controller.submit(try JobWorld.spec()).id
            await world.runtime.announceOutOfMemory(JobWorld.containerName(id))

            // then
            let job = try await controller.ended(id)
            #expect(job.state == .failed && job.reason == "OOMKilled" && job.exitCode == 137, "\(job)")
        }
    }

    @Test func aMissingImageIsPulledWhenTheCreateFindsItMissing() async throws {
        try await JobWorld.run { world in
            // given
            await world.runtime.imageIsMissing("busybox:1")
            let controller = try await world.start()

            // when
            let id = try await controller.submit(try JobWorld.spec()).id
            let job = try await controller.ended(id)

            // then
            let name = JobWorld.containerName(id)
            #expect(job.state == .finished, "\(job)")
            #expect(await Array(world.runtime.calls.prefix(4)) == [.createContainer(name), .ensureImage("busybox:1"), .createContainer(name), .startContainer(name)])
        }
    }

    @Test func anImageThatCannotBePulledFailsTheJobWithTheReason() async throws {
        try await JobWorld.run { world in
            // given
            await world.runtime.imageIsMissing("busybox:1")
            await world.runtime.fail(.ensureImage("busybox:1"), with: DockerError(.notFound, "pull access denied", status: 404))
            let controller = try await world.start()

            // when
            let id = try await controller.submit(try JobWorld.spec(retries: 3)).id
            let job = try await controller.ended(id)

            // then
            #expect(job.state == .failed && job.reason == "Error" && job.attempt == 1, "\(job)")
            let events = try #require(try await controller.store.job(id, events: 100)).events
            #expect(events.last?.message == "attempt 1: could not start: image \(try ImageReference(parsing: "busybox:1")): pull access denied")
        }
    }

    @Test func anEngineAwayWhileTheContainerIsMadeFailsNoAttemptAndTheJobRunsOnceItIsBack() async throws {
        try await JobWorld.run { world in
            // given: the engine is away (a dockerd restarting) when the job's image is pulled
            await world.runtime.imageIsMissing("busybox:1")
            await world.runtime.fail(.ensureImage("busybox:1"), with: DockerError(.unreachable, "cannot reach the Docker engine"))
            let controller = try await world.start(lease: .seconds(1))

            // when: the execution is interrupted, its lease lapses and it is taken over; then the
            // engine is back
            let id = try await controller.submit(try JobWorld.spec()).id
            try await eventually("the interrupted job is taken over after its lease") { try await controller.reasons(id).contains("TakenOver") }
            #expect(try await controller.job(id).state == .queued, "an engine away ends no attempt")
            await world.runtime.stopFailing(.ensureImage("busybox:1"))
            let job = try await controller.ended(id)

            // then: the first attempt ran to its end, and nothing said it could not start
            #expect(job.state == .finished && job.attempt == 1, "\(job)")
            let events = try #require(try await controller.store.job(id, events: 100)).events
            #expect(!events.contains { $0.message.contains("could not start") }, "\(events.map(\.message))")
        }
    }

    /// A job submitted before its controller starts, so that the engine's answers can be set
    /// for its container's name first.
    private static func submittedBeforeStart(_ world: JobWorld) async throws -> String {
        let store = try await world.openStore()
        let id = try await store.submitJob(JobSubmission(project: "shop", name: "once", spec: try JobWorld.spec()), now: Date()).job.id
        await store.close()
        return id
    }

    @Test func anEngineShuttingDownWhileTheContainerStartsFailsNoAttempt() async throws {
        try await JobWorld.run { world in
            // given: the start answered 500 by a dockerd going down, which then does not answer
            let id = try await Self.submittedBeforeStart(world)
            let start = InMemoryJobRuntime.Call.startContainer(JobWorld.containerName(id))
            await world.runtime.fail(start, inTurn: [DockerError(.engine, "transport is closing", status: 500)])
            await world.runtime.fail(start, with: DockerError(.unreachable, "cannot reach the Docker engine"))
            let controller = try await world.start(lease: .seconds(1))

            // when: the execution is interrupted and taken over after its lease; the engine is back
            try await eventually("the interrupted job is taken over after its lease") { try await controller.reasons(id).contains("TakenOver") }
            #expect(try await controller.job(id).attempt == 1, "an engine going down ends no attempt")
            await world.runtime.stopFailing(start)
            let job = try await controller.ended(id)

            // then
            let events = try #require(try await controller.store.job(id, events: 100)).events
            #expect(job.state == .finished && job.attempt == 1, "\(events.map { "\($0.reason): \($0.message)" })")
        }
    }

    @Test func aStartAnsweredWith500OnceIsTriedAgainAndTheAttemptRuns() async throws {
        try await JobWorld.run { world in
            // given: one 500 (a dockerd coming back), then the engine starts it
            let id = try await Self.submittedBeforeStart(world)
            let start = InMemoryJobRuntime.Call.startContainer(JobWorld.containerName(id))
            await world.runtime.fail(start, inTurn: [DockerError(.engine, "transport is closing", status: 500)])
            let controller = try await world.start()

            // when
            let job = try await controller.ended(id)

            // then: started on the second try
            let events = try #require(try await controller.store.job(id, events: 100)).events
            #expect(job.state == .finished && job.attempt == 1, "\(events.map { "\($0.reason): \($0.message)" })")
            #expect(await world.runtime.calls.filter { $0 == start }.count == 2)
        }
    }

    @Test func aStartTheEngineRefusesWith500EveryTimeFailsTheAttempt() async throws {
        try await JobWorld.run { world in
            // given: every start answered 500 by an engine that is up (a broken runtime, say)
            let id = try await Self.submittedBeforeStart(world)
            await world.runtime.fail(.startContainer(JobWorld.containerName(id)), with: DockerError(.engine, "OCI runtime failed", status: 500))
            let controller = try await world.start()

            // when
            let job = try await controller.ended(id)

            // then: the attempt failed, saying why, after three tries
            #expect(job.state == .failed, "\(job)")
            let events = try #require(try await controller.store.job(id, events: 100)).events
            #expect(events.contains { $0.message.contains("OCI runtime failed") }, "\(events.map(\.message))")
            #expect(await world.runtime.calls.filter { $0 == .startContainer(JobWorld.containerName(id)) }.count == 3)
        }
    }

    @Test func anEarlierAttemptsContainerIsRemovedBeforeTheResumedAttemptMakesItsOwn() async throws {
        try await JobWorld.run { world in
            // given: a job claimed by this controller, its record naming a container that an earlier
            // attempt's holds the name of
            let setup = try await world.start(maxConcurrentJobs: 1, betweenSteps: { _, _, _ in throw SimulatedCrash.Crashed() })
            let id = try await setup.submit(try JobWorld.spec()).id
            try await eventually("the job is claimed") { try await setup.job(id).state == .queued }
            let claimed = try await setup.store.transitionJob(
                id, from: .queued, to: .queued, claim: JobClaim(controller: JobWorld.identity, fence: 1), update: JobUpdate(containerID: "old"), now: Date()
            )
            await setup.stop()
            let name = JobWorld.containerName(id)
            var labels = JobExecution.labels(claimed)
            labels[LabelKey.attempt] = "0"
            await world.runtime.leave(JobContainer(id: "old", name: name, labels: labels, state: .exited, exitCode: 1))

            // when
            let controller = try await world.start()

            // then
            let job = try await controller.ended(id)
            #expect(job.state == .finished && job.attempt == 1, "\(job)")
            let calls = await world.runtime.calls
            #expect(Array(calls.prefix(3)) == [.removeContainer(name), .removeVolume(ObjectName.jobScratchVolume(project: "shop", jobID: id)), .createContainer(name)])
        }
    }

    @Test func aControllerRunsNoMoreJobsAtOnceThanItsLimit() async throws {
        try await JobWorld.run { world in
            // given
            await world.runtime.script(.runs)
            let controller = try await world.start(maxConcurrentJobs: 2)
            var ids: [String] = []
            for index in 0..<4 { ids.append(try await controller.submit(try JobWorld.spec(), name: "job-\(index)").id) }

            // when: each running worker exits, one at a time
            for _ in 0..<2 {
                try await eventually("two workers run") { await world.runtime.running == 2 }
                for name in await world.runtime.runningNames { await world.runtime.workerExits(name, code: 0) }
            }
            for id in ids { _ = try await controller.ended(id) }

            // then
            #expect(await world.runtime.maxRunning == 2)
        }
    }
}
