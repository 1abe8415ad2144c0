import Foundation
import Testing

/// The second private engine scripts/test starts (scripts/services/netns-dockerd.sh): a dockerd
/// inside a network namespace of the run's own, with Docker's bridge and user-defined networks
/// (the first engine has neither). Tests of networks use it; nothing of it reaches the host's
/// interfaces, and its published ports answer only inside the namespace (`run(inNamespace:)`).
///
/// Without the variables scripts/test exports, `init()` throws and the test fails: the suite
/// never skips. A scenario on this engine: `Scenario(dockerHost: try NetnsEngine().dockerHost)`.
struct NetnsEngine: Sendable {
    /// `unix://…/netns/d.sock`, as `DOCKER_HOST` reads it.
    let dockerHost: String
    /// The namespace's name: `/var/run/netns/<namespace>`.
    let namespace: String
    /// The busybox image (httpd, wget, nc), built in this engine under the first one's name.
    let image: String

    init() throws {
        dockerHost = try Self.variable("BERTH_TEST_NETNS_DOCKER_HOST")
        namespace = try Self.variable("BERTH_TEST_NETNS")
        image = try TestServices.image()
    }

    private static func variable(_ name: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
            throw BerthProcess.SetupError(
                "\(name) is not set: run the tests through scripts/test, which starts a dockerd inside a network namespace "
                    + "(scripts/services/netns-dockerd.sh)"
            )
        }
        return value
    }

    /// The docker CLI against this engine (`DOCKER_HOST` set), whatever its exit status.
    func dockerCommand(_ arguments: [String], timeout: Int = 120) async throws -> CommandResult {
        try await BerthProcess.runCommand(["/usr/bin/docker"] + arguments, environment: ["DOCKER_HOST": dockerHost], timeout: timeout)
    }

    /// The docker CLI against this engine; standard output, trimmed. Throws when it fails.
    @discardableResult
    func docker(_ arguments: String...) async throws -> String {
        let result = try await dockerCommand(arguments)
        guard result.status == 0 else {
            throw BerthProcess.SetupError("docker \(arguments.joined(separator: " ")) failed (\(result.status)): \(result.stderr)")
        }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Runs `command` (`command[0]` a path or a name on PATH) on the host side of the namespace:
    /// `nsenter --net=/var/run/netns/<namespace> command…`, the only place the engine's published
    /// ports and bridges are reachable from. Bounded by `timeout` seconds (status 124 past it).
    func run(inNamespace command: [String], timeout: Int = 30) async throws -> CommandResult {
        try await BerthProcess.runCommand(["/usr/bin/nsenter", "--net=/var/run/netns/\(namespace)"] + command, timeout: timeout)
    }

    /// Removes containers and then networks by name, ignoring those that are gone. Synchronous,
    /// for `defer`: the removal runs in a task of its own (the names are the test's alone).
    func remove(containers: [String] = [], networks: [String] = []) {
        Task {
            if !containers.isEmpty { _ = try? await dockerCommand(["rm", "-f"] + containers) }
            if !networks.isEmpty { _ = try? await dockerCommand(["network", "rm"] + networks) }
        }
    }

    /// Removes the containers and volumes of `project` on this engine, in a task of its own (for
    /// `defer`, as `remove`).
    func removeObjects(ofProject project: String) {
        Task {
            let filter = ["--filter", "label=berth.project=\(project)"]
            let containers = (try? await dockerCommand(["ps", "-aq"] + filter))?.stdout.split(separator: "\n").map(String.init) ?? []
            if !containers.isEmpty { _ = try? await dockerCommand(["rm", "-f"] + containers) }
            let volumes = (try? await dockerCommand(["volume", "ls", "-q"] + filter))?.stdout.split(separator: "\n").map(String.init) ?? []
            if !volumes.isEmpty { _ = try? await dockerCommand(["volume", "rm", "-f"] + volumes) }
        }
    }

    /// Polls `condition` every 200 ms until it holds: a positive signal, never a fixed sleep. Past
    /// `timeout` the test fails with `what` (a thrown error counts as not yet).
    static func waitUntil(timeout: Duration, _ what: String, _ condition: () async throws -> Bool) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while clock.now < deadline {
            if (try? await condition()) == true { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        Issue.record("timed out after \(timeout) waiting until \(what)")
        throw BerthProcess.SetupError("timed out waiting until \(what)")
    }
}

/// The engine network tests stand on, checked end to end: if this fails, so would every test of
/// Berth's networks, for a reason that is not Berth's.
@Suite("Namespaced engine")
struct NetnsEngineTests {
    @Test func containersOnAUserDefinedNetworkReachEachOtherByAliasInsideTheNamespaceOnly() async throws {
        let engine = try NetnsEngine()
        let id = UUID().uuidString.lowercased().prefix(8)
        let network = "netns-test-\(id)", server = "netns-web-\(id)", alias = "web-\(id)"
        let page = "hello from \(id)"
        defer { engine.remove(containers: [server], networks: [network]) }
        // given: a user-defined network and an httpd on it, known there by an alias, its port
        // published on the namespace's loopback
        let networkID = try await engine.docker("network", "create", network)
        try await engine.docker(
            "run", "-d", "--name", server, "--network", network, "--network-alias", alias, "-p", "127.0.0.1::8080", engine.image,
            "sh", "-c", "mkdir -p /srv && echo '\(page)' > /srv/index.html && exec httpd -f -p 8080 -h /srv"
        )

        // when: another container on the network fetches the page by the alias (bounded by the
        // timeout applet: Debian 12's busybox wget crashes with SIGSEGV on its own -T)
        var fetched: CommandResult?
        try await NetnsEngine.waitUntil(timeout: .seconds(30), "a container fetches http://\(alias):8080/") {
            let result = try await engine.dockerCommand(["run", "--rm", "--network", network, engine.image, "timeout", "5", "wget", "-qO-", "http://\(alias):8080/"])
            fetched = result
            return result.status == 0
        }

        // then
        #expect(fetched?.stdout == page + "\n", "\(String(describing: fetched))")
        // and the published port answers on the host side of the namespace
        let published = try await engine.docker("port", server, "8080/tcp")
        #expect(published.hasPrefix("127.0.0.1:"), "\(published)")
        let inside = try await engine.run(inNamespace: ["/bin/busybox", "wget", "-qO-", "http://\(published)/"])
        #expect(inside.status == 0, "\(inside.stderr)")
        #expect(inside.stdout == page + "\n")
        // and the network's bridge is in the namespace, not among the host's interfaces
        let bridge = "br-" + networkID.prefix(12)
        let inNamespace = try await engine.run(inNamespace: ["/usr/sbin/ip", "link", "show", bridge])
        #expect(inNamespace.status == 0, "\(bridge) in the namespace: \(inNamespace.stderr)")
        let onHost = try await BerthProcess.runCommand(["/usr/sbin/ip", "link", "show", bridge], timeout: 30)
        #expect(onHost.status != 0, "\(bridge) on the host: \(onHost.stdout)")
    }
}
