import Foundation

/// A job asked for by template (`POST /v1/jobs` with a `template` key): which template, its
/// parameter values as sent, and the input files. Read with the same field reader as documents,
/// so unknown fields and wrong types are reported with their paths.
public struct TemplateSubmission: Sendable {
    public var template: String
    public var project: String
    /// The job's name; the template's when not given.
    public var name: String?
    /// Parameter values as sent; checked against the template by ``JobTemplateSpec/render(parameters:)``.
    public var parameters: [String: InputNode]
    /// Input files with their paths as sent (decoded contents); checked by ``JobInputFile/checked(_:inputPaths:)``.
    public var files: [JobInputFile]
    /// The job's labels.
    public var labels: [String: String]

    /// Whether a request body asks for a template rather than carrying a Job document.
    public static func isTemplateRequest(_ root: InputNode) -> Bool {
        guard case .map(let entries) = root.content else { return false }
        return entries.contains { $0.key == "template" }
    }

    /// Reads the request; throws every problem found at once.
    public static func read(_ root: InputNode) throws(ValidationError) -> TemplateSubmission {
        let context = ReadContext()
        let reader = ValueReader(node: root, path: "", context: context)
        let submission = reader.attempt { reader -> TemplateSubmission? in
            let map = try reader.map()
            defer { map.finish() }
            let template = map.required("template") { try $0.parse(ResourceName.validated) }
            let project = map.optional("project", default: ResourceID.defaultProject) { try $0.parse(ResourceName.validated) }
            let name = map.optional("name") { try $0.parse(ResourceName.validated) }
            let parameters = map.optional("parameters", default: [:]) { try $0.dictionary { $0.node } }
            let files = map.optional("files", default: [:]) { try $0.dictionary(readFile) }
            let labels = map.optional("labels", default: [:]) { try $0.dictionary(validateKey: LabelKey.validateUserLabel) { try $0.string() } }
            guard let template else { return nil }
            return TemplateSubmission(
                template: template, project: project, name: name, parameters: parameters,
                files: files.sorted { $0.key < $1.key }.map { JobInputFile(path: $0.key, content: $0.value) }, labels: labels)
        }
        guard let submission = submission ?? nil, context.issues.isEmpty else { throw ValidationError(issues: context.issues) }
        return submission
    }

    /// One file: `{content, encoding: utf-8 | base64}` (utf-8 when not given).
    private static func readFile(_ reader: ValueReader) throws -> [UInt8] {
        let map = try reader.map()
        defer { map.finish() }
        let encoding = map.optional("encoding", default: .utf8) { try $0.choice(FileEncoding.self) }
        let content = map.required("content") { reader -> [UInt8] in
            let text = try reader.string()
            switch encoding {
            case .utf8: return Array(text.utf8)
            case .base64:
                guard let data = Data(base64Encoded: text) else { throw reader.fail("expected base64 text (encoding: base64)") }
                return Array(data)
            }
        }
        guard let content else { throw AlreadyReported() }
        return content
    }

    /// How a file's `content` is written in the request.
    enum FileEncoding: String, CaseIterable {
        case utf8 = "utf-8"
        case base64
    }

    /// The job this submission gives from `template`: the rendered spec and the checked input
    /// files, or every problem (parameters at `parameters.NAME`, files at `files.PATH`).
    public func render(_ template: JobTemplateSpec) throws(ValidationError) -> (spec: JobSpec, inputs: [JobInputFile]) {
        var issues: [ValidationIssue] = []
        var spec: JobSpec?
        do {
            spec = try template.render(parameters: parameters)
        } catch {
            issues += error.issues
        }
        var inputs: [JobInputFile] = []
        do {
            inputs = try JobInputFile.checked(files, inputPaths: template.job.inputPaths)
        } catch {
            issues += error.issues
        }
        guard let spec, issues.isEmpty else { throw ValidationError(issues: issues) }
        return (spec, inputs)
    }
}
