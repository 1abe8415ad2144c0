import BerthAPI
import BerthController
import BerthCore
import BerthDocker
import BerthObjectStore
import BerthStore
import Foundation

/// ``BerthClient`` on the store directly (and on the engine for live job output and plans):
/// what the CLI does without `--server`. The store is opened at first use, so a command that
/// needs the engine first (plan) starts observing it before the store is opened.
final class LocalClient: BerthClient {
    private let options: ControllerOptions
    private var opened: (any Store)?

    init(options: ControllerOptions) {
        self.options = options
    }

    /// The store, opened at first use.
    private func store() async throws -> any Store {
        if let opened { return opened }
        let store = try await options.openStore()
        opened = store
        return store
    }

    /// Closes the store if it was opened.
    func close() async {
        await opened?.close()
        opened = nil
    }

    func submitJob(_ resource: Resource, spec: JobSpec, priority: Int?, idempotencyKey: String?) async throws -> (job: JobView, created: Bool) {
        let submission = JobSubmission(
            project: resource.metadata.project, name: resource.metadata.name, spec: spec, priority: priority, idempotencyKey: idempotencyKey,
            labels: resource.metadata.labels
        )
        let (job, created) = try await store().submitJob(submission, now: Date())
        return (JobView(job), created)
    }

    func runCronJob(project: String, name: String, manifests: ManifestOptions) async throws -> (job: JobView, created: Bool) {
        let store = try await store()
        let id = ResourceID(kind: .cronJob, project: project, name: name)
        guard let declared = try await manifests.source(store: store).cronJob(id), case .cronJob(let spec) = declared.spec else {
            throw CommandFailure("no cron job \(name) in project \(project): not in the manifests (\(manifests.resolvedPaths.joined(separator: ", "))) nor in the store")
        }
        switch try await CronRun.start(id, spec, labels: declared.metadata.labels, store: store, now: Date()) {
        case .refused(let message): throw CommandFailure(message)
        case .started(let job, let created, _): return (JobView(job), created)
        }
    }

    /// Templates are rendered by a server, which holds the desired state they are declared in.
    func submitTemplateJob(_ request: TemplateJobRequest, idempotencyKey: String?) async throws -> (job: JobView, created: Bool) {
        throw CommandFailure("submitting from a template goes through a server's API: give --server (or BERTH_SERVER)")
    }

    /// Polls the store until every job has ended.
    func awaitEnd(of jobs: [JobView]) async throws -> [JobView] {
        let store = try await store()
        while true {
            var records: [JobRecord] = []
            for job in jobs {
                if let record = try await store.job(job.id) { records.append(record) }
            }
            if records.allSatisfy({ $0.state.isTerminal }) { return records.map { JobView($0) } }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    func jobs(project: String?, states: [JobState], labels: [LabelSelector], limit: Int) async throws -> [JobView] {
        let filter = JobFilter(project: project, states: Set(states), labels: labels)
        return try await store().jobs(filter: filter, page: PageRequest(limit: limit)).items.map { JobView($0) }
    }

    func job(_ id: String) async throws -> JobView {
        let store = try await store()
        let (record, events) = (try await store.job(id), try await store.events(EventQuery(jobID: id, limit: 1000)))
        guard let record else { throw CommandFailure("no job \(id)") }
        var deliveries: [JobDelivery]?
        if record.spec.notify != nil { deliveries = try await store.deliveries(jobID: id) }
        let archives = try await store.logArchives(jobID: id)
        return JobView(record, events: events, deliveries: deliveries, logArchives: archives.isEmpty ? nil : archives)
    }

    func cancelJob(_ id: String) async throws -> JobView {
        do {
            return JobView(try await store().requestCancel(id, now: Date()))
        } catch let error as StoreError {
            if error.code == .notFound { throw CommandFailure("no job \(id)") }
            throw error
        }
    }

    /// Live from the job's container while it runs (or while it is kept after the end), else the
    /// tails kept with the job.
    func jobLogs(_ id: String, tail: Int?, follow: Bool, write: (JobOutput) -> Void) async throws {
        guard let job = try await store().job(id) else { throw CommandFailure("no job \(id)") }
        let name = ObjectName.jobContainer(project: job.project, jobID: job.id)
        let client = try options.openRuntime().client
        if follow, job.state == .started, let frames = try? await client.followLogs(name, tail: tail) {
            for try await frame in frames {
                let text = String(decoding: frame.bytes, as: UTF8.self)
                write(frame.stream == .stdout ? .stdout(text) : .stderr(text))
            }
            return
        }
        if job.state.isActive || job.spec.ttlAfterFinished != nil, let logs = try? await client.logs(name, tail: tail) {
            write(.stdout(String(decoding: logs.stdout, as: UTF8.self)))
            write(.stderr(String(decoding: logs.stderr, as: UTF8.self)))
            return
        }
        let stored = (stdout: job.stdoutTail ?? "", stderr: job.stderrTail ?? "")
        write(.stdout(tail.map { JobLogsView.lastLines(stored.stdout, $0) } ?? stored.stdout))
        write(.stderr(tail.map { JobLogsView.lastLines(stored.stderr, $0) } ?? stored.stderr))
    }

    func archivedJobLogs(_ id: String, attempt: Int?, stream: String, objectStorage: ObjectStorageOptions, write: ([UInt8]) throws -> Void) async throws {
        guard try await store().job(id) != nil else { throw CommandFailure("no job \(id)") }
        guard let archive = try await store().logArchives(jobID: id).archive(attempt: attempt), let key = archive.key(stream: stream) else {
            throw CommandFailure(attempt.map { "attempt \($0) of job \(id) has no archived output" } ?? "job \(id) has no archived output (no logArchive, or no attempt ended yet)")
        }
        guard let storage = try objectStorage.open() else {
            throw CommandFailure("no object storage is configured: set BERTH_S3_ENDPOINT (or --s3-endpoint) to read bucket \(archive.bucket)")
        }
        for try await chunk in GzipStream.decompressing(try await storage.objectStream(archive.bucket, key: key)) { try write(chunk) }
    }

    func statuses(project: String?, manifests: ManifestOptions) async throws -> StatusListView {
        let store = try await store()
        // Best effort, as the API's status: manifests that do not validate leave their CronJobs out.
        let cronJobs = (try? await manifests.source(store: store).cronJobs(project: project)) ?? []
        return StatusListView(
            items: try await store.statuses(project: project), source: try await SourceView.read(from: store),
            cronJobs: try await CronJobStatus.read(cronJobs, store: store, now: Date())
        )
    }

    func source() async throws -> SourceView? {
        try await SourceView.read(from: store())
    }

    func sourceHistory(limit: Int) async throws -> [SourceRevisionRecord] {
        try await store().sourceRevisions(limit: limit)
    }

    func pinRevision(_ name: String?) async throws -> SourceView {
        let store = try await store()
        guard try await store.sourceState() != nil else { throw CommandFailure(Self.noSource) }
        do throws(StoreError) {
            var sha: String?
            if let name { sha = try await store.revisionToPin(name).sha }
            try await store.pinSourceRevision(sha)
        } catch {
            throw CommandFailure(error.message)
        }
        guard let view = try await SourceView.read(from: store) else { throw CommandFailure(Self.noSource) }
        return view
    }

    private static let noSource = "no git source has been recorded in this store: berth serve follows none (--git-url), or has not fetched it yet"

    /// Reads the store; with `follow`, again every half second while a read returns fewer than
    /// the limit.
    func events(_ filter: EventFilter, follow: Bool, show: ([EventView]) throws -> Void) async throws {
        let store = try await store()
        var query = EventQuery(jobID: filter.job, project: filter.project, afterSequence: filter.after, limit: filter.limit)
        repeat {
            let events = try await store.events(query).map(EventView.init)
            try show(events)
            query.afterSequence = events.last?.sequence ?? query.afterSequence
            if follow, events.count < filter.limit { try await Task.sleep(for: .milliseconds(500)) }
        } while follow
    }

    /// Plans from the manifests and the store against the live engine, observed while the store
    /// is opened and the manifests are read.
    func plan(manifests: ManifestOptions, objectStorage: ObjectStorageOptions, node: String?) async throws -> PlanOutput {
        let manifestLoading = manifests.startLoading()
        let runtime = try options.openRuntime()
        let observation = options.startObserving(runtime)
        defer { observation.cancel() }
        let store = try await store()
        let snapshot = try await manifestLoading.snapshot(store: store)
        let placement = try await Self.replicas(ofNode: node, store: store)
        let plan: Plan
        do {
            let observed = try await observation.value
            plan = try await Reconciler(runtime: runtime, objectStorage: try objectStorage.open(), store: store, adoptions: store)
                .plan(snapshot.state, observed: observed, placement: placement)
        } catch let error as CommandFailure {
            throw error
        } catch {
            throw CommandFailure("\(error)")
        }
        return PlanOutput(text: plan.description, json: try jsonText(PlanView(plan)), hasChanges: !plan.isEmpty, unreadable: plan.unreadable)
    }

    /// The replicas `berth plan` and `berth apply` work on (``NodePlacement/replicas(ofNode:store:)``),
    /// a store that cannot tell refused naming `--node`.
    static func replicas(ofNode node: String?, store: any Store) async throws -> ReplicaPlacement {
        do {
            return try await NodePlacement.replicas(ofNode: node, store: store)
        } catch let error as NodeChoiceError {
            throw CommandFailure("--node: \(error)")
        }
    }

    var resources: (any ResourceClient)? { nil }

    func nodes() async throws -> [NodeView] {
        try await store().nodes().map(NodeView.init)
    }

    func scheduleNode(_ name: String, _ action: NodeScheduling) async throws -> NodeView {
        let store = try await store()
        let flags = action.flags
        do throws(StoreError) {
            return NodeView(try await store.setNodeScheduling(name: name, cordoned: flags.cordoned, draining: flags.draining))
        } catch {
            throw CommandFailure(error.message)
        }
    }

    func removeNode(_ name: String, force: Bool) async throws {
        let store = try await store()
        do throws(StoreError) {
            try await store.removeNode(name: name, force: force)
        } catch {
            throw CommandFailure(error.message)
        }
    }
}
