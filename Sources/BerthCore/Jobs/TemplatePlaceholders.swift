/// The one substitution a JobTemplate knows: `{{ .parameters.NAME }}` (blanks allowed inside the
/// braces), replaced by a parameter's value as literal text. No expressions, no functions, no
/// escapes: text that does not start a placeholder (`{{ .Names }}`) is left as written.
public enum TemplatePlaceholders {
    /// A placeholder found in a text: the parameter it names, or why it is malformed.
    public enum Found: Sendable, Hashable {
        case parameter(String)
        case malformed(String)
    }

    private static let opening = "{{"
    private static let prefix = ".parameters."

    /// Every placeholder in `text`, in order.
    public static func find(in text: String) -> [Found] {
        var found: [Found] = []
        _ = scan(text) {
            found.append($0)
            return ""
        }
        return found
    }

    /// `text` with each placeholder replaced by `value(name)`; nil when a placeholder is malformed.
    public static func substitute(_ text: String, _ value: (String) -> String) -> String? {
        var malformed = false
        let result = scan(text) { found in
            switch found {
            case .parameter(let name): return value(name)
            case .malformed:
                malformed = true
                return ""
            }
        }
        return malformed ? nil : result
    }

    /// Walks `text`, replacing each placeholder by what `replace` returns for it.
    private static func scan(_ text: String, _ replace: (Found) -> String) -> String {
        guard text.contains(opening) else { return text }
        var output = ""
        var rest = Substring(text)
        while let open = rest.firstRange(of: opening) {
            output += rest[..<open.lowerBound]
            let inside = rest[open.upperBound...].drop { $0 == " " || $0 == "\t" }
            guard inside.hasPrefix(prefix) else {
                // Not a placeholder: keep the braces as written.
                output += opening
                rest = rest[open.upperBound...]
                continue
            }
            let afterPrefix = inside.dropFirst(prefix.count)
            let name = afterPrefix.prefix { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
            let tail = afterPrefix.dropFirst(name.count).drop { $0 == " " || $0 == "\t" }
            guard !name.isEmpty, name.first?.isNumber == false, tail.hasPrefix("}}") else {
                let written = rest[open.lowerBound...].prefix(40)
                output += replace(.malformed("expected {{ .parameters.NAME }} (NAME: letters, digits and _), found \"\(written)\""))
                return output
            }
            output += replace(.parameter(String(name)))
            rest = tail.dropFirst(2)
        }
        return output + rest
    }
}
