import BerthCore
import BerthObjectStore

/// Object storage in memory for controller tests: buckets with tags, versioning, lifecycle and an
/// object count, behaving as S3 does where the controller can tell (a non-empty bucket refuses to
/// go, a bucket never returns to unversioned). Failures can be injected per operation.
actor InMemoryObjectStorage: ObjectStorage {
    struct Bucket {
        var tags: [String: String] = [:]
        var versioning: ObservedBucket.Versioning = .unversioned
        var lifecycle: BucketSpec.Lifecycle?
        var objects = 0
    }

    private(set) var buckets: [String: Bucket] = [:]
    private var failures: [String: S3Error] = [:]

    func add(_ name: String, _ bucket: Bucket) {
        buckets[name] = bucket
    }

    /// The next calls of `operation` (`observe`, `createBucket` …) throw `error` until cleared.
    func fail(_ operation: String, with error: S3Error?) {
        failures[operation] = error
    }

    private func check(_ operation: String) throws(S3Error) {
        if let error = failures[operation] { throw error }
    }

    func observe(declared: Set<String>) async throws(S3Error) -> [ObservedBucket] {
        try check("observe")
        return buckets.sorted { $0.key < $1.key }.compactMap { name, bucket in
            let observed = ObservedBucket(name: name, tags: bucket.tags, versioning: bucket.versioning, lifecycle: bucket.lifecycle, isEmpty: bucket.objects == 0)
            return declared.contains(name) || observed.isOwned ? observed : nil
        }
    }

    func createBucket(_ target: BucketTarget) async throws(S3Error) {
        try check("createBucket")
        guard buckets[target.name] == nil else { throw S3Error(.bucketAlreadyOwnedByYou, "exists", status: 409) }
        buckets[target.name] = Bucket(tags: target.tags)
    }

    func setVersioning(bucket: String, enabled: Bool) async throws(S3Error) {
        try update(bucket) { $0.versioning = enabled ? .enabled : .suspended }
    }

    func setLifecycle(bucket: String, _ lifecycle: BucketSpec.Lifecycle?) async throws(S3Error) {
        try update(bucket) { $0.lifecycle = lifecycle }
    }

    func setTags(bucket: String, _ tags: [String: String]) async throws(S3Error) {
        try update(bucket) { $0.tags = tags }
    }

    func removeBucket(_ name: String, emptyFirst: Bool) async throws(S3Error) {
        try check("removeBucket")
        guard let bucket = buckets[name] else { return }
        guard bucket.objects == 0 || emptyFirst else { throw S3Error(.bucketNotEmpty, "The bucket you tried to delete is not empty", status: 409) }
        buckets[name] = nil
    }

    /// Objects by bucket and key (jobs' archived output).
    private(set) var objects: [String: [String: [UInt8]]] = [:]

    func putObject(_ bucket: String, key: String, body: [UInt8]) async throws(S3Error) {
        try check("putObject")
        try update(bucket) { $0.objects += 1 }
        objects[bucket, default: [:]][key] = body
    }

    func objectStream(_ bucket: String, key: String) async throws(S3Error) -> AsyncThrowingStream<[UInt8], any Error> {
        try check("objectStream")
        guard let body = objects[bucket]?[key] else { throw S3Error(.noSuchKey, "The specified key does not exist.", status: 404) }
        return AsyncThrowingStream { continuation in
            continuation.yield(body)
            continuation.finish()
        }
    }

    private func update(_ name: String, _ change: (inout Bucket) -> Void) throws(S3Error) {
        guard var bucket = buckets[name] else { throw S3Error(.noSuchBucket, "The specified bucket does not exist", status: 404) }
        change(&bucket)
        buckets[name] = bucket
    }
}
