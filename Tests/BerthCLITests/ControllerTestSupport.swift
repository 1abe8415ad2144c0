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
    private var serve: Process?
    private var others: [Process] = []
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
                try psql("CREATE DATABASE \(name)")
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

    func berth(_ arguments: String...) throws -> CommandResult {
        try BerthProcess.run(arguments, environment: environment)
    }

    func berth(_ arguments: [String]) throws -> CommandResult {
        try BerthProcess.run(arguments, environment: environment)
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
    func startAnotherServe(_ extra: [String], log: String) throws {
        others.append(try launchServe(extra, resync: "2s", log: log))
    }

    private func launchServe(_ extra: [String], resync: String, log name: String) throws -> Process {
        let process = Process()
        process.executableURL = try BerthProcess.executable()
        // Port 0: every scenario's API gets a free port of its own (see `apiURL()`).
        let listen = extra.contains("--listen") ? [] : ["--listen", "127.0.0.1:0"]
        process.arguments = ["serve", "-f", manifests.path, "--resync", resync, "--restart-backoff", "1s"] + listen + extra
        process.currentDirectoryURL = folder
        var environment = ProcessInfo.processInfo.environment
        environment.merge(self.environment) { _, new in new }
        process.environment = environment
        let log = folder.appendingPathComponent(name)
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        handle.seekToEndOfFile()
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return process
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
    var serveHasExited: Bool { serve.map { !$0.isRunning } ?? true }

    /// Ends the serve process this scenario started: SIGTERM (graceful) or SIGKILL.
    func stopServe(kill: Bool = false) {
        guard let serve, serve.isRunning else { return }
        if kill {
            Foundation.kill(serve.processIdentifier, SIGKILL)
        } else {
            serve.terminate()
        }
        serve.waitUntilExit()
        self.serve = nil
    }

    // MARK: engine

    /// Follows `docker events` (the engine keeps only a short backlog) into a file until `stop()`;
    /// each line is `format` applied to one event.
    final class EventCapture {
        private let process = Process()
        private let file: URL

        init(_ scenario: Scenario, filters: [String], format: String) throws {
            file = scenario.folder.appendingPathComponent("events-\(UUID().uuidString)")
            FileManager.default.createFile(atPath: file.path, contents: nil)
            process.executableURL = URL(fileURLWithPath: "/usr/bin/docker")
            process.arguments = ["-H", scenario.dockerHost, "events", "--format", format] + filters.flatMap { ["--filter", $0] }
            process.standardOutput = try FileHandle(forWritingTo: file)
            try process.run()
            // `docker events` subscribes asynchronously; give it a moment before anything happens.
            Thread.sleep(forTimeInterval: 0.5)
        }

        /// Ends the capture and returns its lines.
        func stop() throws -> [String] {
            Thread.sleep(forTimeInterval: 0.5)
            process.terminate()
            process.waitUntilExit()
            return try String(contentsOf: file, encoding: .utf8).split(separator: "\n").map(String.init)
        }
    }

    /// Runs the docker CLI against the private engine; returns standard output, trimmed.
    @discardableResult
    func docker(_ arguments: String...) throws -> String {
        try Scenario.run("/usr/bin/docker", ["-H", dockerHost] + arguments)
    }

    /// A field of `docker inspect`, or nil when the container does not exist.
    func inspect(_ name: String, _ format: String) -> String? {
        try? docker("inspect", "-f", format, name)
    }

    /// Names of this project's containers (with Berth's label), sorted.
    func containers() throws -> [String] {
        try docker("ps", "-a", "--filter", "label=berth.project=\(project)", "--format", "{{.Names}}")
            .split(separator: "\n").map(String.init).sorted()
    }

    /// `berth status --json`, by resource description (`Service p/web`).
    func statuses() throws -> [String: [String: Any]] {
        let result = try berth("status", "--json", "--project", project)
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
    /// Async, so a waiting test never blocks one of the few threads the other tests run on.
    func eventually(_ seconds: Double, _ what: String, _ condition: () throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if (try? condition()) == true { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        Issue.record("timed out after \(seconds)s waiting until \(what)\nserve log:\n\(serveLog.suffix(3000))")
        throw BerthProcess.SetupError("timed out waiting until \(what)")
    }

    /// Stops serve, removes this project's containers, volumes and networks, its database and its folder.
    func finish() {
        defer { Self.slots.release() }
        stopServe()
        for process in others where process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        let ids = (try? docker("ps", "-aq", "--filter", "label=berth.project=\(project)"))?.split(separator: "\n").map(String.init) ?? []
        if !ids.isEmpty { _ = try? Scenario.run("/usr/bin/docker", ["-H", dockerHost, "rm", "-f"] + ids) }
        _ = try? docker("rm", "-f", container("taken"))
        let volumes = (try? docker("volume", "ls", "-q", "--filter", "label=berth.project=\(project)"))?.split(separator: "\n").map(String.init) ?? []
        if !volumes.isEmpty { _ = try? Scenario.run("/usr/bin/docker", ["-H", dockerHost, "volume", "rm", "-f"] + volumes) }
        // Networks (on an engine that has them) once their containers are gone: by label and by
        // Berth's name prefix, both this scenario's own.
        let labelled = (try? docker("network", "ls", "-q", "--filter", "label=berth.project=\(project)"))?.split(separator: "\n").map(String.init) ?? []
        let named = (try? docker("network", "ls", "-q", "--filter", "name=berth-\(project)-"))?.split(separator: "\n").map(String.init) ?? []
        let networks = Array(Set(labelled + named))
        if !networks.isEmpty { _ = try? Scenario.run("/usr/bin/docker", ["-H", dockerHost, "network", "rm"] + networks) }
        if let database { try? psql("DROP DATABASE IF EXISTS \(database) WITH (FORCE)") }
        try? FileManager.default.removeItem(at: folder)
    }

    private func psql(_ statement: String) throws {
        _ = try Scenario.run("/usr/bin/psql", [try TestServices.postgresURL(), "-v", "ON_ERROR_STOP=1", "-qc", statement])
    }

    static func run(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw BerthProcess.SetupError("\(executable) \(arguments.joined(separator: " ")) failed: \(String(decoding: errorData, as: UTF8.self))")
        }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
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
