import BerthCore
import BerthManifests

/// The problems `text` is rejected with, or an empty list when it parses.
func yamlIssues(of text: String, limits: ManifestLimits = .init()) -> [ValidationIssue] {
    yamlIssues(of: Array(text.utf8), limits: limits)
}

func yamlIssues(of bytes: [UInt8], limits: ManifestLimits = .init()) -> [ValidationIssue] {
    do {
        _ = try YAMLDocumentParser.parse(bytes, file: "m.yaml", limits: limits)
        return []
    } catch {
        return error.issues
    }
}
