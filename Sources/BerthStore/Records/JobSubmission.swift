import BerthCore
import Foundation

/// A job to add to the queue.
public struct JobSubmission: Sendable, Hashable {
    public var project: String
    /// The Job document's name; several jobs may share it.
    public var name: String
    public var spec: JobSpec
    /// Higher is claimed first; defaults to the spec's priority.
    public var priority: Int
    /// A second submit with the same key in the same project returns the first job instead of a new one.
    public var idempotencyKey: String?
    /// The resource that made the job: a CronJob (for its concurrency policy and history), a
    /// manifest Job; `nil` for API submissions.
    public var owner: ResourceID?
    /// The Job document's `metadata.labels`, for listings to filter on.
    public var labels: [String: String]

    // JobTemplate submissions.
    /// The template the job was rendered from; `owner` is then the template's identity.
    public var template: JobTemplateRef?
    /// Files written into the container before each attempt starts (checked against the spec's
    /// `inputPaths` and the limits by whoever accepted them).
    public var inputs: [JobInputFile] = []

    public init(
        project: String, name: String, spec: JobSpec, priority: Int? = nil, idempotencyKey: String? = nil, owner: ResourceID? = nil,
        labels: [String: String] = [:]
    ) {
        self.project = project
        self.name = name
        self.spec = spec
        self.priority = priority ?? spec.priority
        self.idempotencyKey = idempotencyKey
        self.owner = owner
        self.labels = labels
    }
}
