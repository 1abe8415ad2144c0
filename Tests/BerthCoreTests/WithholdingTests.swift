import Foundation
import Testing
@testable import BerthCore

@Suite("Plan.withholding: actions of resources in backoff, and of what depends on them")
struct WithholdingTests {
    /// A volume `data`, a `db` with a health check mounting it, `web` waiting for `db` to be
    /// healthy, `worker` waiting for `web` to start, and an unrelated `cache`.
    static func stack() throws -> (desired: DesiredState, plan: Plan) {
        let desired = try Fixture.desired(
            Fixture.volume("data"),
            try Fixture.service("db", volumes: ["data:/var/lib/db"], healthcheck: true),
            try Fixture.service("web", dependsOn: [Dependency(name: "db", condition: .healthy)]),
            try Fixture.service("worker", dependsOn: [Dependency(name: "web")]),
            try Fixture.service("cache")
        )
        return (desired, Fixture.plan(desired))
    }

    static func id(_ kind: ResourceKind, _ name: String) -> ResourceID {
        ResourceID(kind: kind, project: "shop", name: name)
    }

    static let later = Fixture.now.addingTimeInterval(30)

    /// Every action's id is its position and every `after` points to an earlier action.
    static func expectConsistent(_ plan: Plan, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        for (index, action) in plan.actions.enumerated() {
            #expect(action.id == index, "action \(action) has id \(action.id) at position \(index)", sourceLocation: sourceLocation)
            #expect(action.after.allSatisfy { $0 >= 0 && $0 < index }, "action \(action) waits for \(action.after)", sourceLocation: sourceLocation)
        }
    }

    @Test func isTheIdentityWithoutWaits() throws {
        // given
        let (_, plan) = try Self.stack()

        // when
        let result = plan.withholding([:])

        // then
        #expect(result == plan)
    }

    @Test func withholdsAHeldServiceAndTransitivelyWhatDependsOnIt() throws {
        // given
        let (_, plan) = try Self.stack()
        let db = Self.id(.service, "db")
        let held = Wait(resource: db, reason: "backing off", until: Self.later)

        // when
        let result = plan.withholding([db: held])

        // then
        #expect(
            result.description == """
                + create volume berth-shop-data (Volume shop/data: missing)
                + create container berth-shop-cache-0 (Service shop/cache: missing)
                ~ start container berth-shop-cache-0 (Service shop/cache: missing)
                Waiting:
                  Service shop/db: backing off
                  Service shop/web: waiting for Service shop/db, which is backing off after a failure
                  Service shop/worker: waiting for Service shop/db, which is backing off after a failure
                Plan: 2 to create, 1 to change, 0 to remove.
                """)
        // The worker is held up by web, which is held up by db: its wait names the root, with db's time.
        #expect(result.waits.map(\.until) == [Self.later, Self.later, Self.later])
        Self.expectConsistent(result)
    }

    @Test func renumbersIdsAndAfterSoTheyPointToTheSameActions() throws {
        // given: holding the volume, the first action, shifts every id that remains
        let (_, plan) = try Self.stack()
        let data = Self.id(.volume, "data")
        let summaries = Dictionary(uniqueKeysWithValues: plan.actions.map { ($0.id, $0.operation.summary) })

        // when
        let result = plan.withholding([data: Wait(resource: data, reason: "backing off", until: Self.later)])

        // then
        Self.expectConsistent(result)
        #expect(
            result.actions.map(\.operation.summary) == [
                "create container berth-shop-cache-0",
                "start container berth-shop-cache-0",
            ])
        for kept in result.actions {
            let original = try #require(plan.actions.first { $0.operation == kept.operation })
            #expect(kept.after.map { result.actions[$0].operation.summary } == original.after.map { summaries[$0]! })
        }
        #expect(result.waits.map(\.resource) == [data, Self.id(.service, "db"), Self.id(.service, "web"), Self.id(.service, "worker")])
    }

    @Test func keepsDependenciesBetweenTheActionsThatRemain() throws {
        // given: holding the last service in the chain leaves the rest of the chain intact
        let (_, plan) = try Self.stack()
        let worker = Self.id(.service, "worker")

        // when
        let result = plan.withholding([worker: Wait(resource: worker, reason: "backing off", until: Self.later)])

        // then
        Self.expectConsistent(result)
        let expected = plan.actions.filter { $0.resource != worker }
        #expect(result.actions.map(\.operation) == expected.map(\.operation))
        let startWeb = try #require(result.actions.first { $0.operation == .startContainer(name: "berth-shop-web-0") })
        let createWeb = try #require(result.actions.first { $0.operation.summary == "create container berth-shop-web-0" })
        #expect(startWeb.after == [createWeb.id])
        let awaitDB = try #require(result.actions.first { $0.operation == .awaitReady(name: "berth-shop-db-0", condition: .healthy) })
        #expect(createWeb.after == [awaitDB.id])
        #expect(result.waits == [Wait(resource: worker, reason: "backing off", until: Self.later)])
    }

    @Test func keepsThePlannersOwnWaitsAndWarnings() throws {
        // given
        let plan = Plan(
            actions: [Action(id: 0, resource: Self.id(.service, "db"), operation: .startContainer(name: "berth-shop-db-0"), cause: "exited with code 1")],
            waits: [Wait(resource: Self.id(.service, "web"), reason: "container berth-shop-web-0 is restarting")],
            warnings: [Warning(resource: nil, message: "something to look at")]
        )
        let db = Self.id(.service, "db")

        // when
        let result = plan.withholding([db: Wait(resource: db, reason: "backing off", until: Self.later)])

        // then
        #expect(result.actions.isEmpty)
        #expect(result.waits == plan.waits + [Wait(resource: db, reason: "backing off", until: Self.later)])
        #expect(result.warnings == plan.warnings)
    }

    @Test func addsNoWaitForAHeldResourceThePlanDoesNotTouch() throws {
        // given
        let (_, plan) = try Self.stack()
        let gone = Self.id(.service, "gone")

        // when
        let result = plan.withholding([gone: Wait(resource: gone, reason: "backing off", until: Self.later)])

        // then
        #expect(result == plan)
    }
}
