import BerthCore
import BerthObjectStore
import BerthStore
import Foundation
import Testing
@testable import BerthController

@Suite("Reconciler: buckets")
struct BucketReconcilerTests {
    static let media = Resource(
        metadata: ResourceMetadata(name: "media", project: "shop"),
        spec: .bucket(BucketSpec(bucketName: "shop-media", versioning: true, lifecycle: BucketSpec.Lifecycle(expireDays: 30), tags: ["team": "web"]))
    )
    static let mediaID = ResourceID(kind: .bucket, project: "shop", name: "media")

    static func snapshot(_ state: DesiredState) -> DesiredStateSource.Snapshot {
        DesiredStateSource.Snapshot(state: state, files: [], deleted: [], generations: [:])
    }

    @Test func createsAndConfiguresBucketsThenPlansNothing() async throws {
        // given
        let storage = InMemoryObjectStorage()
        let reconciler = Reconciler(runtime: InMemoryRuntime(), objectStorage: storage, store: nil)
        let snapshot = Self.snapshot(try Fixture.desired(Self.media, try Fixture.service("app")))

        // when
        let first = try await reconciler.reconcile(snapshot, at: Fixture.at(Fixture.now))
        let second = try await reconciler.reconcile(snapshot, at: Fixture.at(Fixture.now.addingTimeInterval(10)))

        // then
        #expect(first.converged)
        let bucket = try #require(await storage.buckets["shop-media"])
        #expect(bucket.versioning == .enabled)
        #expect(bucket.lifecycle == BucketSpec.Lifecycle(expireDays: 30))
        #expect(bucket.tags["team"] == "web")
        #expect(bucket.tags[LabelKey.managed] == "true")
        #expect(second.plan.actions.isEmpty)
        let status = try #require(second.statuses.first { $0.id == Self.mediaID })
        #expect(status.phase == .ready)
        #expect(status.condition(.ready)?.message == "bucket shop-media exists and is configured")
    }

    @Test func withoutAnEndpointBucketsFailWithAClearStatusAndTheRestConverges() async throws {
        // given
        let runtime = InMemoryRuntime()
        let reconciler = Reconciler(runtime: runtime, store: nil)

        // when
        let result = try await reconciler.reconcile(Self.snapshot(try Fixture.desired(Self.media, try Fixture.service("app"))), at: Fixture.at(Fixture.now))

        // then
        #expect(await runtime.containerNames == [Fixture.containerName("app")])
        let app = try #require(result.statuses.first { $0.id == Fixture.serviceID("app") })
        #expect(app.phase == .ready)
        let bucket = try #require(result.statuses.first { $0.id == Self.mediaID })
        #expect(bucket.phase == .failed)
        #expect(bucket.condition(.ready)?.reason == "ObjectStorageUnavailable")
        #expect(bucket.condition(.ready)?.message == Reconciler.noObjectStorage)
        #expect(!result.converged)
    }

    @Test func anUnreadableEndpointFailsOnlyTheBuckets() async throws {
        // given
        let storage = InMemoryObjectStorage()
        await storage.fail("observe", with: S3Error(.unreachable, "cannot reach the S3 endpoint http://127.0.0.1:9"))
        let runtime = InMemoryRuntime()
        let reconciler = Reconciler(runtime: runtime, objectStorage: storage, store: nil)

        // when
        let result = try await reconciler.reconcile(Self.snapshot(try Fixture.desired(Self.media, try Fixture.service("app"))), at: Fixture.at(Fixture.now))

        // then
        #expect(await runtime.containerNames == [Fixture.containerName("app")])
        let bucket = try #require(result.statuses.first { $0.id == Self.mediaID })
        #expect(bucket.phase == .failed)
        #expect(bucket.condition(.ready)?.message == "cannot read the buckets: cannot reach the S3 endpoint http://127.0.0.1:9")
    }

    @Test func aRefusedCreateBacksOffWithTheEndpointsMessage() async throws {
        // given
        let storage = InMemoryObjectStorage()
        await storage.fail("createBucket", with: S3Error(.bucketAlreadyExists, "The requested bucket name is not available.", status: 409, operation: "CreateBucket shop-media"))
        let reconciler = Reconciler(runtime: InMemoryRuntime(), objectStorage: storage, store: nil)

        // when
        let result = try await reconciler.reconcile(Self.snapshot(try Fixture.desired(Self.media)), at: Fixture.at(Fixture.now))

        // then
        let status = try #require(result.statuses.first { $0.id == Self.mediaID })
        #expect(status.phase == .failed)
        #expect(status.condition(.ready)?.message == "CreateBucket shop-media: BucketAlreadyExists (HTTP 409): The requested bucket name is not available.")
        #expect(status.nextAttemptAt != nil)
        #expect(result.report.results.filter { if case .skipped = $0.outcome { true } else { false } }.count == 2, "versioning and lifecycle wait for the create")
    }

    @Test func deletesAnEmptyOrphanItCreatedAndKeepsANonEmptyOne() async throws {
        // given: two buckets Berth created with reclaim policy Delete, then both resources removed
        let storage = InMemoryObjectStorage()
        let reconciler = Reconciler(runtime: InMemoryRuntime(), objectStorage: storage, store: nil)
        let logs = Resource(metadata: ResourceMetadata(name: "logs", project: "shop"), spec: .bucket(BucketSpec(bucketName: "shop-logs", reclaimPolicy: .delete)))
        let files = Resource(metadata: ResourceMetadata(name: "files", project: "shop"), spec: .bucket(BucketSpec(bucketName: "shop-files", reclaimPolicy: .delete)))
        _ = try await reconciler.reconcile(Self.snapshot(try Fixture.desired(logs, files)), at: Fixture.at(Fixture.now))
        var full = try #require(await storage.buckets["shop-files"])
        full.objects = 3
        await storage.add("shop-files", full)

        // when
        let result = try await reconciler.reconcile(Self.snapshot(try Fixture.desired(try Fixture.service("app"))), at: Fixture.at(Fixture.now.addingTimeInterval(10)))

        // then
        #expect(await storage.buckets.keys.sorted() == ["shop-files"])
        #expect(result.plan.warnings.map(\.message).contains { $0.hasPrefix("bucket shop-files is orphaned with reclaim policy Delete but is not empty") })
    }
}
