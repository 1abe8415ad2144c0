import BerthCore
import Foundation

/// Everything needed to create the worker container of one job attempt.
public struct JobContainerTarget: Sendable, Hashable {
    /// `berth-<project>-job-<id>`: one name per job, so a repeated create after a crash is adopted.
    public var name: String
    public var jobID: String
    public var attempt: Int
    public var spec: JobSpec
    /// The design's labels plus `berth.job` and `berth.attempt`.
    public var labels: [String: String]
    /// Docker volume names for the spec's `volume:` mounts, by mount index.
    public var volumeNames: [Int: String]
    /// The job's own scratch volume and where it is mounted.
    public var scratchVolume: String
    public var scratchPath: String
    /// The networks it joins, as the engine names them.
    public var endpoints: [NetworkEndpoint]
    /// The networks Berth creates first when they do not exist yet (a project's default network
    /// before any service of the project made it).
    public var networks: [NetworkTarget]

    public init(
        name: String, jobID: String, attempt: Int, spec: JobSpec, labels: [String: String], volumeNames: [Int: String],
        scratchVolume: String, scratchPath: String, endpoints: [NetworkEndpoint] = [], networks: [NetworkTarget] = []
    ) {
        self.name = name
        self.jobID = jobID
        self.attempt = attempt
        self.spec = spec
        self.labels = labels
        self.volumeNames = volumeNames
        self.scratchVolume = scratchVolume
        self.scratchPath = scratchPath
        self.endpoints = endpoints
        self.networks = networks
    }
}

/// A job's container as the runner sees it.
public struct JobContainer: Sendable, Hashable {
    public var id: String
    public var name: String
    public var labels: [String: String]
    public var state: ObservedContainer.State
    public var exitCode: Int
    public var oomKilled: Bool
    public var startedAt: Date?
    public var finishedAt: Date?

    public init(
        id: String, name: String, labels: [String: String], state: ObservedContainer.State, exitCode: Int = 0, oomKilled: Bool = false,
        startedAt: Date? = nil, finishedAt: Date? = nil
    ) {
        self.id = id
        self.name = name
        self.labels = labels
        self.state = state
        self.exitCode = exitCode
        self.oomKilled = oomKilled
        self.startedAt = startedAt
        self.finishedAt = finishedAt
    }

    public var jobID: String? { labels[LabelKey.job] }
    public var attempt: Int? { labels[LabelKey.attempt].flatMap { Int($0) } }
}

/// The engine as the job runner needs it: worker containers, their output, their scratch volumes.
/// Every call is idempotent where a crash could make it repeat. `DockerEngine` implements it.
public protocol JobRuntime: Sendable {
    /// The engine's identity (from `/info`), recorded with each claim: a controller that lost a
    /// claim leaves the container alone when the new holder runs on the same engine.
    func engineID() async throws(DockerError) -> String
    func jobContainer(named name: String) async throws(DockerError) -> JobContainer?
    /// Berth's job containers and scratch volumes on this engine, for the janitor.
    func jobObjects() async throws(DockerError) -> (containers: [JobContainer], volumes: [String: [String: String]])
    /// Creates the scratch volume (an existing one is fine) and the container; a container of the
    /// same job and attempt that exists already is adopted.
    func createJobContainer(_ target: JobContainerTarget, environment: [String: String]) async throws(DockerError) -> String
    func startContainer(named name: String) async throws(DockerError)
    /// Waits until the container is not running; returns its exit code.
    func waitForExit(named name: String) async throws(DockerError) -> Int
    /// Stops with the container's stop signal, then kills after `grace`; a stopped one is fine.
    func stopContainer(named name: String, grace: TimeSpan) async throws(DockerError)
    /// Removes the container (killing it if it runs); a missing one is fine.
    func removeContainer(named name: String, grace: TimeSpan) async throws(DockerError)
    func removeVolume(named name: String) async throws(DockerError)
    /// The last `bytes` of standard output and error.
    func logTails(named name: String, bytes: Int) async throws(DockerError) -> (stdout: String, stderr: String)
    func readFile(named name: String, path: String, limit: Int) async throws(DockerError) -> BoundedFile?
    /// The container's whole output so far, frame by frame (a job's archived output).
    func allLogFrames(named name: String) async throws(DockerError) -> AsyncThrowingStream<LogFrame, any Error>
    func ensureImage(_ image: ImageReference, policy: PullPolicy) async throws(DockerError)
    /// Whether the engine announced an OOM kill of the container since `since` (its `oom` event).
    func announcedOutOfMemory(named name: String, since: Date) async throws(DockerError) -> Bool

    // JobTemplate submissions.
    /// Writes a job's input files into its created container (before it starts), making the
    /// folders that do not exist; folders that exist are left as they are.
    func writeInputFiles(named name: String, files: [JobInputFile]) async throws(DockerError)
}

extension JobRuntime {
    /// Runtimes without an event history rely on the container's own OOM flag.
    public func announcedOutOfMemory(named name: String, since: Date) async throws(DockerError) -> Bool { false }
}

extension DockerEngine: JobRuntime {
    /// `/info`'s `ID` and data root (`ID@/var/lib/docker`): engines before 23.0 share one ID
    /// between the dockerds of a host, which their data roots tell apart. Read once, then
    /// remembered (neither changes while the engine runs).
    public func engineID() async throws(DockerError) -> String {
        if let known = identity.value { return known }
        let info = try await client.info()
        guard let id = info.id, !id.isEmpty else { throw DockerError(.decoding, "the engine's /info has no ID: Berth needs an engine that reports one to claim jobs") }
        let engine = info.rootDirectory.map { "\(id)@\($0)" } ?? id
        identity.remember(engine)
        return engine
    }

    public func jobContainer(named name: String) async throws(DockerError) -> JobContainer? {
        do {
            return JobContainer(try await client.inspectContainer(name))
        } catch  where error.code == .notFound {
            return nil
        }
    }

    public func jobObjects() async throws(DockerError) -> (containers: [JobContainer], volumes: [String: [String: String]]) {
        let label = "\(LabelKey.kind)=\(ObjectKind.job.rawValue)"
        var containers: [JobContainer] = []
        for summary in try await client.listContainers(labels: ["\(LabelKey.managed)=true", label]) {
            if let container = try await jobContainer(named: summary.id) { containers.append(container) }
        }
        var volumes: [String: [String: String]] = [:]
        for volume in try await client.listVolumes(labels: ["\(LabelKey.managed)=true", label]) {
            volumes[volume.name] = volume.labels
        }
        return (containers, volumes)
    }

    public func createJobContainer(_ target: JobContainerTarget, environment: [String: String]) async throws(DockerError) -> String {
        try await checkVolumesBelongToTheJob(target)
        var volumeLabels = target.labels
        volumeLabels[LabelKey.attempt] = nil
        _ = try await client.createVolume(VolumeCreateRequest(name: target.scratchVolume, labels: volumeLabels))
        for network in target.networks {
            try await ensureNetwork(network)
        }
        let request = ContainerCreateRequest(
            target.spec.container, labels: target.labels, volumeNames: target.volumeNames, environment: environment,
            endpoints: target.endpoints,
            extraMounts: [ContainerCreateRequest.MountSpec(type: "volume", source: target.scratchVolume, target: target.scratchPath, readOnly: false)]
        )
        let id: String
        do {
            id = try await client.createContainer(name: target.name, request)
        } catch  where error.code == .conflict {
            let existing = try await client.inspectContainer(target.name)
            guard existing.labels[LabelKey.job] == target.jobID, existing.labels[LabelKey.attempt] == String(target.attempt) else {
                throw DockerError(.conflict, "container name \(target.name) is taken by a container that is not attempt \(target.attempt) of job \(target.jobID); remove it", status: 409)
            }
            id = existing.id
        }
        try await connectRemaining(target.name, target.endpoints)
        return id
    }

    /// Creates a network a job joins when it is missing; one that exists is used as it is (the
    /// controller's plan recreates a drifted one).
    private func ensureNetwork(_ target: NetworkTarget) async throws(DockerError) {
        do {
            try await client.createNetwork(NetworkCreateRequest(target))
        } catch  where error.code == .conflict {
            return
        }
    }

    /// A job mounts only volumes of its own project: Docker names join project and name with
    /// `-`, so `prod-db` of project `shop` is named like `db` of project `shop-prod`, and the engine
    /// would make a missing one on the spot. Each must exist, and one Berth made (labelled) must
    /// carry the job's project and the volume's name; an unlabelled one is a volume the desired
    /// state adopted as it is (validation refuses two declared volumes with one Docker name).
    private func checkVolumesBelongToTheJob(_ target: JobContainerTarget) async throws(DockerError) {
        let project = target.labels[LabelKey.project] ?? ""
        for (index, dockerName) in target.volumeNames.sorted(by: { $0.key < $1.key }) {
            guard index < target.spec.container.volumes.count, case .volume(let name) = target.spec.container.volumes[index].source else { continue }
            let labels: [String: String]
            do {
                labels = try await client.inspectVolume(dockerName).labels
            } catch  where error.code == .notFound {
                throw DockerError(
                    .badRequest, "volume \(name) of project \(project) (\(dockerName)) does not exist yet; the controller creates it once a Volume \(name) is declared in project \(project)")
            }
            guard labels[LabelKey.managed] != "true" || labels[LabelKey.project] == project && labels[LabelKey.name] == name else {
                let owner = "project \(labels[LabelKey.project] ?? "?")'s volume \(labels[LabelKey.name] ?? "?")"
                throw DockerError(.badRequest, "volume \(dockerName) is \(owner), not volume \(name) of project \(project); a job mounts only its own project's volumes")
            }
        }
    }

    public func waitForExit(named name: String) async throws(DockerError) -> Int {
        try await client.waitContainer(name)
    }

    public func stopContainer(named name: String, grace: TimeSpan) async throws(DockerError) {
        do {
            try await client.stopContainer(name, timeout: grace.wholeSeconds)
        } catch  where error.code == .notModified || error.code == .notFound {
            return
        }
    }

    public func allLogFrames(named name: String) async throws(DockerError) -> AsyncThrowingStream<LogFrame, any Error> {
        try await client.allLogFrames(name)
    }

    public func logTails(named name: String, bytes: Int) async throws(DockerError) -> (stdout: String, stderr: String) {
        // The engine tails by lines of both streams together, not by bytes of each: ask for a few
        // lines, and four times as many while a stream holds fewer bytes than wanted and the log
        // has more, until 64 times the tail has been read (a stream silent for that long keeps
        // what was found). Short lines then still fill the tail.
        var lines = max(100, bytes / 20)
        while true {
            let logs = try await client.logs(name, tail: lines)
            // Fewer lines than asked for: the whole log. (The engine keeps a line over 16 KiB as
            // parts without newlines, counted here as one: such a log may end the search early.)
            let whole = Self.lineCount(logs.stdout) + Self.lineCount(logs.stderr) < lines
            let filled = logs.stdout.count >= bytes && logs.stderr.count >= bytes
            if whole || filled || logs.stdout.count + logs.stderr.count >= 64 * bytes {
                func tail(_ data: [UInt8]) -> String { String(decoding: data.suffix(bytes), as: UTF8.self) }
                return (tail(logs.stdout), tail(logs.stderr))
            }
            lines *= 4
        }
    }

    /// Log lines in `data`: its newlines, and a last line without one.
    private static func lineCount(_ data: [UInt8]) -> Int {
        data.lazy.filter { $0 == UInt8(ascii: "\n") }.count + (data.last.map { $0 == UInt8(ascii: "\n") ? 0 : 1 } ?? 0)
    }

    public func readFile(named name: String, path: String, limit: Int) async throws(DockerError) -> BoundedFile? {
        try await client.readFile(name, path: path, limit: limit)
    }

    public func announcedOutOfMemory(named name: String, since: Date) async throws(DockerError) -> Bool {
        let events = try await client.pastEvents(filters: ["type": ["container"], "container": [name], "event": ["oom"]], since: since, until: Date())
        return events.contains { $0.action == "oom" }
    }
}

extension JobContainer {
    init(_ details: ContainerDetails) {
        self.init(
            id: details.id, name: details.name, labels: details.labels,
            state: ObservedContainer.State(rawValue: details.state.status) ?? .dead, exitCode: details.state.exitCode,
            oomKilled: details.state.oomKilled, startedAt: details.state.startedAt, finishedAt: details.state.finishedAt
        )
    }
}
