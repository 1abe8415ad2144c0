import BerthCore
import Foundation
import Testing

@testable import BerthStore

/// The node registry and node-aware claims on both stores (migration 12, issue 23).
extension StoreConformanceTests {
    private func beat(_ name: String, labels: [String: String] = [:], jobs: Int = 0, timeout: TimeInterval = 30) -> NodeHeartbeat {
        NodeHeartbeat(
            node: NodeIdentity(name: name, labels: labels), engineVersion: "27.5.1", cpus: 2, memoryBytes: 8 << 30, runningJobs: jobs, runningReplicas: 3,
            maxConcurrentJobs: 4, notReadyAfter: timeout)
    }

    @Test(arguments: StoreKind.allCases)
    func aHeartbeatRegistersANodeAndLaterOnesNeverClearItsCordon(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            // given
            let first = try await store.heartbeat(beat("web-1", labels: ["zone": "a"]))
            #expect(first.state == .ready && first.isSchedulable && first.labels == ["zone": "a"] && first.engineVersion == "27.5.1")
            #expect(first.cpus == 2 && first.memoryBytes == 8 << 30 && first.runningReplicas == 3 && first.maxConcurrentJobs == 4 && first.notReadyAfter == 30)
            #expect(abs(first.heartbeatAt.timeIntervalSinceNow) < 60 && first.registeredAt == first.heartbeatAt, "the store's clock")
            // when
            let cordoned = try await store.setNodeScheduling(name: "web-1", cordoned: true, draining: false)
            let again = try await store.heartbeat(beat("web-1", labels: ["zone": "b"], jobs: 2))
            // then
            #expect(cordoned.state == .cordoned && !cordoned.isSchedulable && cordoned.isReady)
            #expect(again.cordoned && !again.draining && again.state == .cordoned && again.labels == ["zone": "b"] && again.runningJobs == 2)
            #expect(again.registeredAt == first.registeredAt && again.heartbeatAt >= first.heartbeatAt)
            try await store.heartbeat(beat("db-1"))
            #expect(try await store.nodes().map(\.name) == ["db-1", "web-1"])
            #expect(try await store.node(named: "web-1")?.cordoned == true)
            let drained = try await store.setNodeScheduling(name: "web-1", cordoned: true, draining: true)
            #expect(drained.state == .draining)
            #expect(try await store.setNodeScheduling(name: "web-1", cordoned: false, draining: false).state == .ready)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func anUnknownNodeIsNotFoundAndABadNameIsRefused(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            let missing = try await store.node(named: "ghost")
            #expect(missing == nil)
            let error = await expectStoreError(.notFound) { try await store.setNodeScheduling(name: "ghost", cordoned: true, draining: false) }
            #expect(error?.message.contains("node ghost") == true)
            await expectStoreError(.notFound) { try await store.removeNode(name: "ghost", force: true) }
            await expectStoreError(.invalidArgument) { try await store.heartbeat(beat("Not A Name")) }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aNodeWithARecentHeartbeatIsRemovedOnlyWhenForced(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            // given
            try await store.heartbeat(beat("gone"))
            try await store.heartbeat(beat("alive"))
            // when / then: both are Ready
            let refused = await expectStoreError(.stateConflict) { try await store.removeNode(name: "gone", force: false) }
            #expect(refused?.message.contains("--force") == true)
            // when: its heartbeat is a minute old, beyond its 30 s timeout
            try await rawExecute(store, "UPDATE nodes SET heartbeat_at = heartbeat_at - 60000 WHERE name = 'gone'")
            let late = try #require(try await store.node(named: "gone"))
            #expect(late.state == .notReady && !late.isReady && late.heartbeatAge >= 59)
            try await store.removeNode(name: "gone", force: false)
            try await store.removeNode(name: "alive", force: true)
            // then
            #expect(try await store.nodes().isEmpty)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aNodeClaimsOnlyJobsWhoseSelectorItsLabelsMatch(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            // given
            func submit(_ name: String, _ selector: [String: String], at time: Double) async throws -> JobRecord {
                var spec = try jobSpec()
                spec.nodeSelector = selector
                return try await store.submitJob(JobSubmission(project: "qfield", name: name, spec: spec), now: at(time)).job
            }
            let gpu = try await submit("gpu", ["gpu": "yes"], at: 0)
            let anywhere = try await submit("anywhere", [:], at: 1)
            let gpuInZoneA = try await submit("gpu-zone-a", ["gpu": "yes", "zone": "a"], at: 2)
            let otherZone = try await submit("zone-b", ["zone": "b"], at: 3)
            let cpu = NodeIdentity(name: "cpu-1", labels: ["zone": "a"])
            let gpuNode = NodeIdentity(name: "gpu-1", labels: ["gpu": "yes", "zone": "a", "rack": "7"])
            // when
            let noNode = try await store.claimJobs(controller: "c0", engine: "e0", node: nil, limit: 10, projectLimits: [:], lease: .seconds(30))
            let onCPU = try await store.claimJobs(controller: "c1", engine: "e1", node: cpu, limit: 10, projectLimits: [:], lease: .seconds(30))
            let onGPU = try await store.claimJobs(controller: "c2", engine: "e2", node: gpuNode, limit: 10, projectLimits: [:], lease: .seconds(30))
            // then
            #expect(noNode.map(\.id) == [anywhere.id], "without a node, only jobs without a selector")
            #expect(onCPU.isEmpty, "zone a lacks gpu: yes, and zone b is not zone a")
            #expect(Set(onGPU.map(\.id)) == [gpu.id, gpuInZoneA.id])
            #expect(try await store.job(otherZone.id)?.state == .pending, "no node carries zone: b")
            #expect(try await store.job(gpu.id)?.spec.nodeSelector == ["gpu": "yes"])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aCordonedOrDrainingNodeClaimsNothing(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            // given
            let node = NodeIdentity(name: "worker-1")
            try await store.heartbeat(beat("worker-1"))
            for index in 0..<3 { _ = try await store.submitJob(try submission(name: "j\(index)"), now: at(Double(index))) }
            func claim() async throws -> [JobRecord] {
                try await store.claimJobs(controller: "c1", engine: "e1", node: node, limit: 1, projectLimits: [:], lease: .seconds(30))
            }
            // when / then
            try await store.setNodeScheduling(name: "worker-1", cordoned: true, draining: false)
            #expect(try await claim().isEmpty, "cordoned")
            try await store.setNodeScheduling(name: "worker-1", cordoned: true, draining: true)
            #expect(try await claim().isEmpty, "draining")
            try await store.setNodeScheduling(name: "worker-1", cordoned: false, draining: false)
            #expect(try await claim().count == 1, "uncordoned")
            // a node that has not registered yet claims as any node does
            #expect(
                try await store.claimJobs(controller: "c2", engine: "e2", node: NodeIdentity(name: "new-1"), limit: 1, projectLimits: [:], lease: .seconds(30))
                    .count == 1)
        }
    }

    @Test
    func aNodeStateIsDrainingOverCordonedOverNotReady() {
        let heartbeat = at(0)
        var node = NodeRecord(
            name: "n", labels: [:], engineVersion: "", cpus: 1, memoryBytes: 1, runningJobs: 0, runningReplicas: 0, maxConcurrentJobs: 1,
            heartbeatAt: heartbeat, registeredAt: heartbeat, notReadyAfter: 30, cordoned: false, draining: false, readAt: at(30))
        #expect(node.state == .ready && node.isSchedulable)
        #expect(node.state(now: at(30.5), notReadyAfter: 30) == .notReady)
        #expect(node.state(now: at(30.5), notReadyAfter: 60) == .ready)
        node.readAt = at(31)
        #expect(node.state == .notReady && !node.isSchedulable)
        node.cordoned = true
        #expect(node.state == .cordoned && !node.isReady)
        node.draining = true
        #expect(node.state == .draining && node.state(now: at(1), notReadyAfter: 30) == .draining)
    }
}
