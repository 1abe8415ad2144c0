import Glibc

/// Resolves the symlinks of a host path the way the kernel would when the path is used, for a
/// project's policy (BerthCore's `PolicyCheck`): component by component, following each link
/// (relative ones from the folder holding them), up to 40 links as Linux allows. The part that
/// does not exist yet is kept as written: it cannot point anywhere until someone creates it.
public enum HostPathResolver {
    /// The resolved, normalized form of a normalized absolute path.
    @Sendable public static func resolve(_ path: String) -> String {
        var resolved: [String] = []
        var pending = path.split(separator: "/").map(String.init).reversed() as [String]
        var links = 0
        while let part = pending.popLast() {
            switch part {
            case ".": continue
            case "..": _ = resolved.popLast(); continue
            default: break
            }
            let candidate = "/" + (resolved + [part]).joined(separator: "/")
            guard links < 40, let target = readLink(candidate) else {
                resolved.append(part)
                continue
            }
            links += 1
            if target.hasPrefix("/") { resolved = [] }
            pending.append(contentsOf: target.split(separator: "/").map(String.init).reversed())
        }
        return "/" + resolved.joined(separator: "/")
    }

    /// The target of the symlink at `path`, or nil when it is not one (or does not exist).
    private static func readLink(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink(path, &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
