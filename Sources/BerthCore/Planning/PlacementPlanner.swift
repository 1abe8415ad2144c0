import Foundation

/// A node as placement sees it: its name and labels, whether its heartbeat is recent, and whether
/// an operator cordoned or drained it.
public struct PlacementNode: Sendable, Hashable {
    public var name: String
    public var labels: [String: String]
    /// Its last heartbeat is within its timeout.
    public var ready: Bool
    public var cordoned: Bool
    public var draining: Bool
    /// While it is NotReady: since when (its last heartbeat plus its timeout), on the store's clock.
    public var notReadySince: Date?

    public init(name: String, labels: [String: String] = [:], ready: Bool = true, cordoned: Bool = false, draining: Bool = false, notReadySince: Date? = nil) {
        self.name = name
        self.labels = labels
        self.ready = ready
        self.cordoned = cordoned
        self.draining = draining
        self.notReadySince = notReadySince
    }

    /// Whether new replicas may go there: Ready, neither cordoned nor draining.
    public var isSchedulable: Bool { ready && !cordoned && !draining }

    /// `NotReady`, `Draining`, `Cordoned` or `Ready`, for reasons.
    var stateWord: String {
        if !ready { return "NotReady" }
        if draining { return "Draining" }
        return cordoned ? "Cordoned" : "Ready"
    }
}

/// What one placement pass changes: replicas placed on a node (new ones at generation 1, moved
/// ones one generation later), replicas no longer declared, and why a service's replicas wait.
public struct PlacementDecision: Sendable {
    /// Sorted by service and replica.
    public var assign: [ReplicaAssignment]
    /// Sorted by service and replica.
    public var unassign: [(service: ResourceID, replica: Int)]
    /// The services with a replica that has no node, or stays on one it should leave, and why.
    public var waiting: [ResourceID: String]
    /// The first moment a replica kept on a NotReady node is due to move (its node NotReady for
    /// its `rescheduleAfter`): placing again then moves it without waiting for another pass.
    public var moveDueAt: Date?

    public init(assign: [ReplicaAssignment] = [], unassign: [(service: ResourceID, replica: Int)] = [], waiting: [ResourceID: String] = [:], moveDueAt: Date? = nil) {
        self.assign = assign
        self.unassign = unassign
        self.waiting = waiting
        self.moveDueAt = moveDueAt
    }

    /// Whether it changes no assignment.
    public var changesNothing: Bool { assign.isEmpty && unassign.isEmpty }
}

/// Which node runs each service replica (`placement` in a Service's manifest), pure: the leader
/// runs it each pass over the services, the nodes and the current assignments, and writes what
/// it changes. The same inputs give the same decision.
///
/// A replica keeps its node unless the node was removed, is draining, no longer matches the
/// service's placement, or has been NotReady for longer than the service's `rescheduleAfter`
/// (a cordoned node keeps what it runs). Replicas without a node go to a candidate: a node that
/// is Ready, neither cordoned nor draining, and matches the placement. A spread service's
/// replica goes to the candidate with the fewest replicas of the service, then the fewest
/// replicas overall, then the first by name; a service that does not spread keeps every replica
/// on one node. A replica that finds no candidate stays where it is, or stays without a node.
public enum PlacementPlanner {
    /// The node a service without `placement` runs on when several nodes exist.
    public static let defaultNode = NodeIdentity.defaultName

    /// The changes to `assignments` that place every replica of `services` on `nodes`, judged at
    /// `now` (the store's clock the nodes were read at). Services not in `services` lose theirs.
    public static func plan(
        services: [(id: ResourceID, spec: ServiceSpec)], nodes: [PlacementNode], assignments: [ReplicaAssignment], now: Date
    ) -> PlacementDecision {
        var declared: [ResourceID: ServiceSpec] = [:]
        for service in services where declared[service.id] == nil { declared[service.id] = service.spec }
        let cluster = Cluster(nodes: nodes)
        var current: [ResourceID: [Int: ReplicaAssignment]] = [:]
        var decision = PlacementDecision()
        for assignment in assignments.sorted(by: { ($0.service, $0.replica) < ($1.service, $1.replica) }) {
            if let spec = declared[assignment.service], assignment.replica < spec.replicas {
                current[assignment.service, default: [:]][assignment.replica] = assignment
            } else {
                decision.unassign.append((assignment.service, assignment.replica))
            }
        }

        // Every replica that keeps its node counts toward the load before any is placed, so the
        // order services are placed in does not favour the first ones.
        let pending = declared.sorted { $0.key < $1.key }.map { id, spec in
            ServiceReplicas(id: id, spec: spec, current: current[id] ?? [:], cluster: cluster, now: now)
        }
        var load: [String: Int] = [:]
        for replicas in pending {
            for assignment in replicas.kept.values {
                load[assignment.node, default: 0] += 1
                if let due = ServiceReplicas.moveDue(assignment, spec: replicas.spec, cluster: cluster) {
                    decision.moveDueAt = min(decision.moveDueAt ?? due, due)
                }
            }
        }
        for replicas in pending {
            let placed = replicas.place(load: &load, cluster: cluster, now: now)
            decision.assign += placed.assign
            if !placed.waiting.isEmpty { decision.waiting[replicas.id] = placed.waiting.joined(separator: "; ") }
        }
        return decision
    }

    /// The nodes, by name.
    struct Cluster {
        let nodes: [PlacementNode]
        let byName: [String: PlacementNode]

        init(nodes: [PlacementNode]) {
            var byName: [String: PlacementNode] = [:]
            for node in nodes where byName[node.name] == nil { byName[node.name] = node }
            self.byName = byName
            self.nodes = byName.values.sorted { $0.name < $1.name }
        }

        /// Whether `spec`'s replicas may run on `node`. Without `placement`: the node named
        /// `default`, else the only node when there is exactly one.
        func admits(_ spec: ServiceSpec, _ node: PlacementNode) -> Bool {
            if let placement = spec.placement { return placement.admits(name: node.name, labels: node.labels) }
            if byName[PlacementPlanner.defaultNode] != nil { return node.name == PlacementPlanner.defaultNode }
            return nodes.count == 1
        }

        /// The nodes new replicas of `spec` may go to, by name.
        func candidates(_ spec: ServiceSpec) -> [PlacementNode] {
            nodes.filter { $0.isSchedulable && admits(spec, $0) }
        }

        /// Why `spec` has no candidate.
        func noCandidate(_ spec: ServiceSpec) -> String {
            let matching = nodes.filter { admits(spec, $0) }
            let prefix = "no node to place it on: "
            guard matching.isEmpty else {
                let states = matching.map { "\($0.name) \($0.stateWord)" }.joined(separator: ", ")
                return prefix + "the nodes its placement admits take no new replicas (\(states))"
            }
            guard let placement = spec.placement else { return prefix + "declare placement or run a node named \(PlacementPlanner.defaultNode)" }
            if let node = placement.node { return prefix + "no node named \(node) has registered" }
            if placement.nodeSelector.isEmpty { return prefix + "no node has registered" }
            let labels = placement.nodeSelector.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
            return prefix + "no node has the labels \(labels)"
        }
    }

    /// One service's replicas during a pass: those that keep their node, and those to place.
    struct ServiceReplicas {
        let id: ResourceID
        let spec: ServiceSpec
        /// By replica.
        var kept: [Int: ReplicaAssignment] = [:]
        /// Replicas without a node, or whose node they should leave (with why), by replica.
        var unplaced: [(replica: Int, previous: ReplicaAssignment?, leaving: String?)] = []

        init(id: ResourceID, spec: ServiceSpec, current: [Int: ReplicaAssignment], cluster: Cluster, now: Date) {
            self.id = id
            self.spec = spec
            for replica in 0..<spec.replicas {
                guard let assignment = current[replica] else {
                    unplaced.append((replica, nil, nil))
                    continue
                }
                if let leaving = Self.reasonToLeave(assignment, spec: spec, cluster: cluster, now: now) {
                    unplaced.append((replica, assignment, leaving))
                } else {
                    kept[replica] = assignment
                }
            }
        }

        /// When a replica kept on a NotReady node is due to move: its node NotReady for the
        /// service's `rescheduleAfter` (nil: its node is Ready, or the service never moves).
        static func moveDue(_ assignment: ReplicaAssignment, spec: ServiceSpec, cluster: Cluster) -> Date? {
            guard let node = cluster.byName[assignment.node], !node.ready, let since = node.notReadySince, let wait = spec.rescheduleAfter.timeSpan else { return nil }
            return since.addingTimeInterval(wait.seconds)
        }

        /// Why a replica leaves its node, or nil when it keeps it.
        static func reasonToLeave(_ assignment: ReplicaAssignment, spec: ServiceSpec, cluster: Cluster, now: Date) -> String? {
            guard let node = cluster.byName[assignment.node] else { return "node \(assignment.node) was removed" }
            if node.draining { return "node \(node.name) is draining" }
            if !cluster.admits(spec, node) { return "node \(node.name) no longer matches its placement" }
            if let due = moveDue(assignment, spec: spec, cluster: cluster), now > due, let wait = spec.rescheduleAfter.timeSpan {
                return "node \(node.name) has been NotReady for longer than \(wait)"
            }
            return nil
        }

        /// Places the unplaced replicas, counting each toward `load`; returns the assignments
        /// made and why replicas wait.
        func place(load: inout [String: Int], cluster: Cluster, now: Date) -> (assign: [ReplicaAssignment], waiting: [String]) {
            let candidates = cluster.candidates(spec)
            var unplaced = unplaced
            // A service that does not spread: the one node its replicas go to, else why none can.
            var together: PlacementNode?
            var notTogether: String?
            if !spec.spreadsReplicas {
                (together, notTogether) = target(candidates: candidates, load: load, cluster: cluster)
                if let together, notTogether == nil {
                    // Gathers replicas kept elsewhere (the service stopped spreading) onto it.
                    for (replica, assignment) in kept.sorted(by: { $0.key < $1.key }) where assignment.node != together.name {
                        load[assignment.node, default: 0] -= 1
                        unplaced.append((replica, assignment, nil))
                    }
                    unplaced.sort { $0.replica < $1.replica }
                }
            }
            var perNode: [String: Int] = [:]
            for assignment in kept.values { perNode[assignment.node, default: 0] += 1 }
            var assign: [ReplicaAssignment] = []
            var waiting: [String] = []
            var waitingWithoutNode: [(replica: Int, why: String)] = []
            for (replica, previous, leaving) in unplaced {
                let node: PlacementNode?
                if spec.spreadsReplicas {
                    node = candidates.min { a, b in
                        (perNode[a.name] ?? 0, load[a.name] ?? 0, a.name) < (perNode[b.name] ?? 0, load[b.name] ?? 0, b.name)
                    }
                } else {
                    node = notTogether == nil ? together : nil
                }
                guard let node else {
                    let why = notTogether ?? cluster.noCandidate(spec)
                    if let previous {
                        perNode[previous.node, default: 0] += 1
                        load[previous.node, default: 0] += 1
                        if let leaving { waiting.append("replica \(replica) stays on node \(previous.node) (\(leaving)): \(why)") }
                    } else {
                        waitingWithoutNode.append((replica, why))
                    }
                    continue
                }
                perNode[node.name, default: 0] += 1
                load[node.name, default: 0] += 1
                assign.append(
                    ReplicaAssignment(service: id, replica: replica, node: node.name, generation: (previous?.generation ?? 0) + 1, assignedAt: now))
            }
            for why in Set(waitingWithoutNode.map(\.why)).sorted() {
                let replicas = waitingWithoutNode.filter { $0.why == why }.map(\.replica)
                let which = replicas.count == 1 ? "replica \(replicas[0]) waits" : "replicas \(replicas.map(String.init).joined(separator: ", ")) wait"
                waiting.append("\(which): \(why)")
            }
            return (assign, waiting)
        }

        /// The one node a service that does not spread runs on: the node holding most of its
        /// kept replicas (the first by name among equals), else the candidate with the fewest
        /// replicas overall (nil: no candidate). With a reason when new replicas cannot go there.
        func target(candidates: [PlacementNode], load: [String: Int], cluster: Cluster) -> (node: PlacementNode?, reason: String?) {
            var counts: [String: Int] = [:]
            for assignment in kept.values { counts[assignment.node, default: 0] += 1 }
            if let held = counts.min(by: { ($1.value, $0.key) < ($0.value, $1.key) }), let node = cluster.byName[held.key] {
                guard candidates.contains(node) else {
                    return (node, "spread: false keeps its replicas on node \(node.name), which takes no new replicas (\(node.stateWord))")
                }
                return (node, nil)
            }
            return (candidates.min { (load[$0.name] ?? 0, $0.name) < (load[$1.name] ?? 0, $1.name) }, nil)
        }
    }
}
