import BerthCore

/// Writes generated documents as YAML, block style, each spec field followed by a comment naming
/// the compose field and the `file:line:column` it came from. Strings that could read as anything
/// but themselves (numbers, booleans, null, YAML syntax) are double-quoted.
struct ManifestWriter: Sendable {
    /// Folder the files named in comments are shown relative to, ending in `/`.
    private let root: String

    init(sourceRoot: String) {
        root = sourceRoot.hasSuffix("/") ? sourceRoot : sourceRoot + "/"
    }

    func text(_ documents: [BerthDocument], header: [String]) -> String {
        var lines = header.map { "# \(Self.oneLine($0))" }
        for document in documents {
            lines.append("---")
            lines.append("# \(document.kind) \(document.name) from \(comment(document.origin))")
            lines += document.notes.map { "# \(Self.oneLine($0))" }
            lines.append("apiVersion: \(Resource.apiVersion)")
            lines.append("kind: \(document.kind.rawValue)")
            lines.append("metadata:")
            lines.append("  name: \(scalar(.string(document.name)))")
            if document.kind != .project { lines.append("  project: \(scalar(.string(document.project)))") }
            if document.kind == .project, document.spec.fields.isEmpty { continue }
            if document.spec.fields.isEmpty, document.jobTemplate == nil {
                lines.append("spec: {}")
                continue
            }
            lines.append("spec:")
            lines += fields(document.spec, indent: 2)
            if let template = document.jobTemplate {
                lines.append("  jobTemplate:")
                lines += fields(template, indent: 4)
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `file:line:column` of a compose position, the file relative to ``sourceRoot``.
    func place(_ location: SourceLocation?) -> String {
        guard let location else { return "" }
        return "\(relative(location.file ?? "?")):\(location.line):\(location.column)"
    }

    /// A file's path relative to ``sourceRoot`` when it lies there, else as given.
    func relative(_ file: String) -> String {
        file.hasPrefix(root) ? String(file.dropFirst(root.count)) : file
    }

    /// `compose.yaml:4:5 services.web.image`.
    func comment(_ origin: ComposeOrigin) -> String {
        let where_ = place(origin.location)
        return Self.oneLine(where_.isEmpty ? origin.field : "\(where_) \(origin.field)")
    }

    /// Text for a comment: line breaks would end it.
    static func oneLine(_ text: String) -> String {
        // Printable ASCII (most text) holds no line break; anything else is split by Character.
        guard text.utf8.contains(where: { $0 < 0x20 || $0 > 0x7E }) else { return text }
        return text.split(whereSeparator: \.isNewline).joined(separator: " ")
    }

    private func fields(_ spec: SpecFields, indent: Int) -> [String] {
        spec.fields.flatMap { field in
            let pad = String(repeating: " ", count: indent)
            let note = "  # \(comment(field.origin))"
            if let inline = inline(field.value) { return ["\(pad)\(key(field.key)): \(inline)\(note)"] }
            var lines = ["\(pad)\(key(field.key)):\(note)"]
            if case .list(let items) = field.value.content, field.itemOrigins.count == items.count,
                field.itemOrigins.contains(where: { !isPart($0, of: field.origin) })
            {
                // Items from several compose fields (volumes from volumes and secrets): each says where.
                for (item, origin) in zip(items, field.itemOrigins) {
                    var itemLines = listItem(item, indent: indent + 2)
                    itemLines[0] += "  # \(comment(origin))"
                    lines += itemLines
                }
                return lines
            }
            if case .map(let entries) = field.value.content,
                field.entryOrigins.values.contains(where: { !isPart($0, of: field.origin) })
            {
                // Entries from several compose fields (resources from cpus and mem_limit): each says where.
                for entry in entries {
                    var entryLines = block(InputNode(.map([entry])), indent: indent + 2)
                    if let origin = field.entryOrigins[entry.key] { entryLines[0] += "  # \(comment(origin))" }
                    lines += entryLines
                }
                return lines
            }
            return lines + block(field.value, indent: indent + 2)
        }
    }

    /// Whether `origin` is `whole` or an item or setting inside it, which `whole`'s comment names.
    private func isPart(_ origin: ComposeOrigin, of whole: ComposeOrigin) -> Bool {
        origin == whole || origin.field.hasPrefix(whole.field + "[") || origin.field.hasPrefix(whole.field + ".")
    }

    /// The lines of a mapping's or a list's contents at `indent`.
    private func block(_ node: InputNode, indent: Int) -> [String] {
        let pad = String(repeating: " ", count: indent)
        switch node.content {
        case .map(let entries):
            return entries.flatMap { entry -> [String] in
                if let inline = inline(entry.value) { return ["\(pad)\(key(entry.key)): \(inline)"] }
                return ["\(pad)\(key(entry.key)):"] + block(entry.value, indent: indent + 2)
            }
        case .list(let items):
            return items.flatMap { listItem($0, indent: indent) }
        case .null, .bool, .number, .string:
            return [pad + (inline(node) ?? "null")]
        }
    }

    private func listItem(_ item: InputNode, indent: Int) -> [String] {
        let pad = String(repeating: " ", count: indent)
        if let inline = inline(item) { return ["\(pad)- \(inline)"] }
        if case .map = item.content {
            var lines = block(item, indent: indent + 2)
            lines[0] = pad + "- " + lines[0].dropFirst(indent + 2)
            return lines
        }
        return ["\(pad)-"] + block(item, indent: indent + 2)
    }

    /// A scalar or an empty collection on one line; `nil` for a collection with contents.
    private func inline(_ node: InputNode) -> String? {
        switch node.content {
        case .list(let items): items.isEmpty ? "[]" : nil
        case .map(let entries): entries.isEmpty ? "{}" : nil
        case .null, .bool, .number, .string: scalar(node)
        }
    }

    private func scalar(_ node: InputNode) -> String {
        switch node.content {
        case .null: "null"
        case .bool(let value): value ? "true" : "false"
        case .number(let text): Self.isPlainNumber(text) ? text : Self.quote(text)
        case .string(let text): Self.isPlain(text) ? text : Self.quote(text)
        case .list, .map: ""
        }
    }

    private func key(_ text: String) -> String {
        Self.isPlain(text) ? text : Self.quote(text)
    }

    /// A string that YAML's core schema reads back as the same string when written plain.
    static func isPlain(_ text: String) -> Bool {
        let bytes = text.utf8
        guard let first = bytes.first, first.isASCIILetter || first == UInt8(ascii: "/") || first == UInt8(ascii: "_") else {
            return isQuantity(text)
        }
        guard bytes.last != UInt8(ascii: ":"), bytes.allSatisfy({ $0.isASCIILetter || $0.isASCIIDigit || plainPunctuation.contains($0) }) else { return false }
        return !["true", "false", "null", "yes", "no", "on", "off", "y", "n"].contains(text.lowercased())
    }

    /// The punctuation a plain scalar may hold anywhere after its first character.
    private static let plainPunctuation = Set("_./:@+=-".utf8)

    /// A number with a unit (`10s`, `512Mi`, `1.5Gi`): digits, at most one dot, then
    /// letters to the end, which no YAML number is.
    static func isQuantity(_ text: String) -> Bool {
        let number = text.prefix { $0.isASCIIDigitCharacter || $0 == "." }
        let unit = text.dropFirst(number.count)
        return !number.isEmpty && number.first != "." && number.filter { $0 == "." }.count <= 1 && !unit.isEmpty
            && unit.allSatisfy { $0.isASCII && $0.isLetter }
    }

    /// A number written as YAML reads numbers (`8080`, `-1`, `1.5`).
    static func isPlainNumber(_ text: String) -> Bool {
        let digits = text.hasPrefix("-") ? text.dropFirst() : text[...]
        let parts = digits.split(separator: ".", omittingEmptySubsequences: false)
        return !digits.isEmpty && parts.count <= 2 && parts.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isASCIIDigitCharacter) }
    }

    /// A double-quoted YAML scalar: JSON's escapes, which YAML reads the same.
    static func quote(_ text: String) -> String {
        var quoted = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": quoted += "\\\""
            case "\\": quoted += "\\\\"
            case "\n": quoted += "\\n"
            case "\t": quoted += "\\t"
            case "\r": quoted += "\\r"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F || (0x80...0x9F).contains(scalar.value) || scalar.value == 0xFEFF
                    || scalar.value == 0x2028 || scalar.value == 0x2029
                {
                    quoted += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count) + String(scalar.value, radix: 16)
                } else {
                    quoted.unicodeScalars.append(scalar)
                }
            }
        }
        return quoted + "\""
    }
}

extension Character {
    fileprivate var isASCIIDigitCharacter: Bool { isASCII && isNumber }
}

extension UInt8 {
    fileprivate var isASCIILetter: Bool { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(self | 0x20) }
    fileprivate var isASCIIDigit: Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self) }
}
