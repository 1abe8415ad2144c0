/// Text that workers supplied (output, progress messages, feedback), made safe for an operator's
/// terminal: every control character (C0, DEL, C1) is printed as a Swift escape, ESC as
/// `\u{1B}`, so no escape sequence reaches the terminal. JSON output needs none of this: JSON
/// escapes control characters itself.
enum TerminalText {
    /// `keepingLines` keeps LF and tab, for output printed as the lines it is; otherwise the
    /// text stays on one line (an event's message).
    static func escaped(_ text: String, keepingLines: Bool) -> String {
        guard text.unicodeScalars.contains(where: { isControl($0) }) else { return text }
        var escaped = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if isControl(scalar), !(keepingLines && (scalar == "\n" || scalar == "\t")) {
                escaped.append(contentsOf: "\\u{\(String(scalar.value, radix: 16, uppercase: true))}".unicodeScalars)
            } else {
                escaped.append(scalar)
            }
        }
        return String(escaped)
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }
}
