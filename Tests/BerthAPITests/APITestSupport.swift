import BerthAPI
import BerthController
import BerthCore
import BerthDocker
import BerthServer
import BerthStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

struct SetupError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// One API over a fresh SQLite store, a manifest folder, and an engine: the one given (an
/// ``InMemoryEngine``), else the test engine that scripts/test started; tokens of every scope
/// are made up front.
final class APIFixture: Sendable {
    let directory: URL
    let store: SQLiteStore
    let dependencies: APIDependencies
    /// Tokens by name: admin, read, jobs, resources, jobs-alpha (jobs:write limited to project alpha), read-alpha.
    let tokens: [String: String]

    static let manifest = """
        apiVersion: berth/v1
        kind: Project
        metadata: {name: alpha}
        ---
        apiVersion: berth/v1
        kind: Project
        metadata: {name: beta}
        ---
        apiVersion: berth/v1
        kind: Volume
        metadata: {name: data, project: alpha}
        spec: {}
        ---
        apiVersion: berth/v1
        kind: Service
        metadata: {name: owned, project: alpha}
        spec:
          image: localhost/berth-busybox:latest
          pullPolicy: Never
          network: none
          command: ["sleep", "3600"]

        """

    init(engine given: (any APIRuntime)? = nil, bodyLimit: Int = 1 << 20, progressPace: ProgressPace = ProgressPace()) async throws {
        let engine = try given ?? Self.testEngine()
        directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("berth-api-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("manifests"), withIntermediateDirectories: true)
        try Self.manifest.write(to: directory.appendingPathComponent("manifests/stack.yaml"), atomically: true, encoding: .utf8)
        store = try await SQLiteStore.open(.init(path: directory.appendingPathComponent("berth.db").path))
        let source = DesiredStateSource(manifestPaths: [directory.appendingPathComponent("manifests").path], store: store)
        dependencies = APIDependencies(store: store, source: source, engine: engine, bodyLimit: bodyLimit, progressPace: progressPace)
        var tokens: [String: String] = [:]
        let now = Date()
        for (name, scopes, project) in [
            ("admin", [TokenScope.admin], nil), ("read", [.read], nil), ("jobs", [.jobsWrite], nil), ("resources", [.resourcesWrite], nil),
            ("jobs-alpha", [.jobsWrite], "alpha"), ("read-alpha", [.read], "alpha"), ("resources-alpha", [.resourcesWrite], "alpha"),
        ] as [(String, [TokenScope], String?)] {
            tokens[name] = try await store.createToken(name: name, scopes: scopes, project: project, expiresAt: nil, now: now).token
        }
        self.tokens = tokens
    }

    /// The private dockerd scripts/test started.
    private static func testEngine() throws -> DockerEngine {
        guard let host = ProcessInfo.processInfo.environment["BERTH_TEST_DOCKER_HOST"], !host.isEmpty else {
            throw SetupError("BERTH_TEST_DOCKER_HOST is not set: run the suite with scripts/test, which starts a private dockerd")
        }
        return DockerEngine(client: DockerClient(endpoint: try DockerEndpoint(host: host)))
    }

    var manifestFile: String { directory.appendingPathComponent("manifests/stack.yaml").path }

    func finish() async {
        await store.close()
        try? FileManager.default.removeItem(at: directory)
    }

    /// Runs `body` with a client of the API as `serve` builds it, through its router (no socket).
    func test(_ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let app = try APIAssembly.makeAPI(dependencies, configuration: APIServerConfiguration())
        try await app.test(.router) { client in try await body(client) }
    }

    static func jobYAML(_ name: String, project: String = "alpha", command: String = "true", extra: String = "") -> String {
        """
        apiVersion: berth/v1
        kind: Job
        metadata: {name: \(name), project: \(project)}
        spec:
          image: localhost/berth-busybox:latest
          pullPolicy: Never
          network: none
          command: ["sh", "-c", "\(command)"]
        \(extra)
        """
    }

    static func serviceYAML(_ name: String, project: String = "alpha", extra: String = "") -> String {
        """
        apiVersion: berth/v1
        kind: Service
        metadata: {name: \(name), project: \(project)}
        spec:
          image: localhost/berth-busybox:latest
          pullPolicy: Never
          network: none
          command: ["sleep", "3600"]
        \(extra)
        """
    }
}

extension TestClientProtocol {
    /// A request with a bearer token (nil: none) and an optional YAML or JSON body.
    func call(
        _ method: HTTPRequest.Method, _ uri: String, token: String?, body: String? = nil, contentType: String? = "application/yaml",
        headers extra: HTTPFields = [:]
    ) async throws -> TestResponse {
        var headers = extra
        if let token { headers[.authorization] = "Bearer \(token)" }
        if body != nil, let contentType { headers[.contentType] = contentType }
        return try await execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
    }
}

extension TestResponse {
    /// The body as text.
    var text: String { String(decoding: body.readableBytesView, as: UTF8.self) }

    /// The body as a JSON object.
    func json() throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any], "not a JSON object: \(text)")
    }

    /// The `error` member of an error answer.
    func error() throws -> [String: Any] {
        try #require(try json()["error"] as? [String: Any], "no error member: \(text)")
    }

    /// The error's message, or "" when there is none.
    func errorMessage() -> String {
        ((try? error())?["message"] as? String) ?? ""
    }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try APIJSON.decoder().decode(T.self, from: Data(body.readableBytesView))
    }
}
