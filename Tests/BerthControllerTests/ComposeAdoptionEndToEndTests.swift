import BerthCore
import BerthDocker
import BerthStore
import Foundation
import Testing

@testable import BerthController

/// A running compose stack taken over in place, on the engine inside the test run's network
/// namespace (compose's project network is a bridge, allowed only there): Debian's docker-compose
/// 1.29 starts it, Berth finds it, records the adoptions in a SQLite store, plans nothing for it,
/// heals it, and replaces only the service whose spec changed.
@Suite("Compose adoption end to end", .serialized)
struct ComposeAdoptionEndToEndTests {
    /// The netns engine, docker-compose against it, and a compose project of the test's own.
    struct Stack {
        let dockerHost: String
        let image: String
        let project = "adopt" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(10)
        let folder: URL

        init() throws {
            let environment = ProcessInfo.processInfo.environment
            guard let host = environment["BERTH_TEST_NETNS_DOCKER_HOST"], !host.isEmpty, let image = environment["BERTH_TEST_IMAGE"], !image.isEmpty else {
                throw SetupError("BERTH_TEST_NETNS_DOCKER_HOST and BERTH_TEST_IMAGE are not set: run the tests through scripts/test")
            }
            dockerHost = host
            self.image = image
            folder = FileManager.default.temporaryDirectory.appendingPathComponent("berth-adopt-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        }

        /// Three services: a database with a named volume and a health check, a web front that
        /// waits for it to be healthy, and a worker.
        var composeFile: String {
            """
            version: "2.4"
            services:
              db:
                image: \(image)
                init: true
                command: ["sh", "-c", "touch /tmp/healthy && exec sleep 100000"]
                environment: {ROLE: db}
                volumes: ["data:/data"]
                healthcheck: {test: ["CMD", "test", "-f", "/tmp/healthy"], interval: 1s, timeout: 1s, retries: 3}
              web:
                image: \(image)
                init: true
                command: ["sleep", "100000"]
                environment: {ROLE: web}
                labels: {tier: front}
                depends_on: {db: {condition: service_healthy}}
              worker:
                image: \(image)
                init: true
                command: ["sleep", "100000"]
                environment: {ROLE: worker}
            volumes:
              data: {}

            """
        }

        /// The same stack written by hand as Berth resources: the volume and network adopted by
        /// their engine names.
        func desired(workerRole: String = "worker") throws -> DesiredState {
            let image = try ImageReference(parsing: image)
            func service(
                _ name: String, _ command: [String], env: [String: String], labels: [String: String] = [:], volumes: [String] = [], healthcheck: HealthcheckSpec? = nil, dependsOn: [Dependency] = []
            ) throws -> Resource {
                let container = ContainerSpec(
                    image: image, command: command, env: env.mapValues(EnvValue.literal), labels: labels,
                    volumes: try volumes.map { try Mount(parsing: $0) }, init: true
                )
                return Resource(
                    metadata: ResourceMetadata(name: name, project: project),
                    spec: .service(ServiceSpec(container: container, healthcheck: healthcheck, dependsOn: dependsOn)))
            }
            return try DesiredState.validate([
                Resource(metadata: ResourceMetadata(name: project), spec: .project(ProjectSpec())),
                Resource(metadata: ResourceMetadata(name: "data", project: project), spec: .volume(VolumeSpec(external: true, volumeName: "\(project)_data"))),
                Resource(metadata: ResourceMetadata(name: "default", project: project), spec: .network(NetworkSpec(external: true, networkName: "\(project)_default"))),
                try service(
                    "db", ["sh", "-c", "touch /tmp/healthy && exec sleep 100000"], env: ["ROLE": "db"], volumes: ["data:/data"],
                    healthcheck: HealthcheckSpec(command: ["test", "-f", "/tmp/healthy"], interval: .seconds(1), timeout: .seconds(1), retries: 3)),
                try service("web", ["sleep", "100000"], env: ["ROLE": "web"], labels: ["tier": "front"], dependsOn: [Dependency(name: "db", condition: .healthy)]),
                try service("worker", ["sleep", "100000"], env: ["ROLE": workerRole]),
            ])
        }

        func compose(_ arguments: String...) async throws -> String {
            try await run(["/usr/bin/docker-compose", "-p", project, "-f", folder.appendingPathComponent("docker-compose.yml").path] + arguments, timeout: 240)
        }

        @discardableResult
        func docker(_ arguments: String...) async throws -> String {
            try await run(["/usr/bin/docker"] + arguments, timeout: 60)
        }

        /// Runs a command against the netns engine, bounded by `timeout` seconds; its output, trimmed.
        func run(_ argv: [String], timeout: Int) async throws -> String {
            let output = folder.appendingPathComponent("out-\(UUID().uuidString)")
            guard FileManager.default.createFile(atPath: output.path, contents: nil) else { throw SetupError("cannot create \(output.path)") }
            let handle = try FileHandle(forWritingTo: output)
            defer { try? handle.close() }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: argv[0])
            process.arguments = Array(argv.dropFirst())
            process.environment = ProcessInfo.processInfo.environment.merging(["DOCKER_HOST": dockerHost]) { _, new in new }
            process.currentDirectoryURL = folder
            process.standardOutput = handle
            process.standardError = handle
            try process.run()
            let deadline = ContinuousClock.now + .seconds(timeout)
            while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
            if process.isRunning {
                process.terminate()
                throw SetupError("\(argv.joined(separator: " ")) did not end within \(timeout)s")
            }
            let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
            guard process.terminationStatus == 0 else { throw SetupError("\(argv.joined(separator: " ")) failed (\(process.terminationStatus)): \(text)") }
            return text.trimmingCharacters(in: .whitespacesAndNewlines)
        }

        /// Berth's replacements first (they hold the project network), then compose's stack with its volume.
        func tearDown() async {
            if let ids = try? await docker("ps", "-aq", "--filter", "label=berth.project=\(project)"), !ids.isEmpty {
                _ = try? await run(["/usr/bin/docker", "rm", "-f"] + ids.split(separator: "\n").map(String.init), timeout: 60)
            }
            _ = try? await compose("down", "-v", "--timeout", "1")
            try? FileManager.default.removeItem(at: folder)
        }
    }

    struct SetupError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// Polls `condition` every 200 ms until it holds; fails past `timeout`.
    static func waitUntil(_ timeout: Duration, _ what: String, _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if (try? await condition()) == true { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw SetupError("timed out after \(timeout) waiting until \(what)")
    }

    @Test func adoptsARunningComposeStackHealsItAndReplacesOnlyWhatChanged() async throws {
        let stack = try Stack()
        let storeFolder = stack.folder.appendingPathComponent("state")
        // given: the stack up (web started once db was healthy), and data written into db's volume
        try stack.composeFile.write(to: stack.folder.appendingPathComponent("docker-compose.yml"), atomically: true, encoding: .utf8)
        do {
            _ = try await stack.compose("up", "-d")
            let db = "\(stack.project)_db_1"
            try await stack.docker("exec", db, "sh", "-c", "echo payload > /data/payload")
            let client = DockerClient(endpoint: try DockerEndpoint(host: stack.dockerHost))
            let engine = DockerEngine(client: client)
            let store = try await SQLiteStore.open(SQLiteStore.Configuration(path: storeFolder.appendingPathComponent("berth.db").path))
            defer { Task { await store.close() } }

            // when: the stack is found and adopted, its compose services mapped to Berth's of the same names
            let found = try await ComposeStack.find(project: stack.project, on: client)
            // then: every container with its replica, the named volume and the network
            #expect(found.containers.map(\.service) == ["db", "web", "worker"])
            #expect(found.containers.map(\.replica) == [0, 0, 0])
            #expect(found.containers.map(\.name) == ["db", "web", "worker"].map { "\(stack.project)_\($0)_1" })
            #expect(found.volumes.map { [$0.name, $0.composeName] } == [["\(stack.project)_data", "data"]])
            #expect(found.networks.map { [$0.name, $0.composeName] } == [["\(stack.project)_default", "default"]])
            let now = Date()
            try await store.recordAdoptions(found.containers.map { $0.adoption(as: ResourceID(kind: .service, project: stack.project, name: $0.service), at: now) })
            let adoptions = try await store.adoptions(project: stack.project)
            let ids = Dictionary(uniqueKeysWithValues: found.containers.map { ($0.service, $0.id) })

            // when: observed with the adoptions
            let desired = try stack.desired()
            let observed = try await engine.observe(refreshing: [], adoptions: adoptions)
            // then: each container is its service's replica 0, its spec read back equal field by field to the hand-written one
            for service in ["db", "web", "worker"] {
                let container = try #require(observed.containers.first { $0.id == ids[service] }, "\(service) observed")
                let id = ResourceID(kind: .service, project: stack.project, name: service)
                guard case .service(let spec)? = desired.resource(id)?.spec else { throw SetupError("\(service) not declared") }
                #expect(container.adopted && container.project == stack.project && container.resourceName == service && container.replica == 0)
                #expect(container.specHash == nil)
                let readBack = try #require(container.spec, "\(service) read back")
                #expect(desired.adoptionDifferences(observed: readBack, desired: spec, service: id) == [], "\(service): \(readBack)")
                #expect(readBack.container.image == spec.container.image && readBack.container.command == spec.container.command)
                #expect(readBack.container.env == spec.container.env && readBack.container.labels == spec.container.labels)
                #expect(readBack.healthcheck == spec.healthcheck && readBack.container.`init`)
            }
            let dbSpec = try #require(observed.containers.first { $0.id == ids["db"] }?.spec)
            #expect(dbSpec.container.volumes == [Mount(source: .volume("\(stack.project)_data"), target: "/data", readOnly: false)])
            #expect(!observed.foreignContainerNames.contains("\(stack.project)_db_1"))

            // when: a pass against the engine
            let reconciler = Reconciler(runtime: engine, store: nil, adoptions: store)
            let snapshot = DesiredStateSource.Snapshot(state: desired, files: [], deleted: [], generations: [:])
            let first = try await reconciler.reconcile(snapshot)
            // then: nothing to do, nothing recreated, every service ready
            #expect(first.plan.actions.isEmpty, "\(first.plan)")
            // Other tests' projects share the engine: their orphans are warned too, and are not this stack's.
            let ownWarnings = first.plan.warnings.filter { $0.resource?.project == stack.project || $0.message.contains(stack.project) }
            #expect(ownWarnings.isEmpty, "\(first.plan.warnings)")
            #expect(Set(first.statuses.filter { $0.id.kind == .service }.map(\.phase)) == [.ready], "\(first.statuses)")
            let listed = try await client.listContainers(labels: ["com.docker.compose.project=\(stack.project)"])
            #expect(Set(listed.map(\.id)) == Set(ids.values))

            // when: db is killed, and a pass runs once the engine shows it exited
            try await stack.docker("kill", db)
            try await Self.waitUntil(.seconds(30), "\(db) has exited") { try await client.inspectContainer(db).state.status == "exited" }
            let healing = try await reconciler.reconcile(snapshot)
            // then: started again in place (its dependent waits for it), its volume's data intact
            #expect(healing.plan.actions.filter(\.operation.isChange).map(\.description) == ["~ start container \(db) (Service \(stack.project)/db: exited with code 137)"])
            try await Self.waitUntil(.seconds(30), "\(db) runs again") { try await client.inspectContainer(db).state.status == "running" }
            #expect(try await client.inspectContainer(db).id == ids["db"])
            #expect(try await stack.docker("exec", db, "cat", "/data/payload") == "payload")

            // when: the worker's spec changes
            let changed = DesiredStateSource.Snapshot(state: try stack.desired(workerRole: "batch"), files: [], deleted: [], generations: [:])
            let replacing = try await reconciler.reconcile(changed)
            // then: only the worker is replaced, naming the field; its adoption is forgotten
            let worker = "berth-\(stack.project)-worker-0"
            #expect(
                replacing.plan.actions.map(\.description) == [
                    "+ create container \(worker) (Service \(stack.project)/worker: adopted container differs: env.ROLE)",
                    "~ start container \(worker) (Service \(stack.project)/worker: adopted container differs: env.ROLE)",
                    "… wait until container \(worker) is running (Service \(stack.project)/worker: before removing the replaced container)",
                    "- remove container \(stack.project)_worker_1 (Service \(stack.project)/worker: replaced by \(worker))",
                ], "\(replacing.plan)")
            #expect(replacing.report.failures.isEmpty, "\(replacing.report.failures)")
            let remaining = try await client.listContainers(labels: ["com.docker.compose.project=\(stack.project)"])
            #expect(Set(remaining.map(\.id)) == [ids["db"]!, ids["web"]!])
            #expect(try await client.inspectContainer(worker).state.status == "running")
            #expect(try await store.adoptions(project: stack.project).map(\.service.name) == ["db", "web"])
            let settled = try await reconciler.reconcile(changed)
            #expect(settled.plan.actions.isEmpty, "\(settled.plan)")
        } catch {
            await stack.tearDown()
            throw error
        }
        await stack.tearDown()
    }
}
