/// The tags that record Berth's ownership of a bucket. Only a bucket Berth created carries
/// `berth.managed=true`, and only such a bucket is ever deleted; the reclaim policy travels with
/// the bucket so an orphan still says whether it may go.
public enum BucketOwnership {
    /// Berth's tags for the bucket of `id` (five; users keep the other 45 of S3's 50).
    public static func tags(_ id: ResourceID, _ spec: BucketSpec) -> [String: String] {
        [
            LabelKey.managed: "true",
            LabelKey.project: id.project,
            LabelKey.name: id.name,
            LabelKey.reclaimPolicy: spec.reclaimPolicy.rawValue,
            LabelKey.deleteNonEmpty: spec.deleteNonEmpty ? "true" : "false",
        ]
    }
}

extension PlanBuilder {
    /// Creates missing buckets, converges versioning, lifecycle and tags of declared ones, and
    /// deletes orphaned buckets Berth created whose reclaim policy is Delete (a non-empty one only
    /// when its spec allowed it).
    mutating func planBuckets() {
        let observed: [ObservedBucket]
        switch objectStorage {
        case .available(let buckets):
            observed = buckets
        case .unavailable(let reason):
            for (id, _) in desired.buckets { plan.warnings.append(Warning(resource: id, message: reason)) }
            return
        }
        let byName = Dictionary(observed.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for (id, spec) in desired.buckets {
            if let bucket = byName[spec.bucketName] {
                planExistingBucket(bucket, id, spec)
            } else {
                let create = add(.createBucket(target: BucketTarget(name: spec.bucketName, tags: desiredTags(id, spec, observed: nil))), id, "missing")
                if spec.versioning { add(.setBucketVersioning(name: spec.bucketName, enabled: true), id, "missing", after: [create]) }
                if let lifecycle = spec.lifecycle { add(.setBucketLifecycle(name: spec.bucketName, lifecycle: lifecycle), id, "missing", after: [create]) }
            }
        }
        planOrphanBuckets(observed)
    }

    /// The tag set a declared bucket should have: the spec's tags plus Berth's ownership tags on a
    /// bucket Berth created (or will create); on someone else's bucket, the spec's tags over its own.
    private func desiredTags(_ id: ResourceID, _ spec: BucketSpec, observed: ObservedBucket?) -> [String: String] {
        guard let observed, !observed.isOwned else {
            return spec.tags.merging(BucketOwnership.tags(id, spec)) { _, own in own }
        }
        return observed.tags.merging(spec.tags) { _, declared in declared }
    }

    private mutating func planExistingBucket(_ bucket: ObservedBucket, _ id: ResourceID, _ spec: BucketSpec) {
        if bucket.isOwned, bucket.project != id.project || bucket.resourceName != id.name {
            let owner = "Bucket \(bucket.project ?? "?")/\(bucket.resourceName ?? "?")"
            plan.warnings.append(Warning(resource: id, message: "bucket \(bucket.name) was created by Berth for \(owner); it is left alone until that tag is changed or the bucketName is"))
            return
        }
        if !bucket.isOwned, desired.writtenByAPIWriters.contains(id) {
            plan.warnings.append(Warning(resource: id, message: "bucket \(bucket.name) exists and Berth did not create it: only a manifest or an admin token may manage it, so it is left alone"))
            return
        }
        if !bucket.isOwned {
            plan.warnings.append(Warning(resource: id, message: "bucket \(bucket.name) exists and Berth did not create it: its settings are converged, but it is never deleted"))
        }
        let versioning = bucket.versioning ?? .unversioned
        if spec.versioning, versioning != .enabled {
            add(.setBucketVersioning(name: bucket.name, enabled: true), id, "versioning: \(versioning.rawValue) → Enabled")
        } else if !spec.versioning, versioning == .enabled {
            add(.setBucketVersioning(name: bucket.name, enabled: false), id, "versioning: Enabled → Suspended")
        }
        // Someone else's lifecycle rules are theirs unless the spec declares some.
        if bucket.isOwned || spec.lifecycle != nil {
            let changes = Self.lifecycleChanges(from: bucket.lifecycle, to: spec.lifecycle)
            if !changes.isEmpty || bucket.hasOtherLifecycleRules {
                let cause = changes.isEmpty ? "lifecycle: rules Berth does not manage" : changes.joined(separator: ", ")
                add(.setBucketLifecycle(name: bucket.name, lifecycle: spec.lifecycle), id, cause)
            }
        }
        let tags = desiredTags(id, spec, observed: bucket)
        if tags != bucket.tags {
            let keys = Set(tags.keys).union(bucket.tags.keys).filter { tags[$0] != bucket.tags[$0] }.sorted()
            add(.setBucketTags(name: bucket.name, tags: tags), id, "tags changed: " + keys.map { "tags.\($0)" }.joined(separator: ", "))
        }
    }

    /// `lifecycle.expireDays: 30 → 7` per field that differs.
    static func lifecycleChanges(from observed: BucketSpec.Lifecycle?, to desired: BucketSpec.Lifecycle?) -> [String] {
        let fields: [(String, KeyPath<BucketSpec.Lifecycle, Int?>)] = [
            ("expireDays", \.expireDays),
            ("noncurrentExpireDays", \.noncurrentExpireDays),
            ("abortIncompleteUploadsDays", \.abortIncompleteUploadsDays),
        ]
        return fields.compactMap { name, field in
            let old = observed?[keyPath: field], new = desired?[keyPath: field]
            guard old != new else { return nil }
            return "lifecycle.\(name): \(old.map(String.init) ?? "none") → \(new.map(String.init) ?? "none")"
        }
    }

    /// Buckets Berth created for resources (of projects in scope) that no longer declare them.
    private mutating func planOrphanBuckets(_ observed: [ObservedBucket]) {
        for bucket in observed.sorted(by: { $0.name < $1.name }) where bucket.isOwned {
            guard let project = bucket.project, let name = bucket.resourceName, desired.referencedProjects.contains(project) else { continue }
            let id = ResourceID(kind: .bucket, project: project, name: name)
            var cause = "orphaned"
            if case .bucket(let spec)? = desired.resource(id)?.spec {
                if spec.bucketName == bucket.name { continue }
                cause = "replaced by bucket \(spec.bucketName)"
            }
            guard bucket.reclaimPolicy == .delete else { continue }
            if bucket.isEmpty == true {
                add(.removeBucket(name: bucket.name, emptyFirst: false), id, "\(cause), reclaim policy Delete")
            } else if bucket.deleteNonEmpty {
                add(.removeBucket(name: bucket.name, emptyFirst: true), id, "\(cause), reclaim policy Delete, deleteNonEmpty")
            } else {
                plan.warnings.append(
                    Warning(resource: id, message: "bucket \(bucket.name) is \(cause) with reclaim policy Delete but is not empty; it is kept (deleteNonEmpty: true would delete it with its objects)"))
            }
        }
    }
}
