/// An unsigned decimal number as written (`12`, `1.5`), kept as digits so that scaling it by a unit
/// is exact: `1.5` times `Gi` is a whole number of bytes, `0.3` times `ms` is not.
struct DecimalNumber {
    var wholeDigits: Substring
    var fractionDigits: Substring

    /// The result of multiplying by a unit.
    enum Scaled {
        case exact(Int64)
        /// The product has a fractional part.
        case inexact
        /// The product does not fit in `Int64`.
        case overflow
    }

    /// Reads a number from the start of `text` and removes it; nil when `text` does not start with a digit.
    /// A `.` belongs to the number only when a digit follows it.
    static func scan(_ text: inout Substring) -> DecimalNumber? {
        let whole = text.prefix(while: \.isASCIIDigit)
        guard !whole.isEmpty else { return nil }
        var rest = text[whole.endIndex...]
        var fraction = rest.prefix(0)
        if rest.first == "." {
            let digits = rest.dropFirst().prefix(while: \.isASCIIDigit)
            if !digits.isEmpty {
                fraction = digits
                rest = rest[digits.endIndex...]
            }
        }
        text = rest
        return DecimalNumber(wholeDigits: whole, fractionDigits: fraction)
    }

    /// The number times `unit`, computed exactly.
    func scaled(by unit: Int64) -> Scaled {
        guard let whole = Int64(wholeDigits) else { return .overflow }
        let (wholeProduct, wholeOverflow) = whole.multipliedReportingOverflow(by: unit)
        guard !wholeOverflow else { return .overflow }

        var significant = fractionDigits
        while significant.last == "0" { significant.removeLast() }
        guard !significant.isEmpty else { return .exact(wholeProduct) }
        // 18 digits keep the numerator and 10^count inside Int64; longer fractions never scale to whole units here.
        guard significant.count <= 18, let numerator = Int64(significant) else { return .inexact }
        var denominator: Int64 = 1
        for _ in significant { denominator *= 10 }
        // numerator < denominator, so the quotient is below `unit` and cannot overflow.
        let (quotient, remainder) = denominator.dividingFullWidth(numerator.multipliedFullWidth(by: unit))
        guard remainder == 0 else { return .inexact }
        let (total, totalOverflow) = wholeProduct.addingReportingOverflow(quotient)
        return totalOverflow ? .overflow : .exact(total)
    }
}

extension DecimalNumber: CustomStringConvertible {
    var description: String { fractionDigits.isEmpty ? String(wholeDigits) : "\(wholeDigits).\(fractionDigits)" }
}
