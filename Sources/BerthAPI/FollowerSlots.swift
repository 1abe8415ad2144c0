import BerthStore
import HTTPTypes
import Synchronization

/// Bounds the followed streams (`follow=true`) open at once, in all and per token, so that
/// followers cannot hold every connection: beyond the total a follow is answered 503, beyond a
/// token's share 429, both with `Retry-After`.
public final class FollowerSlots: Sendable {
    public let limit: Int
    public let perToken: Int
    private let held = Mutex(Held())

    private struct Held {
        var total = 0
        var byToken: [String: Int] = [:]
    }

    public init(limit: Int = 200, perToken: Int = 10) {
        self.limit = limit
        self.perToken = perToken
    }

    /// A place for one more stream of `token`, or the refusal.
    package func take(_ token: TokenRecord) throws(APIError) -> Slot {
        try held.withLock { state throws(APIError) in
            guard state.byToken[token.id, default: 0] < perToken else {
                throw APIError.busy(.tooManyRequests, "the token \"\(token.name)\" already follows \(perToken) streams; close one or try again later")
            }
            guard state.total < limit else {
                throw APIError.busy(.serviceUnavailable, "the server already serves \(limit) followed streams; try again later")
            }
            state.total += 1
            state.byToken[token.id, default: 0] += 1
        }
        return Slot(slots: self, token: token.id)
    }

    private func release(_ token: String) {
        held.withLock { state in
            state.total -= 1
            let remaining = state.byToken[token, default: 1] - 1
            state.byToken[token] = remaining == 0 ? nil : remaining
        }
    }

    /// One stream's place, given back when the response body that holds it is released (after
    /// the stream ended, failed, or was never written).
    package final class Slot: Sendable {
        private let slots: FollowerSlots
        private let token: String

        fileprivate init(slots: FollowerSlots, token: String) {
            self.slots = slots
            self.token = token
        }

        deinit { slots.release(token) }
    }
}
