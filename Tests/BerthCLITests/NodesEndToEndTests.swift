import Foundation
import Testing

/// Two `berth serve --node` controllers on one PostgreSQL and the one test engine (no services:
/// both would converge them on it): `berth nodes`, nodeSelectors, cordon, a node that dies.
@Suite("Nodes end to end")
struct NodesEndToEndTests {
    /// `berth nodes --json`, by name.
    func nodes(_ scenario: Scenario) async throws -> [String: [String: Any]] {
        let result = try await scenario.berth("nodes", "--json")
        guard result.status == 0, let items = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]] else {
            throw BerthProcess.SetupError("berth nodes failed: \(result.stdout)\n\(result.stderr)")
        }
        return Dictionary(uniqueKeysWithValues: items.map { ($0["name"] as? String ?? "", $0) })
    }

    static func node(_ name: String, controller: String) -> [String] {
        Scenario.jobServeOptions + ["--node", name, "--node-label", "pool=\(name)", "--controller-id", controller, "--node-timeout", "3s"]
    }

    @Test func jobsRunOnTheNodesTheirSelectorsNameAndACordonedOrDeadNodeTakesNone() async throws {
        let scenario = try await Scenario(.postgres)
        defer { scenario.finish() }
        // given: node alpha (controller one) and node beta (controller two)
        try scenario.write("")
        try scenario.startServe(Self.node("alpha", controller: "one"))
        try scenario.startAnotherServe(Self.node("beta", controller: "two"), log: "serve-two.log")
        try await scenario.eventually(120, "both nodes are Ready") {
            let nodes = try await nodes(scenario)
            return nodes["alpha"]?["state"] as? String == "Ready" && nodes["beta"]?["state"] as? String == "Ready"
        }
        let listed = try await nodes(scenario)
        #expect(listed["beta"]?["labels"] as? [String: String] == ["pool": "beta"], "\(listed)")
        #expect((listed["alpha"]?["engineVersion"] as? String ?? "").isEmpty == false && (listed["alpha"]?["cpus"] as? Int ?? 0) > 0, "\(listed)")
        let table = try await scenario.berth("nodes")
        #expect(table.status == 0 && table.stdout.contains("HEARTBEAT-AGE") && table.stdout.contains("pool=alpha"), "\(table.stdout)")

        // when: one job for each node
        let forBeta = try await scenario.submit(jobYAML(scenario, "on-beta", command: "true", extra: "  nodeSelector: {pool: beta}"))[0]
        let forAlpha = try await scenario.submit(jobYAML(scenario, "on-alpha", command: "true", extra: "  nodeSelector: {pool: alpha}"))[0]
        // then: each ran on its node's controller
        let ranOnBeta = try await scenario.ended(forBeta)
        let ranOnAlpha = try await scenario.ended(forAlpha)
        #expect(ranOnBeta["state"] as? String == "finished" && ranOnBeta["claimedBy"] as? String == "two", "\(ranOnBeta)")
        #expect(ranOnAlpha["state"] as? String == "finished" && ranOnAlpha["claimedBy"] as? String == "one", "\(ranOnAlpha)")

        // when: beta is cordoned, and a job for it and then one for alpha are submitted
        let cordon = try await scenario.berth("nodes", "cordon", "beta")
        #expect(cordon.status == 0 && cordon.stdout.contains("Cordoned"), "\(cordon.stdout) \(cordon.stderr)")
        let waiting = try await scenario.submit(jobYAML(scenario, "waits", command: "true", extra: "  nodeSelector: {pool: beta}"))[0]
        let later = try await scenario.submit(jobYAML(scenario, "later", command: "true", extra: "  nodeSelector: {pool: alpha}"))[0]
        // then: alpha ran the later job; beta claimed nothing meanwhile
        #expect(try await scenario.ended(later)["state"] as? String == "finished")
        let stillWaiting = try await scenario.job(waiting)
        #expect(stillWaiting["state"] as? String == "pending" && stillWaiting["claimedBy"] == nil, "\(stillWaiting)")
        #expect(try await nodes(scenario)["beta"]?["state"] as? String == "Cordoned")
        let shown = try await scenario.berth("jobs", "show", waiting)
        #expect(shown.stdout.contains("nodes:       pool=beta") && shown.stdout.contains("waiting:     every node with these labels takes no work now: beta Cordoned"), "\(shown.stdout)")
        // when: uncordoned, beta takes it
        #expect(try await scenario.berth("nodes", "uncordon", "beta").status == 0)
        let ranAfterUncordon = try await scenario.ended(waiting)
        #expect(ranAfterUncordon["state"] as? String == "finished" && ranAfterUncordon["claimedBy"] as? String == "two", "\(ranAfterUncordon)")

        // when: beta's controller is killed
        await scenario.stopAnotherServe(log: "serve-two.log", kill: true)
        // then: beta turns NotReady after its 3 s timeout; alpha stays Ready
        try await scenario.eventually(60, "beta is NotReady") { try await nodes(scenario)["beta"]?["state"] as? String == "NotReady" }
        #expect(try await nodes(scenario)["alpha"]?["state"] as? String == "Ready")
        // and: an unknown node is an error naming it; the dead node can be removed
        let unknown = try await scenario.berth("nodes", "drain", "ghost")
        #expect(unknown.status != 0 && unknown.stderr.contains("node ghost does not exist"), "\(unknown.stdout) \(unknown.stderr)")
        let removed = try await scenario.berth("nodes", "remove", "beta")
        #expect(removed.status == 0, "\(removed.stderr)")
        let refused = try await scenario.berth("nodes", "remove", "alpha")
        #expect(refused.status != 0 && refused.stderr.contains("--force"), "\(refused.stderr)")
        #expect(try await nodes(scenario).keys.sorted() == ["alpha"])
    }

    @Test func throughTheAPIAReaderListsNodesAndOnlyAnAdminCordonsOne() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given: one node on the embedded store, and a read and an admin token
        try scenario.write("")
        try scenario.startServe(Scenario.jobServeOptions + ["--node", "solo", "--node-label", "disk=ssd"])
        var tokens: [String: String] = [:]
        for scope in ["read", "admin"] {
            let created = try await scenario.berth("token", "create", "--name", "e2e-\(scope)", "--scope", scope)
            try #require(created.status == 0, "\(created.stderr)")
            tokens[scope] = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let url = try await scenario.apiURL()
        scenario.server = (url, try #require(tokens["read"]))
        // when / then: the reader sees it Ready, and may not cordon it
        try await scenario.eventually(60, "solo is Ready through the API") { try await nodes(scenario)["solo"]?["state"] as? String == "Ready" }
        #expect(try await nodes(scenario)["solo"]?["labels"] as? [String: String] == ["disk": "ssd"])
        let refused = try await scenario.berth("nodes", "cordon", "solo")
        #expect(refused.status == 1 && refused.stderr.contains("the token \"e2e-read\" does not allow this"), "\(refused.status) \(refused.stderr)")
        // when / then: the admin may
        scenario.server = (url, try #require(tokens["admin"]))
        let cordoned = try await scenario.berth("nodes", "cordon", "solo", "--json")
        #expect(cordoned.status == 0 && cordoned.stdout.contains("\"state\" : \"Cordoned\""), "\(cordoned.stdout) \(cordoned.stderr)")
        let unknown = try await scenario.berth("nodes", "uncordon", "ghost")
        #expect(unknown.status == 1 && unknown.stderr.contains("node ghost does not exist"), "\(unknown.stderr)")
        // a heartbeat since does not clear the cordon
        let cordonedAt = try #require(try JSONSerialization.jsonObject(with: Data(cordoned.stdout.utf8)) as? [String: Any])["heartbeatAt"] as? String
        var solo: [String: Any]?
        try await scenario.eventually(60, "a heartbeat after the cordon") {
            solo = try await nodes(scenario)["solo"]
            return solo?["heartbeatAt"] as? String != cordonedAt
        }
        #expect(solo?["state"] as? String == "Cordoned" && solo?["cordoned"] as? Bool == true, "\(String(describing: solo))")
    }

    @Test func badNodeOptionsFailAtStartNamingTheOption() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        for (options, expected) in [
            (["--node", "Bad_Name"], "--node:"), (["--node-label", "no-equals"], "--node-label \"no-equals\""),
            (["--node-label", "bad key=x"], "--node-label \"bad key=x\""), (["--node-timeout", "10ms"], "--node-timeout"),
        ] {
            let result = try await scenario.berth(["serve", "-f", scenario.manifests.path] + options)
            #expect(result.status != 0 && result.stderr.contains(expected), "\(options): \(result.stderr)")
        }
    }
}
