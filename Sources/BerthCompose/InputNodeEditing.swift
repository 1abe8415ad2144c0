import BerthCore

/// Small reading and editing helpers on input trees, for the loader's passes and the translator.
extension InputNode {
    /// The entries of a mapping, or nil for any other kind.
    var entries: [Entry]? {
        if case .map(let entries) = content { return entries }
        return nil
    }

    /// The items of a list, or nil for any other kind.
    var items: [InputNode]? {
        if case .list(let items) = content { return items }
        return nil
    }

    /// The string content, or nil for any other kind.
    var stringValue: String? {
        if case .string(let text) = content { return text }
        return nil
    }

    var isNull: Bool { content == .null }

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

    /// The value of `key` in a mapping.
    subscript(key: String) -> InputNode? {
        entries?.first { $0.key == key }?.value
    }

    /// The entry of `key` in a mapping (for the key's position).
    func entry(_ key: String) -> Entry? {
        entries?.first { $0.key == key }
    }

    /// Sets `key` to `value` in a mapping, keeping the key's place when it is there already.
    mutating func set(_ key: String, _ value: InputNode, keyLocation: SourceLocation? = nil) {
        guard var entries else { return }
        if let index = entries.firstIndex(where: { $0.key == key }) {
            entries[index].value = value
        } else {
            entries.append(Entry(key: key, keyLocation: keyLocation ?? value.location, value: value))
        }
        content = .map(entries)
    }

    /// Removes `key` from a mapping, if it is there.
    mutating func remove(_ key: String) {
        guard let entries else { return }
        content = .map(entries.filter { $0.key != key })
    }

    /// A string node at `location`.
    static func string(_ text: String, at location: SourceLocation? = nil) -> InputNode {
        InputNode(.string(text), location: location)
    }

    /// A number node at `location`.
    static func number(_ value: Int, at location: SourceLocation?) -> InputNode {
        InputNode(.number(String(value)), location: location)
    }

    /// A mapping node at `location`, keys placed at the same position.
    static func map(_ pairs: [(String, InputNode)], at location: SourceLocation? = nil) -> InputNode {
        InputNode(.map(pairs.map { Entry(key: $0.0, keyLocation: $0.1.location ?? location, value: $0.1) }), location: location)
    }
}

extension InputNode.Entry {
    /// The position of the field: its key's, else its value's.
    var fieldLocation: SourceLocation? { keyLocation ?? value.location }
}

/// Field paths as errors print them: `services.web.ports[0]`.
enum FieldPath {
    static func key(_ path: String, _ key: String) -> String {
        path.isEmpty ? key : "\(path).\(key)"
    }

    static func index(_ path: String, _ index: Int) -> String {
        "\(path)[\(index)]"
    }
}
