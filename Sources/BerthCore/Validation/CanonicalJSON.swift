/// The canonical JSON of an `Encodable` value, for spec hashes: no whitespace, object keys in UTF-8
/// byte order, `/` unescaped. The bytes are those Foundation's `JSONEncoder` writes on Linux with
/// `[.sortedKeys, .withoutEscapingSlashes]` (`CanonicalJSONTests` compares the two on every spec
/// type), so hashes stored in container labels keep their values.
///
/// It exists for start-up time: `JSONEncoder` asks the runtime, for each distinct type it meets,
/// whether the type conforms to its private marker protocols, and each first such question scans
/// every protocol conformance record of the binary (issue 15: about 0.4 M instructions apiece, the
/// largest part of a no-op `berth apply`). This encoder asks none of its own; only the
/// `CodingKeys` containers every Codable type asks for remain.
///
/// Specs hold strings, integers, booleans, lists and maps. `Data` and `URL`, which `JSONEncoder`
/// writes in a form of its own, would come out differently here; the tests would show it.
enum CanonicalJSON {
    static func encode(_ value: some Encodable) throws -> [UInt8] {
        let root = Node()
        try value.encode(to: NodeEncoder(node: root, codingPath: []))
        var output: [UInt8] = []
        output.reserveCapacity(1024)
        root.write(to: &output)
        return output
    }

    /// One value of the document being built; containers fill it in place.
    fileprivate final class Node {
        /// An object's members, once a keyed container was asked for.
        var members: [String: Node]?
        /// An array's elements, once an unkeyed container was asked for.
        var elements: [Node]?
        /// A scalar's JSON text (`null`, `true`, `12`, `"text"`).
        var scalar: String?

        func write(to output: inout [UInt8]) {
            if let members {
                output.append(UInt8(ascii: "{"))
                let sorted = members.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
                for (index, member) in sorted.enumerated() {
                    if index > 0 { output.append(UInt8(ascii: ",")) }
                    CanonicalJSON.appendString(member.key, to: &output)
                    output.append(UInt8(ascii: ":"))
                    member.value.write(to: &output)
                }
                output.append(UInt8(ascii: "}"))
            } else if let elements {
                output.append(UInt8(ascii: "["))
                for (index, element) in elements.enumerated() {
                    if index > 0 { output.append(UInt8(ascii: ",")) }
                    element.write(to: &output)
                }
                output.append(UInt8(ascii: "]"))
            } else {
                // A value that encoded nothing is an empty object, as JSONEncoder writes it.
                output.append(contentsOf: (scalar ?? "{}").utf8)
            }
        }
    }

    /// A string as a JSON string literal: `"` and `\` escaped, control characters as `\b`, `\t`,
    /// `\n`, `\f`, `\r` or `\u00xx`, everything else (`/`, DEL, non-ASCII) as it is.
    fileprivate static func appendString(_ text: String, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): output.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): output.append(contentsOf: #"\\"#.utf8)
            case 0x08: output.append(contentsOf: #"\b"#.utf8)
            case 0x09: output.append(contentsOf: #"\t"#.utf8)
            case 0x0A: output.append(contentsOf: #"\n"#.utf8)
            case 0x0C: output.append(contentsOf: #"\f"#.utf8)
            case 0x0D: output.append(contentsOf: #"\r"#.utf8)
            case ..<0x20:
                let hex = String(byte, radix: 16)
                output.append(contentsOf: #"\u"#.utf8)
                output.append(contentsOf: String(repeating: "0", count: 4 - hex.count).utf8)
                output.append(contentsOf: hex.utf8)
            default: output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }

    fileprivate static func quoted(_ text: String) -> String {
        var bytes: [UInt8] = []
        appendString(text, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A floating-point number as JSONEncoder writes it: Swift's shortest text without a trailing `.0`.
    fileprivate static func number(_ value: some BinaryFloatingPoint & CustomStringConvertible) -> String {
        precondition(value.isFinite, "specs hold finite numbers")
        let text = value.description
        return text.hasSuffix(".0") ? String(text.dropLast(2)) : text
    }

    /// Encodes a nested value into a new node.
    fileprivate static func node(for value: some Encodable, codingPath: [any CodingKey]) throws -> Node {
        let node = Node()
        try value.encode(to: NodeEncoder(node: node, codingPath: codingPath))
        return node
    }

    fileprivate static func scalar(_ text: String) -> Node {
        let node = Node()
        node.scalar = text
        return node
    }
}

private struct NodeEncoder: Encoder {
    let node: CanonicalJSON.Node
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if node.members == nil { node.members = [:] }
        return KeyedEncodingContainer(KeyedContainer(node: node, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if node.elements == nil { node.elements = [] }
        return UnkeyedContainer(node: node, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleValueContainer(node: node, codingPath: codingPath)
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: CanonicalJSON.Node
    let codingPath: [any CodingKey]

    private func set(_ child: CanonicalJSON.Node, _ key: Key) { node.members![key.stringValue] = child }

    mutating func encodeNil(forKey key: Key) throws { set(CanonicalJSON.scalar("null"), key) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { set(CanonicalJSON.scalar(value ? "true" : "false"), key) }
    mutating func encode(_ value: String, forKey key: Key) throws { set(CanonicalJSON.scalar(CanonicalJSON.quoted(value)), key) }
    mutating func encode(_ value: Double, forKey key: Key) throws { set(CanonicalJSON.scalar(CanonicalJSON.number(value)), key) }
    mutating func encode(_ value: Float, forKey key: Key) throws { set(CanonicalJSON.scalar(CanonicalJSON.number(value)), key) }
    mutating func encode(_ value: Int, forKey key: Key) throws { set(CanonicalJSON.scalar(String(value)), key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { set(CanonicalJSON.scalar(String(value)), key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { set(CanonicalJSON.scalar(String(value)), key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { set(CanonicalJSON.scalar(String(value)), key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { set(CanonicalJSON.scalar(String(value)), key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { set(CanonicalJSON.scalar(String(value)), key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { set(CanonicalJSON.scalar(String(value)), key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { set(CanonicalJSON.scalar(String(value)), key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { set(CanonicalJSON.scalar(String(value)), key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { set(CanonicalJSON.scalar(String(value)), key) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        set(try CanonicalJSON.node(for: value, codingPath: codingPath + [key]), key)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        let child = CanonicalJSON.Node()
        set(child, key)
        return NodeEncoder(node: child, codingPath: codingPath + [key]).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let child = CanonicalJSON.Node()
        set(child, key)
        return NodeEncoder(node: child, codingPath: codingPath + [key]).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
        let child = CanonicalJSON.Node()
        node.members!["super"] = child
        return NodeEncoder(node: child, codingPath: codingPath + [PathKey(stringValue: "super")])
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        let child = CanonicalJSON.Node()
        set(child, key)
        return NodeEncoder(node: child, codingPath: codingPath + [key])
    }
}

private struct UnkeyedContainer: UnkeyedEncodingContainer {
    let node: CanonicalJSON.Node
    let codingPath: [any CodingKey]
    var count: Int { node.elements!.count }

    private func append(_ child: CanonicalJSON.Node) { node.elements!.append(child) }
    private var nextPath: [any CodingKey] { codingPath + [PathKey(intValue: count)] }

    mutating func encodeNil() throws { append(CanonicalJSON.scalar("null")) }
    mutating func encode(_ value: Bool) throws { append(CanonicalJSON.scalar(value ? "true" : "false")) }
    mutating func encode(_ value: String) throws { append(CanonicalJSON.scalar(CanonicalJSON.quoted(value))) }
    mutating func encode(_ value: Double) throws { append(CanonicalJSON.scalar(CanonicalJSON.number(value))) }
    mutating func encode(_ value: Float) throws { append(CanonicalJSON.scalar(CanonicalJSON.number(value))) }
    mutating func encode(_ value: Int) throws { append(CanonicalJSON.scalar(String(value))) }
    mutating func encode(_ value: Int8) throws { append(CanonicalJSON.scalar(String(value))) }
    mutating func encode(_ value: Int16) throws { append(CanonicalJSON.scalar(String(value))) }
    mutating func encode(_ value: Int32) throws { append(CanonicalJSON.scalar(String(value))) }
    mutating func encode(_ value: Int64) throws { append(CanonicalJSON.scalar(String(value))) }
    mutating func encode(_ value: UInt) throws { append(CanonicalJSON.scalar(String(value))) }
    mutating func encode(_ value: UInt8) throws { append(CanonicalJSON.scalar(String(value))) }
    mutating func encode(_ value: UInt16) throws { append(CanonicalJSON.scalar(String(value))) }
    mutating func encode(_ value: UInt32) throws { append(CanonicalJSON.scalar(String(value))) }
    mutating func encode(_ value: UInt64) throws { append(CanonicalJSON.scalar(String(value))) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        append(try CanonicalJSON.node(for: value, codingPath: nextPath))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let child = CanonicalJSON.Node()
        let path = nextPath
        append(child)
        return NodeEncoder(node: child, codingPath: path).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let child = CanonicalJSON.Node()
        let path = nextPath
        append(child)
        return NodeEncoder(node: child, codingPath: path).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
        let child = CanonicalJSON.Node()
        let path = nextPath
        append(child)
        return NodeEncoder(node: child, codingPath: path)
    }
}

private struct SingleValueContainer: SingleValueEncodingContainer {
    let node: CanonicalJSON.Node
    let codingPath: [any CodingKey]

    mutating func encodeNil() throws { node.scalar = "null" }
    mutating func encode(_ value: Bool) throws { node.scalar = value ? "true" : "false" }
    mutating func encode(_ value: String) throws { node.scalar = CanonicalJSON.quoted(value) }
    mutating func encode(_ value: Double) throws { node.scalar = CanonicalJSON.number(value) }
    mutating func encode(_ value: Float) throws { node.scalar = CanonicalJSON.number(value) }
    mutating func encode(_ value: Int) throws { node.scalar = String(value) }
    mutating func encode(_ value: Int8) throws { node.scalar = String(value) }
    mutating func encode(_ value: Int16) throws { node.scalar = String(value) }
    mutating func encode(_ value: Int32) throws { node.scalar = String(value) }
    mutating func encode(_ value: Int64) throws { node.scalar = String(value) }
    mutating func encode(_ value: UInt) throws { node.scalar = String(value) }
    mutating func encode(_ value: UInt8) throws { node.scalar = String(value) }
    mutating func encode(_ value: UInt16) throws { node.scalar = String(value) }
    mutating func encode(_ value: UInt32) throws { node.scalar = String(value) }
    mutating func encode(_ value: UInt64) throws { node.scalar = String(value) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try value.encode(to: NodeEncoder(node: node, codingPath: codingPath))
    }
}

/// An array index, or the `super` member, in a coding path.
private struct PathKey: CodingKey {
    let stringValue: String
    let intValue: Int?
    init(intValue: Int) {
        stringValue = "Index \(intValue)"
        self.intValue = intValue
    }
    init(stringValue: String) {
        self.stringValue = stringValue
        intValue = nil
    }
}
