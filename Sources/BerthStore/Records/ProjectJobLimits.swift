import BerthCore

/// A project's limits on active (queued + started) jobs, from its Project resource.
public struct ProjectJobLimits: Sendable, Hashable {
    /// At most this many active jobs; `nil` for no limit.
    public var maxConcurrent: Int?
    /// At most one active job at a time (a project locked while it is processed).
    public var exclusive: Bool

    public init(maxConcurrent: Int? = nil, exclusive: Bool = false) {
        self.maxConcurrent = maxConcurrent
        self.exclusive = exclusive
    }

    public init(_ spec: ProjectSpec) {
        self.init(maxConcurrent: spec.maxConcurrentJobs, exclusive: spec.exclusiveJobs)
    }

    /// The number of active jobs allowed; `nil` for no limit.
    public var effectiveLimit: Int? {
        exclusive ? min(1, maxConcurrent ?? 1) : maxConcurrent
    }
}
