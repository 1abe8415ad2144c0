import ArgumentParser
import BerthAPI
import BerthController
import BerthCore
import BerthDocker
import BerthGit
import BerthHostFiles
import BerthObjectStore
import BerthServer
import BerthWebUI
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// `berth serve`: the controller loop and the HTTP API, until SIGTERM or SIGINT.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the controller and the HTTP API: converge continuously, self-heal, reload manifests on change or SIGHUP."
    )

    /// Which parts this process runs.
    enum Role: String, ExpressibleByArgument, CaseIterable {
        case all, api, controller
    }

    @OptionGroup var manifests: ManifestOptions
    @OptionGroup var controller: ControllerOptions
    @OptionGroup var objectStorage: ObjectStorageOptions
    @OptionGroup var git: GitSourceOptions
    @OptionGroup var age: AgeOptions
    @Option(help: "Resync at least this often, e.g. 30s.") var resync: String = "30s"
    @Option(help: "Actions run at once.") var concurrency: Int = 8
    @Option(help: "Jobs this controller runs at once.") var maxConcurrentJobs: Int = 4
    @Option(help: "A failed job attempt is retried after this long, doubling per attempt up to --job-retry-backoff-max.") var jobRetryBackoff: String = "10s"
    @Option(help: "The longest wait before a job's retry, e.g. 10m; at least --job-retry-backoff.") var jobRetryBackoffMax: String = "10m"
    @Option(
        help:
            "How long a job claim holds without renewal, e.g. 30s (renewed at a third of it): a controller that cannot renew for this long stops its jobs' containers, and another takes them over."
    ) var jobLease: String = "30s"
    @Option(help: "How often the store is read for submits and cancels no notification announced (another process on the embedded store).") var jobPollInterval: String = "2s"
    @Option(help: "The last bytes of a job's stdout and stderr kept with it, e.g. 16Ki.") var jobLogTail: String = "16Ki"
    @Option(help: "The largest feedback file read from a job, e.g. 64Ki.") var jobFeedbackLimit: String = "64Ki"
    @Option(help: "Ended jobs older than this are pruned (the newest --job-keep-per-project of each project are kept).") var jobRetention: String = "7d"
    @Option(help: "Ended jobs of each project kept whatever their age.") var jobKeepPerProject: Int = 100
    @Option(help: "Events older than this are pruned, e.g. 30d.") var eventRetention: String = "30d"
    @Option(help: "Events kept at most; the oldest beyond go.") var eventKeep: Int = 100_000
    @Option(help: "This controller's name in job claims and the leader lease; give each controller of one store its own. Default: the host name.") var controllerID: String?
    @Option(help: "The node this controller is among those of one store (berth nodes); give each host its own.") var node: String = NodeIdentity.defaultName
    @Option(
        name: .customLong("node-label"),
        help: "A label of this node, key=value (repeatable): jobs whose nodeSelector it matches may run here.") var nodeLabels: [String] = []
    @Option(help: "A node whose heartbeat (every 5s) is older than this is NotReady, e.g. 30s.") var nodeTimeout: String = "30s"
    @Option(help: "The first crash-loop backoff of a service's restarts; it doubles up to --restart-backoff-max.") var restartBackoff: String = "10s"
    @Option(help: "The longest crash-loop backoff.") var restartBackoffMax: String = "5m"
    @Option(help: "A container that ran this long before it exited restarts at once, its backoff forgotten.") var restartBackoffReset: String = "10m"
    @Option(help: "What this process runs: all (controller and API), api, or controller.") var role: Role = .all
    @Option(help: "The API's address, host:port (port 0: any free one). Default: $BERTH_LISTEN, else 127.0.0.1:7700.") var listen: String?
    @Option(help: "A PEM certificate (chain) for HTTPS; needs --tls-key.") var tlsCertificate: String?
    @Option(help: "The PEM private key of --tls-certificate.") var tlsKey: String?
    @Option(help: "Connections the API serves at once; more wait until one closes.") var maxConnections: Int = 1000
    @Option(help: "A connection that sends nothing this long (a request half sent, or no next request) is closed, e.g. 30s.") var idleTimeout: String = "30s"
    @Option(help: "Followed streams (follow=true) open at once; more are answered 503.") var maxFollowers: Int = 200
    @Option(help: "Followed streams one token may hold open at once; more are answered 429.") var maxFollowersPerToken: Int = 10
    @Flag(name: .customLong("no-ui"), help: "Serve no web UI at /ui/ (only the API).") var noUI = false
    @Option(help: "How long a web UI sign-in lasts (never past its token's expiry), e.g. 8h.") var uiSessionLifetime: String = "8h"
    @Option(
        help: "A settings file of NAME=value lines (the package's /etc/berth/berth.env) for every setting no flag or environment variable gives. Default: $BERTH_ENV_FILE."
    ) var envFile: String?
    // Completion webhooks (jobs' `notify`).
    @Option(help: "Attempts of a job's completion webhook before it fails.") var webhookAttempts: Int = 10
    @Option(help: "The wait before a webhook's second attempt, doubling per attempt up to 2m, e.g. 5s.") var webhookRetry: String = "5s"
    @Option(help: "No webhook attempt starts later than this after the job ended, e.g. 15m.") var webhookGiveUpAfter: String = "15m"
    @Option(help: "The limit of one webhook attempt (connect, send, answer), e.g. 10s.") var webhookTimeout: String = "10s"
    /// The crash-loop backoff of `--restart-backoff`, `--restart-backoff-max` and `--restart-backoff-reset`.
    func restartBackoffPolicy() throws -> BackoffPolicy {
        var policy = try backoff(from: restartBackoff, "--restart-backoff", upTo: restartBackoffMax, "--restart-backoff-max")
        policy.resetAfter = try parseSpan(restartBackoffReset, option: "--restart-backoff-reset")
        return policy
    }

    /// A backoff from the first flag's wait doubling up to the second's; a maximum shorter than
    /// the first wait is refused, naming both flags.
    private func backoff(from initial: String, _ initialFlag: String, upTo maximum: String, _ maximumFlag: String) throws -> BackoffPolicy {
        let first = try parseSpan(initial, option: initialFlag), longest = try parseSpan(maximum, option: maximumFlag)
        guard longest >= first else {
            throw ArgumentParser.ValidationError("\(maximumFlag) (\(longest)) is shorter than \(initialFlag) (\(first)); give a maximum at least as long as the first wait")
        }
        return BackoffPolicy(initial: first, maximum: longest)
    }

    /// The completion webhooks' settings from `--webhook-…`.
    func webhookConfiguration() throws -> WebhookConfiguration {
        let timeout = try parseSpan(webhookTimeout, option: "--webhook-timeout")
        guard timeout.milliseconds > 0 else { throw ArgumentParser.ValidationError("--webhook-timeout is longer than 0, e.g. 10s") }
        return WebhookConfiguration(
            maxAttempts: try positive(webhookAttempts, "--webhook-attempts"), firstRetry: try parseSpan(webhookRetry, option: "--webhook-retry"),
            giveUpAfter: try parseSpan(webhookGiveUpAfter, option: "--webhook-give-up-after"), timeout: timeout
        )
    }

    func run() async throws {
        // First: every setting below may come from the file.
        if let envFile { try Settings.load(envFile) }
        controller.bootstrapLogging(fallback: .info)
        let interval = try parseSpan(resync, option: "--resync")
        let backoff = try restartBackoffPolicy()
        let identity = controllerID ?? ProcessInfo.processInfo.hostName
        let apiURL = APIAddress()
        // Before the store and the engine are opened: a bad job setting fails at once, naming the flag.
        let nodeSettings = try nodeConfiguration()
        var jobSettings = try jobRunnerConfiguration(identity: identity, apiURL: role == .all ? apiURL : nil)
        jobSettings.node = nodeSettings.identity
        let logger = Logger(label: "berth.controller")
        // Before any metric is made, so the controller's and the API's land in the one registry.
        let metrics = APIMetrics()
        var api = try APIServerConfiguration(listen: listen ?? Settings.value(nil, "BERTH_LISTEN") ?? "127.0.0.1:7700")
        api.tlsCertificate = tlsCertificate
        api.tlsKey = tlsKey
        api.maxConnections = try positive(maxConnections, "--max-connections")
        let idle = try parseSpan(idleTimeout, option: "--idle-timeout")
        guard idle.milliseconds > 0 else { throw ArgumentParser.ValidationError("--idle-timeout is longer than 0, e.g. 30s") }
        api.idleTimeout = .milliseconds(idle.milliseconds)
        let followers = FollowerSlots(limit: try positive(maxFollowers, "--max-followers"), perToken: try positive(maxFollowersPerToken, "--max-followers-per-token"))
        let listening = api
        let sessionLifetime = try parseSpan(uiSessionLifetime, option: "--ui-session-lifetime")
        guard sessionLifetime.milliseconds > 0 else { throw ArgumentParser.ValidationError("--ui-session-lifetime is longer than 0, e.g. 8h") }
        let ui = noUI ? nil : WebUIConfiguration(sessionLifetime: sessionLifetime.seconds)
        let gitConfiguration = try git.configuration()
        let gitSettings = try git.settings()
        let webhookSecret = try git.webhookSecret()
        if gitConfiguration != nil, !manifests.paths.isEmpty {
            throw ArgumentParser.ValidationError("--git-url and -f both name where the manifests are; give one of them")
        }
        if webhookSecret != nil, gitConfiguration == nil {
            throw ArgumentParser.ValidationError("--git-webhook-secret-file needs --git-url: the webhook asks the git source to fetch")
        }
        var settings = ControllerSettings(
            resyncInterval: interval, concurrency: concurrency, restartBackoff: backoff, jobs: jobSettings, environment: try age.environmentResolver())
        settings.webhooks = try webhookConfiguration()
        settings.node = nodeSettings
        try await controller.withStore { store in
            let runtime = try controller.openRuntime()
            var source = manifests.source(store: store)
            // With a git source, the controller follows it; an API-only process reads no revision.
            var sync: GitSync?
            if let gitConfiguration {
                source.git = GitSelection()
                if role != .api {
                    let directory = URL(fileURLWithPath: controller.resolvedStateDirectory).appendingPathComponent("git").path
                    let repository: GitRepository
                    do { repository = try GitRepository(configuration: gitConfiguration, directory: directory) } catch {
                        throw ArgumentParser.ValidationError("--git-url: \(error)")
                    }
                    sync = GitSync(mirror: repository, source: source, store: store, settings: gitSettings, logger: Logger(label: "berth.git"))
                }
            }
            let storage = try objectStorage.open()
            var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
            // What the controller of this process tells its API: staleness, writes waiting, statuses.
            let health = role == .api ? nil : ControllerHealth()
            if role != .api {
                let made = ControllerAssembly.makeController(
                    store: store, runtime: runtime, objectStorage: storage, source: source,
                    certificates: try controller.certificateManager(store: store), git: sync, settings: settings, health: health, logger: logger
                )
                services.append(.init(service: made))
            }
            if role != .controller {
                let stateDirectory = URL(fileURLWithPath: controller.resolvedStateDirectory).standardizedFileURL.path
                var dependencies = APIDependencies(store: store, source: source, engine: runtime, objectStorage: storage, metrics: metrics, followers: followers, protectedHostPaths: [stateDirectory])
                dependencies.controller = health
                if role == .all { dependencies.node = nodeSettings.identity.name }
                if let webhookSecret, let sync { dependencies.gitWebhook = GitWebhook(secret: webhookSecret, trigger: { sync.trigger() }) }
                services.append(.init(service: try APIAssembly.makeAPI(dependencies, configuration: listening, address: apiURL, ui: ui)))
            }
            logger.info(
                "serving (\(role.rawValue)): manifests \(gitConfiguration.map { "from git \($0.redactedURL) \($0.ref ?? "(default branch)"):\($0.path)" } ?? manifests.resolvedPaths.joined(separator: ", ")), engine \(runtime.client.endpoint), object storage \(storage.map { "\($0.client.configuration)" } ?? "none")"
            )
            let group = ServiceGroup(
                configuration: ServiceGroupConfiguration(
                    services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger
                ))
            try await group.run()
        }
    }

    /// The node from `--node`, `--node-label` and `--node-timeout`, each checked and refused naming its flag.
    func nodeConfiguration() throws -> NodeConfiguration {
        do {
            try NodeIdentity.validateName(node)
        } catch {
            throw ArgumentParser.ValidationError("--node: \(error.issues.map(\.message).joined(separator: "; "))")
        }
        var labels: [String: String] = [:]
        for text in nodeLabels {
            let label: (key: String, value: String)
            do { label = try NodeIdentity.parseLabel(text) } catch {
                throw ArgumentParser.ValidationError("--node-label \(text.debugDescription): \(error.issues.map(\.message).joined(separator: "; "))")
            }
            guard labels[label.key] == nil else { throw ArgumentParser.ValidationError("--node-label: the key \(label.key) is given twice") }
            labels[label.key] = label.value
        }
        let timeout = try parseSpan(nodeTimeout, option: "--node-timeout")
        guard timeout.milliseconds >= 1000 else {
            throw ArgumentParser.ValidationError("--node-timeout is at least 1s (a heartbeat comes every third of it, at most every 5s), found \(nodeTimeout)")
        }
        // A beat at most every third of the timeout, so one late beat does not make the node NotReady.
        let interval = min(Duration.seconds(5), .milliseconds(timeout.milliseconds / 3))
        return NodeConfiguration(
            identity: NodeIdentity(name: node, labels: labels), notReadyAfter: timeout, interval: interval, maxConcurrentJobs: maxConcurrentJobs)
    }

    /// `value`, refused naming `flag` unless it is at least 1.
    private func positive(_ value: Int, _ flag: String) throws -> Int {
        guard value >= 1 else { throw ArgumentParser.ValidationError("\(flag) is at least 1, found \(value)") }
        return value
    }

    /// `--job-lease`, refused below one second: renewals at a third of it must fit several store
    /// round trips.
    private func jobLeaseSpan() throws -> TimeSpan {
        let lease = try parseSpan(jobLease, option: "--job-lease")
        guard lease.milliseconds >= 1000 else {
            throw ArgumentParser.ValidationError("--job-lease is at least 1s (it is renewed at a third of it), found \(jobLease)")
        }
        return lease
    }

    /// The job runner's settings from the `--job-…` flags (and `--max-concurrent-jobs`).
    func jobRunnerConfiguration(identity: String, apiURL: APIAddress?) throws -> JobRunnerConfiguration {
        JobRunnerConfiguration(
            identity: identity, maxConcurrentJobs: maxConcurrentJobs, lease: try jobLeaseSpan(),
            pollInterval: .milliseconds(try parseSpan(jobPollInterval, option: "--job-poll-interval").milliseconds),
            retryBackoff: try backoff(from: jobRetryBackoff, "--job-retry-backoff", upTo: jobRetryBackoffMax, "--job-retry-backoff-max"),
            logTailBytes: try parseSize(jobLogTail, option: "--job-log-tail"),
            feedbackLimit: try parseSize(jobFeedbackLimit, option: "--job-feedback-limit"), apiURL: apiURL,
            retention: try parseSpan(jobRetention, option: "--job-retention"), keepPerProject: jobKeepPerProject,
            eventRetention: try parseSpan(eventRetention, option: "--event-retention"), eventsKept: eventKeep
        )
    }
}
