import BerthCore

extension ContainerCreateRequest {
    /// Adds a spec's container options to a request made from its other fields: each option left
    /// out stays out of the request, so the engine keeps its default.
    mutating func apply(_ options: ContainerOptions) {
        tty = options.tty ? true : nil
        openStdin = options.stdinOpen ? true : nil
        hostname = options.hostname
        hostConfig.logConfig = options.logging.map { LogConfig(type: $0.driver, config: $0.options) }
        hostConfig.ulimits = options.ulimits.isEmpty ? nil : options.ulimits.sorted { $0.key < $1.key }.map { Ulimit(name: $0.key, soft: $0.value.soft, hard: $0.value.hard) }
        hostConfig.capAdd = options.capAdd.isEmpty ? nil : options.capAdd.map(\.engineName)
        hostConfig.capDrop = options.capDrop.isEmpty ? nil : options.capDrop.map(\.engineName)
        hostConfig.extraHosts = options.extraHosts.isEmpty ? nil : options.extraHosts.map(\.engineEntry)
        hostConfig.tmpfs = options.tmpfs.isEmpty ? nil : Dictionary(options.tmpfs.map { ($0.path, $0.options) }) { first, _ in first }
        hostConfig.shmSize = options.shmSize?.bytes
        hostConfig.sysctls = options.sysctls.isEmpty ? nil : options.sysctls
        hostConfig.readonlyRootfs = options.readOnlyRootFilesystem ? true : nil
        hostConfig.pidsLimit = options.pidsLimit.map(Int64.init)
        hostConfig.dns = options.dns.isEmpty ? nil : options.dns
        hostConfig.dnsSearch = options.dnsSearch.isEmpty ? nil : options.dnsSearch
        hostConfig.devices =
            options.devices.isEmpty
            ? nil
            : options.devices.map {
                DeviceMapping(pathOnHost: $0.hostPath, pathInContainer: $0.containerPath, cgroupPermissions: $0.permissions)
            }
        // After the spec's own `noNewPrivileges`, written once however often it is asked for.
        var security = hostConfig.securityOpt ?? []
        for option in options.securityOpt {
            let text = option.key == .noNewPrivileges ? Self.noNewPrivileges : option.description
            if !security.contains(text) { security.append(text) }
        }
        hostConfig.securityOpt = security.isEmpty ? nil : security
    }

    /// The engine's spelling of the `no-new-privileges` security option.
    static let noNewPrivileges = "no-new-privileges:true"

    /// Where the engine sends the container's output; no `Type` keeps the engine's default driver.
    public struct LogConfig: Sendable, Hashable, Encodable {
        public var type: String?
        public var config: [String: String]

        public init(type: String?, config: [String: String]) {
            self.type = type
            self.config = config
        }

        enum CodingKeys: String, CodingKey { case type = "Type", config = "Config" }
    }

    /// One resource limit of the container's processes; `-1` is unlimited.
    public struct Ulimit: Sendable, Hashable, Encodable {
        public var name: String
        public var soft: Int64
        public var hard: Int64

        public init(name: String, soft: Int64, hard: Int64) {
            self.name = name
            self.soft = soft
            self.hard = hard
        }

        enum CodingKeys: String, CodingKey { case name = "Name", soft = "Soft", hard = "Hard" }
    }

    /// A host device made available in the container, with its cgroup permissions (`rwm`).
    public struct DeviceMapping: Sendable, Hashable, Encodable {
        public var pathOnHost: String
        public var pathInContainer: String
        public var cgroupPermissions: String

        public init(pathOnHost: String, pathInContainer: String, cgroupPermissions: String) {
            self.pathOnHost = pathOnHost
            self.pathInContainer = pathInContainer
            self.cgroupPermissions = cgroupPermissions
        }

        enum CodingKeys: String, CodingKey {
            case pathOnHost = "PathOnHost", pathInContainer = "PathInContainer", cgroupPermissions = "CgroupPermissions"
        }
    }
}
