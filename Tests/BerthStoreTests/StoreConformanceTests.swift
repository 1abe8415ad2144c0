import BerthCore
import Foundation
import Testing

@testable import BerthStore

/// One suite, run against both stores: every operation and every job transition.
@Suite("Store conformance", .serialized)
struct StoreConformanceTests {
    // MARK: Migrations

    @Test(arguments: StoreKind.allCases)
    func migratesFromEmptyAndAgainWithoutChange(kind: StoreKind) async throws {
        // given
        let place = try await TestPlace.make(kind)
        defer { Task { try? await place.remove() } }
        // when
        let first = try await place.open()
        let firstVersion = schemaVersion(first)
        await first.close()
        let second = try await place.open()
        let rows = try await rawQuery(second, "SELECT version, name FROM schema_migrations ORDER BY version")
        let jobs = try await second.jobs(filter: JobFilter(), page: PageRequest())
        await second.close()
        try await place.remove()
        // then
        #expect(firstVersion == latestSchemaVersion)
        #expect(rows.map { $0[0] } == (1...latestSchemaVersion).map { String($0) })
        #expect(jobs.items.isEmpty)
    }

    @Test(arguments: StoreKind.allCases)
    func upgradesADatabaseAtMigration1KeepingItsStatus(kind: StoreKind) async throws {
        // given: a database an older Berth left at migration 1, with a status row
        let place = try await TestPlace.make(kind)
        defer { Task { try? await place.remove() } }
        try await place.migrate(
            upTo: 1,
            then: [
                """
                INSERT INTO resource_status (kind, project, name, phase, conditions, restart_count, last_action, updated_at)
                VALUES ('Service', 'qfield', 'app', 'Ready', '[]', 2, 'createContainer app-0', \(SQLTime.milliseconds(at(0))))
                """
            ])
        // when
        let store = try await place.open()
        let version = schemaVersion(store)
        let id = ResourceID(kind: .service, project: "qfield", name: "app")
        let old = try await store.status(id)
        var status = try #require(old)
        status.readyReplicas = 1
        status.desiredReplicas = 2
        status.replicas = [
            ReplicaStatus(
                container: "berth-qfield-app-0", state: "running",
                networks: [ObservedEndpoint(network: "berth-qfield-default", ipv4Address: "10.1.0.2")],
                ports: [PublishedPort(hostIP: "127.0.0.1", hostPort: 8080, containerPort: 80, transport: "tcp")]
            )
        ]
        let revision = StatusRevision(sha: String(repeating: "1a2b", count: 10), subject: "Scale app", author: "Ops <ops@example.org>", committedAt: at(-60))
        status.attemptedRevision = revision
        status.appliedRevision = revision
        try await store.putStatus(status)
        let updated = try await store.status(id)
        await store.close()
        try await place.remove()
        // then
        #expect(version == latestSchemaVersion)
        #expect(old == ResourceStatus(id: id, phase: .ready, restartCount: 2, lastAction: "createContainer app-0", updatedAt: at(0)))
        #expect(updated == status)
    }

    @Test(arguments: StoreKind.allCases)
    func upgradesADatabaseAtMigration3WhoseRunningJobIsTakenOverFenced(kind: StoreKind) async throws {
        // given: a database an older Berth left at migration 3 (no fencing), with a started job
        // whose controller went away long ago (its lease expired in 1970)
        let place = try await TestPlace.make(kind)
        defer { Task { try? await place.remove() } }
        let spec = try Coding.encode(try jobSpec())
        try await place.migrate(
            upTo: 3,
            then: [
                """
                INSERT INTO jobs (id, project, name, spec, priority, state, attempt, claimed_by, lease_expires_at, container_id, submitted_at, queued_at, started_at)
                VALUES ('old-job', 'qfield', 'job', '\(spec)', 0, 'started', 1, 'old-controller', 1000, 'ctr-old', 1000, 1000, 1000)
                """
            ])
        // when
        let store = try await place.open()
        let before = try await store.job("old-job")
        let taken = try await store.takeOverExpiredJobs(controller: "new-controller", engine: "engine-2", lease: .seconds(30))
        let finished = try await store.transitionJob(
            "old-job", from: .started, to: .finished, claim: JobClaim(controller: "new-controller", fence: 1), update: JobUpdate(), now: Date())
        await store.close()
        // then: read unfenced, taken over with the first fence, and finished under it
        #expect(schemaVersion(store) == latestSchemaVersion)
        #expect(before?.fence == 0 && before?.claimedEngine == nil && before?.claimedBy == "old-controller")
        #expect(taken.map(\.id) == ["old-job"])
        #expect(taken.first?.fence == 1 && taken.first?.claimedEngine == "engine-2" && taken.first?.containerID == "ctr-old")
        #expect(finished.state == .finished && finished.attempt == 1)
    }

    @Test(arguments: StoreKind.allCases)
    func refusesToOpenASchemaNewerThanItKnows(kind: StoreKind) async throws {
        // given
        let place = try await TestPlace.make(kind)
        let store = try await place.open()
        try await rawExecute(store, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)")
        await store.close()
        // when
        let error = await expectStoreError(.schemaTooNew) { try await place.open() }
        try await place.remove()
        // then
        #expect(error?.message.contains("999") == true)
        #expect(error?.message.contains("newer Berth") == true)
        #expect(error?.isRetryable == false)
    }

    // MARK: Resources

    static func service(_ name: String, project: String = "qfield", image: String = "example/app:1.4", labels: [String: String] = [:]) throws -> Resource {
        let container = ContainerSpec(image: try ImageReference(parsing: image), command: ["gunicorn", "app.wsgi"], env: ["DEBUG": .literal("0")], network: .host)
        return Resource(metadata: ResourceMetadata(name: name, project: project, labels: labels), spec: .service(ServiceSpec(container: container, replicas: 2)))
    }

    @Test(arguments: StoreKind.allCases)
    func bumpsTheGenerationOnlyWhenTheDocumentChanges(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            // given
            let app = try Self.service("app")
            // when
            let created = try await store.putResource(app, source: .api, now: at(0))
            let same = try await store.putResource(app, source: .api, now: at(1))
            let changed = try await store.putResource(try Self.service("app", image: "example/app:1.5"), source: .api, now: at(2))
            let relabelled = try await store.putResource(try Self.service("app", image: "example/app:1.5", labels: ["tier": "web"]), source: .api, now: at(3))
            // then
            #expect(created.generation == 1)
            #expect(created.createdAt == at(0) && created.updatedAt == at(0))
            #expect(created.resource == app)
            #expect(same.generation == 1 && same.updatedAt == at(0))
            #expect(changed.generation == 2 && changed.updatedAt == at(2) && changed.createdAt == at(0))
            #expect(relabelled.generation == 3)
            let read = try await store.resource(app.id)
            #expect(read == relabelled)
            #expect(try await store.resource(ResourceID(kind: .service, project: "qfield", name: "nope")) == nil)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func listsSoftDeletesAndPurgesResources(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            // given
            let volume = Resource(metadata: ResourceMetadata(name: "static", project: "qfield"), spec: .volume(VolumeSpec()))
            let other = try Self.service("web", project: "shop")
            try await store.putResource(try Self.service("app"), source: .api, now: at(0))
            try await store.putResource(volume, source: .manifest, now: at(0))
            try await store.putResource(other, source: .api, now: at(0))
            // when
            let deleted = try await store.deleteResource(ResourceID(kind: .service, project: "qfield", name: "app"), now: at(5))
            let again = try await store.deleteResource(ResourceID(kind: .service, project: "qfield", name: "app"), now: at(6))
            // then
            #expect(deleted?.deletedAt == at(5) && deleted?.generation == 2)
            #expect(again?.generation == 2)
            #expect(try await store.resources(kind: nil, project: nil, includeDeleted: false).map(\.id.name) == ["static", "web"])
            #expect(try await store.resources(kind: nil, project: "qfield", includeDeleted: true).map(\.id.name) == ["static", "app"])
            #expect(try await store.resources(kind: .service, project: nil, includeDeleted: true).map(\.id.name) == ["app", "web"])
            #expect(try await store.resources(kind: .volume, project: "qfield", includeDeleted: false).first?.source == .manifest)
            // a deleted resource written again comes back with a new generation
            let revived = try await store.putResource(try Self.service("app"), source: .api, now: at(7))
            #expect(revived.deletedAt == nil && revived.generation == 3)
            #expect(try await store.purgeResource(other.id))
            #expect(try await store.purgeResource(other.id) == false)
            #expect(try await store.resource(other.id) == nil)
        }
    }

    // MARK: Status

    @Test(arguments: StoreKind.allCases)
    func storesStatusWithConditions(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            // given
            let id = ResourceID(kind: .service, project: "qfield", name: "app")
            var status = ResourceStatus(id: id, phase: .progressing, updatedAt: at(0))
            status.setCondition(.reconciling, .true, reason: "Progressing", message: "creating app-0", now: at(0))
            status.setCondition(.ready, .false, reason: "Starting", message: "0/2 replicas ready", now: at(0))
            try await store.putStatus(status)
            // when
            status.phase = .ready
            status.observedGeneration = 3
            status.restartCount = 2
            status.lastAction = "startContainer berth-qfield-app-1"
            status.lastCause = "exited (code 1)"
            status.setCondition(.ready, .true, reason: "Converged", message: "2/2 replicas ready", now: at(10))
            status.setCondition(.reconciling, .true, reason: "Progressing", message: "still", now: at(10))
            status.updatedAt = at(10)
            try await store.putStatus(status)
            try await store.putStatus(ResourceStatus(id: ResourceID(kind: .volume, project: "shop", name: "data"), phase: .ready, updatedAt: at(1)))
            // then
            let read = try #require(try await store.status(id))
            #expect(read == status)
            #expect(read.condition(.ready)?.lastTransition == at(10))
            #expect(read.condition(.reconciling)?.lastTransition == at(0))
            #expect(try await store.statuses(project: "qfield").map(\.id) == [id])
            #expect(try await store.statuses(project: nil).count == 2)
            // purging a resource removes its status
            try await store.putResource(try Self.service("app"), source: .api, now: at(0))
            try await store.purgeResource(id)
            #expect(try await store.status(id) == nil)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func storesReplicaCountsAndTheNextAttempt(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            // given
            let app = ResourceID(kind: .service, project: "qfield", name: "app")
            let data = ResourceID(kind: .volume, project: "qfield", name: "data")
            var backingOff = ResourceStatus(
                id: app, phase: .degraded, restartCount: 4, readyReplicas: 1, desiredReplicas: 2, nextAttemptAt: at(40), updatedAt: at(10)
            )
            let plain = ResourceStatus(id: data, phase: .ready, updatedAt: at(10))
            // when
            try await store.putStatus(backingOff)
            try await store.putStatus(plain)
            let stored = try await store.status(app)
            let listed = try await store.statuses(project: "qfield")
            backingOff.phase = .ready
            backingOff.readyReplicas = 2
            backingOff.nextAttemptAt = nil
            try await store.putStatus(backingOff)
            let recovered = try await store.status(app)
            // then
            #expect(
                stored
                    == ResourceStatus(
                        id: app, phase: .degraded, restartCount: 4, readyReplicas: 1, desiredReplicas: 2, nextAttemptAt: at(40), updatedAt: at(10)
                    ))
            #expect(listed.first { $0.id == app } == stored)
            #expect(listed.first { $0.id == data } == plain)
            #expect(recovered == backingOff)
            #expect(recovered?.nextAttemptAt == nil && recovered?.desiredReplicas == 2)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func deletesTheStatusOfAResourceThatIsGone(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            // given
            let gone = ResourceID(kind: .service, project: "qfield", name: "gone")
            let kept = ResourceID(kind: .service, project: "qfield", name: "kept")
            try await store.putStatus(ResourceStatus(id: gone, phase: .deleting, updatedAt: at(0)))
            try await store.putStatus(ResourceStatus(id: kept, phase: .ready, updatedAt: at(0)))
            // when
            let first = try await store.deleteStatus(gone, node: nil)
            let second = try await store.deleteStatus(gone, node: nil)
            // then
            #expect(first)
            #expect(!second)
            #expect(try await store.status(gone) == nil)
            #expect(try await store.statuses(project: nil).map(\.id) == [kept])
        }
    }

    // MARK: Wake-ups and leadership

    @Test(arguments: StoreKind.allCases)
    func writesWakeEveryListener(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            // given
            let first = store.notifications(), second = store.notifications()
            let app = try Self.service("app")
            // when
            try await store.submitJob(try submission(project: "shop"), now: at(0))
            try await store.putResource(app, source: .api, now: at(0))
            // then
            #expect(await firstNotification(first) { $0 == .jobSubmitted(project: "shop") })
            #expect(await firstNotification(second) { $0 == .jobSubmitted(project: "shop") })
            #expect(await firstNotification(first) { $0 == .resourceChanged(app.id) })
        }
    }

    @Test(arguments: StoreKind.allCases)
    func oneHolderLeadsAtATime(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, place in
            let other = try await place.open()
            // given / when
            let a = try await store.tryAcquireLeadership(name: "cron", holder: "a", lease: .seconds(30), now: at(0))
            let aAgain = try await store.tryAcquireLeadership(name: "cron", holder: "a", lease: .seconds(30), now: at(10))
            let bSameProcess = try await store.tryAcquireLeadership(name: "cron", holder: "b", lease: .seconds(30), now: at(10))
            let bOther = try await other.tryAcquireLeadership(name: "cron", holder: "b", lease: .seconds(30), now: at(10))
            let bOtherName = try await other.tryAcquireLeadership(name: "buckets", holder: "b", lease: .seconds(30), now: at(10))
            try await store.releaseLeadership(name: "cron", holder: "a")
            let bAfterRelease = try await other.tryAcquireLeadership(name: "cron", holder: "b", lease: .seconds(30), now: at(11))
            let aAfterwards = try await store.tryAcquireLeadership(name: "cron", holder: "a", lease: .seconds(30), now: at(12))
            await other.close()
            // then
            #expect(a && aAgain && !bSameProcess && !bOther && bOtherName && bAfterRelease && !aAfterwards)
        }
    }

    @Test func aSQLiteLeaseLapsesWhenNotRenewed() async throws {
        try await TestPlace.with(.sqlite) { store, _ async throws in
            #expect(try await store.tryAcquireLeadership(name: "cron", holder: "a", lease: .seconds(30), now: at(0)))
            #expect(try await store.tryAcquireLeadership(name: "cron", holder: "b", lease: .seconds(30), now: at(29)) == false)
            #expect(try await store.tryAcquireLeadership(name: "cron", holder: "b", lease: .seconds(30), now: at(30)))
        }
    }

    // MARK: Stored documents

    @Test(arguments: StoreKind.allCases)
    func aStoredSpecThatNoLongerValidatesIsReportedNotReturnedHalfRead(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            let job = try await store.submitJob(try submission(), now: at(0)).job
            try await rawExecute(store, "UPDATE jobs SET spec = '{\"image\": \"\", \"bogus\": 1}'")
            let error = await expectStoreError(.invalidStoredData) { try await store.job(job.id) }
            #expect(error?.message.contains("no longer validates") == true)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func operationsAfterCloseFail(kind: StoreKind) async throws {
        let place = try await TestPlace.make(kind)
        let store = try await place.open()
        let notifications = store.notifications()
        await store.close()
        await expectStoreError(.closed) { try await store.job("x") }
        await expectStoreError(.closed) { try await store.submitJob(try submission(), now: at(0)) }
        // a batch fails as a whole, each submission with the same clear error
        let batch = try await submitBatch(store, [try submission(name: "a"), try submission(name: "b", key: "k")], now: at(0))
        #expect(batch.map { $0.failure?.code } == [.closed, .closed])
        var iterator = notifications.makeAsyncIterator()
        #expect(await iterator.next() == nil)
        try await place.remove()
    }
}

/// Waits (at most 5 s) for a notification matching `predicate`.
func firstNotification(_ stream: AsyncStream<StoreNotification>, _ predicate: @escaping @Sendable (StoreNotification) -> Bool) async -> Bool {
    await withTaskGroup(of: Bool.self) { group in
        group.addTask {
            for await notification in stream where predicate(notification) { return true }
            return false
        }
        group.addTask {
            try? await Task.sleep(for: .seconds(5))
            return false
        }
        let found = await group.next() ?? false
        group.cancelAll()
        return found
    }
}
