/// Path arithmetic for compose files, done on strings so it is the same on every platform:
/// relative paths made absolute against a directory, `~` expanded, `.` and `..` removed.
enum ComposePaths {
    /// `path` made absolute against `directory` (itself absolute), `~` and `~/…` against `home`.
    static func absolute(_ path: String, against directory: String, home: String) -> String {
        if path == "~" { return clean(home) }
        if path.hasPrefix("~/") { return clean(home + "/" + path.dropFirst(2)) }
        if path.hasPrefix("/") { return clean(path) }
        return clean(directory + "/" + path)
    }

    /// An absolute path without `.`, `..`, repeated or trailing slashes.
    static func clean(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..": if !parts.isEmpty { parts.removeLast() }
            default: parts.append(part)
            }
        }
        return "/" + parts.joined(separator: "/")
    }

    /// The directory holding `path` (an absolute path).
    static func directory(of path: String) -> String {
        let cleaned = clean(path)
        guard let slash = cleaned.lastIndex(of: "/"), slash != cleaned.startIndex else { return "/" }
        return String(cleaned[..<slash])
    }

    /// The last component of `path`.
    static func baseName(of path: String) -> String {
        String(clean(path).split(separator: "/").last ?? "")
    }

    /// Whether a bind source or build context is a remote reference rather than a local path.
    static func isRemote(_ reference: String) -> Bool {
        reference.contains("://") || reference.hasPrefix("git@") || reference.hasPrefix("github.com/")
    }
}
