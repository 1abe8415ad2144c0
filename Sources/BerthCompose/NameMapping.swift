import BerthCore

/// Compose names (services, networks, volumes) mapped to Berth resource names, deterministically:
/// lowercased, every character outside `a-z`, `0-9` and `-` replaced by `-`, repeated hyphens
/// folded, hyphens at either end removed, cut to 63 characters; a name that then collides with
/// one mapped before it (in sorted order of the compose names) gets `-2`, `-3`, ….
struct NameMapping {
    private(set) var names: [String: String] = [:]

    /// Maps every name of `composeNames`; `reserved` Berth names are never given out (`default`
    /// for networks, which only compose's own `default` maps to).
    init(_ composeNames: [String], reserved: Set<String> = []) {
        var taken = reserved
        for name in composeNames.sorted() {
            if reserved.contains(name) {
                names[name] = name
                continue
            }
            let base = Self.berthName(name)
            var candidate = base
            var suffix = 2
            while taken.contains(candidate) {
                let tail = "-\(suffix)"
                candidate = String(base.prefix(ResourceName.maximumLength - tail.count)) + tail
                suffix += 1
            }
            taken.insert(candidate)
            names[name] = candidate
        }
    }

    subscript(composeName: String) -> String? { names[composeName] }

    /// The Berth name for a compose name, before collisions are resolved.
    static func berthName(_ name: String) -> String {
        var mapped = ""
        for character in name.lowercased() {
            let keep = character.isASCII && (character.isLetter || character.isNumber)
            if keep {
                mapped.append(character)
            } else if !mapped.isEmpty, mapped.last != "-" {
                mapped.append("-")
            }
        }
        while mapped.last == "-" { mapped.removeLast() }
        mapped = String(mapped.prefix(ResourceName.maximumLength))
        while mapped.last == "-" { mapped.removeLast() }
        return mapped.isEmpty ? "x" : mapped
    }

    /// Warns once for each name that had to change, at the place the name is declared.
    func warnRenamed(_ what: String, declaredAt origins: [String: ComposeOrigin], into log: inout WarningLog) {
        for (composeName, berthName) in names.sorted(by: { $0.key < $1.key }) where composeName != berthName {
            let origin = origins[composeName] ?? ComposeOrigin(field: composeName, location: nil)
            log.warn(
                origin,
                "\(what) \(composeName.quotedForMessage) is named \(berthName.quotedForMessage) in Berth: Berth names are lowercase letters, digits and \"-\" (at most 63)"
            )
        }
    }
}
