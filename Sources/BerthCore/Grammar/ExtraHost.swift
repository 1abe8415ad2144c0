/// A line added to the container's `/etc/hosts`: `HOST:IP` or `HOST=IP`, as compose's
/// `extra_hosts` take it. An IPv6 address may be written bare or in brackets (`db:::1`,
/// `db=[::1]`); `host-gateway` stands for the host's address on the engine's default bridge
/// (`host.docker.internal:host-gateway`). Shown as `HOST:IP`, IPv6 in brackets (`db:[::1]`).
public struct ExtraHost: Sendable, Hashable, Codable, CustomStringConvertible {
    public let host: String
    /// The address, without brackets, lowercase; or `host-gateway`.
    public let address: String

    static let hostGateway = "host-gateway"

    public init(parsing text: String) throws(ValidationError) {
        // `=` first: an IPv6 address holds `:` but never `=`.
        guard let split = text.firstIndex(of: "=") ?? text.firstIndex(of: ":") else {
            throw Self.invalid(text, "write HOST:IP")
        }
        let host = String(text[..<split])
        var address = String(text[text.index(after: split)...])
        if address.hasPrefix("["), address.hasSuffix("]") { address = String(address.dropFirst().dropLast()) }
        guard HostNameSyntax.isValid(host) else {
            throw Self.invalid(text, "the host name \(host.quoted) is not a DNS name (labels of letters, digits, - and _, joined by dots)")
        }
        guard address == Self.hostGateway || IPAddressSyntax.isIPv4(address[...]) || IPAddressSyntax.isIPv6(address[...]) else {
            throw Self.invalid(text, "\(address.quoted) is not an IPv4 or IPv6 address, nor host-gateway")
        }
        self.host = host
        self.address = address.lowercased()
    }

    private static func invalid(_ text: String, _ advice: String) -> ValidationError {
        ValidationError("expected a host entry such as db.local:10.0.0.5, db.local:[::1] or host.docker.internal:host-gateway, found \(text.quoted); \(advice)")
    }

    /// The engine's form, `HOST:IP` with the address bare (`db:::1`), which every engine version reads.
    public var engineEntry: String { "\(host):\(address)" }

    public var description: String { address.contains(":") ? "\(host):[\(address)]" : engineEntry }

    public init(from decoder: any Decoder) throws {
        self = try decoder.decodeGrammarValue(Self.init(parsing:))
    }

    public func encode(to encoder: any Encoder) throws {
        try encoder.encodeGrammarValue(self)
    }
}

/// Host and domain names a container uses (`hostname`, `extraHosts`, `dnsSearch`): labels of
/// 1–63 letters, digits, `-` and `_` joined by dots, no `-` at either end of a label.
enum HostNameSyntax {
    static func isValid(_ name: String, maxLength: Int = 253) -> Bool {
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        return name.count <= maxLength
            && labels.allSatisfy { label in
                (1...63).contains(label.count) && label.first != "-" && label.last != "-"
                    && label.allSatisfy { $0.isASCIILetter || $0.isASCIIDigit || $0 == "-" || $0 == "_" }
            }
    }
}

extension HostNameSyntax {
    /// A container's `hostname`: the kernel keeps at most 64 bytes of it.
    static func validatedHostname(_ name: String) throws(ValidationError) -> String {
        guard isValid(name, maxLength: 63) else {
            throw ValidationError("expected a host name such as web or web.internal (letters, digits, - and _, at most 63 characters), found \(name.quoted)")
        }
        return name
    }

    /// A network alias: a name other containers look up through the engine's DNS.
    static func validatedAlias(_ name: String) throws(ValidationError) -> String {
        guard isValid(name) else {
            throw ValidationError("expected a DNS name (labels of letters, digits and -, joined by dots), found \(name.quoted)")
        }
        return name
    }

    /// A `dnsSearch` domain.
    static func validatedDomain(_ name: String) throws(ValidationError) -> String {
        guard isValid(name) else {
            throw ValidationError("expected a DNS domain such as example.org, found \(name.quoted)")
        }
        return name
    }
}
