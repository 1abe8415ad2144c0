@testable import BerthAPI
import BerthCore
import BerthStore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// `/v1/nodes` over a real SQLite store: listing, cordon, uncordon, drain, removal and who may.
@Suite("Node routes") struct NodeRouteTests {
    static func heartbeat(_ name: String, labels: [String: String] = [:]) -> NodeHeartbeat {
        NodeHeartbeat(
            node: NodeIdentity(name: name, labels: labels), engineVersion: "27.5.1", cpus: 4, memoryBytes: 16 << 30, runningJobs: 1, runningReplicas: 2,
            maxConcurrentJobs: 4, notReadyAfter: 30)
    }

    @Test func aPlanWithSeveralNodesIsOneNodesAndSaysWhichNodesThereAre() async throws {
        let fixture = try await APIFixture(engine: InMemoryEngine())
        try await fixture.store.heartbeat(Self.heartbeat("web-1"))
        try await fixture.test { client in
            // given: one node: every replica is planned
            let single = try await client.call(.get, "/v1/plan", token: fixture.tokens["admin"])
            #expect(single.status == .ok, "\(single.text)")
            #expect(try single.decode(PlanView.Summary.self).text.contains("create container berth-alpha-owned-"), "\(single.text)")
            // when: a second node
            try await fixture.store.heartbeat(Self.heartbeat("db-1"))
            let unnamed = try await client.call(.get, "/v1/plan", token: fixture.tokens["admin"])
            let unknown = try await client.call(.get, "/v1/plan?node=ghost", token: fixture.tokens["admin"])
            let named = try await client.call(.get, "/v1/plan?node=web-1", token: fixture.tokens["admin"])
            // then: the node must be named; one with nothing placed on it creates no container
            #expect(unnamed.status == .badRequest)
            #expect(unnamed.errorMessage().contains("2 nodes (db-1, web-1)") && unnamed.text.contains("\"field\":\"node\""), "\(unnamed.text)")
            #expect(unknown.status == .badRequest && unknown.errorMessage().contains("no node ghost"), "\(unknown.text)")
            #expect(named.status == .ok, "\(named.text)")
            #expect(!(try named.decode(PlanView.Summary.self).text.contains("create container")), "\(named.text)")
        }
        await fixture.finish()
    }

    @Test func nodesAreListedAndShownWithTheirStateAndHeartbeat() async throws {
        let fixture = try await APIFixture(engine: InMemoryEngine())
        try await fixture.store.heartbeat(Self.heartbeat("web-1", labels: ["zone": "a"]))
        try await fixture.store.heartbeat(Self.heartbeat("db-1"))
        try await fixture.test { client in
            // when
            let list = try await client.call(.get, "/v1/nodes", token: fixture.tokens["read"])
            let one = try await client.call(.get, "/v1/nodes/web-1", token: fixture.tokens["read"])
            let missing = try await client.call(.get, "/v1/nodes/ghost", token: fixture.tokens["read"])
            let badName = try await client.call(.get, "/v1/nodes/Not_A_Name", token: fixture.tokens["read"])
            let limited = try await client.call(.get, "/v1/nodes", token: fixture.tokens["read-alpha"])
            // then
            #expect(list.status == .ok, "\(list.text)")
            let nodes = try list.decode(ItemsView<NodeView>.self).items
            #expect(nodes.map(\.name) == ["db-1", "web-1"])
            let web = try one.decode(NodeView.self)
            #expect(web.state == "Ready" && web.ready && web.schedulable && web.labels == ["zone": "a"] && web.engineVersion == "27.5.1")
            #expect(web.cpus == 4 && web.memoryBytes == 16 << 30 && web.runningJobs == 1 && web.runningReplicas == 2 && web.notReadyAfterSeconds == 30)
            #expect(web.heartbeatAgeSeconds >= 0 && web.heartbeatAgeSeconds < 30)
            #expect(missing.status == .notFound && missing.errorMessage().contains("no node ghost"), "\(missing.text)")
            #expect(badName.status == .badRequest)
            #expect(limited.status == .forbidden, "nodes serve every project")
        }
        await fixture.finish()
    }

    @Test func anAdminCordonsDrainsAndUncordonsANodeAndAReaderCannot() async throws {
        let fixture = try await APIFixture(engine: InMemoryEngine())
        try await fixture.store.heartbeat(Self.heartbeat("worker-1"))
        try await fixture.test { client in
            // when: a reader and a job writer try
            let byReader = try await client.call(.post, "/v1/nodes/worker-1/cordon", token: fixture.tokens["read"])
            let byJobs = try await client.call(.post, "/v1/nodes/worker-1/drain", token: fixture.tokens["jobs"])
            // then
            #expect(byReader.status == .forbidden && byJobs.status == .forbidden)
            #expect(try await fixture.store.node(named: "worker-1")?.cordoned == false)
            // when: the admin
            let cordoned = try await client.call(.post, "/v1/nodes/worker-1/cordon", token: fixture.tokens["admin"]).decode(NodeView.self)
            let drained = try await client.call(.post, "/v1/nodes/worker-1/drain", token: fixture.tokens["admin"]).decode(NodeView.self)
            let stored = try #require(try await fixture.store.node(named: "worker-1"))
            let uncordoned = try await client.call(.post, "/v1/nodes/worker-1/uncordon", token: fixture.tokens["admin"]).decode(NodeView.self)
            let unknown = try await client.call(.post, "/v1/nodes/ghost/drain", token: fixture.tokens["admin"])
            // then
            #expect(cordoned.state == "Cordoned" && cordoned.cordoned && !cordoned.draining && !cordoned.schedulable && cordoned.ready)
            #expect(drained.state == "Draining" && drained.cordoned && drained.draining)
            #expect(stored.cordoned && stored.draining)
            #expect(uncordoned.state == "Ready" && uncordoned.schedulable)
            #expect(unknown.status == .notFound && unknown.errorMessage().contains("node ghost"), "\(unknown.text)")
        }
        await fixture.finish()
    }

    @Test func aNodeWithARecentHeartbeatIsRemovedOnlyWithForce() async throws {
        let fixture = try await APIFixture(engine: InMemoryEngine())
        try await fixture.store.heartbeat(Self.heartbeat("worker-1"))
        try await fixture.test { client in
            let byReader = try await client.call(.delete, "/v1/nodes/worker-1?force=true", token: fixture.tokens["read"])
            let refused = try await client.call(.delete, "/v1/nodes/worker-1", token: fixture.tokens["admin"])
            let badForce = try await client.call(.delete, "/v1/nodes/worker-1?force=yes", token: fixture.tokens["admin"])
            #expect(byReader.status == .forbidden)
            #expect(refused.status == .conflict && refused.errorMessage().contains("--force"), "\(refused.text)")
            #expect(badForce.status == .badRequest)
            let forced = try await client.call(.delete, "/v1/nodes/worker-1?force=true", token: fixture.tokens["admin"])
            let again = try await client.call(.delete, "/v1/nodes/worker-1?force=true", token: fixture.tokens["admin"])
            #expect(forced.status == .noContent)
            #expect(again.status == .notFound)
            #expect(try await fixture.store.nodes().isEmpty)
        }
        await fixture.finish()
    }
}
