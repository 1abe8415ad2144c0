import Synchronization

/// Fans wake-ups out to every open `notifications()` stream.
final class NotificationHub: Sendable {
    private let streams = Mutex<(next: Int, continuations: [Int: AsyncStream<StoreNotification>.Continuation], closed: Bool)>((0, [:], false))

    func stream() -> AsyncStream<StoreNotification> {
        let (stream, continuation) = AsyncStream<StoreNotification>.makeStream(bufferingPolicy: .bufferingNewest(1024))
        let key = streams.withLock { state -> Int? in
            guard !state.closed else { return nil }
            state.next += 1
            state.continuations[state.next] = continuation
            return state.next
        }
        guard let key else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.streams.withLock { $0.continuations.removeValue(forKey: key) }
        }
        return stream
    }

    func send(_ notification: StoreNotification) {
        let continuations = streams.withLock { Array($0.continuations.values) }
        for continuation in continuations { continuation.yield(notification) }
    }

    func finish() {
        let continuations = streams.withLock { state in
            state.closed = true
            defer { state.continuations = [:] }
            return Array(state.continuations.values)
        }
        for continuation in continuations { continuation.finish() }
    }
}
