import BerthController
import BerthCore
import BerthDocker
import Foundation
import Synchronization
import Testing

@Suite("Executor: carries a plan out on an in-memory engine")
struct ExecutorTests {
    static func executor(
        _ runtime: InMemoryRuntime,
        concurrency: Int = 8,
        environment: [String: String] = [:],
        progress: @escaping @Sendable (ExecutionProgress) -> Void = { _ in },
        shouldStop: @escaping @Sendable () -> Bool = { false }
    ) -> Executor {
        Executor(
            runtime: runtime, concurrency: concurrency, environment: EnvironmentResolver(processEnvironment: environment),
            readyPollInterval: .milliseconds(5), progress: progress, shouldStop: shouldStop
        )
    }

    /// `count` volume creations that depend on nothing.
    static func independentVolumes(_ count: Int) -> Plan {
        Plan(
            actions: (0..<count).map { index in
                let id = ResourceID(kind: .volume, project: "shop", name: "v\(index)")
                let target = VolumeTarget(name: "berth-shop-v\(index)", spec: VolumeSpec(), labels: [LabelKey.managed: "true"])
                return Action(id: index, resource: id, operation: .createVolume(target: target), cause: "missing")
            })
    }

    // MARK: Ordering

    @Test func createsTheVolumeBeforeTheContainerThatMountsIt() async throws {
        // given: a slow volume creation, and room to run everything at once
        let runtime = InMemoryRuntime()
        await runtime.delay(.createVolume("berth-shop-data"), by: .milliseconds(50))
        let desired = try Fixture.desired(Fixture.volume("data"), try Fixture.service("web", volumes: ["data:/data"]))
        let plan = try await Fixture.plan(desired, on: runtime)

        // when
        let report = await Self.executor(runtime).execute(plan)

        // then
        #expect(report.allSucceeded)
        let calls = await runtime.calls
        let volume = try #require(calls.firstIndex(of: .createVolume("berth-shop-data")))
        let container = try #require(calls.firstIndex(of: .createContainer("berth-shop-web-0")))
        #expect(volume < container)
        #expect(await runtime.state(of: "berth-shop-web-0") == .running)
    }

    @Test func startsDependentsOnlyOnceTheirDependencyIsReady() async throws {
        // given: db turns healthy only after a few looks; web needs it healthy
        let runtime = InMemoryRuntime()
        await runtime.setBehaviour(.becomesHealthy(afterInspections: 3), ofContainer: "berth-shop-db-0")
        let desired = try Fixture.desired(
            try Fixture.service("db", healthcheck: true),
            try Fixture.service("web", dependsOn: [Dependency(name: "db", condition: .healthy)])
        )
        let plan = try await Fixture.plan(desired, on: runtime)
        let events = Recorder<String>()

        // when
        let report = await Self.executor(
            runtime,
            progress: { event in
                switch event {
                case .started(let action): events.append("started \(action.operation.summary)")
                case .finished(let result): events.append("finished \(result.action.operation.summary)")
                }
            }
        ).execute(plan)

        // then
        #expect(report.outcome(of: "wait until container berth-shop-db-0 is healthy") == .succeeded)
        let log = events.all
        let ready = try #require(log.firstIndex(of: "finished wait until container berth-shop-db-0 is healthy"))
        let dependent = try #require(log.firstIndex(of: "started create container berth-shop-web-0"))
        #expect(ready < dependent)
        #expect(await runtime.state(of: "berth-shop-web-0") == .running)
    }

    // MARK: Concurrency

    @Test(arguments: [1, 3])
    func runsIndependentActionsAtOnceButNeverMoreThanTheLimit(concurrency: Int) async throws {
        // given: six independent slow actions
        let runtime = InMemoryRuntime()
        await runtime.delay(nil, by: .milliseconds(40))
        let plan = Self.independentVolumes(6)

        // when
        let report = await Self.executor(runtime, concurrency: concurrency).execute(plan)

        // then
        #expect(report.results.count == 6)
        #expect(report.allSucceeded)
        #expect(await runtime.maxInFlight == concurrency)
        #expect(await runtime.volumeNames.count == 6)
    }

    // MARK: Failures

    @Test func aFailedActionSkipsOnlyWhatDependsOnIt() async throws {
        // given: db's image is missing; web depends on db; cache depends on nothing
        let runtime = InMemoryRuntime()
        await runtime.fail(.ensureImage("example/db:1"), with: DockerError(.notFound, "no such image: example/db:1", status: 404))
        let desired = try Fixture.desired(
            try Fixture.service("db", image: "example/db:1"),
            try Fixture.service("web", dependsOn: [Dependency(name: "db")]),
            try Fixture.service("cache")
        )
        let plan = try await Fixture.plan(desired, on: runtime)

        // when
        let report = await Self.executor(runtime).execute(plan)

        // then
        #expect(report.failures == [Fixture.serviceID("db"): "image example/db:1: no such image: example/db:1"])
        #expect(report.outcome(of: "start container berth-shop-db-0") == .skipped("create container berth-shop-db-0 did not succeed"))
        #expect(report.outcome(of: "create container berth-shop-web-0") == .skipped("create container berth-shop-db-0 did not succeed"))
        #expect(report.outcome(of: "start container berth-shop-web-0") == .skipped("create container berth-shop-db-0 did not succeed"))
        #expect(report.outcome(of: "start container berth-shop-cache-0") == .succeeded)
        #expect(report.results.count == plan.actions.count)
        #expect(await runtime.containerNames == ["berth-shop-cache-0"])
        #expect(report.changeCount == 2, "only the cache container was created and started")
    }

    @Test func aStopLetsActionsInFlightFinishAndStartsNoNewOne() async throws {
        // given: four slow independent actions, two at a time, and a fifth after the first
        let runtime = InMemoryRuntime()
        await runtime.delay(nil, by: .milliseconds(50))
        var plan = Self.independentVolumes(5)
        plan.actions[4].after = [0]
        let started = Atomic<Int>(0)

        // when: the stop comes as the second action starts
        let report = await Self.executor(
            runtime, concurrency: 2,
            progress: { event in
                if case .started = event { started.add(1, ordering: .relaxed) }
            },
            shouldStop: { started.load(ordering: .relaxed) >= 2 }
        ).execute(plan)

        // then
        #expect(Set(await runtime.calls) == [.createVolume("berth-shop-v0"), .createVolume("berth-shop-v1")])
        #expect(report.outcome(of: "create volume berth-shop-v0") == .succeeded)
        #expect(report.outcome(of: "create volume berth-shop-v1") == .succeeded)
        for skipped in [2, 3, 4] {
            #expect(report.outcome(of: "create volume berth-shop-v\(skipped)") == .skipped("the controller is stopping"))
        }
        #expect(await runtime.volumeNames == ["berth-shop-v0", "berth-shop-v1"])
    }

    // MARK: Waiting for readiness

    @Test(arguments: [
        (InMemoryRuntime.Behaviour.runs, ActionOutcome.succeeded),
        (.becomesHealthy(afterInspections: 4), .succeeded),
        (.exits(code: 3), .notReady("container berth-shop-db-0 exited with code 3 before it was ready")),
    ])
    func awaitReadyFollowsTheContainer(behaviour: InMemoryRuntime.Behaviour, expected: ActionOutcome) async throws {
        // given
        let runtime = InMemoryRuntime()
        await runtime.setBehaviour(behaviour, ofContainer: "berth-shop-db-0")
        let desired = try Fixture.desired(
            try Fixture.service("db", healthcheck: true),
            try Fixture.service("web", dependsOn: [Dependency(name: "db", condition: .healthy)])
        )
        let plan = try await Fixture.plan(desired, on: runtime)

        // when
        let report = await Self.executor(runtime).execute(plan)

        // then
        #expect(report.outcome(of: "wait until container berth-shop-db-0 is healthy") == expected)
        let webCreated = report.outcome(of: "create container berth-shop-web-0")
        #expect(webCreated == (expected.succeeded ? .succeeded : .skipped("wait until container berth-shop-db-0 is healthy did not succeed")))
        // Not being ready is no failure of the spec: nothing goes into backoff.
        #expect(report.failures.isEmpty)
    }

    @Test func awaitReadyOfAStartedContainerNeedsNoHealthCheck() async throws {
        // given: web waits for db to have started; db has no health check
        let runtime = InMemoryRuntime()
        let desired = try Fixture.desired(try Fixture.service("db"), try Fixture.service("web", dependsOn: [Dependency(name: "db")]))
        let plan = try await Fixture.plan(desired, on: runtime)

        // when
        let report = await Self.executor(runtime).execute(plan)

        // then
        #expect(report.outcome(of: "wait until container berth-shop-db-0 is running") == .succeeded)
        #expect(await runtime.state(of: "berth-shop-web-0") == .running)
    }

    // MARK: Images

    @Test func ensuresEachImageOncePerExecutionHoweverManyContainersUseIt() async throws {
        // given: eight containers of one image and one of another, all created at once
        let runtime = InMemoryRuntime()
        await runtime.delay(.ensureImage("example/app:1"), by: .milliseconds(30))
        let desired = try Fixture.desired(
            try Fixture.service("web", replicas: 5),
            try Fixture.service("api", replicas: 3),
            try Fixture.service("db", image: "example/db:1")
        )
        let plan = try await Fixture.plan(desired, on: runtime)

        // when
        let report = await Self.executor(runtime).execute(plan)

        // then
        #expect(report.allSucceeded)
        let ensured = await runtime.calls.filter { if case .ensureImage = $0 { true } else { false } }
        #expect(ensured.sorted { $0.description < $1.description } == [.ensureImage("example/app:1"), .ensureImage("example/db:1")])
        #expect(await runtime.containerNames.count == 9)
    }

    @Test func aMissingImageFailsEveryContainerOfItWithOneEnsure() async throws {
        // given
        let runtime = InMemoryRuntime()
        await runtime.fail(.ensureImage("example/app:1"), with: DockerError(.notFound, "no such image: example/app:1", status: 404))
        let desired = try Fixture.desired(try Fixture.service("web", replicas: 3))
        let plan = try await Fixture.plan(desired, on: runtime)

        // when
        let report = await Self.executor(runtime).execute(plan)

        // then
        for replica in 0..<3 {
            #expect(report.outcome(of: "create container berth-shop-web-\(replica)") == .failed("image example/app:1: no such image: example/app:1"))
        }
        #expect(await runtime.calls == [.ensureImage("example/app:1")])
    }

    // MARK: Environment

    @Test func resolvesFromEnvAndFromFileForTheContainer() async throws {
        // given
        let secret = FileManager.default.temporaryDirectory.appendingPathComponent("berth-secret-\(UUID().uuidString)")
        try Data("s3cr3t\n".utf8).write(to: secret)
        defer { try? FileManager.default.removeItem(at: secret) }
        let runtime = InMemoryRuntime()
        let desired = try Fixture.desired(
            try Fixture.service(
                "web",
                env: [
                    "MODE": .literal("prod"), "TOKEN": .fromEnv("WEB_TOKEN"), "KEY": .fromFile(secret.path),
                ]))
        let plan = try await Fixture.plan(desired, on: runtime)

        // when
        let report = await Self.executor(runtime, environment: ["WEB_TOKEN": "t0k3n"]).execute(plan)

        // then
        #expect(report.allSucceeded)
        #expect(await runtime.environments["berth-shop-web-0"] == ["MODE": "prod", "TOKEN": "t0k3n", "KEY": "s3cr3t"])
    }

    @Test(arguments: [
        (EnvValue.fromEnv("BERTH_TEST_UNSET"), "env.SECRET: the controller's environment variable BERTH_TEST_UNSET is not set"),
        (.fromFile("/nonexistent/berth/secret"), "env.SECRET: cannot read /nonexistent/berth/secret on the controller's host: /nonexistent/berth/secret does not exist"),
    ])
    func anUnresolvableEnvFailsThatCreateNamingTheVariable(value: EnvValue, message: String) async throws {
        // given: web's secret cannot be resolved; cache is fine
        let runtime = InMemoryRuntime()
        let desired = try Fixture.desired(
            try Fixture.service("web", env: ["SECRET": value, "MODE": .literal("prod")]),
            try Fixture.service("cache")
        )
        let plan = try await Fixture.plan(desired, on: runtime)

        // when
        let report = await Self.executor(runtime).execute(plan)

        // then
        #expect(report.outcome(of: "create container berth-shop-web-0") == .failed(message))
        #expect(report.failures == [Fixture.serviceID("web"): message])
        #expect(await runtime.containerNames == ["berth-shop-cache-0"])
    }

    /// `fromFile` reads regular files only, bounded: a link, a folder or a file above the limit
    /// is refused naming the file (devices and FIFOs: `HostFileTests`).
    @Test func fromFileReadsOnlyABoundedRegularFile() async throws {
        // given
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("berth-fromfile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let secret = folder.appendingPathComponent("secret").path, link = folder.appendingPathComponent("link").path
        let large = folder.appendingPathComponent("large").path
        try Data("s3cr3t\n".utf8).write(to: URL(fileURLWithPath: secret))
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: secret)
        try Data(repeating: 0x61, count: 64 * 1024 + 1).write(to: URL(fileURLWithPath: large))
        let cases = [
            (link, "\(link) is a symbolic link; Berth does not follow links here: name the file or folder it points to"),
            (folder.path, "\(folder.path) is a folder, expected a regular file"),
            (large, "\(large) is larger than 64 KiB, the most Berth reads from it"),
        ]
        for (path, message) in cases {
            // when
            let error = await #expect(throws: ExecutionError.self) { try await EnvironmentResolver(processEnvironment: [:]).resolve(["KEY": .fromFile(path)]) }
            // then
            #expect(error?.message == "env.KEY: cannot read \(path) on the controller's host: \(message)")
        }
        #expect(try await EnvironmentResolver(processEnvironment: [:]).resolve(["KEY": .fromFile(secret)]) == ["KEY": "s3cr3t"])
    }
}
