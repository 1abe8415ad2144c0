import Synchronization

/// Calls of one kind that go together to the database when they come faster than it answers:
/// job submissions (group commit: one statement and one commit for the lot) and reads of one job
/// (one statement for every job asked for meanwhile, each asked once however many wait for it).
///
/// Calls that arrive while `limit` runners are busy wait, and the next runner free takes all of
/// them at once (at most `maxBatch`). A runner is a pool connection: a call that finds fewer than
/// `limit` runners busy queues one (`SQLBackend.post`); a runner takes every waiting call, runs
/// them on its connection's thread, hands each call its result from there, and queues itself
/// again, behind other work, while calls are waiting. So a quiet store runs each call at once,
/// alone; under load the batches grow by themselves, with no timer and no hop back to Swift
/// between two batches. A call is only ever taken by a runner that starts after it arrived, so a
/// read still sees every write acknowledged before it was asked. Keeping `limit` below the pool's
/// size leaves connections for everything else.
///
/// `run` gets the inputs of a batch, oldest first, and returns one result for each, in the same
/// order, so one failing input need not fail the others.
final class BatchedCalls<Input: Sendable, Success: Sendable>: Sendable {
    typealias Run = @Sendable ([Input], any SQLSession) -> [Result<Success, StoreError>]
    /// Queues a runner; the flag tells a runner queueing itself again (`SQLBackend.post`'s `fromWorker`).
    typealias Post = @Sendable (@escaping @Sendable (any SQLSession) -> Void, Bool) -> Bool

    private struct Waiter {
        var input: Input
        var continuation: CheckedContinuation<Result<Success, StoreError>, Never>
    }

    /// Calls not taken by a runner yet, oldest first, and how many runners are queued or running.
    private let state = Mutex<(waiting: [Waiter], runners: Int)>(([], 0))
    private let limit: Int
    private let maxBatch: Int
    private let post: Post
    private let runInputs: Run

    /// At most `limit` runners at once, each taking at most `maxBatch` inputs per batch; `post`
    /// queues a runner on a pool connection (`SQLBackend.post`).
    init(limit: Int, maxBatch: Int, post: @escaping Post, run: @escaping Run) {
        precondition(limit >= 1 && maxBatch >= 1, "batched calls need a runner and room for one input")
        self.limit = limit
        self.maxBatch = maxBatch
        self.post = post
        self.runInputs = run
    }

    /// Runs `input` with whatever else is waiting, and returns its result.
    func run(_ input: Input) async throws(StoreError) -> Success {
        let result = await withCheckedContinuation { continuation in
            let startRunner = state.withLock { state -> Bool in
                state.waiting.append(Waiter(input: input, continuation: continuation))
                guard state.runners < limit else { return false }
                state.runners += 1
                return true
            }
            if startRunner { queueRunner(fromWorker: false) }
        }
        return try result.get()
    }

    /// How many calls wait for a runner now.
    var waitingCount: Int { state.withLock { $0.waiting.count } }

    private func queueRunner(fromWorker: Bool) {
        guard !post({ [self] session in runBatch(on: session) }, fromWorker) else { return }
        // The store is closed: no runner will come for those waiting.
        let abandoned = state.withLock { state -> [Waiter] in
            state.runners -= 1
            // Runners still queued take the waiting calls, or fail them when they find it closed.
            guard state.runners == 0 else { return [] }
            defer { state.waiting = [] }
            return state.waiting
        }
        for waiter in abandoned { waiter.continuation.resume(returning: .failure(.closed)) }
    }

    /// On a pool connection's thread: one batch, then again behind other queued work if calls wait.
    private func runBatch(on session: any SQLSession) {
        let batch = state.withLock { state -> [Waiter] in
            let count = min(state.waiting.count, maxBatch)
            defer { state.waiting.removeFirst(count) }
            return Array(state.waiting.prefix(count))
        }
        if !batch.isEmpty {
            let results = runInputs(batch.map(\.input), session)
            precondition(results.count == batch.count, "a batch returns one result per input")
            for (waiter, result) in zip(batch, results) { waiter.continuation.resume(returning: result) }
        }
        let again = state.withLock { state -> Bool in
            guard !state.waiting.isEmpty else {
                state.runners -= 1
                return false
            }
            return true
        }
        if again { queueRunner(fromWorker: true) }
    }
}
