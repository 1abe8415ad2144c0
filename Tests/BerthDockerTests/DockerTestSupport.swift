import BerthCore
import BerthDocker
import Foundation
import Testing

/// The private dockerd that scripts/test starts, and helpers that keep tests apart: every object a
/// test makes carries a unique name prefix and the `berth.test` label, and is removed by label.
struct TestEngine {
    let client: DockerClient
    let image: String
    /// Unique per test: prefix for names, value of the `berth.test` label.
    let scope: String

    init() throws {
        let environment = ProcessInfo.processInfo.environment
        let host = try #require(environment["BERTH_TEST_DOCKER_HOST"], "BERTH_TEST_DOCKER_HOST is not set: run the suite with scripts/test, which starts a private dockerd")
        client = DockerClient(endpoint: try DockerEndpoint(host: host))
        image = environment["BERTH_TEST_IMAGE"] ?? "localhost/berth-busybox:latest"
        scope = "bt\(UInt32.random(in: 0...UInt32.max))"
    }

    var labels: [String: String] { ["berth.test": scope] }

    func name(_ suffix: String) -> String { "\(scope)-\(suffix)" }

    /// A plain busybox container request with the test label, on network none.
    func request(_ command: [String], labels extra: [String: String] = [:], configure: (inout ContainerCreateRequest) -> Void = { _ in }) -> ContainerCreateRequest {
        var request = ContainerCreateRequest(
            image: image, cmd: command, labels: labels.merging(extra) { $1 },
            hostConfig: ContainerCreateRequest.HostConfig(networkMode: "none")
        )
        configure(&request)
        return request
    }

    /// Removes every container and volume this test made: those with its `berth.test` label, and
    /// those Berth made for the project named after the scope.
    func cleanUp() async {
        for label in ["berth.test=\(scope)", "berth.project=\(scope)"] {
            for container in (try? await client.listContainers(labels: [label])) ?? [] {
                try? await client.removeContainer(container.id, force: true)
            }
            for volume in (try? await client.listVolumes(labels: [label])) ?? [] {
                try? await client.removeVolume(volume.name, force: true)
            }
        }
    }

    /// Polls `condition` every 50 ms until it holds or `seconds` pass.
    func eventually(_ seconds: Double = 20, _ what: String, _ condition: () async throws -> Bool) async throws {
        if try await poll(seconds, condition) { return }
        Issue.record("timed out after \(seconds)s waiting until \(what)")
    }

    /// Whether `condition` came to hold within `seconds`, polled every 50 ms.
    func poll(_ seconds: Double, _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }
}

/// Runs `body` with a fresh scope and always cleans up after it.
func withTestEngine(_ body: (TestEngine) async throws -> Void) async throws {
    let engine = try TestEngine()
    do {
        try await body(engine)
    } catch {
        await engine.cleanUp()
        throw error
    }
    await engine.cleanUp()
}
