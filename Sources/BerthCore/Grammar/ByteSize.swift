/// An amount of memory or storage, Kubernetes style: plain bytes (`1048576`), decimal suffixes
/// `k`/`K`, `M`, `G`, `T`, `P` (powers of 1000) or binary suffixes `Ki`, `Mi`, `Gi`, `Ti`, `Pi`
/// (powers of 1024). Decimals are allowed when the result is whole bytes (`1.5Gi`).
public struct ByteSize: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// The size in bytes; never negative.
    public let bytes: Int64

    public init(bytes: Int64) {
        precondition(bytes >= 0, "a ByteSize is never negative")
        self.bytes = bytes
    }

    /// Every suffix but `K` (an alias of `k`), largest first, binary and decimal interleaved.
    private static let units: [(suffix: Substring, bytes: Int64)] = [
        ("Pi", 1 << 50), ("P", 1_000_000_000_000_000), ("Ti", 1 << 40), ("T", 1_000_000_000_000),
        ("Gi", 1 << 30), ("G", 1_000_000_000), ("Mi", 1 << 20), ("M", 1_000_000), ("Ki", 1 << 10), ("k", 1000),
    ]

    public init(parsing text: String) throws(ValidationError) {
        guard text.first != "-" else { throw Self.invalid(text, "sizes cannot be negative") }
        var rest = Substring(text)
        guard let number = DecimalNumber.scan(&rest) else { throw Self.invalid(text) }
        let unit: Int64
        if rest.isEmpty {
            unit = 1
        } else if rest == "K" {
            unit = 1000
        } else if let match = Self.units.first(where: { $0.suffix == rest }) {
            unit = match.bytes
        } else {
            throw Self.invalid(
                text,
                "unknown suffix \(rest.quoted); use k, M, G, T, P (powers of 1000) "
                    + "or Ki, Mi, Gi, Ti, Pi (powers of 1024)"
            )
        }
        switch number.scaled(by: unit) {
        case .exact(let value): bytes = value
        case .inexact: throw Self.invalid(text, "\(text) is not a whole number of bytes")
        case .overflow: throw Self.invalid(text, "the largest size is 8Ei (2^63 - 1 bytes)")
        }
    }

    private static func invalid(_ text: String, _ advice: String? = nil) -> ValidationError {
        let message = "expected a size such as 512Mi, 2Gi, 100M or 1048576 (bytes), found \(text.quoted)"
        return ValidationError(advice.map { "\(message); \($0)" } ?? message)
    }

    /// The largest unit that divides exactly, else plain bytes: `512Mi`, `2G`, `1500k`, `1001`.
    /// (Preferring binary units whenever they divide would print `2G` as `1953125Ki`.)
    public var description: String {
        guard bytes > 0, let unit = Self.units.first(where: { bytes % $0.bytes == 0 }) else { return String(bytes) }
        return "\(bytes / unit.bytes)\(unit.suffix)"
    }

    public static func < (lhs: ByteSize, rhs: ByteSize) -> Bool { lhs.bytes < rhs.bytes }

    /// Also accepts an integer, read as bytes.
    public init(from decoder: any Decoder) throws {
        self = try decoder.decodeGrammarValue(accepting: .integers, Self.init(parsing:))
    }

    public func encode(to encoder: any Encoder) throws {
        try encoder.encodeGrammarValue(self)
    }
}
