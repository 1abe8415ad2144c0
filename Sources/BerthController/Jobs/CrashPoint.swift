import BerthCore
import BerthStore
import Foundation

/// Places between two steps of a job's execution where the crash-safety tests make the controller
/// die: with `BERTH_CRASH_AT=<point>` in its environment, `berth serve` sends itself SIGKILL the
/// first time a job reaches that point, so every state a crash can leave a job in is reached on
/// purpose rather than by a lucky timing. Unset (as in production), each step costs one comparison.
/// The in-process tests stop an execution between any two steps instead (`JobExecution.BetweenSteps`).
enum CrashPoint: String, Sendable {
    /// Claimed (`queued`), nothing created yet.
    case claimed
    /// Container and scratch volume created and recorded, not started.
    case created
    /// Recorded `started`, the worker running.
    case started
    /// The worker exited; nothing collected yet.
    case exited
    /// The end recorded; container and scratch volume not removed yet.
    case recorded

    private static let armed = ProcessInfo.processInfo.environment["BERTH_CRASH_AT"].flatMap(CrashPoint.init(rawValue:))

    /// The point between steps `previous` and `next` of an execution of `job`, if it is one.
    static func between(_ previous: JobStep?, _ next: JobStep?, job: JobRecord) -> CrashPoint? {
        switch (previous, next) {
        case (nil, _): .claimed
        case (.createContainer, _) where job.containerID != nil && job.state == .queued: .created
        case (.markStarted, _): .started
        case (.record, _): .recorded
        case (_, .record) where job.state == .started: .exited
        default: nil
        }
    }

    /// An execution's default `betweenSteps`: dies at the armed point.
    static func reach(_ previous: JobStep?, _ next: JobStep?, _ job: JobRecord) {
        guard let armed, armed == between(previous, next, job: job) else { return }
        kill(getpid(), SIGKILL)
    }
}
