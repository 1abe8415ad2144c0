import Foundation
import Testing
@testable import BerthCore

@Suite("Planner rules, as golden plans")
struct PlannerTests {
    @Test func createsMissingVolumesBeforeTheContainersThatMountThem() throws {
        // given
        let data = Fixture.volume("data")
        let web = try Fixture.service("web", replicas: 2, volumes: ["data:/data"])
        let desired = try Fixture.desired(data, web)

        // when
        let plan = Fixture.plan(desired)

        // then
        #expect(
            plan.description == """
                + create volume berth-shop-data (Volume shop/data: missing)
                + create container berth-shop-web-0 (Service shop/web: missing)
                ~ start container berth-shop-web-0 (Service shop/web: missing)
                + create container berth-shop-web-1 (Service shop/web: missing)
                ~ start container berth-shop-web-1 (Service shop/web: missing)
                Plan: 3 to create, 2 to change, 0 to remove.
                """)
        let creates = plan.actions.filter { if case .createContainer = $0.operation { return true } else { return false } }
        #expect(creates.allSatisfy { $0.after.contains(0) })
    }

    @Test func plansNothingWhenTheWorldMatches() throws {
        let web = try Fixture.service("web", replicas: 2, healthcheck: true)
        let desired = try Fixture.desired(web)
        let observed = ObservedState(containers: (0..<2).map { Fixture.container(for: web, in: desired, replica: $0) })

        let plan = Fixture.plan(desired, observed)

        #expect(plan.isEmpty)
        #expect(plan.description == "No changes. The world matches the desired state.")
    }

    @Test func removesSurplusReplicasHighestIndexFirst() throws {
        let web = try Fixture.service("web", replicas: 1)
        let desired = try Fixture.desired(web)
        let observed = ObservedState(containers: (0..<3).map { Fixture.container(for: web, in: desired, replica: $0) })

        let plan = Fixture.plan(desired, observed)

        #expect(
            plan.description == """
                - remove container berth-shop-web-2 (Service shop/web: surplus replica (1 desired))
                - remove container berth-shop-web-1 (Service shop/web: surplus replica (1 desired))
                Plan: 0 to create, 0 to change, 2 to remove.
                """)
        #expect(plan.actions[1].after == [0])
    }

    @Test func recreatesStartFirstNamingTheChangedFields() throws {
        let old = try Fixture.service("web", env: ["MODE": .literal("a")])
        let new = try Fixture.service("web", image: "example/app:2", env: ["MODE": .literal("b")])
        let oldState = try Fixture.desired(old)
        let observed = ObservedState(containers: [Fixture.container(for: old, in: oldState)])

        let plan = Fixture.plan(try Fixture.desired(new), observed)

        #expect(
            plan.description == """
                ~ rename container berth-shop-web-0 to berth-shop-web-0-old (Service shop/web: spec changed: env.MODE, image)
                + create container berth-shop-web-0 (Service shop/web: spec changed: env.MODE, image)
                ~ start container berth-shop-web-0 (Service shop/web: spec changed: env.MODE, image)
                … wait until container berth-shop-web-0 is running (Service shop/web: before removing the replaced container)
                - remove container berth-shop-web-0-old (Service shop/web: replaced by berth-shop-web-0)
                Plan: 1 to create, 2 to change, 1 to remove.
                """)
    }

    @Test func recreatesStopFirstWhenHostPortsWouldCollide() throws {
        let old = try Fixture.service("web", ports: ["127.0.0.1:8080:80"])
        let new = try Fixture.service("web", image: "example/app:2", ports: ["127.0.0.1:8080:80"])
        let current = Fixture.container(for: old, in: try Fixture.desired(old))
        let observed = ObservedState(containers: [current], networks: Fixture.networks(in: try Fixture.desired(old), attached: [current]))

        let plan = Fixture.plan(try Fixture.desired(new), observed)

        #expect(
            plan.description == """
                - remove container berth-shop-web-0 (Service shop/web: spec changed: image)
                + create container berth-shop-web-0 (Service shop/web: spec changed: image)
                ~ start container berth-shop-web-0 (Service shop/web: spec changed: image)
                … wait until container berth-shop-web-0 is running (Service shop/web: before removing the replaced container)
                Plan: 1 to create, 1 to change, 1 to remove.
                """)
    }

    @Test func rollsReplicasOneAtATime() throws {
        let old = try Fixture.service("web", replicas: 2)
        let new = try Fixture.service("web", replicas: 2, image: "example/app:2")
        let oldState = try Fixture.desired(old)
        let observed = ObservedState(containers: (0..<2).map { Fixture.container(for: old, in: oldState, replica: $0) })

        let plan = Fixture.plan(try Fixture.desired(new), observed)

        let renames = plan.actions.filter { if case .renameContainer = $0.operation { return true } else { return false } }
        let awaits = plan.actions.filter { if case .awaitReady = $0.operation { return true } else { return false } }
        try #require(renames.count == 2 && awaits.count == 2)
        #expect(renames[1].after.contains(awaits[0].id), "replica 1 starts replacing only after replica 0 is ready")
    }

    @Test func recreatesWithAHashCauseWhenTheOldSpecIsUnknown() throws {
        let web = try Fixture.service("web")
        let desired = try Fixture.desired(web)
        let observed = ObservedState(containers: [Fixture.container(for: web, in: desired, hash: "0123456789abcdef")])

        let plan = Fixture.plan(desired, observed)

        #expect(plan.actions.first?.cause == "spec changed (hash 0123456789abcdef → \(desired.specHashes[web.id]!))")
    }

    @Test(arguments: [
        (RestartPolicy.always, 0, true), (.always, 1, true),
        (.onFailure, 0, false), (.onFailure, 3, true),
        (.never, 1, false),
    ])
    func startsExitedContainersAsTheRestartPolicySays(policy: RestartPolicy, exitCode: Int, starts: Bool) throws {
        let web = try Fixture.service("web", restart: policy)
        let desired = try Fixture.desired(web)
        let observed = ObservedState(containers: [Fixture.container(for: web, in: desired, state: .exited, exitCode: exitCode)])

        let plan = Fixture.plan(desired, observed)

        if starts {
            #expect(
                plan.description == """
                    ~ start container berth-shop-web-0 (Service shop/web: exited with code \(exitCode))
                    Plan: 0 to create, 1 to change, 0 to remove.
                    """)
        } else {
            #expect(plan.isEmpty)
        }
    }

    @Test func restartsAnUnhealthyContainer() throws {
        let web = try Fixture.service("web", healthcheck: true)
        let desired = try Fixture.desired(web)
        var container = Fixture.container(for: web, in: desired, health: .unhealthy)
        container.failingStreak = 3

        let plan = Fixture.plan(desired, ObservedState(containers: [container]))

        #expect(
            plan.description == """
                ! restart container berth-shop-web-0 (Service shop/web: unhealthy for 3 checks)
                Plan: 0 to create, 1 to change, 0 to remove.
                """)
    }

    @Test func backsOffRepeatedRestartsAndRestartsWhenTheBackoffEnds() throws {
        let web = try Fixture.service("web")
        let desired = try Fixture.desired(web)
        let container = Fixture.container(for: web, in: desired, state: .exited, exitCode: 1, startedAt: Fixture.now.addingTimeInterval(-6))
        // 3 restarts so far: the next waits 10s · 2² = 40s after the last one.
        let history = PlanHistory(restarts: ["berth-shop-web-0": .init(count: 3, last: Fixture.now.addingTimeInterval(-15))])

        let waiting = Fixture.plan(desired, ObservedState(containers: [container]), history: history)
        let later = Fixture.plan(desired, ObservedState(containers: [container]), history: history, at: Fixture.now.addingTimeInterval(25))

        #expect(
            waiting.description == """
                Waiting:
                  Service shop/web: CrashLoopBackOff: berth-shop-web-0 exited with code 1; 3 restarts so far, next in 25s
                No changes. The world matches the desired state.
                """)
        #expect(waiting.nextWakeUp == Fixture.now.addingTimeInterval(25))
        #expect(later.actions.map(\.description) == ["~ start container berth-shop-web-0 (Service shop/web: exited with code 1 (restart 4))"])
    }

    @Test func forgetsBackoffAfterTenMinutesOfGoodRunning() throws {
        let web = try Fixture.service("web")
        let desired = try Fixture.desired(web)
        let container = Fixture.container(for: web, in: desired, state: .exited, exitCode: 1, startedAt: Fixture.now.addingTimeInterval(-3600))
        let history = PlanHistory(restarts: ["berth-shop-web-0": .init(count: 5, last: Fixture.now.addingTimeInterval(-3600))])

        let plan = Fixture.plan(desired, ObservedState(containers: [container]), history: history)

        #expect(plan.actions.map(\.cause) == ["exited with code 1"])
    }

    @Test func aRunningContainersStartTimeDoesNotForgetItsBackoff() throws {
        // given: unhealthy again 5 s after its third restart, though the engine's start time reads
        // an hour before this pass (the wall clock jumped ahead): the history decides, not the
        // engine's clock against this one
        let web = try Fixture.service("web", healthcheck: true)
        let desired = try Fixture.desired(web)
        var container = Fixture.container(for: web, in: desired, health: .unhealthy, startedAt: Fixture.now.addingTimeInterval(-3600))
        container.failingStreak = 3
        let history = PlanHistory(restarts: ["berth-shop-web-0": .init(count: 3, last: Fixture.now.addingTimeInterval(-5))])

        let plan = Fixture.plan(desired, ObservedState(containers: [container]), history: history)

        #expect(plan.actions.isEmpty)
        #expect(plan.waits.map(\.reason) == ["CrashLoopBackOff: berth-shop-web-0 unhealthy for 3 checks; 3 restarts so far, next in 35s"])
    }

    @Test func takesItsBackoffValuesFromTheOptions() throws {
        // given: backoff from 2s, capped at 5s, forgotten after 30s of running
        let options = PlannerOptions(restartBackoff: BackoffPolicy(initial: .seconds(2), maximum: .seconds(5), resetAfter: .seconds(30)))
        let web = try Fixture.service("web")
        let desired = try Fixture.desired(web)
        let crashed = Fixture.container(for: web, in: desired, state: .exited, exitCode: 1, startedAt: Fixture.now.addingTimeInterval(-3))
        let ranLong = Fixture.container(for: web, in: desired, state: .exited, exitCode: 1, startedAt: Fixture.now.addingTimeInterval(-40))
        // 4 restarts so far, the last 1s ago: 2s · 2³ = 16s, capped at 5s
        let history = PlanHistory(restarts: ["berth-shop-web-0": .init(count: 4, last: Fixture.now.addingTimeInterval(-1))])
        func plan(_ container: ObservedContainer, at time: Date = Fixture.now) -> Plan {
            Planner.plan(desired: desired, observed: ObservedState(containers: [container]), now: time, history: history, options: options)
        }

        // then
        #expect(plan(crashed).waits.map(\.reason) == ["CrashLoopBackOff: berth-shop-web-0 exited with code 1; 4 restarts so far, next in 4s"])
        #expect(plan(crashed, at: Fixture.now.addingTimeInterval(4)).actions.map(\.cause) == ["exited with code 1 (restart 5)"])
        #expect(plan(ranLong).actions.map(\.cause) == ["exited with code 1"], "30s of running reset the count")
    }

    @Test(arguments: [(1, 0), (2, 10), (3, 20), (5, 80), (6, 160), (7, 300), (20, 300)])
    func backoffDoublesFromTenSecondsUpToFiveMinutes(attempts: Int, seconds: Int64) {
        #expect(BackoffPolicy().delay(afterAttempts: attempts - 1) == .seconds(seconds))
    }

    @Test func startsDependenciesFirstAndWaitsForTheirHealth() throws {
        let db = try Fixture.service("db", healthcheck: true)
        let app = try Fixture.service("app", dependsOn: [Dependency(name: "db", condition: .healthy)])
        let desired = try Fixture.desired(db, app)

        let plan = Fixture.plan(desired)

        #expect(
            plan.description == """
                + create container berth-shop-db-0 (Service shop/db: missing)
                ~ start container berth-shop-db-0 (Service shop/db: missing)
                … wait until container berth-shop-db-0 is healthy (Service shop/db: dependents wait for it)
                + create container berth-shop-app-0 (Service shop/app: missing)
                ~ start container berth-shop-app-0 (Service shop/app: missing)
                Plan: 2 to create, 2 to change, 0 to remove.
                """)
        #expect(plan.actions[3].after == [2])
    }

    @Test func waitsWhenADependencyIsNotReadyAndNotBeingStarted() throws {
        let db = try Fixture.service("db", healthcheck: true)
        let app = try Fixture.service("app", dependsOn: [Dependency(name: "db", condition: .healthy)])
        let desired = try Fixture.desired(db, app)
        let observed = ObservedState(containers: [Fixture.container(for: db, in: desired, health: .starting)])

        let plan = Fixture.plan(desired, observed)

        #expect(
            plan.description == """
                Waiting:
                  Service shop/app: waiting for service db to be healthy: berth-shop-db-0 is starting
                No changes. The world matches the desired state.
                """)
    }

    @Test func removesOrphansInDeclaredProjectsAndOnlyReportsOtherProjects() throws {
        let web = try Fixture.service("web")
        let gone = try Fixture.service("gone")
        let elsewhere = try Fixture.service("api", project: "other")
        let oldState = try DesiredState.validate([Fixture.project("shop"), Fixture.project("other"), web, gone, elsewhere])
        let observed = ObservedState(containers: [web, gone, elsewhere].map { Fixture.container(for: $0, in: oldState) })

        let plan = Fixture.plan(try Fixture.desired(web), observed)

        #expect(
            plan.description == """
                - remove container berth-shop-gone-0 (Service shop/gone: orphaned: no longer declared)
                ! warning: project other has 1 Berth container but no declared resources; `berth destroy --project other` removes them
                Plan: 0 to create, 0 to change, 1 to remove.
                """)
    }

    @Test func neverTouchesAnUnlabelledContainerWithTheSameName() throws {
        let web = try Fixture.service("web")
        let observed = ObservedState(foreignContainerNames: ["berth-shop-web-0"])

        let plan = Fixture.plan(try Fixture.desired(web), observed)

        #expect(
            plan.description == """
                ! warning: Service shop/web: container name berth-shop-web-0 is taken by a container without Berth labels; Berth does not touch it, so replica 0 cannot be created until it is renamed or removed
                No changes. The world matches the desired state.
                """)
    }

    @Test func removesAnOrphanedVolumeOnlyWithDeleteAndAfterItsLastUser() throws {
        let keep = Fixture.volume("keep", reclaim: .retain)
        let scratch = Fixture.volume("scratch", reclaim: .delete)
        let user = try Fixture.service("user", volumes: ["scratch:/s", "keep:/k"])
        let web = try Fixture.service("web")
        let oldState = try Fixture.desired(keep, scratch, user, web)
        let volumes = [keep, scratch].map { volume in
            var labels = Planner.plan(desired: oldState, observed: ObservedState(), now: Fixture.now).actions
                .compactMap { action -> [String: String]? in
                    if case .createVolume(let target) = action.operation, target.name.hasSuffix(volume.id.name) { return target.labels }
                    return nil
                }.first!
            labels[LabelKey.managed] = "true"
            return ObservedVolume(name: ObjectName.volume(project: "shop", name: volume.id.name), labels: labels)
        }
        let observed = ObservedState(
            containers: [Fixture.container(for: user, in: oldState), Fixture.container(for: web, in: oldState)],
            volumes: volumes
        )

        let plan = Fixture.plan(try Fixture.desired(web), observed)

        #expect(
            plan.description == """
                - remove container berth-shop-user-0 (Service shop/user: orphaned: no longer declared)
                - remove volume berth-shop-scratch (Volume shop/scratch: orphaned, reclaim policy Delete)
                Plan: 0 to create, 0 to change, 2 to remove.
                """)
        #expect(plan.actions[1].after == [0])
    }

    @Test func finishesAnUpdateInterruptedAfterTheRename() throws {
        let old = try Fixture.service("web")
        let new = try Fixture.service("web", image: "example/app:2")
        let outgoing = Fixture.container(for: old, in: try Fixture.desired(old), name: "berth-shop-web-0-old")

        let plan = Fixture.plan(try Fixture.desired(new), ObservedState(containers: [outgoing]))

        #expect(
            plan.description == """
                + create container berth-shop-web-0 (Service shop/web: replacing berth-shop-web-0-old)
                ~ start container berth-shop-web-0 (Service shop/web: replacing berth-shop-web-0-old)
                - remove container berth-shop-web-0-old (Service shop/web: replaced by berth-shop-web-0)
                Plan: 1 to create, 1 to change, 1 to remove.
                """)
    }

    @Test func encodesAsJSONWithTheSameLinesAsTheText() throws {
        let web = try Fixture.service("web")
        let plan = Fixture.plan(try Fixture.desired(web))

        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(plan)) as? [String: Any]
        let actions = try #require(json?["actions"] as? [[String: Any]])

        #expect(actions.map { $0["text"] as? String } == plan.actions.map(\.description))
        #expect(actions.first?["marker"] as? String == "+")
        #expect(actions.last?["after"] as? [Int] == [0])
        let operation = try #require(actions.first?["operation"] as? [String: Any])
        let target = try #require((operation["createContainer"] as? [String: Any])?["target"] as? [String: Any])
        #expect(target["name"] as? String == "berth-shop-web-0")
        #expect(
            (target["labels"] as? [String: String])?[LabelKey.specHash]
                == plan.actions.first.flatMap {
                    if case .createContainer(let target) = $0.operation { return target.labels[LabelKey.specHash] } else { return nil }
                })
    }

    @Test func leavesAnUnhealthyContainerAloneWhenRestartIsNever() throws {
        let web = try Fixture.service("web", healthcheck: true, restart: .never)
        let desired = try Fixture.desired(web)
        var container = Fixture.container(for: web, in: desired, health: .unhealthy)
        container.failingStreak = 5

        #expect(Fixture.plan(desired, ObservedState(containers: [container])).isEmpty)
    }

    @Test func replacesStopFirstWhenTheServiceWritesANamedVolume() throws {
        let data = Fixture.volume("data")
        let old = try Fixture.service("db", volumes: ["data:/var/lib/db"])
        let new = try Fixture.service("db", image: "example/db:2", volumes: ["data:/var/lib/db"])
        let oldState = try Fixture.desired(data, old)
        let volume = ObservedVolume(name: "berth-shop-data", labels: [LabelKey.managed: "true", LabelKey.specHash: try #require(oldState.specHashes[data.id])])
        let observed = ObservedState(containers: [Fixture.container(for: old, in: oldState)], volumes: [volume])

        let plan = Fixture.plan(try Fixture.desired(data, new), observed)

        #expect(plan.actions.first?.description == "- remove container berth-shop-db-0 (Service shop/db: spec changed: image)")
    }
}
