import Foundation

extension Plan {
    /// The plan without the actions of resources that must not be touched yet (a failed action's
    /// backoff), nor any action that depends on one of them, directly or not. Each withheld
    /// resource gets `waits[resource]`; a resource held up only by another's gets a wait naming it.
    /// Action ids and `after` lists are renumbered so the result is a plan in its own right.
    public func withholding(_ waits: [ResourceID: Wait]) -> Plan {
        guard !waits.isEmpty else { return self }
        var withheld: Set<Int> = []
        var blockedBy: [ResourceID: ResourceID] = [:]
        // `after` always points backwards, so one pass in order sees every dependency first.
        for action in actions {
            if waits[action.resource] != nil {
                withheld.insert(action.id)
            } else if let blocker = action.after.first(where: withheld.contains) {
                withheld.insert(action.id)
                blockedBy[action.resource] = blockedBy[actions[blocker].resource] ?? actions[blocker].resource
            }
        }
        var result = Plan(waits: self.waits, warnings: warnings)
        var renumbered: [Int: Int] = [:]
        for action in actions where !withheld.contains(action.id) {
            renumbered[action.id] = result.actions.count
            var kept = action
            kept.id = result.actions.count
            kept.after = action.after.compactMap { renumbered[$0] }
            result.actions.append(kept)
        }
        let touched = Set(actions.map(\.resource))
        for (resource, wait) in waits.sorted(by: { $0.key < $1.key }) where touched.contains(resource) {
            result.waits.append(wait)
        }
        for (resource, blocker) in blockedBy.sorted(by: { $0.key < $1.key }) where waits[resource] == nil {
            result.waits.append(Wait(resource: resource, reason: "waiting for \(blocker), which is backing off after a failure", until: waits[blocker]?.until))
        }
        return result
    }
}
