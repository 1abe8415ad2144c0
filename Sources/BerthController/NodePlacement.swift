import BerthCore
import BerthStore
import Foundation
import Logging

/// Where a node's pass finds its replicas: which ones this node converges, and why the replicas
/// no node was found for wait (known to the leader only).
public struct NodeReplicas: Sendable, Hashable {
    public var placement: ReplicaPlacement
    /// Per service with replicas left unplaced, why (``PlacementDecision/waiting``).
    public var waiting: [ResourceID: String]
    /// When the leader should place again by time alone: replicas wait for a node, or a node
    /// holding replicas is not Ready (they move once it has been so for their `rescheduleAfter`:
    /// at that moment, if it comes before the next interval).
    public var placeAgainIn: Duration?

    public init(placement: ReplicaPlacement, waiting: [ResourceID: String] = [:], placeAgainIn: Duration? = nil) {
        self.placement = placement
        self.waiting = waiting
        self.placeAgainIn = placeAgainIn
    }
}

/// Why a one-off plan or converge (`berth plan`, `berth apply`, `GET /v1/plan`) cannot tell
/// which replicas are this engine's.
public struct NodeChoiceError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// A node's part in placing service replicas (`placement` in the manifest). While this
/// controller leads, each pass places the replicas of every declared service on the nodes
/// (``PlacementPlanner``, at the store's clock) and writes what changed under the leader lease,
/// which fences a leader that lost it. Every node then reads the assignments, so its pass
/// converges the replicas assigned to it. A store that cannot be read leaves the assignments
/// last read; before the first read there are none, so only the containers already on the
/// engine are converged and none is created.
public actor NodePlacement {
    /// The lease the leader places under (the controller's leader lease).
    public static let leaseName = "controller"
    /// How soon the leader places again while replicas wait or a node holding some is not Ready.
    public static let placeAgainInterval = Duration.seconds(5)

    private let store: any NodeRegistry & PlacementStore
    private let node: String
    /// This controller's name in the leader lease.
    private let holder: String
    private let timeout: Duration
    private let logger: Logger
    private let events: StoreWriteBuffer?
    /// The assignments last read or written; nil before the first read.
    private var assignments: [ReplicaAssignment]?
    private var failures: ConditionLog

    /// `events`: where the leader's placement events go (the reconciler's ``Reconciler/storeWrites``).
    public init(
        store: any NodeRegistry & PlacementStore, node: String, holder: String, timeout: Duration = .seconds(5), events: StoreWriteBuffer? = nil,
        logger: Logger = Logger(label: "berth.controller")
    ) {
        self.store = store
        self.node = node
        self.holder = holder
        self.timeout = timeout
        self.events = events
        self.logger = logger
        failures = ConditionLog(logger: logger, occasion: "pass")
    }

    /// The replicas of this node for a pass over `desired`; `leading`: place them first. A
    /// placement that fails leaves it to the next pass: with the lease lost meanwhile, this pass
    /// reads what the new leader wrote; with the store away, it keeps the assignments last known.
    public func replicas(for desired: DesiredState, leading: Bool) async -> NodeReplicas {
        if leading {
            do {
                let placed = try await place(desired)
                failures.ended("place")
                return NodeReplicas(placement: .node(node, assignments: placed.assignments), waiting: placed.waiting, placeAgainIn: placed.placeAgainIn)
            } catch {
                failures.holds("place", "cannot place the services' replicas on the nodes; trying again on the next pass: \(error)")
                guard let error = error as? StoreError, error.code == .stateConflict else {
                    return NodeReplicas(placement: .node(node, assignments: assignments ?? []))
                }
            }
        }
        await read()
        return NodeReplicas(placement: .node(node, assignments: assignments ?? []))
    }

    /// The replicas a one-off plan or converge on this engine works on. `node` named: that
    /// node's, by the assignments the leader last wrote (what its `berth serve` converges; a
    /// replica not placed yet is not created). Not named: every replica when the store knows at
    /// most one node (a single host); with several, which one this engine is must be said.
    public static func replicas(ofNode node: String?, store: any NodeRegistry & PlacementStore) async throws -> ReplicaPlacement {
        let nodes = try await store.nodes().map(\.name).sorted()
        guard let node else {
            guard nodes.count > 1 else { return .all }
            throw NodeChoiceError(
                description:
                    "this store places replicas on \(nodes.count) nodes (\(nodes.joined(separator: ", "))): name the node whose engine this is (a node that is gone for good: berth nodes remove NAME)")
        }
        guard nodes.contains(node) else {
            throw NodeChoiceError(description: "no node \(node) in this store; its nodes: \(nodes.isEmpty ? "none yet" : nodes.joined(separator: ", "))")
        }
        return .node(node, assignments: try await store.assignments())
    }

    /// Places every service's replicas and writes the changes (under the lease: `stateConflict`
    /// when this controller no longer holds it); returns the assignments after them, why replicas
    /// wait, and how soon to place again.
    private func place(_ desired: DesiredState) async throws -> (assignments: [ReplicaAssignment], waiting: [ResourceID: String], placeAgainIn: Duration?) {
        let store = store
        let (records, current) = try await withStoreDeadline(timeout) { () async throws -> ([NodeRecord], [ReplicaAssignment]) in
            (try await store.nodes(), try await store.assignments())
        }
        // The store's clock, as the node states are judged by.
        let now = records.map(\.readAt).max() ?? Date()
        let decision = PlacementPlanner.plan(services: desired.services, nodes: records.map(\.placementNode), assignments: current, now: now)
        if !decision.changesNothing {
            let (holder, assign, unassign) = (holder, decision.assign, decision.unassign)
            try await withStoreDeadline(timeout) {
                try await store.updateAssignments(assign: assign, unassign: unassign, leaseName: Self.leaseName, holder: holder)
            }
            record(decision, previous: current)
        }
        let placed = Self.applying(decision, to: current)
        assignments = placed
        let notReady = Set(records.filter { !$0.isReady }.map(\.name))
        guard !decision.waiting.isEmpty || placed.contains(where: { notReady.contains($0.node) }) else { return (placed, decision.waiting, nil) }
        // A move due sooner than the interval is placed when due, not up to an interval late.
        let due = decision.moveDueAt.map { Duration.milliseconds(max(0, Int64(($0.timeIntervalSince(now) * 1000).rounded(.up)))) }
        return (placed, decision.waiting, min(due ?? Self.placeAgainInterval, Self.placeAgainInterval))
    }

    /// Reads the assignments; a store that cannot be read leaves the last ones read.
    private func read() async {
        let store = store
        do {
            assignments = try await withStoreDeadline(timeout) { try await store.assignments() }
            failures.ended("read")
        } catch {
            let kept = assignments.map { "the \($0.count) last read" } ?? "none, so no replica is created here"
            failures.holds("read", "cannot read where the services' replicas are placed; converging with \(kept): \(error)")
        }
    }

    /// Logs each placement change and leaves an event for it.
    private func record(_ decision: PlacementDecision, previous: [ReplicaAssignment]) {
        let before = Dictionary(previous.map { (ReplicaKey($0.service, $0.replica), $0) }, uniquingKeysWith: { first, _ in first })
        var writes: [StoreWrite] = []
        for assignment in decision.assign {
            let from = before[ReplicaKey(assignment.service, assignment.replica)].map { " (moved from node \($0.node))" } ?? ""
            let message = "replica \(assignment.replica) placed on node \(assignment.node), generation \(assignment.generation)\(from)"
            logger.info("\(message)", metadata: ["berth.resource": "\(assignment.service)"])
            writes.append(.appendEvent(EventRecord(resource: assignment.service, project: assignment.service.project, type: .normal, reason: "Placed", message: message, time: Date())))
        }
        for (service, replica) in decision.unassign {
            logger.info("replica \(replica) unplaced: its service shrank or is no longer declared", metadata: ["berth.resource": "\(service)"])
        }
        events?.add(writes)
    }

    /// `current` with the decision's changes made.
    static func applying(_ decision: PlacementDecision, to current: [ReplicaAssignment]) -> [ReplicaAssignment] {
        var byReplica = Dictionary(current.map { (ReplicaKey($0.service, $0.replica), $0) }, uniquingKeysWith: { first, _ in first })
        for (service, replica) in decision.unassign { byReplica[ReplicaKey(service, replica)] = nil }
        for assignment in decision.assign { byReplica[ReplicaKey(assignment.service, assignment.replica)] = assignment }
        return byReplica.values.sorted { ($0.service, $0.replica) < ($1.service, $1.replica) }
    }

    private struct ReplicaKey: Hashable {
        var service: ResourceID
        var replica: Int
        init(_ service: ResourceID, _ replica: Int) {
            self.service = service
            self.replica = replica
        }
    }
}
