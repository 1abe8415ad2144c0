import Synchronization

/// Group commit for one kind of write: calls that arrive while `limit` writers are busy wait, and
/// the next writer free takes all of them at once (at most `maxBatch`), one statement and one
/// commit for the lot.
///
/// A writer is a pool connection: a call that finds fewer than `limit` writers busy queues one
/// (`SQLBackend.post`); a writer takes every waiting call, writes them on its connection's thread,
/// hands each call its result from there, and queues itself again, behind other work, while
/// calls are waiting. So a quiet store writes each call at once, alone; under load the batches
/// grow by themselves, with no timer and no hop back to Swift between two batches. Keeping
/// `limit` below the pool's size leaves connections for everything else.
///
/// `write` gets the inputs of a batch, oldest first, and returns one result for each, in the
/// same order, so one failing input need not fail the others.
final class GroupCommit<Input: Sendable, Success: Sendable>: Sendable {
    typealias Write = @Sendable ([Input], any SQLSession) -> [Result<Success, StoreError>]
    typealias Post = @Sendable (@escaping @Sendable (any SQLSession) -> Void) -> Bool

    private struct Waiter {
        var input: Input
        var continuation: CheckedContinuation<Result<Success, StoreError>, Never>
    }

    /// Calls not taken by a writer yet, oldest first, and how many writers are queued or writing.
    private let state = Mutex<(waiting: [Waiter], writers: Int)>(([], 0))
    private let limit: Int
    private let maxBatch: Int
    private let post: Post
    private let write: Write

    /// At most `limit` writers at once, each writing at most `maxBatch` inputs per statement;
    /// `post` queues a writer on a pool connection (`SQLBackend.post`).
    init(limit: Int, maxBatch: Int, post: @escaping Post, write: @escaping Write) {
        precondition(limit >= 1 && maxBatch >= 1, "group commit needs a writer and room for one input")
        self.limit = limit
        self.maxBatch = maxBatch
        self.post = post
        self.write = write
    }

    /// Writes `input` with whatever else is waiting, and returns its result.
    func run(_ input: Input) async throws(StoreError) -> Success {
        let result = await withCheckedContinuation { continuation in
            let startWriter = state.withLock { state -> Bool in
                state.waiting.append(Waiter(input: input, continuation: continuation))
                guard state.writers < limit else { return false }
                state.writers += 1
                return true
            }
            if startWriter { queueWriter() }
        }
        return try result.get()
    }

    /// How many calls wait for a writer now.
    var waitingCount: Int { state.withLock { $0.waiting.count } }

    private func queueWriter() {
        guard !post({ [self] session in writeBatch(session) }) else { return }
        // The store is closed: no writer will come for those waiting.
        let abandoned = state.withLock { state -> [Waiter] in
            state.writers -= 1
            // Writers still queued take the waiting calls, or fail them when they find it closed.
            guard state.writers == 0 else { return [] }
            defer { state.waiting = [] }
            return state.waiting
        }
        for waiter in abandoned { waiter.continuation.resume(returning: .failure(.closed)) }
    }

    /// On a pool connection's thread: one batch, then again behind other queued work if calls wait.
    private func writeBatch(_ session: any SQLSession) {
        let batch = state.withLock { state -> [Waiter] in
            let count = min(state.waiting.count, maxBatch)
            defer { state.waiting.removeFirst(count) }
            return Array(state.waiting.prefix(count))
        }
        if !batch.isEmpty {
            let results = write(batch.map(\.input), session)
            precondition(results.count == batch.count, "a batch write returns one result per input")
            for (waiter, result) in zip(batch, results) { waiter.continuation.resume(returning: result) }
        }
        let again = state.withLock { state -> Bool in
            guard !state.waiting.isEmpty else {
                state.writers -= 1
                return false
            }
            return true
        }
        if again { queueWriter() }
    }
}
