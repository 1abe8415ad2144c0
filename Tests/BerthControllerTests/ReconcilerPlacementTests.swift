import BerthCore
import BerthDocker
import BerthStore
import Foundation
import Testing
@testable import BerthController

@Suite("Reconciler on nodes: each engine converges the replicas assigned to it")
struct ReconcilerPlacementTests {
    static func assign(_ service: String, _ replica: Int, to node: String, generation: Int64 = 1) -> ReplicaAssignment {
        ReplicaAssignment(service: Fixture.serviceID(service), replica: replica, node: node, generation: generation, assignedAt: Fixture.now)
    }

    static func replicas(_ node: String, _ assignments: [ReplicaAssignment], waiting: [ResourceID: String] = [:]) -> NodeReplicas {
        NodeReplicas(placement: .node(node, assignments: assignments), waiting: waiting)
    }

    @Test func eachNodeRunsItsReplicasAndWritesItsOwnStatus() async throws {
        // given: replica 0 on a, replicas 1 and 2 on b
        let desired = try Fixture.desired(try Fixture.service("web", replicas: 3))
        let assignments = [Self.assign("web", 0, to: "a"), Self.assign("web", 1, to: "b"), Self.assign("web", 2, to: "b")]
        let (engineA, engineB) = (InMemoryRuntime(), InMemoryRuntime())
        let (nodeA, nodeB) = (Reconciler(runtime: engineA, store: nil), Reconciler(runtime: engineB, store: nil))

        // when
        let a = try await nodeA.reconcile(ReconcilerTests.snapshot(desired), at: Fixture.time, replicas: Self.replicas("a", assignments))
        let b = try await nodeB.reconcile(ReconcilerTests.snapshot(desired), at: Fixture.time, replicas: Self.replicas("b", assignments))

        // then
        #expect(await engineA.containerNames == [Fixture.containerName("web", replica: 0)])
        #expect(await engineB.containerNames == [Fixture.containerName("web", replica: 1), Fixture.containerName("web", replica: 2)])
        let statusA = try ReconcilerTests.status(a, "web")
        let statusB = try ReconcilerTests.status(b, "web")
        #expect(statusA.node == "a" && statusB.node == "b")
        #expect(statusA.phase == .ready && statusA.readyReplicas == 1 && statusA.desiredReplicas == 3)
        #expect(statusB.phase == .ready && statusB.readyReplicas == 2 && statusB.desiredReplicas == 3)
        #expect(statusB.replicas?.map(\.replica) == [1, 2])
        #expect(statusB.replicas?.allSatisfy { $0.node == "b" } == true)
        #expect(statusB.condition(.ready)?.message == "2/2 replicas ready on node b")
        #expect(a.converged && b.converged)
    }

    @Test func aMovedReplicaLeavesItsOldNodeAndItsStatusRow() async throws {
        // given: web's one replica runs on a
        let desired = try Fixture.desired(try Fixture.service("web"))
        let engine = InMemoryRuntime()
        let node = Reconciler(runtime: engine, store: nil)
        _ = try await node.reconcile(ReconcilerTests.snapshot(desired), at: Fixture.time, replicas: Self.replicas("a", [Self.assign("web", 0, to: "a")]))

        // when: the leader moved it to b
        let moved = try await node.reconcile(
            ReconcilerTests.snapshot(desired), at: Fixture.time, replicas: Self.replicas("a", [Self.assign("web", 0, to: "b", generation: 2)]))

        // then: removed from a, whose pass writes no status of web any more
        #expect(await engine.containerNames.isEmpty)
        #expect(moved.plan.actions.map(\.cause) == ["replica 0 is assigned to node b (generation 2)"])
        #expect(!moved.statuses.contains { $0.id == Fixture.serviceID("web") })
        #expect(moved.judgedElsewhere == [Fixture.serviceID("web")])
    }

    @Test func aNodesRevisionHealthLeavesWhatRunsElsewhereToItsNode() throws {
        let desired = try Fixture.desired(try Fixture.service("web"), try Fixture.service("db"))
        let health = RevisionHealth(from: nil, to: desired)
        let db = ResourceStatus(id: Fixture.serviceID("db"), phase: .ready, updatedAt: Fixture.now)

        #expect(health.waiting([db.id: db]) == ["Service shop/web: no status yet"])
        #expect(health.waiting([db.id: db], judgedElsewhere: [Fixture.serviceID("web")]).isEmpty)
    }

    @Test func aReplicaNoNodeTakesShowsWhyOnTheLeadersStatus() async throws {
        // given: replica 1 could not be placed; the leader (a) knows why, and runs replica 0
        let desired = try Fixture.desired(try Fixture.service("web", replicas: 2))
        let why = "no node to place it on: declare placement or run a node named default"
        let node = Reconciler(runtime: InMemoryRuntime(), store: nil)

        // when
        let result = try await node.reconcile(
            ReconcilerTests.snapshot(desired), at: Fixture.time, replicas: Self.replicas("a", [Self.assign("web", 0, to: "a")], waiting: [Fixture.serviceID("web"): why]))

        // then
        let status = try ReconcilerTests.status(result, "web")
        #expect(status.phase == .progressing)
        #expect(status.readyReplicas == 1)
        #expect(status.condition(.ready)?.message == "replica 1 waiting for a node: \(why)")
    }

    @Test func eventsNameTheNode() async throws {
        let desired = try Fixture.desired(try Fixture.service("web"))
        let node = Reconciler(runtime: InMemoryRuntime(), store: nil)

        let result = try await node.reconcile(ReconcilerTests.snapshot(desired), at: Fixture.time, replicas: Self.replicas("a", [Self.assign("web", 0, to: "a")]))

        let messages = result.report.results.compactMap { Reconciler.event(for: $0, node: "a")?.message }
        #expect(messages.contains("start container \(Fixture.containerName("web")) on node a (missing)"), "\(messages)")
    }
}
