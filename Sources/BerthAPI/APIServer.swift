import BerthController
import BerthDocker
import BerthHTTP
import BerthObjectStore
import BerthStore
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL

/// What the routes work with: the store, the desired-state source (manifests + store, for the
/// ownership and cross-resource checks of writes, and for plans), and the engine (through
/// ``APIRuntime``, so routes are tested without one).
public struct APIDependencies: Sendable {
    public var store: any Store
    public var source: DesiredStateSource
    public var engine: any APIRuntime
    /// The S3 endpoint buckets are planned against; nil when none is configured.
    public var objectStorage: (any ObjectStorage)?
    /// The largest request body taken; larger ones are answered 413.
    public var bodyLimit: Int
    public var metrics: APIMetrics
    /// The checks writes go through before they are stored (volumes, the projects' policies).
    let admission: Admission
    /// The followed streams open at once.
    public var followers: FollowerSlots
    /// How fast each job's progress is taken.
    public var progressPace: ProgressPace
    /// The controller of the same process, when there is one: its staleness and statuses.
    public var controller: ControllerHealth?
    /// `POST /v1/hooks/git`'s secret and trigger; nil when no webhook is configured (404).
    public var gitWebhook: GitWebhook?
    /// The node of the controller in the same process: a plan that names no node is this one's.
    public var node: String?

    /// `protectedHostPaths`: host paths no API writer may use whatever a policy allows, besides
    /// BerthCore's list (`HostPath.neverAllowed`): Berth's state directory, the engine's socket.
    public init(
        store: any Store, source: DesiredStateSource, engine: any APIRuntime, objectStorage: (any ObjectStorage)? = nil,
        bodyLimit: Int = 1 << 20, metrics: APIMetrics = APIMetrics(), followers: FollowerSlots = FollowerSlots(),
        progressPace: ProgressPace = ProgressPace(), protectedHostPaths: [String] = []
    ) {
        self.store = store
        self.source = source
        self.engine = engine
        self.objectStorage = objectStorage
        self.bodyLimit = bodyLimit
        self.metrics = metrics
        var protected = protectedHostPaths
        if let socket = engine.socketPath { protected.append(socket) }
        admission = Admission(source: source, store: store, protectedHostPaths: protected)
        self.followers = followers
        self.progressPace = progressPace
    }
}

/// Where and how the API listens.
public struct APIServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// PEM files; both given means HTTPS.
    public var tlsCertificate: String?
    public var tlsKey: String?
    /// Connections served at once; more wait in the listen backlog until one closes.
    public var maxConnections = 1000
    /// How long a connection may send nothing (a request's head or body not yet complete, or no
    /// next request) before it is closed.
    public var idleTimeout: Duration = .seconds(30)

    public init(host: String = "127.0.0.1", port: Int = 7700, tlsCertificate: String? = nil, tlsKey: String? = nil) {
        self.host = host
        self.port = port
        self.tlsCertificate = tlsCertificate
        self.tlsKey = tlsKey
    }

    /// `127.0.0.1:7700`, `[::1]:7700` or `localhost:0` (0: any free port).
    public init(listen: String) throws(APIConfigurationError) {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (0...65535).contains(port) else {
            throw APIConfigurationError("--listen takes host:port, e.g. 127.0.0.1:7700; found \"\(listen)\"")
        }
        var host = String(listen[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw APIConfigurationError("--listen needs a host, e.g. 127.0.0.1:\(port)") }
        self.init(host: host, port: port)
    }
}

/// A configuration that cannot be served (a bad address, unreadable TLS files).
public struct APIConfigurationError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Builds the HTTP API: its router (for tests without a socket) and the application `serve` runs.
public enum APIServer {
    /// Every route, behind the JSON error shape, request metrics and (under `/v1`, but for the
    /// git webhook, and `/metrics`) bearer-token authentication; `routes` adds more (the web UI).
    public static func router(_ dependencies: APIDependencies, routes: (Router<APIRequestContext>) -> Void = { _ in }) -> Router<APIRequestContext> {
        let router = Router(context: APIRequestContext.self)
        router.add(middleware: ErrorMiddleware())
        router.add(middleware: RequestMetricsMiddleware())
        HealthRoutes(dependencies: dependencies).register(on: router)
        let v1 = router.group("v1").add(middleware: Authenticator(store: dependencies.store))
        JobRoutes(dependencies: dependencies).register(on: v1)
        CronRoutes(dependencies: dependencies).register(on: v1)
        ResourceRoutes(dependencies: dependencies).register(on: v1)
        ControlRoutes(dependencies: dependencies).register(on: v1)
        SourceRoutes(dependencies: dependencies).register(on: v1)
        NodeRoutes(dependencies: dependencies).register(on: v1)
        // Outside the token check: a delivery proves itself with the webhook's secret.
        GitHookRoutes(dependencies: dependencies).register(on: router)
        routes(router)
        return router
    }

    /// The server as a service-lifecycle `Service`, with `routes` added to the API's (``router(_:routes:)``);
    /// `onRunning` gets the port it listens on.
    public static func application(
        _ dependencies: APIDependencies, configuration: APIServerConfiguration, logger: Logger, routes: (Router<APIRequestContext>) -> Void = { _ in },
        onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws(APIConfigurationError) -> some ApplicationProtocol {
        let http = HTTPServerBuilder.http1(configuration: .init(idleTimeout: .milliseconds(Int64(configuration.idleTimeout / .milliseconds(1)))))
        let server: HTTPServerBuilder
        if let certificate = configuration.tlsCertificate, let key = configuration.tlsKey {
            do {
                let tls = TLSConfiguration.makeServerConfiguration(
                    certificateChain: try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) },
                    privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
                )
                server = try .tls(http, tlsConfiguration: tls)
            } catch {
                throw APIConfigurationError("cannot use the TLS certificate \(certificate) and key \(key): \(error)")
            }
        } else if configuration.tlsCertificate != nil || configuration.tlsKey != nil {
            throw APIConfigurationError("TLS needs both --tls-certificate and --tls-key")
        } else {
            server = http
        }
        return Application(
            router: router(dependencies, routes: routes),
            server: server,
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.host, port: configuration.port), serverName: "berth",
                availableConnectionsDelegate: MaximumAvailableConnections(configuration.maxConnections, logger: logger)
            ),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? configuration.port) },
            logger: logger
        )
    }
}

/// `/healthz` (the process answers), `/readyz` (store and engine reachable; to a reader, also
/// whether this process's controller runs on a stale desired state), `/metrics`.
struct HealthRoutes {
    let dependencies: APIDependencies

    func register(on router: Router<APIRequestContext>) {
        router.get("healthz") { _, _ in try JSONAnswer.response(.ok, ["status": "ok"]) }
        router.get("readyz") { request, _ in try await ready(request) }
        router.group("metrics").add(middleware: Authenticator(store: dependencies.store)).get { _, context in
            try context.authorize(.readState, project: nil)
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4"
            let text = try await dependencies.metrics.render(store: dependencies.store)
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: text)))
        }
    }

    /// Ready or not, for anyone (a load balancer has no token); what is wrong (the engine's
    /// address, the store's error) only for a token that may read state.
    private func ready(_ request: Request) async throws -> Response {
        let problems = await readinessProblems()
        let detailed = await mayReadDetails(request)
        let staleSince = dependencies.controller?.report.desiredStateStaleSince.map { "stale since \($0.formatted(.iso8601))" }
        guard problems.isEmpty else {
            let details = problems + (staleSince.map { ["desired state: \($0), the controller converges the last one read"] } ?? [])
            throw APIError(.serviceUnavailable, code: "unavailable", message: detailed ? details.joined(separator: "; ") : "not ready")
        }
        guard detailed else { return try JSONAnswer.response(.ok, ["status": "ready"]) }
        var answer = ["status": "ready", "store": "ok", "docker": "ok"]
        if dependencies.controller != nil { answer["desiredState"] = staleSince ?? "fresh" }
        return try JSONAnswer.response(.ok, answer)
    }

    /// Whether the request carries a valid token that may read state; a missing or wrong one is
    /// no error here, it only gets the short answer.
    private func mayReadDetails(_ request: Request) async -> Bool {
        guard let header = request.headers[.authorization], let secret = Authenticator.bearerToken(header),
            let token = try? await dependencies.store.authenticate(token: String(secret), now: Date())
        else { return false }
        return token.jobID == nil && APIRequestContext.grants(token, .readState)
    }

    private func readinessProblems() async -> [String] {
        var problems: [String] = []
        do {
            _ = try await dependencies.store.jobCounts(project: "berth-readyz")
        } catch {
            problems.append("store: \(error.message)")
        }
        do {
            _ = try await dependencies.engine.ping()
        } catch {
            problems.append("docker: \(error.message)")
        }
        return problems
    }
}
