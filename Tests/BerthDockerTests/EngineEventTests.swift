import BerthCore
import BerthDocker
import Foundation
import Testing

@Suite("Engine events")
struct EngineEventTests {
    /// A watch of this test's label, collecting into `log`; ready once it has shown a marker
    /// container, so nothing waits on a head start. The marker's own events are left out.
    private func watch(_ engine: TestEngine, into log: EventLog) async throws -> Task<Void, any Error> {
        let marker = engine.name("marker")
        let watcher = Task {
            for try await item in engine.client.events(filters: ["label": ["berth.test=\(engine.scope)"]]) {
                if case .event(let event) = item, event.attributes["name"] == marker { await log.markerSeen() } else { await log.append(item) }
            }
        }
        let id = try await engine.client.createContainer(name: marker, engine.request(["true"]))
        try await engine.eventually(60, "the watch shows the marker container") { await log.sawMarker }
        try await engine.client.removeContainer(id, force: true)
        return watcher
    }

    @Test func deliversLifecycleAndHealthEventsForLabelledContainers() async throws {
        try await withTestEngine { engine in
            // given
            let log = EventLog()
            let watcher = try await watch(engine, into: log)
            defer { watcher.cancel() }

            // when
            let name = engine.name("events")
            let id = try await engine.client.createContainer(
                name: name,
                engine.request(["sleep", "300"]) {
                    // A generous timeout and retries: on a loaded CI machine one exec can take seconds.
                    $0.healthcheck = .init(test: ["CMD", "true"], interval: 500_000_000, timeout: 10_000_000_000, retries: 5, startPeriod: 0)
                })
            try await engine.client.startContainer(id)
            try await engine.eventually(30, "healthy") { try await engine.client.inspectContainer(id).state.health?.status == "healthy" }
            try await engine.client.removeContainer(id, force: true)

            // then
            try await engine.eventually(60, "the watch shows the destroy") { await log.containerEvents.contains("\(name):destroy") }
            let actions = await log.containerEvents.filter { $0.hasPrefix(name + ":") }.map { String($0.dropFirst(name.count + 1)) }
            #expect(actions.first == "create")
            for action in ["start", "health_status: healthy", "die", "destroy"] {
                #expect(actions.contains(action), "\(actions)")
            }
        }
    }

    @Test func ignoresObjectsWithoutTheWatchedLabel() async throws {
        try await withTestEngine { engine in
            let log = EventLog()
            let watcher = try await watch(engine, into: log)
            defer { watcher.cancel() }
            let other = try await engine.client.createContainer(name: engine.name("other"), ContainerCreateRequest(image: engine.image, cmd: ["true"]))
            _ = try await engine.client.createContainer(name: engine.name("mine"), engine.request(["true"]))
            try await engine.client.removeContainer(other)

            try await engine.eventually(60, "the watch shows mine") { await log.containerEvents.contains("\(engine.name("mine")):create") }
            let names = await log.containerEvents
            #expect(!names.contains { $0.hasPrefix(engine.name("other") + ":") })
        }
    }

    @Test func cancellingTheIterationEndsTheWatchPromptly() async throws {
        try await withTestEngine { engine in
            // given: a watch that is live (it has shown an event)
            let watcher = try await watch(engine, into: EventLog())
            let started = Date()
            watcher.cancel()
            _ = await watcher.result
            // The stream never ends by itself: ending well within its minutes is the point (a
            // loaded machine can stall for seconds).
            #expect(Date().timeIntervalSince(started) < 30)
        }
    }
}

@Suite("Event streams across an engine restart")
struct EventResumeTests {
    /// A second, throwaway dockerd that this test restarts, so other tests keep their engine.
    @Test(.timeLimit(.minutes(2)))
    func aWatchReconnectsAfterTheEngineRestartsAndMissesNothing() async throws {
        let environment = ProcessInfo.processInfo.environment
        let root = try #require(environment["BERTH_TEST_ROOT"], "run the suite with scripts/test")
        let daemon = try ScratchDaemon(folder: root + "/docker-restart")
        try await daemon.start()
        defer { daemon.terminate() }
        let client = DockerClient(endpoint: try DockerEndpoint(host: daemon.host))
        let busybox = try Array(Data(contentsOf: URL(fileURLWithPath: "/bin/busybox")))
        try await client.importImage(
            rootFilesystem: TarArchive.write([.init(path: "bin", kind: .directory, mode: 0o755), .init(path: "bin/true", mode: 0o755, contents: busybox)]),
            repository: "localhost/scratch", tag: "1"
        )
        let request = ContainerCreateRequest(image: "localhost/scratch:1", cmd: ["/bin/true"], labels: ["berth.test": "restart"], hostConfig: .init(networkMode: "none"))

        // given: a watch that has seen one event. It starts from a moment ago: under load its first
        // request can reach the engine after the create (a fixed 300 ms head start once was not
        // enough), and the engine then replays the create rather than the watch missing it.
        let seen = EventLog()
        let watchFrom = Date().addingTimeInterval(-1)
        let watcher = Task {
            for try await item in client.events(filters: ["label": ["berth.test=restart"]], since: watchFrom, reconnectDelay: .milliseconds(100)) {
                await seen.append(item)
            }
        }
        defer { watcher.cancel() }
        _ = try await client.createContainer(name: "before", request)
        try await daemon.eventually("the first event") { await seen.containerEvents.contains("before:create") }

        // when: the engine goes away and comes back, and things happen right after
        await daemon.stop()
        try await daemon.start()
        _ = try await client.createContainer(name: "after", request)
        try await client.removeContainer("after", force: true)

        // then: the watch resumed by itself and delivered what happened, once each
        try await daemon.eventually("events after the restart") { await seen.containerEvents.contains("after:destroy") }
        let events = await seen.containerEvents
        #expect(events.filter { $0 == "before:create" }.count == 1, "\(events)")
        #expect(events.contains("after:create"), "\(events)")
        #expect(await seen.reconnects >= 1)
        try await client.removeContainer("before", force: true)
    }
}

/// Collects watch items across tasks.
actor EventLog {
    private(set) var containerEvents: [String] = []
    private(set) var reconnects = 0
    /// Whether a watch has shown its marker container (it is live).
    private(set) var sawMarker = false

    func markerSeen() { sawMarker = true }

    func append(_ item: EngineWatchItem) {
        switch item {
        case .event(let event) where event.type == "container": containerEvents.append("\(event.attributes["name"] ?? event.actorID):\(event.action)")
        case .event: break
        case .reconnected: reconnects += 1
        }
    }
}

/// A dockerd this test starts and stops by its own PID, with the same safety flags as scripts/test.
final class ScratchDaemon: @unchecked Sendable {
    // SAFETY: used from one test at a time; `process` is only touched by start/stop on that test's task.
    let folder: String
    var host: String { "unix://\(folder)/d.sock" }
    private var process: Process?

    init(folder: String) throws {
        self.folder = folder
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    func start() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/dockerd")
        process.arguments = [
            "--host", host, "--data-root", folder + "/data", "--exec-root", folder + "/exec", "--pidfile", folder + "/dockerd.pid",
            "--bridge=none", "--iptables=false", "--ip6tables=false", "--ip-forward=false", "--ip-masq=false",
        ]
        let log =
            FileHandle(forWritingAtPath: folder + "/dockerd.log")
            ?? {
                FileManager.default.createFile(atPath: folder + "/dockerd.log", contents: nil)
                return FileHandle(forWritingAtPath: folder + "/dockerd.log")!
            }()
        log.seekToEndOfFile()
        process.standardOutput = log
        process.standardError = log
        try process.run()
        self.process = process
        let client = DockerClient(endpoint: try DockerEndpoint(host: host))
        try await eventually("the scratch dockerd answers") { (try? await client.ping()) == true }
    }

    /// Ends the daemon (SIGTERM, SIGKILL after 30 s) and waits until it has exited without
    /// blocking a thread: `waitUntilExit()` would hold one of the cooperative pool's two.
    func stop() async {
        guard let process, process.isRunning else { return }
        process.terminate()
        let deadline = ContinuousClock.now + .seconds(30)
        while process.isRunning, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        self.process = nil
    }

    /// Sends SIGTERM and returns at once (for `defer`).
    func terminate() {
        if let process, process.isRunning { process.terminate() }
    }

    func eventually(_ what: String, _ condition: () async throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("timed out waiting for \(what)")
        throw CancellationError()
    }
}
