import BerthController
import BerthCore
import Foundation
import Testing

/// The completion webhook's retry schedule and signature.
@Suite struct WebhookConfigurationTests {
    @Test func retriesDoubleUpToTheMaximumAndStopAtTheAttemptOrTimeBound() {
        let configuration = WebhookConfiguration()
        let made = Date(timeIntervalSince1970: 1_000_000)
        var now = made
        var waits: [TimeInterval] = []
        for attempts in 1... {
            guard let next = configuration.retryTime(afterAttempts: attempts, createdAt: made, now: now) else { break }
            waits.append(next.timeIntervalSince(now))
            now = next
        }
        // 10 attempts: 9 waits, 5 s doubling to the 2 min cap, about 10 minutes in all
        #expect(waits == [5, 10, 20, 40, 80, 120, 120, 120, 120])
        #expect(now.timeIntervalSince(made) == 635)
        // a bound in time ends the retries earlier
        let short = WebhookConfiguration(giveUpAfter: .seconds(60))
        #expect(short.retryTime(afterAttempts: 4, createdAt: made, now: made.addingTimeInterval(35)) == nil)
        #expect(short.retryTime(afterAttempts: 3, createdAt: made, now: made.addingTimeInterval(15)) == made.addingTimeInterval(35))
    }

    @Test func theSignatureIsTheHexHMACOfTheBodyWithTheTrimmedSecret() {
        let key = WebhookSignature.key(fromFile: Data("  key\n".utf8))
        let header = WebhookSignature.header(body: Array("The quick brown fox jumps over the lazy dog".utf8), secret: key)
        #expect(header == "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8")
    }
}
