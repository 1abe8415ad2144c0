import BerthCore
import Foundation

/// How completion webhooks are sent and retried (`serve --webhook-…`).
public struct WebhookConfiguration: Sendable {
    /// Attempts before a delivery fails (10 by default).
    public var maxAttempts: Int
    /// The wait before the second attempt; it doubles after each, up to `maxBackoff`.
    public var firstRetry: TimeSpan
    public var maxBackoff: TimeSpan
    /// No attempt starts later than this after the job ended, whatever `maxAttempts` says.
    public var giveUpAfter: TimeSpan
    /// Limit of one attempt (connect, send, answer).
    public var timeout: TimeSpan
    /// Deliveries sent at once by one controller.
    public var concurrency: Int
    /// How often the store is read for deliveries other controllers recorded or left behind.
    public var pollInterval: Duration

    /// The defaults: 10 attempts over about 10 minutes (5 s, 10 s, 20 s … capped at 2 min).
    public init(
        maxAttempts: Int = 10, firstRetry: TimeSpan = .seconds(5), maxBackoff: TimeSpan = .minutes(2), giveUpAfter: TimeSpan = .minutes(15),
        timeout: TimeSpan = .seconds(10), concurrency: Int = 8, pollInterval: Duration = .seconds(2)
    ) {
        self.maxAttempts = max(1, maxAttempts)
        self.firstRetry = firstRetry
        self.maxBackoff = maxBackoff
        self.giveUpAfter = giveUpAfter
        self.timeout = timeout
        self.concurrency = max(1, concurrency)
        self.pollInterval = pollInterval
    }

    /// When the attempt after the `attempts`-th failed one is due, for a delivery made at
    /// `createdAt`; nil when there is none (the attempts or the time ran out).
    public func retryTime(afterAttempts attempts: Int, createdAt: Date, now: Date) -> Date? {
        guard attempts < maxAttempts else { return nil }
        let wait = min(maxBackoff.seconds, firstRetry.seconds * pow(2, Double(max(0, attempts - 1))))
        let next = now.addingTimeInterval(wait)
        return next.timeIntervalSince(createdAt) <= giveUpAfter.seconds ? next : nil
    }
}
