import BerthCore
import BerthDocker
import BerthStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ServiceLifecycle

/// `/v1/jobs`: submit, list, show, logs (optionally followed), cancel, and a worker's progress.
package struct JobRoutes {
    let dependencies: APIDependencies
    private var store: any Store { dependencies.store }

    package init(dependencies: APIDependencies) {
        self.dependencies = dependencies
    }

    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!

    func register(on group: RouterGroup<APIRequestContext>) {
        group.post("jobs", use: submit)
        group.get("jobs", use: list)
        group.get("jobs/{id}", use: show)
        group.get("jobs/{id}/logs", use: logs)
        group.post("jobs/{id}/cancel", use: cancel)
        group.post("jobs/{id}/progress", use: progress)
    }

    /// `POST /v1/jobs`: a Job document, or a JobTemplate's name with parameters and input files
    /// (``TemplateJobs``). 201 with the new job, or 200 with the job first submitted under the
    /// same `Idempotency-Key` in that project.
    @Sendable func submit(_ request: Request, context: APIRequestContext) async throws -> Response {
        var submission: JobSubmission
        switch try await RequestDocument.jobRequest(request, limit: dependencies.bodyLimit) {
        case .document(let resource):
            guard case .job(let spec) = resource.spec else {
                throw APIError(.unprocessableContent, code: "invalid", message: "expected a document of kind Job, found \(resource.kind)", field: "kind")
            }
            try context.authorizeJobDocument(project: resource.metadata.project)
            try await dependencies.admission.admitJob(resource, spec, by: try context.policyWriter())
            submission = JobSubmission(project: resource.metadata.project, name: resource.metadata.name, spec: spec, labels: resource.metadata.labels)
        case .template(let templateRequest):
            submission = try await TemplateJobs(admission: dependencies.admission).submission(templateRequest, context: context)
        }
        let key = request.headers[Self.idempotencyKey]
        if let key, key.isEmpty || key.count > 200 {
            throw APIError.badParameter("Idempotency-Key", "an idempotency key has 1 to 200 characters")
        }
        submission.idempotencyKey = key
        let (job, created) = try await store.submitJob(submission, now: Date())
        return try JSONAnswer.response(created ? .created : .ok, headers: [.location: "/v1/jobs/\(job.id)"]) { try $0.job(job) }
    }

    /// `GET /v1/jobs?project=&state=&label=&limit=&cursor=&order=`: keyset pages, newest first by default.
    @Sendable func list(_ request: Request, context: APIRequestContext) async throws -> Response {
        let query = request.uri.queryParameters
        let project = try RequestParameters.project(request, context)
        try context.authorize(.readJobs, project: project)
        var states: Set<JobState> = []
        for text in query.getAll("state").flatMap({ $0.split(separator: ",") }) {
            states.insert(try RequestParameters.jobState(String(text)))
        }
        let limit = try RequestParameters.integer(query.get("limit"), "limit", in: 1...1000) ?? 50
        var page = PageRequest(limit: limit, cursor: query.get("cursor"))
        if let order = query.get("order") {
            guard let value = PageRequest.Order(rawValue: order) else {
                throw APIError.badParameter("order", "order is newestFirst or oldestFirst, not \"\(order)\"")
            }
            page.order = value
        }
        let labels = try RequestParameters.labels(request)
        let result = try await store.jobs(filter: JobFilter(project: project, states: states, labels: labels), page: page)
        return try JSONAnswer.response { try $0.jobs(result) }
    }

    /// `GET /v1/jobs/{id}`: the job with its events.
    @Sendable func show(_ request: Request, context: APIRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        let found = try await store.job(id, events: 1000)
        let job = try context.authorize(.readJobs, job: id, found?.job)
        // Deliveries and archives exist only for jobs with a webhook, and once an attempt ended.
        var deliveries: [JobDelivery]?
        if job.spec.notify != nil { deliveries = try await store.deliveries(jobID: id) }
        var archives: [JobLogArchive] = []
        if job.state.isTerminal || job.attempt > 1 { archives = try await store.logArchives(jobID: id) }
        return try JSONAnswer.response { try $0.job(job, events: found?.events ?? [], deliveries: deliveries, logArchives: archives.isEmpty ? nil : archives) }
    }

    /// `POST /v1/jobs/{id}/cancel`: a pending job never starts; a running one is stopped.
    @Sendable func cancel(_ request: Request, context: APIRequestContext) async throws -> Response {
        let cancelled = try await Self.cancel(try context.parameters.require("id"), context: context, store: store)
        return try JSONAnswer.response { try $0.job(cancelled) }
    }

    /// Cancels job `id` when the caller may: a pending job never starts; a running one is stopped.
    package static func cancel(_ id: String, context: APIRequestContext, store: any JobQueue) async throws -> JobRecord {
        _ = try context.authorize(.cancelJobs, job: id, try await store.job(id))
        return try await store.requestCancel(id, now: Date())
    }

    /// `POST /v1/jobs/{id}/progress`: a worker's report, recorded as an event of its job; at the
    /// pace ``ProgressPace`` allows.
    @Sendable func progress(_ request: Request, context: APIRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        let job = try context.authorize(.reportProgress, job: id, try await store.job(id))
        try dependencies.progressPace.take(job: id, now: .now)
        let report = try await RequestDocument.json(ProgressReport.self, request, limit: dependencies.bodyLimit)
        guard !report.message.isEmpty, report.message.count <= 4096 else {
            throw APIError(.unprocessableContent, code: "invalid", message: "a progress message has 1 to 4096 characters", field: "message")
        }
        if let percent = report.percent, !(0...100).contains(percent) {
            throw APIError(.unprocessableContent, code: "invalid", message: "percent is between 0 and 100, found \(percent)", field: "percent")
        }
        guard job.state.isActive else {
            throw APIError(.conflict, code: "conflict", message: "job \(id) is \(job.state); progress is taken while it runs")
        }
        let message = report.percent.map { "\(Self.format($0))%: \(report.message)" } ?? report.message
        let event = try await store.appendEvent(EventRecord(jobID: id, project: job.project, reason: "Progress", message: message, time: Date()))
        return try JSONAnswer.response(.accepted, EventView(event))
    }

    /// The most bytes of output read from the engine for one answer.
    static let logByteLimit = 4 << 20

    /// `GET /v1/jobs/{id}/logs[?tail=N][&follow=true]`: the last `tail` lines of each stream as
    /// JSON; with `full=true[&stream=stdout|stderr][&attempt=N]` one whole archived stream as
    /// plain text (``ArchivedLogs``); or followed as server-sent events (`stdout`, `stderr`, then `end` with the job)
    /// until the job ends; a reader that falls behind gets `dropped` instead.
    @Sendable func logs(_ request: Request, context: APIRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        let tail = try RequestParameters.integer(request.uri.queryParameters.get("tail"), "tail", in: 1...JobLogsView.maximumTail) ?? JobLogsView.defaultTail
        let job = try context.authorize(.readJobs, job: id, try await store.job(id))
        if request.uri.queryParameters.get("full") == "true" {
            let attempt = try RequestParameters.integer(request.uri.queryParameters.get("attempt"), "attempt", in: 1...1_000_000)
            let stream = request.uri.queryParameters.get("stream") ?? "stdout"
            return try await ArchivedLogs.response(try await store.logArchives(jobID: job.id), attempt: attempt, stream: stream, storage: dependencies.objectStorage)
        }
        guard request.uri.queryParameters.get("follow") == "true" else {
            return try JSONAnswer.response(.ok, try await currentLogs(job, tail: tail))
        }
        return try followLogs(job, tail: tail, caller: try context.caller())
    }

    /// The job's output as server-sent events (`stdout`, `stderr`, then `end` with the job) until
    /// the job ends, the last `tail` lines of each stream first; in one of `caller`'s follower
    /// slots (a `displaceable` one for the web UI, see ``FollowerSlots``).
    package func followLogs(_ job: JobRecord, tail: Int, caller: TokenRecord, displaceable: Bool = false) throws(APIError) -> Response {
        let slot = try dependencies.followers.take(caller, displaceable: displaceable)
        let body = ResponseBody { writer in
            try await ServerSentEvents.relay(into: &writer, slot: slot) { outbox in try await follow(job, tail: tail, into: outbox) }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: ServerSentEvents.headers, body: body)
    }

    /// The last `tail` lines of each stream: from the container while it exists, else from the
    /// tails kept with the job.
    package func currentLogs(_ job: JobRecord, tail: Int) async throws -> JobLogsView {
        if job.state.isActive || job.spec.ttlAfterFinished != nil,
            let logs = try? await dependencies.engine.logs(ofContainer: ObjectName.jobContainer(project: job.project, jobID: job.id), tail: tail, byteLimit: Self.logByteLimit)
        {
            return JobLogsView(stdout: String(decoding: logs.stdout, as: UTF8.self), stderr: String(decoding: logs.stderr, as: UTF8.self), source: "container")
        }
        return JobLogsView(stdout: JobLogsView.lastLines(job.stdoutTail ?? "", tail), stderr: JobLogsView.lastLines(job.stderrTail ?? "", tail), source: "stored")
    }

    private func follow(_ first: JobRecord, tail: Int, into outbox: ServerSentEvents.Outbox) async throws {
        var job = first
        var heartbeat = ServerSentEvents.Heartbeat()
        // Wait for the container: a pending or queued job has none yet.
        while job.state == .pending || job.state == .queued {
            guard ServerSentEvents.shouldContinue else { return }
            try await heartbeat.pause { try outbox.send($0) }
            guard let next = try await store.job(job.id) else { return }
            job = next
        }
        if job.state == .started,
            let frames = try? await dependencies.engine.followLogs(ofContainer: ObjectName.jobContainer(project: job.project, jobID: job.id), tail: tail)
        {
            for try await frame in frames.cancelOnGracefulShutdown() {
                try outbox.send(ServerSentEvents.event(frame.stream == .stdout ? "stdout" : "stderr", data: frame.bytes))
            }
            // The container has exited; the controller records the verdict just after.
            let giveUp = ContinuousClock.now + .seconds(30)
            while !job.state.isTerminal, ContinuousClock.now < giveUp, ServerSentEvents.shouldContinue {
                try await Task.sleep(for: .milliseconds(200))
                guard let next = try await store.job(job.id) else { return }
                job = next
            }
            // Shutting down before the job ended: the stream closes without an end, which its
            // reader takes for what it is.
            guard job.state.isTerminal || ServerSentEvents.shouldContinue else { return }
        } else {
            let logs = try await currentLogs(job, tail: tail)
            if !logs.stdout.isEmpty { try outbox.send(ServerSentEvents.event("stdout", data: logs.stdout)) }
            if !logs.stderr.isEmpty { try outbox.send(ServerSentEvents.event("stderr", data: logs.stderr)) }
        }
        try outbox.send(ServerSentEvents.event("end", data: try JSONAnswer.text(JobView(job))))
    }

    private static func format(_ percent: Double) -> String {
        percent == percent.rounded() ? String(Int(percent)) : String(format: "%.1f", percent)
    }
}
