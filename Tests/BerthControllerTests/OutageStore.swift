import BerthCore
import BerthStore
import Foundation
import Synchronization

/// A store for pure controller logic that can be taken down (every call fails `unavailable`) or
/// made to hang (every call waits a minute): resources, statuses and events in memory.
final class OutageStore: ResourceStore, EventLog, Sendable {
    enum Mode { case up, down, hanging }

    private struct State {
        var mode = Mode.up
        var resources: [StoredResource] = []
        var statuses: [ResourceID: ResourceStatus] = [:]
        var events: [EventRecord] = []
    }

    private let state = Mutex(State())

    func set(_ mode: Mode) { state.withLock { $0.mode = mode } }
    var storedStatuses: [ResourceID: ResourceStatus] { state.withLock { $0.statuses } }
    var storedEvents: [EventRecord] { state.withLock { $0.events } }

    func seed(_ resource: Resource, source: ResourceSource = .api) {
        state.withLock { $0.resources.append(StoredResource(resource: resource, generation: 1, source: source, createdAt: Date(), updatedAt: Date())) }
    }

    private func reach() async throws(StoreError) {
        switch state.withLock({ $0.mode }) {
        case .up: return
        case .down: throw .unavailable("the test took the store down")
        case .hanging:
            try? await Task.sleep(for: .seconds(60))
            throw .unavailable("the test's store hung")
        }
    }

    func putResource(_ resource: Resource, source: ResourceSource, now: Date) async throws(StoreError) -> StoredResource {
        try await reach()
        let stored = StoredResource(resource: resource, generation: 1, source: source, createdAt: now, updatedAt: now)
        state.withLock { $0.resources.append(stored) }
        return stored
    }

    func resource(_ id: ResourceID) async throws(StoreError) -> StoredResource? {
        try await reach()
        return state.withLock { $0.resources.first { $0.id == id } }
    }

    func resources(kind: ResourceKind?, project: String?, includeDeleted: Bool) async throws(StoreError) -> [StoredResource] {
        try await reach()
        return state.withLock { $0.resources }
    }

    func deleteResource(_ id: ResourceID, now: Date) async throws(StoreError) -> StoredResource? {
        try await reach()
        return nil
    }

    func purgeResource(_ id: ResourceID) async throws(StoreError) -> Bool {
        try await reach()
        return state.withLock { state in
            defer { state.resources.removeAll { $0.id == id } }
            return state.resources.contains { $0.id == id }
        }
    }

    func putStatus(_ status: ResourceStatus) async throws(StoreError) {
        try await reach()
        state.withLock { $0.statuses[status.id] = status }
    }

    func status(_ id: ResourceID) async throws(StoreError) -> ResourceStatus? {
        try await reach()
        return state.withLock { $0.statuses[id] }
    }

    func statuses(project: String?) async throws(StoreError) -> [ResourceStatus] {
        try await reach()
        return state.withLock { Array($0.statuses.values) }
    }

    func statuses(node: String) async throws(StoreError) -> [ResourceStatus] {
        try await reach()
        return state.withLock { Array($0.statuses.values.filter { $0.node == nil || $0.node == node }) }
    }

    func deleteStatus(_ id: ResourceID, node: String?) async throws(StoreError) -> Bool {
        try await reach()
        return state.withLock { state in
            guard let status = state.statuses[id], node == nil || status.node == node else { return false }
            state.statuses[id] = nil
            return true
        }
    }

    func appendEvent(_ event: EventRecord) async throws(StoreError) -> EventRecord {
        try await reach()
        return state.withLock { state in
            var stored = event
            stored.sequence = Int64(state.events.count + 1)
            state.events.append(stored)
            return stored
        }
    }

    func events(_ query: EventQuery) async throws(StoreError) -> [EventRecord] {
        try await reach()
        return state.withLock { $0.events }
    }

    func pruneEvents(before: Date, keepAtMost: Int) async throws(StoreError) -> Int {
        try await reach()
        return 0
    }
}
