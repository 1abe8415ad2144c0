import Foundation
import Testing
@testable import BerthCore

@Suite("Planner rules on a node, by the replicas' assignments")
struct PlannerPlacementTests {
    static func assignment(_ service: Resource, _ replica: Int, on node: String, generation: Int64 = 1) -> ReplicaAssignment {
        ReplicaAssignment(service: service.id, replica: replica, node: node, generation: generation, assignedAt: Fixture.now)
    }

    /// A container as the executor made it on a node, for the assignment of `generation`.
    static func container(for service: Resource, in desired: DesiredState, replica: Int, generation: Int64?) -> ObservedContainer {
        var container = Fixture.container(for: service, in: desired, replica: replica)
        container.labels[LabelKey.assignmentGeneration] = generation.map(String.init)
        return container
    }

    @Test func createsOnlyTheReplicasAssignedToItsNodeWithTheirGeneration() throws {
        // given
        let web = try Fixture.service("web", replicas: 3)
        let desired = try Fixture.desired(web)
        let placement = ReplicaPlacement.node("a", assignments: [Self.assignment(web, 0, on: "a", generation: 2), Self.assignment(web, 1, on: "b")])

        // when
        let plan = Fixture.plan(desired, placement: placement)

        // then
        #expect(
            plan.description == """
                + create container berth-shop-web-0 (Service shop/web: missing)
                ~ start container berth-shop-web-0 (Service shop/web: missing)
                Plan: 1 to create, 1 to change, 0 to remove.
                """)
        guard case .createContainer(let target) = plan.actions[0].operation else {
            Issue.record("expected a create first")
            return
        }
        #expect(target.labels[LabelKey.assignmentGeneration] == "2")
        #expect(target.labels[LabelKey.specHash] == desired.specHashes[web.id])
    }

    @Test func createsWithoutAGenerationLabelWhenEveryReplicaRunsHere() throws {
        let web = try Fixture.service("web")
        let desired = try Fixture.desired(web)

        let plan = Fixture.plan(desired)

        guard case .createContainer(let target) = plan.actions.first?.operation else {
            Issue.record("expected a create first")
            return
        }
        #expect(target.labels[LabelKey.assignmentGeneration] == nil)
    }

    @Test func removesReplicasAssignedElsewhereBeforeAnythingStarts() throws {
        // given: replica 0 moved to b, replica 1 moved here, and the exited replica 2 stays here
        let web = try Fixture.service("web", replicas: 3)
        let desired = try Fixture.desired(web)
        var stopped = Self.container(for: web, in: desired, replica: 2, generation: 1)
        stopped.state = .exited
        stopped.exitCode = 1
        let observed = ObservedState(containers: [Self.container(for: web, in: desired, replica: 0, generation: 1), stopped])
        let placement = ReplicaPlacement.node(
            "a", assignments: [Self.assignment(web, 0, on: "b", generation: 2), Self.assignment(web, 1, on: "a", generation: 3), Self.assignment(web, 2, on: "a")])

        // when
        let plan = Fixture.plan(desired, observed, placement: placement)

        // then
        #expect(
            plan.description == """
                - remove container berth-shop-web-0 (Service shop/web: replica 0 is assigned to node b (generation 2))
                + create container berth-shop-web-1 (Service shop/web: missing)
                ~ start container berth-shop-web-1 (Service shop/web: missing)
                ~ start container berth-shop-web-2 (Service shop/web: exited with code 1)
                Plan: 1 to create, 2 to change, 1 to remove.
                """)
        for action in plan.actions.dropFirst() {
            #expect(action.after.contains(0), "\(action) waits for the removal of the replica that moved away")
        }
    }

    @Test func keepsAnUnassignedReplicasContainerButCreatesNone() throws {
        // given: the store was not read yet, so no replica is assigned
        let web = try Fixture.service("web", replicas: 2)
        let desired = try Fixture.desired(web)
        var crashed = Fixture.container(for: web, in: desired, replica: 0)
        crashed.state = .exited
        crashed.exitCode = 2

        // when
        let plan = Fixture.plan(desired, ObservedState(containers: [crashed]), placement: .node("a", [:]))

        // then: the local replica heals, the missing one is not created here
        #expect(
            plan.description == """
                ~ start container berth-shop-web-0 (Service shop/web: exited with code 2)
                Plan: 0 to create, 1 to change, 0 to remove.
                """)
    }

    @Test func replacesAContainerOfAnEarlierAssignmentToTheSameNode() throws {
        let web = try Fixture.service("web")
        let desired = try Fixture.desired(web)
        let observed = ObservedState(containers: [Self.container(for: web, in: desired, replica: 0, generation: 1)])

        let plan = Fixture.plan(desired, observed, placement: .node("a", assignments: [Self.assignment(web, 0, on: "a", generation: 3)]))

        let cause = "placed on node a again (assignment generation 3, the container's 1)"
        #expect(
            plan.description == """
                ~ rename container berth-shop-web-0 to berth-shop-web-0-old (Service shop/web: \(cause))
                + create container berth-shop-web-0 (Service shop/web: \(cause))
                ~ start container berth-shop-web-0 (Service shop/web: \(cause))
                … wait until container berth-shop-web-0 is running (Service shop/web: before removing the replaced container)
                - remove container berth-shop-web-0-old (Service shop/web: replaced by berth-shop-web-0)
                Plan: 1 to create, 2 to change, 1 to remove.
                """)
    }

    @Test(arguments: [nil, 3] as [Int64?])
    func aContainerOfTheCurrentGenerationOrWithoutTheLabelIsNoDrift(generation: Int64?) throws {
        let web = try Fixture.service("web")
        let desired = try Fixture.desired(web)
        let observed = ObservedState(containers: [Self.container(for: web, in: desired, replica: 0, generation: generation)])

        let plan = Fixture.plan(desired, observed, placement: .node("a", assignments: [Self.assignment(web, 0, on: "a", generation: 3)]))

        #expect(plan.isEmpty)
    }

    @Test func aDependencyOnAnotherNodeDoesNotHoldItsDependentsBack() throws {
        // given: db runs on b; web, which needs it started, is placed here
        let db = try Fixture.service("db")
        let web = try Fixture.service("web", dependsOn: [Dependency(name: "db", condition: .started)])
        let desired = try Fixture.desired(db, web)
        let placement = ReplicaPlacement.node("a", assignments: [Self.assignment(db, 0, on: "b"), Self.assignment(web, 0, on: "a")])

        // when
        let plan = Fixture.plan(desired, placement: placement)

        // then
        #expect(plan.waits.isEmpty)
        #expect(plan.actions.map(\.operation.summary) == ["create container berth-shop-web-0", "start container berth-shop-web-0"])
    }

    @Test func anUnplacedDependencyHoldsItsDependentsBackSayingSo() throws {
        let db = try Fixture.service("db")
        let web = try Fixture.service("web", dependsOn: [Dependency(name: "db", condition: .started)])
        let desired = try Fixture.desired(db, web)

        let plan = Fixture.plan(desired, placement: .node("a", assignments: [Self.assignment(web, 0, on: "a")]))

        #expect(plan.actions.isEmpty)
        #expect(plan.waits.map(\.reason) == ["waiting for service db to be started: replica 0 is not placed on a node yet"])
    }

    @Test func convergesOnANodeByPlanningAgainUntilNothingIsLeft() throws {
        // given: replicas 0 and 2 here, 1 elsewhere; the engine holds a stale replica 1
        let web = try Fixture.service("web", replicas: 3, healthcheck: true)
        let desired = try Fixture.desired(web)
        let placement = ReplicaPlacement.node(
            "a", assignments: [Self.assignment(web, 0, on: "a"), Self.assignment(web, 1, on: "b", generation: 2), Self.assignment(web, 2, on: "a", generation: 4)])
        var world = InMemoryWorld(ObservedState(containers: [Self.container(for: web, in: desired, replica: 1, generation: 1)]))

        // when
        world.apply(Fixture.plan(desired, world.observed, placement: placement), at: Fixture.now)
        let again = Fixture.plan(desired, world.observed, placement: placement)

        // then
        #expect(again.isEmpty, "\(again)")
        #expect(world.observed.containers.map(\.name).sorted() == ["berth-shop-web-0", "berth-shop-web-2"])
        #expect(world.observed.containers.map(\.assignmentGeneration).sorted { ($0 ?? 0) < ($1 ?? 0) } == [1, 4])
    }
}
