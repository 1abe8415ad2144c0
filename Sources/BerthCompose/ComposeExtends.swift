import BerthCore

/// `extends`: a service built on another (in the same file, or in `file:` relative to the
/// extending file), the extending service merged over the extended one by the same rules as
/// override files. A cycle is an error naming every link of the chain.
extension ProjectReader {
    /// One link of an `extends` chain.
    struct ServiceReference: Equatable {
        var file: String
        var name: String
    }

    /// The service `name` of `file` in canonical form with its `extends` chain resolved; `chain`
    /// holds the services that extend it (empty for a service read from the file itself), and
    /// `reference` where it was named, for errors.
    func resolvedService(
        _ name: String, file: String, directory: String, chain: [ServiceReference], reference: (path: String, location: SourceLocation?)? = nil
    ) throws(ComposeError) -> InputNode {
        let root = try self.root(file, at: reference?.location, field: reference?.path ?? "")
        let path = FieldPath.key("services", name)
        guard let node = root["services"]?[name] else {
            throw ComposeError("extends service \(name.quotedForMessage), which \(file) does not define", path: reference?.path ?? path, at: reference?.location)
        }
        var own = node
        own.remove("extends")
        let form = CanonicalForm(directory: directory, home: home, environment: environment)
        let service = try form.service(own, path: path)
        guard let extends = node.entry("extends") else { return service }
        let extendsPath = FieldPath.key(path, "extends")
        let (baseName, baseFileText) = try Self.target(of: extends.value, path: extendsPath)
        let baseFile = baseFileText.map { ComposePaths.absolute($0, against: ComposePaths.directory(of: file), home: home) } ?? file
        let baseDirectory = baseFile == file ? directory : ComposePaths.directory(of: baseFile)
        let links = chain + [ServiceReference(file: file, name: name)]
        let base = ServiceReference(file: baseFile, name: baseName)
        if links.contains(base) {
            let names = (links + [base]).map { $0.file == file ? $0.name : "\($0.name) (\($0.file))" }
            throw ComposeError("extends forms a cycle: \(names.joined(separator: " → ")); break the cycle", path: extendsPath, at: extends.value.location)
        }
        let resolvedBase = try resolvedService(baseName, file: baseFile, directory: baseDirectory, chain: links, reference: (extendsPath, extends.value.location))
        return ComposeMerge.service(resolvedBase, service)
    }

    /// The extended service's name and file from `extends: name` or `extends: {service, file}`.
    private static func target(of value: InputNode, path: String) throws(ComposeError) -> (String, String?) {
        if let name = value.stringValue { return (name, nil) }
        guard let name = value["service"]?.stringValue else {
            throw ComposeError("expected a service name or `{service: NAME, file: PATH}`, found \(value.kindDescription)", path: path, at: value.location)
        }
        return (name, value["file"]?.stringValue)
    }
}
