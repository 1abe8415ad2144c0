import Foundation
import Synchronization

/// Threads of our own for blocking C calls (libpq, SQLite), so they never block Swift's
/// cooperative pool. Each thread owns one `Connection` and runs queued work on it, one item at a
/// time; callers await the result through a continuation.
///
/// SAFETY (`@unchecked Sendable`): `queue` and `stopped` are only touched while holding
/// `condition`; each connection lives on, and is only used by, the thread that made it.
final class BlockingWorkers<Connection: AnyObject>: @unchecked Sendable {
    typealias Work = (Connection) -> Void

    private let condition = NSCondition()
    private var queue: [Work] = []
    private var stopped = false
    private var running: Int
    private let finished = NSCondition()

    /// Starts `count` threads named `name`; each calls `makeConnection` once on its own thread
    /// and `closeConnection` when the workers stop.
    init(count: Int, name: String, makeConnection: @escaping @Sendable () -> Connection, closeConnection: @escaping @Sendable (Connection) -> Void) {
        running = count
        for index in 0..<count {
            let thread = Thread { [self] in
                let connection = makeConnection()
                while let work = next() { work(connection) }
                closeConnection(connection)
                finished.lock()
                running -= 1
                finished.broadcast()
                finished.unlock()
            }
            thread.name = "\(name)-\(index)"
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    private func next() -> Work? {
        condition.lock()
        defer { condition.unlock() }
        while queue.isEmpty && !stopped { condition.wait() }
        if queue.isEmpty { return nil }
        return queue.removeFirst()
    }

    /// Runs `body` on one of the threads with its connection.
    func run<T: Sendable>(_ body: @escaping (Connection) throws(StoreError) -> T) async throws(StoreError) -> T {
        let result: Result<T, StoreError> = await withCheckedContinuation { continuation in
            let accepted = enqueue { connection in
                do throws(StoreError) {
                    continuation.resume(returning: .success(try body(connection)))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
            if !accepted { continuation.resume(returning: .failure(.closed)) }
        }
        return try result.get()
    }

    /// Queues `work` for one of the threads without waiting for it; false once the workers stopped.
    /// A worker that queues work at the end of its own (`fromWorker`) wakes no other thread for
    /// it: it returns to the queue right after, and takes it, or the item ahead of it, itself.
    @discardableResult
    func post(_ work: @escaping Work, fromWorker: Bool = false) -> Bool {
        enqueue(work, wakingAThread: !fromWorker)
    }

    private func enqueue(_ work: @escaping Work, wakingAThread wake: Bool = true) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !stopped else { return false }
        queue.append(work)
        if wake { condition.signal() }
        return true
    }

    private func markStopped() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    /// Lets queued work finish, then stops the threads and closes their connections.
    func stop() async {
        markStopped()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            // Waiting for the threads is itself blocking: do it on a thread of our own too.
            let waiter = Thread { [self] in
                finished.lock()
                while running > 0 { finished.wait() }
                finished.unlock()
                continuation.resume()
            }
            waiter.start()
        }
    }
}
