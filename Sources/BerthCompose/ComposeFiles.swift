import BerthCore
import BerthManifests
import Foundation

/// Finding and reading the files of a compose project: the default file names, the override file
/// beside them, and each file's text parsed into a positioned input tree.
enum ComposeFiles {
    /// The names compose looks for when no `-f` is given, in its order of preference.
    static let defaultNames = ["compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml"]

    /// The default file in `directory` and the override file beside it, or nil when there is none.
    static func discover(in directory: String) -> [String]? {
        let fileManager = FileManager.default
        guard let name = defaultNames.first(where: { fileManager.fileExists(atPath: directory + "/" + $0) }) else { return nil }
        let stem = name.hasPrefix("docker-") ? "docker-compose" : "compose"
        let override = ["\(stem).override.yml", "\(stem).override.yaml"].first { fileManager.fileExists(atPath: directory + "/" + $0) }
        return [directory + "/" + name] + (override.map { [directory + "/" + $0] } ?? [])
    }

    /// The text of the file at `path`, refused over the manifest size limit; `location` and `field`
    /// name what asked for the file in errors.
    static func readText(_ path: String, at location: SourceLocation?, field: String) throws(ComposeError) -> String {
        let limit = ManifestLimits().maxFileBytes
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        if let size = attributes?[.size] as? Int, size > limit {
            throw ComposeError("\(path) is \(size) bytes, over the limit of \(limit) bytes", path: field, at: location ?? SourceLocation(file: path, line: 1, column: 1))
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ComposeError("cannot read \(path): no such file, or not readable", path: field, at: location)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ComposeError("\(path) is not UTF-8 text", path: field, at: location ?? SourceLocation(file: path, line: 1, column: 1))
        }
        return text
    }

    /// The top-level mapping of the compose file at `path`.
    static func parse(_ path: String, at location: SourceLocation?, field: String) throws(ComposeError) -> InputNode {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ComposeError("cannot read \(path): no such file, or not readable", path: field, at: location)
        }
        let documents: [ManifestDocument]
        do {
            documents = try YAMLDocumentParser.parse([UInt8](data), file: path)
        } catch {
            throw ComposeError(error)
        }
        let start = SourceLocation(file: path, line: 1, column: 1)
        guard let document = documents.first else {
            throw ComposeError("the compose file is empty; write at least `services:`", at: start)
        }
        guard documents.count == 1 else {
            throw ComposeError("a compose file holds one YAML document, this one has \(documents.count); put the others in files of their own", at: documents[1].root.location ?? start)
        }
        guard case .map = document.root.content else {
            throw ComposeError("a compose file is a mapping (`services:` …), found \(document.root.kindDescription)", at: document.root.location ?? start)
        }
        return document.root
    }
}

extension ComposeFiles {
    /// Whether a file exists at `path`.
    static func exists(_ path: String) -> Bool {
        FileManager.default.fileExists(atPath: path)
    }
}
