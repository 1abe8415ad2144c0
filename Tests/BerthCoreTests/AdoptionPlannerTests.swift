import Foundation
import Testing

@testable import BerthCore

/// Adopted containers (a compose project's, recorded as replicas): compared field by field with
/// the desired spec, then healed or replaced like Berth's own.
@Suite("Planner rules for adopted containers, as golden plans")
struct AdoptionPlannerTests {
    /// Compose's `shop_web_1`, adopted as replica 0 of `web`, with the spec read back from the
    /// engine (volumes by engine name).
    static func adopted(
        _ spec: ContainerSpec, service: String = "web", replica: Int = 0, state: ObservedContainer.State = .running,
        health: ObservedContainer.Health? = nil, healthcheck: HealthcheckSpec? = nil, exitCode: Int? = nil
    ) -> ObservedContainer {
        let adoption = Adoption(
            containerID: "compose-\(service)-\(replica)", containerName: "shop_\(service)_\(replica + 1)",
            service: ResourceID(kind: .service, project: "shop", name: service), replica: replica, adoptedAt: Fixture.now.addingTimeInterval(-3600))
        return ObservedContainer(
            id: adoption.containerID, name: adoption.containerName,
            labels: adoption.observedLabels.merging(["com.docker.compose.project": "shop"]) { own, _ in own }, state: state, health: health,
            exitCode: exitCode, startedAt: Fixture.now.addingTimeInterval(-60), finishedAt: state == .exited ? Fixture.now.addingTimeInterval(-5) : nil,
            spec: ServiceSpec(container: spec, healthcheck: healthcheck, restart: .never), adopted: true
        )
    }

    /// `web` on Berth's side: example/app:1, `MODE`, the compose volume `shop_data` adopted as
    /// the external Volume `data`.
    static func desired(image: String = "example/app:1", mode: String = "a", healthcheck: Bool = false) throws -> DesiredState {
        let data = Resource(metadata: ResourceMetadata(name: "data", project: "shop"), spec: .volume(VolumeSpec(external: true, volumeName: "shop_data")))
        let web = try Fixture.service("web", image: image, env: ["MODE": .literal(mode)], volumes: ["data:/data:ro"], healthcheck: healthcheck)
        return try Fixture.desired(data, web)
    }

    static func readBack(image: String = "example/app:1", mode: String = "a") throws -> ContainerSpec {
        ContainerSpec(
            image: try ImageReference(parsing: image), env: ["MODE": .literal(mode)],
            volumes: [Mount(source: .volume("shop_data"), target: "/data", readOnly: true)], network: .none
        )
    }

    @Test func plansNothingForAnAdoptedContainerThatMatchesFieldByField() throws {
        // given
        let desired = try Self.desired()
        let observed = ObservedState(containers: [Self.adopted(try Self.readBack())], foreignVolumeNames: ["shop_data"])
        // when
        let plan = Fixture.plan(desired, observed)
        // then
        #expect(plan.description == "No changes. The world matches the desired state.")
        #expect(plan.warnings.isEmpty && plan.waits.isEmpty)
    }

    @Test func replacesAnAdoptedContainerThatDiffersNamingEachField() throws {
        // given: the desired spec moved to image 2 and MODE b
        let desired = try Self.desired(image: "example/app:2", mode: "b")
        let observed = ObservedState(containers: [Self.adopted(try Self.readBack())], foreignVolumeNames: ["shop_data"])
        // when
        let plan = Fixture.plan(desired, observed)
        // then: start-first (the volume is mounted read-only), the adopted one removed by its own name
        #expect(
            plan.description == """
                + create container berth-shop-web-0 (Service shop/web: adopted container differs: env.MODE, image)
                ~ start container berth-shop-web-0 (Service shop/web: adopted container differs: env.MODE, image)
                … wait until container berth-shop-web-0 is running (Service shop/web: before removing the replaced container)
                - remove container shop_web_1 (Service shop/web: replaced by berth-shop-web-0)
                Plan: 1 to create, 1 to change, 1 to remove.
                """)
        guard case .createContainer(let target)? = plan.actions.first?.operation else {
            Issue.record("expected a create first")
            return
        }
        #expect(target.volumeNames == [0: "shop_data"])
    }

    @Test func startsAnExitedAdoptedContainerWithBackoff() throws {
        // given: exited with 1; Berth restarted it twice already, 5 s ago
        let desired = try Self.desired()
        let container = Self.adopted(try Self.readBack(), state: .exited, exitCode: 1)
        let history = PlanHistory(restarts: ["shop_web_1": .init(count: 2, last: Fixture.now.addingTimeInterval(-5))])
        // when
        let first = Fixture.plan(desired, ObservedState(containers: [container], foreignVolumeNames: ["shop_data"]))
        let again = Fixture.plan(desired, ObservedState(containers: [container], foreignVolumeNames: ["shop_data"]), history: history)
        // then: started under its own name, then held back 10s · 2 after the last restart
        #expect(first.actions.map(\.description) == ["~ start container shop_web_1 (Service shop/web: exited with code 1)"])
        #expect(again.actions.isEmpty)
        #expect(again.waits.map(\.reason) == ["CrashLoopBackOff: shop_web_1 exited with code 1; 2 restarts so far, next in 15s"])
    }

    @Test func restartsAnUnhealthyAdoptedContainer() throws {
        // given
        let desired = try Self.desired(healthcheck: true)
        let check = HealthcheckSpec(command: ["true"], interval: .seconds(5))
        var container = Self.adopted(try Self.readBack(), health: .unhealthy, healthcheck: check)
        container.failingStreak = 3
        // when
        let plan = Fixture.plan(desired, ObservedState(containers: [container], foreignVolumeNames: ["shop_data"]))
        // then
        #expect(plan.actions.map(\.description) == ["! restart container shop_web_1 (Service shop/web: unhealthy for 3 checks)"])
    }

    @Test func berthsOwnReplicaWinsOverAnAdoptedOneLeftBehind() throws {
        // given: an interrupted replacement left both
        let desired = try Self.desired()
        let web = try Fixture.service("web", env: ["MODE": .literal("a")], volumes: ["data:/data:ro"])
        let own = Fixture.container(for: web, in: desired)
        // when
        let plan = Fixture.plan(desired, ObservedState(containers: [own, Self.adopted(try Self.readBack())], foreignVolumeNames: ["shop_data"]))
        // then
        #expect(
            plan.actions.map(\.description) == [
                "… wait until container berth-shop-web-0 is running (Service shop/web: before removing the replaced container)",
                "- remove container shop_web_1 (Service shop/web: replaced by berth-shop-web-0)",
            ])
    }

    @Test func warnsOfAMissingExternalVolumeAndNeverCreatesOrRemovesOne() throws {
        // given: no volume shop_data on the engine
        let desired = try Self.desired()
        // when
        let plan = Fixture.plan(desired, ObservedState(containers: [Self.adopted(try Self.readBack())]))
        let gone = Fixture.plan(try Fixture.desired(), ObservedState(foreignVolumeNames: ["shop_data"]))
        // then
        #expect(plan.actions.isEmpty)
        #expect(plan.warnings.map(\.message) == ["external volume shop_data does not exist; Berth does not create it, so create it or drop external"])
        #expect(gone.actions.isEmpty)
    }

    @Test func comparesEnvironmentBerthResolvesByNameOnly() throws {
        // given: the desired MODE comes from the controller's environment, which the planner never sees
        let data = Resource(metadata: ResourceMetadata(name: "data", project: "shop"), spec: .volume(VolumeSpec(external: true, volumeName: "shop_data")))
        let web = try Fixture.service("web", env: ["MODE": .fromEnv("SHOP_MODE")], volumes: ["data:/data:ro"])
        let desired = try Fixture.desired(data, web)
        // when
        let same = Fixture.plan(desired, ObservedState(containers: [Self.adopted(try Self.readBack())], foreignVolumeNames: ["shop_data"]))
        var without = try Self.readBack()
        without.env = [:]
        let missing = Fixture.plan(desired, ObservedState(containers: [Self.adopted(without)], foreignVolumeNames: ["shop_data"]))
        // then
        #expect(same.isEmpty)
        #expect(missing.actions.first?.cause == "adopted container differs: env.MODE.fromEnv")
    }
}
