import Dispatch
import Foundation
import Synchronization
import Testing

@testable import BerthStore

/// Batched calls without a database: which calls share a batch, and who gets which result.
@Suite("Batched calls")
struct BatchedCallsTests {
    final class NoConnection {}

    /// Runners here never touch a database.
    struct NoSession: SQLSession {
        func read<T>(_ body: (any SQLConnection) throws(StoreError) -> T) throws(StoreError) -> T { throw .closed }
        func write<T>(_ body: (SQLTransaction) throws(StoreError) -> T) throws(StoreError) -> T { throw .closed }
        func writeStatement<T>(_ body: (SQLTransaction) throws(StoreError) -> T) throws(StoreError) -> T { throw .closed }
    }

    /// A pool of threads whose runs record every batch, fail negative inputs, and hold a batch
    /// with a held input on its thread until `release()`.
    final class Pool: Sendable {
        let workers: BlockingWorkers<NoConnection>
        private let batches = Mutex<[[Int]]>([])
        private let held: Set<Int>
        private let gate = DispatchSemaphore(value: 0)

        init(threads: Int, holding held: Set<Int> = []) {
            self.held = held
            workers = BlockingWorkers(count: threads, name: "berth-test-pool", makeConnection: { NoConnection() }, closeConnection: { _ in })
        }

        func batchedCalls(limit: Int, maxBatch: Int = 64) -> BatchedCalls<Int, String> {
            BatchedCalls(
                limit: limit, maxBatch: maxBatch, post: { [workers] work, fromWorker in workers.post({ _ in work(NoSession()) }, fromWorker: fromWorker) },
                run: { [self] batch, _ in
                    batches.withLock { $0.append(batch) }
                    // Never for ever: a test that fails early must not leave its thread blocked. A hang
                    // guard only, far beyond the waits of `eventually` a test makes before releasing.
                    if !held.isDisjoint(with: batch) { _ = gate.wait(timeout: .now() + 120) }
                    return batch.map { $0 < 0 ? .failure(.invalidArgument("\($0) is negative")) : .success("wrote \($0)") }
                }
            )
        }

        func release() { gate.signal() }
        var recorded: [[Int]] { batches.withLock { $0 } }
    }

    /// Polls `condition`, for states that threads reach; the minute is a hang guard for a stalled
    /// machine, not a bound on how long reaching the state should take.
    func eventually(_ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while !condition() {
            guard ContinuousClock.now < deadline else { throw SetupError("the batched calls never reached the expected state") }
            try await Task.sleep(for: .milliseconds(1))
        }
    }

    @Test func aLoneCallIsWrittenAtOnceAndAlone() async throws {
        // given
        let pool = Pool(threads: 2)
        let commit = pool.batchedCalls(limit: 1)
        // when
        let first = try await commit.run(1)
        let second = try await commit.run(2)
        await pool.workers.stop()
        // then
        #expect(first == "wrote 1" && second == "wrote 2")
        #expect(pool.recorded == [[1], [2]])
    }

    @Test func callsArrivingWhileEveryRunnerIsBusyShareTheNextBatch() async throws {
        // given: the only runner is busy with 0
        let pool = Pool(threads: 2, holding: [0])
        let commit = pool.batchedCalls(limit: 1)
        async let first = commit.run(0)
        try await eventually { pool.recorded == [[0]] }
        // when
        let results = try await withThrowingTaskGroup(of: (Int, String).self) { group in
            for input in 1...5 { group.addTask { (input, try await commit.run(input)) } }
            try await eventually { commit.waitingCount == 5 }
            pool.release()
            return try await group.reduce(into: [Int: String]()) { $0[$1.0] = $1.1 }
        }
        // then: one batch for the five, each call with its own result
        #expect(try await first == "wrote 0")
        let expected: [Int: String] = [1: "wrote 1", 2: "wrote 2", 3: "wrote 3", 4: "wrote 4", 5: "wrote 5"]
        #expect(results == expected)
        #expect(pool.recorded.count == 2)
        #expect(pool.recorded.last?.sorted() == [1, 2, 3, 4, 5])
        await pool.workers.stop()
    }

    @Test func aBatchHoldsAtMostMaxBatchCalls() async throws {
        // given
        let pool = Pool(threads: 2, holding: [0])
        let commit = pool.batchedCalls(limit: 1, maxBatch: 2)
        async let first = commit.run(0)
        try await eventually { pool.recorded == [[0]] }
        // when
        try await withThrowingTaskGroup(of: Void.self) { group in
            for input in 1...5 { group.addTask { _ = try await commit.run(input) } }
            try await eventually { commit.waitingCount == 5 }
            pool.release()
            try await group.waitForAll()
        }
        _ = try await first
        await pool.workers.stop()
        // then: the waiting five in batches of two at most, oldest first
        #expect(pool.recorded.map(\.count) == [1, 2, 2, 1])
        #expect(pool.recorded.flatMap { $0 }.sorted() == [0, 1, 2, 3, 4, 5])
    }

    @Test func runnersWorkSideBySideUpToTheLimit() async throws {
        // given: two runners on a pool of three
        let pool = Pool(threads: 3, holding: [1, 2])
        let commit = pool.batchedCalls(limit: 2)
        // when
        async let first = commit.run(1)
        try await eventually { pool.recorded.count == 1 }
        async let second = commit.run(2)
        try await eventually { pool.recorded.count == 2 }
        async let third = commit.run(3)
        // then: 1 and 2 are written at once, each alone; 3 waits for one of them
        try await eventually { commit.waitingCount == 1 }
        let batches: [[Int]] = pool.recorded.sorted { $0.first ?? 0 < $1.first ?? 0 }
        #expect(batches == [[1], [2]])
        pool.release()
        pool.release()
        #expect(try await first == "wrote 1")
        #expect(try await second == "wrote 2")
        #expect(try await third == "wrote 3")
        await pool.workers.stop()
    }

    @Test func aFailingInputFailsItsOwnCallOnly() async throws {
        // given
        let pool = Pool(threads: 2, holding: [0])
        let commit = pool.batchedCalls(limit: 1)
        async let first = commit.run(0)
        try await eventually { pool.recorded == [[0]] }
        // when: -1 shares a batch with 1 and 2
        let results = try await withThrowingTaskGroup(of: (Int, Result<String, StoreError>).self) { group in
            for input in [1, -1, 2] {
                group.addTask {
                    do throws(StoreError) {
                        return (input, .success(try await commit.run(input)))
                    } catch {
                        return (input, .failure(error))
                    }
                }
            }
            try await eventually { commit.waitingCount == 3 }
            pool.release()
            return try await group.reduce(into: [Int: Result<String, StoreError>]()) { $0[$1.0] = $1.1 }
        }
        _ = try await first
        await pool.workers.stop()
        // then
        #expect(pool.recorded.count == 2)
        let one: String? = try results[1]?.get()
        let two: String? = try results[2]?.get()
        let refused: StoreError? = results[-1]?.failure
        #expect(one == "wrote 1")
        #expect(two == "wrote 2")
        #expect(refused?.code == .invalidArgument)
    }

    @Test func workAWorkerQueuesAtTheEndOfItsOwnRunsNextOnItsThread() async throws {
        // given: two threads, one of them idle
        let workers = BlockingWorkers<NoConnection>(count: 2, name: "berth-test-pool", makeConnection: { NoConnection() }, closeConnection: { _ in })
        let threads = Mutex<[String]>([])
        let record = { threads.withLock { $0.append(Thread.current.name ?? "?") } }
        // when: a worker queues the next item itself, waking no other thread for it
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            workers.post { _ in
                record()
                workers.post(
                    { _ in
                        record()
                        done.resume()
                    }, fromWorker: true)
            }
        }
        await workers.stop()
        // then
        let names = threads.withLock { $0 }
        #expect(names.count == 2)
        #expect(names.first == names.last, "the queueing worker took it: \(names)")
    }

    @Test func callsFailAsClosedOnceThePoolStopped() async throws {
        // given
        let pool = Pool(threads: 1)
        let commit = pool.batchedCalls(limit: 1)
        await pool.workers.stop()
        // when
        let error = await expectStoreError(.closed) { try await commit.run(1) }
        // then
        #expect(error != nil)
        #expect(commit.waitingCount == 0)
        #expect(pool.recorded.isEmpty)
    }
}
