import BerthCore
import Foundation

// The Docker Engine API's own shapes (API 1.41+), as Berth uses them. Field names follow the
// engine's JSON; fields Berth does not use are not modelled and are ignored when decoding.

/// A Docker volume (`GET /volumes`, `/volumes/{name}`).
public struct VolumeDetails: Sendable, Hashable, Decodable {
    public var name: String
    public var driver: String
    public var labels: [String: String]
    public var options: [String: String]
    public var mountpoint: String

    enum CodingKeys: String, CodingKey { case name = "Name", driver = "Driver", labels = "Labels", options = "Options", mountpoint = "Mountpoint" }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        driver = try container.decodeIfPresent(String.self, forKey: .driver) ?? "local"
        labels = try container.decodeIfPresent([String: String].self, forKey: .labels) ?? [:]
        options = try container.decodeIfPresent([String: String].self, forKey: .options) ?? [:]
        mountpoint = try container.decodeIfPresent(String.self, forKey: .mountpoint) ?? ""
    }
}

/// The body of `POST /volumes/create`.
public struct VolumeCreateRequest: Sendable, Hashable, Encodable {
    public var name: String
    public var driver: String
    public var driverOpts: [String: String]
    public var labels: [String: String]

    public init(name: String, driver: String = "local", driverOpts: [String: String] = [:], labels: [String: String] = [:]) {
        self.name = name
        self.driver = driver
        self.driverOpts = driverOpts
        self.labels = labels
    }

    enum CodingKeys: String, CodingKey { case name = "Name", driver = "Driver", driverOpts = "DriverOpts", labels = "Labels" }
}
