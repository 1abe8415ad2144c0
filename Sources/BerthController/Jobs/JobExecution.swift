import BerthCore
import BerthDocker
import BerthStore
import Foundation
import Logging

/// Carries one claimed job through one attempt as a loop: observe, ask `JobStep.next` for the
/// one next step, perform it, remember what it showed, until nothing is left to do. The decision
/// looks at what exists (the record, the container by its name and labels), so an execution
/// resumed after a crash continues where the last one stopped and never runs a second container
/// for the same attempt.
///
/// Every transition carries the execution's claim (`HeldClaim`). Once the claim is gone (another
/// controller took the job over, or no renewal succeeded for a whole lease) it does nothing more
/// for the attempt: see `giveUp`. Times are read from an `AnchoredClock` made when the execution
/// starts, so a wall-clock step never ends the attempt early or late (its `activeDeadline`).
struct JobExecution: Sendable {
    /// Called between two steps (`previous` is `nil` before the first, `next` after the last);
    /// throwing ends the execution there, as if the process died. By default the crash points of
    /// `BERTH_CRASH_AT` (see `CrashPoint`).
    typealias BetweenSteps = @Sendable (_ previous: JobStep?, _ next: JobStep?, _ job: JobRecord) throws -> Void

    let runtime: any JobRuntime
    let store: any JobQueue & EventLog & TokenStore & StoreNotifications
    let configuration: JobRunnerConfiguration
    let environment: EnvironmentResolver
    let logger: Logger
    let cancel: CancelFlag
    /// The hold on the job, kept by the runner's renewals.
    let held: HeldClaim
    /// This controller's engine ID.
    let engine: String
    /// The desired state when the job was claimed: the networks it joins.
    let desired: DesiredState
    let betweenSteps: BetweenSteps
    /// Archives the attempt's output, wakes the completion webhook.
    let completion: JobCompletion

    /// What the loop knows between steps: the job as last recorded, the container as last
    /// inspected, and what this execution did.
    struct State: Sendable {
        var job: JobRecord
        /// Whether `container` is current: steps that may change the container clear it.
        var looked = false
        var container: JobContainer?
        var progress = JobStep.Progress()

        var worker: JobStep.Worker {
            guard looked else { return .unobserved }
            return container.map { .present(JobStep.Container($0)) } ?? .absent
        }

        var view: JobStep.Job {
            JobStep.Job(
                state: job.state, attempt: job.attempt, containerName: ObjectName.jobContainer(project: job.project, jobID: job.id),
                containerRecorded: job.containerID != nil, startedAt: job.startedAt, activeDeadline: job.spec.activeDeadline,
                keepsObjects: job.spec.ttlAfterFinished != nil
            )
        }

        mutating func saw(_ container: JobContainer?) {
            self.container = container
            looked = true
        }

        mutating func forget() {
            container = nil
            looked = false
        }
    }

    /// Carries `claimed` through its attempt; `takenOver`: claimed from a controller whose lease
    /// expired, so what its container shows decides (adopt it, or the attempt was lost).
    func run(_ claimed: JobRecord, takenOver: Bool) async {
        var state = State(job: claimed)
        state.progress.takenOver = takenOver
        let clock = AnchoredClock()
        var previous: JobStep?
        do {
            while true {
                if state.job.state.isActive, let loss = held.loss {
                    await giveUp(loss, state)
                    return
                }
                let step = JobStep.next(
                    job: state.view, worker: state.worker, progress: state.progress, cancelled: cancel.isSet || state.job.cancelRequested, now: clock.now
                )
                try betweenSteps(previous, step, state.job)
                guard let step else { return }
                try await perform(step, &state, clock: clock)
                previous = step
            }
        } catch let error as StoreError where error.code == .claimLost || error.code == .stateConflict {
            // Another controller holds the job now, or moved it on (ended it, retried it).
            held.lose(.takenOver, fence: held.fence)
            logger.warning("the store refused a transition: \(error)", metadata: metadata(state.job))
            await giveUp(.takenOver, state)
        } catch let error as StoreError {
            // The store failed: whoever holds the job next (this controller's takeover once the
            // lease ran out, or its restart) carries on from what exists.
            logger.warning("job no longer ours to advance: \(error)", metadata: metadata(state.job))
        } catch {
            logger.error("execution interrupted: \(error); the job is resumed after its lease or the next start", metadata: metadata(state.job))
        }
    }

    /// Ends the execution after its claim was lost, without recording anything. Taken over on this
    /// engine, the container is the new holder's: left alone. Taken over from another engine (or
    /// retried since), or not renewed for a whole lease, this attempt's container is stopped and
    /// removed, so the attempt never runs in two places for long.
    private func giveUp(_ loss: HeldClaim.Loss, _ state: State) async {
        let job = state.job
        if loss == .takenOver {
            let current: JobRecord?
            do {
                current = try await store.job(job.id)
            } catch {
                // Unknown where it went: the janitor removes the container once it knows.
                logger.error("the claim of this attempt is gone and the store cannot tell who holds it: \(error); the container is left for now", metadata: metadata(job))
                return
            }
            if let current, current.claimedEngine == engine {
                logger.warning(
                    "\(current.claimedBy ?? "another controller") took the job over on this engine; its container is left to it", metadata: metadata(job))
                return
            }
            logger.warning(
                "\(current?.claimedBy ?? "another controller") took the job over on engine \(current?.claimedEngine ?? "?"); stopping and removing this attempt's container",
                metadata: metadata(job))
        } else {
            logger.error("stopping and removing this attempt's container without recording an end: the lease was not renewed in time", metadata: metadata(job))
        }
        let name = ObjectName.jobContainer(project: job.project, jobID: job.id)
        do {
            // Only this attempt's: a later attempt uses the same name.
            guard let container = try await runtime.jobContainer(named: name), container.attempt == job.attempt else { return }
            try await runtime.removeContainer(named: name, grace: job.spec.container.stopGracePeriod)
            try await runtime.removeVolume(named: ObjectName.jobScratchVolume(project: job.project, jobID: job.id))
        } catch {
            logger.error("cannot remove the container of a lost claim: \(error); the janitor removes it later", metadata: metadata(job))
        }
    }

    /// Performs one step and notes what it showed or changed.
    private func perform(_ step: JobStep, _ state: inout State, clock: AnchoredClock) async throws {
        let job = state.job
        let name = ObjectName.jobContainer(project: job.project, jobID: job.id)
        switch step {
        case .observeContainer:
            state.saw(try await runtime.jobContainer(named: name))
        case .removeStaleContainer:
            logger.info("removing the container of attempt \(state.container?.attempt ?? 0) before attempt \(job.attempt)", metadata: metadata(job))
            try await removeObjects(job)
            state.saw(nil)
        case .createContainer:
            state.forget()
            do {
                let id = try await create(job, name: name)
                try await writeInputs(job, name: name)
                state.job = try await store.transitionJob(job.id, from: .queued, to: .queued, claim: held.claim, update: JobUpdate(containerID: id), now: Date())
                state.progress.created = true
            } catch let problem as ExecutionError {
                state.progress.createFailure = problem.message
            }
        case .startContainer:
            state.progress.startRequested = true
            do {
                try await engineCall { () async throws(DockerError) in try await runtime.startContainer(named: name) }
                state.forget()
            } catch {
                if error.isEngineAway { throw error }
                state.progress.startFailure = error.message
            }
        case .markStarted:
            state.job = try await store.transitionJob(
                job.id, from: .queued, to: .started, claim: held.claim, update: JobUpdate(containerID: state.container?.id), now: Date()
            )
            logger.info("started", metadata: metadata(state.job))
        case .awaitEnd(let deadline):
            await awaitEnd(name, until: deadline.map(clock.instant(of:)))
            state.progress.waited = true
            state.forget()
        case .confirmOutOfMemory:
            if let container = state.container { state.saw(try await confirmOutOfMemory(job, container)) }
            state.progress.outOfMemoryChecked = true
        case .stopContainer(let end):
            try await runtime.stopContainer(named: name, grace: job.spec.container.stopGracePeriod)
            state.progress.stoppedFor = end
            state.forget()
        case .record(let end, let collectOutput):
            state.job = try await record(job, end, output: collectOutput ? name : nil)
        case .removeObjects:
            try await removeObjects(job)
            state.progress.removed = true
            state.saw(nil)
        }
    }

    /// Resolves the environment, creates the scratch volume and container, and pulls the image
    /// first only when the pull policy says `Always` or the create finds it missing (one engine
    /// round trip less per job on the common path).
    private func create(_ job: JobRecord, name: String) async throws -> String {
        let container = job.spec.container
        if let unknown = container.networks.first(where: { desired.network(project: job.project, name: $0.name) == nil }) {
            throw ExecutionError("network \(unknown.name) is not declared in project \(job.project)")
        }
        if container.pullPolicy == .always { try await ensureImage(container) }
        var values = try await environment.resolve(container.env, decryptingFiles: desired.decryptsFiles(for: job.owner, project: job.project))
        let token = try await store.createJobToken(jobID: job.id, now: Date())
        values["BERTH_JOB_ID"] = job.id
        values["BERTH_JOB_TOKEN"] = token.token
        values["BERTH_JOB_ATTEMPT"] = String(job.attempt)
        values["BERTH_SCRATCH_DIR"] = configuration.scratchPath
        if let apiURL = configuration.apiURL?.current { values["BERTH_API_URL"] = apiURL }
        var volumeNames: [Int: String] = [:]
        for (index, mount) in container.volumes.enumerated() {
            if case .volume(let volume) = mount.source { volumeNames[index] = desired.volumeEngineName(project: job.project, name: volume) }
        }
        let target = JobContainerTarget(
            name: name, jobID: job.id, attempt: job.attempt, spec: job.spec, labels: Self.labels(job),
            volumeNames: volumeNames, scratchVolume: ObjectName.jobScratchVolume(project: job.project, jobID: job.id),
            scratchPath: configuration.scratchPath,
            endpoints: desired.endpoints(of: container, project: job.project, alias: nil),
            networks: desired.networkTargets(of: container, project: job.project)
        )
        // An engine that is away (restarting, say) fails no attempt: the error ends this execution
        // as interrupted, and whoever holds the job after its lease carries on from what exists.
        do {
            return try await engineCall { () async throws(DockerError) in try await runtime.createJobContainer(target, environment: values) }
        } catch  where error.code == .notFound && container.pullPolicy != .always {
            try await ensureImage(container)
        } catch {
            if error.isEngineAway { throw error }
            throw ExecutionError(error.message)
        }
        do {
            return try await engineCall { () async throws(DockerError) in try await runtime.createJobContainer(target, environment: values) }
        } catch {
            if error.isEngineAway { throw error }
            throw ExecutionError(error.message)
        }
    }

    /// Writes the job's input files into its created container, on every attempt (each has a
    /// new container); a job without any reads nothing more than its record.
    private func writeInputs(_ job: JobRecord, name: String) async throws {
        guard !job.spec.inputPaths.isEmpty else { return }
        let files = try await store.jobInputs(job.id)
        guard !files.isEmpty else { return }
        do {
            try await engineCall { () async throws(DockerError) in try await runtime.writeInputFiles(named: name, files: files) }
        } catch {
            if error.isEngineAway { throw error }
            throw ExecutionError("writing the input files failed: \(error.message)")
        }
    }

    /// Runs an engine call, trying a 5xx answer twice more, a second and two seconds later: a
    /// dockerd shutting down answers "transport is closing" before its socket goes, and one coming
    /// back may refuse a moment longer. An engine away (unreachable, no answer in time) is
    /// rethrown at once, and ends the execution as interrupted (`isEngineAway`); what still fails
    /// after the retries is the attempt's failure. Every call it wraps is idempotent.
    private func engineCall<T>(_ body: () async throws(DockerError) -> T) async throws(DockerError) -> T {
        var retries = 0
        while true {
            do {
                return try await body()
            } catch {
                guard error.code == .engine, (error.status ?? 500) >= 500, retries < 2 else { throw error }
                retries += 1
                try? await Task.sleep(for: .seconds(retries))
            }
        }
    }

    private func ensureImage(_ container: ContainerSpec) async throws {
        do {
            try await runtime.ensureImage(container.image, policy: container.pullPolicy)
        } catch {
            if error.isEngineAway { throw error }
            throw ExecutionError("image \(container.image): \(error.message)")
        }
    }

    static func labels(_ job: JobRecord) -> [String: String] {
        var labels = job.spec.container.labels
        labels[LabelKey.managed] = "true"
        labels[LabelKey.project] = job.project
        labels[LabelKey.kind] = ObjectKind.job.rawValue
        labels[LabelKey.name] = job.name
        labels[LabelKey.job] = job.id
        labels[LabelKey.attempt] = String(job.attempt)
        return labels
    }

    /// Waits until the container is no longer running (or is gone), `deadline` passes, a cancel
    /// comes or the claim is lost, whichever is first.
    private func awaitEnd(_ name: String, until deadline: ContinuousClock.Instant?) async {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                var failures = 0
                while !Task.isCancelled {
                    do throws(DockerError) {
                        _ = try await runtime.waitForExit(named: name)
                        return true
                    } catch  where error.code == .notFound {
                        return true
                    } catch {
                        failures += 1
                        try? await Task.sleep(for: .milliseconds(min(5000, 100 * (1 << min(failures, 6)))))
                    }
                }
                return false
            }
            if let deadline {
                group.addTask {
                    try? await Task.sleep(until: deadline, clock: .continuous)
                    return !Task.isCancelled
                }
            }
            group.addTask {
                while !Task.isCancelled {
                    if cancel.isSet || held.loss != nil { return true }
                    try? await Task.sleep(for: .milliseconds(100))
                }
                return false
            }
            while let ended = await group.next() {
                if ended { break }
            }
            group.cancelAll()
        }
    }

    /// The container after a look for an OOM kill of its SIGKILL exit. The container's own
    /// `State.OOMKilled` (its inspect) is the signal: the engine keeps it with the container. It
    /// can lag the exit on a loaded host (the engine learns of the kill from the kernel's notice;
    /// the tests saw it unset ten seconds on), so a 137 exit without it is inspected again for up
    /// to ten seconds before it counts as a plain error. The engine's past `oom` events are only a
    /// second witness meanwhile: the engine keeps a short backlog and drops events under load.
    private func confirmOutOfMemory(_ job: JobRecord, _ exited: JobContainer) async throws -> JobContainer? {
        // A second before the start: the engine's clock and this one may differ a little.
        let since = (exited.startedAt ?? job.startedAt ?? Date()).addingTimeInterval(-1)
        let clock = ContinuousClock()
        let giveUp = clock.now + .seconds(10)
        var container: JobContainer? = exited
        while var current = container, current.exitCode == 137, !current.oomKilled, clock.now < giveUp {
            try await Task.sleep(for: .milliseconds(200))
            container = try await runtime.jobContainer(named: current.name)
            if container?.oomKilled == true { return container }
            do {
                if try await runtime.announcedOutOfMemory(named: current.name, since: since) {
                    current.oomKilled = true
                    return current
                }
            } catch {
                // Best effort: the flag may still come.
                logger.warning("cannot read the engine's events for an OOM kill of \(current.name): \(error)")
            }
        }
        return container
    }

    /// Records the verdict on the attempt, with the output of container `output` when given, and
    /// its event; returns the job as recorded. Removing the objects is a step of its own, after:
    /// a crash in between leaves a container the janitor removes, never a lost result.
    private func record(_ job: JobRecord, _ end: AttemptEnd, output: String?) async throws -> JobRecord {
        // One moment for the verdict and its record: a retry is due exactly its backoff after the
        // attempt's recorded end, however long collecting the result below takes.
        let now = Date()
        let verdict = JobVerdict.decide(end, spec: job.spec, attempt: job.attempt, retryBackoff: configuration.retryBackoff, now: now)
        let state: JobState = end == .cancelled ? .cancelled : verdict.state
        // The why in words, beside the transition's own event (`berth jobs show` prints both), in
        // the same write: a crash keeps both or neither.
        let explanation = JobUpdate.Explanation(
            type: state == .finished ? .normal : .warning, reason: verdict.reason, message: "attempt \(job.attempt): \(verdict.message)")
        var update = JobUpdate(exitCode: verdict.exitCode, reason: verdict.reason, nextAttemptAt: verdict.retryAt, explanation: explanation)
        if let output {
            if let archiver = completion.archiver, let archive = job.spec.logArchive ?? desired.projects[job.project]?.logArchive {
                await archiver.archive(job, container: output, runtime: runtime, to: archive)
            }
            let tails = try? await runtime.logTails(named: output, bytes: configuration.logTailBytes)
            update.stdoutTail = tails?.stdout
            update.stderrTail = tails?.stderr
            update.feedback = await feedback(job, output)
        }
        // A job that never left `queued` and is cancelled or fails goes straight to its end.
        let ended = try await store.transitionJob(job.id, from: job.state, to: state, claim: held.claim, update: update, now: now)
        if ended.state.isTerminal { completion.webhooks?.jobEnded() }
        logger.log(level: state == .finished ? .info : .warning, "\(verdict.message)", metadata: metadata(job))
        return ended
    }

    /// The worker's feedback file as JSON text, or a JSON note saying why it could not be used.
    private func feedback(_ job: JobRecord, _ name: String) async -> String? {
        guard let path = job.spec.feedbackPath else { return nil }
        do {
            switch try await runtime.readFile(named: name, path: path, limit: configuration.feedbackLimit) {
            case nil:
                return nil
            case .tooLarge:
                return Self.note("\(path) is larger than \(configuration.feedbackLimit) bytes; not read")
            case .notAFile:
                return Self.note("\(path) is not a regular file")
            case .contents(let bytes):
                do {
                    _ = try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
                    return String(decoding: bytes, as: UTF8.self)
                } catch {
                    return Self.note("\(path) is not valid JSON (\(bytes.count) bytes)")
                }
            }
        } catch {
            return Self.note("\(path) could not be read: \(error.message)")
        }
    }

    /// `{"berthError": "…"}`: feedback that tells why there is none, still valid JSON.
    static func note(_ text: String) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: ["berthError": text], options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    private func removeObjects(_ job: JobRecord) async throws {
        try await runtime.removeContainer(named: ObjectName.jobContainer(project: job.project, jobID: job.id), grace: job.spec.container.stopGracePeriod)
        try await runtime.removeVolume(named: ObjectName.jobScratchVolume(project: job.project, jobID: job.id))
    }

    func metadata(_ job: JobRecord) -> Logger.Metadata {
        ["berth.job": "\(job.id)", "berth.project": "\(job.project)", "berth.attempt": "\(job.attempt)"]
    }
}

extension JobStep.Container {
    /// The container as the decision sees it.
    init(_ container: JobContainer) {
        self.init(state: container.state, attempt: container.attempt, exitCode: container.exitCode, oomKilled: container.oomKilled, startedAt: container.startedAt)
    }
}
