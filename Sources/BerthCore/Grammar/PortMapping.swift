/// A published container port: `80`, `8080:80`, `127.0.0.1:8080:80`, `127.0.0.1::80` (ephemeral host
/// port on that address) or `[::1]:8080:80`, each optionally ending in `/tcp`, `/udp` or `/sctp`.
/// Port ranges are refused so every published port is one line a reader can find.
public struct PortMapping: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The transport protocol of a mapping.
    public enum Transport: String, Sendable, Hashable, Codable, CaseIterable {
        case tcp, udp, sctp
    }

    /// The host address to bind, without brackets for IPv6; nil binds every address.
    public let hostIP: String?
    /// The host port; nil leaves the choice to Docker.
    public let hostPort: Int?
    public let containerPort: Int
    public let transport: Transport

    /// Whether the mapping claims a fixed host port, which two containers cannot share.
    public var bindsHostPort: Bool { hostPort != nil }

    public init(parsing text: String) throws(ValidationError) {
        var rest = Substring(text)
        var transport = Transport.tcp
        if let slash = rest.lastIndex(of: "/") {
            let name = rest[rest.index(after: slash)...]
            guard let parsed = Transport(rawValue: String(name)) else {
                throw Self.invalid(text, "unknown protocol \(name.quoted); use tcp, udp or sctp")
            }
            transport = parsed
            rest = rest[..<slash]
        }

        var hostIP: Substring?
        if rest.first == "[" {
            guard let close = rest.firstIndex(of: "]") else {
                throw Self.invalid(text, "close the IPv6 address with \"]\"")
            }
            let address = rest[rest.index(after: rest.startIndex)..<close]
            guard IPAddressSyntax.isIPv6(address) else {
                throw Self.invalid(text, "\(address.quoted) is not an IPv6 address")
            }
            rest = rest[rest.index(after: close)...]
            guard rest.first == ":" else {
                throw Self.invalid(text, "follow the host IP with a host port and a container port")
            }
            rest = rest.dropFirst()
            hostIP = address
        }
        var parts = rest.split(separator: ":", omittingEmptySubsequences: false)
        if hostIP == nil, parts.count == 3 {
            let address = parts.removeFirst()
            guard IPAddressSyntax.isIPv4(address) else {
                throw Self.invalid(text, "\(address.quoted) is not an IPv4 address; put IPv6 addresses in brackets")
            }
            hostIP = address
        }
        switch (parts.count, hostIP) {
        case (1, nil):
            self.hostPort = nil
        case (2, _) where parts[0].isEmpty && hostIP != nil:
            self.hostPort = nil
        case (2, _):
            self.hostPort = try Self.port(parts[0], role: "host port", in: text)
        default:
            throw Self.invalid(text, "write [host IP:][host port:]container port, with IPv6 host IPs in brackets")
        }
        self.containerPort = try Self.port(parts[parts.count - 1], role: "container port", in: text)
        self.hostIP = hostIP.map(String.init)
        self.transport = transport
    }

    private static func port(_ text: Substring, role: String, in mapping: String) throws(ValidationError) -> Int {
        guard !text.contains("-") else {
            throw invalid(mapping, "port ranges such as \(text) are not supported; publish each port separately")
        }
        guard !text.isEmpty else { throw invalid(mapping, "the \(role) is empty") }
        guard text.allSatisfy(\.isASCIIDigit) else {
            throw invalid(mapping, "the \(role) \(text.quoted) is not a number")
        }
        guard let port = Int(text), (1...65535).contains(port) else {
            throw invalid(mapping, "the \(role) \(text) is out of range 1-65535")
        }
        return port
    }

    private static func invalid(_ text: String, _ advice: String) -> ValidationError {
        ValidationError(
            "expected a port mapping such as 80, 8080:80, 127.0.0.1:8080:80 or [::1]:53:53/udp, "
                + "found \(text.quoted); \(advice)"
        )
    }

    /// Always with the protocol: `80/tcp`, `127.0.0.1:8443:443/tcp`, `[::1]::53/udp`.
    public var description: String {
        var text = ""
        if let hostIP { text += hostIP.contains(":") ? "[\(hostIP)]:" : "\(hostIP):" }
        if let hostPort { text += "\(hostPort):" } else if hostIP != nil { text += ":" }
        return text + "\(containerPort)/\(transport.rawValue)"
    }

    public init(from decoder: any Decoder) throws {
        self = try decoder.decodeGrammarValue(Self.init(parsing:))
    }

    public func encode(to encoder: any Encoder) throws {
        try encoder.encodeGrammarValue(self)
    }
}
