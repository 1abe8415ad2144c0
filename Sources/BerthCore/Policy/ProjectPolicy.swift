/// What writers who are not the operator may ask of the host in one project: the line between
/// what the operator declares (manifests, admin tokens: trusted) and what API writers send
/// (checked against this policy). Set in a Project's `spec.policy`, which only manifests and admin
/// tokens can write; a project without one gets the defaults, which allow nothing of the host.
public struct ProjectPolicy: Sendable, Hashable, Codable {
    /// Whose writes the policy binds.
    public enum Scope: String, Sendable, Hashable, Codable, CaseIterable {
        /// Resources written and jobs submitted through the API without an admin token.
        case api
        /// Those, and the project's manifests too (`berth validate`, `plan`, `apply`, `serve`).
        case all
    }

    public var appliesTo: Scope
    /// Host folders (and files) that bind mounts, `fromFile` values, volume `device` options and
    /// certificate host-path targets may use, by path prefix; normalized when read.
    public var hostPaths: [String]
    /// Whether containers may use the host's network namespace.
    public var hostNetwork: Bool
    /// Names of the controller's environment variables that `fromEnv` may reference.
    public var envFromController: [String]
    /// Whether env values may be age-encrypted blocks, which the controller decrypts with its
    /// identity: without it an API writer could copy a ciphertext from the manifests' repository
    /// into a container it controls and read the secret.
    public var decryptSecrets: Bool
    /// Image patterns (`*` matches any run of characters); `nil` allows any image.
    public var images: [String]?
    /// Volume drivers that volumes may use; another driver could mount what it likes.
    public var volumeDrivers: [String]
    /// Network drivers that Networks may use (`macvlan`, `ipvlan` reach the host's interfaces).
    public var networkDrivers: [String]
    /// Whether Networks may adopt an existing engine network (`external: true`), which could be
    /// another project's or the host's.
    public var externalNetworks: Bool
    /// Whether Volumes may adopt an existing engine volume (`external: true`), which could be
    /// another project's, with its data.
    public var externalVolumes: Bool
    /// Capabilities `capAdd` may add beyond the engine's defaults (`ALL`: any).
    public var capabilities: [Capability]
    /// Host devices, or folders of them, that `devices` may make available; normalized when read.
    public var devices: [String]
    /// Kernel parameters `sysctls` may set: names, or prefixes ending in `.*` (`net.ipv4.*`).
    public var sysctls: [String]
    /// Security options that replace or turn off the engine's confinement (`seccomp=unconfined`).
    public var securityOpt: [SecurityOption]
    /// Log drivers `logging.driver` may name; the defaults keep the output on the host.
    public var logDrivers: [String]
    /// Ulimits containers may set; the defaults leave out `nice` and `rtprio`, which let a
    /// container's processes take the CPU ahead of the host's.
    public var ulimits: [String]
    public var maxResources: PolicyLimits
    /// `host:port` targets that API-submitted jobs' completion webhooks (`notify.url`) may reach.
    public var webhookHosts: [String]

    public init(
        appliesTo: Scope = .api,
        hostPaths: [String] = [],
        hostNetwork: Bool = false,
        envFromController: [String] = [],
        decryptSecrets: Bool = false,
        images: [String]? = nil,
        volumeDrivers: [String] = ["local"],
        networkDrivers: [String] = ["bridge"],
        externalNetworks: Bool = false,
        externalVolumes: Bool = false,
        capabilities: [Capability] = [],
        devices: [String] = [],
        sysctls: [String] = [],
        securityOpt: [SecurityOption] = [],
        logDrivers: [String] = ProjectPolicy.defaultLogDrivers,
        ulimits: [String] = ProjectPolicy.defaultUlimits,
        maxResources: PolicyLimits = PolicyLimits(),
        webhookHosts: [String] = []
    ) {
        self.appliesTo = appliesTo
        self.hostPaths = hostPaths
        self.hostNetwork = hostNetwork
        self.envFromController = envFromController
        self.decryptSecrets = decryptSecrets
        self.images = images
        self.volumeDrivers = volumeDrivers
        self.networkDrivers = networkDrivers
        self.externalNetworks = externalNetworks
        self.externalVolumes = externalVolumes
        self.capabilities = capabilities
        self.devices = devices
        self.sysctls = sysctls
        self.securityOpt = securityOpt
        self.logDrivers = logDrivers
        self.ulimits = ulimits
        self.maxResources = maxResources
        self.webhookHosts = webhookHosts
    }

    static func read(_ map: MapReader) -> ProjectPolicy {
        ProjectPolicy(
            appliesTo: map.optional("appliesTo", default: .api) { try $0.choice(Scope.self) },
            hostPaths: map.optional("hostPaths", default: []) { try $0.list { try $0.parse(HostPath.normalizedPrefix) } },
            hostNetwork: map.optional("hostNetwork", default: false) { try $0.bool() },
            envFromController: map.optional("envFromController", default: []) { try $0.list { try $0.parse(EnvironmentName.validated) } },
            decryptSecrets: map.optional("decryptSecrets", default: false) { try $0.bool() },
            images: map.optional("images") { try $0.list { try $0.parse(ImagePattern.validated) } },
            volumeDrivers: map.optional("volumeDrivers", default: ["local"]) { try $0.list { try $0.nonEmptyString() } },
            networkDrivers: map.optional("networkDrivers", default: ["bridge"]) { try $0.list { try $0.nonEmptyString() } },
            externalNetworks: map.optional("externalNetworks", default: false) { try $0.bool() },
            externalVolumes: map.optional("externalVolumes", default: false) { try $0.bool() },
            capabilities: map.optional("capabilities", default: []) { try $0.list { try $0.parse(Capability.init(parsing:)) } },
            devices: map.optional("devices", default: []) { try $0.list { try $0.parse(HostPath.normalizedPrefix) } },
            sysctls: map.optional("sysctls", default: []) { try $0.list { try $0.parse(SysctlName.validatedPattern) } },
            securityOpt: map.optional("securityOpt", default: []) { try $0.list { try $0.parse(SecurityOption.init(parsing:)) } },
            logDrivers: map.optional("logDrivers", default: defaultLogDrivers) { try $0.list { try $0.nonEmptyString() } },
            ulimits: map.optional("ulimits", default: defaultUlimits) { try $0.list { try $0.parse(Ulimit.validatedName) } },
            maxResources: map.optional("maxResources", default: PolicyLimits()) { try PolicyLimits.read(try $0.map()) },
            webhookHosts: map.optional("webhookHosts", default: []) { try $0.list { try $0.parse(WebhookHost.validated) } }
        )
    }

    public init(from decoder: any Decoder) throws {
        self = try Self.decodeInput(from: decoder) { Self.read($0) }
    }

    /// Drivers that keep a container's output in files on the host, or drop it.
    public static let defaultLogDrivers = ["json-file", "local", "none"]
    /// Every ulimit but `nice` and `rtprio`.
    public static let defaultUlimits = Ulimit.names.filter { $0 != "nice" && $0 != "rtprio" }
}

/// The most one container, and one project in all, may take; `nil` fields set no bound.
public struct PolicyLimits: Sendable, Hashable, Codable {
    /// Memory limit of each container; a container must then declare one (or get the project's default).
    public var containerMemory: ByteSize?
    /// CPU limit of each container; a container must then declare one (or get the project's default).
    public var containerCpus: CPUQuantity?
    /// Memory of all the project's service replicas together.
    public var projectMemory: ByteSize?
    /// CPUs of all the project's service replicas together.
    public var projectCpus: CPUQuantity?
    /// Service replicas of the project together.
    public var replicas: Int?
    /// Jobs of the project not yet ended (pending, queued, started) when one more is submitted.
    public var activeJobs: Int?

    public init(
        containerMemory: ByteSize? = nil, containerCpus: CPUQuantity? = nil, projectMemory: ByteSize? = nil,
        projectCpus: CPUQuantity? = nil, replicas: Int? = nil, activeJobs: Int? = nil
    ) {
        self.containerMemory = containerMemory
        self.containerCpus = containerCpus
        self.projectMemory = projectMemory
        self.projectCpus = projectCpus
        self.replicas = replicas
        self.activeJobs = activeJobs
    }

    static func read(_ map: MapReader) throws -> PolicyLimits {
        defer { map.finish() }
        return PolicyLimits(
            containerMemory: map.optional("containerMemory") { try $0.parse(ByteSize.init(parsing:)) },
            containerCpus: map.optional("containerCpus") { try $0.parse(CPUQuantity.init(parsing:)) },
            projectMemory: map.optional("projectMemory") { try $0.parse(ByteSize.init(parsing:)) },
            projectCpus: map.optional("projectCpus") { try $0.parse(CPUQuantity.init(parsing:)) },
            replicas: map.optional("replicas") { try $0.int(in: 0...100_000) },
            activeJobs: map.optional("activeJobs") { try $0.int(in: 0...1_000_000) }
        )
    }
}

/// A `policy.webhookHosts` entry: `host:port`, stored lowercased.
public enum WebhookHost {
    static func validated(_ text: String) throws(ValidationError) -> String {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[0].contains(where: { $0.isWhitespace || $0 == "/" }), let port = Int(parts[1]), (1...65535).contains(port) else {
            throw ValidationError("expected host:port such as app.example.com:443, found \(text.quoted)")
        }
        return text.lowercased()
    }
}

/// An image pattern of a policy: an image reference in which `*` matches any run of characters,
/// `/` included (`registry.example.com/shop/*`, `busybox:*`).
public enum ImagePattern {
    static func validated(_ pattern: String) throws(ValidationError) -> String {
        guard !pattern.isEmpty, !pattern.contains(where: \.isWhitespace) else {
            throw ValidationError("expected an image pattern such as registry.example.com/shop/* or busybox:*, found \(pattern.quoted)")
        }
        return pattern
    }

    /// Whether `image` (as written) matches `pattern`: the classic wildcard match, where a `*`
    /// that fails is retried one character further on.
    public static func matches(_ image: String, _ pattern: String) -> Bool {
        let text = Array(image), glob = Array(pattern)
        var t = 0, g = 0
        var star: (glob: Int, text: Int)?
        while t < text.count {
            if g < glob.count, glob[g] == "*" {
                star = (g, t)
                g += 1
            } else if g < glob.count, glob[g] == text[t] {
                g += 1
                t += 1
            } else if let retry = star {
                g = retry.glob + 1
                t = retry.text + 1
                star = (retry.glob, retry.text + 1)
            } else {
                return false
            }
        }
        while g < glob.count, glob[g] == "*" { g += 1 }
        return g == glob.count
    }
}

/// Who wrote a resource or submitted a job, as a policy sees them.
public enum PolicyWriter: Sendable, Hashable {
    /// A manifest file: the operator's, bound only when the policy applies to all.
    case manifest
    /// An API token with the `admin` scope: the operator's.
    case admin
    /// Any other API token (and the CLI through the API with one).
    case api
}

extension ProjectPolicy {
    /// Whether the policy holds `writer` to its rules.
    public func binds(_ writer: PolicyWriter) -> Bool {
        switch writer {
        case .api: true
        case .admin: false
        case .manifest: appliesTo == .all
        }
    }
}
