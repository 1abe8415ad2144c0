import Foundation
import Testing

/// Self-healing does not wait for the store: two `berth serve` on one PostgreSQL, one on the
/// host engine and one on the namespaced engine, each restart their killed container while
/// PostgreSQL is stopped, leader or not, and record the restarts once it is back.
@Suite("Self-healing without the store, end to end")
struct SelfHealingEndToEndTests {
    @Test func killedContainersAreRestartedOnBothEnginesWhilePostgresIsStoppedAndRecordedWhenItIsBack() async throws {
        let postgres = try OutagePostgres()
        let netns = try NetnsEngine()
        let scenario = try await Scenario(.sqlite)
        scenario.extraEnvironment["BERTH_DATABASE_URL"] = postgres.url
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

    private static func restartsWhileStopped(_ postgres: OutagePostgres, _ netns: NetnsEngine, _ scenario: Scenario, _ web: String) async throws {
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

/// The PostgreSQL cluster scripts/services/postgres.sh made for this test alone
/// (`BERTH_TEST_POSTGRES_OUTAGE_*`), stopped and started as the postgres user: stopping the
/// suite's shared one would fail every other test.
struct OutagePostgres {
    let url: String
    private let data: String
    private let ctl: String

    init() throws {
        url = try TestServices.value("BERTH_TEST_POSTGRES_OUTAGE_URL")
        data = try TestServices.value("BERTH_TEST_POSTGRES_OUTAGE_DATA")
        ctl = try TestServices.value("BERTH_TEST_POSTGRES_CTL")
    }

    var isRunning: Bool {
        get async { (try? await run("status")) != nil }
    }

    /// Stops at once, as a crash would: clients lose their connections.
    func stop() async throws {
        try await run("-m", "immediate", "-w", "stop")
    }

    /// Starts again if stopped (for cleaning up too, so it does not throw).
    func start() async {
        guard !(await isRunning) else { return }
        try? await run("-l", URL(fileURLWithPath: data).deletingLastPathComponent().appendingPathComponent("server.log").path, "-w", "-t", "60", "start")
    }

    /// `pg_ctl` as the postgres user, waiting for the outcome.
    private func run(_ arguments: String...) async throws {
        try await PostgresUser.run([ctl, "-D", data] + arguments)
    }
}
