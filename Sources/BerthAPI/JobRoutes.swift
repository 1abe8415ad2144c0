import BerthCore
import BerthDocker
import BerthStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ServiceLifecycle

/// `/v1/jobs`: submit, list, show, logs (optionally followed), cancel, and a worker's progress.
struct JobRoutes {
    let dependencies: APIDependencies
    private var store: any Store { dependencies.store }

    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!

    func register(on group: RouterGroup<APIRequestContext>) {
        group.post("jobs", use: submit)
        group.get("jobs", use: list)
        group.get("jobs/{id}", use: show)
        group.get("jobs/{id}/logs", use: logs)
        group.post("jobs/{id}/cancel", use: cancel)
        group.post("jobs/{id}/progress", use: progress)
    }

    /// `POST /v1/jobs`: 201 with the new job, or 200 with the job first submitted under the same
    /// `Idempotency-Key` in that project.
    @Sendable func submit(_ request: Request, context: APIRequestContext) async throws -> Response {
        let resource = try await RequestDocument.resource(request, limit: dependencies.bodyLimit)
        guard case .job(let spec) = resource.spec else {
            throw APIError(.unprocessableContent, code: "invalid", message: "expected a document of kind Job, found \(resource.kind)", field: "kind")
        }
        try context.authorize(.writeJobs, project: resource.metadata.project)
        let key = request.headers[Self.idempotencyKey]
        if let key, key.isEmpty || key.count > 200 {
            throw APIError.badParameter("Idempotency-Key", "an idempotency key has 1 to 200 characters")
        }
        let submission = JobSubmission(project: resource.metadata.project, name: resource.metadata.name, spec: spec, idempotencyKey: key)
        let (job, created) = try await store.submitJob(submission, now: Date())
        return try JSONAnswer.response(created ? .created : .ok, headers: [.location: "/v1/jobs/\(job.id)"]) { try $0.job(job) }
    }

    /// `GET /v1/jobs?project=&state=&limit=&cursor=&order=`: keyset pages, newest first by default.
    @Sendable func list(_ request: Request, context: APIRequestContext) async throws -> Response {
        let query = request.uri.queryParameters
        let project = try RequestParameters.project(request, context)
        try context.authorize(.readJobs, project: project)
        var states: Set<JobState> = []
        for text in query.getAll("state").flatMap({ $0.split(separator: ",") }) {
            guard let state = JobState(rawValue: String(text)) else {
                throw APIError.badParameter("state", "unknown state \"\(text)\"; use pending, queued, started, finished, failed or cancelled")
            }
            states.insert(state)
        }
        let limit = try RequestParameters.integer(query.get("limit"), "limit", in: 1...1000) ?? 50
        var page = PageRequest(limit: limit, cursor: query.get("cursor"))
        if let order = query.get("order") {
            guard let value = PageRequest.Order(rawValue: order) else {
                throw APIError.badParameter("order", "order is newestFirst or oldestFirst, not \"\(order)\"")
            }
            page.order = value
        }
        let result = try await store.jobs(filter: JobFilter(project: project, states: states), page: page)
        return try JSONAnswer.response { try $0.jobs(result) }
    }

    /// `GET /v1/jobs/{id}`: the job with its events.
    @Sendable func show(_ request: Request, context: APIRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        let found = try await store.job(id, events: 1000)
        let job = try context.authorize(.readJobs, job: id, found?.job)
        return try JSONAnswer.response { try $0.job(job, events: found?.events ?? []) }
    }

    /// `POST /v1/jobs/{id}/cancel`: a pending job never starts; a running one is stopped.
    @Sendable func cancel(_ request: Request, context: APIRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        _ = try context.authorize(.writeJobs, job: id, try await store.job(id))
        let cancelled = try await store.requestCancel(id, now: Date())
        return try JSONAnswer.response { try $0.job(cancelled) }
    }

    /// `POST /v1/jobs/{id}/progress`: a worker's report, recorded as an event of its job.
    @Sendable func progress(_ request: Request, context: APIRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        let job = try context.authorize(.reportProgress, job: id, try await store.job(id))
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

    /// `GET /v1/jobs/{id}/logs[?follow=true]`: the output as JSON, or followed as server-sent
    /// events (`stdout`, `stderr`, then `end` with the job) until the job ends.
    @Sendable func logs(_ request: Request, context: APIRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        let job = try context.authorize(.readJobs, job: id, try await store.job(id))
        guard request.uri.queryParameters.get("follow") == "true" else {
            return try JSONAnswer.response(.ok, try await currentLogs(job))
        }
        let body = ResponseBody { writer in
            try await follow(job, into: &writer)
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: ServerSentEvents.headers, body: body)
    }

    /// The container's log while it exists, else the tails kept with the job.
    private func currentLogs(_ job: JobRecord) async throws -> JobLogsView {
        if job.state.isActive || job.spec.ttlAfterFinished != nil,
           let logs = try? await dependencies.engine.client.logs(ObjectName.jobContainer(project: job.project, jobID: job.id)) {
            return JobLogsView(stdout: String(decoding: logs.stdout, as: UTF8.self), stderr: String(decoding: logs.stderr, as: UTF8.self), source: "container")
        }
        return JobLogsView(stdout: job.stdoutTail ?? "", stderr: job.stderrTail ?? "", source: "stored")
    }

    private func follow(_ first: JobRecord, into writer: inout any ResponseBodyWriter) async throws {
        var job = first
        var heartbeat = ServerSentEvents.Heartbeat()
        // Wait for the container: a pending or queued job has none yet.
        while job.state == .pending || job.state == .queued {
            guard ServerSentEvents.shouldContinue else { return }
            try await heartbeat.pause(&writer)
            guard let next = try await store.job(job.id) else { return }
            job = next
        }
        if job.state == .started,
           let frames = try? await dependencies.engine.client.followLogs(ObjectName.jobContainer(project: job.project, jobID: job.id)) {
            for try await frame in frames.cancelOnGracefulShutdown() {
                try await writer.write(ServerSentEvents.event(frame.stream == .stdout ? "stdout" : "stderr", data: frame.bytes))
            }
            // The container has exited; the controller records the verdict just after.
            let giveUp = ContinuousClock.now + .seconds(30)
            while !job.state.isTerminal, ContinuousClock.now < giveUp, ServerSentEvents.shouldContinue {
                try await Task.sleep(for: .milliseconds(200))
                guard let next = try await store.job(job.id) else { return }
                job = next
            }
        } else {
            let logs = try await currentLogs(job)
            if !logs.stdout.isEmpty { try await writer.write(ServerSentEvents.event("stdout", data: logs.stdout)) }
            if !logs.stderr.isEmpty { try await writer.write(ServerSentEvents.event("stderr", data: logs.stderr)) }
        }
        try await writer.write(ServerSentEvents.event("end", data: try JSONAnswer.text(JobView(job))))
    }

    private static func format(_ percent: Double) -> String {
        percent == percent.rounded() ? String(Int(percent)) : String(format: "%.1f", percent)
    }
}
