import BerthCore

/// A wake-up: something changed, look again. It carries a key, never the truth (the loop is
/// level-triggered), and may be lost: after `.resync` a consumer replans everything.
public enum StoreNotification: Sendable, Hashable {
    /// A job was submitted (or came back to pending) in this project.
    case jobSubmitted(project: String)
    /// A desired resource was written or deleted, or a service's replicas were placed anew.
    case resourceChanged(ResourceID)
    /// Someone asked to cancel this job.
    case jobCancelRequested(jobID: String)
    /// An operator pinned a revision of the git source, or cleared the pin (`berth rollback`).
    case sourcePinned
    /// Notifications may have been missed (the listener reconnected): replan from scratch.
    case resync
}

/// Wake-ups of the writes to a store, for consumers that wait for work.
public protocol StoreNotifications: Sendable {
    /// A new stream of wake-ups for one consumer; ends when the store closes.
    func notifications() -> AsyncStream<StoreNotification>
}
