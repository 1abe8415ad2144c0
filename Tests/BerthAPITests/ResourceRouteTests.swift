import BerthAPI
import BerthCore
import BerthStore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@Suite("Resource, control and health routes") struct ResourceRouteTests {
    @Test func applyShowUpdateAndDeleteAnAPIResource() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            let token = fixture.tokens["resources"]
            // when: created, written again unchanged, then changed
            let created = try await client.call(.put, "/v1/resources/service/alpha/web", token: token, body: APIFixture.serviceYAML("web"))
            let same = try await client.call(.put, "/v1/resources/Service/alpha/web", token: token, body: APIFixture.serviceYAML("web"))
            let changed = try await client.call(
                .put, "/v1/resources/service/alpha/web", token: token,
                body: APIFixture.serviceYAML("web", extra: "  replicas: 2\n  placement: {nodeSelector: {zone: eu}, rescheduleAfter: never}"))
            let shown = try await client.call(.get, "/v1/resources/service/alpha/web", token: fixture.tokens["read"])

            // then
            #expect(created.status == .created)
            #expect(try created.decode(ResourceView.self).generation == 1)
            #expect(same.status == .ok)
            #expect(try same.decode(ResourceView.self).generation == 1)
            #expect(try changed.decode(ResourceView.self).generation == 2)
            let view = try shown.decode(ResourceView.self)
            #expect(view.source == "api")
            guard case .service(let spec) = view.document.spec else { Issue.record("not a service: \(view.document)"); return }
            #expect(spec.replicas == 2)
            #expect(spec.placement == PlacementSpec(nodeSelector: ["zone": "eu"], rescheduleAfter: .never), "the stored document keeps placement")

            // when: deleted
            let deleted = try await client.call(.delete, "/v1/resources/service/alpha/web", token: token)
            let gone = try await client.call(.get, "/v1/resources/service/alpha/web", token: fixture.tokens["read"])
            #expect(deleted.status == .ok)
            #expect(try deleted.decode(ResourceView.self).deletedAt != nil)
            #expect(gone.status == .notFound)
            let again = try await client.call(.delete, "/v1/resources/service/alpha/web", token: token)
            #expect(again.status == .notFound)
        }
        await fixture.finish()
    }

    @Test func aResourceAManifestDeclaresIsShownButNotWritten() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            let put = try await client.call(.put, "/v1/resources/service/alpha/owned", token: fixture.tokens["admin"], body: APIFixture.serviceYAML("owned"))
            let delete = try await client.call(.delete, "/v1/resources/service/alpha/owned", token: fixture.tokens["admin"])
            let shown = try await client.call(.get, "/v1/resources/service/alpha/owned", token: fixture.tokens["admin"])
            let listed = try await client.call(.get, "/v1/resources?kind=service", token: fixture.tokens["admin"]).decode(ItemsView<ResourceView>.self)

            #expect(put.status == .conflict)
            #expect(put.errorMessage().contains(fixture.manifestFile), "\(put.text)")
            #expect(delete.status == .conflict)
            #expect(try shown.decode(ResourceView.self).file == fixture.manifestFile)
            #expect(listed.items.map(\.name) == ["owned"])
            #expect(listed.items.first?.source == "manifest")
        }
        let stored = try await fixture.store.resources(kind: nil, project: nil, includeDeleted: true)
        #expect(stored.isEmpty)
        await fixture.finish()
    }

    @Test func writesThatWouldBreakTheDesiredStateAreRefused() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            let token = fixture.tokens["admin"]
            // the path and the document disagree
            let mismatch = try await client.call(.put, "/v1/resources/service/alpha/other", token: token, body: APIFixture.serviceYAML("web"))
            #expect(mismatch.status == .unprocessableContent)
            #expect(try mismatch.error()["field"] as? String == "metadata.name")
            // a mount of a volume nobody declares, a project nobody declares
            let mount = try await client.call(.put, "/v1/resources/service/alpha/web", token: token, body: APIFixture.serviceYAML("web", extra: "  volumes: [\"nowhere:/data\"]"))
            #expect(mount.status == .unprocessableContent)
            #expect(mount.errorMessage().contains("nowhere"), "\(mount.text)")
            let project = try await client.call(.put, "/v1/resources/service/gamma/web", token: token, body: APIFixture.serviceYAML("web", project: "gamma"))
            #expect(project.status == .unprocessableContent)
            // a field of the wrong type; an unknown kind in the path
            let replicas = try await client.call(.put, "/v1/resources/service/alpha/web", token: token, body: APIFixture.serviceYAML("web", extra: "  replicas: many"))
            #expect(replicas.status == .unprocessableContent)
            #expect(try replicas.error()["field"] as? String == "spec.replicas")
            let kind = try await client.call(.put, "/v1/resources/gizmo/alpha/web", token: token, body: APIFixture.serviceYAML("web"))
            #expect(kind.status == .badRequest)
            #expect(try kind.error()["field"] as? String == "kind")

            // given a project of the API with a service in it, deleting the project is refused
            _ = try await client.call(.put, "/v1/resources/project/default/gamma", token: token, body: "apiVersion: berth/v1\nkind: Project\nmetadata: {name: gamma}\n")
            let service = try await client.call(.put, "/v1/resources/service/gamma/web", token: token, body: APIFixture.serviceYAML("web", project: "gamma"))
            #expect(service.status == .created)
            let deleteProject = try await client.call(.delete, "/v1/resources/project/default/gamma", token: token)
            #expect(deleteProject.status == .conflict)
        }
        let stored = try await fixture.store.resources(kind: .service, project: nil, includeDeleted: true)
        #expect(stored.map(\.id.name) == ["web"], "only the valid write was stored")
        await fixture.finish()
    }

    @Test func planStatusHealthReadinessAndMetrics() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            let plan = try await client.call(.get, "/v1/plan", token: fixture.tokens["read"])
            #expect(plan.status == .ok)
            let body = try plan.json()
            #expect((body["changes"] as? Int ?? 0) >= 2, "the manifest's volume and service are to be created: \(body)")
            #expect((body["text"] as? String)?.contains("berth-alpha-owned-0") == true)

            try await fixture.store.putStatus(ResourceStatus(id: ResourceID(kind: .service, project: "alpha", name: "owned"), phase: .ready, updatedAt: Date()))
            let status = try await client.call(.get, "/v1/status?project=alpha", token: fixture.tokens["read-alpha"]).decode(ItemsView<ResourceStatus>.self)
            #expect(status.items.map(\.phase) == [.ready])

            #expect(try await client.call(.get, "/healthz", token: nil).status == .ok)
            #expect(try await client.call(.get, "/readyz", token: nil).status == .ok)
            // What was checked is told only to a token that may read state.
            let ready = try await client.call(.get, "/readyz", token: fixture.tokens["read"])
            #expect(ready.status == .ok)
            #expect(try ready.json()["docker"] as? String == "ok")

            _ = try await client.call(.post, "/v1/jobs", token: fixture.tokens["admin"], body: APIFixture.jobYAML("queued"))
            #expect(try await client.call(.get, "/metrics", token: nil).status == .unauthorized)
            let metrics = try await client.call(.get, "/metrics", token: fixture.tokens["read"])
            #expect(metrics.status == .ok)
            let text = metrics.text
            #expect(text.contains("berth_job_queue_depth 1"), "\(text.prefix(2000))")
            // request counts and durations by route, method and status (RequestMetricsMiddleware)
            let statusRoute = #"{http_route="/v1/status",http_request_method="GET",http_response_status_code="200"}"#
            #expect(text.contains("hb_requests\(statusRoute) "), "\(text.prefix(4000))")
            #expect(text.contains("http_server_request_duration_count\(statusRoute) "))

            let unknown = try await client.call(.get, "/v1/nothing-here", token: fixture.tokens["admin"])
            #expect(unknown.status == .notFound)
            #expect(try unknown.error()["code"] as? String == "not_found")
            let after = try await client.call(.get, "/metrics", token: fixture.tokens["read"]).text
            #expect(after.contains(#"hb_request_errors{http_route="NotFound",http_request_method="GET",error_type="404"} "#), "\(after.prefix(4000))")
        }
        await fixture.finish()
    }
}
