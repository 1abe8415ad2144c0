/// A small reader and writer of POSIX ustar archives, enough for the engine's archive API: regular
/// files and folders, names up to 255 bytes (prefix + name), sizes up to 8 GiB.
public enum TarArchive {
    /// One file or folder of an archive.
    public struct Entry: Sendable, Hashable {
        /// Whether the entry is a regular file or a folder.
        public enum Kind: Sendable, Hashable {
            case file
            case directory
        }

        public var path: String
        public var kind: Kind
        public var mode: Int
        public var contents: [UInt8]

        public init(path: String, kind: Kind = .file, mode: Int = 0o644, contents: [UInt8] = []) {
            self.path = path
            self.kind = kind
            self.mode = mode
            self.contents = contents
        }
    }

    /// Why an archive could not be read.
    public struct FormatError: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// The regular files and folders of an archive; other entry types (links, devices) are skipped.
    public static func read(_ bytes: [UInt8]) throws -> [Entry] {
        var entries: [Entry] = []
        var offset = 0
        var longName: String?
        while offset + 512 <= bytes.count {
            let header = Array(bytes[offset..<(offset + 512)])
            if header.allSatisfy({ $0 == 0 }) { break }
            guard let size = octal(header[124..<136]) else { throw FormatError(description: "bad size field at byte \(offset)") }
            let stored = checksum(header)
            guard octal(header[148..<156]) == stored else { throw FormatError(description: "bad header checksum at byte \(offset)") }
            let dataStart = offset + 512
            guard dataStart + size <= bytes.count else { throw FormatError(description: "archive ends inside an entry") }
            let data = Array(bytes[dataStart..<(dataStart + size)])
            let type = header[156]
            var path = longName ?? name(header)
            longName = nil
            switch type {
            case UInt8(ascii: "L"):
                longName = String(decoding: data.prefix { $0 != 0 }, as: UTF8.self)
            case 0, UInt8(ascii: "0"), UInt8(ascii: "7"):
                entries.append(Entry(path: path, kind: .file, mode: octal(header[100..<108]) ?? 0o644, contents: data))
            case UInt8(ascii: "5"):
                if path.hasSuffix("/") { path.removeLast() }
                entries.append(Entry(path: path, kind: .directory, mode: octal(header[100..<108]) ?? 0o755))
            default:
                break
            }
            offset = dataStart + (size + 511) / 512 * 512
        }
        return entries
    }

    /// An archive of `entries`, ending with the two zero blocks.
    public static func write(_ entries: [Entry]) -> [UInt8] {
        var archive: [UInt8] = []
        for entry in entries {
            var header = [UInt8](repeating: 0, count: 512)
            var path = entry.path
            if entry.kind == .directory, !path.hasSuffix("/") { path += "/" }
            let (prefix, name) = split(path)
            put(name, into: &header, at: 0, width: 100)
            put(octalText(entry.mode, width: 8), into: &header, at: 100, width: 8)
            put(octalText(0, width: 8), into: &header, at: 108, width: 8)
            put(octalText(0, width: 8), into: &header, at: 116, width: 8)
            put(octalText(entry.kind == .file ? entry.contents.count : 0, width: 12), into: &header, at: 124, width: 12)
            put(octalText(0, width: 12), into: &header, at: 136, width: 12)
            header[156] = entry.kind == .file ? UInt8(ascii: "0") : UInt8(ascii: "5")
            put("ustar", into: &header, at: 257, width: 6)
            put("00", into: &header, at: 263, width: 2)
            put(prefix, into: &header, at: 345, width: 155)
            put(octalText(checksum(header), width: 7), into: &header, at: 148, width: 7)
            header[155] = UInt8(ascii: " ")
            archive += header
            if entry.kind == .file {
                archive += entry.contents
                archive += [UInt8](repeating: 0, count: (512 - entry.contents.count % 512) % 512)
            }
        }
        return archive + [UInt8](repeating: 0, count: 1024)
    }

    /// The header checksum: the byte sum with the checksum field counted as spaces.
    private static func checksum(_ header: [UInt8]) -> Int {
        header.enumerated().reduce(0) { sum, element in sum + ((148..<156).contains(element.offset) ? 32 : Int(element.element)) }
    }

    private static func name(_ header: [UInt8]) -> String {
        let name = String(decoding: header[0..<100].prefix { $0 != 0 }, as: UTF8.self)
        let prefix = String(decoding: header[345..<500].prefix { $0 != 0 }, as: UTF8.self)
        return prefix.isEmpty ? name : prefix + "/" + name
    }

    private static func split(_ path: String) -> (prefix: String, name: String) {
        guard path.utf8.count > 100,
            let slash = path.utf8.indices.last(where: { path.utf8[$0] == UInt8(ascii: "/") && path.utf8.distance(from: path.utf8.index(after: $0), to: path.utf8.endIndex) <= 100 })
        else {
            return ("", path)
        }
        return (String(path[..<slash]), String(path[path.index(after: slash)...]))
    }

    private static func octal(_ field: ArraySlice<UInt8>) -> Int? {
        let text = String(decoding: field.prefix { $0 != 0 && $0 != UInt8(ascii: " ") }, as: UTF8.self)
        return text.isEmpty ? 0 : Int(text, radix: 8)
    }

    private static func octalText(_ value: Int, width: Int) -> String {
        let digits = String(value, radix: 8)
        return String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits
    }

    private static func put(_ text: String, into header: inout [UInt8], at offset: Int, width: Int) {
        for (index, byte) in text.utf8.prefix(width).enumerated() { header[offset + index] = byte }
    }
}

/// A file read from a container with a size limit.
public enum BoundedFile: Sendable, Hashable {
    case contents([UInt8])
    /// Larger than the limit; not read further.
    case tooLarge
    /// The path is a folder (or something else that is not a regular file).
    case notAFile
}
