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

    /// Whether two wall-clock times of one monotonic instant, seen from different passes, agree.
    static func same(_ date: Date?, _ expected: Date) -> Bool {
        guard let date else { return false }
        return abs(date.timeIntervalSince(expected)) < 0.001
    }

    static func status(_ result: PassResult, _ service: String) throws -> ResourceStatus {
        try #require(result.statuses.first { $0.id == Fixture.serviceID(service) })
    }

    @Test func theFirstPassConvergesAnEmptyWorld() async throws {
        // given
        let runtime = InMemoryRuntime()
        let reconciler = Reconciler(runtime: runtime, store: nil)

        // when
        let result = try await reconciler.reconcile(Self.snapshot(try Self.stack()), at: Fixture.at(Fixture.now))

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
        _ = try await reconciler.reconcile(Self.snapshot(try Self.stack()), at: Fixture.at(Fixture.now))
        #expect(logs.messages(at: .warning).isEmpty)

        // when: three passes leave the project's containers alone and warn about them
        for _ in 0..<3 { _ = try await reconciler.reconcile(Self.snapshot(DesiredState()), at: Fixture.at(Fixture.now)) }

        // then: one warning line
        let warnings = logs.messages(at: .warning)
        #expect(warnings.count == 1 && warnings[0].contains("but no declared resources"), "\(warnings)")

        // when: the project is declared again
        _ = try await reconciler.reconcile(Self.snapshot(try Self.stack()), at: Fixture.at(Fixture.now))

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
        _ = try await reconciler.reconcile(snapshot, at: Fixture.at(Fixture.now))
        let callsAfterFirst = await runtime.calls.count

        // when
        let second = try await reconciler.reconcile(snapshot, at: Fixture.at(Fixture.now.addingTimeInterval(10)))

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
        let first = try await reconciler.reconcile(snapshot, at: Fixture.at(Fixture.now))

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
        let second = try await reconciler.reconcile(snapshot, at: Fixture.at(Fixture.now.addingTimeInterval(2)))

        // then: nothing of db or what needs it is attempted, and both say why
        #expect(second.plan.actions.isEmpty)
        #expect(await runtime.calls.count == callsBefore)
        #expect(second.plan.waits.map(\.resource) == [Fixture.serviceID("db"), Fixture.serviceID("web")])
        // The same instant, shown on the wall clock of another pass: equal to well under a millisecond.
        #expect(second.plan.waits.allSatisfy { Self.same($0.until, retry) })
        #expect(try Self.status(second, "db").phase == .failed)
        #expect(Self.same(try Self.status(second, "db").nextAttemptAt, retry))
        #expect(try Self.status(second, "web").condition(.ready)?.message == "waiting for Service shop/db, which is backing off after a failure")
        #expect(try Self.status(second, "cache").phase == .ready)

        // when: the image has arrived and the backoff is over
        await runtime.stopFailing(.ensureImage("example/db:1"))
        let third = try await reconciler.reconcile(snapshot, at: Fixture.at(retry.addingTimeInterval(1)))

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
        let first = try await reconciler.reconcile(snapshot, at: Fixture.at(Fixture.now))
        let firstRetry = try #require(try Self.status(first, "cache").nextAttemptAt)

        // when: the retry fails too
        let second = try await reconciler.reconcile(snapshot, at: Fixture.at(firstRetry))

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
        _ = try await reconciler.reconcile(snapshot, at: Fixture.at(Fixture.now))
        await runtime.exit("berth-shop-web-0", code: 1)

        // when
        let result = try await reconciler.reconcile(snapshot, at: Fixture.at(Fixture.now.addingTimeInterval(60)))

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
        _ = try await reconciler.reconcile(snapshot, at: Fixture.at(Fixture.now))
        await runtime.exit("berth-shop-web-0", code: 1)
        _ = try await reconciler.reconcile(snapshot, at: Fixture.at(Fixture.now.addingTimeInterval(60)))
        await runtime.exit("berth-shop-web-0", code: 1)

        // when
        let result = try await reconciler.reconcile(snapshot, at: Fixture.at(Fixture.now.addingTimeInterval(61)))

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
        let later = try await reconciler.reconcile(snapshot, at: Fixture.at(next.addingTimeInterval(1)))

        // then
        #expect(try Self.status(later, "web").restartCount == 2)
        #expect(await runtime.state(of: "berth-shop-web-0") == .running)
    }

    @Test func aWallClockStepNeitherDelaysACrashLoopRestartNorMakesItEarly() async throws {
        // given: a service restarted once, crashing again a second later (10 s backoff next)
        let runtime = InMemoryRuntime()
        let reconciler = Reconciler(runtime: runtime, store: nil)
        let snapshot = Self.snapshot(try Fixture.desired(try Fixture.service("web")))
        _ = try await reconciler.reconcile(snapshot, at: Fixture.time)
        await runtime.exit("berth-shop-web-0", code: 1)
        let restarted = Fixture.time.advanced(by: .seconds(60))
        let restartEnded = try await reconciler.reconcile(snapshot, at: restarted).time.monotonic
        await runtime.exit("berth-shop-web-0", code: 1)

        // when: 2 s later the wall clock jumps an hour ahead
        var jumped = restarted.advanced(by: .seconds(2))
        jumped.wall += 3600
        let early = try await reconciler.reconcile(snapshot, at: jumped)

        // then: still backing off, until 10 s after the restart (8 s and the restart pass's own
        // time from now) on the wall clock as it reads now
        #expect(early.plan.actions.isEmpty)
        let next = try #require(try Self.status(early, "web").nextAttemptAt)
        let expected = jumped.wall.addingTimeInterval((restartEnded - jumped.monotonic).seconds + 10)
        #expect(abs(next.timeIntervalSince(expected)) < 0.01, "\(next) vs \(expected)")

        // when: 11 s after the restart (the end of its pass, which a loaded machine makes late),
        // with the wall clock stepped two hours back from there
        var stepped = restarted.advanced(by: (restartEnded - restarted.monotonic) + .seconds(11))
        stepped.wall -= 7200
        let due = try await reconciler.reconcile(snapshot, at: stepped)

        // then: restarted, though the wall clock reads before the first restart
        #expect(try Self.status(due, "web").restartCount == 2)
        #expect(await runtime.state(of: "berth-shop-web-0") == .running)
    }

    @Test func aWallClockJumpWhileACrashLoopRunsDoesNotForgetItsBackoff() async throws {
        // given: a service restarted once, on today's clock (the in-memory engine's start times are)
        let runtime = InMemoryRuntime()
        let reconciler = Reconciler(runtime: runtime, store: nil)
        let snapshot = Self.snapshot(try Fixture.desired(try Fixture.service("web")))
        let start = PassTime.now
        _ = try await reconciler.reconcile(snapshot, at: start)
        await runtime.exit("berth-shop-web-0", code: 1)
        _ = try await reconciler.reconcile(snapshot, at: start.advanced(by: .seconds(1)))

        // when: a second later, while it runs, the wall clock jumps an hour ahead (past resetAfter
        // from the engine's start time), and then it crashes again
        var jumped = start.advanced(by: .seconds(2))
        jumped.wall += 3600
        let running = try await reconciler.reconcile(snapshot, at: jumped)
        await runtime.exit("berth-shop-web-0", code: 1)
        let crashed = try await reconciler.reconcile(snapshot, at: jumped.advanced(by: .seconds(1)))

        // then: it ran 2 s on the monotonic clock, so the crash loop is still backing off
        #expect(running.plan.actions.isEmpty)
        #expect(crashed.plan.actions.isEmpty)
        let web = try Self.status(crashed, "web")
        #expect(web.condition(.stalled)?.reason == "CrashLoopBackOff")
        #expect(await runtime.state(of: "berth-shop-web-0") == .exited)
    }

    @Test func aWallClockStepNeitherDelaysAFailureRetryNorMakesItEarly() async throws {
        // given: db's image is missing (5 s failure backoff)
        let runtime = InMemoryRuntime()
        let reconciler = Reconciler(runtime: runtime, store: nil)
        let snapshot = Self.snapshot(try Fixture.desired(try Fixture.service("db", image: "example/db:1")))
        await runtime.fail(.ensureImage("example/db:1"), with: DockerError(.notFound, "no such image: example/db:1", status: 404))
        let first = try await reconciler.reconcile(snapshot, at: Fixture.time)
        await runtime.stopFailing(.ensureImage("example/db:1"))
        let failedAt = first.time

        // when: 2 s later, the wall clock an hour ahead
        var ahead = failedAt.advanced(by: .seconds(2))
        ahead.wall += 3600
        let early = try await reconciler.reconcile(snapshot, at: ahead)

        // then: held; the wake-up is 3 s away on the monotonic clock
        #expect(early.plan.actions.isEmpty)
        #expect(try Self.status(early, "db").phase == .failed)
        let wakeUp = try #require(early.nextWakeUp)
        #expect(abs((early.time.instant(of: wakeUp) - failedAt.monotonic).seconds - 5) < 0.01)

        // when: 6 s after the failure, the wall clock an hour behind
        var behind = failedAt.advanced(by: .seconds(6))
        behind.wall -= 3600
        let retried = try await reconciler.reconcile(snapshot, at: behind)

        // then
        #expect(try Self.status(retried, "db").phase == .ready)
    }

    @Test func aControllerThatDoesNotLeadLeavesBucketsAlone() async throws {
        // given: a bucket and a service declared
        let runtime = InMemoryRuntime()
        let bucket = Resource(metadata: ResourceMetadata(name: "media", project: "shop"), spec: .bucket(BucketSpec(bucketName: "shop-media")))
        let snapshot = Self.snapshot(try Fixture.desired(bucket, try Fixture.service("web")))
        let reconciler = Reconciler(runtime: runtime, objectStorage: nil, store: nil)

        // when: a pass without the leader lease
        let result = try await reconciler.reconcile(snapshot, at: Fixture.time, leading: false)

        // then: the service converges; the bucket is neither planned nor reported (no "no endpoint" failure)
        #expect(result.converged)
        #expect(result.statuses.map(\.id) == [Fixture.serviceID("web")])
        #expect(result.plan.warnings.isEmpty)
    }
}
