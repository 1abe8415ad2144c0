import Benchmark
import BerthCore
import BerthManifests
import Foundation

// Micro benchmarks of Berth's pure core: reading manifests into a validated desired state, and
// planning against an observed snapshot. Inputs are built in each benchmark's setup closure, so
// only the call under test is measured. Figures and how to reproduce them: docs/benchmarks.md.

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .peakMemoryResident],
        timeUnits: .milliseconds,
        warmupIterations: 1,
        maxDuration: .seconds(3),
        maxIterations: 50
    )

    for count in [1_000, 10_000] {
        Benchmark(
            "ParseValidate/\(label(count))",
            configuration: .init(maxDuration: .seconds(count >= 10_000 ? 8 : 3), maxIterations: count >= 10_000 ? 5 : 50)
        ) { benchmark, yaml in
            for _ in benchmark.scaledIterations {
                do {
                    let resources = try Manifests.resources(yaml: yaml, file: "bench.yaml")
                    blackHole(try DesiredState.validate(resources))
                } catch {
                    benchmark.error("parse+validate failed: \(error)")
                }
            }
        } setup: {
            try ManifestStream.make(resources: count)
        }
    }

    for count in [1_000, 10_000, 100_000] {
        let configuration = Benchmark.Configuration(
            maxDuration: .seconds(count >= 100_000 ? 20 : 3),
            maxIterations: count >= 100_000 ? 5 : 50
        )
        Benchmark("Plan/noop/\(label(count))", configuration: configuration) { benchmark, world in
            for _ in benchmark.scaledIterations {
                let plan = Planner.plan(desired: world.desired, observed: world.observed, now: World.now)
                if !plan.isEmpty { benchmark.error("the no-op plan has changes: \(plan.summary)") }
                blackHole(plan)
            }
        } setup: {
            try World.make(services: count, drifted: false)
        }

        Benchmark("Plan/drifted/\(label(count))", configuration: configuration) { benchmark, world in
            for _ in benchmark.scaledIterations {
                let plan = Planner.plan(desired: world.desired, observed: world.observed, now: World.now)
                // start-first replacement of every replica: rename, create, start, await, remove.
                if plan.actions.count != 5 * count { benchmark.error("the drifted plan has \(plan.actions.count) actions, expected \(5 * count)") }
                blackHole(plan)
            }
        } setup: {
            try World.make(services: count, drifted: true)
        }
    }
}

private func label(_ count: Int) -> String {
    count >= 1_000 ? "\(count / 1_000)k" : "\(count)"
}

/// A multi-document manifest stream like a large installation's: one Project, one Volume per ten
/// services, and Services with image, command, env, a volume mount, a health check and ports.
enum ManifestStream {
    static let project = "bench"

    /// `resources` documents in all; checked once here so the measured region never fails.
    static func make(resources: Int) throws(ValidationError) -> String {
        let volumes = max(1, resources / 10)
        let services = resources - 1 - volumes
        var text = """
            apiVersion: berth/v1
            kind: Project
            metadata:
              name: \(project)
            spec:
              maxConcurrentJobs: 4
              defaultResources: {memory: 256Mi, cpus: 0.5}

            """
        text.reserveCapacity(resources * 700)
        for index in 0..<volumes {
            text += """
                ---
                apiVersion: berth/v1
                kind: Volume
                metadata: {name: data-\(index), project: \(project)}
                spec:
                  reclaimPolicy: Retain

                """
        }
        for index in 0..<services {
            text += """
                ---
                apiVersion: berth/v1
                kind: Service
                metadata:
                  name: app-\(index)
                  project: \(project)
                  labels: {tier: web}
                spec:
                  image: registry.example.com/team/app-\(index % 50):1.\(index % 7).\(index % 13)
                  command: ["gunicorn", "app.wsgi", "--bind", "0.0.0.0:8000", "--workers", "2"]
                  env:
                    APP_NAME: app-\(index)
                    LOG_LEVEL: info
                    DATABASE_URL: {fromEnv: APP_DATABASE_URL}
                    SECRET_KEY: {fromFile: /etc/berth/secrets/app-\(index)}
                  volumes: ["data-\(index % volumes):/var/lib/app", "/etc/ssl/certs:/etc/ssl/certs:ro"]
                  ports: ["8000", "9090/udp"]
                  healthcheck:
                    command: ["curl", "-fs", "http://127.0.0.1:8000/healthz"]
                    interval: 15s
                    timeout: 3s
                    retries: 3
                    startPeriod: 20s
                  stopGracePeriod: 20s

                """
        }
        let limits = ManifestLimits()
        precondition(text.utf8.count <= limits.maxFileBytes, "the stream of \(resources) resources is \(text.utf8.count) bytes, over maxFileBytes")
        let read = try Manifests.resources(yaml: text, file: "bench.yaml")
        precondition(read.count == resources, "expected \(resources) resources, read \(read.count)")
        _ = try DesiredState.validate(read)
        return text
    }
}

/// A desired state of `services` one-replica services (network none) and an observed snapshot:
/// every container exactly as the executor created it, or with a stale spec hash and no spec.
struct World {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let project = "bench"

    var desired: DesiredState
    var observed: ObservedState

    static func make(services count: Int, drifted: Bool) throws(ValidationError) -> World {
        var resources = [Resource(metadata: ResourceMetadata(name: project), spec: .project(ProjectSpec()))]
        resources.reserveCapacity(count + 1)
        for index in 0..<count {
            let container = ContainerSpec(
                image: try ImageReference(parsing: "registry.example.com/team/app-\(index % 50):1.\(index % 7)"),
                command: ["app", "serve", "--port", "8000"],
                env: ["APP_NAME": .literal("app-\(index)"), "LOG_LEVEL": .literal("info")],
                network: .none
            )
            let spec = ServiceSpec(container: container, healthcheck: HealthcheckSpec(command: ["app", "check"], interval: .seconds(15)))
            resources.append(Resource(metadata: ResourceMetadata(name: "app-\(index)", project: project), spec: .service(spec)))
        }
        let desired = try DesiredState.validate(resources)

        var containers: [ObservedContainer] = []
        containers.reserveCapacity(count)
        for (id, spec) in desired.services {
            guard let hash = desired.specHashes[id] else { preconditionFailure("no spec hash for \(id)") }
            containers.append(
                ObservedContainer(
                    id: "id-\(id.name)-0",
                    name: ObjectName.serviceContainer(project: id.project, service: id.name, replica: 0),
                    labels: [
                        LabelKey.managed: "true", LabelKey.project: id.project, LabelKey.kind: "service",
                        LabelKey.name: id.name, LabelKey.replica: "0",
                        LabelKey.specHash: drifted ? "0000000000000000" : hash,
                    ],
                    state: .running,
                    health: .healthy,
                    startedAt: now.addingTimeInterval(-3_600),
                    spec: drifted ? nil : spec
                ))
        }
        // The engine lists containers in its own order, not Berth's.
        containers.reverse()
        return World(desired: desired, observed: ObservedState(containers: containers))
    }
}
