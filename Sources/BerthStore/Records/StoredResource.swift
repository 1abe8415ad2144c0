import BerthCore
import Foundation

/// Who wrote a desired resource into the store.
public enum ResourceSource: String, Sendable, Hashable, Codable, CaseIterable {
    /// Through the HTTP API by an API writer (a token without `admin`); the store is the only
    /// copy. Held to its project's policy, and never manages a bucket Berth did not create.
    case api
    /// Through the HTTP API with an `admin` token: the operator's own, trusted like a manifest.
    case admin
    /// Mirrored from a manifest file; the manifest owns it.
    case manifest
}

/// A desired resource as the store keeps it.
public struct StoredResource: Sendable, Hashable {
    public var resource: Resource
    /// 1 on creation, bumped on every change of the document (spec or labels) and on delete.
    public var generation: Int64
    public var source: ResourceSource
    public var createdAt: Date
    public var updatedAt: Date
    /// Set by a soft delete: the controller converges the deletion, then purges the row.
    public var deletedAt: Date?

    public var id: ResourceID { resource.id }
    public var isDeleted: Bool { deletedAt != nil }

    public init(resource: Resource, generation: Int64, source: ResourceSource, createdAt: Date, updatedAt: Date, deletedAt: Date? = nil) {
        self.resource = resource
        self.generation = generation
        self.source = source
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.deletedAt = deletedAt
    }
}
