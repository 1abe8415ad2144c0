import HTTPTypes
import Synchronization

/// Paces each job's progress reports: a job may post `burst` reports at once, then `perSecond`
/// a second; a report beyond that is answered 429 with `Retry-After`.
public final class ProgressPace: Sendable {
    public let perSecond: Double
    public let burst: Int
    private let buckets = Mutex<[String: TokenBucket]>([:])

    public init(perSecond: Double = 10, burst: Int = 20) {
        self.perSecond = perSecond
        self.burst = burst
    }

    /// Takes one report of `job` at `now`, or throws the 429.
    func take(job: String, now: ContinuousClock.Instant) throws(APIError) {
        let wait: Duration? = buckets.withLock { buckets in
            // Forget the jobs that have been quiet long enough to have a full bucket again, so
            // the table holds only jobs that report now.
            if buckets.count >= 1024 { buckets = buckets.filter { !$0.value.isFull(at: now, self) } }
            var bucket = buckets[job] ?? TokenBucket(tokens: Double(burst), updated: now)
            defer { buckets[job] = bucket }
            return bucket.take(at: now, self)
        }
        if let wait {
            let seconds = Int((wait / .seconds(1)).rounded(.up))
            throw APIError.busy(.tooManyRequests, "job \(job) reports progress faster than \(Int(perSecond)) a second (bursts of \(burst)); wait \(seconds) s", retryAfter: max(seconds, 1))
        }
    }
}

/// A token bucket at an instant: `tokens` left, refilled at the pace's rate up to its burst.
struct TokenBucket: Sendable {
    var tokens: Double
    var updated: ContinuousClock.Instant

    /// Takes a token: nil when there was one, else how long until there is.
    mutating func take(at now: ContinuousClock.Instant, _ pace: ProgressPace) -> Duration? {
        tokens = refilled(at: now, pace)
        updated = now
        guard tokens < 1 else {
            tokens -= 1
            return nil
        }
        return .seconds((1 - tokens) / pace.perSecond)
    }

    func isFull(at now: ContinuousClock.Instant, _ pace: ProgressPace) -> Bool {
        refilled(at: now, pace) >= Double(pace.burst)
    }

    private func refilled(at now: ContinuousClock.Instant, _ pace: ProgressPace) -> Double {
        min(Double(pace.burst), tokens + (now - updated) / .seconds(1) * pace.perSecond)
    }
}
