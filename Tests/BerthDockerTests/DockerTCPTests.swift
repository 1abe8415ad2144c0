import BerthDocker
import Foundation
import Testing

/// The private dockerd also listens on 127.0.0.1 with mutual TLS (scripts/services/dockerd.sh).
/// Serialized: the keep-alive test counts the connections to that port, which no other suite uses.
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
        #expect(try Self.tcpTable().contains { $0.local == port && $0.state == "0A" }, "the engine's listening socket is in the table")
        let before = try Self.openConnections(to: port)

        // After each request: which connections to the engine are open that were not before.
        var opened: [Set<Int>] = []
        for _ in 0..<20 {
            #expect(try await client.ping())
            opened.append(try Self.openConnections(to: port).subtracting(before))
        }
        _ = try await client.info()
        opened.append(try Self.openConnections(to: port).subtracting(before))
        _ = try await client.listContainers()
        opened.append(try Self.openConnections(to: port).subtracting(before))

        // The same single connection every time (closing one after a request leaves none open).
        #expect(Set(opened).count == 1 && opened.first?.count == 1, "open connections after each request: \(opened.map { $0.sorted() })")
    }

    /// The local ports of established TCP connections to 127.0.0.1:`port`.
    static func openConnections(to port: Int) throws -> Set<Int> {
        Set(try tcpTable().filter { $0.remote == port && $0.state == "01" }.map(\.local))
    }

    /// Local and remote ports and the state (`01` established, `0A` listening) of the IPv4 sockets
    /// in /proc/net/tcp.
    static func tcpTable() throws -> [(local: Int, remote: Int, state: String)] {
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: "/proc/net/tcp"))
        defer { try? handle.close() }
        let text = String(decoding: try handle.readToEnd() ?? Data(), as: UTF8.self)
        return text.split(separator: "\n").dropFirst().compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count > 3,
                let local = fields[1].split(separator: ":").last.flatMap({ Int($0, radix: 16) }),
                let remote = fields[2].split(separator: ":").last.flatMap({ Int($0, radix: 16) })
            else { return nil }
            return (local, remote, String(fields[3]))
        }
    }
}
