import BerthCore

/// One non-empty YAML document of a manifest file.
public struct ManifestDocument: Sendable, Hashable {
    /// The file path as the user named it.
    public var file: String
    /// 0-based position of the document in the file's stream, counting skipped empty documents,
    /// so it matches the `---` separators a person counts.
    public var index: Int
    public var root: InputNode

    public init(file: String, index: Int, root: InputNode) {
        self.file = file
        self.index = index
        self.root = root
    }
}
