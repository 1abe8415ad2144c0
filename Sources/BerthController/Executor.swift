import BerthCore
import BerthDocker
import BerthObjectStore
import Foundation
import Synchronization

/// What became of one planned action.
public enum ActionOutcome: Sendable, Hashable {
    case succeeded
    /// The engine (or the environment) refused; the resource goes into backoff.
    case failed(String)
    /// A wait ended without the container being ready (it stopped, or the time ran out). Not a
    /// failure of the resource's spec: the next pass looks again.
    case notReady(String)
    /// Not attempted: an action it depends on did not succeed, or the controller is stopping.
    case skipped(String)

    public var succeeded: Bool { self == .succeeded }

    /// `done`, `failed: …`, for progress lines and events.
    public var summary: String {
        switch self {
        case .succeeded: "done"
        case .failed(let message): "failed: \(message)"
        case .notReady(let message): "not ready: \(message)"
        case .skipped(let message): "skipped: \(message)"
        }
    }
}

/// One action as it was carried out.
public struct ExecutedAction: Sendable {
    public var action: Action
    public var outcome: ActionOutcome
    public var duration: Duration
}

/// Everything one execution did, in the order actions finished.
public struct ExecutionReport: Sendable {
    public var results: [ExecutedAction] = []

    /// Actions that failed, by resource: the resources to put into backoff.
    public var failures: [ResourceID: String] {
        var failures: [ResourceID: String] = [:]
        for result in results {
            if case .failed(let message) = result.outcome { failures[result.action.resource] = failures[result.action.resource] ?? message }
        }
        return failures
    }

    /// How many actions changed the world (waits and failures do not count).
    public var changeCount: Int {
        results.filter { $0.outcome.succeeded && $0.action.operation.isChange }.count
    }
}

/// Progress of an execution, for live output.
public enum ExecutionProgress: Sendable {
    case started(Action)
    case finished(ExecutedAction)
}

/// Carries a plan out and decides nothing: runs every action whose prerequisites succeeded, up to
/// `concurrency` at once, in plan order among the ready ones. A failed action skips only the
/// actions that depend on it, so one broken service never blocks the rest. When `shouldStop`
/// turns true, actions in flight finish and no new one starts (a safe point: the next pass
/// adopts whatever exists).
public struct Executor: Sendable {
    public var runtime: any ContainerRuntime
    /// Where bucket operations go; plans hold none without it.
    public var objectStorage: (any ObjectStorage)?
    /// What a bucket operation fails with when there is no `objectStorage` (the caller knows
    /// which settings configure one).
    public var noObjectStorage: String
    public var concurrency: Int
    public var environment: EnvironmentResolver
    /// Services whose age-encrypted `fromFile` files are not decrypted (see
    /// `DesiredState.decryptsFiles(for:project:)`).
    public var fileDecryptionRefused: Set<ResourceID>
    /// How often a wait looks at the container.
    public var readyPollInterval: Duration
    public var progress: @Sendable (ExecutionProgress) -> Void
    public var shouldStop: @Sendable () -> Bool

    public init(
        runtime: any ContainerRuntime,
        objectStorage: (any ObjectStorage)? = nil,
        noObjectStorage: String = "no object storage is configured",
        concurrency: Int = 8,
        environment: EnvironmentResolver = EnvironmentResolver(),
        fileDecryptionRefused: Set<ResourceID> = [],
        readyPollInterval: Duration = .milliseconds(100),
        progress: @escaping @Sendable (ExecutionProgress) -> Void = { _ in },
        shouldStop: @escaping @Sendable () -> Bool = { false }
    ) {
        self.runtime = runtime
        self.objectStorage = objectStorage
        self.noObjectStorage = noObjectStorage
        self.concurrency = max(1, concurrency)
        self.environment = environment
        self.fileDecryptionRefused = fileDecryptionRefused
        self.readyPollInterval = readyPollInterval
        self.progress = progress
        self.shouldStop = shouldStop
    }

    public func execute(_ plan: Plan) async -> ExecutionReport {
        var schedule = Schedule(plan.actions)
        var report = ExecutionReport()
        let images = ImagePreparation(runtime: runtime)
        await withTaskGroup(of: ExecutedAction.self) { group in
            var running = 0
            while true {
                while running < concurrency, let next = schedule.popReady() {
                    let action = plan.actions[next]
                    if shouldStop() {
                        finish(ExecutedAction(action: action, outcome: .skipped("the controller is stopping"), duration: .zero), &schedule, &report, plan)
                        continue
                    }
                    progress(.started(action))
                    running += 1
                    group.addTask {
                        let clock = ContinuousClock()
                        let start = clock.now
                        let outcome = await run(action, images: images)
                        return ExecutedAction(action: action, outcome: outcome, duration: clock.now - start)
                    }
                }
                guard let done = await group.next() else { break }
                running -= 1
                finish(done, &schedule, &report, plan)
            }
        }
        return report
    }

    /// Records a result and releases (or skips) what depends on it.
    private func finish(_ result: ExecutedAction, _ schedule: inout Schedule, _ report: inout ExecutionReport, _ plan: Plan) {
        report.results.append(result)
        progress(.finished(result))
        if result.outcome.succeeded {
            schedule.succeeded(result.action.id)
            return
        }
        for skipped in schedule.failed(result.action.id) {
            let reason = "\(result.action.operation.summary) did not succeed"
            let entry = ExecutedAction(action: plan.actions[skipped], outcome: .skipped(reason), duration: .zero)
            report.results.append(entry)
            progress(.finished(entry))
        }
    }

    private func run(_ action: Action, images: ImagePreparation) async -> ActionOutcome {
        do {
            switch action.operation {
            case .createVolume(let target):
                try await runtime.createVolume(target)
            case .removeVolume(let name):
                try await runtime.removeVolume(named: name)
            case .createNetwork(let target):
                try await runtime.createNetwork(target)
            case .removeNetwork(let name):
                try await runtime.removeNetwork(named: name)
            case .connectContainer(let name, let endpoint):
                try await runtime.connectContainer(named: name, to: endpoint)
            case .disconnectContainer(let name, let network):
                try await runtime.disconnectContainer(named: name, from: network)
            case .createContainer(let target):
                try await images.ensure(target.spec.container.image, policy: target.spec.container.pullPolicy)
                let values = try await environment.resolve(target.spec.container.env, decryptingFiles: !fileDecryptionRefused.contains(target.service))
                _ = try await runtime.createContainer(target, environment: values)
            case .startContainer(let name):
                try await runtime.startContainer(named: name)
            case .restartContainer(let name, let grace):
                try await runtime.restartContainer(named: name, grace: grace)
            case .renameContainer(let from, let to):
                try await runtime.renameContainer(named: from, to: to)
            case .removeContainer(let name, _, let grace):
                try await runtime.removeContainer(named: name, grace: grace)
            case .awaitReady(let name, let condition):
                return try await awaitReady(name, condition)
            case .createBucket(let target):
                try await storage().createBucket(target)
            case .setBucketVersioning(let name, let enabled):
                try await storage().setVersioning(bucket: name, enabled: enabled)
            case .setBucketLifecycle(let name, let lifecycle):
                try await storage().setLifecycle(bucket: name, lifecycle)
            case .setBucketTags(let name, let tags):
                try await storage().setTags(bucket: name, tags)
            case .removeBucket(let name, let emptyFirst):
                try await storage().removeBucket(name, emptyFirst: emptyFirst)
            }
            return .succeeded
        } catch let error as ExecutionError {
            return .failed(error.message)
        } catch let error as DockerError {
            return .failed(error.message)
        } catch let error as S3Error {
            return .failed(error.description)
        } catch {
            return .failed("\(error)")
        }
    }

    private func storage() throws(ExecutionError) -> any ObjectStorage {
        guard let objectStorage else { throw ExecutionError(noObjectStorage) }
        return objectStorage
    }

    /// Polls until the container runs (and is healthy, when asked), it stops, or its time is up:
    /// for a health check, the start period plus every retry's interval and timeout, and a margin.
    private func awaitReady(_ name: String, _ condition: Dependency.Condition) async throws -> ActionOutcome {
        let clock = ContinuousClock()
        var deadline: ContinuousClock.Instant?
        let start = clock.now
        while true {
            guard let container = try await runtime.container(named: name) else {
                return .notReady("container \(name) no longer exists")
            }
            switch container.state {
            case .running:
                if condition == .started || container.health == .healthy { return .succeeded }
                if container.health == nil { return .notReady("container \(name) has no health check to become healthy by") }
            case .exited, .dead:
                return .notReady("container \(name) exited with code \(container.exitCode ?? 0) before it was ready")
            case .created, .restarting, .paused, .removing:
                break
            }
            if deadline == nil { deadline = start + Self.readyTimeout(container.spec?.healthcheck, condition) }
            if let deadline, clock.now >= deadline {
                return .notReady("container \(name) was not \(condition == .healthy ? "healthy" : "running") after \((clock.now - start).components.seconds)s")
            }
            if shouldStop() { return .skipped("the controller is stopping") }
            try await Task.sleep(for: readyPollInterval)
        }
    }

    static func readyTimeout(_ check: HealthcheckSpec?, _ condition: Dependency.Condition) -> Duration {
        guard condition == .healthy, let check else { return .seconds(30) }
        let attempts = Int64(check.retries + 1)
        let milliseconds = check.startPeriod.milliseconds + attempts * (check.interval.milliseconds + check.timeout.milliseconds)
        return .milliseconds(milliseconds) + .seconds(30)
    }
}

/// Which actions may start: counts of unmet prerequisites, and who waits for whom.
private struct Schedule {
    private var unmet: [Int]
    private var dependents: [[Int]]
    private var settled: [Bool]
    private var ready: [Int] = []
    private var readIndex = 0

    init(_ actions: [Action]) {
        unmet = actions.map { Set($0.after).count }
        dependents = Array(repeating: [], count: actions.count)
        settled = Array(repeating: false, count: actions.count)
        for action in actions {
            for prerequisite in Set(action.after) { dependents[prerequisite].append(action.id) }
        }
        ready = actions.filter { unmet[$0.id] == 0 }.map(\.id)
    }

    /// The next action with every prerequisite met, lowest id first among those released together.
    mutating func popReady() -> Int? {
        guard readIndex < ready.count else { return nil }
        defer { readIndex += 1 }
        settled[ready[readIndex]] = true
        return ready[readIndex]
    }

    mutating func succeeded(_ id: Int) {
        for dependent in dependents[id] where !settled[dependent] {
            unmet[dependent] -= 1
            if unmet[dependent] == 0 { ready.append(dependent) }
        }
    }

    /// Settles everything that depends on `id`, directly or not, and returns it (to be skipped).
    mutating func failed(_ id: Int) -> [Int] {
        var skipped: [Int] = []
        var pending = dependents[id]
        while let next = pending.popLast() {
            guard !settled[next] else { continue }
            settled[next] = true
            skipped.append(next)
            pending += dependents[next]
        }
        return skipped.sorted()
    }
}

/// Makes sure each image is present once per execution, however many containers use it.
private final class ImagePreparation: Sendable {
    private let runtime: any ContainerRuntime
    private let tasks = Mutex<[String: Task<Void, any Error>]>([:])

    init(runtime: any ContainerRuntime) {
        self.runtime = runtime
    }

    func ensure(_ image: ImageReference, policy: PullPolicy) async throws {
        let key = "\(image) \(policy)"
        let task = tasks.withLock { tasks in
            if let existing = tasks[key] { return existing }
            let runtime = runtime
            let task = Task<Void, any Error> {
                do throws(DockerError) {
                    try await runtime.ensureImage(image, policy: policy)
                } catch {
                    throw ExecutionError("image \(image): \(error.message)")
                }
            }
            tasks[key] = task
            return task
        }
        try await task.value
    }
}
