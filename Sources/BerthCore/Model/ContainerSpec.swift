/// The container fields that Services and Jobs share: what to run and how the engine isolates it.
public struct ContainerSpec: Sendable, Hashable, Codable {
    public var image: ImageReference
    /// Replaces the image's command; `nil` keeps the image's.
    public var command: [String]?
    /// Replaces the image's entrypoint; `nil` keeps the image's.
    public var entrypoint: [String]?
    public var workingDir: String?
    public var user: String?
    public var env: [String: EnvValue]
    /// Extra container labels; keys starting with `berth.` are reserved.
    public var labels: [String: String]
    public var volumes: [Mount]
    /// An engine network mode (`host`, `none`, `bridge`), or `project`: join ``networks``.
    public var network: NetworkMode
    /// The project's networks the container joins with network mode `project`: never empty then
    /// (the project's `default` network when none is listed); empty with an engine mode.
    public var networks: [NetworkAttachment]
    public var resources: ResourceLimits?
    public var stopSignal: StopSignal
    public var stopGracePeriod: TimeSpan
    public var pullPolicy: PullPolicy
    /// Runs an init process as PID 1 that reaps zombies and forwards signals.
    public var `init`: Bool
    /// Sets the `no-new-privileges` security option.
    public var noNewPrivileges: Bool
    /// The engine options compose files set (logging, ulimits, capabilities, …).
    public var options: ContainerOptions

    public init(
        image: ImageReference,
        command: [String]? = nil,
        entrypoint: [String]? = nil,
        workingDir: String? = nil,
        user: String? = nil,
        env: [String: EnvValue] = [:],
        labels: [String: String] = [:],
        volumes: [Mount] = [],
        network: NetworkMode = .project,
        networks: [NetworkAttachment] = [],
        resources: ResourceLimits? = nil,
        stopSignal: StopSignal = .sigterm,
        stopGracePeriod: TimeSpan = .seconds(10),
        pullPolicy: PullPolicy = .ifNotPresent,
        init runInit: Bool = false,
        noNewPrivileges: Bool = false,
        options: ContainerOptions = ContainerOptions()
    ) {
        self.image = image
        self.command = command
        self.entrypoint = entrypoint
        self.workingDir = workingDir
        self.user = user
        self.env = env
        self.labels = labels
        self.volumes = volumes
        self.network = network
        if network != .project {
            self.networks = []
        } else {
            self.networks = networks.isEmpty ? [NetworkAttachment(name: NetworkAttachment.defaultNetwork)] : networks
        }
        self.resources = resources
        self.stopSignal = stopSignal
        self.stopGracePeriod = stopGracePeriod
        self.pullPolicy = pullPolicy
        self.`init` = runInit
        self.noNewPrivileges = noNewPrivileges
        self.options = options
    }

    /// Reads the shared container fields from a Service or Job spec mapping.
    static func read(_ map: MapReader) -> ContainerSpec? {
        let image = map.required("image") { try $0.parse(ImageReference.init(parsing:)) }
        let command = map.optional("command") { try $0.command() }
        let entrypoint = map.optional("entrypoint") { try $0.command() }
        let workingDir = map.optional("workingDir") { try $0.absolutePath() }
        let user = map.optional("user") { try $0.nonEmptyString() }
        let env = map.optional("env", default: [:]) {
            try $0.dictionary(validateKey: EnvironmentName.validate, EnvValue.read)
        }
        let labels = map.optional("labels", default: [:]) {
            try $0.dictionary(validateKey: LabelKey.validateUserLabel) { try $0.string() }
        }
        let volumes = map.optional("volumes", default: []) { try $0.list { try $0.parse(Mount.init(parsing:)) } }
        let mode = map.optional("network") { try $0.parse(NetworkChoice.init(parsing:)) }
        var networks = map.optional("networks", default: []) { try NetworkAttachment.readList($0) }
        var network = NetworkMode.project
        switch mode {
        case .engine(let engineMode)?:
            network = engineMode
            if !networks.isEmpty {
                map.report("network \(engineMode) leaves the project's networks; drop networks or network", field: "networks")
            }
        case .project(let name)?:
            if networks.isEmpty {
                networks = [NetworkAttachment(name: name)]
            } else {
                map.report("network \(name) is the short form of networks: [\(name)]; list it under networks instead", field: "network")
            }
        case nil:
            break
        }
        let resources = map.optional("resources") { try ResourceLimits.read(try $0.map()) }
        let stopSignal = map.optional("stopSignal", default: .sigterm) { try $0.parse(StopSignal.init(parsing:)) }
        let grace = map.optional("stopGracePeriod", default: .seconds(10)) { try $0.parse(TimeSpan.init(parsing:)) }
        let pullPolicy = map.optional("pullPolicy", default: .ifNotPresent) { try $0.choice(PullPolicy.self) }
        let runInit = map.optional("init", default: false) { try $0.bool() }
        let noNewPrivileges = map.optional("noNewPrivileges", default: false) { try $0.bool() }
        let options = ContainerOptions.read(map)
        guard let image else { return nil }
        return ContainerSpec(
            image: image, command: command, entrypoint: entrypoint, workingDir: workingDir, user: user,
            env: env, labels: labels, volumes: volumes, network: network, networks: networks, resources: resources,
            stopSignal: stopSignal, stopGracePeriod: grace, pullPolicy: pullPolicy, init: runInit,
            noNewPrivileges: noNewPrivileges, options: options
        )
    }

    private enum CodingKeys: String, CodingKey {
        case image, command, entrypoint, workingDir, user, env, labels, volumes, network, networks, resources
        case stopSignal, stopGracePeriod, pullPolicy, `init`, noNewPrivileges
    }

    public init(from decoder: any Decoder) throws {
        self = try Self.decodeInput(from: decoder, read: Self.read)
    }

    /// Encodes flat, as written in manifests: `network` for an engine mode, else `networks`; the
    /// options only when set, so a spec that does not use them hashes as it did before they existed.
    public func encode(to encoder: any Encoder) throws {
        var keyed = encoder.container(keyedBy: CodingKeys.self)
        try keyed.encode(image, forKey: .image)
        try keyed.encodeIfPresent(command, forKey: .command)
        try keyed.encodeIfPresent(entrypoint, forKey: .entrypoint)
        try keyed.encodeIfPresent(workingDir, forKey: .workingDir)
        try keyed.encodeIfPresent(user, forKey: .user)
        try keyed.encode(env, forKey: .env)
        try keyed.encode(labels, forKey: .labels)
        try keyed.encode(volumes, forKey: .volumes)
        if network == .project {
            try keyed.encode(networks, forKey: .networks)
        } else {
            try keyed.encode(network, forKey: .network)
        }
        try keyed.encodeIfPresent(resources, forKey: .resources)
        try keyed.encode(stopSignal, forKey: .stopSignal)
        try keyed.encode(stopGracePeriod, forKey: .stopGracePeriod)
        try keyed.encode(pullPolicy, forKey: .pullPolicy)
        try keyed.encode(`init`, forKey: .`init`)
        try keyed.encode(noNewPrivileges, forKey: .noNewPrivileges)
        try options.encode(to: encoder)
    }
}

/// Memory and CPU limits of one container.
public struct ResourceLimits: Sendable, Hashable, Codable {
    public var memory: ByteSize?
    public var cpus: CPUQuantity?

    public init(memory: ByteSize? = nil, cpus: CPUQuantity? = nil) {
        self.memory = memory
        self.cpus = cpus
    }

    static func read(_ map: MapReader) throws -> ResourceLimits {
        defer { map.finish() }
        return ResourceLimits(
            memory: map.optional("memory") { try $0.parse(ByteSize.init(parsing:)) },
            cpus: map.optional("cpus") { try $0.parse(CPUQuantity.init(parsing:)) }
        )
    }
}

/// Where a container's network comes from: the host's network namespace, no network, the
/// engine's default bridge, or (the default) the project's networks.
public enum NetworkMode: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    case host
    case none
    case bridge
    /// The networks listed in ``ContainerSpec/networks``; never written as `network:`.
    case project

    /// The modes `network:` takes.
    static let engineModes: [NetworkMode] = [.host, .none, .bridge]

    public var description: String { rawValue }
}

/// What `network:` says: an engine mode, or (the short form of `networks: [NAME]`) one network of the project.
enum NetworkChoice {
    case engine(NetworkMode)
    case project(String)

    init(parsing text: String) throws(ValidationError) {
        if let mode = NetworkMode(rawValue: text), NetworkMode.engineModes.contains(mode) {
            self = .engine(mode)
            return
        }
        do {
            try ResourceName.validate(text)
        } catch {
            throw ValidationError("expected host, none, bridge or the name of a Network of the project; \(error.issues[0].message)")
        }
        self = .project(text)
    }
}

/// When the engine pulls the image.
public enum PullPolicy: String, Sendable, Hashable, Codable, CaseIterable {
    case ifNotPresent = "IfNotPresent"
    case always = "Always"
    case never = "Never"
}

/// What to do with the underlying object when its resource is deleted.
public enum ReclaimPolicy: String, Sendable, Hashable, Codable, CaseIterable {
    case retain = "Retain"
    case delete = "Delete"
}

extension ValueReader {
    /// A string that is an absolute path.
    public func absolutePath() throws -> String {
        let path = try nonEmptyString()
        guard path.hasPrefix("/") else { throw fail("expected an absolute path starting with /, found \"\(path)\"") }
        return path
    }
}
