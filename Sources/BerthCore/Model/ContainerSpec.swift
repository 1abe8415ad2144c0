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
    public var network: NetworkMode
    public var resources: ResourceLimits?
    public var stopSignal: StopSignal
    public var stopGracePeriod: TimeSpan
    public var pullPolicy: PullPolicy
    /// Runs an init process as PID 1 that reaps zombies and forwards signals.
    public var `init`: Bool
    /// Sets the `no-new-privileges` security option.
    public var noNewPrivileges: Bool

    public init(
        image: ImageReference,
        command: [String]? = nil,
        entrypoint: [String]? = nil,
        workingDir: String? = nil,
        user: String? = nil,
        env: [String: EnvValue] = [:],
        labels: [String: String] = [:],
        volumes: [Mount] = [],
        network: NetworkMode = .bridge,
        resources: ResourceLimits? = nil,
        stopSignal: StopSignal = .sigterm,
        stopGracePeriod: TimeSpan = .seconds(10),
        pullPolicy: PullPolicy = .ifNotPresent,
        init runInit: Bool = false,
        noNewPrivileges: Bool = false
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
        self.resources = resources
        self.stopSignal = stopSignal
        self.stopGracePeriod = stopGracePeriod
        self.pullPolicy = pullPolicy
        self.`init` = runInit
        self.noNewPrivileges = noNewPrivileges
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
        let network = map.optional("network", default: .bridge) { try $0.parse(NetworkMode.init(parsing:)) }
        let resources = map.optional("resources") { try ResourceLimits.read(try $0.map()) }
        let stopSignal = map.optional("stopSignal", default: .sigterm) { try $0.parse(StopSignal.init(parsing:)) }
        let grace = map.optional("stopGracePeriod", default: .seconds(10)) { try $0.parse(TimeSpan.init(parsing:)) }
        let pullPolicy = map.optional("pullPolicy", default: .ifNotPresent) { try $0.choice(PullPolicy.self) }
        let runInit = map.optional("init", default: false) { try $0.bool() }
        let noNewPrivileges = map.optional("noNewPrivileges", default: false) { try $0.bool() }
        guard let image else { return nil }
        return ContainerSpec(
            image: image, command: command, entrypoint: entrypoint, workingDir: workingDir, user: user,
            env: env, labels: labels, volumes: volumes, network: network, resources: resources,
            stopSignal: stopSignal, stopGracePeriod: grace, pullPolicy: pullPolicy, init: runInit,
            noNewPrivileges: noNewPrivileges
        )
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

/// The container's network: the engine's `host`, `none` or `bridge`, or a user-defined network by name.
public enum NetworkMode: Sendable, Hashable, Codable, CustomStringConvertible {
    case host
    case none
    case bridge
    case named(String)

    public init(parsing text: String) throws(ValidationError) {
        switch text {
        case "host": self = .host
        case "none": self = .none
        case "bridge": self = .bridge
        default:
            do {
                try ResourceName.validate(text)
            } catch {
                throw ValidationError("expected host, none, bridge or a network name; \(error.issues[0].message)")
            }
            self = .named(text)
        }
    }

    public var description: String {
        switch self {
        case .host: "host"
        case .none: "none"
        case .bridge: "bridge"
        case .named(let name): name
        }
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            self = try NetworkMode(parsing: text)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
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
