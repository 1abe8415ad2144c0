import BerthStore
import Foundation
import Synchronization

/// Tells a live page when the statuses it shows changed: a service becoming healthy changes its
/// status but leaves no event. Reads the statuses at most every two seconds and compares what a
/// page shows of them.
package final class StatusWatch: Sendable {
    private let store: any ResourceStore
    private let project: String?
    /// The least time between two reads of the statuses.
    private let interval: Duration
    private let state = Mutex(State())

    /// What the last look saw, and when it was.
    private struct State {
        var fingerprint: Int?
        var checkedAt: ContinuousClock.Instant?
    }

    package init(store: any ResourceStore, project: String?, interval: Duration = .seconds(2)) {
        self.store = store
        self.project = project
        self.interval = interval
    }

    /// Whether the statuses differ from the last look; the first look only remembers them.
    package func changed() async throws(StoreError) -> Bool {
        let now = ContinuousClock.now
        let due = state.withLock { state in
            guard state.checkedAt.map({ now - $0 >= interval }) ?? true else { return false }
            state.checkedAt = now
            return true
        }
        guard due else { return false }
        var hasher = Hasher()
        for status in try await store.statuses(project: project) {
            hasher.combine(status.id)
            hasher.combine(status.phase)
            hasher.combine(status.readyReplicas)
            hasher.combine(status.desiredReplicas)
            hasher.combine(status.restartCount)
            hasher.combine(status.lastAction)
            hasher.combine(status.conditions)
        }
        let fingerprint = hasher.finalize()
        return state.withLock { state in
            defer { state.fingerprint = fingerprint }
            return state.fingerprint.map { $0 != fingerprint } ?? false
        }
    }
}
