import BerthCore
import Foundation
import Testing

/// The decision table of a job's execution: for what is observed, the one next step. Each rule
/// has a row; then every combination of job state, container, progress, cancel and deadline is
/// checked for steps that are always wrong, and every world a crash can leave is carried to its
/// end by the decision alone.
@Suite("Job steps")
struct JobStepTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let name = "berth-shop-job-j1"

    static func job(
        _ state: JobState, attempt: Int = 1, recorded: Bool = true, startedAt: Date? = nil, deadline: TimeSpan? = nil, keepsObjects: Bool = false
    ) -> JobStep.Job {
        JobStep.Job(
            state: state, attempt: attempt, containerName: name, containerRecorded: recorded, startedAt: startedAt, activeDeadline: deadline,
            keepsObjects: keepsObjects
        )
    }

    static func container(_ state: ObservedContainer.State, attempt: Int? = 1, exitCode: Int = 0, oomKilled: Bool = false, startedAt: Date? = nil) -> JobStep.Worker {
        .present(JobStep.Container(state: state, attempt: attempt, exitCode: exitCode, oomKilled: oomKilled, startedAt: startedAt))
    }

    struct Row: Sendable, CustomTestStringConvertible {
        var testDescription: String
        var job: JobStep.Job
        var worker: JobStep.Worker
        var progress = JobStep.Progress()
        var cancelled = false
        var expected: JobStep?
    }

    static let rows: [Row] = [
        // A fresh claim
        Row(testDescription: "a fresh claim creates without a look", job: job(.queued, recorded: false), worker: .unobserved, expected: .createContainer),
        Row(
            testDescription: "a fresh claim that is cancelled ends without a container", job: job(.queued, recorded: false), worker: .unobserved, cancelled: true,
            expected: .record(.cancelled, collectOutput: false)
        ),
        Row(testDescription: "a resumed job with a container on record looks first", job: job(.queued), worker: .unobserved, expected: .observeContainer),
        Row(
            testDescription: "a retry looks first: the earlier attempt's container may hold the name", job: job(.queued, attempt: 2, recorded: false),
            worker: .unobserved, expected: .observeContainer
        ),
        Row(testDescription: "a resumed started job looks first", job: job(.started), worker: .unobserved, expected: .observeContainer),
        Row(
            testDescription: "after its own create it looks", job: job(.queued), worker: .unobserved, progress: JobStep.Progress(created: true),
            expected: .observeContainer
        ),
        // Another attempt's container
        Row(testDescription: "an earlier attempt's container goes first", job: job(.queued, attempt: 2), worker: container(.exited, attempt: 1), expected: .removeStaleContainer),
        Row(testDescription: "an unlabelled container goes first", job: job(.started), worker: container(.running, attempt: nil), expected: .removeStaleContainer),
        // No container
        Row(testDescription: "a queued job without its container creates it", job: job(.queued), worker: .absent, expected: .createContainer),
        Row(
            testDescription: "a cancelled queued job without its container ends", job: job(.queued), worker: .absent, cancelled: true,
            expected: .record(.cancelled, collectOutput: false)
        ),
        Row(
            testDescription: "a started job whose container is gone lost its worker", job: job(.started), worker: .absent, cancelled: true,
            expected: .record(.workerLost("the worker container \(name) disappeared while the job ran"), collectOutput: false)
        ),
        Row(
            testDescription: "a container gone right after its create lost its worker", job: job(.queued), worker: .absent,
            progress: JobStep.Progress(created: true), expected: .record(.workerLost("the worker container \(name) disappeared before it started"), collectOutput: false)
        ),
        Row(
            testDescription: "a container gone while waited for was removed", job: job(.started), worker: .absent, progress: JobStep.Progress(waited: true),
            expected: .record(.workerLost("the worker container \(name) was removed while the job ran"), collectOutput: false)
        ),
        // A created container
        Row(testDescription: "a created container starts", job: job(.queued), worker: container(.created), expected: .startContainer),
        Row(
            testDescription: "a cancel before the start ends it with the container's output", job: job(.queued), worker: container(.created), cancelled: true,
            expected: .record(.cancelled, collectOutput: true)
        ),
        Row(testDescription: "a started job's created container starts again", job: job(.started), worker: container(.created), expected: .startContainer),
        Row(
            testDescription: "a start that failed ends the attempt", job: job(.queued), worker: container(.created),
            progress: JobStep.Progress(startRequested: true, startFailure: "no such image"), expected: .record(.couldNotStart("no such image"), collectOutput: true)
        ),
        Row(
            testDescription: "a create that failed ends the attempt without output", job: job(.queued, recorded: false), worker: .unobserved,
            progress: JobStep.Progress(createFailure: "network x is not declared"), expected: .record(.couldNotStart("network x is not declared"), collectOutput: false)
        ),
        // A queued job whose container ran
        Row(testDescription: "a queued job with a running container is marked started", job: job(.queued), worker: container(.running), expected: .markStarted),
        Row(testDescription: "a queued job whose container exited is marked started first", job: job(.queued), worker: container(.exited), expected: .markStarted),
        Row(
            testDescription: "a started container still shown created is marked started", job: job(.queued), worker: container(.created),
            progress: JobStep.Progress(startRequested: true), expected: .markStarted
        ),
        // A running container
        Row(
            testDescription: "a running container without a deadline is waited for", job: job(.started, startedAt: now), worker: container(.running),
            expected: .awaitEnd(deadline: nil)
        ),
        Row(
            testDescription: "the deadline runs from the container's start", job: job(.started, startedAt: now, deadline: .seconds(60)),
            worker: container(.running, startedAt: now.addingTimeInterval(-10)), expected: .awaitEnd(deadline: now.addingTimeInterval(50))
        ),
        Row(
            testDescription: "without the container's start, from the job's", job: job(.started, startedAt: now.addingTimeInterval(-20), deadline: .seconds(60)),
            worker: container(.running), expected: .awaitEnd(deadline: now.addingTimeInterval(40))
        ),
        Row(
            testDescription: "a passed deadline stops the container", job: job(.started, deadline: .seconds(60)),
            worker: container(.running, startedAt: now.addingTimeInterval(-60)), expected: .stopContainer(for: .deadlineExceeded(.seconds(60)))
        ),
        Row(testDescription: "a cancel stops a running container", job: job(.started), worker: container(.running), cancelled: true, expected: .stopContainer(for: .cancelled)),
        Row(
            testDescription: "a cancel wins over a passed deadline", job: job(.started, deadline: .seconds(1)),
            worker: container(.paused, startedAt: now.addingTimeInterval(-60)), cancelled: true, expected: .stopContainer(for: .cancelled)
        ),
        Row(
            testDescription: "a stopped container's end is recorded after a look", job: job(.started), worker: .unobserved,
            progress: JobStep.Progress(waited: true, stoppedFor: .cancelled), cancelled: true, expected: .observeContainer
        ),
        Row(
            testDescription: "a stopped container's end is recorded with its output", job: job(.started), worker: container(.exited, exitCode: 143),
            progress: JobStep.Progress(waited: true, stoppedFor: .deadlineExceeded(.seconds(5))), expected: .record(.deadlineExceeded(.seconds(5)), collectOutput: true)
        ),
        Row(
            testDescription: "a stopped container that is gone ends without output", job: job(.started), worker: .absent,
            progress: JobStep.Progress(stoppedFor: .cancelled), expected: .record(.cancelled, collectOutput: false)
        ),
        // An exited container
        Row(
            testDescription: "an exited container ends the attempt with its exit status", job: job(.started), worker: container(.exited, exitCode: 3),
            expected: .record(.exited(code: 3, oomKilled: false), collectOutput: true)
        ),
        Row(
            testDescription: "a cancel after the exit does not undo the work", job: job(.started), worker: container(.exited), cancelled: true,
            expected: .record(.exited(code: 0, oomKilled: false), collectOutput: true)
        ),
        Row(
            testDescription: "a passed deadline after the exit does not undo the work", job: job(.started, deadline: .seconds(1)),
            worker: container(.dead, exitCode: 1, startedAt: now.addingTimeInterval(-60)), expected: .record(.exited(code: 1, oomKilled: false), collectOutput: true)
        ),
        Row(testDescription: "a SIGKILL exit without the OOM flag is looked at again", job: job(.started), worker: container(.exited, exitCode: 137), expected: .confirmOutOfMemory),
        Row(
            testDescription: "a SIGKILL exit with the OOM flag is an OOM kill", job: job(.started), worker: container(.exited, exitCode: 137, oomKilled: true),
            expected: .record(.exited(code: 137, oomKilled: true), collectOutput: true)
        ),
        Row(
            testDescription: "a SIGKILL exit looked at again is what it is", job: job(.started), worker: container(.exited, exitCode: 137),
            progress: JobStep.Progress(outOfMemoryChecked: true), expected: .record(.exited(code: 137, oomKilled: false), collectOutput: true)
        ),
        // Taken over from a controller whose lease expired
        Row(
            testDescription: "a job taken over looks for its container first", job: job(.started), worker: .unobserved,
            progress: JobStep.Progress(takenOver: true), expected: .observeContainer
        ),
        Row(
            testDescription: "a job taken over whose container runs on this engine is adopted and followed", job: job(.started), worker: container(.running),
            progress: JobStep.Progress(takenOver: true), expected: .awaitEnd(deadline: nil)
        ),
        Row(
            testDescription: "a job taken over whose container is not on this engine lost its worker", job: job(.started), worker: .absent,
            progress: JobStep.Progress(takenOver: true),
            expected: .record(.workerLost("the worker container \(name) is not on this engine: its attempt ran under a lease that expired"), collectOutput: false)
        ),
        Row(
            testDescription: "a queued job taken over whose recorded container is not on this engine lost its worker", job: job(.queued), worker: .absent,
            progress: JobStep.Progress(takenOver: true),
            expected: .record(.workerLost("the worker container \(name) is not on this engine: its attempt ran under a lease that expired"), collectOutput: false)
        ),
        Row(
            testDescription: "a queued job taken over before any container was recorded never ran: it is created", job: job(.queued, recorded: false),
            worker: .unobserved, progress: JobStep.Progress(takenOver: true), expected: .createContainer
        ),
        // Recorded
        Row(testDescription: "a retry's objects go at once", job: job(.pending, keepsObjects: true), worker: container(.exited), expected: .removeObjects),
        Row(testDescription: "an ended job's objects go without a ttl", job: job(.failed), worker: container(.exited), expected: .removeObjects),
        Row(testDescription: "an ended job's objects stay for their ttl", job: job(.finished, keepsObjects: true), worker: container(.exited), expected: nil),
        Row(
            testDescription: "once removed there is nothing left to do", job: job(.cancelled), worker: .absent, progress: JobStep.Progress(removed: true),
            expected: nil
        ),
    ]

    @Test(arguments: rows)
    func theNextStepIsTheOneTheTableSays(row: Row) {
        let step = JobStep.next(job: row.job, worker: row.worker, progress: row.progress, cancelled: row.cancelled, now: Self.now)
        #expect(step == row.expected)
    }

    // MARK: Every combination

    /// Every job, container, progress, cancel and deadline the decision can be asked about.
    static func forEveryCombination(_ body: (JobStep.Job, JobStep.Worker, JobStep.Progress, Bool) -> Void) {
        var workers: [JobStep.Worker] = [.unobserved, .absent]
        let states: [ObservedContainer.State] = [.created, .running, .paused, .restarting, .removing, .exited, .dead]
        for state in states {
            for attempt in [1, nil] as [Int?] {
                for (code, oom) in [(0, false), (137, false), (137, true)] {
                    // The deadline's base is the job's start here (the rows cover the container's).
                    workers.append(container(state, attempt: attempt, exitCode: code, oomKilled: oom))
                }
            }
        }
        let ends: [AttemptEnd?] = [nil, .cancelled, .deadlineExceeded(.seconds(10))]
        var progresses: [JobStep.Progress] = []
        for created in [false, true] {
            for start in [(false, nil), (true, nil), (true, "refused")] as [(Bool, String?)] {
                for waited in [false, true] {
                    for checked in [false, true] {
                        for stopped in ends {
                            for removed in [false, true] {
                                progresses.append(
                                    JobStep.Progress(
                                        created: created, startRequested: start.0, startFailure: start.1, waited: waited, outOfMemoryChecked: checked,
                                        stoppedFor: stopped, removed: removed
                                    ))
                            }
                        }
                    }
                }
            }
        }
        progresses.append(JobStep.Progress(createFailure: "refused"))
        // Taken over: the execution starts from nothing but the observation.
        for stopped in ends {
            progresses.append(JobStep.Progress(stoppedFor: stopped, takenOver: true))
            progresses.append(JobStep.Progress(startRequested: true, waited: true, stoppedFor: stopped, takenOver: true))
        }
        for state in JobState.allCases {
            for recorded in [false, true] {
                for deadline in [nil, TimeSpan.seconds(10), .seconds(60)] as [TimeSpan?] {
                    for keeps in [false, true] {
                        let job = Self.job(state, recorded: recorded, startedAt: now.addingTimeInterval(-20), deadline: deadline, keepsObjects: keeps)
                        for worker in workers {
                            for progress in progresses {
                                for cancelled in [false, true] { body(job, worker, progress, cancelled) }
                            }
                        }
                    }
                }
            }
        }
    }

    @Test func noCombinationAsksForAStepThatCannotBeRight() {
        var asked = 0
        var wrong: [String] = []
        Self.forEveryCombination { job, worker, progress, cancelled in
            let step = JobStep.next(job: job, worker: worker, progress: progress, cancelled: cancelled, now: Self.now)
            asked += 1
            if let problem = Self.problem(with: step, job: job, worker: worker, progress: progress, cancelled: cancelled), wrong.count < 10 {
                wrong.append("\(problem): \(job) \(worker) \(progress) cancelled: \(cancelled) → \(String(describing: step))")
            }
        }
        #expect(wrong.isEmpty, "\(wrong.joined(separator: "\n"))")
        #expect(asked > 800_000)
    }

    /// What is wrong with `step` for what was observed, if anything.
    static func problem(with step: JobStep?, job: JobStep.Job, worker: JobStep.Worker, progress: JobStep.Progress, cancelled: Bool) -> String? {
        var present: JobStep.Container?
        if case .present(let container) = worker { present = container }
        let ours = present.map { $0.attempt == job.attempt } ?? false
        switch step {
        case nil:
            return !job.state.isActive && (progress.removed || job.keepsObjects && job.state != .pending) ? nil : "stops while there is work"
        case .removeObjects:
            return !job.state.isActive && !progress.removed ? nil : "removes objects of an active job, or twice"
        case .observeContainer:
            return job.state.isActive && worker == .unobserved ? nil : "looks again without need"
        case .removeStaleContainer:
            return job.state.isActive && present != nil && !ours ? nil : "removes a container that is not stale"
        case .createContainer:
            guard !(progress.takenOver && job.containerRecorded) else { return "creates again an attempt that ran elsewhere" }
            return job.state == .queued && !progress.created && !cancelled && !ours ? nil : "creates when it must not"
        case .startContainer:
            return job.state.isActive && ours && present?.state == .created && !progress.startRequested && !cancelled ? nil : "starts when it must not"
        case .markStarted:
            return job.state == .queued && ours ? nil : "marks started without its container"
        case .awaitEnd(let deadline):
            guard job.state == .started, ours, present?.hasExited == false, !cancelled else { return "waits when it must not" }
            return deadline.map { $0 > now } ?? (job.activeDeadline == nil) ? nil : "waits past the deadline"
        case .confirmOutOfMemory:
            return job.state == .started && ours && present?.exitCode == 137 && !progress.outOfMemoryChecked ? nil : "looks for an OOM kill without need"
        case .stopContainer(let end):
            guard job.state == .started, ours, present?.hasExited == false, progress.stoppedFor == nil else { return "stops when it must not" }
            return (cancelled ? end == .cancelled : end == .deadlineExceeded(job.activeDeadline ?? .seconds(0))) ? nil : "stops for the wrong reason"
        case .record(let end, let collectOutput):
            guard job.state.isActive else { return "records an ended job" }
            let verdict = JobVerdict.decide(end, spec: spec, attempt: job.attempt, retryBackoff: BackoffPolicy(), now: now)
            guard job.state.canTransition(to: verdict.state) else { return "records a transition the state machine refuses" }
            return !collectOutput || present != nil ? nil : "collects output from a container not seen"
        }
    }

    static let spec = JobSpec(container: ContainerSpec(image: try! ImageReference(parsing: "busybox:1")), backoffLimit: 1)

    // MARK: Every world a crash can leave

    /// The job and engine as a crash can leave them, and what the steps do to them, so the
    /// decision alone can carry an execution to its end.
    struct World: CustomStringConvertible {
        var job: JobStep.Job
        var container: JobStep.Container?
        var cancelled: Bool
        var now = JobStepTests.now
        var looked = false
        var progress = JobStep.Progress()
        var steps: [JobStep] = []
        var creates = 0
        var recorded: [AttemptEnd] = []

        var description: String { "\(job) container: \(String(describing: container)) cancelled: \(cancelled)" }

        var worker: JobStep.Worker { looked ? container.map { .present($0) } ?? .absent : .unobserved }

        /// Runs the decision to its end (at most `limit` steps); false when it never ended.
        mutating func run(limit: Int = 16) -> Bool {
            while steps.count < limit {
                guard let step = JobStep.next(job: job, worker: worker, progress: progress, cancelled: cancelled, now: now) else { return true }
                steps.append(step)
                perform(step)
            }
            return false
        }

        mutating func perform(_ step: JobStep) {
            switch step {
            case .observeContainer:
                looked = true
            case .removeStaleContainer, .removeObjects:
                container = nil
                looked = true
                if step == .removeObjects { progress.removed = true }
            case .createContainer:
                looked = false
                // The engine refuses the name while another attempt's container holds it, and
                // adopts this attempt's own.
                if let existing = container, existing.attempt != job.attempt {
                    progress.createFailure = "container name \(job.containerName) is taken"
                    return
                }
                if container == nil {
                    creates += 1
                    container = JobStep.Container(state: .created, attempt: job.attempt)
                }
                job.containerRecorded = true
                progress.created = true
            case .startContainer:
                progress.startRequested = true
                container?.state = .running
                container?.startedAt = now
                looked = false
            case .markStarted:
                job.state = .started
                job.startedAt = now
            case .awaitEnd(let deadline):
                // The worker ends by itself unless a cancel or the deadline comes first.
                if !cancelled {
                    if let deadline { now = deadline } else { container?.state = .exited }
                }
                progress.waited = true
                looked = false
            case .confirmOutOfMemory:
                progress.outOfMemoryChecked = true
            case .stopContainer(let end):
                container?.state = .exited
                container?.exitCode = 143
                progress.stoppedFor = end
                looked = false
            case .record(let end, _):
                recorded.append(end)
                let verdict = JobVerdict.decide(end, spec: JobStepTests.spec, attempt: job.attempt, retryBackoff: BackoffPolicy(), now: now)
                job.state = end == .cancelled ? .cancelled : verdict.state
            }
        }
    }

    static func everyCrashWorld() -> [World] {
        var containers: [JobStep.Container?] = [nil]
        for state in [ObservedContainer.State.created, .running, .exited] {
            for attempt in [1, 0] {
                for code in state == .exited ? [0, 137] : [0] {
                    containers.append(JobStep.Container(state: state, attempt: attempt, exitCode: code, startedAt: state == .created ? nil : now.addingTimeInterval(-5)))
                }
            }
        }
        var worlds: [World] = []
        for state in [JobState.queued, .started] {
            for recorded in state == .queued ? [false, true] : [true] {
                for deadline in [nil, TimeSpan.seconds(1), .seconds(60)] as [TimeSpan?] {
                    for keeps in [false, true] {
                        for container in containers {
                            for cancelled in [false, true] {
                                let job = Self.job(
                                    state, recorded: recorded, startedAt: state == .started ? now.addingTimeInterval(-5) : nil, deadline: deadline, keepsObjects: keeps
                                )
                                worlds.append(World(job: job, container: container, cancelled: cancelled))
                            }
                        }
                    }
                }
            }
        }
        return worlds
    }

    @Test func fromEveryStateACrashLeavesTheAttemptEndsOnceWithItsObjectsSeenTo() {
        for initial in Self.everyCrashWorld() {
            var world = initial
            let ended = world.run()
            #expect(ended, "never ends: \(initial), steps \(world.steps)")
            #expect(world.recorded.count == 1, "one end recorded: \(initial), steps \(world.steps)")
            #expect(world.creates <= 1, "at most one container made: \(initial), steps \(world.steps)")
            #expect(!world.job.state.isActive, "\(initial), steps \(world.steps)")
            let removed = world.job.state == .pending || !world.job.keepsObjects
            #expect(world.progress.removed == removed, "objects removed only without a ttl: \(initial), steps \(world.steps)")
            // A fresh claim creates without a look (one engine call less per job): an earlier
            // attempt's container left by a crash right after a retry's record holds the name,
            // and the create fails; the janitor removes such a container first in practice.
            let stale = initial.container.map { $0.attempt != initial.job.attempt } ?? false
            if stale, initial.job.containerRecorded {
                #expect(world.steps.firstIndex(of: .removeStaleContainer).map { $0 < 2 } == true, "an earlier attempt's container goes first: \(initial), \(world.steps)")
            }
            if initial.cancelled {
                #expect(!world.steps.contains(.startContainer), "nothing starts after a cancel: \(initial), \(world.steps)")
            }
        }
    }

    @Test func aCancelOrADeadlineAfterTheWorkerExitedLeavesItsResult() {
        for initial in Self.everyCrashWorld() where initial.job.state == .started && initial.container?.state == .exited && initial.container?.attempt == 1 {
            var world = initial
            _ = world.run()
            let code = initial.container?.exitCode ?? -1
            #expect(world.recorded == [.exited(code: code, oomKilled: false)], "\(initial), steps \(world.steps)")
        }
    }

    @Test func anUninterruptedAttemptTakesTheseSteps() {
        var world = World(job: Self.job(.queued, recorded: false), container: nil, cancelled: false)
        _ = world.run()
        #expect(
            world.steps == [
                .createContainer, .observeContainer, .startContainer, .observeContainer, .markStarted, .awaitEnd(deadline: nil), .observeContainer,
                .record(.exited(code: 0, oomKilled: false), collectOutput: true), .removeObjects,
            ])
    }
}
