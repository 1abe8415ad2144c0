import BerthController
import BerthCore
import BerthStore
import Foundation
import Hummingbird

/// `/v1/resources`: desired resources written through the API, beside those of the manifests.
package struct ResourceRoutes {
    let dependencies: APIDependencies
    private var store: any Store { dependencies.store }

    func register(on group: RouterGroup<APIRequestContext>) {
        group.get("resources", use: list)
        group.put("resources/{kind}/{project}/{name}", use: apply)
        group.get("resources/{kind}/{project}/{name}", use: show)
        group.delete("resources/{kind}/{project}/{name}", use: delete)
    }

    /// `PUT`: creates (201) or updates (200, generation bumped when the document changed).
    @Sendable func apply(_ request: Request, context: APIRequestContext) async throws -> Response {
        let id = try Self.id(context)
        try authorizeWrite(id, context)
        let resource = try await RequestDocument.resource(request, limit: dependencies.bodyLimit)
        for (field, path, document) in [
            ("kind", id.kind.rawValue, resource.kind.rawValue), ("metadata.project", id.project, resource.metadata.project), ("metadata.name", id.name, resource.metadata.name),
        ]
        where path != document {
            throw APIError(.unprocessableContent, code: "invalid", message: "the document says \(document) where the path says \(path)", field: field)
        }
        let writer = try context.policyWriter()
        try dependencies.admission.admit(resource, by: writer, in: try await check(id, resource))
        let before = try await store.resource(id)
        let stored = try await store.putResource(resource, source: writer == .admin ? .admin : .api, now: Date())
        let created = before == nil || before?.isDeleted == true
        return try JSONAnswer.response(created ? .created : .ok, ResourceView(stored))
    }

    /// `GET`: an API resource, or one a manifest declares (`source: manifest`, with its file).
    @Sendable func show(_ request: Request, context: APIRequestContext) async throws -> Response {
        let id = try Self.id(context)
        try context.authorize(.readResources, project: id.owningProject)
        if let stored = try await store.resource(id), !stored.isDeleted {
            return try JSONAnswer.response(.ok, ResourceView(stored))
        }
        if let declared = try manifestResources().first(where: { $0.id == id }) {
            return try JSONAnswer.response(.ok, ResourceView(manifest: declared))
        }
        throw APIError.notFound("no \(id)")
    }

    /// `GET /v1/resources?kind=&project=`: API and manifest resources, sorted by kind, project, name.
    @Sendable func list(_ request: Request, context: APIRequestContext) async throws -> Response {
        let query = request.uri.queryParameters
        let kind = try query.get("kind").map { text throws(APIError) in
            guard let kind = Self.kind(text) else { throw APIError.badParameter("kind", Self.unknownKind(text)) }
            return kind
        }
        let project = try RequestParameters.project(request, context)
        try context.authorize(.readResources, project: project)
        var rows = try await store.resources(kind: kind, project: project, includeDeleted: false)
        if let project {
            // Project documents all sit in project default; each belongs to the project it declares.
            rows.removeAll { $0.id.owningProject != project }
            let own = ResourceID(kind: .project, project: ResourceID.defaultProject, name: project)
            if project != ResourceID.defaultProject, kind == nil || kind == .project, let row = try await store.resource(own), !row.isDeleted {
                rows.append(row)
            }
        }
        var views = rows.map(ResourceView.init)
        let stored = Set(rows.map(\.id))
        for resource in try manifestResources()
        where !stored.contains(resource.id) && (kind == nil || resource.kind == kind) && (project == nil || resource.id.owningProject == project) {
            views.append(ResourceView(manifest: resource))
        }
        views.sort { ($0.kind, $0.project, $0.name) < ($1.kind, $1.project, $1.name) }
        return try JSONAnswer.response(.ok, ItemsView(items: views))
    }

    /// `DELETE`: a soft delete the controller converges (its objects go, then the row).
    @Sendable func delete(_ request: Request, context: APIRequestContext) async throws -> Response {
        let id = try Self.id(context)
        try authorizeWrite(id, context)
        guard let stored = try await store.resource(id), !stored.isDeleted else {
            if let declared = try manifestResources().first(where: { $0.id == id }) {
                throw Self.owned(id, file: declared.location?.file ?? "a manifest")
            }
            throw APIError.notFound("no \(id)")
        }
        try await check(id, nil)
        guard let deleted = try await store.deleteResource(id, now: Date()) else { throw APIError.notFound("no \(id)") }
        return try JSONAnswer.response(.ok, ResourceView(deleted))
    }

    /// A write needs `resources:write` on the resource's project; a Project document (its limits
    /// and its policy) is the operator's, so writing one needs `admin`.
    private func authorizeWrite(_ id: ResourceID, _ context: APIRequestContext) throws(APIError) {
        try context.authorize(.writeResources, project: id.owningProject)
        if id.kind == .project { try context.requireAdmin("writing a Project (its limits and policy)") }
        // A template's jobs are trusted as its author's (API writers fill in its parameters only).
        if id.kind == .jobTemplate { try context.requireAdmin("writing a JobTemplate (jobs rendered from it are trusted as the admin's)") }
    }

    /// The write against the manifests and the other API resources: 409 when a manifest owns the
    /// resource (or a deletion would break what others need), 422 when the result would not
    /// validate; else the desired state once the write is done.
    @discardableResult
    private func check(_ id: ResourceID, _ resource: Resource?) async throws -> DesiredState {
        do {
            return try await dependencies.source.checkWrite(id, resource)
        } catch let refusal as DesiredStateSource.WriteRefusal {
            switch refusal {
            case .ownedByManifest(let file):
                throw Self.owned(id, file: file)
            case .invalid(let error):
                guard resource != nil else {
                    throw APIError(.conflict, code: "conflict", message: "deleting \(id) would break: " + error.issues.map(\.description).joined(separator: "; "))
                }
                throw APIError.invalid(error, syntax: false)
            case .manifestsInvalid(let error):
                throw APIError(.serviceUnavailable, code: "unavailable", message: "the manifests do not validate, so no write can be checked: \(error)")
            }
        }
    }

    private func manifestResources() throws(APIError) -> [Resource] {
        do {
            return try dependencies.source.manifestResources()
        } catch {
            throw APIError(.serviceUnavailable, code: "unavailable", message: "the manifests do not validate: \(error)")
        }
    }

    private static func owned(_ id: ResourceID, file: String) -> APIError {
        APIError(.conflict, code: "conflict", message: "\(id) is declared in the manifest \(file); change it there")
    }

    private static func id(_ context: APIRequestContext) throws(APIError) -> ResourceID {
        let text = (try? context.parameters.require("kind")) ?? ""
        guard let kind = kind(text) else { throw APIError.badParameter("kind", unknownKind(text)) }
        let project = try RequestParameters.name((try? context.parameters.require("project")) ?? "", "project")
        let name = try RequestParameters.name((try? context.parameters.require("name")) ?? "", "name")
        return ResourceID(kind: kind, project: project, name: name)
    }

    /// A kind in a path or query, in any case: `service`, `Service`, `cronjob`.
    package static func kind(_ text: String) -> ResourceKind? {
        ResourceKind.allCases.first { $0.rawValue.lowercased() == text.lowercased() }
    }

    private static func unknownKind(_ text: String) -> String {
        "unknown kind \"\(text)\"; use one of \(ResourceKind.allCases.map { $0.rawValue.lowercased() }.joined(separator: ", "))"
    }
}
