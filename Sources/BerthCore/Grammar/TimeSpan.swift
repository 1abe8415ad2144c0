/// A length of time written with units: `500ms`, `10s`, `5m`, `1h30m`, `7d`.
///
/// Components go from the largest unit to the smallest, each at most once (`2m30s500ms`). A component
/// may have decimals (`1.5h`) when the total is a whole number of milliseconds. Spans are never
/// negative and at most 100 years; a bare number is refused because its unit would be a guess.
public struct TimeSpan: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// The length in milliseconds; never negative.
    public let milliseconds: Int64

    public init(milliseconds: Int64) {
        precondition(milliseconds >= 0, "a TimeSpan is never negative")
        self.milliseconds = milliseconds
    }

    public static func milliseconds(_ value: Int64) -> TimeSpan { TimeSpan(milliseconds: value) }
    public static func seconds(_ value: Int64) -> TimeSpan { TimeSpan(milliseconds: value * 1000) }
    public static func minutes(_ value: Int64) -> TimeSpan { TimeSpan(milliseconds: value * 60_000) }
    public static func hours(_ value: Int64) -> TimeSpan { TimeSpan(milliseconds: value * 3_600_000) }
    public static func days(_ value: Int64) -> TimeSpan { TimeSpan(milliseconds: value * 86_400_000) }

    public var duration: Duration { .milliseconds(milliseconds) }
    public var seconds: Double { Double(milliseconds) / 1000 }

    /// Units from the largest to the smallest, with their length in milliseconds.
    private static let units: [(symbol: Substring, milliseconds: Int64)] = [
        ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1),
    ]
    /// 100 years of 365.25 days.
    private static let longest: Int64 = 36_525 * 86_400_000

    public init(parsing text: String) throws(ValidationError) {
        guard text.first != "-" else { throw Self.invalid(text, "durations cannot be negative") }
        var rest = Substring(text)
        var total: Int64 = 0
        var smallestUnitSoFar = -1
        repeat {
            guard let number = DecimalNumber.scan(&rest) else {
                throw rest.startIndex == text.startIndex
                    ? Self.invalid(text) : Self.invalid(text, "unexpected \(rest.prefix(1).quoted)")
            }
            let symbol = rest.prefix(while: \.isLetter)
            guard !symbol.isEmpty else {
                throw rest.isEmpty
                    ? Self.invalid(text, "add a unit, such as \(number)s")
                    : Self.invalid(text, "unexpected \(rest.prefix(1).quoted)")
            }
            guard let unit = Self.units.firstIndex(where: { $0.symbol == symbol }) else {
                throw Self.invalid(text, "unknown unit \(symbol.quoted); use ms, s, m, h or d")
            }
            guard unit > smallestUnitSoFar else {
                throw Self.invalid(text, "write each unit once, from the largest to the smallest, such as 1h30m")
            }
            smallestUnitSoFar = unit
            rest = rest[symbol.endIndex...]

            switch number.scaled(by: Self.units[unit].milliseconds) {
            case .exact(let value) where value <= Self.longest - total:
                total += value
            case .exact, .overflow:
                throw Self.invalid(text, "the longest duration is 100 years")
            case .inexact:
                throw Self.invalid(text, "\(number)\(symbol) is not a whole number of milliseconds")
            }
        } while !rest.isEmpty
        milliseconds = total
    }

    private static func invalid(_ text: String, _ advice: String? = nil) -> ValidationError {
        let message = "expected a duration such as 500ms, 10s, 5m, 1h30m or 7d, found \(text.quoted)"
        return ValidationError(advice.map { "\(message); \($0)" } ?? message)
    }

    /// Largest unit first, zero components left out: `1h30m`, `500ms`, `0s`.
    public var description: String {
        guard milliseconds > 0 else { return "0s" }
        var rest = milliseconds
        var text = ""
        for unit in Self.units where rest >= unit.milliseconds {
            text += "\(rest / unit.milliseconds)\(unit.symbol)"
            rest %= unit.milliseconds
        }
        return text
    }

    public static func < (lhs: TimeSpan, rhs: TimeSpan) -> Bool { lhs.milliseconds < rhs.milliseconds }

    public init(from decoder: any Decoder) throws {
        self = try decoder.decodeGrammarValue(Self.init(parsing:))
    }

    public func encode(to encoder: any Encoder) throws {
        try encoder.encodeGrammarValue(self)
    }
}
