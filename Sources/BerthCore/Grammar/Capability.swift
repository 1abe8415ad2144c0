/// A Linux capability as `capAdd` and `capDrop` name it: any case, with or without `CAP_`
/// (`NET_ADMIN`, `cap_net_admin`), or `ALL`. Stored and shown uppercase without the prefix, as
/// compose files write them.
public struct Capability: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    /// `NET_ADMIN`, or `ALL`.
    public let name: String

    /// Every capability `ALL` stands for.
    public static let all = Capability(checked: "ALL")

    /// The kernel's capabilities in number order (`include/uapi/linux/capability.h`, 0–40).
    static let kernelNames = [
        "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP",
        "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
        "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
        "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP",
        "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF",
        "CHECKPOINT_RESTORE",
    ]

    /// The capabilities Docker gives every container unless dropped (moby `caps.DefaultCapabilities`):
    /// adding one back after `capDrop: [ALL]` restores, and never widens, what a container may do.
    public static let engineDefaults: Set<Capability> = Set(
        [
            "CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID", "SETFCAP", "SETPCAP",
            "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE",
        ].map(Capability.init(checked:)))

    private init(checked name: String) {
        self.name = name
    }

    public init(parsing text: String) throws(ValidationError) {
        let upper = text.uppercased()
        let bare = upper.hasPrefix("CAP_") ? String(upper.dropFirst(4)) : upper
        guard text.allSatisfy(\.isASCII), bare == "ALL" || Self.kernelNames.contains(bare) else {
            let hint = Suggestion.didYouMean(bare, among: Self.kernelNames)
            throw ValidationError("expected a Linux capability such as NET_ADMIN, SYS_PTRACE or CAP_CHOWN, or ALL, found \(text.quoted)\(hint)")
        }
        name = bare
    }

    /// The engine's spelling: `CAP_NET_ADMIN`, or `ALL`.
    public var engineName: String { self == .all ? name : "CAP_" + name }

    public var description: String { name }

    public static func < (lhs: Capability, rhs: Capability) -> Bool { lhs.name < rhs.name }

    public init(from decoder: any Decoder) throws {
        self = try decoder.decodeGrammarValue(Self.init(parsing:))
    }

    public func encode(to encoder: any Encoder) throws {
        try encoder.encodeGrammarValue(self)
    }
}
