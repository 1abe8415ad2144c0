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

    // A git revision that changed one file of 500 (10,000 resources): read again through the
    // reuse of the last load, validated and planned against the engine as the last revision left
    // it; beside it, the same files read afresh (what every reload cost before).
    Benchmark("Reload/oneFileChanged/10k", configuration: .init(maxDuration: .seconds(8), maxIterations: 20)) { benchmark, repository in
        for _ in benchmark.scaledIterations {
            do {
                try repository.touchOneFile()
                let manifests = try Manifests.load(paths: [repository.folder], reuse: repository.reuse)
                let plan = Planner.plan(desired: manifests.state, observed: repository.observed, now: World.now)
                if plan.isEmpty { benchmark.error("the changed file planned nothing") }
                blackHole(plan)
            } catch {
                benchmark.error("reload failed: \(error)")
            }
        }
    } setup: {
        try ManifestRepository.make(resources: 10_000, files: 500)
    }
    Benchmark("Reload/fresh/10k", configuration: .init(maxDuration: .seconds(8), maxIterations: 5)) { benchmark, repository in
        for _ in benchmark.scaledIterations {
            do {
                blackHole(try Manifests.load(paths: [repository.folder]))
            } catch {
                benchmark.error("load failed: \(error)")
            }
        }
    } setup: {
        try ManifestRepository.make(resources: 10_000, files: 500)
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
        return World(desired: desired, observed: observed(desired, drifted: drifted))
    }

    /// The engine as the executor left it for `desired` (`drifted`: every hash stale, no spec).
    static func observed(_ desired: DesiredState, drifted: Bool = false) -> ObservedState {
        var containers: [ObservedContainer] = []
        containers.reserveCapacity(desired.services.count)
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
        let volumes = desired.volumes.map { id, _ in
            ObservedVolume(
                name: desired.volumeEngineName(project: id.project, name: id.name),
                labels: [
                    LabelKey.managed: "true", LabelKey.project: id.project, LabelKey.kind: ObjectKind.volume.rawValue, LabelKey.name: id.name,
                    LabelKey.specHash: desired.specHashes[id] ?? "",
                ])
        }
        return ObservedState(containers: containers, volumes: volumes)
    }
}

/// A manifest folder of `files` files sharing `resources` documents (a Project per 100, a Volume
/// per ten, Services), loaded once through `reuse`, and the engine converged to it; the folder
/// goes with the instance.
final class ManifestRepository: @unchecked Sendable {
    let folder: String
    let reuse = ManifestReuse()
    let observed: ObservedState
    private let resources: Int
    private let files: Int
    private var round = 0

    private init(folder: String, resources: Int, files: Int, observed: ObservedState) {
        self.folder = folder
        self.resources = resources
        self.files = files
        self.observed = observed
    }

    private var perFile: Int { (resources + files - 1) / files }

    static func make(resources: Int, files: Int) throws -> ManifestRepository {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("berth-bench-reload-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let perFile = (resources + files - 1) / files
        for file in 0..<files {
            try text(file: file, perFile: perFile, resources: resources, tag: "1.0").write(toFile: path(folder, file), atomically: true, encoding: .utf8)
        }
        let reuse = ManifestReuse()
        let state = try Manifests.load(paths: [folder], reuse: reuse).state
        let repository = ManifestRepository(folder: folder, resources: resources, files: files, observed: World.observed(state))
        _ = try Manifests.load(paths: [folder], reuse: repository.reuse)
        return repository
    }

    /// Rewrites one file with a new image tag, as one commit would. Always the same file: the
    /// engine stays as the first revision left it, so every round finds that file's services
    /// (and only those) drifted, as after a commit to a converged host.
    func touchOneFile() throws {
        round += 1
        try Self.text(file: 1, perFile: perFile, resources: resources, tag: "2.\(round)").write(toFile: Self.path(folder, 1), atomically: true, encoding: .utf8)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: folder)
    }

    private static func path(_ folder: String, _ file: Int) -> String {
        folder + "/part" + String(repeating: "0", count: max(0, 4 - String(file).count)) + "\(file).yaml"
    }

    private static func text(file: Int, perFile: Int, resources: Int, tag: String) -> String {
        (file * perFile..<min(resources, (file + 1) * perFile)).map { index in
            let project = "p\(index / 100)"
            if index % 100 == 0 { return "apiVersion: berth/v1\nkind: Project\nmetadata: {name: \(project)}\n" }
            if index % 10 == 1 { return "apiVersion: berth/v1\nkind: Volume\nmetadata: {name: data\(index), project: \(project)}\nspec: {}\n" }
            return """
                apiVersion: berth/v1
                kind: Service
                metadata: {name: svc\(index), project: \(project), labels: {tier: web}}
                spec:
                  image: registry.local/app\(index % 17):\(tag)
                  network: none
                  command: [serve, --port, "8000"]
                  env: {INDEX: "\(index)", LEVEL: info}
                  healthcheck: {command: [/bin/true], interval: 10s}

                """
        }.joined(separator: "---\n")
    }
}
