import Foundation
import Synchronization

/// Why the loop woke up. Wake-ups carry no truth: every pass plans from full state.
public enum WakeReason: String, Sendable, Hashable, CaseIterable {
    /// Something happened to a Berth object on the engine.
    case engine
    /// The store says desired resources or jobs changed.
    case store
    /// A manifest file changed, or SIGHUP asked for a reload.
    case reload
    /// The resync timer, or a backoff that ended.
    case timer
    /// The controller is shutting down.
    case shutdown
}

/// Collects wake-ups from any task and hands them, coalesced, to the one loop that waits.
public final class WakeUpSignal: Sendable {
    private struct State {
        var pending: Set<WakeReason> = []
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    public init() {}

    /// Records a reason and wakes the waiting loop, if any.
    public func fire(_ reason: WakeReason) {
        let waiter = state.withLock { state in
            state.pending.insert(reason)
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Waits until something fires or `deadline` passes (then the reason is `.timer`), and
    /// returns every reason that fired since the last call.
    public func wait(until deadline: ContinuousClock.Instant) async -> Set<WakeReason> {
        let timer = Task { [weak self] in
            try? await Task.sleep(until: deadline, clock: .continuous)
            if !Task.isCancelled { self?.fire(.timer) }
        }
        defer { timer.cancel() }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { state in
                    if !state.pending.isEmpty { return true }
                    state.waiter = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            fire(.shutdown)
        }
        return state.withLock { state in
            defer { state.pending = [] }
            return state.pending
        }
    }
}
