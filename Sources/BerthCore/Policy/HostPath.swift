/// Host paths as a policy compares them: absolute, with `.`, `..`, repeated and trailing slashes
/// resolved lexically. Symlinks are the caller's to resolve (it can see the host); see
/// ``PolicyCheck/resolve``.
public enum HostPath {
    /// Never usable by API writers, whatever a policy allows, nor any folder holding one of them:
    /// the kernel's and the devices' file systems, and the Docker socket (root on the host).
    public static let neverAllowed = ["/proc", "/sys", "/dev", "/run/docker.sock", "/var/run/docker.sock"]

    /// `/srv/shop/../../etc/` → `/etc`; `..` above the root stays at the root. Nil when `path`
    /// is not absolute.
    public static func normalize(_ path: String) -> String? {
        guard path.hasPrefix("/") else { return nil }
        var parts: [Substring] = []
        for part in path.split(separator: "/") {
            switch part {
            case ".": continue
            case "..": _ = parts.popLast()
            default: parts.append(part)
            }
        }
        return "/" + parts.joined(separator: "/")
    }

    /// Whether `path` is `folder` or lies inside it, compared whole component by component
    /// (`/srv/shopping` is not inside `/srv/shop`) and case by case, as Linux compares names.
    /// Both are normalized paths.
    public static func isWithin(_ path: String, _ folder: String) -> Bool {
        if folder == "/" || path == folder { return true }
        return path.hasPrefix(folder) && path.utf8.dropFirst(folder.utf8.count).first == UInt8(ascii: "/")
    }

    /// A `policy.hostPaths` entry: absolute, stored normalized.
    static func normalizedPrefix(_ text: String) throws(ValidationError) -> String {
        guard let path = normalize(text) else {
            throw ValidationError("expected an absolute host path such as /srv/shop, found \(text.quoted)")
        }
        return path
    }
}
