import ArgumentParser
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

    @Option(help: "Where the embedded store lives. Default: $BERTH_STATE_DIR, else $XDG_STATE_HOME/berth or ~/.local/state/berth.")
    var stateDir: String?

    @Option(help: "The Docker engine: unix:///path or tcp://host:port. Default: $DOCKER_HOST, else unix:///var/run/docker.sock.")
    var dockerHost: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical. Default: $BERTH_LOG_LEVEL, else the command's own.")
    var logLevel: Logger.Level?

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
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
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
        do {
            if let url { return try await PostgresStore.open(PostgresConfiguration(connectionString: url)) }
            return try await SQLiteStore.open(.inStateDirectory(resolvedStateDirectory))
        } catch {
            throw CommandFailure("cannot open the store: \(error)")
        }
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
