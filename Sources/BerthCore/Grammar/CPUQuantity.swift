/// A share of CPU: cores with up to three decimals (`0.5`, `2`) or millicores (`1500m`); always more than 0.
public struct CPUQuantity: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// Thousandths of a core; always positive.
    public let millicores: Int

    public init(millicores: Int) {
        precondition(millicores > 0 && millicores <= Self.mostMillicores, "a CPUQuantity is positive and fits nanoCPUs")
        self.millicores = millicores
    }

    /// The quantity in Docker's unit, billionths of a core.
    public var nanoCPUs: Int64 { Int64(millicores) * 1_000_000 }

    /// The most that `nanoCPUs` can express.
    private static let mostMillicores = Int(Int64.max / 1_000_000)

    public init(parsing text: String) throws(ValidationError) {
        guard text.first != "-" else { throw Self.invalid(text, "CPU quantities are positive") }
        var rest = Substring(text)
        guard let number = DecimalNumber.scan(&rest) else { throw Self.invalid(text) }
        let millicoresPerUnit: Int64
        switch rest {
        case "":
            millicoresPerUnit = 1000
        case "m":
            guard number.fractionDigits.isEmpty else { throw Self.invalid(text, "millicores are whole numbers") }
            millicoresPerUnit = 1
        default:
            throw Self.invalid(text, "unknown suffix \(rest.quoted); write cores (0.5) or millicores (500m)")
        }
        switch number.scaled(by: millicoresPerUnit) {
        case .exact(0):
            throw Self.invalid(text, "a CPU quantity must be more than 0")
        case .exact(let value) where value <= Self.mostMillicores:
            millicores = Int(value)
        case .exact, .overflow:
            throw Self.invalid(text, "the quantity is too large")
        case .inexact:
            throw Self.invalid(text, "use at most 3 decimal places; the smallest quantity is 0.001 (1m)")
        }
    }

    private static func invalid(_ text: String, _ advice: String? = nil) -> ValidationError {
        let message = "expected a CPU quantity such as 0.5, 2 or 1500m, found \(text.quoted)"
        return ValidationError(advice.map { "\(message); \($0)" } ?? message)
    }

    /// Cores as a decimal without trailing zeros: `1.5`, `0.25`, `2`, `0.001`.
    public var description: String {
        let cores = millicores / 1000
        let thousandths = millicores % 1000
        guard thousandths > 0 else { return String(cores) }
        var digits = String(thousandths)
        digits = String(repeating: "0", count: 3 - digits.count) + digits
        while digits.last == "0" { digits.removeLast() }
        return "\(cores).\(digits)"
    }

    public static func < (lhs: CPUQuantity, rhs: CPUQuantity) -> Bool { lhs.millicores < rhs.millicores }

    /// Also accepts a number (`2`, `0.5`), read through its text form.
    public init(from decoder: any Decoder) throws {
        self = try decoder.decodeGrammarValue(accepting: .integersAndDecimals, Self.init(parsing:))
    }

    public func encode(to encoder: any Encoder) throws {
        try encoder.encodeGrammarValue(self)
    }
}
