import BerthDocker
import BerthHTTP
import Foundation

/// The engine as the API uses it: plans observe it (``ContainerRuntime``), the job routes read a
/// job container's output from it, `/readyz` asks whether it answers. `DockerEngine` is the real
/// one; route tests use an in-memory double and need no Docker engine.
public protocol APIRuntime: ContainerRuntime {
    /// Whether the engine answers; throws when it cannot be reached.
    func ping() async throws(DockerError) -> Bool
    /// A container's output so far: the last `tail` lines of each stream (nil: all), at most
    /// `byteLimit` bytes.
    func logs(ofContainer name: String, tail: Int?, byteLimit: Int) async throws(DockerError) -> ContainerLogs
    /// A container's output as it is written (after the last `tail` lines), until it stops.
    func followLogs(ofContainer name: String, tail: Int?) async throws(DockerError) -> AsyncThrowingStream<LogFrame, any Error>
    /// The engine's socket on this host, which no API writer may mount; nil when it is reached over TCP.
    var socketPath: String? { get }
}

extension DockerEngine: APIRuntime {
    public func ping() async throws(DockerError) -> Bool {
        try await client.ping()
    }

    public func logs(ofContainer name: String, tail: Int?, byteLimit: Int) async throws(DockerError) -> ContainerLogs {
        try await client.logs(name, tail: tail, byteLimit: byteLimit)
    }

    public func followLogs(ofContainer name: String, tail: Int?) async throws(DockerError) -> AsyncThrowingStream<LogFrame, any Error> {
        try await client.followLogs(name, tail: tail)
    }

    public var socketPath: String? {
        guard case .unixSocket(let path) = client.endpoint.connection else { return nil }
        return path
    }
}
