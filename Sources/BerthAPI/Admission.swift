import BerthController
import BerthCore
import BerthHostFiles
import BerthStore
import HTTPTypes
import Synchronization

/// What the API checks before it stores a write: a job's volumes and networks belong to its project, and
/// anything an API writer (not an admin) sends keeps to its project's policy (``PolicyCheck``,
/// with host paths resolved on this host). A refusal is 403 with code `policy`.
struct Admission: Sendable {
    let store: any JobQueue
    /// Host paths never allowed to API writers besides BerthCore's list: the engine's socket and
    /// Berth's state directory.
    let protectedHostPaths: [String]
    private let recent: RecentDesiredState

    init(source: DesiredStateSource, store: any JobQueue, protectedHostPaths: [String]) {
        self.store = store
        self.protectedHostPaths = protectedHostPaths
        recent = RecentDesiredState(source: source)
    }

    /// Checks a resource write against `state`, the desired state once it is done.
    func admit(_ resource: Resource, by writer: PolicyWriter, in state: DesiredState) throws(APIError) {
        let project = resource.id.owningProject
        let services = state.services.filter { $0.id.project == project }.map(\.spec)
        try check(resource, project: project, spec: state.projects[project], by: writer, writerName: "API-written resources") {
            $0.check(resource, projectServices: services)
        }
    }

    /// Checks a job submitted through the API: its volumes are its project's (else 422), and it
    /// keeps to the project's policy. Reads desired state at most once a second.
    func admitJob(_ resource: Resource, _ spec: JobSpec, by writer: PolicyWriter) async throws {
        let project = resource.metadata.project
        let mountsVolumes = spec.container.volumes.contains { if case .volume = $0.source { true } else { false } }
        let joinsDeclaredNetworks = spec.container.networks.contains { $0.name != NetworkAttachment.defaultNetwork }
        guard writer == .api || mountsVolumes || joinsDeclaredNetworks else { return }
        let state = try await desired(for: project).state
        for (index, mount) in spec.container.volumes.enumerated() {
            guard case .volume(let name) = mount.source, !state.contains(ResourceID(kind: .volume, project: project, name: name)) else { continue }
            throw APIError(
                .unprocessableContent, code: "invalid", message: "volume \"\(name)\" is not declared in project \(project); a job mounts only its own project's volumes",
                field: "spec.volumes[\(index)]")
        }
        for (index, attachment) in spec.container.networks.enumerated() where state.network(project: project, name: attachment.name) == nil {
            throw APIError(
                .unprocessableContent, code: "invalid", message: "network \"\(attachment.name)\" is not declared in project \(project); a job joins only its own project's networks (or default)",
                field: "spec.networks[\(index)].name")
        }
        if writer == .api, let archive = spec.logArchive,
            !state.buckets.contains(where: { $0.id.project == project && $0.spec.bucketName == archive.bucket })
        {
            throw APIError(
                .unprocessableContent, code: "invalid",
                message: "bucket \"\(archive.bucket)\" is not a Bucket declared in project \(project); a job archives its output only into its own project's buckets",
                field: "spec.logArchive.bucket")
        }
        let projectSpec = state.projects[project]
        let activeJobs = try await activeJobCount(project, spec: projectSpec)
        try check(resource, project: project, spec: projectSpec, by: writer, writerName: "API-submitted jobs") {
            $0.check(resource, activeJobs: activeJobs)
        }
    }

    /// The desired state jobs of `project` are checked against, at most a second old.
    func desired(for project: String) async throws -> DesiredStateSource.Snapshot {
        do {
            return try await recent.current()
        } catch let error as ValidationError {
            throw APIError(.serviceUnavailable, code: "unavailable", message: "the desired state does not validate, so project \(project)'s volumes and policy cannot be read: \(error)")
        }
    }

    /// The project's jobs not yet ended, when its policy bounds them (else no store read).
    private func activeJobCount(_ project: String, spec: ProjectSpec?) async throws -> Int {
        guard spec?.policy?.maxResources.activeJobs != nil else { return 0 }
        let counts = try await store.jobCounts(project: project)
        return JobState.allCases.filter { !$0.isTerminal }.reduce(0) { $0 + (counts[$1] ?? 0) }
    }

    private func check(
        _ resource: Resource, project: String, spec: ProjectSpec?, by writer: PolicyWriter, writerName: String,
        _ run: (PolicyCheck) -> [PolicyViolation]
    ) throws(APIError) {
        guard (spec?.policy ?? ProjectPolicy()).binds(writer) else { return }
        let check = PolicyCheck(project: project, spec: spec, writer: writerName, alsoNeverAllowed: protectedHostPaths, resolve: HostPathResolver.resolve)
        let violations = run(check)
        guard let first = violations.first else { return }
        throw APIError(.forbidden, code: "policy", message: violations.map(\.message).joined(separator: "; "), field: first.field)
    }
}

/// The desired state (with API resources' generations) job submissions are checked against, read at most once a second and by one
/// caller at a time: a submission sees a Project's policy and volumes as they were up to a second
/// before (documented in docs/operations.md, "Trust and policy").
final class RecentDesiredState: Sendable {
    private let source: DesiredStateSource
    private let cached = Mutex<(snapshot: DesiredStateSource.Snapshot, readAt: ContinuousClock.Instant)?>(nil)
    private let loading = Mutex<Task<DesiredStateSource.Snapshot, any Error>?>(nil)

    init(source: DesiredStateSource) {
        self.source = source
    }

    func current() async throws -> DesiredStateSource.Snapshot {
        if let (snapshot, readAt) = cached.withLock({ $0 }), ContinuousClock.now - readAt < .seconds(1) { return snapshot }
        let source = source
        let task = loading.withLock { running in
            if let running { return running }
            let task = Task { try await source.load() }
            running = task
            return task
        }
        defer { loading.withLock { if $0 == task { $0 = nil } } }
        let snapshot = try await task.value
        cached.withLock { $0 = (snapshot, .now) }
        return snapshot
    }
}
