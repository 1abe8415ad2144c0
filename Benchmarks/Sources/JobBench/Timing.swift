import Foundation
import Synchronization

// Spans of time per job and label, recorded by the timed wrappers and summed by the report.

typealias Instant = ContinuousClock.Instant

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

struct Span: Sendable {
    let job: String?
    let label: String
    let begin: Instant
    let end: Instant
    var seconds: Double { JobBench.seconds(end - begin) }
}

/// Every timed call, and when each job's last step (its scratch volume's removal) returned.
final class Recorder: Sendable {
    struct State {
        var spans: [Span] = []
        var done: [String: Instant] = [:]
        var waiters: [String: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = Mutex(State())
    /// Bumped by every finished job and raw cycle; the watchdog reads it.
    let progress = Atomic<Int>(0)

    func record(_ job: String?, _ label: String, since begin: Instant) {
        let span = Span(job: job, label: label, begin: begin, end: .now)
        state.withLock { $0.spans.append(span) }
    }

    func finished(_ job: String) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard state.done[job] == nil else { return nil }
            state.done[job] = .now
            return state.waiters.removeValue(forKey: job)
        }
        progress.add(1, ordering: .relaxed)
        waiter?.resume()
    }

    func waitFinished(_ job: String) async {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Bool in
                if state.done[job] != nil { return true }
                state.waiters[job] = continuation
                return false
            }
            if ready { continuation.resume() }
        }
    }

    func doneAt(_ job: String) -> Instant? { state.withLock { $0.done[job] } }
    var spans: [Span] { state.withLock { $0.spans } }
    func reset() { state.withLock { $0.spans = [] } }
}

func timed<T>(_ recorder: Recorder, _ label: String, _ body: () async throws -> T) async rethrows -> T {
    let begin = ContinuousClock.now
    defer { recorder.record(nil, label, since: begin) }
    return try await body()
}
