/// The signal that asks a container to stop: a name (`SIGTERM`, `TERM`, `sigterm`) or a number 1–64.
///
/// Numbers use Linux numbering. The standard signals 1–31 print as their `SIG` names; 32–64 (the
/// real-time range, whose names differ between kernel and C library) print as plain numbers.
public struct StopSignal: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The Linux signal number, 1–64.
    public let number: Int32

    public init(number: Int32) {
        precondition((1...64).contains(number), "Linux signal numbers go from 1 to 64")
        self.number = number
    }

    /// Docker's default.
    public static let sigterm = StopSignal(number: 15)

    /// Names of signals 1–31 without the `SIG` prefix, in number order.
    private static let names = [
        "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2", "PIPE", "ALRM",
        "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF",
        "WINCH", "IO", "PWR", "SYS",
    ]

    public init(parsing text: String) throws(ValidationError) {
        if !text.isEmpty, text.allSatisfy(\.isASCIIDigit) {
            guard let number = Int32(text), (1...64).contains(number) else {
                throw Self.invalid(text, "signal numbers go from 1 to 64")
            }
            self.number = number
            return
        }
        let name = text.uppercased()
        let bareName = name.hasPrefix("SIG") ? name.dropFirst(3) : Substring(name)
        guard text.allSatisfy(\.isASCII), let index = Self.names.firstIndex(where: { $0 == bareName }) else {
            throw Self.invalid(text)
        }
        number = Int32(index + 1)
    }

    private static func invalid(_ text: String, _ advice: String? = nil) -> ValidationError {
        let message = "expected a signal name such as SIGTERM, TERM or SIGQUIT, or a number 1-64, found \(text.quoted)"
        return ValidationError(advice.map { "\(message); \($0)" } ?? message)
    }

    /// `SIGTERM` for the standard signals, the number for the real-time ones.
    public var description: String {
        number <= Self.names.count ? "SIG" + Self.names[Int(number) - 1] : String(number)
    }

    /// Also accepts an integer signal number.
    public init(from decoder: any Decoder) throws {
        self = try decoder.decodeGrammarValue(accepting: .integers, Self.init(parsing:))
    }

    public func encode(to encoder: any Encoder) throws {
        try encoder.encodeGrammarValue(self)
    }
}
