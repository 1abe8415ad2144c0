/// JSON (RFC 8259) read straight into an ``InputNode``, for the inputs that are always JSON: specs
/// read back from the store, the spec label of a container, API bodies sent as JSON. Going through
/// Foundation's `JSONDecoder` instead costs a thrown and caught error for every type tried on every
/// scalar; this reader looks at each byte once.
extension InputNode {
    /// Nesting deeper than this is refused: no input of Berth's comes close, and it bounds the stack.
    public static let maxJSONDepth = 128

    /// Parses one JSON value. With `file`, every node carries its line and column (for error
    /// messages that point into a request body); without, nodes carry no position, as stored
    /// data needs none. Duplicate keys in an object are an error, as in manifests.
    public init(json text: String, file: String? = nil) throws(ValidationError) {
        var parser = JSONInputParser(bytes: Array(text.utf8), file: file)
        self = try parser.document()
    }
}

/// A recursive-descent reader over UTF-8 bytes that tracks line and column for its errors.
private struct JSONInputParser {
    let bytes: [UInt8]
    let file: String?
    var index = 0
    var line = 1
    var lineStart = 0

    init(bytes: [UInt8], file: String?) {
        self.bytes = bytes
        self.file = file
    }

    mutating func document() throws(ValidationError) -> InputNode {
        skipWhitespace()
        let node = try value(depth: 0)
        skipWhitespace()
        guard index == bytes.count else { throw fail("expected the end of the JSON text, found \(found)") }
        return node
    }

    // MARK: Values

    private mutating func value(depth: Int) throws(ValidationError) -> InputNode {
        guard depth < InputNode.maxJSONDepth else { throw fail("JSON nested deeper than \(InputNode.maxJSONDepth) levels") }
        let location = file == nil ? nil : position
        guard index < bytes.count else { throw fail("expected a JSON value, found the end of the text") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return InputNode(.map(try object(depth: depth)), location: location)
        case UInt8(ascii: "["): return InputNode(.list(try array(depth: depth)), location: location)
        case UInt8(ascii: "\""): return InputNode(.string(try string()), location: location)
        case UInt8(ascii: "t"): try literal("true"); return InputNode(.bool(true), location: location)
        case UInt8(ascii: "f"): try literal("false"); return InputNode(.bool(false), location: location)
        case UInt8(ascii: "n"): try literal("null"); return InputNode(.null, location: location)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return InputNode(.number(try number()), location: location)
        default: throw fail("expected a JSON value, found \(found)")
        }
    }

    private mutating func object(depth: Int) throws(ValidationError) -> [InputNode.Entry] {
        index += 1
        var entries: [InputNode.Entry] = []
        var keys: Set<String> = []
        skipWhitespace()
        if peek(UInt8(ascii: "}")) { index += 1; return entries }
        while true {
            skipWhitespace()
            let keyLocation = file == nil ? nil : position
            guard peek(UInt8(ascii: "\"")) else { throw fail("expected a quoted key, found \(found)") }
            let key = try string()
            guard keys.insert(key).inserted else {
                throw fail("duplicate key \"\(key)\"", at: keyLocation)
            }
            skipWhitespace()
            guard peek(UInt8(ascii: ":")) else { throw fail("expected \":\" after the key \"\(key)\", found \(found)") }
            index += 1
            skipWhitespace()
            entries.append(InputNode.Entry(key: key, keyLocation: keyLocation, value: try value(depth: depth + 1)))
            skipWhitespace()
            if peek(UInt8(ascii: ",")) { index += 1; continue }
            if peek(UInt8(ascii: "}")) { index += 1; return entries }
            throw fail("expected \",\" or \"}\" in an object, found \(found)")
        }
    }

    private mutating func array(depth: Int) throws(ValidationError) -> [InputNode] {
        index += 1
        var items: [InputNode] = []
        skipWhitespace()
        if peek(UInt8(ascii: "]")) { index += 1; return items }
        while true {
            skipWhitespace()
            items.append(try value(depth: depth + 1))
            skipWhitespace()
            if peek(UInt8(ascii: ",")) { index += 1; continue }
            if peek(UInt8(ascii: "]")) { index += 1; return items }
            throw fail("expected \",\" or \"]\" in an array, found \(found)")
        }
    }

    private mutating func literal(_ word: String) throws(ValidationError) {
        let count = word.utf8.count
        guard bytes.count - index >= count, bytes[index..<index + count].elementsEqual(word.utf8) else {
            throw fail("expected a JSON value, found \(found)")
        }
        index += count
    }

    /// A number as written, checked against JSON's grammar: `-? int frac? exp?`, and refused
    /// beyond a Double's range, as Foundation's parser refuses it.
    private mutating func number() throws(ValidationError) -> String {
        let start = index
        let location = position
        if peek(UInt8(ascii: "-")) { index += 1 }
        if peek(UInt8(ascii: "0")) {
            index += 1
        } else if digits() == 0 {
            throw fail("expected a digit in a number, found \(found)")
        }
        if peek(UInt8(ascii: ".")) {
            index += 1
            guard digits() > 0 else { throw fail("expected a digit after the decimal point, found \(found)") }
        }
        if peek(UInt8(ascii: "e")) || peek(UInt8(ascii: "E")) {
            index += 1
            if peek(UInt8(ascii: "+")) || peek(UInt8(ascii: "-")) { index += 1 }
            guard digits() > 0 else { throw fail("expected a digit in the exponent, found \(found)") }
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        guard let value = Double(text), value.isFinite else { throw fail("the number \(text) is out of range", at: location) }
        return text
    }

    private mutating func digits() -> Int {
        let start = index
        while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
        return index - start
    }

    /// A quoted string; the common case without escapes is one copy of its bytes.
    private mutating func string() throws(ValidationError) -> String {
        index += 1
        let start = index
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                defer { index += 1 }
                return String(decoding: bytes[start..<index], as: UTF8.self)
            }
            if byte == UInt8(ascii: "\\") { return try escapedString(from: start) }
            guard byte >= 0x20 else { throw fail("a control character (\(byte)) in a string; write it escaped") }
            index += 1
        }
        throw fail("a string is not closed before the end of the text")
    }

    private mutating func escapedString(from start: Int) throws(ValidationError) -> String {
        var utf8 = Array(bytes[start..<index])
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return String(decoding: utf8, as: UTF8.self)
            case UInt8(ascii: "\\"):
                index += 1
                guard index < bytes.count else { break }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escape)
                case UInt8(ascii: "b"): utf8.append(0x08)
                case UInt8(ascii: "f"): utf8.append(0x0C)
                case UInt8(ascii: "n"): utf8.append(0x0A)
                case UInt8(ascii: "r"): utf8.append(0x0D)
                case UInt8(ascii: "t"): utf8.append(0x09)
                case UInt8(ascii: "u"): utf8.append(contentsOf: try unicodeEscape().utf8)
                default: throw fail("unknown escape \\\(Character(Unicode.Scalar(escape))) in a string")
                }
            default:
                guard byte >= 0x20 else { throw fail("a control character (\(byte)) in a string; write it escaped") }
                utf8.append(byte)
                index += 1
            }
        }
        throw fail("a string is not closed before the end of the text")
    }

    /// `\uXXXX`, joining a surrogate pair written as two escapes.
    private mutating func unicodeEscape() throws(ValidationError) -> String {
        let first = try hexQuad()
        if (0xD800..<0xDC00).contains(first) {
            guard bytes.count - index >= 6, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                throw fail("a \\u escape of a high surrogate must be followed by a low one")
            }
            index += 2
            let second = try hexQuad()
            guard (0xDC00..<0xE000).contains(second),
                let scalar = Unicode.Scalar(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))
            else { throw fail("a \\u escape of a high surrogate must be followed by a low one") }
            return String(Character(scalar))
        }
        guard let scalar = Unicode.Scalar(first) else { throw fail("a lone low surrogate in a \\u escape") }
        return String(Character(scalar))
    }

    private mutating func hexQuad() throws(ValidationError) -> UInt32 {
        guard bytes.count - index >= 4 else { throw fail("a \\u escape needs four hex digits") }
        var value: UInt32 = 0
        for byte in bytes[index..<index + 4] {
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw fail("a \\u escape needs four hex digits")
            }
            value = value << 4 | UInt32(digit)
        }
        index += 4
        return value
    }

    // MARK: Positions and errors

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"): index += 1
            case UInt8(ascii: "\n"):
                index += 1
                line += 1
                lineStart = index
            default: return
            }
        }
    }

    private func peek(_ byte: UInt8) -> Bool { index < bytes.count && bytes[index] == byte }

    /// Line and column (in bytes, 1-based) of the current byte; strings hold no raw newlines.
    private var position: SourceLocation { SourceLocation(file: file, line: line, column: index - lineStart + 1) }

    /// The current character quoted, or "the end of the text".
    private var found: String {
        guard index < bytes.count else { return "the end of the text" }
        let scalar = Unicode.Scalar(bytes[index])
        return bytes[index] < 0x80 ? "\"\(Character(scalar))\"" : "a non-ASCII byte"
    }

    private func fail(_ message: String, at location: SourceLocation? = nil) -> ValidationError {
        ValidationError(issues: [ValidationIssue(location: location ?? position, message: "invalid JSON: \(message)")])
    }
}
