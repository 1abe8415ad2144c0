// Character classes and quoting shared by the grammar parsers. Only ASCII counts: the Unicode-aware
// properties (`isNumber`, `isHexDigit`) also accept forms such as fullwidth digits.

extension Character {
    var isASCIIDigit: Bool { asciiValue.map { (0x30...0x39).contains($0) } ?? false }
    var isASCIILowercase: Bool { asciiValue.map { (0x61...0x7A).contains($0) } ?? false }
    var isASCIIUppercase: Bool { asciiValue.map { (0x41...0x5A).contains($0) } ?? false }
    var isASCIILetter: Bool { isASCIILowercase || isASCIIUppercase }
    var isASCIIHexDigit: Bool { isASCIIDigit || "abcdefABCDEF".contains(self) }
}

extension StringProtocol {
    /// The text in double quotes, with quotes and control characters escaped, for error messages.
    var quoted: String { String(reflecting: String(self)) }
}
