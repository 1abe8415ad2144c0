import BerthCore

/// Reads `.env` files and `env_file:` files the way compose v2 does: `KEY=VALUE` lines, `#`
/// comments (whole lines, and after whitespace in unquoted values), an optional `export ` prefix,
/// single-quoted values taken literally, double-quoted values with `\n`, `\t`, `\r`, `\\` and `\"`
/// escapes, and `KEY` alone for a variable taken from the environment. Unquoted and double-quoted
/// values are interpolated, with the variables defined earlier in the file first, then `lookup`.
enum EnvFile {
    /// One variable, with no value when the line is `KEY` alone.
    struct Variable: Equatable {
        var name: String
        var value: String?
    }

    /// The variables of `text`, in the order written; `file` names positions in errors.
    static func parse(_ text: String, file: String, lookup: [String: String]) throws(ComposeError) -> [Variable] {
        var scanner = Scanner(bytes: Array(text.utf8), file: file)
        var variables: [Variable] = []
        var defined: [String: String] = [:]
        while let line = try scanner.nextAssignment() {
            var variable = Variable(name: line.name, value: nil)
            if let raw = line.value {
                if line.interpolate {
                    var interpolator = Interpolator(environment: lookup.merging(defined) { _, fromFile in fromFile })
                    variable.value = try interpolator.interpolate(raw, path: line.name, at: line.location)
                } else {
                    variable.value = raw
                }
                defined[line.name] = variable.value
            }
            variables.append(variable)
        }
        return variables
    }

    /// Reads the file at `path` and parses it.
    static func read(_ path: String, lookup: [String: String], at location: SourceLocation?, field: String) throws(ComposeError) -> [Variable] {
        let text = try ComposeFiles.readText(path, at: location, field: field)
        return try parse(text, file: path, lookup: lookup)
    }

    /// One `KEY=VALUE` as written.
    private struct Assignment {
        var name: String
        var value: String?
        var interpolate: Bool
        var location: SourceLocation
    }

    /// Walks the bytes once; quoted values may span lines.
    private struct Scanner {
        let bytes: [UInt8]
        let file: String
        var index = 0
        var line = 1
        var lineStart = 0

        init(bytes: [UInt8], file: String) {
            self.bytes = bytes
            self.file = file
            // A UTF-8 byte order mark is not part of the first key.
            if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }
            lineStart = index
        }

        var location: SourceLocation { SourceLocation(file: file, line: line, column: index - lineStart + 1) }
        var current: UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func advance() {
            if bytes[index] == Byte.newline {
                line += 1
                lineStart = index + 1
            }
            index += 1
        }

        mutating func skipBlanks() {
            while let byte = current, byte == Byte.space || byte == Byte.tab || byte == Byte.carriageReturn { advance() }
        }

        mutating func skipLine() {
            while let byte = current, byte != Byte.newline { advance() }
            if current != nil { advance() }
        }

        mutating func nextAssignment() throws(ComposeError) -> Assignment? {
            while true {
                skipBlanks()
                guard let byte = current else { return nil }
                if byte == Byte.newline || byte == Byte.hash {
                    skipLine()
                    continue
                }
                return try assignment()
            }
        }

        private mutating func assignment() throws(ComposeError) -> Assignment {
            let start = location
            var name = word()
            if name == "export", current == Byte.space || current == Byte.tab {
                skipBlanks()
                name = word()
            }
            guard !name.isEmpty, let first = name.utf8.first, !(0x30...0x39).contains(first) else {
                throw ComposeError("expected `KEY=VALUE`, a variable name of letters, digits and `_`", at: location)
            }
            skipBlanks()
            guard let byte = current, byte != Byte.newline, byte != Byte.hash else {
                skipLine()
                return Assignment(name: name, value: nil, interpolate: false, location: start)
            }
            guard byte == Byte.equals else {
                throw ComposeError("expected `=` after `\(name)` (`KEY=VALUE`)", at: location)
            }
            advance()
            skipBlanks()
            let valueStart = location
            switch current {
            case Byte.singleQuote:
                let value = try quoted(by: Byte.singleQuote, escapes: false, from: valueStart)
                try endOfLine()
                return Assignment(name: name, value: value, interpolate: false, location: valueStart)
            case Byte.doubleQuote:
                let value = try quoted(by: Byte.doubleQuote, escapes: true, from: valueStart)
                try endOfLine()
                return Assignment(name: name, value: value, interpolate: true, location: valueStart)
            default:
                return Assignment(name: name, value: unquoted(), interpolate: true, location: valueStart)
            }
        }

        private mutating func word() -> String {
            let start = index
            while let byte = current, Self.isNameByte(byte) { advance() }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }

        private mutating func quoted(by quote: UInt8, escapes: Bool, from start: SourceLocation) throws(ComposeError) -> String {
            advance()
            var value: [UInt8] = []
            while let byte = current {
                advance()
                if byte == quote { return String(decoding: value, as: UTF8.self) }
                guard escapes, byte == Byte.backslash, let escaped = current else {
                    value.append(byte)
                    continue
                }
                advance()
                switch escaped {
                case UInt8(ascii: "n"): value.append(Byte.newline)
                case UInt8(ascii: "t"): value.append(Byte.tab)
                case UInt8(ascii: "r"): value.append(Byte.carriageReturn)
                case Byte.backslash, Byte.doubleQuote: value.append(escaped)
                default: value += [Byte.backslash, escaped]
                }
            }
            throw ComposeError("the quoted value starting here is never closed", at: start)
        }

        /// After a closing quote only blanks and a comment may follow on the line.
        private mutating func endOfLine() throws(ComposeError) {
            skipBlanks()
            guard let byte = current, byte != Byte.newline, byte != Byte.hash else {
                skipLine()
                return
            }
            throw ComposeError("unexpected text after the closing quote", at: location)
        }

        /// An unquoted value: up to the end of the line or a `#` after whitespace, trimmed.
        private mutating func unquoted() -> String {
            var value: [UInt8] = []
            while let byte = current, byte != Byte.newline {
                if byte == Byte.hash, value.isEmpty || value.last == Byte.space || value.last == Byte.tab { break }
                value.append(byte)
                advance()
            }
            skipLine()
            while let last = value.last, last == Byte.space || last == Byte.tab || last == Byte.carriageReturn { value.removeLast() }
            return String(decoding: value, as: UTF8.self)
        }

        private static func isNameByte(_ byte: UInt8) -> Bool {
            byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")
                || (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
        }
    }

    private enum Byte {
        static let newline = UInt8(ascii: "\n")
        static let carriageReturn = UInt8(ascii: "\r")
        static let space = UInt8(ascii: " ")
        static let tab = UInt8(ascii: "\t")
        static let hash = UInt8(ascii: "#")
        static let equals = UInt8(ascii: "=")
        static let singleQuote = UInt8(ascii: "'")
        static let doubleQuote = UInt8(ascii: "\"")
        static let backslash = UInt8(ascii: "\\")
    }
}
