import Foundation
import Testing
@testable import BerthCore

/// Bucket rules of the planner: create what is missing, converge versioning, lifecycle and tags
/// naming the field, and delete only what Berth created, with reclaim policy Delete, when empty
/// (or when the spec allowed a non-empty one).
@Suite("Planner: buckets")
struct BucketPlannerTests {
    static let media = BucketSpec(
        bucketName: "shop-media", versioning: true,
        lifecycle: BucketSpec.Lifecycle(expireDays: 30, noncurrentExpireDays: 7, abortIncompleteUploadsDays: 2),
        tags: ["team": "web"]
    )

    /// The bucket exactly as Berth leaves it for `spec`.
    static func converged(_ spec: BucketSpec, name: String = "media", project: String = "shop") -> ObservedBucket {
        ObservedBucket(
            name: spec.bucketName,
            tags: spec.tags.merging(BucketOwnership.tags(ResourceID(kind: .bucket, project: project, name: name), spec)) { _, own in own },
            versioning: spec.versioning ? .enabled : .unversioned, lifecycle: spec.lifecycle, isEmpty: true
        )
    }

    static func plan(_ desired: DesiredState, _ buckets: [ObservedBucket]) -> Plan {
        Planner.plan(desired: desired, observed: ObservedState(objectStorage: .available(buckets)), now: Fixture.now)
    }

    @Test func createsAMissingBucketThenConfiguresIt() throws {
        let desired = try Fixture.desired(Fixture.bucket("media", Self.media))

        let plan = Self.plan(desired, [])

        #expect(
            plan.description == """
                + create bucket shop-media (Bucket shop/media: missing)
                ~ set versioning of bucket shop-media to Enabled (Bucket shop/media: missing)
                ~ set lifecycle rules of bucket shop-media (Bucket shop/media: missing)
                Plan: 1 to create, 2 to change, 0 to remove.
                """)
        #expect(plan.actions[1].after == [0] && plan.actions[2].after == [0])
        guard case .createBucket(let target) = plan.actions[0].operation else { throw SetupError("expected a create") }
        #expect(
            target.tags == [
                "team": "web", "berth.managed": "true", "berth.project": "shop", "berth.name": "media",
                "berth.reclaim-policy": "Retain", "berth.delete-non-empty": "false",
            ])
    }

    @Test func plansNothingForAConvergedBucket() throws {
        let desired = try Fixture.desired(Fixture.bucket("media", Self.media))
        #expect(Self.plan(desired, [Self.converged(Self.media)]).description == "No changes. The world matches the desired state.")
    }

    @Test func convergesDriftNamingEachField() throws {
        let desired = try Fixture.desired(Fixture.bucket("media", Self.media))
        var drifted = Self.converged(Self.media)
        drifted.versioning = .suspended
        drifted.lifecycle = BucketSpec.Lifecycle(expireDays: 90, noncurrentExpireDays: 7)
        drifted.tags["team"] = "ops"
        drifted.tags["added"] = "by hand"

        let plan = Self.plan(desired, [drifted])

        #expect(
            plan.description == """
                ~ set versioning of bucket shop-media to Enabled (Bucket shop/media: versioning: Suspended → Enabled)
                ~ set lifecycle rules of bucket shop-media (Bucket shop/media: lifecycle.expireDays: 90 → 30, lifecycle.abortIncompleteUploadsDays: none → 2)
                ~ set tags of bucket shop-media (Bucket shop/media: tags changed: tags.added, tags.team)
                Plan: 0 to create, 3 to change, 0 to remove.
                """)
    }

    @Test func suspendsVersioningAndRemovesLifecycleWhenTheSpecDropsThem() throws {
        let spec = BucketSpec(bucketName: "shop-media", tags: ["team": "web"])
        let desired = try Fixture.desired(Fixture.bucket("media", spec))
        var observed = Self.converged(spec)
        observed.versioning = .enabled
        observed.lifecycle = BucketSpec.Lifecycle(expireDays: 30)

        #expect(
            Self.plan(desired, [observed]).description == """
                ~ set versioning of bucket shop-media to Suspended (Bucket shop/media: versioning: Enabled → Suspended)
                ~ remove lifecycle rules of bucket shop-media (Bucket shop/media: lifecycle.expireDays: 30 → none)
                Plan: 0 to create, 2 to change, 0 to remove.
                """)
        observed.versioning = .suspended
        observed.lifecycle = nil
        #expect(Self.plan(desired, [observed]).isEmpty, "a suspended bucket is as unversioned as S3 allows")
    }

    @Test func rewritesLifecycleRulesBerthDoesNotManageOnItsOwnBucket() throws {
        let desired = try Fixture.desired(Fixture.bucket("media", Self.media))
        var observed = Self.converged(Self.media)
        observed.hasOtherLifecycleRules = true

        #expect(
            Self.plan(desired, [observed]).actions.map(\.description) == [
                "~ set lifecycle rules of bucket shop-media (Bucket shop/media: lifecycle: rules Berth does not manage)"
            ])
    }

    @Test func convergesSomeoneElsesBucketButNeverClaimsIt() throws {
        let spec = BucketSpec(bucketName: "shop-media", versioning: true, tags: ["team": "web"])
        let desired = try Fixture.desired(Fixture.bucket("media", spec))
        let foreign = ObservedBucket(name: "shop-media", tags: ["owner": "ops"], versioning: .unversioned, lifecycle: BucketSpec.Lifecycle(expireDays: 3))

        let plan = Self.plan(desired, [foreign])

        #expect(
            plan.description == """
                ~ set versioning of bucket shop-media to Enabled (Bucket shop/media: versioning: Unversioned → Enabled)
                ~ set tags of bucket shop-media (Bucket shop/media: tags changed: tags.team)
                ! warning: Bucket shop/media: bucket shop-media exists and Berth did not create it: its settings are converged, but it is never deleted
                Plan: 0 to create, 2 to change, 0 to remove.
                """)
        guard case .setBucketTags(_, let tags) = plan.actions[1].operation else { throw SetupError("expected tags") }
        #expect(tags == ["owner": "ops", "team": "web"], "its own tags stay; no ownership tag is added")
    }

    @Test func anAPIWritersBucketNeverManagesSomeoneElsesBucketButStillItsOwn() throws {
        let spec = BucketSpec(bucketName: "shop-media", versioning: true, lifecycle: BucketSpec.Lifecycle(expireDays: 1))
        var desired = try Fixture.desired(Fixture.bucket("media", spec))
        desired.markWrittenByAPIWriters([ResourceID(kind: .bucket, project: "shop", name: "media")])
        let foreign = ObservedBucket(name: "shop-media", tags: ["owner": "ops"], versioning: .unversioned, lifecycle: BucketSpec.Lifecycle(expireDays: 365))

        #expect(
            Self.plan(desired, [foreign]).description == """
                ! warning: Bucket shop/media: bucket shop-media exists and Berth did not create it: only a manifest or an admin token may manage it, so it is left alone
                No changes. The world matches the desired state.
                """)
        var own = Self.converged(spec)
        own.versioning = .suspended
        #expect(
            Self.plan(desired, [own]).actions.map(\.description) == [
                "~ set versioning of bucket shop-media to Enabled (Bucket shop/media: versioning: Suspended → Enabled)"
            ])
        #expect(Self.plan(desired, []).actions.count == 3, "a missing bucket is created as for anyone")
    }

    @Test func deletesAnEmptyOrphanWithReclaimPolicyDelete() throws {
        let spec = BucketSpec(bucketName: "shop-media", reclaimPolicy: .delete)
        let desired = try Fixture.desired()

        #expect(
            Self.plan(desired, [Self.converged(spec)]).actions.map(\.description) == [
                "- delete bucket shop-media (Bucket shop/media: orphaned, reclaim policy Delete)"
            ])
    }

    @Test func keepsANonEmptyOrphanUnlessTheSpecAllowedIt() throws {
        let desired = try Fixture.desired()
        var kept = Self.converged(BucketSpec(bucketName: "shop-media", reclaimPolicy: .delete))
        kept.isEmpty = false
        var allowed = Self.converged(BucketSpec(bucketName: "shop-logs", reclaimPolicy: .delete, deleteNonEmpty: true), name: "logs")
        allowed.isEmpty = false

        #expect(
            Self.plan(desired, [kept, allowed]).description == """
                - delete bucket shop-logs and every object in it (Bucket shop/logs: orphaned, reclaim policy Delete, deleteNonEmpty)
                ! warning: Bucket shop/media: bucket shop-media is orphaned with reclaim policy Delete but is not empty; it is kept (deleteNonEmpty: true would delete it with its objects)
                Plan: 0 to create, 0 to change, 1 to remove.
                """)
    }

    @Test func neverDeletesRetainedForeignOrOutOfScopeBuckets() throws {
        let desired = try Fixture.desired()
        let retained = Self.converged(BucketSpec(bucketName: "shop-media"))
        let foreign = ObservedBucket(name: "shop-other", tags: ["berth.reclaim-policy": "Delete"], isEmpty: true)
        let elsewhere = Self.converged(BucketSpec(bucketName: "crm-files", reclaimPolicy: .delete), name: "files", project: "crm")

        #expect(Self.plan(desired, [retained, foreign, elsewhere]).isEmpty)
    }

    @Test func aRenamedBucketIsCreatedAndTheOldOneReclaimed() throws {
        let old = BucketSpec(bucketName: "shop-media", reclaimPolicy: .delete)
        var renamed = old
        renamed.bucketName = "shop-media-v2"
        let desired = try Fixture.desired(Fixture.bucket("media", renamed))

        #expect(
            Self.plan(desired, [Self.converged(old)]).actions.map(\.description) == [
                "+ create bucket shop-media-v2 (Bucket shop/media: missing)",
                "- delete bucket shop-media (Bucket shop/media: replaced by bucket shop-media-v2, reclaim policy Delete)",
            ])
    }

    @Test func leavesABucketBerthCreatedForAnotherResourceAlone() throws {
        let desired = try Fixture.desired(Fixture.bucket("media", Self.media))
        let other = Self.converged(Self.media, name: "files")

        let plan = Self.plan(desired, [other])

        #expect(plan.actions.isEmpty)
        #expect(plan.warnings.map(\.message) == ["bucket shop-media was created by Berth for Bucket shop/files; it is left alone until that tag is changed or the bucketName is"])
    }

    @Test func withoutObjectStorageEachBucketGetsTheReasonAndTheRestIsPlanned() throws {
        let desired = try Fixture.desired(Fixture.bucket("media", Self.media), Fixture.volume("data"))

        let plan = Planner.plan(desired: desired, observed: ObservedState(objectStorage: .unavailable("no S3 endpoint is configured")), now: Fixture.now)

        #expect(
            plan.description == """
                + create volume berth-shop-data (Volume shop/data: missing)
                ! warning: Bucket shop/media: no S3 endpoint is configured
                Plan: 1 to create, 0 to change, 0 to remove.
                """)
    }

    @Test(arguments: 1...50)
    func applyingABucketPlanConverges(seed: Int) throws {
        var random = SeededGenerator(seed: UInt64(seed))
        let spec = BucketSpec(
            bucketName: "shop-media", versioning: Bool.random(using: &random),
            lifecycle: Bool.random(using: &random) ? BucketSpec.Lifecycle(expireDays: Int.random(in: 1...5, using: &random)) : nil,
            tags: Bool.random(using: &random) ? ["team": "web"] : [:]
        )
        let desired = try Fixture.desired(Fixture.bucket("media", spec))
        var observed: [ObservedBucket] = []
        if Bool.random(using: &random) {
            var bucket = Self.converged(spec)
            bucket.versioning = [.unversioned, .enabled, .suspended].randomElement(using: &random)
            bucket.lifecycle = Bool.random(using: &random) ? BucketSpec.Lifecycle(noncurrentExpireDays: 3) : nil
            bucket.hasOtherLifecycleRules = Bool.random(using: &random)
            if Bool.random(using: &random) { bucket.tags["extra"] = "x" }
            observed.append(bucket)
        }
        var world = InMemoryWorld(ObservedState(objectStorage: .available(observed)))

        world.apply(Planner.plan(desired: desired, observed: world.observed, now: Fixture.now), at: Fixture.now)

        let again = Planner.plan(desired: desired, observed: world.observed, now: Fixture.now)
        #expect(again.isEmpty, "seed \(seed): \(again)")
    }
}

struct SetupError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
