import BerthCore

/// Object storage as the controller sees it: one snapshot of the buckets to plan from, and one
/// call per planned operation. ``S3ObjectStorage`` is the real one; controller tests use an
/// in-memory double.
public protocol ObjectStorage: Sendable {
    /// The buckets named in `declared` that exist (tags, versioning and lifecycle read), and every
    /// other bucket carrying Berth's ownership tags (tags read; emptiness checked for those whose
    /// reclaim policy is Delete, the only ones a plan may delete).
    func observe(declared: Set<String>) async throws(S3Error) -> [ObservedBucket]
    /// Creates a bucket and writes its tags; one that exists already is an error, since the
    /// observation said it did not (someone else made it meanwhile, and it is not Berth's).
    func createBucket(_ target: BucketTarget) async throws(S3Error)
    func setVersioning(bucket: String, enabled: Bool) async throws(S3Error)
    /// Writes Berth's one whole-bucket rule, or removes the configuration for `nil`.
    func setLifecycle(bucket: String, _ lifecycle: BucketSpec.Lifecycle?) async throws(S3Error)
    func setTags(bucket: String, _ tags: [String: String]) async throws(S3Error)
    /// Deletes the bucket; with `emptyFirst`, every object version and delete marker before it.
    /// A missing bucket is fine.
    func removeBucket(_ name: String, emptyFirst: Bool) async throws(S3Error)
    /// Writes one object (jobs' archived output).
    func putObject(_ bucket: String, key: String, body: [UInt8]) async throws(S3Error)
    /// One object's bytes as they arrive.
    func objectStream(_ bucket: String, key: String) async throws(S3Error) -> AsyncThrowingStream<[UInt8], any Error>
}

/// ``ObjectStorage`` on an S3 endpoint.
public struct S3ObjectStorage: ObjectStorage {
    public let client: S3Client
    /// How many buckets `observe` reads at once.
    public var observeConcurrency = 8

    /// The ID of the one lifecycle rule Berth writes.
    public static let lifecycleRuleID = "berth"

    public init(client: S3Client) {
        self.client = client
    }

    public func observe(declared: Set<String>) async throws(S3Error) -> [ObservedBucket] {
        let names = try await client.listBuckets().sorted()
        let client = client
        do {
            return try await withThrowingTaskGroup(of: ObservedBucket?.self) { group in
                var results: [ObservedBucket] = []
                var next = names.makeIterator()
                func addNext() {
                    guard let name = next.next() else { return }
                    group.addTask { try await Self.observe(name, declared: declared.contains(name), client: client) }
                }
                for _ in 0..<observeConcurrency { addNext() }
                while let result = try await group.next() {
                    if let result { results.append(result) }
                    addNext()
                }
                return results.sorted { $0.name < $1.name }
            }
        } catch let error as S3Error {
            throw error
        } catch {
            throw S3Error(.cancelled, "\(error)", operation: "observe buckets")
        }
    }

    /// One bucket; `nil` for someone else's that is not declared, and for one deleted between
    /// the listing and any of its reads (another tool, or another project's plan, removed it:
    /// it is missing, not unreadable).
    static func observe(_ name: String, declared: Bool, client: S3Client) async throws(S3Error) -> ObservedBucket? {
        do throws(S3Error) {
            return try await read(name, declared: declared, client: client)
        } catch {
            if error.code == .noSuchBucket { return nil }
            throw error
        }
    }

    private static func read(_ name: String, declared: Bool, client: S3Client) async throws(S3Error) -> ObservedBucket? {
        let tags: [String: String]
        do throws(S3Error) {
            tags = try await client.tags(name)
        } catch {
            // A bucket these credentials may list but not read is not Berth's.
            if !declared && error.code == .accessDenied { return nil }
            throw error
        }
        var bucket = ObservedBucket(name: name, tags: tags)
        if declared {
            bucket.versioning = try await client.versioning(name)
            let rules = try await client.lifecycle(name)
            (bucket.lifecycle, bucket.hasOtherLifecycleRules) = lifecycle(of: rules)
            return bucket
        }
        guard bucket.isOwned else { return nil }
        if bucket.reclaimPolicy == .delete { bucket.isEmpty = try await client.isEmpty(name) }
        return bucket
    }

    /// The lifecycle Berth's rule expresses, and whether other rules exist beside it.
    static func lifecycle(of rules: [LifecycleRule]) -> (BucketSpec.Lifecycle?, hasOther: Bool) {
        let understood = rules.filter { $0.enabled && $0.prefix.isEmpty && !$0.hasOtherSettings }
        let hasOther = understood.count != rules.count || understood.count > 1
        guard let rule = understood.first else { return (nil, hasOther) }
        let lifecycle = BucketSpec.Lifecycle(
            expireDays: rule.expirationDays, noncurrentExpireDays: rule.noncurrentVersionExpirationDays,
            abortIncompleteUploadsDays: rule.abortIncompleteUploadDays
        )
        return (lifecycle.isEmpty ? nil : lifecycle, hasOther || lifecycle.isEmpty)
    }

    public func createBucket(_ target: BucketTarget) async throws(S3Error) {
        do throws(S3Error) {
            try await client.createBucket(target.name)
        } catch  where error.code == .bucketAlreadyOwnedByYou {
            throw S3Error(
                error.code, "bucket \(target.name) appeared after this pass looked; it is not tagged as Berth's, and the next pass treats it as an existing bucket", status: error.status,
                operation: error.operation)
        }
        try await client.setTags(target.name, target.tags)
    }

    public func setVersioning(bucket: String, enabled: Bool) async throws(S3Error) {
        try await client.setVersioning(bucket, enabled: enabled)
    }

    public func setLifecycle(bucket: String, _ lifecycle: BucketSpec.Lifecycle?) async throws(S3Error) {
        guard let lifecycle, !lifecycle.isEmpty else {
            try await client.setLifecycle(bucket, rules: [])
            return
        }
        let rule = LifecycleRule(
            id: Self.lifecycleRuleID, expirationDays: lifecycle.expireDays,
            noncurrentVersionExpirationDays: lifecycle.noncurrentExpireDays, abortIncompleteUploadDays: lifecycle.abortIncompleteUploadsDays
        )
        try await client.setLifecycle(bucket, rules: [rule])
    }

    public func setTags(bucket: String, _ tags: [String: String]) async throws(S3Error) {
        try await client.setTags(bucket, tags)
    }

    public func removeBucket(_ name: String, emptyFirst: Bool) async throws(S3Error) {
        do throws(S3Error) {
            if emptyFirst { try await client.deleteAllObjects(name) }
            try await client.deleteBucket(name)
        } catch  where error.code == .noSuchBucket {
            return
        }
    }

    public func putObject(_ bucket: String, key: String, body: [UInt8]) async throws(S3Error) {
        try await client.putObject(bucket, key: key, body: body)
    }

    public func objectStream(_ bucket: String, key: String) async throws(S3Error) -> AsyncThrowingStream<[UInt8], any Error> {
        try await client.objectStream(bucket, key: key)
    }
}
