import Foundation

// The parts of `GET /containers/{id}/json` and `GET /images/{name}/json` that say how a
// container was created, for reading an adopted container's spec back (`SpecReadBack`).

/// How a container was created: its `Config`, `HostConfig`, networks and mounts as the engine
/// reports them.
public struct ContainerConfiguration: Sendable, Hashable, Decodable {
    public var id: String
    public var config: Config
    public var hostConfig: HostConfig
    /// Network name → the container's settings there.
    public var networks: [String: Endpoint]
    public var mounts: [Mount]

    /// `Config`: what the container runs.
    public struct Config: Sendable, Hashable, Decodable {
        public var image: String
        public var cmd: [String]?
        public var entrypoint: [String]?
        public var env: [String]?
        public var labels: [String: String]?
        public var workingDir: String?
        public var user: String?
        public var stopSignal: String?
        public var stopTimeout: Int?
        public var healthcheck: Healthcheck?
        public var exposedPorts: [String: ContainerCreateRequest.EmptyObject]?
        public var tty: Bool?
        public var openStdin: Bool?
        public var hostname: String?
        public var volumes: [String: ContainerCreateRequest.EmptyObject]?

        enum CodingKeys: String, CodingKey {
            case image = "Image", cmd = "Cmd", entrypoint = "Entrypoint", env = "Env", labels = "Labels", workingDir = "WorkingDir"
            case user = "User", stopSignal = "StopSignal", stopTimeout = "StopTimeout", healthcheck = "Healthcheck"
            case exposedPorts = "ExposedPorts", tty = "Tty", openStdin = "OpenStdin", hostname = "Hostname", volumes = "Volumes"
        }
    }

    /// A health check as the engine keeps it (durations in nanoseconds; 0 is the engine's default).
    public struct Healthcheck: Sendable, Hashable, Decodable {
        public var test: [String]?
        public var interval: Int64?
        public var timeout: Int64?
        public var retries: Int?
        public var startPeriod: Int64?

        enum CodingKeys: String, CodingKey {
            case test = "Test", interval = "Interval", timeout = "Timeout", retries = "Retries", startPeriod = "StartPeriod"
        }
    }

    /// `HostConfig`: how the engine isolates the container.
    public struct HostConfig: Sendable, Hashable, Decodable {
        public var networkMode: String?
        public var portBindings: [String: [Binding]?]?
        public var restartPolicy: RestartPolicy?
        public var memory: Int64?
        public var nanoCpus: Int64?
        public var initProcess: Bool?
        public var securityOpt: [String]?
        public var logConfig: LogConfig?
        public var ulimits: [Ulimit]?
        public var capAdd: [String]?
        public var capDrop: [String]?
        public var extraHosts: [String]?
        public var tmpfs: [String: String]?
        public var shmSize: Int64?
        public var sysctls: [String: String]?
        public var readonlyRootfs: Bool?
        public var pidsLimit: Int64?
        public var dns: [String]?
        public var dnsSearch: [String]?
        public var devices: [Device]?

        enum CodingKeys: String, CodingKey {
            case networkMode = "NetworkMode", portBindings = "PortBindings", restartPolicy = "RestartPolicy", memory = "Memory"
            case nanoCpus = "NanoCpus", initProcess = "Init", securityOpt = "SecurityOpt", logConfig = "LogConfig", ulimits = "Ulimits"
            case capAdd = "CapAdd", capDrop = "CapDrop", extraHosts = "ExtraHosts", tmpfs = "Tmpfs", shmSize = "ShmSize"
            case sysctls = "Sysctls", readonlyRootfs = "ReadonlyRootfs", pidsLimit = "PidsLimit", dns = "Dns", dnsSearch = "DnsSearch"
            case devices = "Devices"
        }
    }

    /// A host address and port for one container port (empty strings for none).
    public struct Binding: Sendable, Hashable, Decodable {
        public var hostIp: String?
        public var hostPort: String?

        enum CodingKeys: String, CodingKey { case hostIp = "HostIp", hostPort = "HostPort" }
    }

    /// The engine's own restart policy (`no`, `always`, `unless-stopped`, `on-failure`).
    public struct RestartPolicy: Sendable, Hashable, Decodable {
        public var name: String?

        enum CodingKeys: String, CodingKey { case name = "Name" }
    }

    /// The log driver (the engine fills in its default) and its options.
    public struct LogConfig: Sendable, Hashable, Decodable {
        public var type: String?
        public var config: [String: String]?

        enum CodingKeys: String, CodingKey { case type = "Type", config = "Config" }
    }

    /// One resource limit.
    public struct Ulimit: Sendable, Hashable, Decodable {
        public var name: String
        public var soft: Int64
        public var hard: Int64

        enum CodingKeys: String, CodingKey { case name = "Name", soft = "Soft", hard = "Hard" }
    }

    /// One host device.
    public struct Device: Sendable, Hashable, Decodable {
        public var pathOnHost: String
        public var pathInContainer: String
        public var cgroupPermissions: String?

        enum CodingKeys: String, CodingKey {
            case pathOnHost = "PathOnHost", pathInContainer = "PathInContainer", cgroupPermissions = "CgroupPermissions"
        }
    }

    /// The container's settings on one network.
    public struct Endpoint: Sendable, Hashable, Decodable {
        public var aliases: [String]?
        public var ipamConfig: IPAMConfig?

        /// A fixed address asked for at creation.
        public struct IPAMConfig: Sendable, Hashable, Decodable {
            public var ipv4Address: String?

            enum CodingKeys: String, CodingKey { case ipv4Address = "IPv4Address" }
        }

        enum CodingKeys: String, CodingKey { case aliases = "Aliases", ipamConfig = "IPAMConfig" }
    }

    /// A mount as the engine made it (binds given as `Binds` included).
    public struct Mount: Sendable, Hashable, Decodable {
        /// `volume`, `bind`, `tmpfs`
        public var type: String
        public var name: String?
        public var source: String?
        public var destination: String
        /// Writable.
        public var rw: Bool?

        enum CodingKeys: String, CodingKey { case type = "Type", name = "Name", source = "Source", destination = "Destination", rw = "RW" }
    }

    private struct NetworkSettings: Decodable {
        var networks: [String: Endpoint]?
        enum CodingKeys: String, CodingKey { case networks = "Networks" }
    }

    enum CodingKeys: String, CodingKey {
        case id = "Id", config = "Config", hostConfig = "HostConfig", networkSettings = "NetworkSettings", mounts = "Mounts"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        config = try container.decode(Config.self, forKey: .config)
        hostConfig = try container.decode(HostConfig.self, forKey: .hostConfig)
        networks = try container.decodeIfPresent(NetworkSettings.self, forKey: .networkSettings)?.networks ?? [:]
        mounts = try container.decodeIfPresent([Mount].self, forKey: .mounts) ?? []
    }
}

/// An image's `Config`: what a container of it gets unless its creation says otherwise.
public struct ImageConfiguration: Sendable, Hashable, Decodable {
    public var cmd: [String]?
    public var entrypoint: [String]?
    public var env: [String]?
    public var labels: [String: String]?
    public var workingDir: String?
    public var user: String?
    public var stopSignal: String?
    public var exposedPorts: [String: ContainerCreateRequest.EmptyObject]?
    public var volumes: [String: ContainerCreateRequest.EmptyObject]?

    public init() {}

    enum CodingKeys: String, CodingKey {
        case cmd = "Cmd", entrypoint = "Entrypoint", env = "Env", labels = "Labels", workingDir = "WorkingDir", user = "User"
        case stopSignal = "StopSignal", exposedPorts = "ExposedPorts", volumes = "Volumes"
    }
}
