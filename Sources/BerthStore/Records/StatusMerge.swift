import BerthCore
import Foundation

extension ResourceStatus {
    /// The one status of a resource whose nodes each wrote a row of it (a service whose replicas
    /// run on several nodes), as reads return it; `node` is nil.
    ///
    /// One row and no assignment: that row. With assignments, only the rows of nodes that hold
    /// one of the service's replicas count (all rows, when none of those wrote one yet), and each
    /// keeps only the replicas assigned to its node; without, every row counts with all its
    /// replicas. A row from a node that is NotReady (or no longer registered) counts no ready
    /// replica, and its replicas' state reads `unknown (node NAME NotReady)`.
    ///
    /// Replicas are sorted by index; ready replicas and restarts add up; the desired count is the
    /// largest, `observedGeneration` the smallest (nil when a row has none), the next attempt the
    /// earliest. The phase is Ready when every desired replica is ready (for a resource without
    /// replicas, every row is Ready) and no row is Failed or Degraded, else the worst row's (Failed, Degraded, Deleting, Progressing, Pending; a Ready
    /// row counts as Progressing). Conditions, the last action and its cause, the revisions and
    /// `updatedAt` come from the row updated last.
    public static func merged(_ rows: [ResourceStatus], assignments: [ReplicaAssignment], nodes: [NodeRecord]) -> ResourceStatus {
        precondition(!rows.isEmpty, "a merged status needs at least one row")
        let assignments = assignments.filter { $0.service == rows[0].id }
        if rows.count == 1, assignments.isEmpty {
            var status = rows[0]
            status.node = nil
            return status
        }
        let owner = Dictionary(assignments.map { ($0.replica, $0.node) }, uniquingKeysWith: { first, _ in first })
        let holding = Set(owner.values)
        let ownRows = rows.filter { $0.node.map(holding.contains) ?? false }
        let filtering = !ownRows.isEmpty
        let considered = filtering ? ownRows : rows
        let ready = Set(nodes.filter(\.isReady).map(\.name))

        var replicas: [ReplicaStatus] = []
        var readyReplicas: Int?
        for row in considered {
            var rowReplicas = row.replicas ?? []
            if filtering, let node = row.node {
                rowReplicas = rowReplicas.filter { replica in replica.replica.map { owner[$0] == node } ?? false }
            }
            var rowReady = row.readyReplicas
            if let node = row.node, !ready.contains(node) {
                rowReady = rowReady.map { _ in 0 }
                for index in rowReplicas.indices { rowReplicas[index].state = "unknown (node \(node) NotReady)" }
            }
            replicas += rowReplicas
            if let rowReady { readyReplicas = (readyReplicas ?? 0) + rowReady }
        }
        replicas.sort { ($0.replica ?? Int.max, $0.container) < ($1.replica ?? Int.max, $1.container) }

        let latest = considered.max { $0.updatedAt < $1.updatedAt }!
        var status = latest
        status.node = nil
        status.replicas = considered.allSatisfy({ $0.replicas == nil }) ? nil : replicas
        status.readyReplicas = readyReplicas
        status.desiredReplicas = considered.compactMap(\.desiredReplicas).max()
        status.restartCount = considered.reduce(0) { $0 + $1.restartCount }
        let generations = considered.map(\.observedGeneration)
        status.observedGeneration = generations.contains(nil) ? nil : generations.compactMap { $0 }.min()
        status.nextAttemptAt = considered.compactMap(\.nextAttemptAt).min()
        let allReady = status.desiredReplicas.map { (status.readyReplicas ?? 0) == $0 } ?? considered.allSatisfy { $0.phase == .ready }
        if allReady, !considered.contains(where: { $0.phase == .failed || $0.phase == .degraded }) {
            status.phase = .ready
        } else {
            status.phase = considered.map { $0.phase == .ready ? .progressing : $0.phase }.max { rank($0) < rank($1) }!
        }
        return status
    }

    /// How bad a row's phase is, for the merged phase: the worst wins.
    private static func rank(_ phase: ResourcePhase) -> Int {
        switch phase {
        case .failed: 4
        case .degraded: 3
        case .deleting: 2
        case .progressing: 1
        default: 0
        }
    }
}
