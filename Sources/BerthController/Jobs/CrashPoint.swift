import Foundation

/// Places in a job's execution where the crash-safety tests make the controller die: with
/// `BERTH_CRASH_AT=<point>` in its environment, `berth serve` sends itself SIGKILL the first time
/// a job reaches that point, so every state a crash can leave a job in is reached on purpose
/// rather than by a lucky timing. Unset (as in production), reaching a point costs one comparison.
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

    static func reach(_ point: CrashPoint) {
        if armed == point { kill(getpid(), SIGKILL) }
    }
}
