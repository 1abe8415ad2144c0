import BerthCore

/// Containers Berth did not create, recorded as the current instances of service replicas
/// (``Adoption``): the controller observes them as those replicas, and forgets one once a plan
/// has replaced or removed its container.
public protocol AdoptionStore: Sendable {
    /// Records adoptions in one transaction; each replaces any record of the same replica (and of
    /// the same container).
    func recordAdoptions(_ adoptions: [Adoption]) async throws(StoreError)
    /// Sorted by project, service and replica; only `project`'s when given.
    func adoptions(project: String?) async throws(StoreError) -> [Adoption]
    /// Forgets the adoption of a container; returns whether there was one.
    @discardableResult
    func forgetAdoption(containerID: String) async throws(StoreError) -> Bool
}
