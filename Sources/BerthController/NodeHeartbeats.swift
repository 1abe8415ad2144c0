import BerthCore
import BerthDocker
import BerthStore
import Foundation
import Logging
import Synchronization

/// What `serve`'s `--node…` flags set: which node this controller is and when a node counts as
/// NotReady.
public struct NodeConfiguration: Sendable {
    public var identity: NodeIdentity
    /// A node whose heartbeat is older than this is NotReady (`--node-timeout`).
    public var notReadyAfter: TimeSpan
    /// How often the heartbeat is written.
    public var interval: Duration
    /// Reported with the heartbeat: the node's job capacity (`--max-concurrent-jobs`).
    public var maxConcurrentJobs: Int

    public init(identity: NodeIdentity, notReadyAfter: TimeSpan = .seconds(30), interval: Duration = .seconds(5), maxConcurrentJobs: Int) {
        self.identity = identity
        self.notReadyAfter = notReadyAfter
        self.interval = interval
        self.maxConcurrentJobs = maxConcurrentJobs
    }
}

/// Registers this controller's node and writes its heartbeat every `interval`, beside the loop
/// (never in its way): the engine's version, CPUs and memory from its `/info`, the jobs running
/// and the replicas the last pass saw running. Each beat is bounded by the interval; one that
/// fails or hangs is logged and the next one tries again. An engine that does not answer means no
/// heartbeat: a node whose engine is down turns NotReady like one whose controller is.
public final class NodeHeartbeats: Sendable {
    private let store: any NodeRegistry
    private let configuration: NodeConfiguration
    private let engineInfo: @Sendable () async throws -> EngineInfo
    private let logger: Logger
    private let runningReplicas = Atomic<Int>(0)

    public init(
        store: any NodeRegistry, configuration: NodeConfiguration, engineInfo: @escaping @Sendable () async throws -> EngineInfo,
        logger: Logger = Logger(label: "berth.nodes")
    ) {
        self.store = store
        self.configuration = configuration
        self.engineInfo = engineInfo
        self.logger = logger
    }

    /// Takes the replicas a pass saw running, for the next heartbeat.
    public func passCompleted(_ statuses: [ResourceStatus]) {
        let running = statuses.reduce(0) { count, status in count + (status.replicas ?? []).filter { $0.state == "running" }.count }
        runningReplicas.store(running, ordering: .relaxed)
    }

    /// Beats until cancelled; `runningJobs` says how many jobs the controller runs now.
    /// `registered` is called after the first heartbeat the store took.
    public func run(runningJobs: @escaping @Sendable () async -> Int, registered onRegistered: @escaping @Sendable () -> Void = {}) async {
        var failures = ConditionLog(logger: logger, occasion: "heartbeat")
        var registered = false
        while !Task.isCancelled {
            do {
                let node = try await withStoreDeadline(configuration.interval) { try await self.beat(runningJobs: await runningJobs()) }
                failures.ended("heartbeat")
                if !registered {
                    registered = true
                    let labels = node.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
                    logger.info("registered as node \(node.name) (\(node.state.rawValue))\(labels.isEmpty ? "" : ", labels \(labels)")")
                    onRegistered()
                }
            } catch {
                failures.holds("heartbeat", "cannot write the heartbeat of node \(configuration.identity.name): \(error)", level: .error)
            }
            try? await Task.sleep(for: configuration.interval)
        }
    }

    private func beat(runningJobs: Int) async throws -> NodeRecord {
        let info = try await engineInfo()
        return try await store.heartbeat(
            NodeHeartbeat(
                node: configuration.identity, engineVersion: info.serverVersion, cpus: info.cpus, memoryBytes: info.memoryBytes, runningJobs: runningJobs,
                runningReplicas: runningReplicas.load(ordering: .relaxed), maxConcurrentJobs: configuration.maxConcurrentJobs,
                notReadyAfter: configuration.notReadyAfter.seconds
            ))
    }
}
