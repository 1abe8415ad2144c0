import Foundation

/// A container Berth did not create (a compose project's), recorded as the current instance of a
/// service replica: observed as that replica, with the spec read back from the engine, until a
/// plan replaces or removes it (docs/compose.md, "Adoption").
public struct Adoption: Sendable, Hashable, Codable {
    /// The engine's container id: the record follows the container, not its name.
    public var containerID: String
    public var containerName: String
    /// The Service (kind `.service`) whose replica the container is.
    public var service: ResourceID
    public var replica: Int
    public var adoptedAt: Date

    public init(containerID: String, containerName: String, service: ResourceID, replica: Int, adoptedAt: Date) {
        self.containerID = containerID
        self.containerName = containerName
        self.service = service
        self.replica = replica
        self.adoptedAt = adoptedAt
    }

    /// The labels an adopted container is observed with, as if Berth had created it (no spec hash).
    public var observedLabels: [String: String] {
        [
            LabelKey.project: service.project, LabelKey.kind: ObjectKind.service.rawValue,
            LabelKey.name: service.name, LabelKey.replica: String(replica),
        ]
    }
}
