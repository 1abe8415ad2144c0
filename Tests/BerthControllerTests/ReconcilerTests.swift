import BerthCore
import BerthDocker
import BerthStore
import Foundation
import Logging
import Testing
@testable import BerthController

@Suite("Reconciler: passes against an in-memory engine, without a store")
struct ReconcilerTests {
    static func snapshot(_ state: DesiredState) -> DesiredStateSource.Snapshot {
        DesiredStateSource.Snapshot(state: state, files: [], deleted: [], generations: [:])
    }

    /// A volume, a database with a health check, an app that needs it healthy, and an unrelated cache.
    static func stack() throws -> DesiredState {
        try Fixture.desired(
            Fixture.volume("data"),
            try Fixture.service("db", image: "example/db:1", volumes: ["data:/var/lib/db"], healthcheck: true),
            try Fixture.service("web", replicas: 2, dependsOn: [Dependency(name: "db", condition: .healthy)]),
            try Fixture.service("cache", image: "example/cache:1")
        )
    }

    static func status(_ result: PassResult, _ service: String) throws -> ResourceStatus {
        try #require(result.statuses.first { $0.id == Fixture.serviceID(service) })
    }

    @Test func theFirstPassConvergesAnEmptyWorld() async throws {
        // given
        let runtime = InMemoryRuntime()
        let reconciler = Reconciler(runtime: runtime, store: nil)

        // when
        let result = try await reconciler.reconcile(Self.snapshot(try Self.stack()), now: Fixture.now)

        // then
        #expect(result.report.failures.isEmpty)
        #expect(result.statuses.map(\.phase) == [.ready, .ready, .ready, .ready])
        #expect(result.converged)
        let web = try Self.status(result, "web")
        #expect(web.readyReplicas == 2)
        #expect(web.desiredReplicas == 2)
        #expect(web.condition(.ready)?.status == .true)
        #expect(await runtime.containerNames == ["berth-shop-cache-0", "berth-shop-db-0", "berth-shop-web-0", "berth-shop-web-1"])
        #expect(await runtime.volumeNames == ["berth-shop-data"])
    }

    @Test func aLastingWarningIsLoggedWhenItAppearsAndWhenItEndsNotOnEveryPass() async throws {
        // given: the stack runs, then the manifests name no project any more
        let runtime = InMemoryRuntime()
        let logs = CapturedLogs()
        let reconciler = Reconciler(runtime: runtime, store: nil, logger: logs.logger)
        _ = try await reconciler.reconcile(Self.snapshot(try Self.stack()), now: Fixture.now)
        #expect(logs.messages(at: .warning).isEmpty)

        // when: three passes leave the project's containers alone and warn about them
        for _ in 0..<3 { _ = try await reconciler.reconcile(Self.snapshot(DesiredState()), now: Fixture.now) }

        // then: one warning line
        let warnings = logs.messages(at: .warning)
        #expect(warnings.count == 1 && warnings[0].contains("but no declared resources"), "\(warnings)")

        // when: the project is declared again
        _ = try await reconciler.reconcile(Self.snapshot(try Self.stack()), now: Fixture.now)

        // then: one line says it ended and for how long it lasted
        let ended = logs.messages(at: .info).filter { $0.hasPrefix("no longer the case") }
        #expect(ended.count == 1 && ended[0].contains("3 passes in a row") && ended[0].contains("but no declared resources"), "\(ended)")
        #expect(logs.messages(at: .warning).count == 1)
    }

    @Test func theSecondPassPlansNothing() async throws {
        // given
        let runtime = InMemoryRuntime()
        let reconciler = Reconciler(runtime: runtime, store: nil)
        let snapshot = Self.snapshot(try Self.stack())
        _ = try await reconciler.reconcile(snapshot, now: Fixture.now)
        let callsAfterFirst = await runtime.calls.count

        // when
        let second = try await reconciler.reconcile(snapshot, now: Fixture.now.addingTimeInterval(10))

        // then
        #expect(second.plan.actions.isEmpty)
        #expect(second.report.results.isEmpty)
        #expect(second.converged)
        #expect(second.statuses.allSatisfy { $0.phase == .ready })
        #expect(await runtime.calls.count == callsAfterFirst)
    }

    @Test func aMissingImageFailsItsServiceAndBacksOffWhileOthersConverge() async throws {
        // given: db's image is missing
        let runtime = InMemoryRuntime()
        let reconciler = Reconciler(runtime: runtime, store: nil)
        let snapshot = Self.snapshot(try Self.stack())
        await runtime.fail(.ensureImage("example/db:1"), with: DockerError(.notFound, "no such image: example/db:1", status: 404))

        // when: the first pass
        let first = try await reconciler.reconcile(snapshot, now: Fixture.now)

        // then: db failed and backs off; web, held up by db, waits; cache runs
        let db = try Self.status(first, "db")
        #expect(db.phase == .failed)
        #expect(db.condition(.ready)?.message == "image example/db:1: no such image: example/db:1")
        let retry = try #require(db.nextAttemptAt)
        // The default failure backoff starts at 5 s, counted from the end of the pass, when the
        // status was written.
        #expect(retry == db.updatedAt.addingTimeInterval(5))
        #expect(try Self.status(first, "web").phase == .progressing)
        #expect(try Self.status(first, "cache").phase == .ready)
        #expect(!first.converged)
        #expect(first.nextWakeUp == retry)

        // when: a pass before the backoff ends
        let callsBefore = await runtime.calls.count
        let second = try await reconciler.reconcile(snapshot, now: Fixture.now.addingTimeInterval(2))

        // then: nothing of db or what needs it is attempted, and both say why
        #expect(second.plan.actions.isEmpty)
        #expect(await runtime.calls.count == callsBefore)
        #expect(second.plan.waits.map(\.resource) == [Fixture.serviceID("db"), Fixture.serviceID("web")])
        #expect(second.plan.waits.allSatisfy { $0.until == retry })
        #expect(try Self.status(second, "db").phase == .failed)
        #expect(try Self.status(second, "db").nextAttemptAt == retry)
        #expect(try Self.status(second, "web").condition(.ready)?.message == "waiting for Service shop/db, which is backing off after a failure")
        #expect(try Self.status(second, "cache").phase == .ready)

        // when: the image has arrived and the backoff is over
        await runtime.stopFailing(.ensureImage("example/db:1"))
        let third = try await reconciler.reconcile(snapshot, now: retry.addingTimeInterval(1))

        // then
        #expect(third.report.failures.isEmpty)
        #expect(try Self.status(third, "db").phase == .ready)
        #expect(try Self.status(third, "db").nextAttemptAt == nil)
        #expect(third.statuses.allSatisfy { $0.phase == .ready })
        #expect(third.converged)
    }

    @Test func aFailureThatRepeatsBacksOffLonger() async throws {
        // given: cache's image stays missing
        let runtime = InMemoryRuntime()
        let reconciler = Reconciler(runtime: runtime, store: nil)
        let snapshot = Self.snapshot(try Fixture.desired(try Fixture.service("cache", image: "example/cache:1")))
        await runtime.fail(.ensureImage("example/cache:1"), with: DockerError(.notFound, "no such image: example/cache:1", status: 404))
        let first = try await reconciler.reconcile(snapshot, now: Fixture.now)
        let firstRetry = try #require(try Self.status(first, "cache").nextAttemptAt)

        // when: the retry fails too
        let second = try await reconciler.reconcile(snapshot, now: firstRetry)

        // then: the next attempt is twice as far away
        let secondStatus = try Self.status(second, "cache")
        let secondRetry = try #require(secondStatus.nextAttemptAt)
        // Counted from the end of the second pass, when the status was computed.
        #expect(secondRetry == secondStatus.updatedAt.addingTimeInterval(10))
        #expect(secondRetry.timeIntervalSince(firstRetry) >= 10)
        #expect(try Self.status(second, "cache").condition(.stalled)?.message.hasPrefix("2 failed attempts") == true)
    }

    @Test func restartingAnExitedContainerCountsAsARestart() async throws {
        // given: a converged service whose container then crashes
        let runtime = InMemoryRuntime()
        let reconciler = Reconciler(runtime: runtime, store: nil)
        let snapshot = Self.snapshot(try Fixture.desired(try Fixture.service("web")))
        _ = try await reconciler.reconcile(snapshot, now: Fixture.now)
        await runtime.exit("berth-shop-web-0", code: 1)

        // when
        let result = try await reconciler.reconcile(snapshot, now: Fixture.now.addingTimeInterval(60))

        // then
        #expect(result.plan.description.contains("~ start container berth-shop-web-0 (Service shop/web: exited with code 1)"))
        let web = try Self.status(result, "web")
        #expect(web.restartCount == 1)
        #expect(web.phase == .ready)
        #expect(await runtime.state(of: "berth-shop-web-0") == .running)
    }

    @Test func aContainerThatKeepsCrashingWaitsInCrashLoopBackoff() async throws {
        // given: a service restarted once already, crashing again a second later
        let runtime = InMemoryRuntime()
        let reconciler = Reconciler(runtime: runtime, store: nil)
        let snapshot = Self.snapshot(try Fixture.desired(try Fixture.service("web")))
        _ = try await reconciler.reconcile(snapshot, now: Fixture.now)
        await runtime.exit("berth-shop-web-0", code: 1)
        _ = try await reconciler.reconcile(snapshot, now: Fixture.now.addingTimeInterval(60))
        await runtime.exit("berth-shop-web-0", code: 1)

        // when
        let result = try await reconciler.reconcile(snapshot, now: Fixture.now.addingTimeInterval(61))

        // then: no restart yet; the status says until when
        #expect(result.plan.actions.isEmpty)
        let web = try Self.status(result, "web")
        #expect(web.phase == .degraded)
        #expect(web.restartCount == 1)
        #expect(web.condition(.stalled)?.reason == "CrashLoopBackOff")
        let next = try #require(web.nextAttemptAt)
        #expect(next > Fixture.now.addingTimeInterval(61))
        #expect(await runtime.state(of: "berth-shop-web-0") == .exited)

        // when: the backoff is over
        let later = try await reconciler.reconcile(snapshot, now: next.addingTimeInterval(1))

        // then
        #expect(try Self.status(later, "web").restartCount == 2)
        #expect(await runtime.state(of: "berth-shop-web-0") == .running)
    }
}
