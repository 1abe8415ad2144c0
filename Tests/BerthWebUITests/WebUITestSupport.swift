import BerthAPI
import BerthController
import BerthCore
import BerthDocker
import BerthServer
import BerthStore
import BerthWebUI
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

/// The API with its web UI over a fresh SQLite store, a manifest folder (projects alpha and beta,
/// a service and a certificate in each) and the test dockerd scripts/test started; statuses,
/// events and jobs of both projects are stored, some of them with hostile text.
final class UIFixture: Sendable {
    let directory: URL
    let store: SQLiteStore
    let dependencies: APIDependencies
    /// Tokens by name: admin, read, jobs, read-alpha, jobs-alpha.
    let tokens: [String: String]
    let tokenIDs: [String: String]
    /// A pending job in each project.
    let alphaJob: JobRecord
    let betaJob: JobRecord

    /// Text no page may show unescaped.
    static let hostile = "<script>alert(\"x\")</script>&'"

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
        kind: Service
        metadata: {name: web, project: alpha}
        spec: {image: localhost/berth-busybox:latest, pullPolicy: Never, network: none, command: ["sleep", "3600"]}
        ---
        apiVersion: berth/v1
        kind: Service
        metadata: {name: api, project: beta}
        spec: {image: localhost/berth-busybox:latest, pullPolicy: Never, network: none, command: ["sleep", "3600"]}
        ---
        apiVersion: berth/v1
        kind: Certificate
        metadata: {name: site, project: alpha}
        spec: {commonName: alpha.example, dnsNames: [www.alpha.example], target: {hostPath: /tmp/berth-ui-test-certs}}

        """

    init() async throws {
        guard let host = ProcessInfo.processInfo.environment["BERTH_TEST_DOCKER_HOST"], !host.isEmpty else {
            throw SetupError("BERTH_TEST_DOCKER_HOST is not set: run the suite with scripts/test, which starts a private dockerd")
        }
        let engine = DockerEngine(client: DockerClient(endpoint: try DockerEndpoint(host: host)))
        directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("berth-ui-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("manifests"), withIntermediateDirectories: true)
        try Self.manifest.write(to: directory.appendingPathComponent("manifests/stack.yaml"), atomically: true, encoding: .utf8)
        store = try await SQLiteStore.open(.init(path: directory.appendingPathComponent("berth.db").path))
        let source = DesiredStateSource(manifestPaths: [directory.appendingPathComponent("manifests").path], store: store)
        dependencies = APIDependencies(store: store, source: source, engine: engine)
        let now = Date()
        var tokens: [String: String] = [:], ids: [String: String] = [:]
        for (name, scopes, project) in [
            ("admin", [TokenScope.admin], nil), ("read", [.read], nil), ("jobs", [.jobsWrite], nil), ("read-alpha", [.read], "alpha"), ("jobs-alpha", [.jobsWrite], "alpha"),
        ] as [(String, [TokenScope], String?)] {
            let made = try await store.createToken(name: name, scopes: scopes, project: project, expiresAt: nil, now: now)
            tokens[name] = made.token
            ids[name] = made.record.id
        }
        self.tokens = tokens
        tokenIDs = ids
        for (project, name) in [("alpha", "web"), ("beta", "api")] {
            let id = ResourceID(kind: .service, project: project, name: name)
            var status = ResourceStatus(
                id: id, phase: .ready, restartCount: 2, readyReplicas: 1, desiredReplicas: 1,
                replicas: [
                    ReplicaStatus(
                        container: "berth-\(project)-\(name)-0", state: "running (healthy)", networks: [ObservedEndpoint(network: "none")], ports: [],
                        containerID: "c0ffee\(project)0123456789", imageID: "sha256:4c1e2f9a0b3d\(String(repeating: "7", count: 52))",
                        node: project == "beta" ? "b" : nil)
                ],
                lastAction: "createContainer \(name)-0", lastCause: "missing \(Self.hostile)", updatedAt: now
            )
            status.setCondition(.ready, .true, reason: "Converged", message: "all replicas ready", now: now)
            try await store.putStatus(status)
            try await store.appendEvent(EventRecord(resource: id, project: project, reason: "Created", message: "created \(name)-0 in \(project) \(Self.hostile)", time: now))
        }
        let spec = JobSpec(container: ContainerSpec(image: try ImageReference(parsing: "localhost/berth-busybox:latest"), command: ["true"]))
        alphaJob = try await store.submitJob(JobSubmission(project: "alpha", name: "report", spec: spec, labels: ["kind": Self.hostile]), now: now).job
        betaJob = try await store.submitJob(JobSubmission(project: "beta", name: "secret-report", spec: spec), now: now).job
    }

    func finish() async {
        await store.close()
        try? FileManager.default.removeItem(at: directory)
    }

    /// Runs `body` on a new fixture with a client of the API and UI as `serve` builds them (no
    /// socket), then removes the fixture, also when `body` throws.
    static func run(ui: WebUIConfiguration? = WebUIConfiguration(), _ body: @Sendable (UIFixture, any TestClientProtocol) async throws -> Void) async throws {
        let fixture = try await UIFixture()
        do {
            let app = try APIAssembly.makeAPI(fixture.dependencies, configuration: APIServerConfiguration(), ui: ui)
            try await app.test(.router) { client in try await body(fixture, client) }
        } catch {
            await fixture.finish()
            throw error
        }
        await fixture.finish()
    }
}

/// A signed-in browser, as far as the server can tell: its session cookie and the session's CSRF value.
struct Browser: Sendable {
    let client: any TestClientProtocol
    let session: String
    let csrf: String

    /// Signs in with `token` through the form, as a browser would.
    static func signIn(_ client: any TestClientProtocol, token: String) async throws -> Browser {
        let form = try await client.execute(uri: "/ui/signin", method: .get)
        #expect(form.status == .ok)
        let formCSRF = try #require(form.cookie("berth_signin_csrf"), "the sign-in form sets its CSRF cookie")
        let answer = try await client.post(
            "/ui/signin", cookies: ["berth_signin_csrf": formCSRF], form: ["token": token, "csrf": formCSRF])
        #expect(answer.status == .seeOther && answer.headers[.location] == "/ui/")
        let session = try #require(answer.cookie("berth_session"), "sign-in sets the session cookie")
        let jobs = try await client.get("/ui/jobs", cookies: ["berth_session": session])
        let csrf = try #require(jobs.text.firstMatch(of: /name="csrf" value="([^"]+)"/).map { String($0.1) }, "the sign-out form carries the CSRF value")
        return Browser(client: client, session: session, csrf: csrf)
    }

    func get(_ uri: String) async throws -> TestResponse {
        try await client.get(uri, cookies: ["berth_session": session])
    }

    func post(_ uri: String, form: [String: String]) async throws -> TestResponse {
        try await client.post(uri, cookies: ["berth_session": session], form: form)
    }
}

extension TestClientProtocol {
    func get(_ uri: String, cookies: [String: String] = [:]) async throws -> TestResponse {
        var headers = HTTPFields()
        if !cookies.isEmpty { headers[.cookie] = cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ") }
        return try await execute(uri: uri, method: .get, headers: headers)
    }

    func post(_ uri: String, cookies: [String: String] = [:], form: [String: String]) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
        if !cookies.isEmpty { headers[.cookie] = cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ") }
        let body = form.map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }.joined(separator: "&")
        return try await execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: body))
    }
}

extension TestResponse {
    var text: String { String(decoding: body.readableBytesView, as: UTF8.self) }

    /// The value a `Set-Cookie` of the answer gives `name`.
    func cookie(_ name: String) -> String? {
        setCookie(name).flatMap { $0.split(separator: ";").first }.map { String($0.dropFirst(name.count + 1)) }
    }

    /// The whole `Set-Cookie` line for `name`.
    func setCookie(_ name: String) -> String? {
        headers[values: .setCookie].first { $0.hasPrefix("\(name)=") }
    }
}
