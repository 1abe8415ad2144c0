import ArgumentParser
import BerthController
import BerthCore
import BerthDocker
import BerthObjectStore
import BerthStore
import Foundation
import Logging

/// Where the controller's state, engine and object storage are: `--database` (else the embedded
/// SQLite file in `--state-dir`), `--docker-host` and `--s3-…`.
struct ControllerOptions: ParsableArguments {
    @Option(help: "A PostgreSQL URL (postgresql://…) for the store. Default: $BERTH_DATABASE_URL, else the embedded SQLite file in the state directory.")
    var database: String?

    @Option(help: "Where the embedded store lives. Default: $BERTH_STATE_DIR, else $XDG_STATE_HOME/berth or ~/.local/state/berth.")
    var stateDir: String?

    @Option(help: "The Docker engine: unix:///path or tcp://host:port. Default: $DOCKER_HOST, else unix:///var/run/docker.sock.")
    var dockerHost: String?

    @Option(help: "The S3 endpoint buckets are converged on, e.g. http://127.0.0.1:9000. Default: $BERTH_S3_ENDPOINT, else none (buckets then fail with a status saying so).")
    var s3Endpoint: String?

    @Option(help: "The S3 region requests are signed for and buckets created in. Default: $BERTH_S3_REGION, else us-east-1.")
    var s3Region: String?

    @Option(help: "How buckets appear in URLs: path (endpoint/bucket) or virtual-host (bucket.endpoint). Default: $BERTH_S3_ADDRESSING, else path.")
    var s3Addressing: S3Configuration.Addressing?

    @Option(help: "An AWS shared credentials file, read when AWS_ACCESS_KEY_ID is not set (profile $AWS_PROFILE, else default). Default: $AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials when it exists.")
    var s3CredentialsFile: String?

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

    /// The object storage the flags and environment name, or `nil` when no endpoint is set; an
    /// endpoint without credentials, or any invalid setting, fails at once naming the setting.
    func openObjectStorage() throws -> S3ObjectStorage? {
        func setting(_ flag: String?, _ variable: String) -> String? {
            flag ?? environment[variable].flatMap { $0.isEmpty ? nil : $0 }
        }
        guard let endpoint = setting(s3Endpoint, "BERTH_S3_ENDPOINT") else { return nil }
        do throws(S3Error) {
            let addressing: S3Configuration.Addressing
            if let s3Addressing {
                addressing = s3Addressing
            } else if let text = setting(nil, "BERTH_S3_ADDRESSING") {
                guard let parsed = S3Configuration.Addressing(rawValue: text) else {
                    throw .configuration("BERTH_S3_ADDRESSING is \"\(text)\"; expected path or virtual-host")
                }
                addressing = parsed
            } else {
                addressing = .path
            }
            guard let credentials = try S3Credentials.resolve(environment: environment, file: s3CredentialsFile) else {
                throw .configuration("the S3 endpoint \(endpoint) is set but no credentials are: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or give --s3-credentials-file")
            }
            let configuration = try S3Configuration(
                endpoint: endpoint, region: setting(s3Region, "BERTH_S3_REGION") ?? S3Configuration.defaultRegion,
                addressing: addressing, credentials: credentials
            )
            return S3ObjectStorage(client: S3Client(configuration: configuration))
        } catch {
            throw CommandFailure(error.message)
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

extension S3Configuration.Addressing: ExpressibleByArgument {}

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
