import BerthCore

/// Reads the files of one compose project (or of one `include`d project) into one canonical
/// document: each file parsed, its top-level keys checked, interpolated, its services' `extends`
/// resolved, its `include`s added, then the files merged in order.
final class ProjectReader {
    /// The top-level keys compose accepts, besides `x-` extension fields.
    static let topLevelKeys = ["version", "name", "include", "services", "networks", "volumes", "secrets", "configs"]
    /// The top-level sections of named resources.
    static let sections = ["networks", "volumes", "secrets", "configs"]

    /// The variables interpolation and `environment` entries without a value read.
    let environment: [String: String]
    let home: String
    /// The compose files being included, outermost first, to refuse an include cycle.
    let includeChain: [String]
    /// Every compose file read, in the order read.
    private(set) var files: [String] = []
    /// What reading noticed but did not refuse.
    var warnings: [ComposeWarning] = []
    /// Interpolated files by absolute path, so a file extended several times is read once.
    private var roots: [String: InputNode] = [:]

    init(environment: [String: String], home: String, includeChain: [String] = []) {
        self.environment = environment
        self.home = home
        self.includeChain = includeChain
    }

    /// The files at `paths` (absolute) merged in order, relative paths against `directory`.
    func read(_ paths: [String], directory: String) throws(ComposeError) -> InputNode {
        var merged: InputNode?
        for path in paths {
            let document = try canonicalDocument(path, directory: directory)
            merged = merged.map { ComposeMerge.document($0, document) } ?? document
        }
        return merged ?? InputNode(.map([]))
    }

    /// One file's top level in canonical form, its `extends` and `include`s resolved.
    private func canonicalDocument(_ path: String, directory: String) throws(ComposeError) -> InputNode {
        let root = try self.root(path, at: nil, field: "")
        let form = CanonicalForm(directory: directory, home: home, environment: environment)
        var document = InputNode(.map([]), location: root.location)
        for entry in root.entries ?? [] {
            switch entry.key {
            case "version", "include":
                continue
            case "services":
                document.set("services", try services(entry.value, file: path, directory: directory), keyLocation: entry.keyLocation)
            case let section where Self.sections.contains(section):
                document.set(section, try form.section(section, entry.value), keyLocation: entry.keyLocation)
            default:
                document.set(entry.key, entry.value, keyLocation: entry.keyLocation)
            }
        }
        if let include = root.entry("include") {
            document = try self.include(include, into: document, file: path)
        }
        return document
    }

    /// The `services` section with every service's `extends` resolved.
    private func services(_ value: InputNode, file: String, directory: String) throws(ComposeError) -> InputNode {
        if value.isNull { return InputNode(.map([]), location: value.location) }
        guard let entries = value.entries else {
            throw ComposeError("expected a mapping of services by name, found \(value.kindDescription)", path: "services", at: value.location)
        }
        var result: [InputNode.Entry] = []
        for entry in entries {
            var entry = entry
            entry.value = try resolvedService(entry.key, file: file, directory: directory, chain: [])
            result.append(entry)
        }
        return InputNode(.map(result), location: value.location)
    }

    /// The interpolated top-level mapping of the file at `path`, read once.
    func root(_ path: String, at location: SourceLocation?, field: String) throws(ComposeError) -> InputNode {
        if let root = roots[path] { return root }
        let raw = try ComposeFiles.parse(path, at: location, field: field)
        for entry in raw.entries ?? [] where !entry.key.hasPrefix("x-") && !Self.topLevelKeys.contains(entry.key) {
            throw ComposeError(
                "unknown top-level key \(entry.key.quotedForMessage); compose allows \(Self.topLevelKeys.joined(separator: ", ")) and x- extension fields",
                path: entry.key, at: entry.keyLocation)
        }
        var interpolator = Interpolator(environment: environment)
        let root = try interpolator.interpolate(raw, path: "")
        warnings += interpolator.warnings
        files.append(path)
        roots[path] = root
        return root
    }

    /// Files read by a nested reader (an included project) counted as read by this one.
    func adopt(_ other: ProjectReader) {
        files += other.files.filter { !files.contains($0) }
        warnings += other.warnings
    }
}
