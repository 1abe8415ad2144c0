import BerthCore
import Foundation
import Testing

/// What becomes of a job after each way an attempt can end.
@Suite("Job verdicts")
struct JobVerdictTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let backoff = BackoffPolicy(initial: .seconds(10), maximum: .minutes(10))

    static func spec(retries: Int = 0, nonRetryable: [Int] = []) throws -> JobSpec {
        JobSpec(container: ContainerSpec(image: try ImageReference(parsing: "busybox:1")), backoffLimit: retries, nonRetryableExitCodes: nonRetryable)
    }

    func decide(_ end: AttemptEnd, retries: Int = 0, nonRetryable: [Int] = [], attempt: Int = 1) throws -> JobVerdict {
        JobVerdict.decide(end, spec: try Self.spec(retries: retries, nonRetryable: nonRetryable), attempt: attempt, retryBackoff: Self.backoff, now: Self.now)
    }

    @Test func exitCodeZeroCompletes() throws {
        let verdict = try decide(.exited(code: 0, oomKilled: false), retries: 3)
        #expect(verdict.state == .finished && verdict.reason == "Completed" && verdict.exitCode == 0 && verdict.retryAt == nil)
    }

    @Test func aFailureWithRetriesLeftGoesBackToPendingAfterAGrowingBackoff() throws {
        // when
        let first = try decide(.exited(code: 3, oomKilled: false), retries: 3, attempt: 1)
        let second = try decide(.exited(code: 3, oomKilled: false), retries: 3, attempt: 2)
        let third = try decide(.exited(code: 3, oomKilled: false), retries: 3, attempt: 3)
        // then
        #expect(first.state == .pending && first.reason == "Error" && first.exitCode == 3)
        #expect(first.retryAt == Self.now.addingTimeInterval(10))
        #expect(second.retryAt == Self.now.addingTimeInterval(20))
        #expect(third.retryAt == Self.now.addingTimeInterval(40))
        #expect(first.message.contains("attempt 2 of 4"))
    }

    @Test func theLastAttemptFails() throws {
        let verdict = try decide(.exited(code: 3, oomKilled: false), retries: 2, attempt: 3)
        #expect(verdict.state == .failed && verdict.retryAt == nil)
        #expect(verdict.message.contains("no retries left"))
    }

    @Test func aNonRetryableExitCodeFailsAtOnce() throws {
        let verdict = try decide(.exited(code: 4, oomKilled: false), retries: 5, nonRetryable: [4])
        #expect(verdict.state == .failed && verdict.reason == "Error" && verdict.exitCode == 4)
        #expect(verdict.message.contains("nonRetryableExitCodes"))
    }

    @Test func anOutOfMemoryKillIsItsOwnReasonAndIsRetried() throws {
        let retried = try decide(.exited(code: 137, oomKilled: true), retries: 1)
        let final = try decide(.exited(code: 137, oomKilled: true))
        #expect(retried.state == .pending && retried.reason == "OOMKilled")
        #expect(final.state == .failed && final.reason == "OOMKilled" && final.exitCode == 137)
    }

    @Test func deadlinesCancelsAndStartFailuresAreFinal() throws {
        let deadline = try decide(.deadlineExceeded(.minutes(5)), retries: 3)
        let cancelled = try decide(.cancelled, retries: 3)
        let unstartable = try decide(.couldNotStart("image busybox:1: not present"), retries: 3)
        #expect(deadline.state == .failed && deadline.reason == "DeadlineExceeded" && deadline.message.contains("5m"))
        #expect(cancelled.state == .cancelled && cancelled.reason == "Cancelled")
        #expect(unstartable.state == .failed && unstartable.message.contains("not present"))
    }

    @Test func aVanishedWorkerIsRetriedAsWorkerLost() throws {
        let verdict = try decide(.workerLost("removed by someone"), retries: 1)
        #expect(verdict.state == .pending && verdict.reason == "WorkerLost")
    }
}
