import BerthCore
import Foundation
import Testing

@testable import BerthStore

/// Replica assignments, fenced by the leader lease, and the status rows each node writes, read
/// back merged (migration 13, issue 23).
extension StoreConformanceTests {
    private static let web = ResourceID(kind: .service, project: "shop", name: "web")

    private func placed(_ replica: Int, on node: String, generation: Int64 = 1, service: ResourceID = web) -> ReplicaAssignment {
        ReplicaAssignment(service: service, replica: replica, node: node, generation: generation, assignedAt: at(Double(generation)))
    }

    private func beat(_ store: any Store, _ name: String) async throws {
        try await store.heartbeat(
            NodeHeartbeat(
                node: NodeIdentity(name: name), engineVersion: "27.5.1", cpus: 2, memoryBytes: 1 << 30, runningJobs: 0, runningReplicas: 1,
                maxConcurrentJobs: 4, notReadyAfter: 30))
    }

    @Test(arguments: StoreKind.allCases)
    func assignmentsRoundTripAndOnlyTheLeaseHolderWritesThem(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            // given
            let api = ResourceID(kind: .service, project: "other", name: "api")
            #expect(try await store.tryAcquireLeadership(name: "controller", holder: "node-a", lease: .seconds(30), now: Date()))
            let wakeUps = store.notifications()
            // when
            try await store.updateAssignments(
                assign: [placed(1, on: "b"), placed(0, on: "a"), placed(0, on: "a", service: api)], unassign: [], leaseName: "controller", holder: "node-a")
            let first = try await store.assignments()
            try await store.updateAssignments(
                assign: [placed(1, on: "c", generation: 2)], unassign: [(Self.web, 0), (api, 7)], leaseName: "controller", holder: "node-a")
            let second = try await store.assignments()
            // then
            #expect(first == [placed(0, on: "a", service: api), placed(0, on: "a"), placed(1, on: "b")])
            #expect(second == [placed(0, on: "a", service: api), placed(1, on: "c", generation: 2)])
            #expect(await firstNotification(wakeUps) { $0 == .resourceChanged(Self.web) })
            // when: another holder, a lease another process holds, a released lease
            let intruder = await expectStoreError(.stateConflict) {
                try await store.updateAssignments(assign: [placed(1, on: "x")], unassign: [], leaseName: "controller", holder: "node-b")
            }
            await expectStoreError(.stateConflict) {
                try await store.updateAssignments(assign: [placed(1, on: "x")], unassign: [], leaseName: "other-lease", holder: "node-a")
            }
            try await store.releaseLeadership(name: "controller", holder: "node-a")
            await expectStoreError(.stateConflict) {
                try await store.updateAssignments(assign: [], unassign: [(Self.web, 1)], leaseName: "controller", holder: "node-a")
            }
            // then: nothing changed
            #expect(intruder?.message.contains("node-b does not hold the leader lease controller") == true)
            #expect(try await store.assignments() == second)
            await expectStoreError(.invalidArgument) {
                try await store.updateAssignments(
                    assign: [placed(0, on: "a", service: ResourceID(kind: .job, project: "shop", name: "j"))], unassign: [], leaseName: "controller",
                    holder: "node-a")
            }
        }
    }

    @Test func aPostgreSQLLeaseHeldByAnotherProcessFencesItsHolderNameToo() async throws {
        try await TestPlace.with(.postgres) { store, place in
            // given: the other process holds the lease for the same holder name
            let other = try await place.open()
            #expect(try await other.tryAcquireLeadership(name: "controller", holder: "node-a", lease: .seconds(30), now: Date()))
            // when / then: only the process that holds it writes
            await expectStoreError(.stateConflict) {
                try await store.updateAssignments(assign: [placed(0, on: "a")], unassign: [], leaseName: "controller", holder: "node-a")
            }
            try await other.updateAssignments(assign: [placed(0, on: "a")], unassign: [], leaseName: "controller", holder: "node-a")
            await other.close()
            #expect(try await store.assignments() == [placed(0, on: "a")])
        }
    }

    @Test func aPostgreSQLLeaderWhoseLeaseConnectionWasCutIsFenced() async throws {
        try await TestPlace.with(.postgres) { store, _ in
            // given
            #expect(try await store.tryAcquireLeadership(name: "controller", holder: "node-a", lease: .seconds(30), now: Date()))
            try await store.updateAssignments(assign: [placed(0, on: "a")], unassign: [], leaseName: "controller", holder: "node-a")
            // when: the server ends the session holding the lock
            let ended = try await rawQuery(
                store,
                """
                SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND classid = \(PostgresDialect.leaderLock) AND objsubid = 2
                    AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
                """)
            // then
            #expect(ended == [["t"]])
            await expectStoreError(.stateConflict) {
                try await store.updateAssignments(assign: [placed(0, on: "b", generation: 2)], unassign: [], leaseName: "controller", holder: "node-a")
            }
            #expect(try await store.assignments() == [placed(0, on: "a")])
        }
    }

    @Test func aSQLiteLeaseThatRanOutFencesItsHolder() async throws {
        try await TestPlace.with(.sqlite) { store, _ async throws in
            #expect(try await store.tryAcquireLeadership(name: "controller", holder: "node-a", lease: .seconds(30), now: Date().addingTimeInterval(-31)))
            await expectStoreError(.stateConflict) {
                try await store.updateAssignments(assign: [placed(0, on: "a")], unassign: [], leaseName: "controller", holder: "node-a")
            }
            #expect(try await store.assignments().isEmpty)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func eachNodeWritesItsOwnRowAndReadsMergeThem(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            // given: replicas 0 and 2 on a, 1 on b
            try await beat(store, "a")
            try await beat(store, "b")
            #expect(try await store.tryAcquireLeadership(name: "controller", holder: "a", lease: .seconds(30), now: Date()))
            try await store.updateAssignments(
                assign: [placed(0, on: "a"), placed(1, on: "b"), placed(2, on: "a")], unassign: [], leaseName: "controller", holder: "a")
            func replica(_ index: Int, _ node: String) -> ReplicaStatus {
                ReplicaStatus(container: "berth-shop-web-\(index)", state: "running", networks: [], ports: [], replica: index, node: node)
            }
            let rowA = ResourceStatus(
                id: Self.web, phase: .ready, restartCount: 1, readyReplicas: 2, desiredReplicas: 3, replicas: [replica(0, "a"), replica(2, "a")],
                updatedAt: at(0), node: "a")
            let rowB = ResourceStatus(
                id: Self.web, phase: .ready, restartCount: 2, readyReplicas: 1, desiredReplicas: 3, replicas: [replica(1, "b")], lastAction: "startContainer web-1",
                updatedAt: at(5), node: "b")
            let volume = ResourceStatus(id: ResourceID(kind: .volume, project: "shop", name: "data"), phase: .ready, updatedAt: at(0))
            // when
            try await store.putStatus(rowA)
            try await store.putStatus(rowB)
            try await store.putStatus(volume)
            let merged = try await store.status(Self.web)
            let listed = try await store.statuses(project: "shop")
            // then
            #expect(merged?.replicas?.map(\.replica) == [0, 1, 2] && merged?.readyReplicas == 3 && merged?.phase == .ready)
            #expect(merged?.restartCount == 3 && merged?.lastAction == "startContainer web-1" && merged?.node == nil)
            #expect(listed.map(\.id) == [volume.id, Self.web] && listed.last == merged && listed.first == volume)
            #expect(try await store.statuses(project: nil) == listed)
            // and: a node reads its own rows unmerged, with the shared ones
            #expect(try await store.statuses(node: "b") == [volume, rowB])
            #expect(try await store.statuses(node: "c") == [volume])
            // when: b's heartbeat is late
            try await rawExecute(store, "UPDATE nodes SET heartbeat_at = heartbeat_at - 60000 WHERE name = 'b'")
            let late = try await store.status(Self.web)
            // then
            #expect(late?.readyReplicas == 2 && late?.phase == .progressing && late?.replicas?[1].state == "unknown (node b NotReady)")
            let b = try #require(try await store.node(named: "b"))
            #expect(!b.placementNode.ready && b.placementNode.notReadySince == b.heartbeatAt.addingTimeInterval(30))
            #expect(try await store.node(named: "a")?.placementNode == PlacementNode(name: "a"))
            // when: b deletes its own row, then every row goes
            let deletedB = try await store.deleteStatus(Self.web, node: "b")
            let deletedBAgain = try await store.deleteStatus(Self.web, node: "b")
            let onlyA = try await store.status(Self.web)
            let deletedAll = try await store.deleteStatus(Self.web, node: nil)
            // then
            #expect(deletedB && !deletedBAgain && deletedAll)
            #expect(onlyA?.replicas?.map(\.replica) == [0, 2] && onlyA?.readyReplicas == 2 && onlyA?.phase == .progressing)
            #expect(try await store.status(Self.web) == nil)
            #expect(try await store.status(volume.id) == volume)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func upgradesADatabaseAtMigration12KeepingItsStatusesAsTheSharedRow(kind: StoreKind) async throws {
        // given: a database an older Berth left at migration 12, with a status row
        let place = try await TestPlace.make(kind)
        defer { Task { try? await place.remove() } }
        try await place.migrate(
            upTo: 12,
            then: [
                """
                INSERT INTO resource_status (kind, project, name, phase, conditions, restart_count, updated_at, ready_replicas, desired_replicas, replicas)
                VALUES ('Service', 'shop', 'web', 'Ready', '[]', 2, \(SQLTime.milliseconds(at(0))), 1, 1,
                    '[{"container": "berth-shop-web-0", "state": "running", "networks": [], "ports": []}]')
                """
            ])
        // when
        let store = try await place.open()
        let old = try await store.status(Self.web)
        let assignments = try await store.assignments()
        var mine = try #require(old)
        mine.node = "a"
        mine.updatedAt = at(10)
        try await store.putStatus(mine)
        let both = try await rawQuery(store, "SELECT node FROM resource_status ORDER BY node")
        await store.close()
        try await place.remove()
        // then
        #expect(schemaVersion(store) == latestSchemaVersion)
        #expect(
            old
                == ResourceStatus(
                    id: Self.web, phase: .ready, restartCount: 2, readyReplicas: 1, desiredReplicas: 1,
                    replicas: [ReplicaStatus(container: "berth-shop-web-0", state: "running", networks: [], ports: [])], updatedAt: at(0)))
        #expect(assignments.isEmpty)
        #expect(both == [[""], ["a"]])
    }
}
