import BerthCore
import Foundation

// The Docker Engine API's own shapes (API 1.41+), as Berth uses them. Field names follow the
// engine's JSON; fields Berth does not use are not modelled and are ignored when decoding.

/// A Docker network (`GET /networks`), the parts Berth reads.
public struct NetworkDetails: Sendable, Hashable, Decodable {
    public var id: String
    public var name: String
    public var driver: String
    public var `internal`: Bool
    public var enableIPv6: Bool
    public var subnets: [String]
    public var labels: [String: String]
    /// Its endpoints, by the key the engine lists them under: a container's id, or `ep-…` for an
    /// endpoint whose container is gone.
    public var endpoints: [String: Endpoint]

    /// One endpoint on the network: the name of the container it was made for.
    public struct Endpoint: Sendable, Hashable, Decodable {
        public var name: String
        enum CodingKeys: String, CodingKey { case name = "Name" }
    }

    private struct IPAM: Decodable {
        var config: [Pool]?
        enum CodingKeys: String, CodingKey { case config = "Config" }
    }

    private struct Pool: Decodable {
        var subnet: String?
        enum CodingKeys: String, CodingKey { case subnet = "Subnet" }
    }

    enum CodingKeys: String, CodingKey {
        case id = "Id", name = "Name", driver = "Driver", `internal` = "Internal", enableIPv6 = "EnableIPv6", ipam = "IPAM", labels = "Labels", endpoints = "Containers"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        name = try container.decode(String.self, forKey: .name)
        driver = try container.decodeIfPresent(String.self, forKey: .driver) ?? ""
        self.internal = try container.decodeIfPresent(Bool.self, forKey: .internal) ?? false
        enableIPv6 = try container.decodeIfPresent(Bool.self, forKey: .enableIPv6) ?? false
        subnets = (try container.decodeIfPresent(IPAM.self, forKey: .ipam)?.config ?? []).compactMap(\.subnet)
        labels = try container.decodeIfPresent([String: String].self, forKey: .labels) ?? [:]
        endpoints = try container.decodeIfPresent([String: Endpoint].self, forKey: .endpoints) ?? [:]
    }
}

/// The body of `POST /networks/create`.
public struct NetworkCreateRequest: Sendable, Hashable, Encodable {
    public var name: String
    public var driver: String
    public var `internal`: Bool
    public var enableIPv6: Bool
    public var ipam: IPAM?
    public var options: [String: String]
    public var labels: [String: String]
    /// Refuse a second network of the same name (the engine allows duplicates otherwise).
    public var checkDuplicate = true

    /// Address management: one pool.
    public struct IPAM: Sendable, Hashable, Encodable {
        public var config: [Pool]
        enum CodingKeys: String, CodingKey { case config = "Config" }
    }

    public struct Pool: Sendable, Hashable, Encodable {
        public var subnet: String
        public var gateway: String?
        enum CodingKeys: String, CodingKey { case subnet = "Subnet", gateway = "Gateway" }
    }

    public init(_ target: NetworkTarget) {
        name = target.name
        driver = target.spec.driver
        self.internal = target.spec.internal
        enableIPv6 = target.spec.enableIPv6
        ipam = target.spec.ipam.map { IPAM(config: [Pool(subnet: $0.subnet, gateway: $0.gateway)]) }
        options = target.spec.options
        labels = target.labels
    }

    enum CodingKeys: String, CodingKey {
        case name = "Name", driver = "Driver", `internal` = "Internal", enableIPv6 = "EnableIPv6", ipam = "IPAM"
        case options = "Options", labels = "Labels", checkDuplicate = "CheckDuplicate"
    }
}

/// The body of `POST /networks/{id}/connect`.
public struct NetworkConnectRequest: Sendable, Hashable, Encodable {
    public var container: String
    public var endpointConfig: ContainerCreateRequest.EndpointSettings

    public init(container: String, endpointConfig: ContainerCreateRequest.EndpointSettings) {
        self.container = container
        self.endpointConfig = endpointConfig
    }

    enum CodingKeys: String, CodingKey { case container = "Container", endpointConfig = "EndpointConfig" }
}

/// The body of `POST /networks/{id}/disconnect`.
public struct NetworkDisconnectRequest: Sendable, Hashable, Encodable {
    public var container: String
    public var force: Bool

    public init(container: String, force: Bool = true) {
        self.container = container
        self.force = force
    }

    enum CodingKeys: String, CodingKey { case container = "Container", force = "Force" }
}
