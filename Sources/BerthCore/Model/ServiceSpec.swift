/// N replicas of a long-running container, kept running, healthy and matching this spec.
public struct ServiceSpec: Sendable, Hashable, Codable {
    public var container: ContainerSpec
    public var replicas: Int
    public var ports: [PortMapping]
    public var healthcheck: HealthcheckSpec?
    public var restart: RestartPolicy
    public var dependsOn: [Dependency]
    /// How a changed replica is replaced; `nil` picks start-first unless host ports would collide.
    public var updateOrder: UpdateOrder?
    /// Which nodes run the replicas; nil: the node named `default`, or the only node.
    public var placement: PlacementSpec?

    public init(
        container: ContainerSpec,
        replicas: Int = 1,
        ports: [PortMapping] = [],
        healthcheck: HealthcheckSpec? = nil,
        restart: RestartPolicy = .always,
        dependsOn: [Dependency] = [],
        updateOrder: UpdateOrder? = nil,
        placement: PlacementSpec? = nil
    ) {
        self.container = container
        self.replicas = replicas
        self.ports = ports
        self.healthcheck = healthcheck
        self.restart = restart
        self.dependsOn = dependsOn
        self.updateOrder = updateOrder
        self.placement = placement
    }

    /// The replacement order in effect: explicit, else stop-first when the old and new container
    /// would both need the same host ports (published ports, or the host network) or the same
    /// fixed network address, or would both write to the same named volume (two databases on one
    /// data folder), else start-first.
    public var effectiveUpdateOrder: UpdateOrder {
        if let updateOrder { return updateOrder }
        if container.network == .host || ports.contains(where: \.bindsHostPort) { return .stopFirst }
        if container.networks.contains(where: { $0.ipv4Address != nil }) { return .stopFirst }
        let writesVolume = container.volumes.contains { mount in
            if case .volume = mount.source { return !mount.readOnly }
            return false
        }
        return writesVolume ? .stopFirst : .startFirst
    }

    static func read(_ map: MapReader) -> ServiceSpec? {
        let container = ContainerSpec.read(map)
        let replicas = map.optional("replicas", default: 1) { try $0.int(in: 0...1000) }
        let ports = map.optional("ports", default: []) { try $0.list { try $0.parse(PortMapping.init(parsing:)) } }
        let healthcheck = map.optional("healthcheck") { try HealthcheckSpec.read(try $0.map()) }
        let restart = map.optional("restart", default: .always) { try $0.choice(RestartPolicy.self) }
        let dependsOn = map.optional("dependsOn", default: []) { try $0.list(Dependency.read) }
        let updateOrder = map.optional("updateOrder") { try $0.choice(UpdateOrder.self) }
        let placement = map.optional("placement") { try $0.nested(PlacementSpec.read) }
        guard let container else { return nil }
        return ServiceSpec(
            container: container, replicas: replicas, ports: ports, healthcheck: healthcheck,
            restart: restart, dependsOn: dependsOn, updateOrder: updateOrder, placement: placement
        )
    }

    private enum CodingKeys: String, CodingKey {
        case replicas, ports, healthcheck, restart, dependsOn, updateOrder, placement
    }

    public init(from decoder: any Decoder) throws {
        self = try Self.decodeInput(from: decoder, read: Self.read)
    }

    /// Reads JSON text (a stored spec) through the same checks, without Foundation's decoder.
    public init(json: String) throws(ValidationError) {
        self = try Self.readInput(InputNode(json: json), read: Self.read)
    }

    /// Encodes flat, as written in manifests: the container fields, then the service's own.
    public func encode(to encoder: any Encoder) throws {
        try container.encode(to: encoder)
        var keyed = encoder.container(keyedBy: CodingKeys.self)
        try keyed.encode(replicas, forKey: .replicas)
        try keyed.encode(ports, forKey: .ports)
        try keyed.encodeIfPresent(healthcheck, forKey: .healthcheck)
        try keyed.encode(restart, forKey: .restart)
        try keyed.encode(dependsOn, forKey: .dependsOn)
        try keyed.encodeIfPresent(updateOrder, forKey: .updateOrder)
        try keyed.encodeIfPresent(placement, forKey: .placement)
    }
}

/// A command the engine runs inside the container to decide whether it is healthy.
public struct HealthcheckSpec: Sendable, Hashable, Codable {
    public var command: [String]
    public var interval: TimeSpan
    public var timeout: TimeSpan
    public var retries: Int
    public var startPeriod: TimeSpan

    public init(
        command: [String],
        interval: TimeSpan = .seconds(30),
        timeout: TimeSpan = .seconds(30),
        retries: Int = 3,
        startPeriod: TimeSpan = .seconds(0)
    ) {
        self.command = command
        self.interval = interval
        self.timeout = timeout
        self.retries = retries
        self.startPeriod = startPeriod
    }

    static func read(_ map: MapReader) throws -> HealthcheckSpec {
        defer { map.finish() }
        let command = map.required("command") { reader in
            let command = try reader.command()
            guard !command.isEmpty else { throw reader.fail("expected a non-empty command") }
            return command
        }
        let interval = map.optional("interval", default: .seconds(30)) { try $0.positiveTimeSpan() }
        let timeout = map.optional("timeout", default: .seconds(30)) { try $0.positiveTimeSpan() }
        let retries = map.optional("retries", default: 3) { try $0.int(in: 1...100) }
        let startPeriod = map.optional("startPeriod", default: .seconds(0)) { try $0.parse(TimeSpan.init(parsing:)) }
        guard let command else { throw AlreadyReported() }
        return HealthcheckSpec(command: command, interval: interval, timeout: timeout, retries: retries, startPeriod: startPeriod)
    }
}

/// Whether Berth starts a service container again after it exits.
public enum RestartPolicy: String, Sendable, Hashable, Codable, CaseIterable {
    case always
    case onFailure = "on-failure"
    case never
}

/// Replace a changed replica by starting the new container first, or stopping the old one first.
public enum UpdateOrder: String, Sendable, Hashable, Codable, CaseIterable {
    case startFirst = "start-first"
    case stopFirst = "stop-first"
}

/// Another service of the same project that must be up before this one starts.
public struct Dependency: Sendable, Hashable, Codable {
    /// `started`: its containers run; `healthy`: they also pass their health check.
    public enum Condition: String, Sendable, Hashable, Codable, CaseIterable {
        case started
        case healthy
    }

    public var name: String
    public var condition: Condition

    public init(name: String, condition: Condition = .started) {
        self.name = name
        self.condition = condition
    }

    /// `db` or `{name: db, condition: healthy}`.
    static func read(_ reader: ValueReader) throws -> Dependency {
        guard case .map = reader.node.content else {
            return Dependency(name: try reader.parse(ResourceName.validated))
        }
        let map = try reader.map()
        defer { map.finish() }
        let name = map.required("name") { try $0.parse(ResourceName.validated) }
        let condition = map.optional("condition", default: .started) { try $0.choice(Condition.self) }
        guard let name else { throw AlreadyReported() }
        return Dependency(name: name, condition: condition)
    }
}

extension ResourceName {
    /// Validates and returns `name`, for use with ``ValueReader/parse(_:)``.
    static func validated(_ name: String) throws(ValidationError) -> String {
        try validate(name)
        return name
    }
}

extension ValueReader {
    /// A duration longer than zero.
    func positiveTimeSpan() throws -> TimeSpan {
        let span = try parse(TimeSpan.init(parsing:))
        guard span.milliseconds > 0 else { throw fail("expected a duration longer than 0s") }
        return span
    }
}
