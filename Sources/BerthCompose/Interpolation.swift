import BerthCore

/// Replaces `${VAR}`-style references in every string of a compose file, as compose does:
/// `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?message}`, `${VAR?message}`,
/// `${VAR:+alternative}`, `${VAR+alternative}`, defaults holding references themselves, and `$$`
/// for a literal `$`. Keys are not interpolated (compose does not either).
///
/// Work is bounded: each level of nesting scans its text once, and nesting deeper than
/// ``maxDepth`` is an error, so no input can make it loop or recurse without end.
struct Interpolator {
    /// How deeply `${A:-${B:-…}}` may nest.
    static let maxDepth = 16

    /// The variables references read: the process environment over the env files.
    let environment: [String: String]
    /// Unset variables read as empty strings, each where it was referenced.
    private(set) var warnings: [ComposeWarning] = []

    init(environment: [String: String]) {
        self.environment = environment
    }

    /// `node` with every string in it interpolated; `path` names the node in errors.
    mutating func interpolate(_ node: InputNode, path: String) throws(ComposeError) -> InputNode {
        var result = node
        switch node.content {
        case .string(let text):
            result.content = .string(try interpolate(text, path: path, at: node.location))
        case .list(let items):
            var interpolated: [InputNode] = []
            interpolated.reserveCapacity(items.count)
            for (index, item) in items.enumerated() {
                interpolated.append(try interpolate(item, path: FieldPath.index(path, index)))
            }
            result.content = .list(interpolated)
        case .map(let entries):
            var interpolated: [InputNode.Entry] = []
            interpolated.reserveCapacity(entries.count)
            for entry in entries {
                var entry = entry
                entry.value = try interpolate(entry.value, path: FieldPath.key(path, entry.key))
                interpolated.append(entry)
            }
            result.content = .map(interpolated)
        case .null, .bool, .number:
            break
        }
        return result
    }

    /// One string interpolated; the position and path are for errors and warnings.
    mutating func interpolate(_ text: String, path: String, at location: SourceLocation?) throws(ComposeError) -> String {
        guard text.utf8.contains(UInt8(ascii: "$")) else { return text }
        let bytes = Array(text.utf8)
        let reference = Reference(text: text, path: path, location: location)
        let expanded = try expand(bytes[...], depth: 0, reference)
        return String(decoding: expanded, as: UTF8.self)
    }

    /// What errors and warnings name: the whole scalar, its field and its position.
    private struct Reference {
        let text: String
        let path: String
        let location: SourceLocation?
    }

    private mutating func expand(_ bytes: ArraySlice<UInt8>, depth: Int, _ reference: Reference) throws(ComposeError) -> [UInt8] {
        guard depth <= Self.maxDepth else {
            throw fail(reference, "references nest deeper than \(Self.maxDepth) levels (`${A:-${B:-…}}`); flatten the defaults")
        }
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            guard byte == Byte.dollar else {
                output.append(byte)
                index += 1
                continue
            }
            let next = index + 1 < bytes.endIndex ? bytes[index + 1] : nil
            switch next {
            case Byte.dollar:
                output.append(Byte.dollar)
                index += 2
            case Byte.openBrace:
                let close = try closingBrace(in: bytes, from: index + 2, reference)
                output += try braced(bytes[(index + 2)..<close], depth: depth, reference)
                index = close + 1
            case let first? where Self.isNameStart(first):
                var end = index + 1
                while end < bytes.endIndex, Self.isNameByte(bytes[end]) { end += 1 }
                let name = String(decoding: bytes[(index + 1)..<end], as: UTF8.self)
                output += Array(value(of: name, reference).utf8)
                index = end
            default:
                throw fail(reference, "`$` must start a reference like `$VAR` or `${VAR}`; write `$$` for a literal `$`")
            }
        }
        return output
    }

    /// The index of the `}` that closes a `${` whose content starts at `start`.
    private func closingBrace(in bytes: ArraySlice<UInt8>, from start: Int, _ reference: Reference) throws(ComposeError) -> Int {
        var level = 1
        var index = start
        while index < bytes.endIndex {
            switch bytes[index] {
            case Byte.dollar where index + 1 < bytes.endIndex && bytes[index + 1] == Byte.dollar:
                index += 1
            case Byte.dollar where index + 1 < bytes.endIndex && bytes[index + 1] == Byte.openBrace:
                level += 1
                index += 1
            case Byte.closeBrace:
                level -= 1
                if level == 0 { return index }
            default:
                break
            }
            index += 1
        }
        throw fail(reference, "`${` is never closed by `}`")
    }

    /// The value of `${…}`, given what is between the braces.
    private mutating func braced(_ inner: ArraySlice<UInt8>, depth: Int, _ reference: Reference) throws(ComposeError) -> [UInt8] {
        var end = inner.startIndex
        if end < inner.endIndex, Self.isNameStart(inner[end]) {
            while end < inner.endIndex, Self.isNameByte(inner[end]) { end += 1 }
        }
        let name = String(decoding: inner[inner.startIndex..<end], as: UTF8.self)
        let rest = inner[end...]
        guard !name.isEmpty else {
            throw fail(reference, "`${\(String(decoding: inner, as: UTF8.self))}` does not start with a variable name")
        }
        if rest.isEmpty { return Array(value(of: name, reference).utf8) }
        let colon = rest.first == Byte.colon
        let operatorIndex = colon ? rest.startIndex + 1 : rest.startIndex
        guard operatorIndex < rest.endIndex, let operation = Operation(rawValue: rest[operatorIndex]) else {
            throw fail(
                reference,
                "`${\(String(decoding: inner, as: UTF8.self))}` is not a reference compose knows; use `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?message}`, `${VAR?message}`, `${VAR:+other}` or `${VAR+other}`"
            )
        }
        let operand = rest[(operatorIndex + 1)...]
        let current = environment[name]
        // With a colon, an empty value counts as unset.
        let isSet = colon ? !(current ?? "").isEmpty : current != nil
        switch operation {
        case .default:
            return isSet ? Array((current ?? "").utf8) : try expand(operand, depth: depth + 1, reference)
        case .required:
            guard isSet else {
                let message = String(decoding: try expand(operand, depth: depth + 1, reference), as: UTF8.self)
                throw fail(reference, "required variable \(name) is missing a value" + (message.isEmpty ? "" : ": \(message)"))
            }
            return Array((current ?? "").utf8)
        case .alternative:
            return isSet ? try expand(operand, depth: depth + 1, reference) : []
        }
    }

    private enum Operation: UInt8 {
        case `default` = 0x2D // -
        case required = 0x3F // ?
        case alternative = 0x2B // +
    }

    /// A variable's value; an unset one is empty, with a warning as compose gives.
    private mutating func value(of name: String, _ reference: Reference) -> String {
        if let value = environment[name] { return value }
        warnings.append(ComposeWarning(location: reference.location, field: reference.path, message: "the \"\(name)\" variable is not set; defaulting to a blank string"))
        return ""
    }

    private func fail(_ reference: Reference, _ message: String) -> ComposeError {
        ComposeError("\(message) (in \(reference.text.quotedForMessage))", path: reference.path, at: reference.location)
    }

    private enum Byte {
        static let dollar = UInt8(ascii: "$")
        static let openBrace = UInt8(ascii: "{")
        static let closeBrace = UInt8(ascii: "}")
        static let colon = UInt8(ascii: ":")
    }

    private static func isNameStart(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "_") || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        isNameStart(byte) || (0x30...0x39).contains(byte)
    }
}

extension String {
    /// The text in double quotes, shortened when long, for messages.
    var quotedForMessage: String {
        String(reflecting: count > 80 ? String(prefix(77)) + "…" : self)
    }
}
