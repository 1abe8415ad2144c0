import BerthCore

/// `profiles`: a service with profiles is kept only when one of them is active (`*` activates
/// all); a service without profiles always is. `depends_on` entries naming a removed service
/// are removed too, and `profiles` itself is dropped.
enum ComposeProfiles {
    static func apply(to services: InputNode, active: Set<String>) -> InputNode {
        guard let entries = services.entries else { return services }
        let kept = entries.filter { entry in
            guard let profiles = entry.value["profiles"]?.items, !profiles.isEmpty else { return true }
            return active.contains("*") || profiles.contains { $0.scalarText.map(active.contains) ?? false }
        }
        let names = Set(kept.map(\.key))
        var result = services
        result.content = .map(
            kept.map { entry in
                var entry = entry
                entry.value.remove("profiles")
                if let dependencies = entry.value["depends_on"]?.entries {
                    var dependsOn = entry.value["depends_on"] ?? InputNode(.map([]))
                    dependsOn.content = .map(dependencies.filter { names.contains($0.key) })
                    entry.value.set("depends_on", dependsOn)
                }
                return entry
            })
        return result
    }
}
