import BerthCore
import BerthDocker
import BerthStore
import Foundation
import Logging

/// Carries one claimed job through one attempt: create (or adopt) its container, start it, wait
/// for it to end, its deadline or a cancel, collect the result, record it, clean up. Every step
/// first looks at what exists, so an execution resumed after a crash continues where the last
/// one stopped and never runs a second container for the same attempt.
struct JobExecution: Sendable {
    let runtime: any JobRuntime
    let store: any Store
    let configuration: JobRunnerConfiguration
    let environment: EnvironmentResolver
    let logger: Logger
    let cancel: CancelFlag
    /// The desired state when the job was claimed: the networks it joins.
    let desired: DesiredState

    func run(_ claimed: JobRecord) async {
        var job = claimed
        let name = ObjectName.jobContainer(project: job.project, jobID: job.id)
        CrashPoint.reach(.claimed)
        do {
            // A freshly claimed job has no container on record: create straight away (a container
            // left by a crash before the record is adopted on the create's 409). Otherwise look first.
            let fresh = job.state == .queued && job.containerID == nil
            var container = fresh ? nil : try await runtime.jobContainer(named: name)
            if let existing = container, existing.attempt != job.attempt {
                logger.info("removing the container of attempt \(existing.attempt ?? 0) before attempt \(job.attempt)", metadata: metadata(job))
                try await removeObjects(job)
                container = nil
            }
            if container == nil {
                if job.state == .started {
                    return try await finish(job, .workerLost("the worker container \(name) disappeared while the job ran"), container: nil)
                }
                if cancel.isSet || job.cancelRequested { return try await finish(job, .cancelled, container: nil) }
                do {
                    let id = try await create(job, name: name)
                    job = try await store.transitionJob(job.id, from: .queued, to: .queued, controller: configuration.identity, update: JobUpdate(containerID: id), now: Date())
                    CrashPoint.reach(.created)
                } catch let problem as ExecutionError {
                    return try await finish(job, .couldNotStart(problem.message), container: nil)
                }
                container = try await runtime.jobContainer(named: name)
            }
            guard var current = container else {
                return try await finish(job, .workerLost("the worker container \(name) disappeared before it started"), container: nil)
            }
            if current.state == .created {
                if cancel.isSet || job.cancelRequested { return try await finish(job, .cancelled, container: current) }
                do {
                    try await runtime.startContainer(named: name)
                } catch {
                    return try await finish(job, .couldNotStart(error.message), container: current)
                }
                current = try await runtime.jobContainer(named: name) ?? current
            }
            if job.state == .queued {
                job = try await store.transitionJob(job.id, from: .queued, to: .started, controller: configuration.identity, update: JobUpdate(containerID: current.id), now: Date())
                logger.info("started", metadata: metadata(job))
                CrashPoint.reach(.started)
            }
            let end = try await awaitEnd(job, current)
            CrashPoint.reach(.exited)
            try await finish(job, end, container: try await runtime.jobContainer(named: name))
        } catch let error as StoreError {
            // Another controller reclaimed the job (our lease ran out), or it was cancelled while
            // pending: whoever holds it now carries on, with the same container.
            logger.warning("job no longer ours to advance: \(error)", metadata: metadata(job))
        } catch {
            logger.error("execution interrupted: \(error); the job is resumed after its lease or the next start", metadata: metadata(job))
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
        var values = try environment.resolve(container.env)
        let token = try await store.createJobToken(jobID: job.id, now: Date())
        values["BERTH_JOB_ID"] = job.id
        values["BERTH_JOB_TOKEN"] = token.token
        values["BERTH_JOB_ATTEMPT"] = String(job.attempt)
        values["BERTH_SCRATCH_DIR"] = configuration.scratchPath
        if let apiURL = configuration.apiURL?.current { values["BERTH_API_URL"] = apiURL }
        var volumeNames: [Int: String] = [:]
        for (index, mount) in container.volumes.enumerated() {
            if case .volume(let volume) = mount.source { volumeNames[index] = ObjectName.volume(project: job.project, name: volume) }
        }
        let target = JobContainerTarget(
            name: name, jobID: job.id, attempt: job.attempt, spec: job.spec, labels: Self.labels(job),
            volumeNames: volumeNames, scratchVolume: ObjectName.jobScratchVolume(project: job.project, jobID: job.id),
            scratchPath: configuration.scratchPath,
            endpoints: desired.endpoints(of: container, project: job.project, alias: nil),
            networks: desired.networkTargets(of: container, project: job.project)
        )
        do {
            return try await runtime.createJobContainer(target, environment: values)
        } catch where error.code == .notFound && container.pullPolicy != .always {
            try await ensureImage(container)
        } catch {
            throw ExecutionError(error.message)
        }
        do {
            return try await runtime.createJobContainer(target, environment: values)
        } catch {
            throw ExecutionError(error.message)
        }
    }

    private func ensureImage(_ container: ContainerSpec) async throws {
        do {
            try await runtime.ensureImage(container.image, policy: container.pullPolicy)
        } catch {
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

    private enum Ending: Sendable {
        case exited
        case deadline
        case cancelled
        case lost(String)
    }

    /// Waits for the container to exit, its deadline, or a cancel; stops it for the latter two.
    /// A container that already exited (the controller was down meanwhile) ends the attempt with
    /// its exit status: a cancel or a deadline that comes after the work cannot undo it.
    private func awaitEnd(_ job: JobRecord, _ container: JobContainer) async throws -> AttemptEnd {
        let deadline = job.spec.activeDeadline.map { limit in
            (container.startedAt ?? job.startedAt ?? Date()).addingTimeInterval(limit.seconds)
        }
        let ending = container.state == .exited || container.state == .dead ? .exited : await withTaskGroup(of: Ending?.self) { group -> Ending in
            group.addTask {
                var failures = 0
                while !Task.isCancelled {
                    do throws(DockerError) {
                        _ = try await runtime.waitForExit(named: container.name)
                        return .exited
                    } catch where error.code == .notFound {
                        return .lost("the worker container \(container.name) was removed while the job ran")
                    } catch {
                        failures += 1
                        try? await Task.sleep(for: .milliseconds(min(5000, 100 * (1 << min(failures, 6)))))
                    }
                }
                return nil
            }
            if let deadline {
                group.addTask {
                    try? await Task.sleep(for: .milliseconds(Int64(max(0, deadline.timeIntervalSinceNow) * 1000)))
                    return Task.isCancelled ? nil : .deadline
                }
            }
            group.addTask {
                while !Task.isCancelled {
                    if cancel.isSet { return .cancelled }
                    try? await Task.sleep(for: .milliseconds(100))
                }
                return nil
            }
            var result = Ending.lost("the wait ended without a result")
            while let next = await group.next() {
                guard let next else { continue }
                result = next
                break
            }
            group.cancelAll()
            return result
        }
        switch ending {
        case .exited:
            // A second before the start: the engine's clock and this one may differ a little.
            let state = try await exitState(container.name, startedAt: (container.startedAt ?? job.startedAt ?? Date()).addingTimeInterval(-1))
            return .exited(code: state.code, oomKilled: state.oomKilled)
        case .deadline:
            try await runtime.stopContainer(named: container.name, grace: job.spec.container.stopGracePeriod)
            return .deadlineExceeded(job.spec.activeDeadline ?? .seconds(0))
        case .cancelled:
            try await runtime.stopContainer(named: container.name, grace: job.spec.container.stopGracePeriod)
            return .cancelled
        case .lost(let problem):
            return .workerLost(problem)
        }
    }

    /// The exit code and OOM flag. The engine learns of an OOM kill from the kernel's notice, which
    /// can arrive well after the exit on a loaded host; its flag then lags (the tests saw it unset
    /// ten seconds on), while the container's `oom` event is a second witness. So a SIGKILL exit
    /// (137) without the flag is looked at again, flag and events, for up to ten seconds before
    /// it counts as a plain error.
    private func exitState(_ name: String, startedAt: Date) async throws -> (code: Int, oomKilled: Bool) {
        var container = try await runtime.jobContainer(named: name)
        let clock = ContinuousClock()
        let giveUp = clock.now + .seconds(10)
        while container?.exitCode == 137, container?.oomKilled == false, clock.now < giveUp {
            do {
                if try await runtime.announcedOutOfMemory(named: name, since: startedAt) { return (137, true) }
            } catch {
                // Best effort: the flag may still come.
                logger.warning("cannot read the engine's events for an OOM kill of \(name): \(error)")
            }
            try await Task.sleep(for: .milliseconds(200))
            container = try await runtime.jobContainer(named: name)
        }
        return (container?.exitCode ?? -1, container?.oomKilled ?? false)
    }

    /// Records the verdict on the attempt, then removes what is no longer needed. Recording comes
    /// first: a crash in between leaves a container the janitor removes, never a lost result.
    private func finish(_ job: JobRecord, _ end: AttemptEnd, container: JobContainer?) async throws {
        // One moment for the verdict and its record: a retry is due exactly its backoff after the
        // attempt's recorded end, however long collecting the result below takes.
        let now = Date()
        let verdict = JobVerdict.decide(end, spec: job.spec, attempt: job.attempt, retryBackoff: configuration.retryBackoff, now: now)
        var update = JobUpdate(exitCode: verdict.exitCode, reason: verdict.reason, nextAttemptAt: verdict.retryAt)
        if let container {
            let tails = try? await runtime.logTails(named: container.name, bytes: configuration.logTailBytes)
            update.stdoutTail = tails?.stdout
            update.stderrTail = tails?.stderr
            update.feedback = await feedback(job, container.name)
        }
        let state: JobState = end == .cancelled ? .cancelled : verdict.state
        let from = job.state
        // A job that never left `queued` and is cancelled or fails goes straight to its end.
        let ended = try await store.transitionJob(job.id, from: from, to: state, controller: configuration.identity, update: update, now: now)
        logger.log(level: state == .finished ? .info : .warning, "\(verdict.message)", metadata: metadata(job))
        // The why in words, beside the transition's own event: `berth jobs show` prints both.
        try await store.appendEvent(EventRecord(
            jobID: job.id, project: job.project, type: state == .finished ? .normal : .warning, reason: verdict.reason,
            message: "attempt \(job.attempt): \(verdict.message)", time: ended.finishedAt ?? Date()
        ))
        CrashPoint.reach(.recorded)
        if state == .pending || job.spec.ttlAfterFinished == nil {
            try await removeObjects(job)
        }
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
