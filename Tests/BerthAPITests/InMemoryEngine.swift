import BerthAPI
import BerthCore
import BerthDocker
import Foundation
import Synchronization

/// An engine double for route tests: what it observes, whether it answers, and each container's
/// output are set by the test; nothing is sent anywhere. The API never changes the engine, so
/// every changing call fails.
final class InMemoryEngine: APIRuntime {
    private struct State {
        var observed = ObservedState()
        var reachable = true
        var logs: [String: ContainerLogs] = [:]
        var followed: [String: (frames: [LogFrame], then: @Sendable () async -> Void)] = [:]
        var logReads: [String] = []
    }

    private let state = Mutex(State())
    let socketPath: String?

    init(socketPath: String? = nil) {
        self.socketPath = socketPath
    }

    /// Makes the engine answer, or be unreachable.
    func setReachable(_ reachable: Bool) { state.withLock { $0.reachable = reachable } }
    /// What `observe` returns.
    func setObserved(_ observed: ObservedState) { state.withLock { $0.observed = observed } }
    /// A container's output so far.
    func setLogs(_ logs: ContainerLogs, of container: String) { state.withLock { $0.logs[container] = logs } }
    /// The frames a follower of the container gets; after the last, `then` runs (the container
    /// stops) and the stream ends.
    func setFollowed(_ frames: [LogFrame], of container: String, then: @escaping @Sendable () async -> Void = {}) {
        state.withLock { $0.followed[container] = (frames, then) }
    }
    /// The containers whose output was read, in order.
    var logReads: [String] { state.withLock { $0.logReads } }

    private func answering() throws(DockerError) {
        guard state.withLock({ $0.reachable }) else { throw DockerError(.unreachable, "cannot reach the in-memory engine") }
    }

    func ping() async throws(DockerError) -> Bool {
        try answering()
        return true
    }

    func logs(ofContainer name: String, tail: Int?, byteLimit: Int) async throws(DockerError) -> ContainerLogs {
        try answering()
        let logs = state.withLock { state in
            state.logReads.append(name)
            return state.logs[name]
        }
        guard let logs else { throw DockerError(.notFound, "no container \(name)") }
        return logs
    }

    func followLogs(ofContainer name: String, tail: Int?) async throws(DockerError) -> AsyncThrowingStream<LogFrame, any Error> {
        try answering()
        guard let (frames, then) = state.withLock({ $0.followed[name] }) else { throw DockerError(.notFound, "no container \(name)") }
        return AsyncThrowingStream { continuation in
            Task {
                for frame in frames { continuation.yield(frame) }
                await then()
                continuation.finish()
            }
        }
    }

    func observe() async throws(DockerError) -> ObservedState {
        try answering()
        return state.withLock { $0.observed }
    }

    func container(named name: String) async throws(DockerError) -> ObservedContainer? {
        try answering()
        return state.withLock { $0.observed.containers.first { $0.name == name } }
    }

    private func refused(_ what: String) -> DockerError {
        DockerError(.badRequest, "the in-memory engine takes no changes (\(what))")
    }

    func createContainer(_ target: ContainerTarget, environment: [String: String]) async throws(DockerError) -> String { throw refused("create") }
    func startContainer(named name: String) async throws(DockerError) { throw refused("start") }
    func restartContainer(named name: String, grace: TimeSpan) async throws(DockerError) { throw refused("restart") }
    func renameContainer(named name: String, to newName: String) async throws(DockerError) { throw refused("rename") }
    func removeContainer(named name: String, grace: TimeSpan) async throws(DockerError) { throw refused("remove") }
    func createVolume(_ target: VolumeTarget) async throws(DockerError) { throw refused("create volume") }
    func removeVolume(named name: String) async throws(DockerError) { throw refused("remove volume") }
    func createNetwork(_ target: NetworkTarget) async throws(DockerError) { throw refused("create network") }
    func removeNetwork(named name: String) async throws(DockerError) { throw refused("remove network") }
    func connectContainer(named name: String, to endpoint: NetworkEndpoint) async throws(DockerError) { throw refused("connect") }
    func disconnectContainer(named name: String, from network: String) async throws(DockerError) { throw refused("disconnect") }
    func ensureImage(_ image: ImageReference, policy: PullPolicy) async throws(DockerError) { throw refused("pull") }
    func events() -> AsyncThrowingStream<EngineWatchItem, any Error> { AsyncThrowingStream { $0.finish() } }
}
