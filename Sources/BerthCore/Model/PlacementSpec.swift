/// Which nodes may run a service's replicas, and how they are spread over them (`placement` in a
/// Service's manifest). The leader places each replica on one node (`PlacementPlanner`); the
/// node's controller runs it. Placing never recreates a container by itself, so the spec hash
/// leaves it out (`SpecHash`).
public struct PlacementSpec: Sendable, Hashable, Codable {
    /// How long a replica waits for its node while the node is NotReady before it is placed on
    /// another one: a duration, or `never` (it waits as long as it takes).
    public enum Reschedule: Sendable, Hashable, Codable, CustomStringConvertible {
        case after(TimeSpan)
        case never

        /// `never`, or a duration (`30s`, `5m`).
        public init(parsing text: String) throws(ValidationError) {
            if text == "never" {
                self = .never
                return
            }
            do throws(ValidationError) {
                self = .after(try TimeSpan(parsing: text))
            } catch {
                throw ValidationError("expected a duration such as 1m, or never, found \(text.quoted)")
            }
        }

        /// The wait, or nil for `never`.
        public var timeSpan: TimeSpan? {
            switch self {
            case .after(let span): span
            case .never: nil
            }
        }

        public var description: String { timeSpan?.description ?? "never" }

        public init(from decoder: any Decoder) throws {
            self = try decoder.decodeGrammarValue(Self.init(parsing:))
        }

        public func encode(to encoder: any Encoder) throws {
            try encoder.encodeGrammarValue(self)
        }
    }

    /// How long a replica waits for its NotReady node when `rescheduleAfter` is not written.
    public static let defaultRescheduleAfter = Reschedule.after(.minutes(1))

    /// The one node the replicas run on.
    public var node: String?
    /// Labels a node must carry (each `key: value`) to run the replicas; empty: any node.
    public var nodeSelector: [String: String]
    /// Whether replicas go to different nodes; nil: the default (`ServiceSpec.spreadsReplicas`).
    public var spread: Bool?
    /// nil: the default (`ServiceSpec.rescheduleAfter`).
    public var rescheduleAfter: Reschedule?

    public init(node: String? = nil, nodeSelector: [String: String] = [:], spread: Bool? = nil, rescheduleAfter: Reschedule? = nil) {
        self.node = node
        self.nodeSelector = nodeSelector
        self.spread = spread
        self.rescheduleAfter = rescheduleAfter
    }

    /// Whether a node called `name` with `labels` may run the replicas.
    public func admits(name: String, labels: [String: String]) -> Bool {
        if let node { return node == name }
        return NodeIdentity(name: name, labels: labels).matches(nodeSelector)
    }

    static func read(_ map: MapReader) -> PlacementSpec? {
        let node = map.optional("node") { try $0.parse(NodeIdentity.validatedName) }
        let nodeSelector = map.optional("nodeSelector", default: [:]) { try $0.nodeSelector() }
        let spread = map.optional("spread") { try $0.bool() }
        let rescheduleAfter = map.optional("rescheduleAfter") { try $0.parse(Reschedule.init(parsing:)) }
        if map.has("node"), map.has("nodeSelector") {
            map.report("node and nodeSelector both choose where the replicas run: keep node (one node by name) or nodeSelector (nodes by label)", field: "nodeSelector")
            return nil
        }
        return PlacementSpec(node: node, nodeSelector: nodeSelector, spread: spread, rescheduleAfter: rescheduleAfter)
    }

    private enum CodingKeys: String, CodingKey {
        case node, nodeSelector, spread, rescheduleAfter
    }

    public init(from decoder: any Decoder) throws {
        self = try Self.decodeInput(from: decoder, read: Self.read)
    }

    /// Encodes only what was written, so a stored spec reads back with the same defaults.
    public func encode(to encoder: any Encoder) throws {
        var keyed = encoder.container(keyedBy: CodingKeys.self)
        try keyed.encodeIfPresent(node, forKey: .node)
        if !nodeSelector.isEmpty { try keyed.encode(nodeSelector, forKey: .nodeSelector) }
        try keyed.encodeIfPresent(spread, forKey: .spread)
        try keyed.encodeIfPresent(rescheduleAfter, forKey: .rescheduleAfter)
    }
}

extension ServiceSpec {
    /// Whether it mounts a named volume. Volumes live on one node's engine, so by default such
    /// a service keeps its replicas together and never moves them: elsewhere it would start on an
    /// empty volume.
    public var mountsNamedVolume: Bool {
        container.volumes.contains { mount in
            if case .volume = mount.source { return true }
            return false
        }
    }

    /// Whether its replicas go to different nodes: `placement.spread`, else true unless it
    /// mounts a named volume.
    public var spreadsReplicas: Bool {
        placement?.spread ?? !mountsNamedVolume
    }

    /// How long a replica waits for its NotReady node before it moves: `placement.rescheduleAfter`,
    /// else `never` for a service that mounts a named volume, else one minute.
    public var rescheduleAfter: PlacementSpec.Reschedule {
        placement?.rescheduleAfter ?? (mountsNamedVolume ? .never : PlacementSpec.defaultRescheduleAfter)
    }
}
