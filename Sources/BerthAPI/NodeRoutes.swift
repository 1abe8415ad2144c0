import BerthStore
import Foundation
import Hummingbird

/// `/v1/nodes`: the controllers of the store and their heartbeats; cordon, uncordon, drain and
/// remove. Reading needs `read` without a project limit (nodes serve every project); changing a
/// node is the operator's (`admin`).
struct NodeRoutes {
    let dependencies: APIDependencies
    private var store: any Store { dependencies.store }

    func register(on group: RouterGroup<APIRequestContext>) {
        group.get("nodes", use: list)
        group.get("nodes/{name}", use: show)
        for action in NodeScheduling.allCases {
            group.post("nodes/{name}/\(action.rawValue)", use: { try await schedule($0, $1, action) })
        }
        group.delete("nodes/{name}", use: remove)
    }

    /// `GET /v1/nodes`: every node, by name.
    @Sendable func list(_ request: Request, context: APIRequestContext) async throws -> Response {
        try context.authorize(.readState, project: nil)
        return try JSONAnswer.response(.ok, ItemsView(items: try await store.nodes().map(NodeView.init)))
    }

    /// `GET /v1/nodes/{name}`: 404 for a node that never registered.
    @Sendable func show(_ request: Request, context: APIRequestContext) async throws -> Response {
        try context.authorize(.readState, project: nil)
        let name = try RequestParameters.name(try context.parameters.require("name"), "name")
        guard let node = try await store.node(named: name) else { throw APIError.notFound("no node \(name)") }
        return try JSONAnswer.response(.ok, NodeView(node))
    }

    /// `POST /v1/nodes/{name}/cordon|uncordon|drain` (``NodeScheduling``): answers the node after.
    @Sendable func schedule(_ request: Request, _ context: APIRequestContext, _ action: NodeScheduling) async throws -> Response {
        try context.authorize(.manageNodes, project: nil)
        let name = try RequestParameters.name(try context.parameters.require("name"), "name")
        let flags = action.flags
        return try JSONAnswer.response(.ok, NodeView(try await store.setNodeScheduling(name: name, cordoned: flags.cordoned, draining: flags.draining)))
    }

    /// `DELETE /v1/nodes/{name}?force=true`: forgets a node that is gone; 409 while its heartbeat
    /// is recent unless `force`.
    @Sendable func remove(_ request: Request, context: APIRequestContext) async throws -> Response {
        try context.authorize(.manageNodes, project: nil)
        let name = try RequestParameters.name(try context.parameters.require("name"), "name")
        let force = try RequestParameters.boolean(request.uri.queryParameters.get("force"), "force") ?? false
        try await store.removeNode(name: name, force: force)
        return Response(status: .noContent)
    }
}
