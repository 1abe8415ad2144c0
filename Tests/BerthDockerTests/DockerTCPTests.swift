import BerthDocker
import Foundation
import Testing

/// The private dockerd also listens on 127.0.0.1 with mutual TLS (scripts/services/dockerd.sh).
/// Serialized: the keep-alive test counts this process's connections to that port, which no other
/// suite uses.
@Suite("Docker engine over TCP with TLS", .serialized)
struct DockerTCPTests {
    /// `DOCKER_HOST`, `DOCKER_TLS_VERIFY` and `DOCKER_CERT_PATH` as a user would set them.
    let environment: [String: String]
    let port: Int

    init() throws {
        let variables = ProcessInfo.processInfo.environment
        let host = try #require(variables["BERTH_TEST_DOCKER_TCP_HOST"], "BERTH_TEST_DOCKER_TCP_HOST is not set: run the suite with scripts/test, which starts a private dockerd")
        let certificates = try #require(variables["BERTH_TEST_DOCKER_CERT_PATH"], "BERTH_TEST_DOCKER_CERT_PATH is not set: run the suite with scripts/test")
        environment = ["DOCKER_HOST": host, "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": certificates]
        port = try #require(host.split(separator: ":").last.flatMap { Int($0) }, "no port in \(host)")
    }

    @Test func pingsAndListsContainersOverTCP() async throws {
        try await withTestEngine { engine in
            // given: a container made over the unix socket
            let id = try await engine.client.createContainer(name: engine.name("tcp"), engine.request(["true"]))
            let client = DockerClient(endpoint: try DockerEndpoint.fromEnvironment(environment))

            // when
            let answered = try await client.ping()
            let listed = try await client.listContainers(labels: ["berth.test=\(engine.scope)"])

            // then
            #expect(client.endpoint.baseURL == "https://127.0.0.1:\(port)")
            #expect(answered)
            #expect(listed.map(\.id) == [id])
            #expect(listed.first?.name == engine.name("tcp"))
        }
    }

    @Test func theTCPPortRefusesAClientWithoutTLS() async throws {
        let plain = DockerClient(endpoint: try DockerEndpoint(host: try #require(environment["DOCKER_HOST"])))
        let error = await #expect(throws: DockerError.self) { _ = try await plain.ping() }
        #expect(error?.status == 400, "\(error.map(String.init(describing:)) ?? "")")
    }

    @Test func consecutiveRequestsReuseOneConnection() async throws {
        let client = DockerClient(endpoint: try DockerEndpoint.fromEnvironment(environment))
        #expect(try Self.tcpTable().contains { $0.local == port && $0.remote == 0 }, "the engine's listening socket is in the table")
        let before = try Self.connections(to: port)

        var seen: Set<Int> = []
        for _ in 0..<20 {
            #expect(try await client.ping())
            seen.formUnion(try Self.connections(to: port))
        }
        _ = try await client.info()
        _ = try await client.listContainers()
        seen.formUnion(try Self.connections(to: port))

        #expect(seen.subtracting(before).count == 1, "connections opened: \(seen.subtracting(before).sorted())")
    }

    /// The client-side ports of every TCP connection to 127.0.0.1:`port` the kernel lists, open or
    /// in TIME_WAIT on either end (a closed connection stays listed for a minute).
    static func connections(to port: Int) throws -> Set<Int> {
        var ports: Set<Int> = []
        for row in try tcpTable() {
            if row.remote == port { ports.insert(row.local) }
            if row.local == port && row.remote != 0 { ports.insert(row.remote) }
        }
        return ports
    }

    /// Local and remote ports of the IPv4 sockets in /proc/net/tcp (read whole: procfs reports no size).
    static func tcpTable() throws -> [(local: Int, remote: Int)] {
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: "/proc/net/tcp"))
        defer { try? handle.close() }
        let text = String(decoding: try handle.readToEnd() ?? Data(), as: UTF8.self)
        return text.split(separator: "\n").dropFirst().compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count > 2,
                  let local = fields[1].split(separator: ":").last.flatMap({ Int($0, radix: 16) }),
                  let remote = fields[2].split(separator: ":").last.flatMap({ Int($0, radix: 16) })
            else { return nil }
            return (local, remote)
        }
    }
}
