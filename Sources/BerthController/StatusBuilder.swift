import BerthCore
import BerthStore
import Foundation

/// Derives each declared service's, volume's and bucket's status from one pass: what runs now, what the
/// plan waits for, what failed. Pure, so the rules are tested without an engine.
struct StatusBuilder {
    var desired: DesiredState
    /// Observed after the pass's actions.
    var observed: ObservedState
    var plan: Plan
    var report: ExecutionReport
    var failures: [ResourceID: FailureRecord]
    var previous: [ResourceID: ResourceStatus]
    var generations: [ResourceID: Int64]
    /// Restarts Berth made in this pass, per service.
    var restarts: [ResourceID: Int]
    /// The git revision the desired state came from; nil without a git source.
    var revision: StatusRevision?
    /// The end of the pass: the statuses' time, and how backoff instants are shown.
    var time: PassTime
    /// Which replicas this engine runs: on a node, each service's status is this node's row,
    /// about its own replicas, and none is written for a service it runs none of.
    var replicas: NodeReplicas

    private var now: Date { time.wall }

    /// How the planner's crash-loop waits begin.
    static let crashLoop = "CrashLoopBackOff: "

    func build() -> [ResourceStatus] {
        var containers: [ResourceID: [ObservedContainer]] = [:]
        for container in observed.containers where container.objectKind == .service {
            guard let project = container.project, let name = container.resourceName else { continue }
            containers[ResourceID(kind: .service, project: project, name: name), default: []].append(container)
        }
        let volumeNames = Set(observed.volumes.map(\.name)).union(observed.foreignVolumeNames)
        var lastActions: [ResourceID: Action] = [:]
        for result in report.results where result.action.operation.isChange || !result.outcome.succeeded {
            if case .skipped = result.outcome { continue }
            lastActions[result.action.resource] = result.action
        }
        // A planned change that did not happen (failed, skipped) leaves its resource unconverged.
        let succeeded = Set(report.results.filter { $0.outcome.succeeded }.map(\.action.id))
        let unfinished = Set(plan.actions.filter { $0.operation.isChange && !succeeded.contains($0.id) }.map(\.resource))
        var statuses: [ResourceStatus] = []
        let node = replicas.placement.nodeName
        for (id, spec) in desired.services {
            let local = containers[id] ?? []
            let expected = expectedReplicas(id, spec, local: local)
            let unplaced = unplacedMessage(id, spec)
            // A node writes no status for a service it has nothing of (the leader: unless it knows why replicas wait).
            if node != nil, local.isEmpty, expected == 0, replicas.waiting[id] == nil { continue }
            var status = start(id, lastAction: lastActions[id])
            status.node = node
            let ready = local.filter { isReady($0, id, spec) }.count
            status.desiredReplicas = spec.replicas
            status.readyReplicas = ready
            status.replicas = local.sorted { $0.name < $1.name }.map { container in
                ReplicaStatus(
                    container: container.name, state: container.state.rawValue, networks: container.endpoints, ports: container.publishedPorts,
                    containerID: container.id, imageID: container.imageID, replica: container.replica, node: node)
            }
            status.restartCount += restarts[id] ?? 0
            let wait = plan.waits.first { $0.resource == id }
            if apply(failure: failures[id], to: &status) {
            } else if let wait, wait.reason.hasPrefix(Self.crashLoop) {
                let message = String(wait.reason.dropFirst(Self.crashLoop.count))
                status.phase = .degraded
                status.nextAttemptAt = wait.until
                status.setCondition(.ready, .false, reason: "CrashLoopBackOff", message: message, now: now)
                status.setCondition(.stalled, .true, reason: "CrashLoopBackOff", message: message, now: now)
            } else if ready == expected, unplaced == nil, !unfinished.contains(id) {
                converged(&status, id, message: "\(ready)/\(expected) replicas ready\(node.map { " on node \($0)" } ?? "")")
            } else {
                progressing(&status, message: wait?.reason ?? unplaced ?? "\(ready)/\(expected) replicas ready\(node.map { " on node \($0)" } ?? "")")
            }
            statuses.append(status)
        }
        for (id, _) in desired.volumes {
            var status = start(id, lastAction: lastActions[id])
            // Volumes are per engine: each node has its own.
            status.node = node
            if apply(failure: failures[id], to: &status) {
            } else if volumeNames.contains(desired.volumeEngineName(project: id.project, name: id.name)) {
                converged(&status, id, message: "volume exists")
            } else {
                progressing(&status, message: "volume not created yet")
            }
            statuses.append(status)
        }
        let buckets = Dictionary(observed.objectStorage.buckets.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for (id, spec) in desired.buckets {
            var status = start(id, lastAction: lastActions[id])
            if apply(failure: failures[id], to: &status) {
            } else if case .unavailable(let reason) = observed.objectStorage {
                stalled(&status, reason: "ObjectStorageUnavailable", message: reason)
            } else if let bucket = buckets[spec.bucketName], !bucket.isOwned, desired.writtenByAPIWriters.contains(id) {
                stalled(&status, reason: "NotManaged", message: "bucket \(spec.bucketName) exists and Berth did not create it: only a manifest or an admin token may manage it")
            } else if buckets[spec.bucketName] != nil, !unfinished.contains(id) {
                converged(&status, id, message: "bucket \(spec.bucketName) exists and is configured")
            } else {
                progressing(&status, message: "bucket \(spec.bucketName) not created or configured yet")
            }
            statuses.append(status)
        }
        return statuses
    }

    /// How many replicas of the service this engine should run: every one, or on a node those
    /// assigned to it and those not placed yet that have a container here.
    private func expectedReplicas(_ id: ResourceID, _ spec: ServiceSpec, local: [ObservedContainer]) -> Int {
        guard case .node = replicas.placement else { return spec.replicas }
        let kept = Set(local.compactMap(\.replica))
        return (0..<spec.replicas).filter { replica in
            replicas.placement.here(id, replica: replica) != nil || (replicas.placement.assignment(id, replica: replica) == nil && kept.contains(replica))
        }.count
    }

    /// On a node, why replicas of the service wait for a place (the leader's reason when it
    /// placed them); nil when every replica is placed.
    private func unplacedMessage(_ id: ResourceID, _ spec: ServiceSpec) -> String? {
        guard case .node = replicas.placement else { return nil }
        let unplaced = (0..<spec.replicas).filter { replicas.placement.assignment(id, replica: $0) == nil }
        guard !unplaced.isEmpty else { return nil }
        let which = unplaced.count == 1 ? "replica \(unplaced[0])" : "replicas \(unplaced.map(String.init).joined(separator: ", "))"
        guard let reason = replicas.waiting[id] else { return "\(which) not placed on a node yet" }
        return "\(which) waiting for a node: \(reason)"
    }

    /// The previous status with this pass's last action, or a new one.
    private func start(_ id: ResourceID, lastAction: Action?) -> ResourceStatus {
        var status = previous[id] ?? ResourceStatus(id: id, phase: .pending, updatedAt: now)
        status.updatedAt = now
        if let lastAction {
            status.lastAction = lastAction.operation.summary
            status.lastCause = lastAction.cause
        }
        status.nextAttemptAt = nil
        if let revision { status.attemptedRevision = revision }
        return status
    }

    /// Marks a failed resource; returns false when it has no failure on record.
    private func apply(failure: FailureRecord?, to status: inout ResourceStatus) -> Bool {
        guard let failure else { return false }
        status.phase = .failed
        let next = time.date(of: failure.nextAttempt)
        status.nextAttemptAt = next
        let attempts = "\(failure.count) failed attempt\(failure.count == 1 ? "" : "s")"
        status.setCondition(.ready, .false, reason: "ActionFailed", message: failure.message, now: now)
        status.setCondition(.stalled, .true, reason: "Backoff", message: "\(attempts); next at \(next.formatted(.iso8601))", now: now)
        status.setCondition(.reconciling, .false, reason: "Backoff", message: failure.message, now: now)
        return true
    }

    /// Failed until something outside Berth changes: stalled, not reconciling.
    private func stalled(_ status: inout ResourceStatus, reason: String, message: String) {
        status.phase = .failed
        status.setCondition(.ready, .false, reason: reason, message: message, now: now)
        status.setCondition(.stalled, .true, reason: reason, message: message, now: now)
        status.setCondition(.reconciling, .false, reason: reason, message: message, now: now)
    }

    private func converged(_ status: inout ResourceStatus, _ id: ResourceID, message: String) {
        status.phase = .ready
        status.observedGeneration = generations[id] ?? status.observedGeneration
        if let revision { status.appliedRevision = revision }
        status.setCondition(.ready, .true, reason: "Converged", message: message, now: now)
        status.setCondition(.reconciling, .false, reason: "Converged", message: message, now: now)
        status.setCondition(.stalled, .false, reason: "Converged", message: message, now: now)
    }

    private func progressing(_ status: inout ResourceStatus, message: String) {
        status.phase = .progressing
        status.setCondition(.ready, .false, reason: "Progressing", message: message, now: now)
        status.setCondition(.reconciling, .true, reason: "Progressing", message: message, now: now)
        status.setCondition(.stalled, .false, reason: "Progressing", message: message, now: now)
    }

    /// Running the desired spec under its canonical name (or adopted, matching the spec field by
    /// field), and healthy when it has a health check.
    private func isReady(_ container: ObservedContainer, _ id: ResourceID, _ spec: ServiceSpec) -> Bool {
        guard let replica = container.replica, replica < spec.replicas, container.state == .running else { return false }
        if container.adopted {
            guard let observed = container.spec, desired.adoptionDifferences(observed: observed, desired: spec, service: id).isEmpty else { return false }
        } else {
            guard container.name == ObjectName.serviceContainer(project: id.project, service: id.name, replica: replica),
                container.specHash == desired.specHashes[id]
            else { return false }
        }
        return spec.healthcheck == nil || container.health == .healthy
    }
}

extension ResourceStatus {
    /// Equal apart from `updatedAt`: whether writing this status would tell anyone anything new.
    func sameContent(as other: ResourceStatus?) -> Bool {
        guard var other else { return false }
        other.updatedAt = updatedAt
        return other == self
    }
}
