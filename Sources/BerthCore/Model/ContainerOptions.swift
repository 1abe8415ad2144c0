/// Engine options of a container that compose files commonly set; each one left out keeps the
/// engine's default. Read from, and encoded into, the same flat spec as ``ContainerSpec``.
public struct ContainerOptions: Sendable, Hashable, Codable {
    public init() {}

    /// Reads the option fields of a Service or Job spec mapping.
    static func read(_ map: MapReader) -> ContainerOptions {
        ContainerOptions()
    }

    public init(from decoder: any Decoder) throws {
        self.init()
    }

    /// Encodes only the options that are set, into the container's own keyed container.
    public func encode(to encoder: any Encoder) throws {}
}
