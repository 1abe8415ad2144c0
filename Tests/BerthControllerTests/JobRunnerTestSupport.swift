import BerthCore
import BerthDocker
import BerthStore
import Foundation
import Logging
import Synchronization
import Testing

@testable import BerthController

/// One job runner test's world: a SQLite store file in a temporary folder and two in-memory
/// engines, which outlive the runners started on them, so a second runner with the same identity
/// is the controller restarted after a crash, and one with another identity a second controller.
final class JobWorld: Sendable {
    static let identity = "controller-1"
    let folder: URL
    let runtime = InMemoryJobRuntime(engine: "engine-1")
    /// A second engine, for a controller on another host.
    let otherRuntime = InMemoryJobRuntime(engine: "engine-2")
    private let runners = Mutex<[RunningJobRunner]>([])

    private init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("berth-job-runner-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    }

    /// Runs `body` in a new world; then stops its runners and removes its folder, also on failure.
    static func run(_ body: (JobWorld) async throws -> Void) async throws {
        let world = try JobWorld()
        do {
            try await body(world)
        } catch {
            await world.stopRunners()
            throw error
        }
        await world.stopRunners()
    }

    private func stopRunners() async {
        for runner in runners.withLock({ $0 }) { await runner.stop() }
        try? FileManager.default.removeItem(at: folder)
    }

    static func configuration(maxConcurrentJobs: Int = 4, identity: String = identity, lease: TimeSpan = .seconds(30)) -> JobRunnerConfiguration {
        JobRunnerConfiguration(
            identity: identity, maxConcurrentJobs: maxConcurrentJobs, lease: lease, pollInterval: .milliseconds(20),
            retryBackoff: BackoffPolicy(initial: .milliseconds(50), maximum: .milliseconds(50)), apiURL: nil
        )
    }

    /// A store of its own on this world's file.
    func openStore() async throws -> SQLiteStore {
        try await SQLiteStore.open(SQLiteStore.Configuration(path: folder.appendingPathComponent("berth.sqlite").path))
    }

    /// A runner on a store of its own (a process of its own) over this world, running until
    /// stopped: on `engine` (this world's first by default), named `identity`.
    func start(
        maxConcurrentJobs: Int = 4, identity: String = JobWorld.identity, engine: InMemoryJobRuntime? = nil, lease: TimeSpan = .seconds(30),
        betweenSteps: @escaping JobExecution.BetweenSteps = { _, _, _ in }
    ) async throws -> RunningJobRunner {
        let store = try await openStore()
        let configuration = Self.configuration(maxConcurrentJobs: maxConcurrentJobs, identity: identity, lease: lease)
        let runner = JobRunner(
            runtime: engine ?? runtime, store: store, configuration: configuration, environment: EnvironmentResolver(),
            logger: Logger(label: "berth.jobs.test") { _ in SwiftLogNoOpLogHandler() }, betweenSteps: betweenSteps
        )
        await runner.updateDesired(try Fixture.desired())
        let running = RunningJobRunner(runner: runner, store: store, task: Task { await runner.run() })
        runners.withLock { $0.append(running) }
        return running
    }

    static func spec(
        deadline: TimeSpan? = nil, retries: Int = 0, ttl: TimeSpan? = nil, image: String = "busybox:1"
    ) throws -> JobSpec {
        let container = ContainerSpec(image: try ImageReference(parsing: image), network: .none, stopGracePeriod: .seconds(1))
        return JobSpec(container: container, activeDeadline: deadline, backoffLimit: retries, ttlAfterFinished: ttl)
    }

    static func containerName(_ id: String) -> String {
        ObjectName.jobContainer(project: "shop", jobID: id)
    }
}

/// A runner started by `JobWorld.start`, with the store it opened.
struct RunningJobRunner: Sendable {
    let runner: JobRunner
    let store: SQLiteStore
    let task: Task<Void, Never>

    func submit(_ spec: JobSpec, name: String = "once") async throws -> JobRecord {
        try await store.submitJob(JobSubmission(project: "shop", name: name, spec: spec), now: Date()).job
    }

    func job(_ id: String) async throws -> JobRecord {
        try #require(try await store.job(id))
    }

    /// The reasons of the job's events, oldest first.
    func reasons(_ id: String) async throws -> [String] {
        try #require(try await store.job(id, events: 100)).events.map(\.reason)
    }

    /// Waits until the job ended and this runner is done with it (its event written, its
    /// objects removed), and returns it.
    func ended(_ id: String) async throws -> JobRecord {
        try await eventually("job \(id) ends") {
            guard let job = try await store.job(id), job.state.isTerminal else { return false }
            return await !runner.runningJobIDs.contains(id)
        }
        return try await job(id)
    }

    /// Stops the runner as a killed process stops: nothing more happens, and its store closes.
    /// Stopping it again does nothing.
    func stop() async {
        task.cancel()
        await task.value
        await store.close()
    }
}

struct NotInTime: Error, CustomStringConvertible {
    var description: String
}

/// Checks `condition` until it holds, for at most `bound`: generous, because the whole suite runs
/// these beside end-to-end tests that keep the few cooperative threads busy.
func eventually(_ what: String, within bound: Duration = .seconds(120), _ condition: () async throws -> Bool) async throws {
    let clock = ContinuousClock()
    let end = clock.now + bound
    while clock.now < end {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(10))
    }
    throw NotInTime(description: "\(what): not within \(bound)")
}

/// Stops one job's execution between two steps as a SIGKILL would: the `index`th time the
/// execution is between steps, it goes no further. Remembers the steps it saw.
final class SimulatedCrash: Sendable {
    struct Crashed: Error {}

    private let state = Mutex<(seen: [JobStep?], crashed: Bool)>(([], false))
    let index: Int?

    /// `index` nil: never crashes, only records.
    init(at index: Int?) {
        self.index = index
    }

    /// The steps begun, in order; `nil` for the end.
    var steps: [JobStep?] { state.withLock { $0.seen } }
    var happened: Bool { state.withLock { $0.crashed } }

    var betweenSteps: JobExecution.BetweenSteps {
        { [self] _, next, _ in
            try state.withLock { state throws(Crashed) in
                if state.seen.count == index {
                    state.crashed = true
                    throw Crashed()
                }
                state.seen.append(next)
            }
        }
    }
}
