/// An untyped input tree, parsed from a YAML document or a JSON body, that resource readers
/// turn into typed specs. Keeping positions here lets every error name file, line and column.
public struct InputNode: Sendable, Hashable {
    /// The value held by a node.
    public enum Content: Sendable, Hashable {
        case null
        case bool(Bool)
        /// A number as written (`3`, `1.5`, `-2e3`); readers decide which numeric type they want.
        case number(String)
        case string(String)
        case list([InputNode])
        case map([Entry])
    }

    /// One key of a mapping, with the key's own position (for "unknown field" errors).
    public struct Entry: Sendable, Hashable {
        public var key: String
        public var keyLocation: SourceLocation?
        public var value: InputNode

        public init(key: String, keyLocation: SourceLocation? = nil, value: InputNode) {
            self.key = key
            self.keyLocation = keyLocation
            self.value = value
        }
    }

    public var content: Content
    public var location: SourceLocation?

    public init(_ content: Content, location: SourceLocation? = nil) {
        self.content = content
        self.location = location
    }

    /// A word for the kind of value, used in "expected X, found Y" messages.
    public var kindDescription: String {
        switch content {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .list: "a list"
        case .map: "a mapping"
        }
    }

    /// The scalar as text (strings, numbers and booleans as written), or nil for null and collections.
    public var scalarText: String? {
        switch content {
        case .string(let text), .number(let text): text
        case .bool(let value): value ? "true" : "false"
        case .null, .list, .map: nil
        }
    }
}
