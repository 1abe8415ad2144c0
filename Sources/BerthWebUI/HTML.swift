import Foundation

/// Markup under construction. Its only inputs are string literals of this module (raw markup) and
/// interpolated values, which are always escaped (`&<>"'`): text from the store, a manifest or a
/// request can never become markup.
package struct HTML: Sendable, ExpressibleByStringInterpolation {
    package private(set) var text: String

    package init() { text = "" }

    package init(capacity: Int) {
        text = ""
        text.reserveCapacity(capacity)
    }

    package init(stringLiteral literal: StaticString) {
        text = Self.string(literal)
    }

    package init(stringInterpolation: Interpolation) {
        text = stringInterpolation.text
    }

    /// Appends markup built the same way.
    package static func += (html: inout HTML, markup: HTML) {
        html.text.append(markup.text)
    }

    /// The pieces of a literal with interpolations: literal parts as they are, values escaped.
    package struct Interpolation: StringInterpolationProtocol {
        var text: String

        package init(literalCapacity: Int, interpolationCount: Int) {
            text = ""
            text.reserveCapacity(literalCapacity + 16 * interpolationCount)
        }

        package mutating func appendLiteral(_ literal: StaticString) {
            text.append(HTML.string(literal))
        }

        package mutating func appendInterpolation(_ value: some StringProtocol) {
            HTML.escape(value, into: &text)
        }

        package mutating func appendInterpolation(_ value: Int) {
            text.append(String(value))
        }

        package mutating func appendInterpolation(_ value: Int64) {
            text.append(String(value))
        }

        /// Markup built by this module: inserted as it is.
        package mutating func appendInterpolation(_ markup: HTML) {
            text.append(markup.text)
        }
    }

    static func string(_ literal: StaticString) -> String {
        literal.withUTF8Buffer { String(decoding: $0, as: UTF8.self) }
    }

    /// Appends `value` with `&`, `<`, `>`, `"` and `'` replaced by character references; text
    /// without any of them (the usual case) is appended in one piece.
    static func escape(_ value: some StringProtocol, into text: inout String) {
        let utf8 = value.utf8
        guard utf8.contains(where: { $0 == 0x26 || $0 == 0x3C || $0 == 0x3E || $0 == 0x22 || $0 == 0x27 }) else {
            text.append(contentsOf: value)
            return
        }
        for scalar in value.unicodeScalars {
            switch scalar {
            case "&": text.append("&amp;")
            case "<": text.append("&lt;")
            case ">": text.append("&gt;")
            case "\"": text.append("&quot;")
            case "'": text.append("&#39;")
            default: text.unicodeScalars.append(scalar)
            }
        }
    }
}

/// Times as pages show them: `<time datetime="…" title="exact UTC time">3 min ago</time>`.
package enum TimeText {
    /// Formatters are value types made once, never per row.
    private static let iso = Date.ISO8601FormatStyle(includingFractionalSeconds: false)
    private static let exact = Date.ISO8601FormatStyle(dateSeparator: .dash, dateTimeSeparator: .space, timeZone: TimeZone(identifier: "UTC")!)

    /// A `<time>` element relative to `now`; `-` for no time.
    package static func element(_ date: Date?, now: Date) -> HTML {
        guard let date else { return "-" }
        // `2026-12-07 10:35:59Z` → `2026-12-07 10:35:59 UTC`
        var exactText = date.formatted(exact)
        if exactText.hasSuffix("Z") { exactText.removeLast() }
        return "<time datetime=\"\(date.formatted(iso))\" title=\"\(exactText) UTC\">\(relative(date, now: now))</time>"
    }

    /// `12 s ago`, `3 min ago`, `2 h ago`, `4 d ago`, or `in 5 min` for a future time.
    package static func relative(_ date: Date, now: Date) -> String {
        let seconds = Int(now.timeIntervalSince(date).rounded())
        let span = abs(seconds)
        let amount: String =
            switch span {
            case ..<60: "\(span) s"
            case ..<3600: "\(span / 60) min"
            case ..<86400: "\(span / 3600) h"
            default: "\(span / 86400) d"
            }
        if span < 5 { return "just now" }
        return seconds >= 0 ? "\(amount) ago" : "in \(amount)"
    }
}
