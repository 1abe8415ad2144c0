/// Bounds on what one manifest file may ask of the parser, so that a hostile or broken file
/// fails quickly with a clear error instead of exhausting memory, time or the stack.
public struct ManifestLimits: Sendable, Hashable {
    /// Largest file accepted, in bytes. Default 8 MiB.
    public var maxFileBytes: Int
    /// Deepest nesting of mappings and lists, counted from the document root as level 1. Default 64.
    public var maxDepth: Int
    /// Most values in one document, where an alias counts as every value it repeats, so an alias bomb
    /// is rejected without expanding it. Default 100 000.
    public var maxNodes: Int
    /// Most documents in one file, empty ones included. Default 10 000.
    public var maxDocuments: Int
    /// Largest single scalar value, in UTF-8 bytes. Default 1 MiB.
    public var maxScalarBytes: Int

    public init(
        maxFileBytes: Int = 8 << 20,
        maxDepth: Int = 64,
        maxNodes: Int = 100_000,
        maxDocuments: Int = 10_000,
        maxScalarBytes: Int = 1 << 20
    ) {
        self.maxFileBytes = maxFileBytes
        self.maxDepth = maxDepth
        self.maxNodes = maxNodes
        self.maxDocuments = maxDocuments
        self.maxScalarBytes = maxScalarBytes
    }
}
