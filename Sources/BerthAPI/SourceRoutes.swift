import BerthStore
import Foundation
import Hummingbird

/// `/v1/source`: the git source, the history of its revisions, and the pin of `berth rollback`.
struct SourceRoutes {
    let dependencies: APIDependencies
    private var store: any Store { dependencies.store }

    func register(on group: RouterGroup<APIRequestContext>) {
        group.get("source", use: show)
        group.get("source/history", use: history)
        group.post("source/rollback", use: rollback)
    }

    /// `GET /v1/source`: 404 when no git source was ever recorded. The source serves every
    /// project, so it needs a token without a project limit.
    @Sendable func show(_ request: Request, context: APIRequestContext) async throws -> Response {
        try context.authorize(.readState, project: nil)
        return try JSONAnswer.response(.ok, try await source())
    }

    /// `GET /v1/source/history?limit=`: revisions, the last attempted first.
    @Sendable func history(_ request: Request, context: APIRequestContext) async throws -> Response {
        try context.authorize(.readState, project: nil)
        let limit = try RequestParameters.integer(request.uri.queryParameters.get("limit"), "limit", in: 1...1000) ?? 100
        return try JSONAnswer.response(.ok, ItemsView(items: try await store.sourceRevisions(limit: limit)))
    }

    /// `POST /v1/source/rollback`: pins a revision that was healthy (the controller goes back to
    /// it and stays there), or clears the pin (`{"revision": null}`); answers the source after.
    @Sendable func rollback(_ request: Request, context: APIRequestContext) async throws -> Response {
        try context.requireAdmin("pinning a revision of the git source")
        let asked = try await RequestDocument.json(RollbackRequest.self, request, limit: dependencies.bodyLimit)
        _ = try await source()
        var sha: String?
        if let name = asked.revision { sha = try await store.revisionToPin(name).sha }
        try await store.pinSourceRevision(sha)
        return try JSONAnswer.response(.ok, try await source())
    }

    private func source() async throws -> SourceView {
        guard let view = try await SourceView.read(from: store) else {
            throw APIError.notFound("no git source has been recorded: the server follows none (berth serve --git-url), or has not fetched it yet")
        }
        return view
    }
}
