import BerthCore
import BerthDocker
import Foundation

/// Worker containers in memory, for job runner tests: it keeps containers and scratch volumes as
/// the engine would report them, records every call that acts on them in order, runs each started
/// worker as scripted, and fails the calls it is told to fail. The engine itself is tested in
/// BerthDockerTests; this double only imitates what the job runner relies on: a create of a name
/// that exists adopts the same attempt's container and refuses another's, a stop or an exit wakes
/// the waiters, a removal makes their wait fail with `notFound`.
actor InMemoryJobRuntime: JobRuntime {
    /// A call that acts on the world, by the name of what it acts on.
    enum Call: Sendable, Hashable, CustomStringConvertible {
        case ensureImage(String)
        case createContainer(String)
        case startContainer(String)
        case stopContainer(String)
        case removeContainer(String)
        case removeVolume(String)
        case writeInputFiles(String)

        var description: String {
            switch self {
            case .ensureImage(let image): "ensure image \(image)"
            case .createContainer(let name): "create container \(name)"
            case .startContainer(let name): "start container \(name)"
            case .stopContainer(let name): "stop container \(name)"
            case .removeContainer(let name): "remove container \(name)"
            case .removeVolume(let name): "remove volume \(name)"
            case .writeInputFiles(let name): "write input files into \(name)"
            }
        }
    }

    /// What a started worker does.
    enum Worker: Sendable {
        /// Runs until something waits for it, then exits with `code`, having written `stdout`.
        case exitsWhenWaitedFor(code: Int, oomKilled: Bool = false, stdout: String = "")
        /// Runs until stopped (exit code 143), removed, or ``workerExits(_:code:)``.
        case runs
    }

    /// This engine's ID.
    nonisolated let engine: String
    private(set) var calls: [Call] = []
    /// Environments containers were created with, by container name.
    private(set) var environments: [String: [String: String]] = [:]
    /// Containers made (not adopted), by name, in order.
    private(set) var creations: [String] = []
    /// The most workers that ran at the same time.
    private(set) var maxRunning = 0
    private var containers: [String: JobContainer] = [:]
    private var volumes: [String: [String: String]] = [:]
    private var outputs: [String: String] = [:]
    /// Input files written into each container, by container name.
    private(set) var inputFiles: [String: [JobInputFile]] = [:]
    private var waiters: [String: [Int: CheckedContinuation<Result<Int, DockerError>, Never>]] = [:]
    private var nextWaiter = 0
    private var workers: [Int: Worker] = [:]
    private var defaultWorker = Worker.exitsWhenWaitedFor(code: 0, stdout: "done\n")
    private var failures: [Call: DockerError] = [:]
    /// Errors thrown once each, in order, before `failures` are.
    private var failuresInTurn: [Call: [DockerError]] = [:]
    private var images: Set<String> = []
    private var missingImages: Set<String> = []
    private var outOfMemoryAnnounced: Set<String> = []
    private var nextID = 0

    init(engine: String = "engine-1") {
        self.engine = engine
    }

    // MARK: Scripting the world

    /// What workers do once started: those of `attempt` only, or every attempt.
    func script(_ worker: Worker, attempt: Int? = nil) {
        if let attempt { workers[attempt] = worker } else { defaultWorker = worker }
    }

    /// Makes `call` throw `error`.
    func fail(_ call: Call, with error: DockerError) {
        failures[call] = error
    }

    /// Makes the next calls of `call` throw `errors`, one each, before anything `fail` set.
    func fail(_ call: Call, inTurn errors: [DockerError]) {
        failuresInTurn[call] = errors
    }

    /// Makes `call` succeed again.
    func stopFailing(_ call: Call) {
        failures[call] = nil
    }

    /// A create of this image fails with `notFound` until it is pulled.
    func imageIsMissing(_ image: String) {
        missingImages.insert(image)
    }

    /// The engine reports an `oom` event for this container.
    func announceOutOfMemory(_ name: String) {
        outOfMemoryAnnounced.insert(name)
    }

    /// A running worker exits by itself.
    func workerExits(_ name: String, code: Int) {
        guard var container = containers[name], container.state == .running else { return }
        container.state = .exited
        container.exitCode = code
        container.finishedAt = Date()
        containers[name] = container
        wake(name, .success(code))
    }

    /// Removes a container behind the runner's back (another tool, a person).
    func removeBehindTheBack(_ name: String) {
        containers[name] = nil
        wake(name, .failure(DockerError(.notFound, "no such container: \(name)", status: 404)))
    }

    /// Puts a container there as a crash or an earlier attempt would have left it.
    func leave(_ container: JobContainer) {
        containers[container.name] = container
    }

    /// No worker container or scratch volume is left.
    var isEmpty: Bool { containers.isEmpty && volumes.isEmpty }

    var running: Int { containers.values.filter { $0.state == .running }.count }

    var runningNames: [String] { containers.values.filter { $0.state == .running }.map(\.name).sorted() }

    // MARK: JobRuntime

    /// The engine's ID: one per in-memory engine (`engine`, set when made).
    nonisolated func engineID() async throws(DockerError) -> String { engine }

    func jobContainer(named name: String) async throws(DockerError) -> JobContainer? {
        containers[name] ?? containers.values.first { $0.id == name }
    }

    func jobObjects() async throws(DockerError) -> (containers: [JobContainer], volumes: [String: [String: String]]) {
        (containers.values.sorted { $0.name < $1.name }, volumes)
    }

    func createJobContainer(_ target: JobContainerTarget, environment: [String: String]) async throws(DockerError) -> String {
        try act(.createContainer(target.name))
        let image = target.spec.container.image.description
        if missingImages.contains(image), !images.contains(image) {
            throw DockerError(.notFound, "No such image: \(image)", status: 404)
        }
        var volumeLabels = target.labels
        volumeLabels[LabelKey.attempt] = nil
        volumes[target.scratchVolume] = volumeLabels
        if let existing = containers[target.name] {
            guard existing.jobID == target.jobID, existing.attempt == target.attempt else {
                throw DockerError(.conflict, "container name \(target.name) is taken by a container that is not attempt \(target.attempt) of job \(target.jobID); remove it", status: 409)
            }
            return existing.id
        }
        nextID += 1
        let id = "job-container-\(nextID)"
        containers[target.name] = JobContainer(id: id, name: target.name, labels: target.labels, state: .created)
        outputs[target.name] = nil
        environments[target.name] = environment
        creations.append(target.name)
        return id
    }

    func startContainer(named name: String) async throws(DockerError) {
        try act(.startContainer(name))
        guard var container = containers[name] else { throw DockerError(.notFound, "no such container: \(name)", status: 404) }
        guard container.state != .running else { return }
        container.state = .running
        container.startedAt = Date()
        containers[name] = container
        maxRunning = max(maxRunning, running)
    }

    func waitForExit(named name: String) async throws(DockerError) -> Int {
        guard let container = containers[name] else { throw DockerError(.notFound, "no such container: \(name)", status: 404) }
        guard container.state == .running else { return container.exitCode }
        if case .exitsWhenWaitedFor(let code, let oomKilled, let stdout) = worker(of: container) {
            outputs[name, default: ""] += stdout
            workerExits(name, code: code)
            containers[name]?.oomKilled = oomKilled
            return code
        }
        // A wait is cancellable, as the engine's HTTP request is.
        nextWaiter += 1
        let waiter = nextWaiter
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Result<Int, DockerError>, Never>) in
                if Task.isCancelled {
                    continuation.resume(returning: .failure(DockerError(.cancelled, "cancelled")))
                } else {
                    waiters[name, default: [:]][waiter] = continuation
                }
            }
        } onCancel: {
            Task { await self.cancelWait(name, waiter) }
        }
        return try result.get()
    }

    func stopContainer(named name: String, grace: TimeSpan) async throws(DockerError) {
        try act(.stopContainer(name))
        workerExits(name, code: 143)
    }

    func removeContainer(named name: String, grace: TimeSpan) async throws(DockerError) {
        try act(.removeContainer(name))
        guard containers[name] != nil else { return }
        removeBehindTheBack(name)
    }

    func removeVolume(named name: String) async throws(DockerError) {
        try act(.removeVolume(name))
        volumes[name] = nil
    }

    func logTails(named name: String, bytes: Int) async throws(DockerError) -> (stdout: String, stderr: String) {
        (String(decoding: Array((outputs[name] ?? "").utf8.suffix(bytes)), as: UTF8.self), "")
    }

    func readFile(named name: String, path: String, limit: Int) async throws(DockerError) -> BoundedFile? {
        nil
    }

    func allLogFrames(named name: String) async throws(DockerError) -> AsyncThrowingStream<LogFrame, any Error> {
        let output = Array((outputs[name] ?? "").utf8)
        return AsyncThrowingStream { continuation in
            if !output.isEmpty { continuation.yield(LogFrame(stream: .stdout, bytes: output)) }
            continuation.finish()
        }
    }

    func writeInputFiles(named name: String, files: [JobInputFile]) async throws(DockerError) {
        try act(.writeInputFiles(name))
        inputFiles[name] = files
    }

    func ensureImage(_ image: ImageReference, policy: PullPolicy) async throws(DockerError) {
        try act(.ensureImage(image.description))
        images.insert(image.description)
    }

    func announcedOutOfMemory(named name: String, since: Date) async throws(DockerError) -> Bool {
        outOfMemoryAnnounced.contains(name)
    }

    // MARK: Bookkeeping

    private func act(_ call: Call) throws(DockerError) {
        calls.append(call)
        if var errors = failuresInTurn[call], !errors.isEmpty {
            let error = errors.removeFirst()
            failuresInTurn[call] = errors
            throw error
        }
        if let failure = failures[call] { throw failure }
    }

    private func worker(of container: JobContainer) -> Worker {
        container.attempt.flatMap { workers[$0] } ?? defaultWorker
    }

    private func wake(_ name: String, _ result: Result<Int, DockerError>) {
        for waiter in (waiters.removeValue(forKey: name) ?? [:]).values { waiter.resume(returning: result) }
    }

    private func cancelWait(_ name: String, _ waiter: Int) {
        waiters[name]?.removeValue(forKey: waiter)?.resume(returning: .failure(DockerError(.cancelled, "cancelled")))
    }
}
