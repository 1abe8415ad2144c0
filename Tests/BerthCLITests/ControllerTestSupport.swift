import Foundation
import Testing

/// The private engine and PostgreSQL that scripts/test started; a test that needs them fails
/// (never skips) without them.
enum TestServices {
    static func value(_ name: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
            throw BerthProcess.SetupError("\(name) is not set: run the tests through scripts/test, which starts a private dockerd and PostgreSQL")
        }
        return value
    }

    static func dockerHost() throws -> String { try value("BERTH_TEST_DOCKER_HOST") }
    static func image() throws -> String { try value("BERTH_TEST_IMAGE") }
    static func postgresURL() throws -> String { try value("BERTH_TEST_POSTGRES_URL") }

    /// moto's S3 server as `berth` reads it: endpoint and the allowed user's key.
    static func objectStorageEnvironment() throws -> [String: String] {
        [
            "BERTH_S3_ENDPOINT": try value("BERTH_TEST_S3_ENDPOINT"),
            "AWS_ACCESS_KEY_ID": try value("BERTH_TEST_S3_ACCESS_KEY"),
            "AWS_SECRET_ACCESS_KEY": try value("BERTH_TEST_S3_SECRET_KEY"),
        ]
    }
}

/// Which store a controller test runs on.
enum StoreChoice: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String { rawValue }
}

/// One end-to-end scenario: a project of its own, a manifest folder, a store, the private engine,
/// and every `berth` and `docker` call a user would make. `finish()` removes what it made.
final class Scenario: @unchecked Sendable {
    let project: String
    let folder: URL
    let manifests: URL
    let image: String
    let dockerHost: String
    private let store: StoreChoice
    private var database: String?
    /// Variables every `berth` call of this scenario gets besides the engine and store (object storage).
    var extraEnvironment: [String: String] = [:]
    private var serve: ChildProcess?
    /// The other serves (`startAnotherServe`), by log file name.
    private var others: [String: ChildProcess] = [:]
    /// Every long-running child (`docker events` captures, followers): ended by `finish()` at the latest.
    private var children: [ChildProcess] = []
    /// Docker commands `finish()` runs last, after serve stopped (`dockerAtFinish(_:)`).
    private var finalDockerCommands: [[String]] = []
    /// When set, every `berth` call works through this API (`BERTH_SERVER`, `BERTH_TOKEN`).
    var server: (url: String, token: String)?

    /// `dockerHost`: another engine than the private one, e.g. `NetnsEngine().dockerHost` for
    /// bridge networks.
    init(_ store: StoreChoice = .sqlite, dockerHost: String? = nil) async throws {
        project = "e2e" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(10)
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("berth-e2e-\(project)")
        manifests = folder.appendingPathComponent("manifests")
        image = try TestServices.image()
        self.dockerHost = try dockerHost ?? TestServices.dockerHost()
        self.store = store
        await Self.slots.acquire()
        do {
            try FileManager.default.createDirectory(at: manifests, withIntermediateDirectories: true)
            if store == .postgres {
                let name = "berth_\(project)"
                try await psql("CREATE DATABASE \(name)")
                database = name
            }
        } catch {
            Self.slots.release()
            throw error
        }
    }

    /// At most this many scenarios (each a `serve`, its containers and CLI calls) run at once: on
    /// a two-core machine more only make every one of them late.
    static let slots = ScenarioSlots(count: 3)

    /// What every `berth` call gets: the private engine and this scenario's store.
    var environment: [String: String] {
        var environment = ["DOCKER_HOST": dockerHost, "BERTH_STATE_DIR": folder.appendingPathComponent("state").path]
        if let database, let url = try? TestServices.postgresURL(), var components = URLComponents(string: url) {
            components.path = "/\(database)"
            environment["BERTH_DATABASE_URL"] = components.string
        }
        if let server {
            environment["BERTH_SERVER"] = server.url
            environment["BERTH_TOKEN"] = server.token
        }
        return environment.merging(extraEnvironment) { _, extra in extra }
    }

    /// Writes `manifests/<file>` (replacing it), after a document declaring this project unless
    /// `yaml` declares it itself.
    func write(_ yaml: String, to file: String = "project.yaml", declaringProject: Bool = true) throws {
        let project = declaringProject ? "apiVersion: berth/v1\nkind: Project\nmetadata: {name: \(project)}\n---\n" : ""
        try (project + yaml).write(to: manifests.appendingPathComponent(file), atomically: true, encoding: .utf8)
    }

    /// Runs `berth arguments…` with this scenario's environment (bounded: `BerthProcess.defaultTimeout`).
    func berth(_ arguments: String...) async throws -> CommandResult {
        try await BerthProcess.run(arguments, environment: environment)
    }

    func berth(_ arguments: [String]) async throws -> CommandResult {
        try await BerthProcess.run(arguments, environment: environment)
    }

    /// Container name of a replica of this project's service.
    func container(_ service: String, _ replica: Int = 0) -> String {
        "berth-\(project)-\(service)-\(replica)"
    }

    // MARK: serve

    /// Starts `berth serve` on the manifest folder in the background; `resync` bounds how long a
    /// missed wake-up can hide (tests of event-driven behaviour make it long).
    func startServe(_ extra: [String] = [], resync: String = "2s") throws {
        serve = try launchServe(extra, resync: resync, log: "serve.log")
    }

    /// Starts one more `berth serve` (another role, say) logging to `log`; `finish()` stops it.
    /// `environment` adds to this scenario's (another engine's `DOCKER_HOST`, say).
    func startAnotherServe(_ extra: [String], log: String, environment added: [String: String] = [:]) throws {
        others[log] = try launchServe(extra, resync: "2s", log: log, environment: added)
    }

    /// The process id of the serve logging to `log` (the first serve's by default), while it runs.
    func servePID(_ log: String = "serve.log") -> pid_t? {
        (log == "serve.log" ? serve : others[log])?.pid
    }

    private func launchServe(_ extra: [String], resync: String, log name: String, environment added: [String: String] = [:]) throws -> ChildProcess {
        // Port 0: every scenario's API gets a free port of its own (see `apiURL()`).
        let listen = extra.contains("--listen") ? [] : ["--listen", "127.0.0.1:0"]
        // A git source replaces the manifest folder.
        let manifests = extra.contains("--git-url") ? [] : ["-f", self.manifests.path]
        let arguments = ["serve"] + manifests + ["--resync", resync, "--restart-backoff", "1s"] + listen + extra
        let log = folder.appendingPathComponent(name).path
        return try ChildProcess(
            [try BerthProcess.executable().path] + arguments, environment: BerthProcess.childEnvironment(environment.merging(added) { _, new in new }),
            directory: folder.path, stdout: log, stderr: log, append: true)
    }

    /// Starts a long-running child (a follower, say) in this scenario's folder with its
    /// environment; `finish()` kills it if it still runs.
    func launch(_ argv: [String], stdout: URL, stderr: URL? = nil) throws -> ChildProcess {
        let child = try ChildProcess(
            argv, environment: BerthProcess.childEnvironment(environment), directory: folder.path, stdout: stdout.path, stderr: (stderr ?? stdout).path)
        children.append(child)
        return child
    }

    /// What `berth serve` logged so far (`log`: another serve's file).
    func serveLog(_ log: String = "serve.log") -> String {
        (try? String(contentsOf: folder.appendingPathComponent(log), encoding: .utf8)) ?? ""
    }

    var serveLog: String { serveLog() }

    /// The URL a serve's API listens on, once it logged it.
    func apiURL(log: String = "serve.log") async throws -> String {
        var url = ""
        try await eventually(30, "serve's API listens") {
            guard let line = serveLog(log).split(separator: "\n").first(where: { $0.contains("API listening on ") }),
                let range = line.range(of: "API listening on ")
            else { return false }
            url = String(line[range.upperBound...]).trimmingCharacters(in: .whitespaces)
            return true
        }
        return url
    }

    /// Whether the serve process this scenario started has ended (on its own, or crashed).
    var serveHasExited: Bool { serve?.hasExited ?? true }

    /// Ends the serve process this scenario started: SIGTERM (graceful, SIGKILL after 30 s) or SIGKILL.
    func stopServe(kill: Bool = false) async {
        guard let serve else { return }
        await serve.stop(kill ? SIGKILL : SIGTERM)
        self.serve = nil
    }

    /// Ends the serve started with `startAnotherServe(_:log:)` that logs to `log`, as `stopServe` does.
    func stopAnotherServe(log: String, kill: Bool = false) async {
        guard let other = others.removeValue(forKey: log) else { return }
        await other.stop(kill ? SIGKILL : SIGTERM)
    }

    // MARK: engine

    /// Follows `docker events` (the engine keeps only a short backlog) into a file until `stop()`;
    /// each line is `format` applied to one event.
    ///
    /// Whether the stream is live is never guessed from a head start: a marker container that
    /// matches `filters` (its labels those the filters ask for) is run at the start and again at
    /// `stop()`, and the capture waits until the stream has shown it. Marker lines are left out.
    final class EventCapture: Sendable {
        private let process: ChildProcess
        private let file: URL
        private let scenario: Scenario
        private let filters: [String]
        /// Names a marker container; the first column of each captured line is the container's name.
        private let markerPrefix = "berth-marker-\(UUID().uuidString.prefix(8).lowercased())"

        init(_ scenario: Scenario, filters: [String], format: String) async throws {
            self.scenario = scenario
            self.filters = filters
            file = scenario.folder.appendingPathComponent("events-\(UUID().uuidString)")
            // From now on, whenever the stream connects: a marker run before it did is replayed.
            let since = String(format: "%.3f", Date().timeIntervalSince1970)
            let arguments =
                ["-H", scenario.dockerHost, "events", "--since", since, "--format", "{{.Actor.Attributes.name}}\t" + format] + filters.flatMap { ["--filter", $0] }
            process = try scenario.launch(["/usr/bin/docker"] + arguments, stdout: file, stderr: scenario.folder.appendingPathComponent("events-errors.log"))
            try await mark("start")
        }

        /// Runs a marker container that the filters let through and waits until the stream shows it.
        private func mark(_ step: String) async throws {
            let name = "\(markerPrefix)-\(step)"
            let labels = filters.compactMap { $0.hasPrefix("label=") ? ["--label", String($0.dropFirst("label=".count))] : nil }.flatMap { $0 }
            try await scenario.docker(["run", "--rm", "--name", name, "--network", "none"] + labels + [scenario.image, "true"])
            try await scenario.eventually(60, "docker events shows the marker container \(name)") {
                (try String(contentsOf: file, encoding: .utf8)).contains(name + "\t")
            }
        }

        /// Ends the capture once it has shown everything before this call; returns its lines.
        func stop() async throws -> [String] {
            try await mark("stop")
            await process.stop(SIGKILL)
            return try String(contentsOf: file, encoding: .utf8).split(separator: "\n").compactMap { line in
                let columns = line.split(separator: "\t", maxSplits: 1, omittingEmptySubsequences: false)
                guard columns.count == 2, !columns[0].hasPrefix(markerPrefix) else { return nil }
                return String(columns[1])
            }
        }
    }

    /// Runs the docker CLI against the private engine; returns standard output, trimmed.
    @discardableResult
    func docker(_ arguments: String...) async throws -> String {
        try await docker(arguments)
    }

    /// Runs the docker CLI against the private engine; returns standard output, trimmed.
    @discardableResult
    func docker(_ arguments: [String]) async throws -> String {
        try await Scenario.run("/usr/bin/docker", ["-H", dockerHost] + arguments)
    }

    /// Runs the docker CLI with `arguments` at the end of `finish()`, once serve stopped and this
    /// project's objects are gone: for what a test made outside the project (best effort).
    func dockerAtFinish(_ arguments: String...) {
        finalDockerCommands.append(arguments)
    }

    /// A field of `docker inspect`, or nil when the container does not exist.
    func inspect(_ name: String, _ format: String) async -> String? {
        try? await docker("inspect", "-f", format, name)
    }

    /// The ids of a service's replicas 0..<replicas ("" for one that does not exist).
    func containerIDs(_ service: String, replicas: Int) async -> Set<String> {
        var ids: Set<String> = []
        for replica in 0..<replicas { ids.insert(await inspect(container(service, replica), "{{.Id}}") ?? "") }
        return ids
    }

    /// Names of this project's containers (with Berth's label), sorted.
    func containers() async throws -> [String] {
        try await docker("ps", "-a", "--filter", "label=berth.project=\(project)", "--format", "{{.Names}}")
            .split(separator: "\n").map(String.init).sorted()
    }

    /// `berth status --json`, by resource description (`Service p/web`).
    func statuses() async throws -> [String: [String: Any]] {
        let result = try await berth("status", "--json", "--project", project)
        guard result.status == 0, let answer = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], let list = answer["items"] as? [[String: Any]] else {
            throw BerthProcess.SetupError("berth status failed: \(result.stderr)")
        }
        var byResource: [String: [String: Any]] = [:]
        for status in list {
            guard let id = status["id"] as? [String: Any], let kind = id["kind"] as? String, let name = id["name"] as? String else { continue }
            byResource["\(kind)/\(name)"] = status
        }
        return byResource
    }

    /// Polls `condition` every 200 ms until it holds; fails the test with `what` after `seconds`.
    /// Async, and waits with `Task.sleep`, so a waiting test never blocks one of the few threads
    /// the other tests run on.
    func eventually(_ seconds: Double, _ what: String, _ condition: () async throws -> Bool) async throws {
        if try await poll(seconds, condition) { return }
        Issue.record("timed out after \(seconds)s waiting until \(what)\nserve log:\n\(serveLog.suffix(3000))")
        throw BerthProcess.SetupError("timed out waiting until \(what)")
    }

    /// Stops serve and every other child, then removes this project's containers, volumes and
    /// networks, its database and its folder. Synchronous, for `defer`, and blocking nothing: the
    /// children are signalled at once and the rest runs in a task that frees the scenario's slot
    /// when done.
    /// Returns the cleanup's task, for a test that must wait for it (`await scenario.finish().value`).
    @discardableResult
    func finish() -> Task<Void, Never> {
        let processes = [serve].compactMap { $0 } + Array(others.values)
        for process in processes { process.signal(SIGTERM) }
        for child in children { child.signal(SIGKILL) }
        serve = nil
        others = [:]
        return Task { [self] in
            defer { Self.slots.release() }
            for process in processes { await process.stop(SIGTERM) }
            await removeEverything()
        }
    }

    private func removeEverything() async {
        let ids = (try? await docker("ps", "-aq", "--filter", "label=berth.project=\(project)"))?.split(separator: "\n").map(String.init) ?? []
        if !ids.isEmpty { _ = try? await docker(["rm", "-f"] + ids) }
        _ = try? await docker("rm", "-f", container("taken"))
        let volumes = (try? await docker("volume", "ls", "-q", "--filter", "label=berth.project=\(project)"))?.split(separator: "\n").map(String.init) ?? []
        if !volumes.isEmpty { _ = try? await docker(["volume", "rm", "-f"] + volumes) }
        // Networks (on an engine that has them) once their containers are gone: by label and by
        // Berth's name prefix, both this scenario's own.
        let labelled = (try? await docker("network", "ls", "-q", "--filter", "label=berth.project=\(project)"))?.split(separator: "\n").map(String.init) ?? []
        let named = (try? await docker("network", "ls", "-q", "--filter", "name=berth-\(project)-"))?.split(separator: "\n").map(String.init) ?? []
        let networks = Array(Set(labelled + named))
        if !networks.isEmpty { _ = try? await docker(["network", "rm"] + networks) }
        for arguments in finalDockerCommands { _ = try? await docker(arguments) }
        if let database { try? await psql("DROP DATABASE IF EXISTS \(database) WITH (FORCE)") }
        try? FileManager.default.removeItem(at: folder)
    }

    /// Runs `query` on this scenario's PostgreSQL store; returns its rows unaligned, trimmed.
    func storeQuery(_ query: String) async throws -> String {
        guard let url = environment["BERTH_DATABASE_URL"] else { throw BerthProcess.SetupError("the scenario has no PostgreSQL store") }
        return try await Scenario.run("/usr/bin/psql", [url, "-v", "ON_ERROR_STOP=1", "-tAc", query])
    }

    private func psql(_ statement: String) async throws {
        _ = try await Scenario.run("/usr/bin/psql", [try TestServices.postgresURL(), "-v", "ON_ERROR_STOP=1", "-qc", statement])
    }

    /// Runs `executable arguments…` (bounded: `BerthProcess.defaultTimeout`); returns standard
    /// output, trimmed. Throws when it fails.
    static func run(_ executable: String, _ arguments: [String]) async throws -> String {
        let result = try await BerthProcess.runCommand([executable] + arguments)
        guard result.status == 0 else {
            throw BerthProcess.SetupError("\(executable) \(arguments.joined(separator: " ")) failed (\(result.status)): \(result.stderr)")
        }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

extension String {
    /// Whether this serve log has a finished pass (`pass done`, logged at debug when nothing
    /// changed) after the `occurrence`-th line containing `marker`: the sign that serve has acted
    /// on what that line reports.
    func passDone(afterThe occurrence: Int, _ marker: String) -> Bool {
        let lines = split(separator: "\n")
        let markers = lines.indices.filter { lines[$0].contains(marker) }
        guard markers.count >= occurrence else { return false }
        return lines[(markers[occurrence - 1] + 1)...].contains { $0.contains("pass done") }
    }
}

/// A counting semaphore for scenarios; waiters are served in arrival order.
actor ScenarioSlots {
    private var free: Int
    private var waiters: [CheckedContinuation<Void, Never>] = []

    init(count: Int) {
        free = count
    }

    func acquire() async {
        if free > 0 {
            free -= 1
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    nonisolated func release() {
        Task { await self.handBack() }
    }

    private func handBack() {
        if waiters.isEmpty {
            free += 1
        } else {
            waiters.removeFirst().resume()
        }
    }
}

/// A manifest document of one service; `extra` is YAML under `spec:` (indented two spaces).
func serviceYAML(_ scenario: Scenario, _ name: String, command: String = "sleep 300", extra: String = "") -> String {
    """
    apiVersion: berth/v1
    kind: Service
    metadata: {name: \(name), project: \(scenario.project)}
    spec:
      image: \(scenario.image)
      pullPolicy: Never
      command: ["sh", "-c", "\(command)"]
      network: none
      stopGracePeriod: 1s
    \(extra)
    ---

    """
}

/// Polls `condition` every 200 ms until it holds (an error counts as not yet), at most `seconds`;
/// whether it held. Waits with `Task.sleep`, so a waiting test never blocks one of the few threads
/// the other tests run on.
func poll(_ seconds: Double, _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
    while ContinuousClock.now < deadline {
        if (try? await condition()) == true { return true }
        try await Task.sleep(for: .milliseconds(200))
    }
    return false
}
