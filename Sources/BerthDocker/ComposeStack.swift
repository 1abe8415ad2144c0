import BerthCore
import Foundation

/// What a compose project runs on an engine, found by compose's labels: the containers (each its
/// service and replica), named volumes and networks. `berth import compose --adopt` maps the
/// compose service names to Berth services and records the containers as adopted replicas
/// (`AdoptionStore.recordAdoptions`); the volumes and networks become `external` resources under
/// their engine names.
public struct ComposeStack: Sendable, Hashable {
    /// One container of a compose service.
    public struct Container: Sendable, Hashable {
        public var id: String
        public var name: String
        /// The compose service name (`com.docker.compose.service`).
        public var service: String
        /// Compose's container number minus one: Berth's replica index.
        public var replica: Int
        /// `running`, `exited`, …
        public var state: String

        /// The adoption of this container as replica ``replica`` of `service`, a Berth service.
        public func adoption(as service: ResourceID, at time: Date) -> Adoption {
            Adoption(containerID: id, containerName: name, service: service, replica: replica, adoptedAt: time)
        }
    }

    /// A named volume or network of the project: the engine's name and the compose file's.
    public struct Object: Sendable, Hashable {
        /// The engine's name (`<project>_<name>` unless the compose file named it).
        public var name: String
        /// The name in the compose file (`com.docker.compose.volume` / `.network`).
        public var composeName: String
    }

    public var project: String
    /// Sorted by service, then replica.
    public var containers: [Container]
    /// Sorted by compose name.
    public var volumes: [Object]
    /// Sorted by compose name.
    public var networks: [Object]

    /// The stack of compose project `project` on `client`'s engine. A container without a
    /// service or a container number (a `docker-compose run` one-off) is left out.
    public static func find(project: String, on client: DockerClient) async throws(DockerError) -> ComposeStack {
        let filter = ["\(ComposeLabel.project)=\(project)"]
        let summaries = try await client.listContainers(labels: filter)
        let volumes = try await client.listVolumes(labels: filter)
        let networks = try await client.listNetworks().filter { $0.labels[ComposeLabel.project] == project }
        let containers = summaries.compactMap { summary -> Container? in
            guard summary.labels["com.docker.compose.oneoff"] != "True", let service = summary.labels[ComposeLabel.service],
                let number = summary.labels[ComposeLabel.containerNumber].flatMap({ Int($0) }), number >= 1
            else { return nil }
            return Container(id: summary.id, name: summary.name, service: service, replica: number - 1, state: summary.state)
        }
        return ComposeStack(
            project: project,
            containers: containers.sorted { ($0.service, $0.replica) < ($1.service, $1.replica) },
            volumes: volumes.compactMap { volume in volume.labels[ComposeLabel.volume].map { Object(name: volume.name, composeName: $0) } }
                .sorted { $0.composeName < $1.composeName },
            networks: networks.compactMap { network in network.labels[ComposeLabel.network].map { Object(name: network.name, composeName: $0) } }
                .sorted { $0.composeName < $1.composeName }
        )
    }
}

/// The labels docker-compose (1.x and 2.x) puts on what it creates.
public enum ComposeLabel {
    /// Every compose label starts with it.
    public static let prefix = "com.docker.compose."
    public static let project = "com.docker.compose.project"
    public static let service = "com.docker.compose.service"
    /// The container's number within its service, from 1.
    public static let containerNumber = "com.docker.compose.container-number"
    /// A volume's name in the compose file.
    public static let volume = "com.docker.compose.volume"
    /// A network's name in the compose file.
    public static let network = "com.docker.compose.network"
}
