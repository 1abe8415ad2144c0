import BerthCore
import BerthDocker
import Foundation
import Testing

@Suite("ContainerRuntime on a real engine")
struct DockerEngineTests {
    /// A desired state of one project named after the test's scope, on network none.
    static func desired(_ engine: TestEngine, replicas: Int = 2, command: String = "sleep 600") throws -> DesiredState {
        let project = engine.scope
        let container = ContainerSpec(
            image: try ImageReference(parsing: engine.image), command: ["sh", "-c", command],
            env: ["MODE": .literal("test")],
            volumes: [try Mount(parsing: "data:/data")], network: .none, stopGracePeriod: .seconds(1)
        )
        return try DesiredState.validate([
            Resource(metadata: ResourceMetadata(name: project), spec: .project(ProjectSpec())),
            Resource(metadata: ResourceMetadata(name: "data", project: project), spec: .volume(VolumeSpec())),
            Resource(
                metadata: ResourceMetadata(name: "web", project: project),
                spec: .service(
                    ServiceSpec(
                        container: container, replicas: replicas,
                        healthcheck: HealthcheckSpec(command: ["true"], interval: .milliseconds(500), timeout: .seconds(10), retries: 5)
                    ))),
        ])
    }

    /// Carries a plan out in order, one action at a time: a stand-in for the executor of a later issue.
    static func apply(_ plan: Plan, on runtime: DockerEngine, _ engine: TestEngine) async throws {
        for action in plan.actions {
            switch action.operation {
            case .createVolume(let target): try await runtime.createVolume(target)
            case .removeVolume(let name): try await runtime.removeVolume(named: name)
            case .createNetwork(let target): try await runtime.createNetwork(target)
            case .removeNetwork(let name): try await runtime.removeNetwork(named: name)
            case .connectContainer(let name, let endpoint): try await runtime.connectContainer(named: name, to: endpoint)
            case .disconnectContainer(let name, let network): try await runtime.disconnectContainer(named: name, from: network)
            case .createContainer(let target): _ = try await runtime.createContainer(target, environment: ["MODE": "test"])
            case .startContainer(let name): try await runtime.startContainer(named: name)
            case .restartContainer(let name, let grace): try await runtime.restartContainer(named: name, grace: grace)
            case .renameContainer(let from, let to): try await runtime.renameContainer(named: from, to: to)
            case .removeContainer(let name, _, let grace): try await runtime.removeContainer(named: name, grace: grace)
            case .awaitReady(let name, let condition):
                try await engine.eventually(20, "\(name) is ready") {
                    let container = try await runtime.container(named: name)
                    return container?.state == .running && (condition == .started || container?.health == .healthy)
                }
            case .createBucket, .setBucketVersioning, .setBucketLifecycle, .setBucketTags, .removeBucket:
                Issue.record("a plan without buckets planned \(action)")
            }
        }
    }

    /// What the runtime observes, limited to this test's project (other tests share the engine).
    static func observe(_ runtime: DockerEngine, _ engine: TestEngine) async throws -> ObservedState {
        var state = try await runtime.observe()
        state.containers = state.containers.filter { $0.project == engine.scope }
        state.volumes = state.volumes.filter { $0.project == engine.scope }
        return state
    }

    @Test func applyingAPlanOnTheEngineAndPlanningAgainLeavesNothingToDo() async throws {
        try await withTestEngine { engine in
            let runtime = DockerEngine(client: engine.client)
            let desired = try Self.desired(engine)

            // when
            let first = Planner.plan(desired: desired, observed: try await Self.observe(runtime, engine), now: Date())
            try await Self.apply(first, on: runtime, engine)
            try await engine.eventually(20, "both replicas are healthy") {
                try await Self.observe(runtime, engine).containers.filter { $0.health == .healthy }.count == 2
            }
            let second = Planner.plan(desired: desired, observed: try await Self.observe(runtime, engine), now: Date())

            // then
            #expect(first.actions.count == 5, "\(first)")
            #expect(second.isEmpty, "\(second)")
            let observed = try await Self.observe(runtime, engine)
            #expect(observed.containers.map(\.name) == ["berth-\(engine.scope)-web-0", "berth-\(engine.scope)-web-1"])
            #expect(observed.containers.allSatisfy { $0.specHash == desired.specHashes[ResourceID(kind: .service, project: engine.scope, name: "web")] })
            #expect(observed.containers.allSatisfy { $0.volumeNames == ["berth-\(engine.scope)-data"] })
            #expect(observed.volumes.map(\.name) == ["berth-\(engine.scope)-data"])
        }
    }

    @Test func aDriftedReplicaIsReplacedAndAKilledOneRestarted() async throws {
        try await withTestEngine { engine in
            let runtime = DockerEngine(client: engine.client)
            try await Self.apply(Planner.plan(desired: try Self.desired(engine, replicas: 1), observed: try await Self.observe(runtime, engine), now: Date()), on: runtime, engine)

            // when: the command changes, and the container is killed by hand
            let changed = try Self.desired(engine, replicas: 1, command: "sleep 700")
            try await engine.client.killContainer("berth-\(engine.scope)-web-0")
            let plan = Planner.plan(desired: changed, observed: try await Self.observe(runtime, engine), now: Date())
            try await Self.apply(plan, on: runtime, engine)

            // then
            #expect(plan.actions.first?.cause == "spec changed: command", "\(plan)")
            let observed = try await Self.observe(runtime, engine)
            #expect(observed.containers.count == 1)
            #expect(observed.containers.first?.state == .running)
            #expect(Planner.plan(desired: changed, observed: observed, now: Date()).isEmpty)
        }
    }

    @Test func repeatedCallsAfterACrashConvergeInsteadOfFailing() async throws {
        try await withTestEngine { engine in
            let runtime = DockerEngine(client: engine.client)
            let plan = Planner.plan(desired: try Self.desired(engine, replicas: 1), observed: try await Self.observe(runtime, engine), now: Date())
            try await Self.apply(plan, on: runtime, engine)

            // when: every action runs again, as after a crash right after it
            try await Self.apply(plan, on: runtime, engine)
            try await runtime.removeContainer(named: "berth-\(engine.scope)-web-0", grace: .seconds(1))
            try await runtime.removeContainer(named: "berth-\(engine.scope)-web-0", grace: .seconds(1))
            try await runtime.removeVolume(named: "berth-\(engine.scope)-data")
            try await runtime.removeVolume(named: "berth-\(engine.scope)-data")

            // then
            #expect(try await Self.observe(runtime, engine).containers.isEmpty)
        }
    }

    @Test func neverAdoptsOrTouchesAnUnlabelledContainerWithBerthsName() async throws {
        try await withTestEngine { engine in
            let runtime = DockerEngine(client: engine.client)
            let name = "berth-\(engine.scope)-web-0"
            _ = try await engine.client.createContainer(name: name, engine.request(["sleep", "60"]))
            let desired = try Self.desired(engine, replicas: 1)
            let observed = try await runtime.observe()

            let plan = Planner.plan(desired: desired, observed: observed, now: Date())
            let creates = plan.actions.filter { action in
                if case .createContainer(let target) = action.operation { return target.name == name }
                return false
            }

            #expect(observed.foreignContainerNames.contains(name))
            #expect(plan.warnings.contains { $0.message.contains(name) }, "\(plan)")
            #expect(creates.isEmpty, "no create planned for a taken name")
            let conflict = await #expect(throws: DockerError.self) {
                _ = try await runtime.createContainer(
                    ContainerTarget(
                        name: name, service: ResourceID(kind: .service, project: engine.scope, name: "web"), replica: 0,
                        spec: ServiceSpec(container: ContainerSpec(image: try ImageReference(parsing: engine.image), command: ["true"], network: .none)),
                        labels: ["berth.managed": "true", "berth.spec-hash": "x"], volumeNames: [:]
                    ), environment: [:])
            }
            #expect(conflict?.code == .conflict, "\(conflict.map(String.init(describing:)) ?? "")")
            #expect(try await engine.client.inspectContainer(name).labels["berth.managed"] == nil)
        }
    }

    @Test func imagePolicyNeverNamesTheMissingImage() async throws {
        try await withTestEngine { engine in
            let runtime = DockerEngine(client: engine.client)
            try await runtime.ensureImage(try ImageReference(parsing: engine.image), policy: .never)
            let error = await #expect(throws: DockerError.self) {
                try await runtime.ensureImage(try ImageReference(parsing: "localhost/\(engine.scope)-missing:1"), policy: .never)
            }
            #expect(error?.message.contains("pullPolicy is Never") == true)
        }
    }
}
