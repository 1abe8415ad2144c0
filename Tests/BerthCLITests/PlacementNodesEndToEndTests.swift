import Foundation
import Testing

/// Three nodes, each a `berth serve --node` on an engine of its own (a: the suite's engine; b and
/// c: engines the test starts and stops), on one PostgreSQL: service replicas run where their
/// `placement` puts them; a drained node's replicas move off; a lost node's replicas run on the
/// others within its timeout plus `rescheduleAfter` plus a pass, and when it comes back its stale
/// containers are removed before it starts anything, so no replica runs twice.
@Suite("Placement on three nodes end to end")
struct PlacementNodesEndToEndTests {
    /// The options of node `name`: 3 s node timeout, its controller id the node's name.
    static func node(_ name: String, labels: [String] = []) -> [String] {
        ["--node", name, "--controller-id", name, "--node-timeout", "3s"] + labels.flatMap { ["--node-label", $0] }
    }

    /// The nodes' engines: a's is the suite's, b's and c's the test's own.
    struct Engines {
        let scenario: Scenario
        let b: StoppableEngine
        let c: StoppableEngine

        /// The docker CLI on node `name`'s engine, failing on a non-zero status.
        func docker(_ name: String, _ arguments: [String]) async throws -> String {
            switch name {
            case "a": return try await scenario.docker(arguments)
            default:
                let result = try await (name == "b" ? b : c).docker(arguments)
                guard result.status == 0 else { throw BerthProcess.SetupError("docker \(arguments) on node \(name): \(result.stderr)") }
                return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            }
        }

        /// Names of the scenario's containers of `service` on node `name`'s engine in `state`
        /// (`running`, or nil: in any state), sorted.
        func containers(_ service: String, on name: String, state: String? = "running") async throws -> [String] {
            var arguments = ["ps", "-a", "--filter", "label=berth.project=\(scenario.project)", "--filter", "label=berth.name=\(service)", "--format", "{{.Names}}"]
            if let state { arguments += ["--filter", "status=\(state)"] }
            return try await docker(name, arguments).split(separator: "\n").map(String.init).sorted()
        }

        /// Running containers of `service`, by node.
        func placement(_ service: String) async throws -> [String: [String]] {
            var byNode: [String: [String]] = [:]
            for name in ["a", "b", "c"] { byNode[name] = try await containers(service, on: name) }
            return byNode
        }
    }

    /// Runs `body` with a PostgreSQL scenario and two engines of its own, then stops and removes
    /// all of them, awaited.
    static func withThreeNodes(_ body: (Scenario, Engines) async throws -> Void) async throws {
        let scenario = try await Scenario(.postgres)
        var started: [StoppableEngine] = []
        do {
            for _ in 0..<2 { started.append(try await StoppableEngine(copying: scenario.image, from: scenario.dockerHost)) }
            try await body(scenario, Engines(scenario: scenario, b: started[0], c: started[1]))
        } catch {
            await scenario.finish().value
            for engine in started { await engine.finish() }
            throw error
        }
        await scenario.finish().value
        for engine in started { await engine.finish() }
    }

    /// Starts node a (and waits until it leads), then b and c on their engines.
    static func startNodes(_ scenario: Scenario, _ engines: Engines, labels: [String: [String]] = [:]) async throws {
        try scenario.startServe(node("a", labels: labels["a"] ?? []))
        try await scenario.eventually(60, "node a holds the leader lease") { scenario.serveLog.contains("holding the leader lease") }
        try scenario.startAnotherServe(node("b", labels: labels["b"] ?? []), log: "b.log", environment: ["DOCKER_HOST": engines.b.dockerHost])
        try scenario.startAnotherServe(node("c", labels: labels["c"] ?? []), log: "c.log", environment: ["DOCKER_HOST": engines.c.dockerHost])
        try await scenario.eventually(120, "nodes a, b and c are Ready") {
            let nodes = try await NodeFailoverEndToEndTests.nodes(scenario)
            return ["a", "b", "c"].allSatisfy { nodes[$0]?["state"] as? String == "Ready" }
        }
    }

    /// The replicas `berth status --json` shows for `service`: replica index → node.
    static func statusNodes(_ scenario: Scenario, _ service: String) async throws -> [Int: String] {
        let replicas = try await scenario.statuses()["Service/\(service)"]?["replicas"] as? [[String: Any]] ?? []
        return Dictionary(replicas.compactMap { replica in (replica["replica"] as? Int).map { ($0, replica["node"] as? String ?? "") } }, uniquingKeysWith: { first, _ in first })
    }

    @Test func replicasRunWhereTheirPlacementPutsThemAndADrainedNodesReplicasMoveOff() async throws {
        try await Self.withThreeNodes { scenario, engines in try await declaredPlacement(scenario, engines) }
    }

    func declaredPlacement(_ scenario: Scenario, _ engines: Engines) async throws {
        // given: three nodes, only c labelled disk=ssd, none named default (all Ready before
        // anything is declared: placement does not rebalance when a node joins)
        try scenario.write("")
        try await Self.startNodes(scenario, engines, labels: ["c": ["disk=ssd"]])
        try scenario.write(
            serviceYAML(scenario, "spread", extra: "  replicas: 3\n  placement: {spread: true}")
                + serviceYAML(scenario, "pinned", extra: "  replicas: 2\n  placement: {node: b}")
                + serviceYAML(scenario, "picky", extra: "  replicas: 2\n  placement: {nodeSelector: {disk: ssd}}")
                + serviceYAML(scenario, "unplaced")
                + serviceYAML(scenario, "db", extra: "  replicas: 2\n  volumes: [\"data:/data\"]\n  placement: {rescheduleAfter: 1m}")
                + "apiVersion: berth/v1\nkind: Volume\nmetadata: {name: data, project: \(scenario.project)}\nspec: {}\n")

        // then: spread runs one replica on each node
        try await scenario.eventually(120, "spread runs one replica on each node") {
            try await engines.placement("spread").values.allSatisfy { $0.count == 1 }
        }
        // and: pinned runs both on b, picky both on c (the only ssd node), db both on one node
        try await scenario.eventually(60, "pinned runs on b and picky on c") {
            let pinned = try await engines.placement("pinned"), picky = try await engines.placement("picky")
            return pinned["b"]?.count == 2 && picky["c"]?.count == 2
        }
        #expect(try await engines.placement("pinned").filter { $0.key != "b" }.allSatisfy { $0.value.isEmpty })
        #expect(try await engines.placement("picky").filter { $0.key != "c" }.allSatisfy { $0.value.isEmpty })
        try await scenario.eventually(60, "db runs both replicas on one node") {
            try await engines.placement("db").values.contains { $0.count == 2 }
        }
        // and: a service without placement, with three nodes none named default, runs nowhere and says why
        for name in ["a", "b", "c"] { #expect(try await engines.containers("unplaced", on: name, state: nil).isEmpty) }
        try await scenario.eventually(60, "unplaced's status says it has no node") {
            let status = try await scenario.statuses()["Service/unplaced"]
            return "\(status ?? [:])".contains("no node")
        }
        // and: status names each replica's node, the node whose engine runs it
        let spread = try await engines.placement("spread")
        try await scenario.eventually(60, "status shows the node of each replica of spread") {
            let nodes = try await Self.statusNodes(scenario, "spread")
            return nodes.count == 3 && nodes.allSatisfy { replica, node in spread[node] == [scenario.container("spread", replica)] }
        }
        // and: berth nodes shows the three with the replicas each runs
        try await scenario.eventually(60, "berth nodes counts each node's replicas") {
            let nodes = try await NodeFailoverEndToEndTests.nodes(scenario)
            let db = try await engines.placement("db")
            return ["a", "b", "c"].allSatisfy { name in
                let expected = 1 + (name == "b" ? 2 : 0) + (name == "c" ? 2 : 0) + (db[name]?.count ?? 0)
                return nodes[name]?["runningReplicas"] as? Int == expected
            }
        }

        // and: plan and apply on a's engine must be told which node it is, and then have nothing to do
        let manifests = ["-f", scenario.manifests.path]
        let unnamed = try await scenario.berth(["plan"] + manifests)
        #expect(unnamed.status == 1)
        #expect(unnamed.stderr.contains("--node: this store places replicas on 3 nodes (a, b, c)"), "\(unnamed.stderr)")
        #expect(try await scenario.berth(["apply"] + manifests).status == 1)
        #expect(try await scenario.berth(["plan", "--node", "nosuch"] + manifests).stderr.contains("no node nosuch in this store; its nodes: a, b, c"))
        try await scenario.eventually(60, "node a's plan has nothing to do") {
            try await scenario.berth(["plan", "--node", "a", "--detailed-exitcode"] + manifests).status == 0
        }
        let applied = try await scenario.berth(["apply", "--node", "a"] + manifests)
        #expect(applied.status == 0 && applied.stdout.contains("No changes."), "\(applied.stdout)\(applied.stderr)")
        #expect(try await engines.placement("spread").values.allSatisfy { $0.count == 1 })

        // when: c is drained
        #expect(try await scenario.berth("nodes", "drain", "c").status == 0)
        // then: spread's replica leaves c for a or b, and still runs three times
        try await scenario.eventually(120, "spread's replica moves off c") {
            let now = try await engines.placement("spread")
            return now["c"]?.isEmpty == true && (now["a"]!.count + now["b"]!.count) == 3
        }
        // and: picky, which no other node can take, stays on c and says it waits
        #expect(try await engines.placement("picky")["c"]?.count == 2)
        for log in ["serve.log", "b.log", "c.log"] { #expect(!scenario.serveLog(log).contains("Fatal error"), "\(log)") }
    }

    @Test func aLostNodesReplicasRunElsewhereAndNoneRunsTwiceWhenTheNodeComesBack() async throws {
        try await Self.withThreeNodes { scenario, engines in try await lostNodes(scenario, engines) }
    }

    func lostNodes(_ scenario: Scenario, _ engines: Engines) async throws {
        // given: web's three replicas, one on each node, moved after 2 s of NotReady
        try scenario.write("")
        try await Self.startNodes(scenario, engines)
        try scenario.write(serviceYAML(scenario, "web", extra: "  replicas: 3\n  placement: {rescheduleAfter: 2s}"))
        try await scenario.eventually(120, "web runs one replica on each node") {
            try await engines.placement("web").values.allSatisfy { $0.count == 1 }
        }
        let onB = try await engines.containers("web", on: "b"), onC = try await engines.containers("web", on: "c")

        // when: b's controller is killed and its engine stopped; c's controller alone is killed
        // (its engine, and its replica, keep running: a partition)
        await scenario.stopAnotherServe(log: "b.log", kill: true)
        await engines.b.stop()
        await scenario.stopAnotherServe(log: "c.log", kill: true)

        // then: a runs all three replicas, the moved ones under their own names
        try await scenario.eventually(120, "a runs web's three replicas") {
            try await engines.containers("web", on: "a").count == 3
        }
        #expect(try await engines.containers("web", on: "a") == (0..<3).map { scenario.container("web", $0) })
        try await scenario.eventually(60, "status places every replica on a") {
            try await Self.statusNodes(scenario, "web") == [0: "a", 1: "a", 2: "a"]
        }

        // when: b's engine comes back, then b's and c's controllers
        try await engines.b.start()
        try scenario.startAnotherServe(Self.node("b"), log: "b2.log", environment: ["DOCKER_HOST": engines.b.dockerHost])
        try scenario.startAnotherServe(Self.node("c"), log: "c2.log", environment: ["DOCKER_HOST": engines.c.dockerHost])

        // then: their stale containers are removed, none is started again there, and each
        // replica runs once, on a
        var running: [[String: [String]]] = []
        try await scenario.eventually(120, "b's and c's stale containers are removed") {
            running.append(try await engines.placement("web"))
            let left = try await engines.containers("web", on: "b", state: nil) + engines.containers("web", on: "c", state: nil)
            return left.isEmpty && scenario.serveLog("b2.log").passDone(afterThe: 1, "remove container")
        }
        #expect(onB.count == 1 && onC.count == 1)
        #expect(running.allSatisfy { $0["b"]?.isEmpty == true }, "b never runs a replica again: \(running)")
        #expect(try await engines.placement("web") == ["a": (0..<3).map { scenario.container("web", $0) }, "b": [], "c": []])
        for log in ["b2.log", "c2.log"] {
            let actions = scenario.serveLog(log).split(separator: "\n").filter { $0.contains("create container") || $0.contains("start container") || $0.contains("remove container") }
            #expect(actions.first?.contains("remove container") == true, "\(log) removes before it does anything else: \(actions)")
            #expect(!actions.contains { $0.contains("create container") || $0.contains("start container") }, "\(log): \(actions)")
        }
    }
}
