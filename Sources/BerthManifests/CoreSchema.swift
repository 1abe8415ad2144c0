import BerthCore

/// The YAML 1.2 core schema for plain scalars: which texts are null, booleans and numbers.
/// YAML 1.1 spellings (`yes`, `off`, `0b101`, `1_000`) stay strings.
enum CoreSchema {
    /// The typed value of an untagged plain scalar.
    static func resolve(_ text: String) -> InputNode.Content {
        if isNull(text) { return .null }
        if let value = bool(text) { return .bool(value) }
        if isInteger(text) || isFloat(text) { return .number(text) }
        return .string(text)
    }

    static func isNull(_ text: String) -> Bool {
        ["", "~", "null", "Null", "NULL"].contains(text)
    }

    static func bool(_ text: String) -> Bool? {
        switch text {
        case "true", "True", "TRUE": true
        case "false", "False", "FALSE": false
        default: nil
        }
    }

    /// `[-+]?[0-9]+`, `0o[0-7]+` or `0x[0-9a-fA-F]+`.
    static func isInteger(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        if bytes.starts(with: "0o".utf8) { return bytes.count > 2 && bytes.dropFirst(2).allSatisfy { (0x30...0x37).contains($0) } }
        if bytes.starts(with: "0x".utf8) { return bytes.count > 2 && bytes.dropFirst(2).allSatisfy(isHexDigit) }
        let digits = bytes.first == 0x2B || bytes.first == 0x2D ? bytes.dropFirst() : bytes[...]
        return !digits.isEmpty && digits.allSatisfy(isDigit)
    }

    /// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`, `[-+]?\.(inf|Inf|INF)` or `\.(nan|NaN|NAN)`.
    static func isFloat(_ text: String) -> Bool {
        if [".nan", ".NaN", ".NAN"].contains(text) { return true }
        var rest = Substring(text)
        if rest.first == "+" || rest.first == "-" { rest = rest.dropFirst() }
        if [".inf", ".Inf", ".INF"].contains(rest) { return true }
        let bytes = Array(rest.utf8)
        var index = 0
        func skipDigits() -> Int {
            let start = index
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
            return index - start
        }
        var mantissaDigits = skipDigits()
        if index < bytes.count, bytes[index] == 0x2E {
            index += 1
            mantissaDigits += skipDigits()
        }
        guard mantissaDigits > 0 else { return false }
        if index < bytes.count, bytes[index] == 0x45 || bytes[index] == 0x65 {
            index += 1
            if index < bytes.count, bytes[index] == 0x2B || bytes[index] == 0x2D { index += 1 }
            guard skipDigits() > 0 else { return false }
        }
        return index == bytes.count
    }

    private static func isDigit(_ byte: UInt8) -> Bool { (0x30...0x39).contains(byte) }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        isDigit(byte) || (0x41...0x46).contains(byte) || (0x61...0x66).contains(byte)
    }
}
