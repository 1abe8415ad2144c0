import Foundation
import Testing
@testable import BerthCore

@Suite("Planner network rules, as golden plans")
struct NetworkPlannerTests {
    static func service(_ name: String, networks: [NetworkAttachment] = [], dependsOn: [Dependency] = [], replicas: Int = 1) throws -> Resource {
        let container = ContainerSpec(image: try ImageReference(parsing: "example/app:1"), networks: networks)
        let spec = ServiceSpec(container: container, replicas: replicas, dependsOn: dependsOn)
        return Resource(metadata: ResourceMetadata(name: name, project: "shop"), spec: .service(spec))
    }

    static func network(_ name: String, _ spec: NetworkSpec = NetworkSpec()) -> Resource {
        Resource(metadata: ResourceMetadata(name: name, project: "shop"), spec: .network(spec))
    }

    /// The world once `desired` is applied to an empty engine.
    static func converged(_ desired: DesiredState) -> ObservedState {
        var world = InMemoryWorld()
        world.apply(Fixture.plan(desired), at: Fixture.now)
        return world.observed
    }

    @Test func createsTheProjectsDefaultNetworkBeforeTheContainersThatJoinIt() throws {
        // given: two services that name no network
        let desired = try Fixture.desired(try Self.service("app"), try Self.service("web", dependsOn: [Dependency(name: "app")]))

        // when
        let plan = Fixture.plan(desired)

        // then
        #expect(
            plan.description == """
                + create network berth-shop-default (Network shop/default: missing)
                + create container berth-shop-app-0 (Service shop/app: missing)
                ~ start container berth-shop-app-0 (Service shop/app: missing)
                … wait until container berth-shop-app-0 is running (Service shop/app: dependents wait for it)
                + create container berth-shop-web-0 (Service shop/web: missing)
                ~ start container berth-shop-web-0 (Service shop/web: missing)
                Plan: 3 to create, 2 to change, 0 to remove.
                """)
        let creates = plan.actions.filter { if case .createContainer = $0.operation { true } else { false } }
        #expect(creates.allSatisfy { $0.after.contains(0) })
        guard case .createContainer(let target) = creates[0].operation else { return }
        // the service's name is its alias on the network
        #expect(target.endpoints == [NetworkEndpoint(network: "berth-shop-default", aliases: ["app"])])
    }

    @Test func joinsEveryListedNetworkWithItsAliasesAndAddress() throws {
        // given
        let backend = Self.network("backend", NetworkSpec(internal: true, ipam: NetworkSpec.IPAM(subnet: "10.20.0.0/24")))
        let app = try Self.service(
            "app",
            networks: [
                NetworkAttachment(name: "backend", aliases: ["api"], ipv4Address: "10.20.0.5"), NetworkAttachment(name: "default"),
            ])
        let desired = try Fixture.desired(backend, app)

        // when
        let plan = Fixture.plan(desired)

        // then
        #expect(
            plan.description == """
                + create network berth-shop-backend (Network shop/backend: missing)
                + create network berth-shop-default (Network shop/default: missing)
                + create container berth-shop-app-0 (Service shop/app: missing)
                ~ start container berth-shop-app-0 (Service shop/app: missing)
                Plan: 3 to create, 1 to change, 0 to remove.
                """)
        guard case .createContainer(let target) = plan.actions[2].operation else {
            Issue.record("expected a create")
            return
        }
        #expect(
            target.endpoints == [
                NetworkEndpoint(network: "berth-shop-backend", aliases: ["app", "api"], ipv4Address: "10.20.0.5"),
                NetworkEndpoint(network: "berth-shop-default", aliases: ["app"]),
            ])
        #expect(plan.actions[2].after == [0, 1])
    }

    @Test func aConvergedWorldPlansNothing() throws {
        let desired = try Fixture.desired(Self.network("backend"), try Self.service("app", networks: [NetworkAttachment(name: "backend")]))
        #expect(Fixture.plan(desired, Self.converged(desired)).isEmpty)
    }

    @Test func aChangedNetworkIsRecreatedAndItsContainersDetachedAndAttachedAgainInDependencyOrder() throws {
        // given: db ← app, both on backend, which becomes internal
        let services = [
            try Self.service("app", networks: [NetworkAttachment(name: "backend")], dependsOn: [Dependency(name: "db")]),
            try Self.service("db", networks: [NetworkAttachment(name: "backend")]),
        ]
        let before = try DesiredState.validate([Fixture.project("shop"), Self.network("backend")] + services)
        let after = try DesiredState.validate([Fixture.project("shop"), Self.network("backend", NetworkSpec(internal: true))] + services)

        // when
        let plan = Fixture.plan(after, Self.converged(before))

        // then: the containers keep running; only their attachment is renewed
        #expect(
            plan.description == """
                ~ disconnect container berth-shop-app-0 from network berth-shop-backend (Network shop/backend: spec changed: internal)
                ~ disconnect container berth-shop-db-0 from network berth-shop-backend (Network shop/backend: spec changed: internal)
                - remove network berth-shop-backend (Network shop/backend: spec changed: internal)
                + create network berth-shop-backend (Network shop/backend: spec changed: internal)
                ~ connect container berth-shop-db-0 to network berth-shop-backend (Service shop/db: network berth-shop-backend was recreated)
                ~ connect container berth-shop-app-0 to network berth-shop-backend (Service shop/app: network berth-shop-backend was recreated)
                Plan: 1 to create, 4 to change, 1 to remove.
                """)
        #expect(plan.actions[2].after == [0, 1])
        #expect(plan.actions[5].after == [3, 4], "app is attached after db, which it depends on")
        var world = InMemoryWorld(Self.converged(before))
        world.apply(plan, at: Fixture.now)
        #expect(Fixture.plan(after, world.observed).isEmpty)
    }

    @Test func aNetworkWithAStrangersContainerAttachedIsNotRecreated() throws {
        let before = try Fixture.desired(Self.network("backend"))
        let after = try DesiredState.validate([Fixture.project("shop"), Self.network("backend", NetworkSpec(internal: true))])
        var observed = Self.converged(before)
        observed.networks[0].containers = ["someone-elses"]

        let plan = Fixture.plan(after, observed)

        #expect(plan.isEmpty)
        #expect(
            plan.warnings.map(\.message) == [
                "network berth-shop-backend must be recreated (spec changed: internal) but containers Berth did not create are attached: someone-elses; detach them to let Berth recreate it"
            ])
    }

    @Test func anUndeclaredNetworkIsRemovedAfterItsLastContainerAndAStrangersNeverIs() throws {
        // given: backend and its one user are no longer declared; a foreign network exists too
        let before = try Fixture.desired(Self.network("backend"), try Self.service("app", networks: [NetworkAttachment(name: "backend")]))
        var observed = Self.converged(before)
        observed.foreignNetworkNames = ["bridge", "berth-shop-other"]
        let after = try Fixture.desired()

        // when
        let plan = Fixture.plan(after, observed)

        // then
        #expect(
            plan.description == """
                - remove container berth-shop-app-0 (Service shop/app: orphaned: no longer declared)
                - remove network berth-shop-backend (Network shop/backend: orphaned: no longer declared)
                Plan: 0 to create, 0 to change, 2 to remove.
                """)
        #expect(plan.actions[1].after == [0])
    }

    @Test func anUndeclaredNetworkStillUsedByAJobWaits() throws {
        let before = try Fixture.desired(Self.network("backend"))
        var observed = Self.converged(before)
        observed.networks[0].containers = ["berth-shop-job-42"]

        let plan = Fixture.plan(try Fixture.desired(), observed)

        #expect(plan.isEmpty)
        #expect(plan.waits.map(\.reason) == ["orphaned network berth-shop-backend is still used by berth-shop-job-42"])
    }

    @Test func theDefaultNetworkStaysWhileTheProjectDeclaresAnythingAndGoesWithIt() throws {
        let before = try Fixture.desired(try Self.service("app"))
        let observed = Self.converged(before)

        // the service goes, the project stays: the default network stays
        let kept = Fixture.plan(try Fixture.desired(), observed)
        #expect(kept.actions.map(\.description) == ["- remove container berth-shop-app-0 (Service shop/app: orphaned: no longer declared)"])

        // the project goes (berth destroy): the default network goes after its container
        var nothing = try DesiredState.validate([])
        nothing.includeInScope(["shop"])
        let destroyed = Fixture.plan(nothing, observed)
        #expect(
            destroyed.actions.map(\.description) == [
                "- remove container berth-shop-app-0 (Service shop/app: orphaned: no longer declared)",
                "- remove network berth-shop-default (Network shop/default: orphaned: no longer declared)",
            ])
    }

    @Test func aMissingExternalNetworkHoldsItsContainersBack() throws {
        let external = Self.network("legacy", NetworkSpec(external: true, networkName: "legacy_net"))
        let desired = try Fixture.desired(external, try Self.service("app", networks: [NetworkAttachment(name: "legacy")]))

        let missing = Fixture.plan(desired)
        #expect(missing.isEmpty)
        #expect(missing.waits.map(\.reason) == ["network legacy_net does not exist"])
        #expect(missing.warnings.map(\.message) == ["external network legacy_net does not exist; create it, or drop external to let Berth create it"])

        let present = Fixture.plan(desired, ObservedState(foreignNetworkNames: ["legacy_net"]))
        #expect(
            present.actions.map(\.description) == [
                "+ create container berth-shop-app-0 (Service shop/app: missing)",
                "~ start container berth-shop-app-0 (Service shop/app: missing)",
            ])
    }

    @Test func aContainerDetachedByHandIsAttachedAgain() throws {
        let desired = try Fixture.desired(Self.network("backend"), try Self.service("app", networks: [NetworkAttachment(name: "backend")]))
        var observed = Self.converged(desired)
        observed.containers[0].endpoints = []
        observed.networks[0].containers = []

        let plan = Fixture.plan(desired, observed)

        #expect(plan.actions.map(\.description) == ["~ connect container berth-shop-app-0 to network berth-shop-backend (Service shop/app: not attached to network berth-shop-backend)"])
    }
}

extension NetworkPlannerTests {
    @Test func aServiceWithAFixedAddressIsReplacedStopFirst() throws {
        let backend = Self.network("backend", NetworkSpec(ipam: NetworkSpec.IPAM(subnet: "10.20.0.0/24")))
        let attachment = [NetworkAttachment(name: "backend", ipv4Address: "10.20.0.5")]
        let before = try Fixture.desired(backend, try Self.service("app", networks: attachment))
        let changed = ContainerSpec(image: try ImageReference(parsing: "example/app:2"), networks: attachment)
        let after = try Fixture.desired(backend, Resource(metadata: ResourceMetadata(name: "app", project: "shop"), spec: .service(ServiceSpec(container: changed))))

        let plan = Fixture.plan(after, Self.converged(before))

        #expect(plan.actions.map(\.description).first == "- remove container berth-shop-app-0 (Service shop/app: spec changed: image)")
    }
}
