import BerthStore
import HTTPTypes
import Synchronization

/// Bounds the followed streams (`follow=true`) open at once, in all and per token, so that
/// followers cannot hold every connection: beyond the total a follow is answered 503, beyond a
/// token's share 429, both with `Retry-After`. Displaceable streams (the web UI's) make room at
/// the token's share by ending the token's oldest displaceable stream instead of being refused:
/// a browser that left a page (or quit) has closed that page's streams, but the server learns so
/// only at its next write, and the newest page should always get its stream.
public final class FollowerSlots: Sendable {
    public let limit: Int
    public let perToken: Int
    private let held = Mutex(Held())

    private struct Held {
        var total = 0
        var byToken: [String: Int] = [:]
        var nextID: UInt64 = 0
        /// The open displaceable streams, oldest first.
        var displaceable: [(id: UInt64, token: String, slot: Displacement)] = []
    }

    public init(limit: Int = 200, perToken: Int = 10) {
        self.limit = limit
        self.perToken = perToken
    }

    /// A place for one more stream of `token`, or the refusal; a `displaceable` one, at the
    /// token's share, tells the token's oldest displaceable stream to end (``Slot/isDisplaced``).
    package func take(_ token: TokenRecord, displaceable: Bool = false) throws(APIError) -> Slot {
        let (id, displacement) = try held.withLock { state throws(APIError) in
            if state.byToken[token.id, default: 0] >= perToken {
                guard displaceable, let oldest = state.displaceable.first(where: { $0.token == token.id && !$0.slot.isSet }) else {
                    throw APIError.busy(.tooManyRequests, "the token \"\(token.name)\" already follows \(perToken) streams; close one or try again later")
                }
                oldest.slot.set()
            }
            guard state.total < limit else {
                throw APIError.busy(.serviceUnavailable, "the server already serves \(limit) followed streams; try again later")
            }
            state.total += 1
            state.byToken[token.id, default: 0] += 1
            state.nextID += 1
            let displacement = displaceable ? Displacement() : nil
            if let displacement { state.displaceable.append((state.nextID, token.id, displacement)) }
            return (state.nextID, displacement)
        }
        return Slot(slots: self, token: token.id, id: id, displacement: displacement)
    }

    private func release(_ token: String, id: UInt64) {
        held.withLock { state in
            state.total -= 1
            let remaining = state.byToken[token, default: 1] - 1
            state.byToken[token] = remaining == 0 ? nil : remaining
            state.displaceable.removeAll { $0.id == id }
        }
    }

    /// Set once a newer displaceable stream of the same token took a stream's place.
    package final class Displacement: Sendable {
        private let flag = Atomic(false)

        var isSet: Bool { flag.load(ordering: .relaxed) }
        func set() { flag.store(true, ordering: .relaxed) }
    }

    /// One stream's place, given back when the response body that holds it is released (after
    /// the stream ended, failed, or was never written).
    package final class Slot: Sendable {
        private let slots: FollowerSlots
        private let token: String
        private let id: UInt64
        private let displacement: Displacement?

        fileprivate init(slots: FollowerSlots, token: String, id: UInt64, displacement: Displacement?) {
            self.slots = slots
            self.token = token
            self.id = id
            self.displacement = displacement
        }

        /// Whether a newer stream of its token may take its place (a web UI stream).
        package var isDisplaceable: Bool { displacement != nil }

        /// A newer displaceable stream of its token took its place: the stream should end.
        package var isDisplaced: Bool { displacement?.isSet ?? false }

        deinit { slots.release(token, id: id) }
    }
}
