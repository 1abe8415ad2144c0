/// A Docker network of a project: created and owned by Berth, or (`external`) one that exists and
/// is used as it is.
public struct NetworkSpec: Sendable, Hashable, Codable {
    /// Address management: the subnet containers get addresses from, and its gateway.
    public struct IPAM: Sendable, Hashable, Codable {
        /// CIDR, e.g. `10.20.0.0/24` or `fd00:20::/64`.
        public var subnet: String
        public var gateway: String?

        public init(subnet: String, gateway: String? = nil) {
            self.subnet = subnet
            self.gateway = gateway
        }
    }

    public var driver: String
    /// No route out of the network: its containers reach each other only.
    public var `internal`: Bool
    public var enableIPv6: Bool
    public var ipam: IPAM?
    /// Driver options, passed to the engine as they are.
    public var options: [String: String]
    public var labels: [String: String]
    /// `Delete` (the default) removes the network once it is no longer declared and nothing uses
    /// it; `Retain` keeps it.
    public var reclaimPolicy: ReclaimPolicy
    /// Use an existing network by ``networkName`` (default: the resource's name); Berth never
    /// creates, changes or removes it.
    public var external: Bool
    /// The engine's name for the network; Berth's own are `berth-<project>-<name>`.
    public var networkName: String?

    public init(
        driver: String = "bridge",
        internal isInternal: Bool = false,
        enableIPv6: Bool = false,
        ipam: IPAM? = nil,
        options: [String: String] = [:],
        labels: [String: String] = [:],
        reclaimPolicy: ReclaimPolicy = .delete,
        external: Bool = false,
        networkName: String? = nil
    ) {
        self.driver = driver
        self.internal = isInternal
        self.enableIPv6 = enableIPv6
        self.ipam = ipam
        self.options = options
        self.labels = labels
        self.reclaimPolicy = reclaimPolicy
        self.external = external
        self.networkName = networkName
    }

    /// The engine's name for this network of `project` called `name`.
    public func engineName(project: String, name: String) -> String {
        if external { return networkName ?? name }
        return ObjectName.network(project: project, name: name)
    }

    /// The spec of the default network a project gets when it declares none.
    public static let implicitDefault = NetworkSpec()

    static func read(_ map: MapReader) -> NetworkSpec? {
        let external = map.optional("external", default: false) { try $0.bool() }
        let spec = NetworkSpec(
            driver: map.optional("driver", default: "bridge") { try $0.nonEmptyString() },
            internal: map.optional("internal", default: false) { try $0.bool() },
            enableIPv6: map.optional("enableIPv6", default: false) { try $0.bool() },
            ipam: map.optional("ipam") { try IPAM.read(try $0.map()) },
            options: map.optional("options", default: [:]) { try $0.dictionary { try $0.string() } },
            labels: map.optional("labels", default: [:]) {
                try $0.dictionary(validateKey: LabelKey.validateUserLabel) { try $0.string() }
            },
            reclaimPolicy: map.optional("reclaimPolicy", default: .delete) { try $0.choice(ReclaimPolicy.self) },
            external: external,
            networkName: map.optional("networkName") { try $0.parse(EngineObjectName.network) }
        )
        if external {
            let owned = ["driver", "internal", "enableIPv6", "ipam", "options", "labels", "reclaimPolicy"]
            for field in owned where map.has(field) {
                map.report("an external network is used as it is, so Berth sets none of its fields; leave \(field) out or drop external", field: field)
            }
        } else if map.has("networkName") {
            map.report("networkName names an existing network and needs external: true; Berth names its own networks berth-<project>-<name>", field: "networkName")
        }
        return spec
    }

    public init(from decoder: any Decoder) throws {
        self = try Self.decodeInput(from: decoder, read: Self.read)
    }
}

extension NetworkSpec.IPAM {
    static func read(_ map: MapReader) throws -> NetworkSpec.IPAM {
        defer { map.finish() }
        let subnet = map.required("subnet") { try $0.parse(Subnet.init(parsing:)) }
        let gateway = map.optional("gateway") { reader -> String in
            let text = try reader.string()
            guard IPAddressSyntax.isIPv4(text[...]) || IPAddressSyntax.isIPv6(text[...]) else {
                throw reader.fail("expected an IP address, found \"\(text)\"")
            }
            if let subnet, subnet.isIPv4, !subnet.contains(text) {
                throw reader.fail("gateway \(text) is outside subnet \(subnet)")
            }
            return text
        }
        guard let subnet else { throw AlreadyReported() }
        return NetworkSpec.IPAM(subnet: subnet.description, gateway: gateway)
    }
}

/// A CIDR block: `10.20.0.0/24` or `fd00:20::/64`.
public struct Subnet: Sendable, Hashable, CustomStringConvertible {
    public var address: String
    public var prefixLength: Int

    public init(parsing text: String) throws(ValidationError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let length = Int(parts[1]) else {
            throw ValidationError("expected a subnet in CIDR form such as 10.20.0.0/24, found \"\(text)\"")
        }
        if IPAddressSyntax.isIPv4(parts[0]) {
            guard (8...30).contains(length) else { throw ValidationError("expected an IPv4 prefix length from 8 to 30, found /\(length)") }
        } else if IPAddressSyntax.isIPv6(parts[0]) {
            guard (16...124).contains(length) else { throw ValidationError("expected an IPv6 prefix length from 16 to 124, found /\(length)") }
        } else {
            throw ValidationError("expected a subnet in CIDR form such as 10.20.0.0/24, found \"\(text)\"")
        }
        address = String(parts[0])
        prefixLength = length
    }

    public var description: String { "\(address)/\(prefixLength)" }
    public var isIPv4: Bool { IPAddressSyntax.isIPv4(address[...]) }

    /// Whether an IPv4 address lies in this IPv4 subnet.
    public func contains(_ ipv4: String) -> Bool {
        guard let base = Self.ipv4Value(address), let value = Self.ipv4Value(ipv4) else { return false }
        let mask: UInt32 = prefixLength == 0 ? 0 : ~UInt32(0) << UInt32(32 - prefixLength)
        return base & mask == value & mask
    }

    static func ipv4Value(_ text: String) -> UInt32? {
        guard IPAddressSyntax.isIPv4(text[...]) else { return nil }
        return text.split(separator: ".").reduce(UInt32(0)) { $0 << 8 | UInt32($1)! }
    }
}

/// The engine's network and volume names: letters, digits, `_`, `.` and `-`, starting with a
/// letter or digit.
enum EngineObjectName {
    static func network(_ name: String) throws(ValidationError) -> String {
        try validated(name, kind: "network")
    }

    static func volume(_ name: String) throws(ValidationError) -> String {
        try validated(name, kind: "volume")
    }

    private static func validated(_ name: String, kind: String) throws(ValidationError) -> String {
        guard (1...128).contains(name.count), let first = name.first, first.isASCII, first.isLetter || first.isNumber,
            name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) })
        else {
            throw ValidationError("expected a \(kind) name of letters, digits, _ . and -, starting with a letter or digit, found \"\(name)\"")
        }
        return name
    }
}

/// One network a container joins, with the extra DNS names it answers to there (the service's
/// own name always is one) and, optionally, a fixed IPv4 address from the network's subnet.
public struct NetworkAttachment: Sendable, Hashable, Codable {
    /// The name of the network every container of a project joins unless told otherwise.
    public static let defaultNetwork = "default"

    /// A Network of the project, or `default`.
    public var name: String
    public var aliases: [String]
    public var ipv4Address: String?

    public init(name: String, aliases: [String] = [], ipv4Address: String? = nil) {
        self.name = name
        self.aliases = aliases
        self.ipv4Address = ipv4Address
    }

    /// `backend` or `{name: backend, aliases: [api], ipv4Address: 10.20.0.5}`, each network once.
    static func readList(_ reader: ValueReader) throws -> [NetworkAttachment] {
        let attachments = try reader.list(read)
        var seen: Set<String> = []
        for attachment in attachments where !seen.insert(attachment.name).inserted {
            throw reader.fail("network \(attachment.name) is listed twice")
        }
        return attachments
    }

    private static func read(_ reader: ValueReader) throws -> NetworkAttachment {
        guard case .map = reader.node.content else {
            return NetworkAttachment(name: try reader.parse(ResourceName.validated))
        }
        let map = try reader.map()
        defer { map.finish() }
        let name = map.required("name") { try $0.parse(ResourceName.validated) }
        let aliases = map.optional("aliases", default: []) { try $0.list { try $0.parse(HostNameSyntax.validatedAlias) } }
        let address = map.optional("ipv4Address") { reader -> String in
            let text = try reader.string()
            guard IPAddressSyntax.isIPv4(text[...]) else { throw reader.fail("expected an IPv4 address such as 10.20.0.5, found \"\(text)\"") }
            return text
        }
        guard let name else { throw AlreadyReported() }
        return NetworkAttachment(name: name, aliases: aliases, ipv4Address: address)
    }
}
