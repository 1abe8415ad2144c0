import BerthCore
import BerthController
import BerthDocker
import Foundation
import Synchronization

/// Builders for controller tests: desired states in project `shop`, built in code, and plans.
enum Fixture {
    /// A fixed time to plan at, so backoff arithmetic is exact.
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    /// `now` on both clocks of a pass.
    static let time = PassTime(wall: now, monotonic: .now)

    /// The pass time of wall-clock `date` when neither clock was stepped since `time`: both moved
    /// on alike. A microsecond late at most, so a pass at a backoff's end (a `Date`, which keeps
    /// less than a microsecond at this epoch) is not before it.
    static func at(_ date: Date) -> PassTime {
        time.advanced(by: .microseconds(Int64((date.timeIntervalSince(now) * 1_000_000).rounded(.up)) + 1))
    }

    static func service(
        _ name: String,
        replicas: Int = 1,
        image: String = "example/app:1",
        env: [String: EnvValue] = [:],
        volumes: [String] = [],
        healthcheck: Bool = false,
        dependsOn: [Dependency] = []
    ) throws -> Resource {
        let container = ContainerSpec(
            image: try ImageReference(parsing: image), env: env,
            volumes: try volumes.map { try Mount(parsing: $0) }, network: .none, stopGracePeriod: .seconds(1)
        )
        let spec = ServiceSpec(
            container: container, replicas: replicas,
            healthcheck: healthcheck ? HealthcheckSpec(command: ["true"], interval: .seconds(1), timeout: .seconds(1), retries: 1) : nil,
            dependsOn: dependsOn
        )
        return Resource(metadata: ResourceMetadata(name: name, project: "shop"), spec: .service(spec))
    }

    static func volume(_ name: String) -> Resource {
        Resource(metadata: ResourceMetadata(name: name, project: "shop"), spec: .volume(VolumeSpec()))
    }

    static func desired(_ resources: Resource...) throws -> DesiredState {
        try DesiredState.validate([Resource(metadata: ResourceMetadata(name: "shop"), spec: .project(ProjectSpec()))] + resources)
    }

    /// The plan for `desired` against the runtime's current world.
    static func plan(_ desired: DesiredState, on runtime: InMemoryRuntime) async throws -> Plan {
        Planner.plan(desired: desired, observed: try await runtime.observe(), now: now)
    }

    static func serviceID(_ name: String) -> ResourceID {
        ResourceID(kind: .service, project: "shop", name: name)
    }

    static func containerName(_ service: String, replica: Int = 0) -> String {
        ObjectName.serviceContainer(project: "shop", service: service, replica: replica)
    }
}

/// Collects values from `@Sendable` callbacks (progress events) for later inspection.
final class Recorder<Value: Sendable>: Sendable {
    private let values = Mutex<[Value]>([])

    func append(_ value: Value) {
        values.withLock { $0.append(value) }
    }

    var all: [Value] { values.withLock { $0 } }
}

extension ExecutionReport {
    /// The outcome of the action with this summary (`start container berth-shop-web-0`).
    func outcome(of summary: String) -> ActionOutcome? {
        results.first { $0.action.operation.summary == summary }?.outcome
    }

    /// Whether every action that ran succeeded.
    var allSucceeded: Bool {
        results.allSatisfy { $0.outcome.succeeded }
    }
}
