import BerthCore
import Foundation
import Testing

private let now = Date(timeIntervalSince1970: 1_800_000_000)

private func id(_ name: String) -> ResourceID {
    ResourceID(kind: .service, project: "shop", name: name)
}

private func service(_ name: String, replicas: Int = 1, placement: PlacementSpec? = nil, volume: Bool = false) throws -> (id: ResourceID, spec: ServiceSpec) {
    var container = ContainerSpec(image: try ImageReference(parsing: "localhost/app:1"))
    if volume { container.volumes = [try Mount(parsing: "data:/data")] }
    return (id(name), ServiceSpec(container: container, replicas: replicas, placement: placement))
}

private func node(
    _ name: String, _ labels: [String: String] = [:], ready: Bool = true, cordoned: Bool = false, draining: Bool = false,
    notReadyFor seconds: TimeInterval? = nil
) -> PlacementNode {
    PlacementNode(
        name: name, labels: labels, ready: ready && seconds == nil, cordoned: cordoned, draining: draining,
        notReadySince: seconds.map { now.addingTimeInterval(-$0) })
}

private func on(_ name: String, _ replica: Int, _ node: String, generation: Int64 = 1) -> ReplicaAssignment {
    ReplicaAssignment(service: id(name), replica: replica, node: node, generation: generation, assignedAt: now.addingTimeInterval(-3600))
}

/// The decision as lines: `web/0 → b (1)`, `- web/2`, `web: why`.
private func lines(_ decision: PlacementDecision) -> [String] {
    decision.assign.map { "\($0.service.name)/\($0.replica) → \($0.node) (\($0.generation))" }
        + decision.unassign.map { "- \($0.service.name)/\($0.replica)" }
        + decision.waiting.sorted { $0.key < $1.key }.map { "\($0.key.name): \($0.value)" }
}

private func plan(
    _ services: [(id: ResourceID, spec: ServiceSpec)], _ nodes: [PlacementNode], _ assignments: [ReplicaAssignment] = []
) -> [String] {
    let decision = PlacementPlanner.plan(services: services, nodes: nodes, assignments: assignments, now: now)
    #expect(decision.assign.allSatisfy { $0.assignedAt == now })
    return lines(decision)
}

/// Issue 23: which node runs each service replica.
@Suite("Placement planner")
struct PlacementPlannerTests {
    // MARK: Where a service without placement goes

    @Test func withoutPlacementReplicasGoToTheNodeNamedDefault() throws {
        #expect(plan([try service("web", replicas: 2)], [node("a"), node("default"), node("z")]) == ["web/0 → default (1)", "web/1 → default (1)"])
    }

    @Test func withoutPlacementReplicasGoToTheOnlyNode() throws {
        #expect(plan([try service("web", replicas: 2)], [node("solo")]) == ["web/0 → solo (1)", "web/1 → solo (1)"])
    }

    @Test func withoutPlacementAndSeveralNodesNoneNamedDefaultReplicasWait() throws {
        #expect(
            plan([try service("web", replicas: 2)], [node("a"), node("b")]) == [
                "web: replicas 0, 1 wait: no node to place it on: declare placement or run a node named default"
            ])
        #expect(plan([try service("web")], []) == ["web: replica 0 waits: no node to place it on: declare placement or run a node named default"])
    }

    @Test func withoutPlacementReplicasWaitForANotReadyDefaultNode() throws {
        #expect(
            plan([try service("web")], [node("a"), node("default", notReadyFor: 5)]) == [
                "web: replica 0 waits: no node to place it on: the nodes its placement admits take no new replicas (default NotReady)"
            ])
    }

    // MARK: Candidates

    @Test func aNamedNodeOrANodeSelectorChoosesTheCandidates() throws {
        let nodes = [node("a", ["zone": "eu", "disk": "ssd"]), node("b", ["zone": "eu"]), node("c", ["zone": "us", "disk": "ssd"])]
        #expect(plan([try service("web", replicas: 2, placement: PlacementSpec(node: "c"))], nodes) == ["web/0 → c (1)", "web/1 → c (1)"])
        let selector = PlacementSpec(nodeSelector: ["disk": "ssd", "zone": "eu"])
        #expect(plan([try service("web", replicas: 2, placement: selector)], nodes) == ["web/0 → a (1)", "web/1 → a (1)"])
        #expect(plan([try service("web", replicas: 3, placement: PlacementSpec())], nodes) == ["web/0 → a (1)", "web/1 → b (1)", "web/2 → c (1)"])
    }

    @Test func aNotReadyCordonedOrDrainingNodeTakesNoNewReplica() throws {
        // given
        let nodes = [node("a", notReadyFor: 1), node("b", cordoned: true), node("c", draining: true), node("d")]
        // when / then
        #expect(plan([try service("web", replicas: 2, placement: PlacementSpec())], nodes) == ["web/0 → d (1)", "web/1 → d (1)"])
        #expect(
            plan([try service("web", placement: PlacementSpec())], Array(nodes.prefix(3))) == [
                "web: replica 0 waits: no node to place it on: the nodes its placement admits take no new replicas (a NotReady, b Cordoned, c Draining)"
            ])
    }

    @Test func aPlacementNoNodeMatchesSaysWhy() throws {
        let nodes = [node("a", ["zone": "eu"])]
        #expect(
            plan([try service("web", placement: PlacementSpec(node: "b"))], nodes) == ["web: replica 0 waits: no node to place it on: no node named b has registered"])
        #expect(
            plan([try service("web", placement: PlacementSpec(nodeSelector: ["zone": "us", "disk": "ssd"]))], nodes) == [
                "web: replica 0 waits: no node to place it on: no node has the labels disk=ssd, zone=us"
            ])
        #expect(plan([try service("web", placement: PlacementSpec())], []) == ["web: replica 0 waits: no node to place it on: no node has registered"])
    }

    // MARK: Spreading

    @Test func spreadGoesToTheFewestOfTheServiceThenTheFewestOverallThenByName() throws {
        // given: node a runs two replicas of another service
        let services = [try service("web", replicas: 4, placement: PlacementSpec()), try service("db", replicas: 2, placement: PlacementSpec(node: "a"))]
        let assignments = [on("db", 0, "a"), on("db", 1, "a")]
        // when / then
        #expect(plan(services, [node("c"), node("a"), node("b")], assignments) == ["web/0 → b (1)", "web/1 → c (1)", "web/2 → a (1)", "web/3 → b (1)"])
    }

    @Test func everyKeptReplicaCountsBeforeAnyIsPlacedWhateverTheServiceOrder() throws {
        // given: "alpha" is placed first, "zulu" keeps two replicas on a
        let services = [try service("zulu", replicas: 2, placement: PlacementSpec()), try service("alpha", placement: PlacementSpec())]
        let assignments = [on("zulu", 0, "a"), on("zulu", 1, "a")]
        // when / then
        #expect(plan(services, [node("a"), node("b")], assignments) == ["alpha/0 → b (1)"])
    }

    @Test func aServiceThatDoesNotSpreadKeepsEveryReplicaOnTheLeastLoadedNode() throws {
        // given: a runs one replica of another service
        let services = [try service("web", replicas: 3, placement: PlacementSpec(spread: false)), try service("db", placement: PlacementSpec(node: "a"))]
        // when / then
        #expect(plan(services, [node("a"), node("b")], [on("db", 0, "a")]) == ["web/0 → b (1)", "web/1 → b (1)", "web/2 → b (1)"])
    }

    @Test func aServiceWithANamedVolumeDoesNotSpreadUnlessItSaysSo() throws {
        let nodes = [node("a"), node("b")]
        #expect(plan([try service("db", replicas: 2, placement: PlacementSpec(), volume: true)], nodes) == ["db/0 → a (1)", "db/1 → a (1)"])
        #expect(plan([try service("db", replicas: 2, placement: PlacementSpec(spread: true), volume: true)], nodes) == ["db/0 → a (1)", "db/1 → b (1)"])
    }

    @Test func aServiceThatDoesNotSpreadGrowsOnTheNodeItRunsOn() throws {
        // given: its replica runs on b, a is emptier
        let services = [try service("web", replicas: 3, placement: PlacementSpec(spread: false))]
        // when / then
        #expect(plan(services, [node("a"), node("b")], [on("web", 0, "b")]) == ["web/1 → b (1)", "web/2 → b (1)"])
    }

    @Test func aServiceThatStopsSpreadingGathersOnTheNodeWithMostOfItsReplicas() throws {
        // given
        let services = [try service("web", replicas: 3, placement: PlacementSpec(spread: false))]
        let assignments = [on("web", 0, "a", generation: 2), on("web", 1, "b"), on("web", 2, "b")]
        // when / then
        #expect(plan(services, [node("a"), node("b")], assignments) == ["web/0 → b (3)"])
    }

    @Test func aServiceThatDoesNotSpreadWaitsWhenItsNodeTakesNoNewReplica() throws {
        // given: its node is cordoned; b is free
        let services = [try service("db", replicas: 2, volume: true)]
        let nodes = [node("default", cordoned: true), node("b")]
        // when / then
        #expect(
            plan(services, nodes, [on("db", 0, "default")]) == [
                "db: replica 1 waits: spread: false keeps its replicas on node default, which takes no new replicas (Cordoned)"
            ])
    }

    // MARK: Keeping and moving

    @Test func aReplicaKeepsItsNodeWhileItMatchesEvenCordoned() throws {
        // given
        let services = [try service("web", replicas: 2, placement: PlacementSpec())]
        let assignments = [on("web", 0, "a", generation: 4), on("web", 1, "a")]
        // when
        let decision = PlacementPlanner.plan(services: services, nodes: [node("a", cordoned: true), node("b")], assignments: assignments, now: now)
        // then
        #expect(decision.changesNothing && decision.waiting.isEmpty)
    }

    @Test func aReplicaWaitsForItsNotReadyNodeUntilRescheduleAfterThenMovesOneGenerationLater() throws {
        // given
        let services = [try service("web", replicas: 2, placement: PlacementSpec(rescheduleAfter: .after(.seconds(90))))]
        let assignments = [on("web", 0, "a", generation: 3), on("web", 1, "b")]
        // when / then: NotReady for exactly 90 s keeps it, for longer moves it
        #expect(plan(services, [node("a", notReadyFor: 90), node("b"), node("c")], assignments).isEmpty)
        #expect(plan(services, [node("a", notReadyFor: 91), node("b"), node("c")], assignments) == ["web/0 → c (4)"])
    }

    @Test func theDecisionSaysWhenTheFirstReplicaKeptOnANotReadyNodeIsDueToMove() throws {
        // given: web waits 90 s and api 30 s for node a, NotReady for 20 s; db never moves
        let services = [
            try service("web", placement: PlacementSpec(rescheduleAfter: .after(.seconds(90)))),
            try service("api", placement: PlacementSpec(rescheduleAfter: .after(.seconds(30)))),
            try service("db", placement: PlacementSpec(rescheduleAfter: .never)),
        ]
        let assignments = [on("web", 0, "a"), on("api", 0, "a"), on("db", 0, "a")]
        // when
        let waiting = PlacementPlanner.plan(services: services, nodes: [node("a", notReadyFor: 20), node("b")], assignments: assignments, now: now)
        let settled = PlacementPlanner.plan(services: services, nodes: [node("a"), node("b")], assignments: assignments, now: now)
        // then: api's move is due 10 s from now; with a Ready, nothing is due
        #expect(waiting.changesNothing && waiting.moveDueAt == now.addingTimeInterval(10))
        #expect(settled.moveDueAt == nil)
    }

    @Test func theDefaultRescheduleAfterIsOneMinuteAndNeverWaitsForever() throws {
        let nodes = [node("a", notReadyFor: 61), node("b")]
        #expect(plan([try service("web", placement: PlacementSpec())], nodes, [on("web", 0, "a")]) == ["web/0 → b (2)"])
        #expect(plan([try service("web", placement: PlacementSpec(rescheduleAfter: .never))], nodes, [on("web", 0, "a")]).isEmpty)
        #expect(plan([try service("db", placement: PlacementSpec(), volume: true)], nodes, [on("db", 0, "a")]).isEmpty, "a named volume: never")
        #expect(plan([try service("web", placement: PlacementSpec())], [node("a", notReadyFor: 59), node("b")], [on("web", 0, "a")]).isEmpty)
    }

    @Test func aReplicaLeavesARemovedDrainingOrNoLongerMatchingNode() throws {
        // given
        let services = [
            try service("gone", placement: PlacementSpec()),
            try service("drained", placement: PlacementSpec()),
            try service("moved", placement: PlacementSpec(nodeSelector: ["zone": "eu"])),
            try service("db", placement: PlacementSpec(rescheduleAfter: .never), volume: true),
        ]
        let nodes = [node("b", ["zone": "us"], draining: true), node("c", ["zone": "eu"])]
        let assignments = [on("gone", 0, "a"), on("drained", 0, "b"), on("moved", 0, "c", generation: 7), on("db", 0, "b", generation: 2)]
        // when / then: moved stays on c, which matches its selector
        #expect(plan(services, nodes, assignments) == ["db/0 → c (3)", "drained/0 → c (2)", "gone/0 → c (2)"])
        let relabelled = [node("b", ["zone": "us"]), node("c", ["zone": "us"]), node("d", ["zone": "eu"])]
        #expect(plan([services[2]], relabelled, [on("moved", 0, "c", generation: 7)]) == ["moved/0 → d (8)"])
    }

    @Test func aReplicaThatMustLeaveButHasNowhereToGoStaysAndSaysWhy() throws {
        // given
        let services = [try service("web", replicas: 2, placement: PlacementSpec(nodeSelector: ["zone": "eu"]))]
        let nodes = [node("a", ["zone": "eu"], notReadyFor: 300), node("b", ["zone": "us"])]
        // when / then
        #expect(
            plan(services, nodes, [on("web", 0, "a")]) == [
                "web: replica 0 stays on node a (node a has been NotReady for longer than 1m): no node to place it on: the nodes its placement admits take no new replicas (a NotReady); replica 1 waits: no node to place it on: the nodes its placement admits take no new replicas (a NotReady)"
            ])
    }

    @Test func aReplicaWithoutPlacementStaysOnItsNodeWhenASecondNodeAppears() throws {
        let decision = PlacementPlanner.plan(services: [try service("web")], nodes: [node("a"), node("b")], assignments: [on("web", 0, "a")], now: now)
        #expect(decision.changesNothing)
        #expect(decision.waiting[id("web")]?.hasPrefix("replica 0 stays on node a (node a no longer matches its placement)") == true)
    }

    // MARK: Unassigning

    @Test func replicasBeyondTheCountAndServicesNoLongerDeclaredAreUnassigned() throws {
        // given
        let services = [try service("web", replicas: 1, placement: PlacementSpec())]
        let assignments = [on("web", 2, "a"), on("old", 0, "a"), on("web", 0, "a"), on("web", 1, "b")]
        // when / then
        #expect(plan(services, [node("a"), node("b")], assignments) == ["- old/0", "- web/1", "- web/2"])
    }

    // MARK: Determinism

    @Test func theSameInputsInAnyOrderGiveTheSameDecision() throws {
        // given
        let services = [
            try service("web", replicas: 5, placement: PlacementSpec()), try service("api", replicas: 3, placement: PlacementSpec(nodeSelector: ["zone": "eu"])),
            try service("db", replicas: 2, placement: PlacementSpec(), volume: true), try service("gone", placement: PlacementSpec()),
        ]
        let nodes = [node("a", ["zone": "eu"]), node("b", ["zone": "eu"]), node("c", ["zone": "us"]), node("d", notReadyFor: 600)]
        let assignments = [on("web", 0, "d"), on("api", 2, "c"), on("old", 1, "a"), on("web", 3, "b", generation: 5)]
        let expected = plan(services, nodes, assignments)
        // when / then
        for seed in 0..<20 {
            var generator = SeededGenerator(seed: UInt64(seed))
            let shuffled = plan(
                services.shuffled(using: &generator), nodes.shuffled(using: &generator), assignments.shuffled(using: &generator))
            #expect(shuffled == expected)
        }
        #expect(expected.count > 8)
    }
}
