import ArgumentParser
import BerthAPI
import BerthController
import BerthCore
import BerthDocker
import BerthStore
import Foundation
import Logging

/// Where the controller's state and engine are: `--database` (else the embedded SQLite file in
/// `--state-dir`) and `--docker-host`.
struct ControllerOptions: ParsableArguments {
    @Option(help: "A PostgreSQL URL (postgresql://…) for the store. Default: $BERTH_DATABASE_URL, else the embedded SQLite file in the state directory.")
    var database: String?

    @Option(help: "Connections to PostgreSQL this process keeps at most (opened as needed); submissions write on all but one. Default: $BERTH_DATABASE_POOL, else 4.")
    var databasePool: Int?

    @Option(help: "Where the embedded store lives. Default: $BERTH_STATE_DIR, else $XDG_STATE_HOME/berth or ~/.local/state/berth.")
    var stateDir: String?

    @Option(help: "The Docker engine: unix:///path or tcp://host:port. Default: $DOCKER_HOST, else unix:///var/run/docker.sock.")
    var dockerHost: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical. Default: $BERTH_LOG_LEVEL, else the command's own.")
    var logLevel: Logger.Level?

    @Option(help: "Log line format: text (swift-log's line) or json (one object per line, for log shippers). Default: $BERTH_LOG_FORMAT, else text.")
    var logFormat: LogFormat?

    @Option(help: "A Berth API to work through instead of the store, e.g. http://127.0.0.1:7700. Default: $BERTH_SERVER, else `server:` in the config file.")
    var server: String?

    @Option(help: "The API token for --server. Default: $BERTH_TOKEN, else `token:` in the config file.")
    var token: String?

    @Option(help: "The image of the stopped helper containers that write certificates into volumes. Default: $BERTH_HELPER_IMAGE, else busybox:latest.")
    var helperImage: String?

    private var environment: [String: String] { Settings.environment }

    /// The state directory this invocation uses.
    var resolvedStateDirectory: String {
        if let stateDir { return stateDir }
        if let fromEnvironment = environment["BERTH_STATE_DIR"], !fromEnvironment.isEmpty { return fromEnvironment }
        if let xdg = environment["XDG_STATE_HOME"], !xdg.isEmpty { return xdg + "/berth" }
        return (environment["HOME"] ?? NSHomeDirectory()) + "/.local/state/berth"
    }

    /// Sends logs to standard error at the chosen level (`fallback` when none was given).
    func bootstrapLogging(fallback: Logger.Level) {
        let level = logLevel ?? environment["BERTH_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? fallback
        let format = logFormat ?? environment["BERTH_LOG_FORMAT"].flatMap(LogFormat.init(rawValue:)) ?? .text
        LoggingSystem.bootstrap { label in StandardErrorLogHandler(label: label, level: level, format: format) }
    }

    /// Runs `body` with the store open, and closes it afterwards, also on error.
    func withStore<T>(_ body: (any Store) async throws -> T) async throws -> T {
        let store = try await openStore()
        do {
            let result = try await body(store)
            await store.close()
            return result
        } catch {
            await store.close()
            throw error
        }
    }

    /// The store: PostgreSQL when a URL is given, else the embedded SQLite file.
    func openStore() async throws -> any Store {
        let url = Settings.value(database, "BERTH_DATABASE_URL")
        let poolSize = try resolvedPoolSize()
        do {
            if let url { return try await PostgresStore.open(PostgresConfiguration(connectionString: url, poolSize: poolSize)) }
            return try await SQLiteStore.open(.inStateDirectory(resolvedStateDirectory))
        } catch {
            throw CommandFailure("cannot open the store: \(error)")
        }
    }

    /// `--database-pool`, else `BERTH_DATABASE_POOL`, else 4; 1 to 64.
    private func resolvedPoolSize() throws -> Int {
        let text = Settings.value(nil, "BERTH_DATABASE_POOL")
        guard let size = databasePool ?? (text == nil ? 4 : text.flatMap(Int.init)), (1...64).contains(size) else {
            throw CommandFailure("--database-pool (or BERTH_DATABASE_POOL) takes a number of connections from 1 to 64; found \(databasePool.map(String.init) ?? text ?? "")")
        }
        return size
    }

    /// Runs `body` with the client these options choose: a server's API when one is configured
    /// (flag, environment, then config file), else the store (opened at first use and closed
    /// afterwards, also on error).
    func withClient<T>(_ body: (any BerthClient) async throws -> T) async throws -> T {
        if let api = try apiClient() { return try await body(RemoteClient(api: api)) }
        let local = LocalClient(options: self)
        do {
            let result = try await body(local)
            await local.close()
            return result
        } catch {
            await local.close()
            throw error
        }
    }

    /// The API client when a server is configured (flag, environment, then config file), else nil.
    private func apiClient() throws -> APIClient? {
        let file = try ClientConfigFile.load(environment)
        guard let server = Settings.value(server, "BERTH_SERVER") ?? file.server else { return nil }
        let token = Settings.value(token, "BERTH_TOKEN") ?? file.token
        do {
            return try APIClient(server: server, token: token)
        } catch {
            throw CommandFailure(error.message)
        }
    }

    /// Certificates: the local CA lives in `<state dir>/ca`, the record of host files written beside it.
    func certificateManager(store: (any Store)?) throws -> CertificateManager {
        let text = Settings.value(helperImage, "BERTH_HELPER_IMAGE") ?? "busybox:latest"
        let image: ImageReference
        do {
            image = try ImageReference(parsing: text)
        } catch {
            throw CommandFailure("--helper-image: \(error)")
        }
        return CertificateManager(engine: try openRuntime(), store: store, stateDirectory: resolvedStateDirectory, helperImage: image)
    }

    /// Starts observing the engine at once, so its answers arrive while the caller opens the store
    /// and reads the manifests rather than after; the caller awaits (or cancels) the task.
    func startObserving(_ runtime: DockerEngine) -> Task<ObservedState, any Error> {
        Task { try await runtime.observe() }
    }

    /// The engine `--docker-host` (else `DOCKER_HOST`) names; nothing is sent until it is used.
    func openRuntime() throws -> DockerEngine {
        do throws(DockerError) {
            let endpoint =
                if let dockerHost {
                    try DockerEndpoint(host: dockerHost, environment: environment)
                } else {
                    try DockerEndpoint.fromEnvironment(environment)
                }
            return DockerEngine(client: DockerClient(endpoint: endpoint))
        } catch {
            throw CommandFailure(error.message)
        }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
