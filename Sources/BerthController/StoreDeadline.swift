import Foundation
import Synchronization

/// A store call that did not answer in time.
public struct StoreDeadlineExceeded: Error, CustomStringConvertible {
    public var limit: Duration
    public var description: String { "the store did not answer within \(limit)" }
}

/// Runs `operation` but waits for it at most `limit`, then throws ``StoreDeadlineExceeded``. The
/// operation itself goes on to its end in the background, its result unused: a database call
/// blocked on a dead connection cannot be interrupted, and a pass must not wait for it.
func withStoreDeadline<T: Sendable>(_ limit: Duration, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
    let waiter = Waiter<T>()
    return try await withCheckedThrowingContinuation { continuation in
        waiter.set(continuation)
        Task {
            do {
                waiter.resume(with: .success(try await operation()))
            } catch {
                waiter.resume(with: .failure(error))
            }
        }
        Task {
            try? await Task.sleep(for: limit)
            waiter.resume(with: .failure(StoreDeadlineExceeded(limit: limit)))
        }
    }
}

/// The one continuation of a race, resumed by whichever side ends first.
private final class Waiter<T: Sendable>: Sendable {
    private let continuation = Mutex<CheckedContinuation<T, any Error>?>(nil)

    func set(_ continuation: CheckedContinuation<T, any Error>) {
        self.continuation.withLock { $0 = continuation }
    }

    func resume(with result: Result<T, any Error>) {
        let waiting = continuation.withLock { waiting in
            defer { waiting = nil }
            return waiting
        }
        waiting?.resume(with: result)
    }
}
