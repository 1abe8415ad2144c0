/// Which replicas of each service a plan converges: every one (`berth apply`, a controller that
/// is no node), or those of one node (`berth serve --node NAME`), by the assignments the leader
/// made (``ReplicaAssignment``).
public enum ReplicaPlacement: Sendable, Hashable {
    /// Every replica runs on this engine.
    case all
    /// The node's name and every assignment, by service and replica: replicas assigned here are
    /// converged, those assigned to another node are removed from here, and a replica with no
    /// assignment keeps the container it has here (if any) without one being created.
    case node(String, [ResourceID: [Int: ReplicaAssignment]])

    /// The assignments grouped by service and replica, as ``node(_:_:)`` takes them.
    public static func node(_ name: String, assignments: [ReplicaAssignment]) -> ReplicaPlacement {
        var map: [ResourceID: [Int: ReplicaAssignment]] = [:]
        for assignment in assignments { map[assignment.service, default: [:]][assignment.replica] = assignment }
        return .node(name, map)
    }

    /// The node the plan is for; nil for ``all``.
    public var nodeName: String? {
        if case .node(let name, _) = self { return name }
        return nil
    }

    /// Where a replica is placed: nil with ``all`` and for a replica not placed yet.
    public func assignment(_ service: ResourceID, replica: Int) -> ReplicaAssignment? {
        guard case .node(_, let assignments) = self else { return nil }
        return assignments[service]?[replica]
    }

    /// The assignment of a replica placed on another node than this plan's.
    public func elsewhere(_ service: ResourceID, replica: Int) -> ReplicaAssignment? {
        guard case .node(let name, let assignments) = self, let assignment = assignments[service]?[replica], assignment.node != name else { return nil }
        return assignment
    }

    /// Whether a replica of `service` is placed on this plan's node (always with ``all``).
    public func placesHere(_ service: ResourceID) -> Bool {
        guard case .node(let name, let assignments) = self else { return true }
        return assignments[service]?.values.contains { $0.node == name } ?? false
    }

    /// The assignment of a replica placed on this plan's node.
    public func here(_ service: ResourceID, replica: Int) -> ReplicaAssignment? {
        guard case .node(let name, let assignments) = self, let assignment = assignments[service]?[replica], assignment.node == name else { return nil }
        return assignment
    }

    /// Whether this plan creates a replica that is missing: always with ``all``; with a node,
    /// only a replica assigned to it.
    public func creates(_ service: ResourceID, replica: Int) -> Bool {
        guard case .node = self else { return true }
        return here(service, replica: replica) != nil
    }
}
