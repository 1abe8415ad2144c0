import BerthCore

/// The short syntax of `ports` and `volumes` entries, rewritten in the long syntax compose v2
/// prints: `"127.0.0.1:8080:80/udp"` becomes `{host_ip, published, target, protocol, mode}`,
/// `./data:/data:ro,z` becomes `{type: bind, source, target, read_only, bind: {…}}`.
enum ShortSyntax {
    static let portFormat = "expected \"[[HOST_IP:]PUBLISHED:]TARGET[/PROTOCOL]\" (ports may be ranges like 8000-8002)"

    /// The long entries of a short port: one per port of a range.
    static func ports(_ text: String, path: String, at location: SourceLocation?) throws(ComposeError) -> [InputNode] {
        let failure = ComposeError("\(portFormat), found \(text.quotedForMessage)", path: path, at: location)
        var spec = Substring(text)
        var proto = "tcp"
        if let slash = spec.lastIndex(of: "/") {
            proto = String(spec[spec.index(after: slash)...])
            spec = spec[..<slash]
            guard ["tcp", "udp", "sctp"].contains(proto) else { throw failure }
        }
        var hostIP: String?
        if spec.hasPrefix("["), let close = spec.firstIndex(of: "]") {
            hostIP = String(spec[spec.index(after: spec.startIndex)..<close])
            spec = spec[spec.index(after: close)...]
            guard spec.hasPrefix(":") else { throw failure }
            spec = spec.dropFirst()
        }
        var parts = spec.split(separator: ":", omittingEmptySubsequences: false)
        if hostIP == nil, parts.count > 3 {
            hostIP = parts.dropLast(2).joined(separator: ":")
            parts = Array(parts.suffix(2))
        } else if hostIP == nil, parts.count == 3 {
            hostIP = String(parts.removeFirst())
        }
        guard (1...2).contains(parts.count), let targets = range(parts[parts.count - 1], allowZero: false) else { throw failure }
        let published: ClosedRange<Int>?
        if parts.count == 2, !parts[0].isEmpty {
            guard let range = range(parts[0], allowZero: true) else { throw failure }
            published = range
        } else {
            published = nil
        }
        func entry(target: Int, published: String?) -> InputNode {
            var pairs: [(String, InputNode)] = [("mode", .string("ingress", at: location))]
            if let hostIP, !hostIP.isEmpty { pairs.append(("host_ip", .string(hostIP, at: location))) }
            pairs.append(("target", .number(target, at: location)))
            if let published { pairs.append(("published", .string(published, at: location))) }
            pairs.append(("protocol", .string(proto, at: location)))
            return .map(pairs, at: location)
        }
        guard let published else { return targets.map { entry(target: $0, published: nil) } }
        if targets.count == 1 {
            let text = published.count == 1 ? "\(published.lowerBound)" : "\(published.lowerBound)-\(published.upperBound)"
            return [entry(target: targets.lowerBound, published: text)]
        }
        guard published.count == targets.count else {
            throw ComposeError(
                "the published range \(published.lowerBound)-\(published.upperBound) and the target range \(targets.lowerBound)-\(targets.upperBound) have different lengths, in \(text.quotedForMessage)",
                path: path, at: location)
        }
        return zip(targets, published).map { entry(target: $0, published: "\($1)") }
    }

    /// `80` or `8000-8002`, each port within 0(1)–65535.
    private static func range(_ text: Substring, allowZero: Bool) -> ClosedRange<Int>? {
        let bounds = text.split(separator: "-", omittingEmptySubsequences: false)
        guard (1...2).contains(bounds.count) else { return nil }
        let numbers = bounds.compactMap { $0.allSatisfy { ("0"..."9").contains($0) } ? Int($0) : nil }
        let lowest = allowZero ? 0 : 1
        guard numbers.count == bounds.count, numbers.allSatisfy({ (lowest...65535).contains($0) }), numbers[0] <= numbers[numbers.count - 1] else { return nil }
        return numbers[0]...numbers[numbers.count - 1]
    }

    static let volumeFormat = "expected \"[SOURCE:]TARGET[:OPTIONS]\""

    /// The long entry of a short volume; bind sources made absolute against `directory`, the
    /// target without a trailing `/` (as compose writes it).
    static func volume(_ text: String, path: String, at location: SourceLocation?, directory: String, home: String) throws(ComposeError) -> InputNode {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard (1...3).contains(parts.count), parts.allSatisfy({ !$0.isEmpty }) else {
            throw ComposeError("\(volumeFormat), found \(text.quotedForMessage)", path: path, at: location)
        }
        func node(_ text: String) -> InputNode { .string(text, at: location) }
        guard parts.count > 1 else {
            return .map([("type", node("volume")), ("target", node(parts[0]))], at: location)
        }
        let source = parts[0]
        let isBind = source.hasPrefix(".") || source.hasPrefix("/") || source.hasPrefix("~")
        var pairs: [(String, InputNode)] = [
            ("type", node(isBind ? "bind" : "volume")),
            ("source", node(isBind ? ComposePaths.absolute(source, against: directory, home: home) : source)),
            ("target", node(parts[1].hasPrefix("/") ? ComposePaths.clean(parts[1]) : parts[1])),
        ]
        var bind: [(String, InputNode)] = isBind ? [("create_host_path", InputNode(.bool(true), location: location))] : []
        var volume: [(String, InputNode)] = []
        for option in parts.count == 3 ? parts[2].split(separator: ",").map(String.init) : [] {
            switch option {
            case "ro": pairs.append(("read_only", InputNode(.bool(true), location: location)))
            case "rw": break
            case "z", "Z": bind.append(("selinux", node(option)))
            case "shared", "rshared", "slave", "rslave", "private", "rprivate": bind.append(("propagation", node(option)))
            case "nocopy": volume.append(("nocopy", InputNode(.bool(true), location: location)))
            case "consistent", "cached", "delegated": pairs.append(("consistency", node(option)))
            default:
                throw ComposeError(
                    "unknown volume option \(option.quotedForMessage) in \(text.quotedForMessage); compose knows ro, rw, z, Z, nocopy, shared, rshared, slave, rslave, private, rprivate, consistent, cached and delegated",
                    path: path, at: location)
            }
        }
        if !bind.isEmpty { pairs.append(("bind", .map(bind, at: location))) }
        if !volume.isEmpty { pairs.append(("volume", .map(volume, at: location))) }
        return .map(pairs, at: location)
    }
}
