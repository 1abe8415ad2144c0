import BerthCore

/// The project name: `-p`, else `COMPOSE_PROJECT_NAME`, else the top-level `name:`, else the
/// project directory's base name; normalized as compose does (lowercase, only `a-z`, `0-9`, `_`
/// and `-`, starting with a letter or digit), then checked to be a valid Berth project name.
enum ProjectName {
    static func resolve(option: String?, environment: [String: String], document: InputNode, directory: String) throws(ComposeError) -> String {
        let nameNode = document["name"]
        let (raw, origin, location): (String, String, SourceLocation?) =
            if let option, !option.isEmpty { (option, "the -p option", nil) } else if let variable = environment["COMPOSE_PROJECT_NAME"], !variable.isEmpty {
                (variable, "COMPOSE_PROJECT_NAME", nil)
            } else if let name = nameNode?.scalarText, !name.isEmpty { (name, "the top-level name", nameNode?.location) } else {
                (ComposePaths.baseName(of: directory), "the project directory's name", nil)
            }
        let name = normalize(raw)
        do {
            try ResourceName.validate(name)
        } catch {
            let reason = error.issues.map(\.message).joined(separator: "; ")
            throw ComposeError("the project name \(name.quotedForMessage) (from \(origin)) is not a valid Berth project name: \(reason); choose one with -p", path: "name", at: location)
        }
        return name
    }

    /// Lowercased, characters outside `a-z0-9_-` removed, leading ones not a letter or digit too.
    static func normalize(_ name: String) -> String {
        let allowed = name.lowercased().filter { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == "-" }
        return String(allowed.drop { $0 == "_" || $0 == "-" })
    }
}
