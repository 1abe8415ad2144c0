/// Collects the problems found while reading one input tree, so validation reports all of them at once.
public final class ReadContext {
    /// The resource being read, attached to every issue once known.
    public var resource: ResourceID?
    public private(set) var issues: [ValidationIssue] = []

    public init(resource: ResourceID? = nil) {
        self.resource = resource
    }

    func report(_ message: String, path: String, at location: SourceLocation?) {
        issues.append(ValidationIssue(resource: resource, path: path, location: location, message: message))
    }

    /// Gives issues recorded before the resource identity was known that identity.
    func attachResource(_ id: ResourceID) {
        resource = id
        for index in issues.indices where issues[index].resource == nil {
            issues[index].resource = id
        }
    }
}

/// Thrown inside read closures once a problem has been recorded, to stop reading that one field.
struct AlreadyReported: Error {}

/// Reads one value of an input tree at a known field path, recording what it cannot accept.
public struct ValueReader {
    public let node: InputNode
    public let path: String
    let context: ReadContext

    init(node: InputNode, path: String, context: ReadContext) {
        self.node = node
        self.path = path
        self.context = context
    }

    /// Records a problem at this value and stops reading it.
    public func fail(_ message: String) -> any Error {
        context.report(message, path: path, at: node.location)
        return AlreadyReported()
    }

    /// Any scalar as text: strings, and numbers or booleans exactly as written.
    public func string() throws -> String {
        guard let text = node.scalarText else { throw fail("expected a string, found \(node.kindDescription)") }
        return text
    }

    /// A string that must not be empty.
    public func nonEmptyString() throws -> String {
        let text = try string()
        guard !text.isEmpty else { throw fail("expected a non-empty string") }
        return text
    }

    public func bool() throws -> Bool {
        guard case .bool(let value) = node.content else {
            throw fail("expected a boolean (true or false), found \(describeFound())")
        }
        return value
    }

    /// An integer within `range`.
    public func int(in range: ClosedRange<Int> = Int.min...Int.max) throws -> Int {
        guard case .number(let text) = node.content, let value = Int(text) else {
            throw fail("expected an integer, found \(describeFound())")
        }
        guard range.contains(value) else {
            throw fail("expected an integer from \(range.lowerBound) to \(range.upperBound), found \(value)")
        }
        return value
    }

    /// A scalar parsed by one of the field grammars; its message gets this field's path and position.
    public func parse<T>(_ parser: (String) throws(ValidationError) -> T) throws -> T {
        let text = try string()
        do {
            return try parser(text)
        } catch {
            for issue in error.issues { context.report(issue.message, path: path, at: node.location) }
            throw AlreadyReported()
        }
    }

    /// One of a fixed set of words, with a suggestion when the input is close to one.
    public func choice<T: RawRepresentable & CaseIterable>(_ type: T.Type) throws -> T where T.RawValue == String {
        let text = try string()
        if let value = T(rawValue: text) { return value }
        let words = T.allCases.map(\.rawValue)
        throw fail("expected one of \(words.joined(separator: ", ")), found \"\(text)\"\(Suggestion.didYouMean(text, among: words))")
    }

    /// A list whose items are read one by one; an item that fails is reported and left out.
    public func list<T>(_ readItem: (ValueReader) throws -> T) throws -> [T] {
        guard case .list(let items) = node.content else {
            throw fail("expected a list, found \(describeFound())")
        }
        var values: [T] = []
        for (index, item) in items.enumerated() {
            let reader = ValueReader(node: item, path: "\(path)[\(index)]", context: context)
            if let value = reader.attempt(readItem) { values.append(value) }
        }
        return values
    }

    /// A list of strings, or a single string read as `["/bin/sh", "-c", text]` (shell form).
    public func command() throws -> [String] {
        if case .string(let text) = node.content { return ["/bin/sh", "-c", text] }
        return try list { try $0.string() }
    }

    /// A mapping read field by field; call ``MapReader/finish()`` to report unknown keys.
    public func map() throws -> MapReader {
        guard case .map(let entries) = node.content else {
            throw fail("expected a mapping, found \(describeFound())")
        }
        return MapReader(entries: entries, location: node.location, path: path, context: context)
    }

    /// A mapping with free-form keys (env, labels, options); keys are checked by `validateKey`.
    public func dictionary<T>(
        validateKey: (String) throws(ValidationError) -> Void = { _ in },
        _ readValue: (ValueReader) throws -> T
    ) throws -> [String: T] {
        guard case .map(let entries) = node.content else {
            throw fail("expected a mapping, found \(describeFound())")
        }
        var values: [String: T] = [:]
        for entry in entries {
            let reader = ValueReader(node: entry.value, path: "\(path).\(entry.key)", context: context)
            do {
                try validateKey(entry.key)
            } catch {
                for issue in error.issues {
                    context.report(issue.message, path: reader.path, at: entry.keyLocation ?? entry.value.location)
                }
                continue
            }
            if let value = reader.attempt(readValue) { values[entry.key] = value }
        }
        return values
    }

    /// Runs a read, turning a recorded or thrown problem into `nil`.
    func attempt<T>(_ read: (ValueReader) throws -> T) -> T? {
        do {
            return try read(self)
        } catch is AlreadyReported {
            return nil
        } catch let error as ValidationError {
            for issue in error.issues { context.report(issue.message, path: path, at: node.location) }
            return nil
        } catch {
            context.report("\(error)", path: path, at: node.location)
            return nil
        }
    }

    private func describeFound() -> String {
        switch node.content {
        case .string(let text): "string \"\(text)\""
        case .number(let text): "number \(text)"
        case .bool(let value): "boolean \(value)"
        default: node.kindDescription
        }
    }
}

/// Reads the fields of one mapping; every field asked for counts as known, the rest are reported as unknown.
public final class MapReader {
    private let entries: [InputNode.Entry]
    private var known: [String] = []
    public let location: SourceLocation?
    public let path: String
    let context: ReadContext

    init(entries: [InputNode.Entry], location: SourceLocation?, path: String, context: ReadContext) {
        self.entries = entries
        self.location = location
        self.path = path
        self.context = context
    }

    /// Whether the mapping has `key`; also marks the key as known.
    public func has(_ key: String) -> Bool {
        known.append(key)
        return entries.contains { $0.key == key }
    }

    /// An optional field; `nil` when absent or invalid (the problem is recorded).
    public func optional<T>(_ key: String, _ read: (ValueReader) throws -> T) -> T? {
        guard let reader = field(key) else { return nil }
        if case .null = reader.node.content { return nil }
        return reader.attempt(read)
    }

    /// An optional field with a default for when it is absent or null.
    public func optional<T>(_ key: String, default value: T, _ read: (ValueReader) throws -> T) -> T {
        optional(key, read) ?? value
    }

    /// A required field; records "missing" when absent.
    public func required<T>(_ key: String, _ read: (ValueReader) throws -> T) -> T? {
        guard let reader = field(key), reader.node.content != .null else {
            context.report("missing required field \"\(key)\"", path: childPath(key), at: location)
            return nil
        }
        return reader.attempt(read)
    }

    /// Records a problem about the mapping as a whole, or about one of its fields.
    public func report(_ message: String, field key: String? = nil) {
        let entry = key.flatMap { key in entries.first { $0.key == key } }
        context.report(message, path: key.map(childPath) ?? path, at: entry?.value.location ?? location)
    }

    /// Reports every key that no read asked for, suggesting the closest known field.
    public func finish() {
        for entry in entries where !known.contains(entry.key) {
            context.report(
                "unknown field \"\(entry.key)\"\(Suggestion.didYouMean(entry.key, among: known))",
                path: childPath(entry.key),
                at: entry.keyLocation ?? entry.value.location
            )
        }
    }

    private func field(_ key: String) -> ValueReader? {
        known.append(key)
        guard let entry = entries.first(where: { $0.key == key }) else { return nil }
        return ValueReader(node: entry.value, path: childPath(key), context: context)
    }

    private func childPath(_ key: String) -> String {
        path.isEmpty ? key : "\(path).\(key)"
    }
}

/// "Did you mean" suggestions for misspelt field names and words.
enum Suggestion {
    /// ` (did you mean "image"?)` when a candidate is within a small edit distance, else empty.
    static func didYouMean(_ word: String, among candidates: [String]) -> String {
        let lowered = word.lowercased()
        let scored = candidates.map { ($0, editDistance(lowered, $0.lowercased())) }
        guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= max(2, word.count / 3) else { return "" }
        return " (did you mean \"\(best.0)\"?)"
    }

    /// Levenshtein distance over characters.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var previous = Array(0...b.count)
        var current = previous
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
