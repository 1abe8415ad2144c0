import BerthAPI
import BerthCore
import BerthStore

/// What the commands ask of Berth, the same whether they work on the store directly
/// (``LocalClient``) or through a server's API (``RemoteClient``): the options choose one
/// (`ControllerOptions.withClient`), and the commands never ask which.
protocol BerthClient: NodeClient {
    /// Submits one job; `created` is false when an idempotency key named an earlier submit.
    func submitJob(_ resource: Resource, spec: JobSpec, priority: Int?, idempotencyKey: String?) async throws -> (job: JobView, created: Bool)
    /// Submits a job rendered from a JobTemplate by the server.
    func submitTemplateJob(_ request: TemplateJobRequest, idempotencyKey: String?) async throws -> (job: JobView, created: Bool)
    /// Waits until every one of the jobs has ended (the controller runs them), and returns them.
    func awaitEnd(of jobs: [JobView]) async throws -> [JobView]
    /// Jobs, newest first; with `labels`, those whose labels match every one.
    func jobs(project: String?, states: [JobState], labels: [LabelSelector], limit: Int) async throws -> [JobView]
    /// Starts a CronJob's run now, keeping to its concurrency policy; throws the refusal (Forbid
    /// while a run is active) or that there is no such CronJob.
    /// On the store directly, the CronJob is found in `manifests` (as `serve` was given them) or the store.
    func runCronJob(project: String, name: String, manifests: ManifestOptions) async throws -> (job: JobView, created: Bool)
    /// One job with its events; throws when there is none.
    func job(_ id: String) async throws -> JobView
    /// Records a cancel request and returns the job as it is after it.
    func cancelJob(_ id: String) async throws -> JobView
    /// A job's output, handed to `write` piece by piece in the order it is printed; with `follow`,
    /// until the job's output ends.
    func jobLogs(_ id: String, tail: Int?, follow: Bool, write: (JobOutput) -> Void) async throws
    /// One stream (`stdout`, `stderr`) of an attempt's archived output (the latest when nil),
    /// handed to `write` in chunks as it is read and decompressed; working locally, read from the
    /// bucket `objectStorage` names.
    func archivedJobLogs(_ id: String, attempt: Int?, stream: String, objectStorage: ObjectStorageOptions, write: ([UInt8]) throws -> Void) async throws
    /// What the controller last recorded for every resource (of `project`), and, from a server
    /// that runs a controller, how that controller stands; and where each CronJob stands (on the
    /// store directly, those of `manifests` and the store).
    func statuses(project: String?, manifests: ManifestOptions) async throws -> StatusListView
    /// Events, oldest first, handed to `show` a batch at a time: one batch, or with `follow`
    /// batch after batch until interrupted.
    func events(_ filter: EventFilter, follow: Bool, show: ([EventView]) throws -> Void) async throws
    /// The git source, with its applied and attempted revisions; nil when none was ever recorded.
    func source() async throws -> SourceView?
    /// The git source's revisions, the last attempted first, at most `limit`.
    func sourceHistory(limit: Int) async throws -> [SourceRevisionRecord]
    /// Pins the revision `name` names (its sha, or 7 or more of its first hex digits), which
    /// must have been healthy, or clears the pin (nil); returns the source after.
    func pinRevision(_ name: String?) async throws -> SourceView
    /// What a converge pass would do now, for the replicas of `node` (see
    /// ``NodePlacement/replicas(ofNode:store:)``). A server plans from its own manifests and
    /// store; working locally, `manifests` and `objectStorage` say what to plan from.
    func plan(manifests: ManifestOptions, objectStorage: ObjectStorageOptions, node: String?) async throws -> PlanOutput
    /// The desired resources kept by a server; nil when working on the store, where
    /// `berth resources` has nothing to work through.
    var resources: (any ResourceClient)? { get }
}

/// API resources (`berth resources`), which only a server keeps and admits.
protocol ResourceClient {
    /// Creates or updates one resource; `created` is true when it was new.
    func apply(_ resource: Resource) async throws -> (resource: ResourceView, created: Bool)
    /// Desired resources, API and manifest ones, optionally of one kind and project.
    func list(kind: String?, project: String?) async throws -> [ResourceView]
    /// One resource.
    func get(kind: String, project: String, name: String) async throws -> ResourceView
    /// Deletes an API resource and returns what was deleted.
    func delete(kind: String, project: String, name: String) async throws -> ResourceView
}

/// `berth nodes`: the same on the store and through the API.
protocol NodeClient {
    /// Every node with its state, by name.
    func nodes() async throws -> [NodeView]
    /// Cordons, uncordons or drains a node and returns it after; an unknown node fails the command.
    func scheduleNode(_ name: String, _ action: NodeScheduling) async throws -> NodeView
    /// Forgets a node that is gone; refused while it sends heartbeats unless `force`.
    func removeNode(_ name: String, force: Bool) async throws
}

/// A piece of a job's output, with its line ends as it is printed.
enum JobOutput {
    case stdout(String)
    case stderr(String)
}

/// Which events `berth events` reads.
struct EventFilter {
    var project: String?
    var job: String?
    var after: Int64?
    /// At most this many per read.
    var limit: Int
}

/// A plan as the commands print it: text, JSON text, and whether it changes anything.
struct PlanOutput {
    var text: String
    var json: String
    var hasChanges: Bool
    /// What could not be read, each with why.
    var unreadable: [String]
}

/// The body of `POST /v1/jobs` that asks for a JobTemplate's job (docs/openapi.yaml,
/// `TemplateSubmission`).
struct TemplateJobRequest: Encodable {
    /// One input file, sent as base64.
    struct File: Encodable {
        var content: String
        var encoding = "base64"
    }

    var template: String
    var project: String
    var parameters: [String: String]
    var files: [String: File]
}
