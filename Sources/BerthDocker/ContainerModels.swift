import BerthCore
import Foundation

// The Docker Engine API's own shapes (API 1.41+), as Berth uses them. Field names follow the
// engine's JSON; fields Berth does not use are not modelled and are ignored when decoding.

/// The body of `POST /containers/create`.
public struct ContainerCreateRequest: Sendable, Hashable, Encodable {
    public var image: String
    public var cmd: [String]?
    public var entrypoint: [String]?
    public var env: [String]
    public var labels: [String: String]
    public var workingDir: String?
    public var user: String?
    public var stopSignal: String?
    /// Seconds the engine waits after the stop signal before it kills.
    public var stopTimeout: Int?
    public var healthcheck: Healthcheck?
    public var exposedPorts: [String: EmptyObject]?
    public var hostConfig: HostConfig
    /// The network it is created on, with its aliases there.
    public var networkingConfig: NetworkingConfig?
    /// Container options, left out unless a spec sets them (see ``apply(_:)``).
    public var tty: Bool?
    public var openStdin: Bool?
    public var hostname: String?

    public init(
        image: String, cmd: [String]? = nil, entrypoint: [String]? = nil, env: [String] = [], labels: [String: String] = [:],
        workingDir: String? = nil, user: String? = nil, stopSignal: String? = nil, stopTimeout: Int? = nil,
        healthcheck: Healthcheck? = nil, exposedPorts: [String: EmptyObject]? = nil, hostConfig: HostConfig = HostConfig(),
        networkingConfig: NetworkingConfig? = nil
    ) {
        self.image = image
        self.cmd = cmd
        self.entrypoint = entrypoint
        self.env = env
        self.labels = labels
        self.workingDir = workingDir
        self.user = user
        self.stopSignal = stopSignal
        self.stopTimeout = stopTimeout
        self.healthcheck = healthcheck
        self.exposedPorts = exposedPorts
        self.hostConfig = hostConfig
        self.networkingConfig = networkingConfig
    }

    enum CodingKeys: String, CodingKey {
        case image = "Image", cmd = "Cmd", entrypoint = "Entrypoint", env = "Env", labels = "Labels", workingDir = "WorkingDir"
        case user = "User", stopSignal = "StopSignal", stopTimeout = "StopTimeout", healthcheck = "Healthcheck"
        case exposedPorts = "ExposedPorts", hostConfig = "HostConfig", networkingConfig = "NetworkingConfig"
        case tty = "Tty", openStdin = "OpenStdin", hostname = "Hostname"
    }

    /// The networks a container is created on (the engine takes one at creation before API 1.44).
    public struct NetworkingConfig: Sendable, Hashable, Encodable {
        public var endpointsConfig: [String: EndpointSettings]

        public init(endpointsConfig: [String: EndpointSettings]) {
            self.endpointsConfig = endpointsConfig
        }

        enum CodingKeys: String, CodingKey { case endpointsConfig = "EndpointsConfig" }
    }

    /// A container's settings on one network: DNS aliases and, optionally, a fixed address.
    public struct EndpointSettings: Sendable, Hashable, Encodable {
        public var aliases: [String]
        public var ipamConfig: IPAMConfig?

        public init(aliases: [String], ipamConfig: IPAMConfig? = nil) {
            self.aliases = aliases
            self.ipamConfig = ipamConfig
        }

        enum CodingKeys: String, CodingKey { case aliases = "Aliases", ipamConfig = "IPAMConfig" }
    }

    /// A fixed address on a network.
    public struct IPAMConfig: Sendable, Hashable, Encodable {
        public var ipv4Address: String

        public init(ipv4Address: String) {
            self.ipv4Address = ipv4Address
        }

        enum CodingKeys: String, CodingKey { case ipv4Address = "IPv4Address" }
    }

    /// `{}` in JSON, as the engine wants for exposed ports.
    public struct EmptyObject: Sendable, Hashable, Codable {
        public init() {}
    }

    /// The engine's health check: `["CMD", …]` or `["CMD-SHELL", "…"]`, durations in nanoseconds.
    public struct Healthcheck: Sendable, Hashable, Encodable {
        public var test: [String]
        public var interval: Int64
        public var timeout: Int64
        public var retries: Int
        public var startPeriod: Int64

        public init(test: [String], interval: Int64, timeout: Int64, retries: Int, startPeriod: Int64) {
            self.test = test
            self.interval = interval
            self.timeout = timeout
            self.retries = retries
            self.startPeriod = startPeriod
        }

        enum CodingKeys: String, CodingKey {
            case test = "Test", interval = "Interval", timeout = "Timeout", retries = "Retries", startPeriod = "StartPeriod"
        }
    }

    /// The host-side settings of a container.
    public struct HostConfig: Sendable, Hashable, Encodable {
        public var mounts: [MountSpec]
        public var networkMode: String?
        public var portBindings: [String: [PortBinding]]?
        public var restartPolicy: RestartPolicy
        public var memory: Int64?
        public var nanoCpus: Int64?
        public var initProcess: Bool?
        public var securityOpt: [String]?
        /// Container options, left out unless a spec sets them (see ``ContainerCreateRequest/apply(_:)``).
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
        public var devices: [DeviceMapping]?

        public init(
            mounts: [MountSpec] = [], networkMode: String? = nil, portBindings: [String: [PortBinding]]? = nil,
            restartPolicy: RestartPolicy = RestartPolicy(name: "no"), memory: Int64? = nil, nanoCpus: Int64? = nil,
            initProcess: Bool? = nil, securityOpt: [String]? = nil
        ) {
            self.mounts = mounts
            self.networkMode = networkMode
            self.portBindings = portBindings
            self.restartPolicy = restartPolicy
            self.memory = memory
            self.nanoCpus = nanoCpus
            self.initProcess = initProcess
            self.securityOpt = securityOpt
        }

        enum CodingKeys: String, CodingKey {
            case mounts = "Mounts", networkMode = "NetworkMode", portBindings = "PortBindings", restartPolicy = "RestartPolicy"
            case memory = "Memory", nanoCpus = "NanoCpus", initProcess = "Init", securityOpt = "SecurityOpt"
            case logConfig = "LogConfig", ulimits = "Ulimits", capAdd = "CapAdd", capDrop = "CapDrop", extraHosts = "ExtraHosts"
            case tmpfs = "Tmpfs", shmSize = "ShmSize", sysctls = "Sysctls", readonlyRootfs = "ReadonlyRootfs", pidsLimit = "PidsLimit"
            case dns = "Dns", dnsSearch = "DnsSearch", devices = "Devices"
        }
    }

    /// A named volume or a bind mount.
    public struct MountSpec: Sendable, Hashable, Encodable {
        /// `volume` or `bind`
        public var type: String
        public var source: String
        public var target: String
        public var readOnly: Bool

        public init(type: String, source: String, target: String, readOnly: Bool) {
            self.type = type
            self.source = source
            self.target = target
            self.readOnly = readOnly
        }

        enum CodingKeys: String, CodingKey { case type = "Type", source = "Source", target = "Target", readOnly = "ReadOnly" }
    }

    /// A host address and port for one container port.
    public struct PortBinding: Sendable, Hashable, Encodable {
        public var hostIp: String
        public var hostPort: String

        public init(hostIp: String, hostPort: String) {
            self.hostIp = hostIp
            self.hostPort = hostPort
        }

        enum CodingKeys: String, CodingKey { case hostIp = "HostIp", hostPort = "HostPort" }
    }

    /// The engine's own restart policy; Berth restarts containers itself and asks for `no`.
    public struct RestartPolicy: Sendable, Hashable, Encodable {
        public var name: String

        public init(name: String) {
            self.name = name
        }

        enum CodingKeys: String, CodingKey { case name = "Name" }
    }
}

/// One row of `GET /containers/json`.
public struct ContainerSummary: Sendable, Hashable, Decodable {
    public var id: String
    public var names: [String]
    public var image: String
    /// The id of the image it runs (`sha256:…`), whatever tag `image` names.
    public var imageID: String?
    public var labels: [String: String]
    public var state: String
    /// The engine's sentence for people: `Up 5 minutes (healthy)`, `Exited (1) 2 seconds ago`.
    public var status: String
    /// Names of the volumes it mounts.
    public var volumeNames: [String]
    /// The networks it is attached to, with its addresses.
    public var endpoints: [ObservedEndpoint]
    /// The host ports published for it.
    public var publishedPorts: [PublishedPort]

    /// The name without the engine's leading `/`.
    public var name: String { names.first.map { $0.hasPrefix("/") ? String($0.dropFirst()) : $0 } ?? id }

    enum CodingKeys: String, CodingKey {
        case id = "Id", names = "Names", image = "Image", imageID = "ImageID", labels = "Labels", state = "State", status = "Status", mounts = "Mounts"
        case networkSettings = "NetworkSettings", ports = "Ports"
    }

    private struct SummaryPort: Decodable {
        var ip: String?
        var privatePort: Int
        var publicPort: Int?
        var type: String?
        enum CodingKeys: String, CodingKey { case ip = "IP", privatePort = "PrivatePort", publicPort = "PublicPort", type = "Type" }
    }

    private struct SummaryMount: Decodable {
        var type: String?
        var name: String?
        enum CodingKeys: String, CodingKey { case type = "Type", name = "Name" }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        names = try container.decodeIfPresent([String].self, forKey: .names) ?? []
        image = try container.decodeIfPresent(String.self, forKey: .image) ?? ""
        imageID = try container.decodeIfPresent(String.self, forKey: .imageID)
        labels = try container.decodeIfPresent([String: String].self, forKey: .labels) ?? [:]
        state = try container.decode(String.self, forKey: .state)
        status = try container.decodeIfPresent(String.self, forKey: .status) ?? ""
        let mounts = try container.decodeIfPresent([SummaryMount].self, forKey: .mounts) ?? []
        volumeNames = mounts.filter { $0.type == "volume" }.compactMap(\.name).sorted()
        endpoints = try container.decodeIfPresent(EngineNetworkSettings.self, forKey: .networkSettings)?.endpoints ?? []
        publishedPorts = (try container.decodeIfPresent([SummaryPort].self, forKey: .ports) ?? []).compactMap { port in
            port.publicPort.map { PublishedPort(hostIP: port.ip ?? "", hostPort: $0, containerPort: port.privatePort, transport: port.type ?? "tcp") }
        }
    }
}

/// `NetworkSettings` of a container, in its list row and its inspection alike: the networks
/// it is on, and (inspection only) its published ports.
struct EngineNetworkSettings: Decodable {
    var endpoints: [ObservedEndpoint]
    var publishedPorts: [PublishedPort]

    private struct Network: Decodable {
        var ipAddress: String?
        var globalIPv6Address: String?
        enum CodingKeys: String, CodingKey { case ipAddress = "IPAddress", globalIPv6Address = "GlobalIPv6Address" }
    }

    private struct Binding: Decodable {
        var hostIp: String?
        var hostPort: String?
        enum CodingKeys: String, CodingKey { case hostIp = "HostIp", hostPort = "HostPort" }
    }

    enum CodingKeys: String, CodingKey { case networks = "Networks", ports = "Ports" }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let networks = try container.decodeIfPresent([String: Network].self, forKey: .networks) ?? [:]
        endpoints = networks.sorted { $0.key < $1.key }.map { name, network in
            ObservedEndpoint(
                network: name, ipv4Address: network.ipAddress.flatMap { $0.isEmpty ? nil : $0 },
                ipv6Address: network.globalIPv6Address.flatMap { $0.isEmpty ? nil : $0 }
            )
        }
        // `"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]`; unpublished ports map to null.
        let ports = (try? container.decodeIfPresent([String: [Binding]?].self, forKey: .ports)) ?? nil
        publishedPorts = (ports ?? [:]).sorted { $0.key < $1.key }.flatMap { key, bindings -> [PublishedPort] in
            let parts = key.split(separator: "/")
            guard let containerPort = parts.first.flatMap({ Int($0) }) else { return [] }
            let transport = parts.count > 1 ? String(parts[1]) : "tcp"
            return (bindings ?? []).compactMap { binding in
                binding.hostPort.flatMap(Int.init).map { PublishedPort(hostIP: binding.hostIp ?? "", hostPort: $0, containerPort: containerPort, transport: transport) }
            }
        }
    }
}

/// `GET /containers/{id}/json`, the parts Berth reads.
public struct ContainerDetails: Sendable, Hashable, Decodable {
    public var id: String
    /// The name without the engine's leading `/`.
    public var name: String
    public var image: String
    /// The id of the image it runs (`sha256:…`).
    public var imageID: String?
    public var labels: [String: String]
    public var state: State
    public var restartCount: Int
    public var mounts: [Mount]
    public var endpoints: [ObservedEndpoint]
    public var publishedPorts: [PublishedPort]

    /// The container's lifecycle state.
    public struct State: Sendable, Hashable, Decodable {
        /// `created`, `running`, `paused`, `restarting`, `removing`, `exited`, `dead`
        public var status: String
        public var exitCode: Int
        public var oomKilled: Bool
        public var startedAt: Date?
        public var finishedAt: Date?
        public var health: Health?

        enum CodingKeys: String, CodingKey {
            case status = "Status", exitCode = "ExitCode", oomKilled = "OOMKilled", startedAt = "StartedAt", finishedAt = "FinishedAt", health = "Health"
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            status = try container.decode(String.self, forKey: .status)
            exitCode = try container.decodeIfPresent(Int.self, forKey: .exitCode) ?? 0
            oomKilled = try container.decodeIfPresent(Bool.self, forKey: .oomKilled) ?? false
            startedAt = EngineTime.parse(try container.decodeIfPresent(String.self, forKey: .startedAt))
            finishedAt = EngineTime.parse(try container.decodeIfPresent(String.self, forKey: .finishedAt))
            health = try container.decodeIfPresent(Health.self, forKey: .health)
        }
    }

    /// The health check's verdict.
    public struct Health: Sendable, Hashable, Decodable {
        /// `starting`, `healthy`, `unhealthy` (or `none`)
        public var status: String
        public var failingStreak: Int

        enum CodingKeys: String, CodingKey { case status = "Status", failingStreak = "FailingStreak" }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            status = try container.decode(String.self, forKey: .status)
            failingStreak = try container.decodeIfPresent(Int.self, forKey: .failingStreak) ?? 0
        }
    }

    /// A mounted volume or bind.
    public struct Mount: Sendable, Hashable, Decodable {
        public var type: String
        /// The volume's name (volumes only).
        public var name: String?
        public var source: String?
        public var destination: String

        enum CodingKeys: String, CodingKey { case type = "Type", name = "Name", source = "Source", destination = "Destination" }
    }

    private struct Config: Decodable {
        var image: String
        var labels: [String: String]?

        enum CodingKeys: String, CodingKey { case image = "Image", labels = "Labels" }
    }

    enum CodingKeys: String, CodingKey {
        case id = "Id", name = "Name", imageID = "Image", config = "Config", state = "State", restartCount = "RestartCount", mounts = "Mounts"
        case networkSettings = "NetworkSettings"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        let rawName = try container.decode(String.self, forKey: .name)
        name = rawName.hasPrefix("/") ? String(rawName.dropFirst()) : rawName
        let config = try container.decode(Config.self, forKey: .config)
        image = config.image
        imageID = try container.decodeIfPresent(String.self, forKey: .imageID)
        labels = config.labels ?? [:]
        state = try container.decode(State.self, forKey: .state)
        restartCount = try container.decodeIfPresent(Int.self, forKey: .restartCount) ?? 0
        mounts = try container.decodeIfPresent([Mount].self, forKey: .mounts) ?? []
        let network = try container.decodeIfPresent(EngineNetworkSettings.self, forKey: .networkSettings)
        endpoints = network?.endpoints ?? []
        publishedPorts = network?.publishedPorts ?? []
    }
}
