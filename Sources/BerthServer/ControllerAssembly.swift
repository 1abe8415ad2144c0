import BerthAPI
import BerthController
import BerthCore
import BerthDocker
import BerthObjectStore
import BerthStore
import Logging

/// What `serve`'s flags set for the controller: how often it resyncs, how many actions and
/// jobs run at once, the crash-loop backoff of services, how containers' `env` is resolved.
public struct ControllerSettings: Sendable {
    /// A pass runs at least this often.
    public var resyncInterval: TimeSpan
    /// Actions run at once in a pass.
    public var concurrency: Int
    /// The crash-loop backoff of a service's restarts.
    public var restartBackoff: BackoffPolicy
    /// The job runner's settings; its `identity` also names this controller in the leader lease.
    public var jobs: JobRunnerConfiguration
    /// Resolves the `env` of services' and jobs' containers (the age identity, for encrypted values).
    public var environment: EnvironmentResolver
    /// How jobs' completion webhooks are sent and retried.
    public var webhooks = WebhookConfiguration()
    /// The node this controller registers as, with its heartbeat; `nil` registers none.
    public var node: NodeConfiguration?

    public init(
        resyncInterval: TimeSpan, concurrency: Int, restartBackoff: BackoffPolicy, jobs: JobRunnerConfiguration,
        environment: EnvironmentResolver = EnvironmentResolver()
    ) {
        self.resyncInterval = resyncInterval
        self.concurrency = concurrency
        self.restartBackoff = restartBackoff
        self.jobs = jobs
        self.environment = environment
    }
}

/// Builds the controller `serve` runs: one reconciler, the job runner and the cron trigger on one
/// store and one engine, the certificate manager and the node heartbeat; it reports to `health`,
/// which the API of the same process shows.
public enum ControllerAssembly {
    public static func makeController(
        store: any Store, runtime: DockerEngine, objectStorage: (any ObjectStorage)?, source: DesiredStateSource,
        certificates: CertificateManager?, git: GitSync? = nil, settings: ControllerSettings, health: ControllerHealth? = nil, logger: Logger
    ) -> Controller {
        let options = ReconcilerOptions(
            planner: PlannerOptions(restartBackoff: settings.restartBackoff), concurrency: settings.concurrency, environment: settings.environment)
        let reconciler = Reconciler(runtime: runtime, objectStorage: objectStorage, store: store, adoptions: store, options: options, logger: logger)
        let completion = JobCompletion(
            archiver: objectStorage.map { JobLogArchiver(storage: $0, store: store, logger: Logger(label: "berth.jobs")) },
            webhooks: WebhookDispatcher(store: store, body: JobAnswer.bytes, configuration: settings.webhooks, logger: Logger(label: "berth.webhooks"))
        )
        let jobs = JobRunner(
            runtime: runtime, store: store, configuration: settings.jobs, environment: settings.environment, logger: Logger(label: "berth.jobs"),
            completion: completion)
        let node = settings.node.map { node in
            NodeHeartbeats(store: store, configuration: node, engineInfo: { try await runtime.client.info() }, logger: Logger(label: "berth.nodes"))
        }
        let placement = settings.node.map { node in
            NodePlacement(store: store, node: node.identity.name, holder: settings.jobs.identity, events: reconciler.storeWrites, logger: logger)
        }
        return Controller(
            source: source, runtime: runtime, store: store, reconciler: reconciler, jobs: jobs, cron: CronTrigger(store: store),
            certificates: certificates, git: git, node: node, placement: placement,
            configuration: ControllerConfiguration(resyncInterval: .milliseconds(settings.resyncInterval.milliseconds), identity: settings.jobs.identity),
            health: health, logger: logger
        )
    }
}
