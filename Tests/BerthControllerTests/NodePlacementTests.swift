import BerthCore
import BerthStore
import Foundation
import Logging
import Testing
@testable import BerthController

/// The leader places and writes, every node reads, against a SQLite store file.
@Suite("Node placement")
struct NodePlacementTests {
    static func register(_ name: String, in store: SQLiteStore) async throws {
        try await store.heartbeat(
            NodeHeartbeat(
                node: NodeIdentity(name: name), engineVersion: "27.0", cpus: 2, memoryBytes: 1 << 30, runningJobs: 0, runningReplicas: 0, maxConcurrentJobs: 1,
                notReadyAfter: 30))
    }

    static func web(replicas: Int) throws -> DesiredState {
        try Fixture.desired(try Fixture.service("web", replicas: replicas))
    }

    @Test func theLeaderPlacesAndWritesAndAnotherNodeReadsTheSame() async throws {
        try await NodeHeartbeatsTests.withStore { store in
            // given: nodes default and b; the controller on default leads
            try await Self.register("default", in: store)
            try await Self.register("b", in: store)
            #expect(try await store.tryAcquireLeadership(name: NodePlacement.leaseName, holder: "ctl-default", lease: .seconds(15), now: Date()))
            let events = StoreWriteBuffer()
            let leader = NodePlacement(store: store, node: "default", holder: "ctl-default", events: events, logger: CapturedLogs().logger)
            let follower = NodePlacement(store: store, node: "b", holder: "ctl-b", logger: CapturedLogs().logger)

            // when
            let placed = await leader.replicas(for: try Self.web(replicas: 2), leading: true)
            let read = await follower.replicas(for: try Self.web(replicas: 2), leading: false)

            // then: both replicas on default (no placement declared), written, and told as such
            let web = Fixture.serviceID("web")
            let stored = try await store.assignments()
            #expect(stored.map(\.node) == ["default", "default"] && stored.map(\.replica) == [0, 1] && stored.allSatisfy { $0.generation == 1 })
            for replica in 0..<2 {
                #expect(placed.placement.here(web, replica: replica)?.generation == 1)
                #expect(read.placement.elsewhere(web, replica: replica)?.node == "default")
            }
            #expect(placed.waiting.isEmpty && read.waiting.isEmpty)
            #expect(events.pendingCount == 2, "a Placed event per replica")
        }
    }

    @Test func aControllerWithoutTheLeaseWritesNothingAndReadsInstead() async throws {
        try await NodeHeartbeatsTests.withStore { store in
            // given: another controller holds the lease
            try await Self.register("default", in: store)
            #expect(try await store.tryAcquireLeadership(name: NodePlacement.leaseName, holder: "someone-else", lease: .seconds(15), now: Date()))
            let logs = CapturedLogs()
            let placement = NodePlacement(store: store, node: "default", holder: "ctl-default", logger: logs.logger)

            // when: it believes it leads
            let replicas = await placement.replicas(for: try Self.web(replicas: 1), leading: true)

            // then
            #expect(try await store.assignments().isEmpty)
            #expect(replicas.placement == .node("default", [:]))
            #expect(logs.messages(at: .warning).contains { $0.hasPrefix("cannot place the services' replicas on the nodes") }, "\(logs.messages(at: .warning))")
        }
    }

    @Test func aStoreThatCannotBeReadLeavesTheAssignmentsLastRead() async throws {
        // given: a node read its assignments once
        var placement: NodePlacement?
        var first: NodeReplicas?
        let logs = CapturedLogs()
        try await NodeHeartbeatsTests.withStore { store in
            try await Self.register("default", in: store)
            #expect(try await store.tryAcquireLeadership(name: NodePlacement.leaseName, holder: "ctl", lease: .seconds(15), now: Date()))
            let node = NodePlacement(store: store, node: "default", holder: "ctl", logger: logs.logger)
            first = await node.replicas(for: try Self.web(replicas: 1), leading: true)
            placement = node
        }

        // when: the store is closed
        let again = await placement?.replicas(for: try Self.web(replicas: 1), leading: false)

        // then
        #expect(first?.placement.here(Fixture.serviceID("web"), replica: 0) != nil)
        #expect(again?.placement == first?.placement)
        #expect(logs.messages(at: .warning).contains { $0.contains("converging with the 1 last read") }, "\(logs.messages(at: .warning))")
    }
}
