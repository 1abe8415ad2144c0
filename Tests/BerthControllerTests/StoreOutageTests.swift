import BerthCore
import BerthDocker
import BerthStore
import Foundation
import Testing
@testable import BerthController

@Suite("Store outages: passes converge without the store; their writes wait, bounded, and arrive when it is back")
struct StoreOutageTests {
    static func snapshot(_ state: DesiredState) -> DesiredStateSource.Snapshot {
        DesiredStateSource.Snapshot(state: state, files: [], deleted: [], generations: [:])
    }

    static func event(_ reason: String) -> EventRecord {
        EventRecord(project: "shop", reason: reason, message: reason, time: Fixture.now)
    }

    @Test func aPassConvergesWhileTheStoreIsDownAndItsWritesArriveWhenItIsBack() async throws {
        // given: the store is down from the start
        let runtime = InMemoryRuntime()
        let store = OutageStore()
        store.set(.down)
        let reconciler = Reconciler(runtime: runtime, store: store)

        // when
        let result = try await reconciler.reconcile(Self.snapshot(try Fixture.desired(try Fixture.service("web"))), at: Fixture.at(Fixture.now))

        // then: the service runs, its status and events wait
        #expect(result.converged)
        #expect(await runtime.state(of: "berth-shop-web-0") == .running)
        #expect(store.storedStatuses.isEmpty && store.storedEvents.isEmpty)
        #expect(reconciler.storeWrites.pendingCount > 0)
        await #expect(throws: StoreError.self) { try await reconciler.flushStoreWrites() }

        // when: the store is back
        store.set(.up)
        try await reconciler.flushStoreWrites()

        // then
        #expect(store.storedStatuses[Fixture.serviceID("web")]?.phase == .ready)
        #expect(store.storedEvents.map(\.reason) == ["Created", "Started"])
        #expect(reconciler.storeWrites.pendingCount == 0)
    }

    @Test func aCrashedContainerIsRestartedWhileTheStoreIsDownAndTheRestartIsRecordedLater() async throws {
        // given: a converged service, recorded
        let runtime = InMemoryRuntime()
        let store = OutageStore()
        let reconciler = Reconciler(runtime: runtime, store: store)
        let snapshot = Self.snapshot(try Fixture.desired(try Fixture.service("web")))
        _ = try await reconciler.reconcile(snapshot, at: Fixture.at(Fixture.now))
        try await reconciler.flushStoreWrites()
        let eventsBefore = store.storedEvents.count

        // when: the store goes away and the container crashes
        store.set(.down)
        await runtime.exit("berth-shop-web-0", code: 1)
        let result = try await reconciler.reconcile(snapshot, at: Fixture.at(Fixture.now.addingTimeInterval(60)))

        // then: restarted all the same
        #expect(await runtime.state(of: "berth-shop-web-0") == .running)
        #expect(try #require(result.statuses.first).restartCount == 1)
        #expect(store.storedEvents.count == eventsBefore)

        // when: the store is back
        store.set(.up)
        try await reconciler.flushStoreWrites()

        // then: the restart's status and event arrive
        #expect(store.storedStatuses[Fixture.serviceID("web")]?.restartCount == 1)
        #expect(store.storedEvents.dropFirst(eventsBefore).map(\.reason) == ["Started"])
    }

    @Test func aStoreThatHangsDoesNotStallAPass() async throws {
        // given: every store call waits a minute
        let runtime = InMemoryRuntime()
        let store = OutageStore()
        store.set(.hanging)
        let reconciler = Reconciler(runtime: runtime, store: store, options: ReconcilerOptions(storeTimeout: .milliseconds(200)))
        let clock = ContinuousClock()
        let start = clock.now

        // when
        let result = try await reconciler.reconcile(Self.snapshot(try Fixture.desired(try Fixture.service("web"))))

        // then: converged well within the minute the store would take (the bound leaves room for
        // a loaded machine, where this whole suite's first seconds stretch to twenty); the writes wait
        #expect(result.converged)
        #expect(clock.now - start < .seconds(45))
        #expect(reconciler.storeWrites.pendingCount > 0)
    }

    @Test func aLaterStatusOfAResourceReplacesTheOneWaiting() async throws {
        // given
        let store = OutageStore()
        let buffer = StoreWriteBuffer(capacity: 10)
        var first = ResourceStatus(id: Fixture.serviceID("web"), phase: .progressing, updatedAt: Fixture.now)
        first.restartCount = 1
        var second = first
        second.phase = .ready

        // when
        buffer.add([.putStatus(first), .appendEvent(Self.event("Started")), .putStatus(second)])
        try await buffer.flush(to: store)

        // then: one status write, the latest
        #expect(store.storedStatuses[Fixture.serviceID("web")]?.phase == .ready)
        #expect(store.storedEvents.map(\.reason) == ["Started"])
    }

    @Test func aFullBufferDropsTheOldestWritesAndSaysHowManyOnFlush() async throws {
        // given: room for three writes while the store is down
        let store = OutageStore()
        store.set(.down)
        let buffer = StoreWriteBuffer(capacity: 3)
        let status = ResourceStatus(id: Fixture.serviceID("web"), phase: .ready, updatedAt: Fixture.now)

        // when: a status and five events arrive
        buffer.add([.putStatus(status)] + (1...5).map { .appendEvent(Self.event("E\($0)")) })

        // then: the three newest wait; three were dropped, among them the status
        #expect(buffer.pendingCount == 3)
        #expect(buffer.droppedCount == 3)
        await #expect(throws: StoreError.self) { try await buffer.flush(to: store) }

        // when: the store is back
        store.set(.up)
        try await buffer.flush(to: store)

        // then: one Warning with the count, then the newest writes in order; the dropped status
        // is named for the next pass to write again
        let events = store.storedEvents
        #expect(events.map(\.reason) == ["StoreWritesDropped", "E3", "E4", "E5"])
        #expect(events.first?.type == .warning)
        #expect(events.first?.message.hasPrefix("3 status and event writes were dropped") == true)
        #expect(buffer.takeDroppedStatuses() == [Fixture.serviceID("web")])
        #expect(buffer.takeDroppedStatuses().isEmpty)

        // when: another flush
        try await buffer.flush(to: store)

        // then: the warning is not repeated
        #expect(store.storedEvents.count == 4)
    }

    @Test func aDroppedStatusIsWrittenAgainByTheNextPass() async throws {
        // given: a converged service whose status write was pushed out of a full buffer
        let runtime = InMemoryRuntime()
        let store = OutageStore()
        store.set(.down)
        let reconciler = Reconciler(runtime: runtime, store: store, options: ReconcilerOptions(storeWriteCapacity: 1))
        let snapshot = Self.snapshot(try Fixture.desired(try Fixture.service("web")))
        _ = try await reconciler.reconcile(snapshot, at: Fixture.at(Fixture.now))
        #expect(reconciler.storeWrites.droppedCount > 0)

        // when: the store is back, and a pass that changes nothing
        store.set(.up)
        try await reconciler.flushStoreWrites()
        _ = try await reconciler.reconcile(snapshot, at: Fixture.at(Fixture.now.addingTimeInterval(10)))
        try await reconciler.flushStoreWrites()

        // then
        #expect(store.storedStatuses[Fixture.serviceID("web")]?.phase == .ready)
    }

    @Test func theDesiredStateKeepsTheStoresResourcesLastReadWhileTheStoreIsDown() async throws {
        // given: a service written through the API, read once
        let store = OutageStore()
        store.seed(Resource(metadata: ResourceMetadata(name: "shop"), spec: .project(ProjectSpec())))
        store.seed(try Fixture.service("api-web"))
        let source = DesiredStateSource(manifestPaths: [], store: store, storeTimeout: .milliseconds(200))
        let fresh = try await source.load(now: Fixture.now)
        #expect(fresh.staleness == nil)
        #expect(fresh.state.contains(Fixture.serviceID("api-web")))

        // when: the store goes down, then hangs
        store.set(.down)
        let stale = try await source.load(now: Fixture.now.addingTimeInterval(10))
        store.set(.hanging)
        let stillStale = try await source.load(now: Fixture.now.addingTimeInterval(20))

        // then: the service stays declared; stale since the first failed read
        #expect(stale.state.contains(Fixture.serviceID("api-web")))
        #expect(stale.staleness?.since == Fixture.now.addingTimeInterval(10))
        #expect(stillStale.state.contains(Fixture.serviceID("api-web")))
        #expect(stillStale.staleness?.since == Fixture.now.addingTimeInterval(10))

        // when: the store is back
        store.set(.up)
        let again = try await source.load(now: Fixture.now.addingTimeInterval(30))

        // then
        #expect(again.staleness == nil)
    }

    @Test func aStoreNeverReadIsAnErrorNotAnEmptyDesiredState() async throws {
        // given
        let store = OutageStore()
        store.set(.down)
        let source = DesiredStateSource(manifestPaths: [], store: store)

        // then: nothing to converge from, so nothing is torn down either
        await #expect(throws: StoreError.self) { try await source.load() }
    }
}
