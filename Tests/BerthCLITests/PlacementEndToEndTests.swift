import Foundation
import Testing

/// One `berth serve --node default` on the test engine: services are placed on the node and
/// converge as before, each replica's container and status name its node, and a replica no
/// node can take says why. (Three nodes on engines of their own: PlacementNodesEndToEndTests.)
@Suite("Placement end to end, one node")
struct PlacementEndToEndTests {
    @Test func aNodeRunsTheReplicasPlacedOnItAndAReplicaWithoutANodeSaysWhy() async throws {
        let scenario = try await Scenario(.sqlite)
        defer { scenario.finish() }
        // given: web (two replicas, placed on default) and lost (placed on a node that does not exist)
        try scenario.write(
            serviceYAML(scenario, "web", extra: "  replicas: 2") + serviceYAML(scenario, "lost", extra: "  placement: {node: elsewhere}"))

        // when
        try scenario.startServe(["--node", "default"])

        // then: both replicas of web run here, made for the assignment's generation 1
        for replica in 0..<2 {
            let name = scenario.container("web", replica)
            try await scenario.eventually(60, "\(name) runs") { await scenario.inspect(name, "{{.State.Status}}") == "running" }
            #expect(await scenario.inspect(name, "{{index .Config.Labels \"berth.assignment-generation\"}}") == "1")
        }
        try await scenario.eventually(30, "web is Ready with its replicas on node default") {
            let web = try await scenario.statuses()["Service/web"]
            let replicas = web?["replicas"] as? [[String: Any]] ?? []
            return web?["phase"] as? String == "Ready" && replicas.map { $0["node"] as? String } == ["default", "default"]
                && replicas.map { $0["replica"] as? Int } == [0, 1]
        }
        // and: lost waits, saying why, with nothing made for it
        try await scenario.eventually(30, "lost says why it waits") {
            let lost = try await scenario.statuses()["Service/lost"]
            let conditions = lost?["conditions"] as? [[String: Any]] ?? []
            let message = conditions.first { $0["type"] as? String == "Ready" }?["message"] as? String ?? ""
            return lost?["phase"] as? String == "Progressing" && message.hasPrefix("replica 0 waiting for a node: ")
        }
        #expect(await scenario.inspect(scenario.container("lost"), "{{.State.Status}}") == nil)
        let events = try await scenario.berth("events", "--project", scenario.project)
        #expect(events.stdout.contains("start container \(scenario.container("web", 1)) on node default"), "\(events.stdout)")
        #expect(events.stdout.contains("replica 1 placed on node default, generation 1"), "\(events.stdout)")
        let table = try await scenario.berth("status", "--project", scenario.project)
        #expect(table.stdout.contains("NODE"), "\(table.stdout)")
    }
}
