import BerthCore

/// Manifests read from files and folders and validated into desired state.
public struct Manifests: Sendable {
    /// The files read, in the order read.
    public var files: [String]
    public var state: DesiredState

    /// Reads every file, then every document, then checks resources against each other; the error
    /// lists the problems of all files at once, each with file, line, column and field path.
    public static func load(paths: [String], limits: ManifestLimits = ManifestLimits()) throws(ValidationError) -> Manifests {
        let files = try ManifestFiles.collect(paths: paths)
        let loaded = ManifestFiles.loadDocuments(paths: files, limits: limits)
        let (resources, readIssues) = readResources(loaded.documents)
        let issues = loaded.issues + readIssues
        guard issues.isEmpty else { throw ValidationError(issues: issues) }
        let state = try DesiredState.validate(resources)
        let policyIssues = PolicyCheck.manifestIssues(state)
        guard policyIssues.isEmpty else { throw ValidationError(issues: policyIssues) }
        return Manifests(files: files, state: state)
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
