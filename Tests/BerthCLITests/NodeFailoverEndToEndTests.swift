import Foundation
import Testing

/// Two `berth serve --node` on one PostgreSQL with short job leases and node timeouts: a node
/// lost with its engine has its job taken over and finished on the other node, once; a drained
/// node takes no new job and keeps heartbeating.
@Suite("Node failover end to end")
struct NodeFailoverEndToEndTests {
    /// The options of node `name` (its controller id too): 3 s leases and node timeout.
    static func node(_ name: String) -> [String] {
        Scenario.jobServeOptions + ["--job-lease", "3s", "--node", name, "--controller-id", name, "--node-timeout", "3s"]
    }

    /// `berth nodes --json`, by name.
    static func nodes(_ scenario: Scenario) async throws -> [String: [String: Any]] {
        let result = try await scenario.berth("nodes", "--json")
        guard result.status == 0, let items = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]] else {
            throw BerthProcess.SetupError("berth nodes failed: \(result.stdout)\n\(result.stderr)")
        }
        return Dictionary(uniqueKeysWithValues: items.map { ($0["name"] as? String ?? "", $0) })
    }

    /// Waits until nodes a and b are both Ready.
    static func bothReady(_ scenario: Scenario) async throws {
        try await scenario.eventually(120, "nodes a and b are Ready") {
            let nodes = try await nodes(scenario)
            return nodes["a"]?["state"] as? String == "Ready" && nodes["b"]?["state"] as? String == "Ready"
        }
    }

    /// Runs `body` with a PostgreSQL scenario and an engine of its own for node b, then stops and
    /// removes both, awaited (a cleanup in a detached task could outlive the test process).
    static func withNodes(_ body: (Scenario, StoppableEngine) async throws -> Void) async throws {
        let scenario = try await Scenario(.postgres)
        let engine: StoppableEngine
        do {
            engine = try await StoppableEngine(copying: scenario.image, from: scenario.dockerHost)
        } catch {
            await scenario.finish().value
            throw error
        }
        do {
            try await body(scenario, engine)
        } catch {
            await scenario.finish().value
            await engine.finish()
            throw error
        }
        await scenario.finish().value
        await engine.finish()
    }

    @Test func aLostNodesJobIsTakenOverAndFinishedOnTheOtherNodeOnce() async throws {
        try await Self.withNodes { scenario, engineB in try await lostNode(scenario, engineB) }
    }

    func lostNode(_ scenario: Scenario, _ engineB: StoppableEngine) async throws {
        // given: node a on the suite's engine, node b on an engine of its own
        try scenario.write("")
        try scenario.startServe(Self.node("a"))
        try scenario.startAnotherServe(Self.node("b"), log: "b.log", environment: ["DOCKER_HOST": engineB.dockerHost])
        try await Self.bothReady(scenario)
        // and: b runs a long job (a cordoned meanwhile, so only b can claim it)
        #expect(try await scenario.berth("nodes", "cordon", "a").status == 0)
        let id = try #require(try await scenario.submit(jobYAML(scenario, "long", command: "sleep 8; echo done", extra: "  backoffLimit: 2")).first)
        try await scenario.eventually(60, "b starts job \(id)") {
            let job = try await scenario.job(id)
            return job["state"] as? String == "started" && job["claimedBy"] as? String == "b"
        }
        let onB = try await engineB.docker(["ps", "-a", "--filter", "label=berth.job=\(id)", "--format", "{{.State}}"])
        #expect(onB.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "running", "b's engine runs the job: \(onB)")
        #expect(try await scenario.berth("nodes", "uncordon", "a").status == 0)

        // when: b's controller is killed and its engine stopped
        await scenario.stopAnotherServe(log: "b.log", kill: true)
        await engineB.stop()
        #expect(engineB.hasStopped)

        // then: b turns NotReady and a stays Ready
        try await scenario.eventually(60, "b is NotReady") { try await Self.nodes(scenario)["b"]?["state"] as? String == "NotReady" }
        #expect(try await Self.nodes(scenario)["a"]?["state"] as? String == "Ready")
        // and: a takes the job over, retries the lost attempt on its engine (never two containers
        // of it there) and the job ends once, finished, on a
        var samples: [[String]] = []
        var ended: [String: Any] = [:]
        try await scenario.eventually(120, "job \(id) ends") {
            samples.append(try await JobLeaseEndToEndTests.containers(id) { try await scenario.docker($0) })
            ended = try await scenario.job(id)
            return ["finished", "failed", "cancelled"].contains(ended["state"] as? String ?? "")
        }
        #expect(ended["state"] as? String == "finished" && ended["claimedBy"] as? String == "a", "\(ended)")
        #expect(ended["attempt"] as? Int == 2 && ended["stdoutTail"] as? String == "done\n", "\(ended)")
        #expect(samples.allSatisfy { $0.count <= 1 }, "never two containers of the job on a: \(samples)")
        let reasons = JobEndToEndTests.events(ended).map(\.reason)
        #expect(reasons.filter { $0 == "TakenOver" }.count == 1 && reasons.filter { $0 == "WorkerLost" }.count == 1, "\(reasons)")
        #expect(reasons.filter { $0 == "Finished" }.count == 1 && reasons.filter { $0 == "Completed" }.count == 1, "\(reasons)")
        // and: nothing of it is left on a's engine
        try await scenario.eventually(20, "no container or volume of the job is left on a") { try await scenario.jobLeftovers().isEmpty }
        #expect(!scenario.serveHasExited)
    }

    @Test func aDrainedNodeTakesNoNewJobAndKeepsHeartbeating() async throws {
        try await Self.withNodes { scenario, engineB in try await drainedNode(scenario, engineB) }
    }

    func drainedNode(_ scenario: Scenario, _ engineB: StoppableEngine) async throws {
        // given: nodes a and b, each on its own engine, both Ready
        try scenario.write("")
        try scenario.startServe(Self.node("a"))
        try scenario.startAnotherServe(Self.node("b"), log: "b.log", environment: ["DOCKER_HOST": engineB.dockerHost])
        try await Self.bothReady(scenario)

        // when: b is drained, and jobs are submitted after
        let drained = try await scenario.berth("nodes", "drain", "b")
        #expect(drained.status == 0 && drained.stdout.contains("Draining"), "\(drained.stdout) \(drained.stderr)")
        let drainedAt = try #require(try await Self.nodes(scenario)["b"]?["heartbeatAt"] as? String)
        let yaml = (1...6).map { jobYAML(scenario, "after-drain-\($0)", command: "echo ran \($0)") }.joined()
        let ids = try await scenario.submit(yaml)
        try #require(ids.count == 6)

        // then: every one ran on a
        for id in ids {
            let ended = try await scenario.ended(id)
            #expect(ended["state"] as? String == "finished" && ended["claimedBy"] as? String == "a", "\(ended)")
        }
        // and: b's engine never saw one, and b heartbeats on, Draining
        let onB = try await engineB.docker(["ps", "-a", "--filter", "label=berth.project=\(scenario.project)", "--format", "{{.Names}}"])
        #expect(onB.status == 0 && onB.stdout.isEmpty, "\(onB)")
        var b: [String: Any]?
        try await scenario.eventually(30, "a heartbeat of b after the drain") {
            b = try await Self.nodes(scenario)["b"]
            return b?["heartbeatAt"] as? String != drainedAt
        }
        #expect(b?["state"] as? String == "Draining" && b?["ready"] as? Bool == true && b?["schedulable"] as? Bool == false, "\(String(describing: b))")
    }
}
