import BerthController
import BerthCore
import BerthStore
import Foundation
import Hummingbird

/// `/v1/cronjobs`: start a CronJob's run now.
struct CronRoutes {
    let dependencies: APIDependencies
    private var store: any Store { dependencies.store }

    func register(on group: RouterGroup<APIRequestContext>) {
        group.post("cronjobs/{project}/{name}/run", use: run)
    }

    /// `POST /v1/cronjobs/{project}/{name}/run`: 201 with the job started (200 with the one a
    /// concurrent request started), or 409 when the concurrency policy (Forbid) refuses while a
    /// run is active. A job writer of the project may ask.
    @Sendable func run(_ request: Request, context: APIRequestContext) async throws -> Response {
        let project = try RequestParameters.name(try context.parameters.require("project"), "project")
        let name = try RequestParameters.name(try context.parameters.require("name"), "name")
        try context.authorize(.writeJobs, project: project)
        let id = ResourceID(kind: .cronJob, project: project, name: name)
        let declared: Resource?
        do {
            declared = try await dependencies.source.cronJob(id)
        } catch let error as ValidationError {
            throw APIError(.serviceUnavailable, code: "unavailable", message: "the manifests do not validate: \(error)")
        }
        guard let declared, case .cronJob(let spec) = declared.spec else { throw APIError.notFound("no cron job \(name) in project \(project)") }
        switch try await CronRun.start(id, spec, labels: declared.metadata.labels, store: store, now: Date()) {
        case .refused(let message):
            throw APIError(.conflict, code: "conflict", message: message)
        case .started(let job, let created, _):
            return try JSONAnswer.response(created ? .created : .ok, headers: [.location: "/v1/jobs/\(job.id)"]) { try $0.job(job) }
        }
    }
}
