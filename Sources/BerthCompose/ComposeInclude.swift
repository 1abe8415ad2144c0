import BerthCore

/// Top-level `include`: other compose projects loaded on their own (their own project directory
/// and `.env`) and their resources added to this file's. A resource defined on both sides, or a
/// file that includes itself through others, is an error.
extension ProjectReader {
    /// `document` with the resources of every project `entry` includes.
    func include(_ entry: InputNode.Entry, into document: InputNode, file: String) throws(ComposeError) -> InputNode {
        guard let items = entry.value.items else {
            throw ComposeError("expected a list of files or `{path, project_directory, env_file}`, found \(entry.value.kindDescription)", path: "include", at: entry.value.location)
        }
        var document = document
        let fileDirectory = ComposePaths.directory(of: file)
        for (index, item) in items.enumerated() {
            let path = FieldPath.index("include", index)
            let spec = try IncludeSpec(item, path: path, against: fileDirectory, home: home)
            if let repeated = spec.paths.first(where: { includeChain.contains($0) || $0 == file }) {
                let chain = (includeChain + [file, repeated]).joined(separator: " → ")
                throw ComposeError("include forms a cycle: \(chain); remove one of the includes", path: path, at: item.location)
            }
            let envFiles = spec.envFiles ?? [spec.projectDirectory + "/.env"].filter(ComposeFiles.exists)
            let fileVariables = try ProjectEnvironment.variables(envFiles: envFiles.map { ($0, true) }, over: [:], at: item.location, field: path)
            let reader = ProjectReader(
                environment: fileVariables.merging(environment) { _, outer in outer }, home: home, includeChain: includeChain + [file])
            let included = try reader.read(spec.paths, directory: spec.projectDirectory)
            adopt(reader)
            for section in ["services"] + Self.sections {
                guard let resources = included[section]?.entries, !resources.isEmpty else { continue }
                var merged = document[section] ?? InputNode(.map([]), location: item.location)
                for resource in resources {
                    if merged.entry(resource.key) != nil {
                        throw ComposeError(
                            "\(section).\(resource.key) is defined both here and in the included \(spec.paths.joined(separator: ", ")); rename one or remove it",
                            path: path, at: item.location)
                    }
                    merged.set(resource.key, resource.value, keyLocation: resource.keyLocation)
                }
                document.set(section, merged, keyLocation: item.location)
            }
        }
        return document
    }
}

/// One `include` entry: a path, or `{path, project_directory, env_file}`, made absolute.
private struct IncludeSpec {
    var paths: [String]
    var projectDirectory: String
    var envFiles: [String]?

    init(_ item: InputNode, path: String, against directory: String, home: String) throws(ComposeError) {
        func strings(_ node: InputNode?, field: String) throws(ComposeError) -> [String]? {
            guard let node else { return nil }
            if let text = node.stringValue { return [ComposePaths.absolute(text, against: directory, home: home)] }
            guard let items = node.items, items.allSatisfy({ $0.stringValue != nil }) else {
                throw ComposeError("expected a path or a list of paths, found \(node.kindDescription)", path: FieldPath.key(path, field), at: node.location)
            }
            return items.compactMap(\.stringValue).map { ComposePaths.absolute($0, against: directory, home: home) }
        }
        if let text = item.stringValue {
            paths = [ComposePaths.absolute(text, against: directory, home: home)]
        } else if item.entries != nil, let written = try strings(item["path"], field: "path"), !written.isEmpty {
            paths = written
        } else {
            throw ComposeError("expected a file path or `{path, project_directory, env_file}`, found \(item.kindDescription)", path: path, at: item.location)
        }
        projectDirectory = try strings(item["project_directory"], field: "project_directory")?.first ?? ComposePaths.directory(of: paths[0])
        envFiles = try strings(item["env_file"], field: "env_file")
    }
}
