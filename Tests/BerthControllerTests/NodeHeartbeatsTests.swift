import BerthCore
import BerthDocker
import BerthStore
import Foundation
import Logging
import Testing

@testable import BerthController

/// A node's heartbeat against the test dockerd's `/info` and a SQLite store file: what it writes,
/// and that an engine that does not answer writes none.
@Suite("Node heartbeats")
struct NodeHeartbeatsTests {
    static func engine(_ host: String? = ProcessInfo.processInfo.environment["BERTH_TEST_DOCKER_HOST"]) throws -> DockerClient {
        guard let host, !host.isEmpty else { throw NotInTime(description: "BERTH_TEST_DOCKER_HOST is not set: run the suite with scripts/test") }
        return DockerClient(endpoint: try DockerEndpoint(host: host))
    }

    /// Runs `body` with a store on a file of its own, removed afterwards.
    static func withStore(_ body: (SQLiteStore) async throws -> Void) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("berth-nodes-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try await SQLiteStore.open(SQLiteStore.Configuration(path: folder.appendingPathComponent("berth.sqlite").path))
        do {
            try await body(store)
        } catch {
            await store.close()
            throw error
        }
        await store.close()
    }

    static func replica(_ state: String) -> ReplicaStatus {
        ReplicaStatus(container: "berth-shop-web-\(state)", state: state, networks: [], ports: [])
    }

    @Test func theHeartbeatCarriesTheEngineFactsTheRunningJobsAndTheReplicasTheLastPassSawRunning() async throws {
        try await Self.withStore { store in
            // given
            let client = try Self.engine()
            let info = try await client.info()
            let configuration = NodeConfiguration(
                identity: NodeIdentity(name: "host-a", labels: ["zone": "a"]), notReadyAfter: .seconds(3), interval: .milliseconds(50), maxConcurrentJobs: 2)
            let heartbeats = NodeHeartbeats(store: store, configuration: configuration, engineInfo: { try await client.info() }, logger: CapturedLogs().logger)
            let web = ResourceStatus(
                id: ResourceID(kind: .service, project: "shop", name: "web"), phase: .ready, replicas: [Self.replica("running"), Self.replica("running")],
                updatedAt: Date())
            let worker = ResourceStatus(
                id: ResourceID(kind: .service, project: "shop", name: "worker"), phase: .degraded, replicas: [Self.replica("exited"), Self.replica("running")],
                updatedAt: Date())
            // when
            heartbeats.passCompleted([web, worker])
            let task = Task { await heartbeats.run(runningJobs: { 1 }) }
            defer { task.cancel() }
            // then
            var node: NodeRecord?
            try await eventually("host-a registers with its replicas") {
                node = try await store.node(named: "host-a")
                return node?.runningReplicas == 3
            }
            let written = try #require(node)
            #expect(written.labels == ["zone": "a"] && written.runningJobs == 1 && written.maxConcurrentJobs == 2 && written.notReadyAfter == 3)
            #expect(written.engineVersion == info.serverVersion && written.cpus == info.cpus && written.memoryBytes == info.memoryBytes)
            #expect(written.state == .ready)
            // and: later beats move the heartbeat on
            try await eventually("a later heartbeat") { try await store.node(named: "host-a").map { $0.heartbeatAt > written.heartbeatAt } ?? false }
        }
    }

    @Test func anEngineThatDoesNotAnswerMeansNoHeartbeat() async throws {
        try await Self.withStore { store in
            // given: an engine socket nobody listens on
            let client = try Self.engine("unix:///nonexistent/berth-test-docker.sock")
            let logs = CapturedLogs()
            let configuration = NodeConfiguration(identity: NodeIdentity(name: "host-b"), interval: .milliseconds(50), maxConcurrentJobs: 1)
            let heartbeats = NodeHeartbeats(store: store, configuration: configuration, engineInfo: { try await client.info() }, logger: logs.logger)
            // when
            let task = Task { await heartbeats.run(runningJobs: { 0 }) }
            defer { task.cancel() }
            try await eventually("the failed heartbeat is logged") {
                logs.messages(at: .error).contains { $0.hasPrefix("cannot write the heartbeat of node host-b") }
            }
            // then
            #expect(try await store.nodes().isEmpty)
        }
    }
}
