import BerthCore
import BerthStore

/// Whether an applied revision became healthy: the resources it changed, and which of them are
/// not Ready yet. Pure: the git sync feeds it the statuses of the passes that converged the revision.
struct RevisionHealth: Sendable {
    /// The services, volumes and buckets the revision added or changed: the ones a status says
    /// Ready or not. Other kinds (projects, jobs, certificates) have no readiness to wait for.
    let changed: [ResourceID]

    init(from old: DesiredState?, to new: DesiredState) {
        let gated: Set<ResourceKind> = [.service, .volume, .bucket]
        changed = new.resources.filter { resource in
            gated.contains(resource.kind) && old?.resource(resource.id)?.spec != resource.spec
        }.map(\.id)
    }

    /// The changed resources not Ready in `statuses`, each with why: empty when the revision is
    /// healthy. A changed resource with no status yet is waited for, unless this controller
    /// cannot judge it (`judgedElsewhere`: replicas on other nodes, buckets of another leader).
    func waiting(_ statuses: [ResourceID: ResourceStatus], judgedElsewhere: Set<ResourceID> = []) -> [String] {
        changed.filter { !judgedElsewhere.contains($0) }.compactMap { id in
            guard let status = statuses[id] else { return "\(id): no status yet" }
            guard status.phase != .ready else { return nil }
            let why = status.conditions.first { $0.type == .ready }.map { "\($0.reason): \($0.message)" }
            return "\(id): \(status.phase)" + (why.map { " (\($0))" } ?? "")
        }
    }
}
