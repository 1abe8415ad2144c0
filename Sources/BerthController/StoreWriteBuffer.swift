import BerthCore
import BerthStore
import Foundation
import Logging
import Synchronization

/// One write a pass makes to the store.
enum StoreWrite: Sendable, Hashable {
    case putStatus(ResourceStatus)
    /// Of one node's row (nil: every row of the resource).
    case deleteStatus(ResourceID, node: String?)
    case appendEvent(EventRecord)
    case purgeResource(ResourceID)

    /// Writes with the same key replace one another: only the latest status of a resource matters.
    fileprivate var key: String? {
        switch self {
        case .putStatus(let status): "status \(status.id)"
        case .deleteStatus(let id, _): "status \(id)"
        case .appendEvent: nil
        case .purgeResource(let id): "purge \(id)"
        }
    }

    fileprivate var project: String {
        switch self {
        case .putStatus(let status): status.id.project
        case .deleteStatus(let id, _), .purgeResource(let id): id.project
        case .appendEvent(let event): event.project
        }
    }

    fileprivate func perform(on store: any ResourceStore & EventLog) async throws(StoreError) {
        switch self {
        case .putStatus(let status): try await store.putStatus(status)
        case .deleteStatus(let id, let node): try await store.deleteStatus(id, node: node)
        case .appendEvent(let event): try await store.appendEvent(event)
        case .purgeResource(let id): try await store.purgeResource(id)
        }
    }
}

/// The status and event writes of passes on their way to the store, so an unreachable, slow or
/// full store never fails or stalls a pass: passes add, one flusher writes, oldest first, each
/// write removed once the store took it. A later status of a resource replaces the one waiting.
/// Bounded: when full, the oldest writes are dropped and counted per project, and the first flush
/// after that appends one Warning event per project saying how many were lost; the statuses among
/// them are written again by the next pass (``takeDroppedStatuses()``).
public final class StoreWriteBuffer: Sendable {
    private struct Entry {
        var number: UInt64
        var write: StoreWrite
    }

    private struct State {
        var pending: [Entry] = []
        var next: UInt64 = 0
        var dropped: [String: Int] = [:]
        var droppedStatuses: Set<ResourceID> = []
        var droppedTotal = 0
        var flushing = false
    }

    /// The most writes kept.
    public let capacity: Int
    private let state = Mutex(State())
    private let wakeUps = WakeUpSignal()

    public init(capacity: Int = 1000) {
        self.capacity = max(1, capacity)
    }

    /// Writes waiting for the store.
    public var pendingCount: Int { state.withLock { $0.pending.count } }

    /// Writes dropped since this buffer was made.
    public var droppedCount: Int { state.withLock { $0.droppedTotal } }

    func add(_ writes: [StoreWrite]) {
        guard !writes.isEmpty else { return }
        let pending = state.withLock { state in
            for write in writes {
                if let key = write.key { state.pending.removeAll { $0.write.key == key } }
                state.pending.append(Entry(number: state.next, write: write))
                state.next += 1
            }
            let excess = state.pending.count - capacity
            if excess > 0 {
                for entry in state.pending.prefix(excess) {
                    state.dropped[entry.write.project, default: 0] += 1
                    if case .putStatus(let status) = entry.write { state.droppedStatuses.insert(status.id) }
                }
                state.droppedTotal += excess
                state.pending.removeFirst(excess)
                ControllerMetrics.storeWritesDropped(excess)
            }
            return state.pending.count
        }
        ControllerMetrics.storeWritesPending(pending)
        wakeUps.fire(.store)
    }

    /// Resources whose latest status was dropped, once: the next pass writes theirs again.
    func takeDroppedStatuses() -> Set<ResourceID> {
        state.withLock { state in
            defer { state.droppedStatuses = [] }
            return state.droppedStatuses
        }
    }

    /// Writes what waits, oldest first, and first the Warning events about drops; stops at the
    /// first failure, which is thrown (what is left waits for the next flush). A flush already
    /// under way makes this one return at once.
    public func flush(to store: any ResourceStore & EventLog) async throws(StoreError) {
        let started = state.withLock { state in
            guard !state.flushing else { return false }
            state.flushing = true
            return true
        }
        guard started else { return }
        defer {
            let pending = state.withLock { state in
                state.flushing = false
                return state.pending.count
            }
            ControllerMetrics.storeWritesPending(pending)
        }
        let dropped = state.withLock { $0.dropped }
        for (project, count) in dropped.sorted(by: { $0.key < $1.key }) {
            try await store.appendEvent(
                EventRecord(
                    project: project, type: .warning, reason: "StoreWritesDropped",
                    message:
                        "\(count) status and event write\(count == 1 ? " was" : "s were") dropped while the store could not take them (the controller keeps the latest \(capacity)); statuses are written again, those events are lost",
                    time: Date()))
            state.withLock { state in
                state.dropped[project, default: 0] -= count
                if state.dropped[project] ?? 0 <= 0 { state.dropped[project] = nil }
            }
        }
        while let entry = state.withLock({ $0.pending.first }) {
            try await entry.write.perform(on: store)
            state.withLock { state in state.pending.removeAll { $0.number == entry.number } }
        }
    }

    /// Flushes whenever writes arrive, and after a failure again with backoff (1 s doubling to
    /// 10 s), until cancelled: `serve`'s flusher, beside the loop.
    public func run(to store: any ResourceStore & EventLog, logger: Logger) async {
        let backoff = BackoffPolicy(initial: .seconds(1), maximum: .seconds(10))
        var failures = 0
        while !Task.isCancelled {
            var deadline = ContinuousClock.now + .seconds(3600)
            if pendingCount > 0 || state.withLock({ !$0.dropped.isEmpty }) {
                do {
                    try await flush(to: store)
                    if failures > 0 { logger.info("the store takes writes again; the waiting statuses and events are written") }
                    failures = 0
                } catch {
                    failures += 1
                    let delay = backoff.delay(afterAttempts: failures)
                    if failures == 1 { logger.warning("the store does not take writes (\(error)); statuses and events wait in memory, \(pendingCount) now") }
                    deadline = .now + .milliseconds(delay.milliseconds)
                }
            }
            if Task.isCancelled { return }
            if failures == 0, pendingCount > 0 { continue }
            _ = await wakeUps.wait(until: deadline)
        }
    }
}
