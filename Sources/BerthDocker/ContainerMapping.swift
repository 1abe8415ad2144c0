import BerthCore
import Foundation

extension ContainerCreateRequest {
    /// The engine request for one service replica: the spec's fields, Berth's labels, resolved
    /// environment, and the engine's restart policy `no` (Berth restarts containers itself).
    public init(_ target: ContainerTarget, environment: [String: String]) {
        self.init(
            target.spec.container, labels: target.labels, volumeNames: target.volumeNames, environment: environment,
            ports: target.spec.ports, healthcheck: target.spec.healthcheck
        )
    }

    /// The engine request for a container spec: `volumeNames` maps the spec's `volume:` mounts (by
    /// index) to Docker volume names; `extraMounts` come after the spec's own (a job's scratch).
    init(
        _ container: ContainerSpec, labels: [String: String], volumeNames: [Int: String], environment: [String: String],
        ports: [PortMapping] = [], healthcheck: HealthcheckSpec? = nil, extraMounts: [MountSpec] = []
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
                networkMode: container.network.description,
                portBindings: bindings.isEmpty ? nil : bindings,
                memory: container.resources?.memory?.bytes,
                nanoCpus: container.resources?.cpus?.nanoCPUs,
                initProcess: container.`init` ? true : nil,
                securityOpt: container.noNewPrivileges ? ["no-new-privileges:true"] : nil
            )
        )
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
            spec: details.labels[LabelKey.spec].flatMap { try? JSONDecoder().decode(ServiceSpec.self, from: Data($0.utf8)) }
        )
    }
}

extension TimeSpan {
    /// The engine's unit for health check durations.
    var nanoseconds: Int64 { milliseconds * 1_000_000 }
}
