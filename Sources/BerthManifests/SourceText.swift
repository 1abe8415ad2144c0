/// Byte-level facts about a source file that libyaml does not report in the form Berth needs.
/// Lines end at `\n`, `\r\n` or `\r`; columns count characters, as libyaml's marks do.
enum SourceText {
    /// Offset of the first byte that is not part of well-formed UTF-8, or nil when all of it is.
    static func firstInvalidUTF8(in bytes: [UInt8]) -> Int? {
        var index = 0
        while index < bytes.count {
            let lead = bytes[index]
            if lead < 0x80 {
                index += 1
                continue
            }
            // The second byte's range excludes overlong forms, surrogates and values above U+10FFFF.
            let (length, second): (Int, ClosedRange<UInt8>)
            switch lead {
            case 0xC2...0xDF: (length, second) = (2, 0x80...0xBF)
            case 0xE0: (length, second) = (3, 0xA0...0xBF)
            case 0xED: (length, second) = (3, 0x80...0x9F)
            case 0xE1...0xEF: (length, second) = (3, 0x80...0xBF)
            case 0xF0: (length, second) = (4, 0x90...0xBF)
            case 0xF1...0xF3: (length, second) = (4, 0x80...0xBF)
            case 0xF4: (length, second) = (4, 0x80...0x8F)
            default: return index
            }
            guard index + length <= bytes.count, second.contains(bytes[index + 1]) else { return index }
            for offset in 2..<length where bytes[index + offset] & 0xC0 != 0x80 { return index }
            index += length
        }
        return nil
    }

    /// 1-based line and column of the byte at `offset`.
    static func position(ofByte offset: Int, in bytes: [UInt8]) -> (line: Int, column: Int) {
        var line = 1
        var lineStart = 0
        var index = 0
        while index < min(offset, bytes.count) {
            if endsLine(at: index, in: bytes) {
                line += 1
                lineStart = index + 1
            }
            index += 1
        }
        let column = bytes[lineStart..<min(offset, bytes.count)].count { $0 & 0xC0 != 0x80 } + 1
        return (line, column)
    }

    /// Whether the 1-based `line` is indented with a tab or has a tab at `column`: the usual cause of
    /// libyaml's less helpful messages ("found character that cannot start any token").
    static func isTabIndented(line: Int, column: Int, in bytes: [UInt8]) -> Bool {
        var currentLine = 1
        var index = 0
        while currentLine < line, index < bytes.count {
            if endsLine(at: index, in: bytes) { currentLine += 1 }
            index += 1
        }
        guard currentLine == line else { return false }
        var character = 1
        var inIndentation = true
        while index < bytes.count, bytes[index] != 0x0A, bytes[index] != 0x0D {
            let byte = bytes[index]
            if byte == 0x09, inIndentation || character == column { return true }
            if byte != 0x20 { inIndentation = false }
            if byte & 0xC0 != 0x80 { character += 1 }
            index += 1
        }
        return false
    }

    /// Whether the byte at `index` is the last of a line break (`\n`, or a `\r` not followed by `\n`).
    private static func endsLine(at index: Int, in bytes: [UInt8]) -> Bool {
        bytes[index] == 0x0A || (bytes[index] == 0x0D && (index + 1 == bytes.count || bytes[index + 1] != 0x0A))
    }
}
