import BerthCore
import BerthStore
import Foundation
import Testing

private let web = ResourceID(kind: .service, project: "shop", name: "web")
private let now = Date(timeIntervalSince1970: 1_800_000_000)

private func replica(_ index: Int?, on node: String?, state: String = "running") -> ReplicaStatus {
    ReplicaStatus(container: "berth-shop-web-\(index ?? 9)", state: state, networks: [], ports: [], replica: index, node: node)
}

private func row(
    _ node: String?, _ phase: ResourcePhase, ready: Int, desired: Int = 3, replicas: [ReplicaStatus], generation: Int64? = 4, restarts: Int = 0,
    updated: Double = 0, action: String? = nil
) -> ResourceStatus {
    ResourceStatus(
        id: web, phase: phase, conditions: [Condition(type: .ready, status: phase == .ready ? .true : .false, reason: phase.rawValue, message: node ?? "", lastTransition: now)],
        observedGeneration: generation, restartCount: restarts, readyReplicas: ready, desiredReplicas: desired, replicas: replicas,
        lastAction: action, updatedAt: now.addingTimeInterval(updated), node: node)
}

private func on(_ replica: Int, _ node: String) -> ReplicaAssignment {
    ReplicaAssignment(service: web, replica: replica, node: node, generation: 1, assignedAt: now)
}

private func node(_ name: String, ready: Bool = true) -> NodeRecord {
    NodeRecord(
        name: name, labels: [:], engineVersion: "27.5.1", cpus: 2, memoryBytes: 1 << 30, runningJobs: 0, runningReplicas: 1, maxConcurrentJobs: 4,
        heartbeatAt: now.addingTimeInterval(ready ? -5 : -300), registeredAt: now.addingTimeInterval(-3600), notReadyAfter: 30, cordoned: false,
        draining: false, readAt: now)
}

/// Issue 23: the one status reads return for a service whose nodes each wrote a row of it.
@Suite("Status merge")
struct StatusMergeTests {
    @Test func oneRowWithoutAssignmentsIsReturnedAsItIsWithoutItsNode() {
        let only = row("a", .progressing, ready: 1, replicas: [replica(0, on: "a")])
        var expected = only
        expected.node = nil
        #expect(ResourceStatus.merged([only], assignments: [], nodes: []) == expected)
    }

    @Test func eachNodeCountsTheReplicasAssignedToItAndTheLatestRowGivesTheConditions() {
        // given: replica 1 moved from a to b; a still lists its old container of it
        let a = row("a", .ready, ready: 2, replicas: [replica(2, on: "a"), replica(0, on: "a"), replica(1, on: "a")], generation: 4, restarts: 1, updated: 0)
        let b = row("b", .ready, ready: 1, replicas: [replica(1, on: "b")], generation: 3, restarts: 2, updated: 10, action: "startContainer web-1")
        let stale = row("c", .failed, ready: 0, replicas: [replica(1, on: "c")], updated: 20)
        // when
        let merged = ResourceStatus.merged([a, b, stale], assignments: [on(0, "a"), on(1, "b"), on(2, "a")], nodes: [node("a"), node("b"), node("c")])
        // then: c holds no replica of it, so its row does not count
        #expect(merged.replicas?.map { "\($0.replica ?? -1)@\($0.node ?? "")" } == ["0@a", "1@b", "2@a"])
        #expect(merged.phase == .ready && merged.readyReplicas == 3 && merged.desiredReplicas == 3 && merged.node == nil)
        #expect(merged.restartCount == 3 && merged.observedGeneration == 3)
        #expect(merged.conditions == b.conditions && merged.lastAction == "startContainer web-1" && merged.updatedAt == b.updatedAt)
    }

    @Test func aNotReadyNodeCountsNoReadyReplicaAndItsReplicasStateIsUnknown() {
        // given
        let a = row("a", .ready, ready: 2, replicas: [replica(0, on: "a"), replica(2, on: "a")])
        let b = row("b", .ready, ready: 1, replicas: [replica(1, on: "b")], updated: 5)
        // when
        let merged = ResourceStatus.merged([a, b], assignments: [on(0, "a"), on(1, "b"), on(2, "a")], nodes: [node("a"), node("b", ready: false)])
        // then
        #expect(merged.readyReplicas == 2 && merged.phase == .progressing)
        #expect(merged.replicas?.map(\.state) == ["running", "unknown (node b NotReady)", "running"])
    }

    @Test(arguments: [
        ([ResourcePhase.ready, .pending], ResourcePhase.progressing),
        ([.progressing, .degraded], .degraded),
        ([.degraded, .failed, .ready], .failed),
        ([.pending, .pending], .pending),
    ])
    func theWorstRowGivesThePhaseWhileNotEveryReplicaIsReady(phases: [ResourcePhase], expected: ResourcePhase) {
        let rows = phases.enumerated().map { index, phase in
            row("n\(index)", phase, ready: 0, replicas: [replica(index, on: "n\(index)")], updated: Double(index))
        }
        let assignments = phases.indices.map { on($0, "n\($0)") }
        #expect(ResourceStatus.merged(rows, assignments: assignments, nodes: phases.indices.map { node("n\($0)") }).phase == expected)
    }

    @Test func everyReplicaReadyIsNotReadyWhileARowFailed() {
        let a = row("a", .ready, ready: 2, desired: 3, replicas: [replica(0, on: "a"), replica(1, on: "a")])
        let b = row("b", .failed, ready: 1, desired: 3, replicas: [replica(2, on: "b")])
        let merged = ResourceStatus.merged([a, b], assignments: [on(0, "a"), on(1, "a"), on(2, "b")], nodes: [node("a"), node("b")])
        #expect(merged.readyReplicas == 3 && merged.phase == .failed)
    }

    @Test func withoutAssignmentsEveryRowCountsWithAllItsReplicas() {
        // given: rows written before placement (no node) and by a node
        let shared = row(nil, .ready, ready: 1, desired: 2, replicas: [replica(nil, on: nil)], generation: nil, updated: 0)
        let a = row("a", .ready, ready: 1, desired: 2, replicas: [replica(0, on: "a")], updated: 3)
        // when
        let merged = ResourceStatus.merged([a, shared], assignments: [], nodes: [node("a")])
        // then
        #expect(merged.replicas?.map(\.replica) == [0, nil] && merged.readyReplicas == 2 && merged.phase == .ready)
        #expect(merged.observedGeneration == nil, "one row was never Ready at a generation")
        #expect(merged.updatedAt == a.updatedAt)
    }

    @Test func assignmentsNoRowOfWhoseNodesExistsYetMergeEveryRow() {
        let shared = row(nil, .progressing, ready: 1, replicas: [replica(0, on: nil)])
        let merged = ResourceStatus.merged([shared], assignments: [on(0, "a")], nodes: [node("a")])
        #expect(merged.replicas?.count == 1 && merged.readyReplicas == 1 && merged.phase == .progressing)
    }

    @Test func aResourceWithoutReplicasIsReadyWhenEveryRowIs() {
        let volume = ResourceID(kind: .volume, project: "shop", name: "data")
        func volumeRow(_ node: String, _ phase: ResourcePhase) -> ResourceStatus {
            ResourceStatus(id: volume, phase: phase, updatedAt: now, node: node)
        }
        #expect(ResourceStatus.merged([volumeRow("a", .ready), volumeRow("b", .ready)], assignments: [], nodes: [node("a"), node("b")]).phase == .ready)
        #expect(ResourceStatus.merged([volumeRow("a", .ready), volumeRow("b", .pending)], assignments: [], nodes: [node("a"), node("b")]).phase == .progressing)
    }
}
