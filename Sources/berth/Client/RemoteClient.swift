import BerthAPI
import BerthCore
import BerthManifests
import BerthStore
import Foundation

/// ``BerthClient`` through a server's HTTP API (`--server`, `BERTH_SERVER` or the config file).
struct RemoteClient: BerthClient, ResourceClient {
    let api: APIClient

    /// `POST /v1/jobs` with the document, its priority overridden when one is given.
    func submitJob(_ resource: Resource, spec: JobSpec, priority: Int?, idempotencyKey: String?) async throws -> (job: JobView, created: Bool) {
        var resource = resource
        if let priority {
            var spec = spec
            spec.priority = priority
            resource.spec = .job(spec)
        }
        let body = try ManifestRenderer.yaml([resource])
        let headers = idempotencyKey.map { [(name: "Idempotency-Key", value: $0)] } ?? []
        let answer = try await api.raw("POST", "/v1/jobs", body: Array(body.utf8), contentType: "application/yaml", headers: headers)
        return (try APIJSON.decoder().decode(JobView.self, from: Data(answer.body)), answer.status == 201)
    }

    /// `POST /v1/cronjobs/{project}/{name}/run`: 409 when the concurrency policy refuses.
    func runCronJob(project: String, name: String, manifests: ManifestOptions) async throws -> (job: JobView, created: Bool) {
        let answer = try await api.raw("POST", "/v1/cronjobs/\(project)/\(name)/run")
        return (try APIJSON.decoder().decode(JobView.self, from: Data(answer.body)), answer.status == 201)
    }

    /// `POST /v1/jobs` with the template, parameters and files as JSON.
    func submitTemplateJob(_ request: TemplateJobRequest, idempotencyKey: String?) async throws -> (job: JobView, created: Bool) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let body = try encoder.encode(request)
        let headers = idempotencyKey.map { [(name: "Idempotency-Key", value: $0)] } ?? []
        let answer = try await api.raw("POST", "/v1/jobs", body: Array(body), contentType: "application/json", headers: headers)
        return (try APIJSON.decoder().decode(JobView.self, from: Data(answer.body)), answer.status == 201)
    }

    /// Polls each job in turn until it has ended.
    func awaitEnd(of jobs: [JobView]) async throws -> [JobView] {
        var ended: [JobView] = []
        for view in jobs {
            var job = view
            while !job.state.isTerminal {
                try await Task.sleep(for: .milliseconds(200))
                job = try await api.call("GET", "/v1/jobs/\(job.id)", as: JobView.self)
            }
            ended.append(job)
        }
        return ended
    }

    func jobs(project: String?, states: [JobState], labels: [LabelSelector], limit: Int) async throws -> [JobView] {
        var query = [("limit", String(limit))] + states.map { ("state", $0.rawValue) } + labels.map { ("label", $0.description) }
        if let project { query.append(("project", project)) }
        return try await api.call("GET", "/v1/jobs", query: query, as: ItemsView<JobView>.self).items
    }

    func job(_ id: String) async throws -> JobView {
        try await api.call("GET", "/v1/jobs/\(id)", as: JobView.self)
    }

    func cancelJob(_ id: String) async throws -> JobView {
        try await api.call("POST", "/v1/jobs/\(id)/cancel", as: JobView.self)
    }

    /// The server's answer; with `follow`, its event stream until the `end` event, which fails
    /// the command unless the job finished.
    func jobLogs(_ id: String, tail: Int?, follow: Bool, write: (JobOutput) -> Void) async throws {
        let query = tail.map { [("tail", String($0))] } ?? []
        guard follow else {
            let logs = try await api.call("GET", "/v1/jobs/\(id)/logs", query: query, as: JobLogsView.self)
            write(.stdout(logs.stdout))
            write(.stderr(logs.stderr))
            return
        }
        for try await event in try await api.events("/v1/jobs/\(id)/logs", query: query + [("follow", "true")]) {
            switch event.name {
            // Each event is one line of output.
            case "stdout": write(.stdout(event.data + "\n"))
            case "stderr": write(.stderr(event.data + "\n"))
            case "dropped": throw CommandFailure(event.data)
            case "end":
                let job = try APIJSON.decoder().decode(JobView.self, from: Data(event.data.utf8))
                guard job.state.isTerminal else { throw CommandFailure("the server ended the stream while job \(id) was \(job.state)") }
                if job.state != .finished { throw ExitStatus.failure }
                return
            default: continue
            }
        }
        throw CommandFailure("the stream of job \(id) closed before its end")
    }

    func archivedJobLogs(_ id: String, attempt: Int?, stream: String, objectStorage: ObjectStorageOptions, write: ([UInt8]) throws -> Void) async throws {
        var query = [("full", "true"), ("stream", stream)]
        if let attempt { query.append(("attempt", String(attempt))) }
        for try await chunk in try await api.stream("/v1/jobs/\(id)/logs", query: query) { try write(chunk) }
    }

    func statuses(project: String?, manifests: ManifestOptions) async throws -> StatusListView {
        try await api.call("GET", "/v1/status", query: project.map { [("project", $0)] } ?? [], as: StatusListView.self)
    }

    /// `GET /v1/source`; its 404 means the server follows no git source.
    func source() async throws -> SourceView? {
        do throws(APIClientError) {
            return try await api.call("GET", "/v1/source", as: SourceView.self)
        } catch {
            guard error.status == 404 else { throw error }
            return nil
        }
    }

    func sourceHistory(limit: Int) async throws -> [SourceRevisionRecord] {
        try await api.call("GET", "/v1/source/history", query: [("limit", String(limit))], as: ItemsView<SourceRevisionRecord>.self).items
    }

    func pinRevision(_ name: String?) async throws -> SourceView {
        let body = try APIJSON.encoder().encode(RollbackRequest(revision: name))
        return try await api.call("POST", "/v1/source/rollback", body: Array(body), contentType: "application/json", as: SourceView.self)
    }

    /// One read; with `follow`, the server's event stream, an event at a time.
    func events(_ filter: EventFilter, follow: Bool, show: ([EventView]) throws -> Void) async throws {
        var query = [("limit", String(filter.limit))]
        if let project = filter.project { query.append(("project", project)) }
        if let job = filter.job { query.append(("job", job)) }
        if let after = filter.after { query.append(("after", String(after))) }
        guard follow else {
            try show(try await api.call("GET", "/v1/events", query: query, as: ItemsView<EventView>.self).items)
            return
        }
        for try await event in try await api.events("/v1/events", query: query + [("follow", "true")]) {
            try show([try APIJSON.decoder().decode(EventView.self, from: Data(event.data.utf8))])
        }
    }

    /// `GET /v1/plan`: the server plans from its own manifests and store; its JSON is printed as
    /// it came, formatted.
    func plan(manifests: ManifestOptions, objectStorage: ObjectStorageOptions, node: String?) async throws -> PlanOutput {
        let answer = try await api.raw("GET", "/v1/plan", query: node.map { [("node", $0)] } ?? [])
        let summary = try APIJSON.decoder().decode(PlanView.Summary.self, from: Data(answer.body))
        return PlanOutput(text: summary.text, json: try formattedJSON(answer.body), hasChanges: summary.changes > 0, unreadable: summary.unreadable ?? [])
    }

    var resources: (any ResourceClient)? { self }

    // MARK: ResourceClient

    func apply(_ resource: Resource) async throws -> (resource: ResourceView, created: Bool) {
        let answer = try await api.raw("PUT", Self.path(resource.id), body: Array(try ManifestRenderer.yaml([resource]).utf8), contentType: "application/yaml")
        return (try APIJSON.decoder().decode(ResourceView.self, from: Data(answer.body)), answer.status == 201)
    }

    func list(kind: String?, project: String?) async throws -> [ResourceView] {
        var query: [(String, String)] = []
        if let kind { query.append(("kind", kind)) }
        if let project { query.append(("project", project)) }
        return try await api.call("GET", "/v1/resources", query: query, as: ItemsView<ResourceView>.self).items
    }

    func get(kind: String, project: String, name: String) async throws -> ResourceView {
        try await api.call("GET", "/v1/resources/\(kind)/\(project)/\(name)", as: ResourceView.self)
    }

    func delete(kind: String, project: String, name: String) async throws -> ResourceView {
        try await api.call("DELETE", "/v1/resources/\(kind)/\(project)/\(name)", as: ResourceView.self)
    }

    func nodes() async throws -> [NodeView] {
        try await api.call("GET", "/v1/nodes", as: ItemsView<NodeView>.self).items
    }

    func scheduleNode(_ name: String, _ action: NodeScheduling) async throws -> NodeView {
        try await api.call("POST", "/v1/nodes/\(name)/\(action.rawValue)", as: NodeView.self)
    }

    func removeNode(_ name: String, force: Bool) async throws {
        _ = try await api.raw("DELETE", "/v1/nodes/\(name)", query: force ? [("force", "true")] : [])
    }

    private static func path(_ id: ResourceID) -> String {
        "/v1/resources/\(id.kind.rawValue.lowercased())/\(id.project)/\(id.name)"
    }
}
