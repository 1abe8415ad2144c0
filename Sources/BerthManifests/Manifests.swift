import BerthCore

/// Manifests read from files and folders and validated into desired state.
public struct Manifests: Sendable {
    /// The files read, in the order read.
    public var files: [String]
    public var state: DesiredState

    /// Reads every file, then every document, then checks resources against each other; the error
    /// lists the problems of all files at once, each with file, line, column and field path.
    /// With `reuse`, a file whose bytes are those of the last load through it is not parsed again,
    /// and unchanged services keep their spec hashes. With `namesRelativeTo`, files under that
    /// folder are named relative to it (a git checkout's files by their path in the repository).
    public static func load(
        paths: [String], limits: ManifestLimits = ManifestLimits(), reuse: ManifestReuse? = nil, namesRelativeTo base: String? = nil
    ) throws(ValidationError) -> Manifests {
        let files = try ManifestFiles.collect(paths: paths)
        var resources: [Resource] = []
        var issues: [ValidationIssue] = []
        var reads: [String: ManifestReuse.FileRead] = [:]
        var names: [String] = []
        let previous = reuse?.snapshot() ?? [:]
        for file in files {
            let name = displayName(file, relativeTo: base)
            names.append(name)
            let read: ManifestReuse.FileRead
            do throws(ValidationError) {
                let bytes = try ManifestFiles.read(file, limits: limits)
                if let known = previous[name], known.bytes == bytes {
                    read = known
                } else {
                    read = parse(bytes, name: name, limits: limits)
                }
            } catch {
                read = ManifestReuse.FileRead(bytes: [], resources: [], issues: error.issues)
            }
            reads[name] = read
            resources += read.resources
            issues += read.issues
        }
        // A file that cannot be read is not kept: the next load tries it again.
        reuse?.replace(with: reads.filter { !$0.value.bytes.isEmpty || $0.value.issues.isEmpty })
        guard issues.isEmpty else { throw ValidationError(issues: issues) }
        let state = try DesiredState.validate(resources, memo: reuse?.specHashes)
        let policyIssues = PolicyCheck.manifestIssues(state)
        guard policyIssues.isEmpty else { throw ValidationError(issues: policyIssues) }
        return Manifests(files: names, state: state)
    }

    /// One file's resources and problems (syntax first, then each document's fields).
    private static func parse(_ bytes: [UInt8], name: String, limits: ManifestLimits) -> ManifestReuse.FileRead {
        do throws(ValidationError) {
            let (resources, issues) = readResources(try YAMLDocumentParser.parse(bytes, file: name, limits: limits))
            return ManifestReuse.FileRead(bytes: bytes, resources: resources, issues: issues)
        } catch {
            return ManifestReuse.FileRead(bytes: bytes, resources: [], issues: error.issues)
        }
    }

    /// `file` relative to `base` when it lies under it, else as it is.
    private static func displayName(_ file: String, relativeTo base: String?) -> String {
        guard let base else { return file }
        let prefix = base.hasSuffix("/") ? base : base + "/"
        return file.hasPrefix(prefix) ? String(file.dropFirst(prefix.count)) : file
    }

    /// Reads one YAML text (a request body, a test fixture) into resources, without cross-checks.
    public static func resources(yaml: String, file: String, limits: ManifestLimits = ManifestLimits()) throws(ValidationError) -> [Resource] {
        try resources(from: try YAMLDocumentParser.parse(yaml, file: file, limits: limits))
    }

    /// Reads parsed documents into resources, without cross-checks; the error lists every
    /// problem with its field path (the syntax was already checked by the parser).
    public static func resources(from documents: [ManifestDocument]) throws(ValidationError) -> [Resource] {
        let (resources, issues) = readResources(documents)
        guard issues.isEmpty else { throw ValidationError(issues: issues) }
        return resources
    }

    private static func readResources(_ documents: [ManifestDocument]) -> ([Resource], [ValidationIssue]) {
        var resources: [Resource] = []
        var issues: [ValidationIssue] = []
        for document in documents {
            let context = ReadContext()
            if let resource = Resource.read(document.root, context: context) {
                resources.append(resource)
            }
            issues += sourceOrdered(context.issues)
        }
        return (resources, issues)
    }

    /// A document's issues are recorded field by field as the readers ask for them; people read
    /// them top to bottom. Issues at the same place keep the order they were found in.
    private static func sourceOrdered(_ issues: [ValidationIssue]) -> [ValidationIssue] {
        issues.enumerated().sorted { a, b in
            let left = (a.element.location?.line ?? 0, a.element.location?.column ?? 0, a.offset)
            let right = (b.element.location?.line ?? 0, b.element.location?.column ?? 0, b.offset)
            return left < right
        }.map(\.element)
    }
}
