import BerthCore

/// Reading a container Berth did not create back into the ``ServiceSpec`` that would create it:
/// the inverse of `ContainerCreateRequest(_:environment:)` and `apply(_:)` for every field they
/// write. What the image itself gives every container (its env, command, entrypoint, working
/// folder, user, stop signal, labels, exposed ports, declared volumes) is left out, as a spec
/// that does not set it would. Volumes and networks keep the engine's names; a network's aliases
/// leave out the container's short id, which the engine adds. Fields Berth keeps for itself
/// (replicas, dependsOn, pullPolicy, updateOrder, placement) keep their defaults; they are never compared.
extension ServiceSpec {
    /// `nil` when the image reference cannot be read (a container created from a bare image id).
    public init?(readingBack container: ContainerConfiguration, image: ImageConfiguration, defaultLogDriver: String?) {
        let config = container.config
        let host = container.hostConfig
        guard let reference = try? ImageReference(parsing: config.image) else { return nil }
        var spec = ContainerSpec(image: reference)
        spec.command = Self.own(config.cmd, image.cmd)
        spec.entrypoint = Self.own(config.entrypoint, image.entrypoint)
        spec.workingDir = Self.own(config.workingDir, image.workingDir)
        spec.user = Self.own(config.user, image.user)
        let imageEnv = Set(image.env ?? [])
        for entry in config.env ?? [] where !imageEnv.contains(entry) {
            let name = entry.prefix { $0 != "=" }
            spec.env[String(name)] = .literal(String(entry.dropFirst(name.count + 1)))
        }
        spec.labels = (config.labels ?? [:]).filter { key, value in
            !key.hasPrefix(ComposeLabel.prefix) && !key.hasPrefix(LabelKey.reservedPrefix) && image.labels?[key] != value
        }
        let imageVolumes = Set((image.volumes ?? [:]).keys)
        spec.volumes = container.mounts.compactMap { mount in
            let readOnly = !(mount.rw ?? true)
            switch mount.type {
            case "volume" where !imageVolumes.contains(mount.destination):
                return mount.name.map { Mount(source: .volume($0), target: mount.destination, readOnly: readOnly) }
            case "bind":
                return mount.source.map { Mount(source: .hostPath($0), target: mount.destination, readOnly: readOnly) }
            default:
                return nil
            }
        }
        switch host.networkMode ?? "default" {
        case "host": spec.network = .host
        case "none": spec.network = .none
        case "default", "bridge": spec.network = .bridge
        default:
            let shortID = String(container.id.prefix(12))
            spec.networks = container.networks.sorted { $0.key < $1.key }.map { name, endpoint in
                NetworkAttachment(name: name, aliases: (endpoint.aliases ?? []).filter { $0 != shortID }, ipv4Address: endpoint.ipamConfig?.ipv4Address.flatMap { $0.isEmpty ? nil : $0 })
            }
        }
        if spec.network != .project { spec.networks = [] }
        let memory = (host.memory ?? 0) > 0 ? host.memory.map(ByteSize.init(bytes:)) : nil
        let cpus = (host.nanoCpus ?? 0) >= 1_000_000 ? host.nanoCpus.map { CPUQuantity(millicores: Int($0 / 1_000_000)) } : nil
        spec.resources = memory == nil && cpus == nil ? nil : ResourceLimits(memory: memory, cpus: cpus)
        let signal = Self.own(config.stopSignal, image.stopSignal)
        spec.stopSignal = signal.flatMap { try? StopSignal(parsing: $0) } ?? .sigterm
        spec.stopGracePeriod = .seconds(Int64(max(config.stopTimeout ?? 10, 0)))
        spec.`init` = host.initProcess ?? false
        let security = host.securityOpt ?? []
        let noNewPrivileges = Set(["no-new-privileges", "no-new-privileges:true", "no-new-privileges=true", ContainerCreateRequest.noNewPrivileges])
        spec.noNewPrivileges = security.contains { noNewPrivileges.contains($0) }
        spec.options = Self.options(container, defaultLogDriver: defaultLogDriver, security: security.filter { !noNewPrivileges.contains($0) })
        self.init(
            container: spec, ports: Self.ports(host.portBindings ?? [:], exposed: config.exposedPorts, imageExposed: image.exposedPorts),
            healthcheck: config.healthcheck.flatMap(Self.healthcheck), restart: Self.restart(host.restartPolicy?.name)
        )
    }

    /// A value the container has and its image does not give it.
    private static func own<T: Equatable & Collection>(_ value: T?, _ imageValue: T?) -> T? {
        guard let value, !value.isEmpty, value != imageValue else { return nil }
        return value
    }

    /// Published ports from the bindings, and ports only exposed (not by the image) without a host port.
    private static func ports(
        _ bindings: [String: [ContainerConfiguration.Binding]?], exposed: [String: ContainerCreateRequest.EmptyObject]?,
        imageExposed: [String: ContainerCreateRequest.EmptyObject]?
    ) -> [PortMapping] {
        var ports: [PortMapping] = []
        for (key, list) in bindings.sorted(by: { $0.key < $1.key }) {
            for binding in list ?? [] {
                let hostIP = binding.hostIp ?? ""
                let hostPort = binding.hostPort ?? ""
                var text = hostIP.isEmpty ? "" : (hostIP.contains(":") ? "[\(hostIP)]:" : "\(hostIP):")
                if !hostPort.isEmpty { text += "\(hostPort):" } else if !hostIP.isEmpty { text += ":" }
                if let port = try? PortMapping(parsing: text + key) { ports.append(port) }
            }
        }
        let imagePorts = Set((imageExposed ?? [:]).keys)
        for key in (exposed ?? [:]).keys.sorted() where bindings[key] == nil && !imagePorts.contains(key) {
            if let port = try? PortMapping(parsing: key) { ports.append(port) }
        }
        return ports
    }

    /// `CMD` as given; `CMD-SHELL` as the shell the engine runs it with; `NONE` as no check. Zero
    /// durations and retries are the engine's defaults, which are Berth's too.
    private static func healthcheck(_ check: ContainerConfiguration.Healthcheck) -> HealthcheckSpec? {
        guard let test = check.test, let kind = test.first else { return nil }
        let command: [String]
        switch kind {
        case "CMD": command = Array(test.dropFirst())
        case "CMD-SHELL": command = ["/bin/sh", "-c"] + test.dropFirst()
        default: return nil
        }
        guard !command.isEmpty else { return nil }
        func span(_ nanoseconds: Int64?, _ fallback: TimeSpan) -> TimeSpan {
            guard let nanoseconds, nanoseconds > 0 else { return fallback }
            return .milliseconds(nanoseconds / 1_000_000)
        }
        return HealthcheckSpec(
            command: command, interval: span(check.interval, .seconds(30)), timeout: span(check.timeout, .seconds(30)),
            retries: check.retries.flatMap { $0 > 0 ? $0 : nil } ?? 3, startPeriod: span(check.startPeriod, .seconds(0))
        )
    }

    /// The engine's restart policy as Berth's (which Berth applies itself; it is never compared).
    private static func restart(_ name: String?) -> RestartPolicy {
        switch name {
        case "always", "unless-stopped": .always
        case "on-failure": .onFailure
        default: .never
        }
    }

    /// The inverse of `ContainerCreateRequest.apply(_:)`; an engine default reads as unset.
    private static func options(_ container: ContainerConfiguration, defaultLogDriver: String?, security: [String]) -> ContainerOptions {
        let config = container.config
        let host = container.hostConfig
        var options = ContainerOptions()
        if let log = host.logConfig {
            let driver = log.type == defaultLogDriver || log.type?.isEmpty != false ? nil : log.type
            let settings = log.config ?? [:]
            if driver != nil || !settings.isEmpty { options.logging = LoggingSpec(driver: driver, options: settings) }
        }
        for limit in host.ulimits ?? [] { options.ulimits[limit.name] = Ulimit(soft: limit.soft, hard: limit.hard) }
        options.capAdd = (host.capAdd ?? []).compactMap { try? Capability(parsing: $0) }
        options.capDrop = (host.capDrop ?? []).compactMap { try? Capability(parsing: $0) }
        options.extraHosts = (host.extraHosts ?? []).compactMap { try? ExtraHost(parsing: $0) }
        options.tmpfs = (host.tmpfs ?? [:]).sorted { $0.key < $1.key }.compactMap { path, mountOptions in
            try? TmpfsMount(parsing: mountOptions.isEmpty ? path : "\(path):\(mountOptions)")
        }
        if let size = host.shmSize, size > 0, size != engineShmSize { options.shmSize = ByteSize(bytes: size) }
        options.tty = config.tty ?? false
        options.stdinOpen = config.openStdin ?? false
        options.sysctls = host.sysctls ?? [:]
        options.readOnlyRootFilesystem = host.readonlyRootfs ?? false
        if let limit = host.pidsLimit, limit != 0 { options.pidsLimit = Int(limit) }
        if let hostname = config.hostname, !hostname.isEmpty, hostname != String(container.id.prefix(12)) { options.hostname = hostname }
        options.dns = host.dns ?? []
        options.dnsSearch = host.dnsSearch ?? []
        options.devices = (host.devices ?? []).compactMap { device in
            try? DeviceMapping(parsing: "\(device.pathOnHost):\(device.pathInContainer):\(device.cgroupPermissions ?? "rwm")")
        }
        options.securityOpt = security.compactMap { try? SecurityOption(parsing: $0) }
        return options
    }

    /// The engine's `/dev/shm` size when none is asked for (64 MiB).
    private static let engineShmSize: Int64 = 64 * 1024 * 1024
}
