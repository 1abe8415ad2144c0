import Foundation
import Synchronization

/// What the controller of a `serve` process says about itself beside the statuses.
public struct ControllerReport: Sendable, Hashable, Codable {
    /// Since when the controller converges desired state the store could not confirm (the
    /// manifests of now and the store's resources last read); nil when it is fresh.
    public var desiredStateStaleSince: Date?
    /// Why it is stale: the store's error.
    public var desiredStateStaleReason: String?
    /// Status and event writes waiting for the store.
    public var pendingStoreWrites: Int
    /// Writes dropped since the process started because too many waited.
    public var droppedStoreWrites: Int
    /// Whether it holds the leader lease (cron, buckets, certificates, reclaiming jobs).
    public var leading: Bool

    public init(desiredStateStaleSince: Date? = nil, desiredStateStaleReason: String? = nil, pendingStoreWrites: Int = 0, droppedStoreWrites: Int = 0, leading: Bool = false) {
        self.desiredStateStaleSince = desiredStateStaleSince
        self.desiredStateStaleReason = desiredStateStaleReason
        self.pendingStoreWrites = pendingStoreWrites
        self.droppedStoreWrites = droppedStoreWrites
        self.leading = leading
    }
}

/// Shared by the controller and the API of one `serve` process: the controller updates it after
/// every pass; the API shows it (`/v1/status`, `/readyz`).
public final class ControllerHealth: Sendable {
    private let state = Mutex(ControllerReport())

    public init() {}

    public var report: ControllerReport { state.withLock { $0 } }

    func update(_ report: ControllerReport) {
        state.withLock { $0 = report }
    }
}
