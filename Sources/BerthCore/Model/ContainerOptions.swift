/// Engine options of a container that compose files commonly set; each one left out keeps the
/// engine's default. Read from, and encoded into, the same flat spec as ``ContainerSpec``: only
/// the options that are set are encoded, so a spec that uses none of them keeps the canonical
/// form (and spec hash) it had before they existed.
public struct ContainerOptions: Sendable, Hashable, Codable {
    /// The log driver and its options; `nil` keeps the engine's default driver.
    public var logging: LoggingSpec?
    /// Resource limits by name (`nofile`, `nproc`, …).
    public var ulimits: [String: Ulimit]
    /// Capabilities added to the engine's default set.
    public var capAdd: [Capability]
    /// Capabilities taken from the engine's default set (`ALL` for every one).
    public var capDrop: [Capability]
    /// Lines added to `/etc/hosts`.
    public var extraHosts: [ExtraHost]
    /// tmpfs file systems mounted in the container.
    public var tmpfs: [TmpfsMount]
    /// The size of `/dev/shm`; `nil` keeps the engine's (64 MiB).
    public var shmSize: ByteSize?
    /// Gives the process a terminal.
    public var tty: Bool
    /// Keeps the process's standard input open.
    public var stdinOpen: Bool
    /// Namespaced kernel parameters by name.
    public var sysctls: [String: String]
    /// Mounts the container's root file system read-only.
    public var readOnlyRootFilesystem: Bool
    /// The most processes the container may hold at once; `-1` for no limit, `nil` for the engine's default.
    public var pidsLimit: Int?
    /// The container's host name; `nil` keeps the engine's (the container ID's first 12 digits).
    public var hostname: String?
    /// DNS servers, replacing the engine's.
    public var dns: [String]
    /// DNS search domains.
    public var dnsSearch: [String]
    /// Host devices made available in the container.
    public var devices: [DeviceMapping]
    /// Security options (`seccomp=…`, `apparmor=…`, `label=…`, `no-new-privileges`, `systempaths=…`).
    public var securityOpt: [SecurityOption]

    public init(
        logging: LoggingSpec? = nil, ulimits: [String: Ulimit] = [:], capAdd: [Capability] = [], capDrop: [Capability] = [],
        extraHosts: [ExtraHost] = [], tmpfs: [TmpfsMount] = [], shmSize: ByteSize? = nil, tty: Bool = false,
        stdinOpen: Bool = false, sysctls: [String: String] = [:], readOnlyRootFilesystem: Bool = false, pidsLimit: Int? = nil,
        hostname: String? = nil, dns: [String] = [], dnsSearch: [String] = [], devices: [DeviceMapping] = [],
        securityOpt: [SecurityOption] = []
    ) {
        self.logging = logging
        self.ulimits = ulimits
        self.capAdd = capAdd
        self.capDrop = capDrop
        self.extraHosts = extraHosts
        self.tmpfs = tmpfs
        self.shmSize = shmSize
        self.tty = tty
        self.stdinOpen = stdinOpen
        self.sysctls = sysctls
        self.readOnlyRootFilesystem = readOnlyRootFilesystem
        self.pidsLimit = pidsLimit
        self.hostname = hostname
        self.dns = dns
        self.dnsSearch = dnsSearch
        self.devices = devices
        self.securityOpt = securityOpt
    }

    /// Reads the option fields of a Service or Job spec mapping.
    static func read(_ map: MapReader) -> ContainerOptions {
        let logging = map.optional("logging") { try LoggingSpec.read(try $0.map()) } ?? nil
        let ulimits = map.optional("ulimits", default: [:]) { try $0.dictionary(validateKey: Ulimit.validateName, Ulimit.read) }
        let capAdd = map.optional("capAdd", default: []) { try uniqueList($0) { try $0.parse(Capability.init(parsing:)) } }
        let capDrop = map.optional("capDrop", default: []) { reader -> [Capability] in
            try uniqueList(reader) { item -> Capability in
                let capability = try item.parse(Capability.init(parsing:))
                if capability != .all, capAdd.contains(capability) {
                    throw item.fail("\(capability) is also in capAdd; list it in only one of them")
                }
                return capability
            }
        }
        let extraHosts = map.optional("extraHosts", default: []) { try uniqueList($0) { try $0.parse(ExtraHost.init(parsing:)) } }
        let tmpfs = map.optional("tmpfs", default: []) { reader in
            try uniqueList(reader, oneItem: true, by: \.path) { try $0.parse(TmpfsMount.init(parsing:)) }
        }
        let shmSize = map.optional("shmSize") { reader in
            let size = try reader.parse(ByteSize.init(parsing:))
            guard size.bytes > 0 else { throw reader.fail("expected a size above 0 such as 256Mi; leave shmSize out for the engine's 64Mi") }
            return size
        }
        let tty = map.optional("tty", default: false) { try $0.bool() }
        let stdinOpen = map.optional("stdinOpen", default: false) { try $0.bool() }
        let sysctls = map.optional("sysctls", default: [:]) { reader -> [String: String] in
            guard case .list = reader.node.content else {
                return try reader.dictionary(validateKey: SysctlName.validate) { try $0.string() }
            }
            // Compose's list form: `- net.core.somaxconn=1024`.
            let pairs = try uniqueList(reader, by: \.0) { item in
                try item.parse { (text: String) throws(ValidationError) -> (String, String) in
                    guard let split = text.firstIndex(of: "=") else {
                        throw ValidationError("expected NAME=VALUE such as net.core.somaxconn=1024, found \(text.quoted)")
                    }
                    let name = String(text[..<split])
                    try SysctlName.validate(name)
                    return (name, String(text[text.index(after: split)...]))
                }
            }
            return Dictionary(pairs) { first, _ in first }
        }
        let readOnly = map.optional("readOnlyRootFilesystem", default: false) { try $0.bool() }
        let pidsLimit = map.optional("pidsLimit") { reader in
            let limit = try reader.int()
            guard limit == -1 || limit > 0 else {
                throw reader.fail("expected a number of processes above 0, or -1 for no limit, found \(limit)")
            }
            return limit
        }
        let hostname = map.optional("hostname") { try $0.parse(HostNameSyntax.validatedHostname) }
        let dns = map.optional("dns", default: []) { try uniqueList($0, oneItem: true) { try $0.parse(IPAddressText.validated) } }
        let dnsSearch = map.optional("dnsSearch", default: []) { reader in
            try uniqueList(reader, oneItem: true) { try $0.parse(HostNameSyntax.validatedDomain) }
        }
        let devices = map.optional("devices", default: []) { reader in
            try uniqueList(reader, by: \.containerPath) { try $0.parse(DeviceMapping.init(parsing:)) }
        }
        let securityOpt = map.optional("securityOpt", default: []) { reader in
            try uniqueList(reader) { try $0.parse(SecurityOption.init(parsing:)) }
        }
        return ContainerOptions(
            logging: logging, ulimits: ulimits, capAdd: capAdd, capDrop: capDrop, extraHosts: extraHosts, tmpfs: tmpfs,
            shmSize: shmSize, tty: tty, stdinOpen: stdinOpen, sysctls: sysctls, readOnlyRootFilesystem: readOnly,
            pidsLimit: pidsLimit, hostname: hostname, dns: dns, dnsSearch: dnsSearch, devices: devices, securityOpt: securityOpt
        )
    }

    /// A list whose items must differ in `key`; with `oneItem`, a single string is a list of one
    /// (compose's `tmpfs: /run`, `dns: 1.1.1.1`).
    private static func uniqueList<Item, Key: Hashable>(
        _ reader: ValueReader, oneItem: Bool = false, by key: (Item) -> Key, _ readItem: (ValueReader) throws -> Item
    ) throws -> [Item] {
        if oneItem, case .string = reader.node.content { return [try readItem(reader)] }
        var seen: Set<Key> = []
        return try reader.list { item in
            let value = try readItem(item)
            guard seen.insert(key(value)).inserted else { throw item.fail("\(key(value)) is already listed; list each entry once") }
            return value
        }
    }

    private static func uniqueList<Item: Hashable>(
        _ reader: ValueReader, oneItem: Bool = false, _ readItem: (ValueReader) throws -> Item
    ) throws -> [Item] {
        try uniqueList(reader, oneItem: oneItem, by: { $0 }, readItem)
    }

    private enum CodingKeys: String, CodingKey {
        case logging, ulimits, capAdd, capDrop, extraHosts, tmpfs, shmSize, tty, stdinOpen, sysctls
        case readOnlyRootFilesystem, pidsLimit, hostname, dns, dnsSearch, devices, securityOpt
    }

    /// Reads a mapping of option fields alone (specs read them with ``read(_:)``, through ``ContainerSpec``).
    public init(from decoder: any Decoder) throws {
        self = try Self.decodeInput(from: decoder) { Self.read($0) }
    }

    /// Encodes only the options that are set, into the container's own keyed container.
    public func encode(to encoder: any Encoder) throws {
        var keyed = encoder.container(keyedBy: CodingKeys.self)
        try keyed.encodeIfPresent(logging, forKey: .logging)
        if !ulimits.isEmpty { try keyed.encode(ulimits, forKey: .ulimits) }
        if !capAdd.isEmpty { try keyed.encode(capAdd, forKey: .capAdd) }
        if !capDrop.isEmpty { try keyed.encode(capDrop, forKey: .capDrop) }
        if !extraHosts.isEmpty { try keyed.encode(extraHosts, forKey: .extraHosts) }
        if !tmpfs.isEmpty { try keyed.encode(tmpfs, forKey: .tmpfs) }
        try keyed.encodeIfPresent(shmSize, forKey: .shmSize)
        if tty { try keyed.encode(tty, forKey: .tty) }
        if stdinOpen { try keyed.encode(stdinOpen, forKey: .stdinOpen) }
        if !sysctls.isEmpty { try keyed.encode(sysctls, forKey: .sysctls) }
        if readOnlyRootFilesystem { try keyed.encode(readOnlyRootFilesystem, forKey: .readOnlyRootFilesystem) }
        try keyed.encodeIfPresent(pidsLimit, forKey: .pidsLimit)
        try keyed.encodeIfPresent(hostname, forKey: .hostname)
        if !dns.isEmpty { try keyed.encode(dns, forKey: .dns) }
        if !dnsSearch.isEmpty { try keyed.encode(dnsSearch, forKey: .dnsSearch) }
        if !devices.isEmpty { try keyed.encode(devices, forKey: .devices) }
        if !securityOpt.isEmpty { try keyed.encode(securityOpt, forKey: .securityOpt) }
    }
}

/// Where the engine sends the container's output: a log driver and its options
/// (`{driver: json-file, options: {max-size: 10m, max-file: "3"}}`).
public struct LoggingSpec: Sendable, Hashable, Codable {
    /// `json-file`, `local`, `syslog`, …; `nil` keeps the engine's default driver (with these options).
    public var driver: String?
    public var options: [String: String]

    public init(driver: String? = nil, options: [String: String] = [:]) {
        self.driver = driver
        self.options = options
    }

    static func read(_ map: MapReader) throws -> LoggingSpec? {
        defer { map.finish() }
        let driver = map.optional("driver") { reader in
            let name = try reader.nonEmptyString()
            guard name.allSatisfy({ $0.isASCIILetter || $0.isASCIIDigit || "-_./:".contains($0) }) else {
                throw reader.fail("expected a log driver name such as json-file, local, syslog or journald, found \(name.quoted)")
            }
            return name
        }
        let options = map.optional("options", default: [:]) { reader in
            try reader.dictionary(validateKey: { (key: String) throws(ValidationError) in
                guard !key.isEmpty else { throw ValidationError("expected a non-empty option name") }
            }) { try $0.string() }
        }
        // `logging: {}` is no logging setting at all, as in compose.
        return driver == nil && options.isEmpty ? nil : LoggingSpec(driver: driver, options: options)
    }
}
