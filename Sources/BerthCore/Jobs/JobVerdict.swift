import Foundation

/// How one attempt of a job ended, as the controller observed it.
public enum AttemptEnd: Sendable, Hashable {
    /// The container exited by itself.
    case exited(code: Int, oomKilled: Bool)
    /// `activeDeadline` passed; the container was stopped.
    case deadlineExceeded(TimeSpan)
    /// Someone asked to cancel; the container was stopped.
    case cancelled
    /// The container could not be created or started (a missing image, an unresolvable env).
    case couldNotStart(String)
    /// The container vanished while the job ran (removed by someone else).
    case workerLost(String)
}

/// What becomes of a job after an attempt: the decision is pure, so every rule is tested without
/// an engine. Reasons are the words of the design: `Completed`, `Error`, `OOMKilled`,
/// `DeadlineExceeded`, `Cancelled`, `WorkerLost`.
public struct JobVerdict: Sendable, Hashable {
    public var state: JobState
    public var reason: String
    public var exitCode: Int?
    /// For a retry (`state == .pending`): not before this time.
    public var retryAt: Date?
    /// A sentence for the event.
    public var message: String

    /// Decides the next state after `attempt` (from 1) ended as `end` at `now`. Failures are
    /// retried while attempts remain (`backoffLimit` retries), after `retryBackoff` doubling per
    /// attempt; exit codes in `nonRetryableExitCodes`, deadlines, cancels and creation failures
    /// are final.
    public static func decide(_ end: AttemptEnd, spec: JobSpec, attempt: Int, retryBackoff: BackoffPolicy, now: Date) -> JobVerdict {
        let retriable: Bool
        var verdict: JobVerdict
        switch end {
        case .exited(0, false):
            return JobVerdict(state: .finished, reason: "Completed", exitCode: 0, message: "completed (exit code 0) on attempt \(attempt)")
        case .exited(let code, true):
            verdict = JobVerdict(state: .failed, reason: "OOMKilled", exitCode: code, message: "killed for using more than its memory limit (exit code \(code))")
            retriable = true
        case .exited(let code, false):
            verdict = JobVerdict(state: .failed, reason: "Error", exitCode: code, message: "exited with code \(code)")
            retriable = !spec.nonRetryableExitCodes.contains(code)
            if !retriable { verdict.message += ", which nonRetryableExitCodes lists: no retry" }
        case .deadlineExceeded(let deadline):
            return JobVerdict(state: .failed, reason: "DeadlineExceeded", message: "ran longer than its activeDeadline of \(deadline); stopped")
        case .cancelled:
            return JobVerdict(state: .cancelled, reason: "Cancelled", message: "cancelled on request")
        case .couldNotStart(let problem):
            return JobVerdict(state: .failed, reason: "Error", message: "could not start: \(problem)")
        case .workerLost(let problem):
            verdict = JobVerdict(state: .failed, reason: "WorkerLost", message: problem)
            retriable = true
        }
        guard retriable, attempt <= spec.backoffLimit else {
            if retriable, spec.backoffLimit > 0 { verdict.message += "; no retries left (backoffLimit \(spec.backoffLimit))" }
            return verdict
        }
        let delay = retryBackoff.delay(afterAttempts: attempt)
        verdict.state = .pending
        verdict.retryAt = now.addingTimeInterval(delay.seconds)
        verdict.message += "; attempt \(attempt + 1) of \(spec.backoffLimit + 1) in \(delay)"
        return verdict
    }

    public init(state: JobState, reason: String, exitCode: Int? = nil, retryAt: Date? = nil, message: String) {
        self.state = state
        self.reason = reason
        self.exitCode = exitCode
        self.retryAt = retryAt
        self.message = message
    }
}
