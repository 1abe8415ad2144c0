import BerthCore

/// Merges a later compose file (or an extending service) over an earlier one, by the compose
/// specification's merge rules, on the canonical form: mappings merge key by key, scalars are
/// replaced, `ports` merge by `(host_ip, published, target, protocol)`, `volumes` by target,
/// `secrets` and `configs` by target (or source), `env_file` by path, `command`, `entrypoint`
/// and `healthcheck.test` are replaced, `logging` is replaced when the driver changes, and any
/// other list is the union of both.
enum ComposeMerge {
    /// A whole file's top level over another's.
    static func document(_ base: InputNode, _ override: InputNode) -> InputNode {
        mapping(base, override) { key, baseValue, overrideValue in
            guard key == "services" else { return node(baseValue, overrideValue) }
            return mapping(baseValue, overrideValue) { _, baseService, overrideService in service(baseService, overrideService) }
        }
    }

    /// One service over another.
    static func service(_ base: InputNode, _ override: InputNode) -> InputNode {
        mapping(base, override) { key, baseValue, overrideValue in
            switch key {
            case "command", "entrypoint": return overrideValue
            case "ports": return keyed(baseValue, overrideValue) { port in ["host_ip", "published", "target", "protocol"].map { port[$0]?.scalarText ?? "" }.joined(separator: "|") }
            case "volumes": return keyed(baseValue, overrideValue) { text($0["target"]) }
            case "secrets", "configs": return keyed(baseValue, overrideValue) { text($0["target"] ?? $0["source"]) }
            case "env_file": return keyed(baseValue, overrideValue) { text($0["path"]) }
            case "healthcheck":
                return mapping(baseValue, overrideValue) { key, baseTest, overrideTest in key == "test" ? overrideTest : node(baseTest, overrideTest) }
            case "logging":
                let baseDriver = baseValue["driver"].map { text($0) }
                let overrideDriver = overrideValue["driver"].map { text($0) }
                if let baseDriver, let overrideDriver, baseDriver != overrideDriver { return overrideValue }
                return node(baseValue, overrideValue)
            default: return node(baseValue, overrideValue)
            }
        }
    }

    /// Any value: mappings merged, lists unioned, anything else replaced.
    static func node(_ base: InputNode, _ override: InputNode) -> InputNode {
        switch (base.content, override.content) {
        case (.map, .map):
            return mapping(base, override) { key, baseValue, overrideValue in key.hasPrefix("x-") ? overrideValue : node(baseValue, overrideValue) }
        case (.list, .list):
            return keyed(base, override) { text($0) }
        default:
            return override
        }
    }

    /// Both mappings' keys, in the base's order then the override's new ones; a key in both
    /// merged by `merge`.
    private static func mapping(_ base: InputNode, _ override: InputNode, merge: (String, InputNode, InputNode) -> InputNode) -> InputNode {
        guard let baseEntries = base.entries, let overrideEntries = override.entries else { return override }
        var entries = baseEntries
        var positions: [String: Int] = [:]
        for (index, entry) in entries.enumerated() { positions[entry.key] = index }
        for entry in overrideEntries {
            if let index = positions[entry.key] {
                entries[index].value = merge(entry.key, entries[index].value, entry.value)
            } else {
                positions[entry.key] = entries.count
                entries.append(entry)
            }
        }
        var result = base
        result.content = .map(entries)
        return result
    }

    /// Both lists' items, one per key: an override item with the key of a base item is merged
    /// into it (mappings) or replaces it.
    private static func keyed(_ base: InputNode, _ override: InputNode, key: (InputNode) -> String) -> InputNode {
        guard let baseItems = base.items, let overrideItems = override.items else { return override }
        var items: [InputNode] = []
        var positions: [String: Int] = [:]
        for item in baseItems + overrideItems {
            let itemKey = key(item)
            if let index = positions[itemKey] {
                items[index] = node(items[index], item)
            } else {
                positions[itemKey] = items.count
                items.append(item)
            }
        }
        var result = base
        result.content = .list(items)
        return result
    }

    /// A value written out without positions, to compare values and key list items.
    static func text(_ node: InputNode?) -> String {
        guard let node else { return "" }
        switch node.content {
        case .null: return "~"
        case .bool(let value): return value ? "true" : "false"
        case .number(let text), .string(let text): return text.debugDescription
        case .list(let items): return "[" + items.map(text).joined(separator: ",") + "]"
        case .map(let entries): return "{" + entries.map { "\($0.key.debugDescription):\(text($0.value))" }.joined(separator: ",") + "}"
        }
    }
}
