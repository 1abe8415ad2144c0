import BerthCore
import Foundation
import Synchronization

extension ContainerCreateRequest {
    /// The engine request for one service replica: the spec's fields, Berth's labels, resolved
    /// environment, and the engine's restart policy `no` (Berth restarts containers itself).
    public init(_ target: ContainerTarget, environment: [String: String]) {
        self.init(
            target.spec.container, labels: target.labels, volumeNames: target.volumeNames, environment: environment,
            endpoints: target.endpoints, ports: target.spec.ports, healthcheck: target.spec.healthcheck
        )
    }

    /// The engine request for a container spec: `volumeNames` maps the spec's `volume:` mounts (by
    /// index) to Docker volume names; `extraMounts` come after the spec's own (a job's scratch).
    /// The container is created on the first of `endpoints`; the engine (API 1.41) takes one
    /// network at creation, so ``DockerEngine`` connects the others before it starts.
    init(
        _ container: ContainerSpec, labels: [String: String], volumeNames: [Int: String], environment: [String: String],
        endpoints: [NetworkEndpoint] = [], ports: [PortMapping] = [], healthcheck: HealthcheckSpec? = nil, extraMounts: [MountSpec] = []
    ) {
        var mounts: [MountSpec] = []
        for (index, mount) in container.volumes.enumerated() {
            switch mount.source {
            case .volume(let name):
                mounts.append(MountSpec(type: "volume", source: volumeNames[index] ?? name, target: mount.target, readOnly: mount.readOnly))
            case .hostPath(let path):
                mounts.append(MountSpec(type: "bind", source: path, target: mount.target, readOnly: mount.readOnly))
            }
        }
        var exposed: [String: EmptyObject] = [:]
        var bindings: [String: [PortBinding]] = [:]
        for port in ports {
            let key = "\(port.containerPort)/\(port.transport.rawValue)"
            exposed[key] = EmptyObject()
            if port.hostIP != nil || port.hostPort != nil {
                bindings[key, default: []].append(PortBinding(hostIp: port.hostIP ?? "", hostPort: port.hostPort.map(String.init) ?? ""))
            }
        }
        let check = healthcheck.map { check in
            Healthcheck(
                test: ["CMD"] + check.command, interval: check.interval.nanoseconds, timeout: check.timeout.nanoseconds,
                retries: check.retries, startPeriod: check.startPeriod.nanoseconds
            )
        }
        self.init(
            image: container.image.description,
            cmd: container.command,
            entrypoint: container.entrypoint,
            env: environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" },
            labels: labels,
            workingDir: container.workingDir,
            user: container.user,
            stopSignal: container.stopSignal.description,
            stopTimeout: container.stopGracePeriod.wholeSeconds,
            healthcheck: check,
            exposedPorts: exposed.isEmpty ? nil : exposed,
            hostConfig: HostConfig(
                mounts: mounts + extraMounts,
                networkMode: container.network == .project ? endpoints.first?.network : container.network.rawValue,
                portBindings: bindings.isEmpty ? nil : bindings,
                memory: container.resources?.memory?.bytes,
                nanoCpus: container.resources?.cpus?.nanoCPUs,
                initProcess: container.`init` ? true : nil,
                securityOpt: container.noNewPrivileges ? ["no-new-privileges:true"] : nil
            ),
            networkingConfig: endpoints.first.map { NetworkingConfig(endpointsConfig: [$0.network: EndpointSettings($0)]) }
        )
        apply(container.options)
    }
}

extension ContainerCreateRequest.EndpointSettings {
    /// The engine's settings for one planned endpoint.
    public init(_ endpoint: NetworkEndpoint) {
        self.init(aliases: endpoint.aliases, ipamConfig: endpoint.ipv4Address.map { ContainerCreateRequest.IPAMConfig(ipv4Address: $0) })
    }
}

extension ObservedContainer {
    /// What the planner needs from an engine container.
    public init(_ details: ContainerDetails) {
        let state = ObservedContainer.State(rawValue: details.state.status) ?? .dead
        let ended = state == .exited || state == .dead
        self.init(
            id: details.id,
            name: details.name,
            labels: details.labels,
            state: state,
            health: details.state.health.flatMap { ObservedContainer.Health(rawValue: $0.status) },
            failingStreak: details.state.health?.failingStreak ?? 0,
            exitCode: ended ? details.state.exitCode : nil,
            oomKilled: details.state.oomKilled,
            startedAt: details.state.startedAt,
            finishedAt: ended ? details.state.finishedAt : nil,
            volumeNames: details.mounts.filter { $0.type == "volume" }.compactMap(\.name).sorted(),
            endpoints: details.endpoints, publishedPorts: details.publishedPorts, imageID: details.imageID,
            spec: SpecLabel.decode(details.labels[LabelKey.spec])
        )
    }

    /// What the planner needs from a row of the container list alone, for a container that runs
    /// and is not unhealthy: everything the planner reads of such a container is in the row (the
    /// start time approximately, from the engine's `Up 5 minutes`). `nil` for any other container,
    /// which must be inspected (exit code, OOM kill, failing checks, exact times).
    public init?(_ summary: ContainerSummary, now: Date) {
        guard summary.state == "running", let uptime = EngineStatusText.uptime(summary.status) else { return nil }
        let health: Health?
        if summary.status.hasSuffix("(healthy)") {
            health = .healthy
        } else if summary.status.hasSuffix("(health: starting)") {
            health = .starting
        } else if summary.status.hasSuffix(")") {
            return nil
        } else {
            health = nil
        }
        self.init(
            id: summary.id, name: summary.name, labels: summary.labels, state: .running, health: health,
            startedAt: now.addingTimeInterval(-uptime), volumeNames: summary.volumeNames,
            endpoints: summary.endpoints, publishedPorts: summary.publishedPorts, imageID: summary.imageID,
            spec: SpecLabel.decode(summary.labels[LabelKey.spec])
        )
    }
}

/// Decodes `berth.spec` labels once per distinct text: every replica of a service carries the same one.
enum SpecLabel {
    private static let cache = Mutex<[String: ServiceSpec]>([:])

    static func decode(_ text: String?) -> ServiceSpec? {
        guard let text else { return nil }
        if let known = cache.withLock({ $0[text] }) { return known }
        guard let spec = try? ServiceSpec(json: text) else { return nil }
        cache.withLock { cache in
            if cache.count >= 4096 { cache.removeAll() }
            cache[text] = spec
        }
        return spec
    }
}

/// Reading the engine's status sentences (`Up 5 minutes (healthy)`), whose wording comes from
/// Docker's `units.HumanDuration`.
enum EngineStatusText {
    /// How long a running container has been up, at least: `nil` when the text is not `Up …`.
    static func uptime(_ status: String) -> TimeInterval? {
        guard status.hasPrefix("Up ") else { return nil }
        var words = status.dropFirst(3).split(separator: " ").map(String.init)
        if let health = words.firstIndex(where: { $0.hasPrefix("(") }) { words.removeSubrange(health...) }
        switch words.joined(separator: " ") {
        case "Less than a second": return 0
        case "About a minute": return 60
        case "About an hour": return 3600
        default: break
        }
        guard words.count == 2, let count = Double(words[0]) else { return nil }
        let unit = words[1].hasSuffix("s") ? String(words[1].dropLast()) : words[1]
        let seconds: Double? =
            switch unit {
            case "second": 1
            case "minute": 60
            case "hour": 3600
            case "day": 86400
            case "week": 604_800
            case "month": 2_592_000
            case "year": 31_536_000
            default: nil
            }
        return seconds.map { $0 * count }
    }
}

extension TimeSpan {
    /// The engine's unit for health check durations.
    var nanoseconds: Int64 { milliseconds * 1_000_000 }
}
