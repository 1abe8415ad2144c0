import BerthCore
import Foundation

/// The nodes of one store: each `berth serve --node NAME` controller registers itself with its
/// heartbeat; operators cordon, drain and remove them (`berth nodes`). Heartbeats and states use
/// the store's clock, so controllers whose clocks differ agree on which node is late.
public protocol NodeRegistry: Sendable {
    /// Registers the node or refreshes its row (labels, engine, counts, heartbeat time); never
    /// clears `cordoned` or `draining`. Returns the row as written.
    @discardableResult
    func heartbeat(_ node: NodeHeartbeat) async throws(StoreError) -> NodeRecord
    /// Every node, by name.
    func nodes() async throws(StoreError) -> [NodeRecord]
    func node(named name: String) async throws(StoreError) -> NodeRecord?
    /// Sets whether the node is cordoned (takes no new work) and draining (its work moves off);
    /// `notFound` for a node that never registered.
    @discardableResult
    func setNodeScheduling(name: String, cordoned: Bool, draining: Bool) async throws(StoreError) -> NodeRecord
    /// Forgets a node that is gone; `notFound` for an unknown one, `stateConflict` while its
    /// heartbeat is recent unless `force` (a running controller registers itself again anyway).
    func removeNode(name: String, force: Bool) async throws(StoreError)
}
