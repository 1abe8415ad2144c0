import BerthCore
import Foundation

/// Desired resources as the API and manifests wrote them, and the status the controller
/// observed for each.
public protocol ResourceStore: Sendable {
    /// Creates or updates a resource. The generation is bumped only when the document changed
    /// (or the resource was deleted before); writing the same document again changes nothing.
    @discardableResult
    func putResource(_ resource: Resource, source: ResourceSource, now: Date) async throws(StoreError) -> StoredResource
    func resource(_ id: ResourceID) async throws(StoreError) -> StoredResource?
    /// Sorted by id; soft-deleted ones only with `includeDeleted`.
    func resources(kind: ResourceKind?, project: String?, includeDeleted: Bool) async throws(StoreError) -> [StoredResource]
    /// Soft delete: sets `deletedAt` and bumps the generation so the controller converges the
    /// deletion; `purgeResource` removes the row afterwards. Returns nil when there was no such resource.
    @discardableResult
    func deleteResource(_ id: ResourceID, now: Date) async throws(StoreError) -> StoredResource?
    /// Removes the row, its status, and a certificate's stored material. Returns whether there was one.
    @discardableResult
    func purgeResource(_ id: ResourceID) async throws(StoreError) -> Bool

    // MARK: Status

    /// Writes the status's row: each node writes its own row of a service (`status.node`), for
    /// the replicas it runs; a status without a node is the row every node shares.
    func putStatus(_ status: ResourceStatus) async throws(StoreError)
    /// One status, merged over the nodes' rows of it (`ResourceStatus.merged`).
    func status(_ id: ResourceID) async throws(StoreError) -> ResourceStatus?
    /// One status per resource, merged over the nodes' rows; sorted by id.
    func statuses(project: String?) async throws(StoreError) -> [ResourceStatus]
    /// The rows `node` wrote, unmerged, and the rows every node shares where it wrote none of
    /// its own; sorted by id. A node's controller starts from them (its own restart counts).
    func statuses(node: String) async throws(StoreError) -> [ResourceStatus]
    /// Removes the status row `node` wrote of a resource (a node that runs none of its replicas
    /// any more), or with nil every row of one that is neither declared nor observed any more;
    /// returns whether there was one.
    @discardableResult
    func deleteStatus(_ id: ResourceID, node: String?) async throws(StoreError) -> Bool
}
