import Foundation
import Testing

/// Self-healing does not wait for the store: two `berth serve` on one PostgreSQL, one on the
/// host engine and one on the namespaced engine, each restart their killed container while
/// PostgreSQL is stopped, leader or not, and record the restarts once it is back.
@Suite("Self-healing without the store, end to end")
struct SelfHealingEndToEndTests {
    @Test func killedContainersAreRestartedOnBothEnginesWhilePostgresIsStoppedAndRecordedWhenItIsBack() async throws {
        // A cluster of this test's own: stopping the suite's shared one would fail every other test.
        try await PrivatePostgres.with { postgres in
            let netns = try NetnsEngine()
            let scenario = try await Scenario(.sqlite)
            scenario.extraEnvironment["BERTH_DATABASE_URL"] = postgres.connectionString
            let web = scenario.container("web")
            // The serves stop cleanly only with their store; then what they made goes.
            func cleanUp() async {
                await postgres.start()
                await scenario.finish().value
                netns.remove(containers: [web])
            }
            do {
                try await Self.restartsWhileStopped(postgres, netns, scenario, web)
            } catch {
                await cleanUp()
                throw error
            }
            await cleanUp()
        }
    }

    private static func restartsWhileStopped(_ postgres: PrivatePostgres, _ netns: NetnsEngine, _ scenario: Scenario, _ web: String) async throws {
        // given: one service, served by a controller on each engine, one of them leading
        try scenario.write(serviceYAML(scenario, "web"))
        try scenario.startServe(["--controller-id", "host-engine"])
        let netnsState = scenario.folder.appendingPathComponent("state-netns").path
        try scenario.startAnotherServe(["--controller-id", "netns-engine", "--docker-host", netns.dockerHost, "--state-dir", netnsState], log: "serve-netns.log")
        let engines: [(name: String, log: String, inspect: (String) async -> String?, kill: () async throws -> Void)] = [
            ("host", "serve.log", { await scenario.inspect(web, $0) }, { try await scenario.docker("kill", web) }),
            ("netns", "serve-netns.log", { format in try? await netns.docker("inspect", "-f", format, web) }, { try await netns.docker("kill", web) }),
        ]
        for engine in engines {
            try await scenario.eventually(90, "\(web) runs on the \(engine.name) engine") { await engine.inspect("{{.State.Running}}") == "true" }
        }
        try await scenario.eventually(60, "one controller holds the leader lease") {
            engines.filter { scenario.serveLog($0.log).contains("holding the leader lease") }.count == 1
        }
        let leader = try #require(engines.first { scenario.serveLog($0.log).contains("holding the leader lease") }).name
        var startedBefore: [String?] = []
        for engine in engines { startedBefore.append(await engine.inspect("{{.State.StartedAt}}")) }

        // when: PostgreSQL stops, then each engine's container is killed
        try await postgres.stop()
        for engine in engines { try await engine.kill() }

        // then: each controller restarts its own, the leader and the other alike, with the store away
        for (index, engine) in engines.enumerated() {
            try await scenario.eventually(60, "\(web) runs again on the \(engine.name) engine (leader: \(leader))") {
                let running = await engine.inspect("{{.State.Running}}")
                let started = await engine.inspect("{{.State.StartedAt}}")
                return running == "true" && started != startedBefore[index]
            }
        }
        #expect(!(await postgres.isRunning), "the restarts happened while PostgreSQL was stopped")
        // and both say they converge a stale desired state
        for engine in engines {
            try await scenario.eventually(30, "the \(engine.name) controller says its desired state is stale") {
                scenario.serveLog(engine.log).contains("converging the manifests and the store's resources last read")
            }
        }

        // when: PostgreSQL is back
        await postgres.start()

        // then: the restarts' events (two at first, one per engine, and two now) and a status
        // counting a restart reach the store
        try await scenario.eventually(60, "the restarts are recorded") {
            let events = try await scenario.berth("events", "--project", scenario.project, "--json")
            let list = try JSONSerialization.jsonObject(with: Data(events.stdout.utf8)) as? [[String: Any]] ?? []
            let starts = list.filter { $0["reason"] as? String == "Started" }.count
            let restarts = try await scenario.statuses()["Service/web"]?["restartCount"] as? Int ?? 0
            return starts >= 4 && restarts >= 1
        }
        // and the controllers read the store again
        for engine in engines {
            try await scenario.eventually(30, "the \(engine.name) controller reads the store again") {
                scenario.serveLog(engine.log).contains("the store is read again")
            }
        }
    }
}

/// A PostgreSQL cluster of one test, in a folder of its own, listening only on a unix socket
/// there (`listen_addresses = ''`), run as the postgres user; the binaries are found the way
/// scripts/services/postgres.sh finds them.
struct PrivatePostgres {
    let root: URL
    let data: String
    let socket: String
    private let bin: String

    /// Runs `body` with a fresh cluster, then stops and removes it, also when `body` throws.
    static func with(_ body: (PrivatePostgres) async throws -> Void) async throws {
        let postgres = try await PrivatePostgres()
        do {
            try await body(postgres)
        } catch {
            await postgres.destroy()
            throw error
        }
        await postgres.destroy()
    }

    private init() async throws {
        guard
            let bin = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql"))?.sorted().reversed()
                .map({ "/usr/lib/postgresql/\($0)/bin" }).first(where: { FileManager.default.isExecutableFile(atPath: "\($0)/pg_ctl") })
        else { throw BerthProcess.SetupError("no pg_ctl under /usr/lib/postgresql/*/bin: scripts/test installs PostgreSQL") }
        self.bin = bin
        root = FileManager.default.temporaryDirectory.appendingPathComponent("berth-pg-\(UUID().uuidString.prefix(8).lowercased())")
        data = root.appendingPathComponent("data").path
        socket = root.appendingPathComponent("socket").path
        try FileManager.default.createDirectory(atPath: socket, withIntermediateDirectories: true)
        try Self.check(await BerthProcess.runCommand(["/bin/chown", "-R", "postgres:", root.path], timeout: 30))
        try Self.check(
            await BerthProcess.runCommand(
                ["/usr/sbin/runuser", "-u", "postgres", "--", "\(bin)/initdb", "-D", data, "-U", "postgres", "--auth-local=trust", "--encoding=UTF8", "--locale=C.UTF-8"],
                timeout: 120))
        let settings = "listen_addresses = ''\nunix_socket_directories = '\(socket)'\nfsync = off\nlog_min_messages = warning\n"
        let configuration = try FileHandle(forWritingTo: URL(fileURLWithPath: data + "/postgresql.conf"))
        configuration.seekToEndOfFile()
        configuration.write(Data(settings.utf8))
        try configuration.close()
        try await ctl("start", "-l", root.appendingPathComponent("server.log").path)
    }

    /// What `BERTH_DATABASE_URL` reads: the socket directory, the postgres superuser (trusted locally).
    var connectionString: String { "host=\(socket) user=postgres dbname=postgres" }

    var isRunning: Bool {
        get async { (try? await BerthProcess.runCommand(["\(bin)/pg_isready", "-h", socket, "-q"], timeout: 30).status) == 0 }
    }

    /// Stops at once, as a crash would: clients lose their connections.
    func stop() async throws {
        try await ctl("-m", "immediate", "stop")
    }

    /// Starts again if stopped (for cleaning up too, so it does not throw).
    func start() async {
        guard !(await isRunning) else { return }
        try? await ctl("start", "-l", root.appendingPathComponent("server.log").path)
    }

    /// Stops the cluster and removes its folder.
    private func destroy() async {
        if await isRunning { try? await ctl("-m", "immediate", "stop") }
        try? FileManager.default.removeItem(at: root)
    }

    /// `pg_ctl` as the postgres user, waiting for the outcome. The server `start` leaves running
    /// must not keep any descriptor of this test process (a pipe another test reads to its end
    /// would never end), so everything above standard error is closed first.
    private func ctl(_ arguments: String...) async throws {
        let closeInherited = #"for fd in /proc/$$/fd/*; do n=${fd##*/}; [ "$n" -gt 2 ] && eval "exec $n>&-" 2>/dev/null; done; exec "$@""#
        try Self.check(
            await BerthProcess.runCommand(
                ["/bin/bash", "-c", closeInherited, "pg_ctl", "/usr/sbin/runuser", "-u", "postgres", "--", "\(bin)/pg_ctl", "-D", data, "-w", "-t", "60"] + arguments,
                timeout: 90))
    }

    private static func check(_ result: CommandResult) throws {
        guard result.status == 0 else { throw BerthProcess.SetupError("exited with \(result.status): \(result.stderr)") }
    }
}
