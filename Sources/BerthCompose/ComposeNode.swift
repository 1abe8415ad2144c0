import BerthCore

/// Where a translated value came from: the compose field's path and its position in the files.
struct ComposeOrigin: Sendable, Hashable {
    /// `services.web.ports[0]`, `volumes.db-data`.
    var field: String
    var location: SourceLocation?

    /// The origin of `key` inside this field (`services.web` + `image`).
    func child(_ key: String, at location: SourceLocation?) -> ComposeOrigin {
        ComposeOrigin(field: "\(field).\(key)", location: location ?? self.location)
    }

    /// The origin of item `index` of this list field.
    func item(_ index: Int, at location: SourceLocation?) -> ComposeOrigin {
        ComposeOrigin(field: "\(field)[\(index)]", location: location ?? self.location)
    }
}

/// The warnings of one translation, in the order found, each once.
struct WarningLog {
    private(set) var warnings: [ComposeWarning] = []
    private var seen: Set<ComposeWarning> = []

    mutating func warn(_ origin: ComposeOrigin, _ message: String) {
        let warning = ComposeWarning(location: origin.location, field: origin.field, message: message)
        if seen.insert(warning).inserted { warnings.append(warning) }
    }
}

/// Reading the canonical compose tree (docs/compose.md, "The canonical form").
extension InputNode {
    /// The value of `key` in a mapping.
    subscript(compose key: String) -> InputNode? {
        guard case .map(let entries) = content else { return nil }
        return entries.first { $0.key == key }?.value
    }

    /// A mapping's entries in written order; none for anything else.
    var mappingEntries: [Entry] {
        if case .map(let entries) = content { return entries }
        return []
    }

    /// A list's items; a scalar is a list of one (compose's `dns: 1.1.1.1`), null none.
    var listItems: [InputNode] {
        switch content {
        case .list(let items): items
        case .null, .map: []
        case .bool, .number, .string: [self]
        }
    }

    /// `true`, or the string `"true"` (labels are strings).
    var isTrue: Bool {
        switch content {
        case .bool(let value): value
        case .string(let text): text.lowercased() == "true"
        default: false
        }
    }

    /// Whether the value says nothing: null, `false`, an empty string, list or mapping.
    var isEmptyValue: Bool {
        switch content {
        case .null: true
        case .bool(let value): !value
        case .string(let text): text.isEmpty
        case .number: false
        case .list(let items): items.isEmpty
        case .map(let entries): entries.isEmpty
        }
    }

    /// A string value placed where `origin` says it came from.
    static func text(_ text: String, at location: SourceLocation? = nil) -> InputNode {
        InputNode(.string(text), location: location)
    }

    /// A mapping of `pairs` in the order given.
    static func mapping(_ pairs: [(String, InputNode)], at location: SourceLocation? = nil) -> InputNode {
        InputNode(.map(pairs.map { Entry(key: $0.0, value: $0.1) }), location: location)
    }
}

extension InputNode.Entry {
    /// The position of the field: its key's, else its value's.
    var fieldLocation: SourceLocation? { keyLocation ?? value.location }
}
