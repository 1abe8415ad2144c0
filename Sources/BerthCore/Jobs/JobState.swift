/// Where a submitted job is in its life: `pending → queued → started → finished | failed | cancelled`.
///
/// The store refuses every transition this type calls illegal, so two controllers can never both
/// advance a job and a terminal job never runs again.
public enum JobState: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    /// Desired, not claimed yet (new, or waiting for a retry).
    case pending
    /// Claimed by one controller; its container is not running yet.
    case queued
    /// Its container runs; the deadline clock runs.
    case started
    case finished
    case failed
    case cancelled

    public var description: String { rawValue }

    /// Finished, failed or cancelled: nothing happens to the job any more.
    public var isTerminal: Bool {
        switch self {
        case .finished, .failed, .cancelled: true
        case .pending, .queued, .started: false
        }
    }

    /// Queued or started: the job holds a controller's lease and counts against project limits.
    public var isActive: Bool { self == .queued || self == .started }

    /// Whether a job may go from this state to `next`.
    ///
    /// - `pending → queued`: a controller claimed it.
    /// - `queued → started`: its container runs.
    /// - `started → finished | failed`: it ended; `queued → failed` too, for a container that could
    ///   not be created or started (a missing image), which never ran.
    /// - `queued | started → pending`: a retry after a failed or lost attempt.
    /// - `pending | queued | started → cancelled`.
    /// - `queued → queued`, `started → started`: an update in place (container id, progress, feedback).
    public func canTransition(to next: JobState) -> Bool {
        switch (self, next) {
        case (.pending, .queued), (.queued, .started), (.started, .finished), (.started, .failed), (.queued, .failed),
            (.queued, .pending), (.started, .pending),
            (.pending, .cancelled), (.queued, .cancelled), (.started, .cancelled),
            (.queued, .queued), (.started, .started):
            true
        default:
            false
        }
    }
}
