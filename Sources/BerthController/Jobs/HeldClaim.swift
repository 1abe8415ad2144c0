import BerthStore
import Synchronization

/// One execution's hold on its job as the runner's renewals see it: the fencing token its
/// transitions carry, when the store last confirmed the lease (on the monotonic clock, at the
/// moment the confirming call was sent), and whether the hold is gone.
final class HeldClaim: Sendable {
    /// Why an execution no longer holds its job.
    enum Loss: Sendable, Hashable {
        /// The store says another claim holds it: a renewal left it out, or a transition was refused.
        case takenOver
        /// No renewal succeeded for a whole lease: the store may have given the job to another
        /// controller meanwhile, so the execution stops its container (self-fencing).
        case unrenewed
    }

    private struct State {
        var fence: Int
        var confirmed: ContinuousClock.Instant
        var loss: Loss?
    }

    let controller: String
    private let state: Mutex<State>

    init(controller: String, fence: Int, confirmed: ContinuousClock.Instant) {
        self.controller = controller
        state = Mutex(State(fence: fence, confirmed: confirmed))
    }

    /// What the execution's transitions carry.
    var claim: JobClaim { JobClaim(controller: controller, fence: state.withLock { $0.fence }) }
    var fence: Int { state.withLock { $0.fence } }
    var confirmed: ContinuousClock.Instant { state.withLock { $0.confirmed } }
    var loss: Loss? { state.withLock { $0.loss } }

    /// A renewal sent at `instant` extended the lease of claim `fence`.
    func confirm(fence: Int, at instant: ContinuousClock.Instant) {
        state.withLock { state in
            if state.fence == fence, state.loss == nil { state.confirmed = max(state.confirmed, instant) }
        }
    }

    /// This runner took its own expired claim over again: a new token, leased from `instant`.
    func renew(fence: Int, at instant: ContinuousClock.Instant) {
        state.withLock { state in
            state.fence = fence
            state.confirmed = instant
        }
    }

    /// The hold on claim `fence` is gone; the first loss stays.
    func lose(_ loss: Loss, fence: Int) {
        state.withLock { state in
            if state.fence == fence, state.loss == nil { state.loss = loss }
        }
    }
}
