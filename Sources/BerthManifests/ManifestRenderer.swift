import BerthCore
import Yams

/// Writes resources back out as a YAML stream, one document per resource, keys sorted.
public enum ManifestRenderer {
    public static func yaml(_ resources: [Resource]) throws -> String {
        let encoder = YAMLEncoder()
        encoder.options.sortKeys = true
        return try resources.map { "---\n" + (try encoder.encode($0)) }.joined()
    }
}
