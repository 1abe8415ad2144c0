import BerthCore
import Foundation

// The Docker Engine API's own shapes (API 1.41+), as Berth uses them. Field names follow the
// engine's JSON; fields Berth does not use are not modelled and are ignored when decoding.

/// `GET /version`
public struct EngineVersion: Sendable, Hashable, Decodable {
    public var version: String
    public var apiVersion: String
    public var minAPIVersion: String?
    public var os: String?
    public var arch: String?

    enum CodingKeys: String, CodingKey {
        case version = "Version", apiVersion = "ApiVersion", minAPIVersion = "MinAPIVersion", os = "Os", arch = "Arch"
    }
}

/// `GET /info`, the parts Berth reports.
public struct EngineInfo: Sendable, Hashable, Decodable {
    /// The engine's own identity, stable across its restarts (absent from very old engines). Not
    /// unique per engine on one host: engines before 23.0 derive it from `/etc/docker/key.json`,
    /// which every dockerd of the host shares.
    public var id: String?
    /// Where the engine keeps its data: tells apart two engines of one host.
    public var rootDirectory: String?
    public var name: String
    public var serverVersion: String
    public var containers: Int
    public var images: Int
    public var cpus: Int
    public var memoryBytes: Int64
    /// The log driver containers get when their creation names none.
    public var loggingDriver: String?

    enum CodingKeys: String, CodingKey {
        case loggingDriver = "LoggingDriver"
        case id = "ID", rootDirectory = "DockerRootDir", name = "Name", serverVersion = "ServerVersion", containers = "Containers", images = "Images", cpus = "NCPU", memoryBytes = "MemTotal"
    }
}

/// `GET /images/{name}/json`, the parts Berth reads.
public struct ImageDetails: Sendable, Hashable, Decodable {
    public var id: String
    public var repoTags: [String]
    /// What its containers get by default (empty when the engine reports none).
    public var config: ImageConfiguration

    enum CodingKeys: String, CodingKey { case id = "Id", repoTags = "RepoTags", config = "Config" }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        repoTags = try container.decodeIfPresent([String].self, forKey: .repoTags) ?? []
        config = try container.decodeIfPresent(ImageConfiguration.self, forKey: .config) ?? ImageConfiguration()
    }
}

/// One progress line of an image pull.
public struct PullProgress: Sendable, Hashable, Decodable {
    public var status: String?
    public var id: String?
    public var progress: String?
    public var error: String?
}

/// One engine event (`GET /events`).
public struct EngineEvent: Sendable, Hashable, Decodable {
    /// `container`, `volume`, `image`, `network`, …
    public var type: String
    /// `create`, `start`, `die`, `destroy`, `health_status: healthy`, …
    public var action: String
    /// The object's id (or name, for volumes).
    public var actorID: String
    /// The object's labels and a few engine attributes (`name`, `exitCode`, `image`).
    public var attributes: [String: String]
    /// Nanoseconds since 1970: the resume point after a reconnect.
    public var timeNano: Int64

    enum CodingKeys: String, CodingKey { case type = "Type", action = "Action", actor = "Actor", time, timeNano }

    private struct Actor: Decodable {
        var id: String
        var attributes: [String: String]?

        enum CodingKeys: String, CodingKey { case id = "ID", attributes = "Attributes" }
    }

    public init(type: String, action: String, actorID: String, attributes: [String: String], timeNano: Int64) {
        self.type = type
        self.action = action
        self.actorID = actorID
        self.attributes = attributes
        self.timeNano = timeNano
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        type = try container.decode(String.self, forKey: .type)
        action = try container.decode(String.self, forKey: .action)
        let actor = try container.decode(Actor.self, forKey: .actor)
        actorID = actor.id
        attributes = actor.attributes ?? [:]
        if let nano = try container.decodeIfPresent(Int64.self, forKey: .timeNano) {
            timeNano = nano
        } else {
            timeNano = try container.decode(Int64.self, forKey: .time) * 1_000_000_000
        }
    }
}

/// The engine's RFC 3339 timestamps with nanoseconds; `0001-01-01T00:00:00Z` means "never".
enum EngineTime {
    static func parse(_ text: String?) -> Date? {
        guard let text, !text.hasPrefix("0001-01-01") else { return nil }
        var base = text
        var fraction = 0.0
        if let dot = text.firstIndex(of: ".") {
            let digitsEnd = text[dot...].firstIndex { !$0.isNumber && $0 != "." } ?? text.endIndex
            fraction = Double("0" + text[dot..<digitsEnd]) ?? 0
            base = String(text[..<dot]) + String(text[digitsEnd...])
        }
        return (try? style.parse(base)).map { $0.addingTimeInterval(fraction) }
    }

    /// Made once: a formatter per parse was a twentieth of a busy node's controller CPU.
    private static let style = Date.ISO8601FormatStyle()
}
