import ArgumentParser
import BerthAPI
import BerthController
import BerthCore
import BerthDocker
import BerthHostFiles
import BerthStore
import Foundation
import Logging
import Yams

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

    @Option(help: "A Berth API to work through instead of the store, e.g. http://127.0.0.1:7700. Default: $BERTH_SERVER, else `server:` in the config file.")
    var server: String?

    @Option(help: "The API token for --server. Default: $BERTH_TOKEN, else `token:` in the config file.")
    var token: String?

    @Option(help: "The image of the stopped helper containers that write certificates into volumes. Default: $BERTH_HELPER_IMAGE, else busybox:latest.")
    var helperImage: String?

    private var environment: [String: String] { ProcessInfo.processInfo.environment }

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
        LoggingSystem.bootstrap { label in StandardErrorLogHandler(label: label, level: level) }
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

    func openStore() async throws -> any Store {
        let url = database ?? environment["BERTH_DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
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
        let text = environment["BERTH_DATABASE_POOL"].flatMap { $0.isEmpty ? nil : $0 }
        guard let size = databasePool ?? (text == nil ? 4 : text.flatMap(Int.init)), (1...64).contains(size) else {
            throw CommandFailure("--database-pool (or BERTH_DATABASE_POOL) takes a number of connections from 1 to 64; found \(databasePool.map(String.init) ?? text ?? "")")
        }
        return size
    }

    /// The API client when a server is configured (flag, environment, then config file), else nil:
    /// the command then works on the store directly.
    func apiClient() throws -> APIClient? {
        let file = try ClientConfigFile.load(environment)
        guard let server = server ?? environment["BERTH_SERVER"].flatMap({ $0.isEmpty ? nil : $0 }) ?? file.server else { return nil }
        let token = token ?? environment["BERTH_TOKEN"].flatMap { $0.isEmpty ? nil : $0 } ?? file.token
        do {
            return try APIClient(server: server, token: token)
        } catch {
            throw CommandFailure(error.message)
        }
    }

    /// Certificates: the local CA lives in `<state dir>/ca`, the record of host files written beside it.
    func certificateManager(store: (any Store)?) throws -> CertificateManager {
        let text = helperImage ?? environment["BERTH_HELPER_IMAGE"].flatMap { $0.isEmpty ? nil : $0 } ?? "busybox:latest"
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

    func openRuntime() throws -> DockerEngine {
        do throws(DockerError) {
            let endpoint = if let dockerHost {
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

/// The CLI's config file, `$BERTH_CONFIG`, else `$XDG_CONFIG_HOME/berth/config.yaml` or
/// `~/.config/berth/config.yaml`: `server:` and `token:`, both optional. Like ssh's keys and
/// libpq's `.pgpass`, a file holding a token is refused unless only its owner can access it.
struct ClientConfigFile {
    var server: String?
    var token: String?

    static func load(_ environment: [String: String]) throws -> ClientConfigFile {
        let path = environment["BERTH_CONFIG"]
            ?? (environment["XDG_CONFIG_HOME"].map { $0 + "/berth/config.yaml" } ?? (environment["HOME"] ?? NSHomeDirectory()) + "/.config/berth/config.yaml")
        guard let contents = try contents(path) else { return ClientConfigFile() }
        guard let values = (try? Yams.load(yaml: String(decoding: contents.bytes, as: UTF8.self))) as? [String: Any] else {
            return ClientConfigFile()
        }
        let file = ClientConfigFile(server: values["server"] as? String, token: values["token"] as? String)
        if file.token != nil, contents.mode & 0o077 != 0 {
            throw CommandFailure("\(path) holds a token and group or others can access it (mode 0\(String(contents.mode, radix: 8))); run chmod 600 \(path)")
        }
        return file
    }

    /// The file at `path`, or nil when there is none.
    private static func contents(_ path: String) throws -> HostFileContents? {
        do throws(HostFileError) {
            // A dotfile is often a link into a repository of them: the file it names is checked.
            return try HostFile.read(path, limit: HostFile.valueLimit, followingLinks: true)
        } catch {
            guard error.isMissing else { throw CommandFailure("cannot read the config file: \(error.message)") }
            return nil
        }
    }
}

/// A command failed for a reason already explained to the user: printed once, exit status 1.
struct CommandFailure: Error, CustomStringConvertible {
    var message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}

extension ManifestOptions {
    /// The desired-state source: these manifests plus the store's API resources. The default
    /// `manifests/` may be missing (the API alone declares resources); a path given is required.
    func source(store: (any Store)?) -> DesiredStateSource {
        DesiredStateSource(manifestPaths: resolvedPaths, manifestsOptional: paths.isEmpty && ProcessInfo.processInfo.environment["BERTH_MANIFESTS"] == nil, store: store)
    }

    /// Loads the desired state, printing every validation problem on failure.
    func loadSnapshot(store: (any Store)?) async throws -> DesiredStateSource.Snapshot {
        do {
            return try await source(store: store).load()
        } catch let error as BerthCore.ValidationError {
            printIssues(error)
            throw ExitStatus.failure
        }
    }
}
