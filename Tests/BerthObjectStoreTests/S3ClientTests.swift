import BerthCore
import BerthHTTP
@testable import BerthObjectStore
import Foundation
import Testing

/// Every bucket operation of ``S3Client`` against moto's S3 server, with signatures checked.
@Suite("S3 client against moto")
struct S3ClientTests {
    @Test func createsListsHeadsAndDeletesABucket() async throws {
        let client = try MotoServer.client()
        try await MotoServer.withBucket("life", create: false) { name in
            // given
            #expect(try await client.bucketExists(name) == false)

            // when
            try await client.createBucket(name)

            // then
            #expect(try await client.bucketExists(name))
            #expect(try await client.listBuckets().contains(name))
            try await client.deleteBucket(name)
            #expect(try await client.bucketExists(name) == false)
            #expect(try await !client.listBuckets().contains(name))
        }
    }

    @Test func createsABucketInAnotherRegionWithVirtualHostAddressing() async throws {
        // `<bucket>.localhost` resolves to the loopback address, so moto sees the bucket in the Host header.
        let client = try S3Client(
            configuration: S3Configuration(
                endpoint: try MotoServer.endpoint.replacingOccurrences(of: "127.0.0.1", with: "localhost"),
                region: "eu-west-1", addressing: .virtualHost, credentials: try MotoServer.credentials()
            ))
        try await MotoServer.withBucket("vhost", create: false) { name in
            // when
            try await client.createBucket(name)

            // then: moto answers the location constraint sent with the create
            let location = try await client.send("GET", bucket: name, query: [("location", "")], operation: "GetBucketLocation")
            #expect(String(decoding: location.body, as: UTF8.self).contains("eu-west-1"))
            #expect(try await client.bucketExists(name))
            // and a second create in that region is refused as already ours
            let error = await #expect(throws: S3Error.self) { try await client.createBucket(name) }
            #expect(error?.code == .bucketAlreadyOwnedByYou)
        }
    }

    @Test func readsAndWritesVersioning() async throws {
        let client = try MotoServer.client()
        try await MotoServer.withBucket("ver") { name in
            #expect(try await client.versioning(name) == .unversioned)
            try await client.setVersioning(name, enabled: true)
            #expect(try await client.versioning(name) == .enabled)
            try await client.setVersioning(name, enabled: false)
            #expect(try await client.versioning(name) == .suspended)
        }
    }

    @Test func readsWritesAndRemovesLifecycleRules() async throws {
        let client = try MotoServer.client()
        try await MotoServer.withBucket("life") { name in
            #expect(try await client.lifecycle(name).isEmpty)

            // when
            let rule = LifecycleRule(id: "berth", expirationDays: 30, noncurrentVersionExpirationDays: 7, abortIncompleteUploadDays: 2)
            try await client.setLifecycle(name, rules: [rule])

            // then
            #expect(try await client.lifecycle(name) == [rule])
            try await client.setLifecycle(name, rules: [])
            #expect(try await client.lifecycle(name).isEmpty)
        }
    }

    @Test func readsAndWritesTagsWithCharactersThatNeedEscaping() async throws {
        let client = try MotoServer.client()
        try await MotoServer.withBucket("tags") { name in
            #expect(try await client.tags(name) == [:])

            let tags = ["team": "maps & data", "berth.managed": "true", "path": "a/b <c>"]
            try await client.setTags(name, tags)
            #expect(try await client.tags(name) == tags)
            try await client.setTags(name, ["team": "x"])
            #expect(try await client.tags(name) == ["team": "x"])
            try await client.setTags(name, [:])
            #expect(try await client.tags(name) == [:])
        }
    }

    @Test func tellsAnEmptyBucketFromOneWithObjectsOrVersions() async throws {
        let client = try MotoServer.client()
        try await MotoServer.withBucket("empty") { name in
            #expect(try await client.isEmpty(name))

            // an object
            try await client.putObject(name, key: "dir/a file.txt", body: Array("hello".utf8))
            #expect(try await client.isEmpty(name) == false)
            let refused = await #expect(throws: S3Error.self) { try await client.deleteBucket(name) }
            #expect(refused?.code == .bucketNotEmpty)
            #expect(refused?.status == 409)

            // versions: emptying deletes every version, so the bucket can go
            try await client.setVersioning(name, enabled: true)
            try await client.putObject(name, key: "dir/a file.txt", body: Array("again".utf8))
            try await client.putObject(name, key: "other", body: [])
            try await client.deleteAllObjects(name)
            #expect(try await client.isEmpty(name))
            try await client.deleteBucket(name)
            #expect(try await client.bucketExists(name) == false)
        }
    }

    @Test func missingBucketsAreTypedErrors() async throws {
        let client = try MotoServer.client()
        let name = MotoServer.bucketName("missing")

        let deleted = await #expect(throws: S3Error.self) { try await client.deleteBucket(name) }
        #expect(deleted?.code == .noSuchBucket)
        #expect(deleted?.message.isEmpty == false)
        #expect(deleted?.description.contains("DeleteBucket \(name)") == true)
        let versioning = await #expect(throws: S3Error.self) { try await client.versioning(name) }
        #expect(versioning?.code == .noSuchBucket)
        let tags = await #expect(throws: S3Error.self) { try await client.setTags(name, ["a": "b"]) }
        #expect(tags?.code == .noSuchBucket)
    }

    /// Buckets are listed first and read after: one deleted in between (by another project's plan
    /// or another tool) is missing, declared or not, and does not fail the whole observation.
    @Test(arguments: [true, false])
    func aBucketDeletedBetweenListingAndReadingIsMissing(declared: Bool) async throws {
        let client = try MotoServer.client()
        let name = MotoServer.bucketName("vanished")
        #expect(try await S3ObjectStorage.observe(name, declared: declared, client: client) == nil)
    }

    @Test func aBucketOfAnotherAccountIsBucketAlreadyExists() async throws {
        // given: a bucket scripts/services/moto.sh made in another moto account
        let client = try MotoServer.client()
        let name = try MotoServer.value("BERTH_TEST_S3_FOREIGN_BUCKET")

        // when
        let error = await #expect(throws: S3Error.self) { try await client.createBucket(name) }

        // then
        #expect(error?.code == .bucketAlreadyExists)
        #expect(error?.status == 409)
        #expect(error?.message.hasPrefix("The requested bucket name is not available") == true)
    }

    @Test func aWrongSecretIsSignatureDoesNotMatch() async throws {
        let good = try MotoServer.credentials()
        let client = try MotoServer.client(credentials: S3Credentials(accessKey: good.accessKey, secretKey: good.secretKey + "x"))

        let error = await #expect(throws: S3Error.self) { try await client.listBuckets() }

        #expect(error?.code == .signatureDoesNotMatch)
        #expect(error?.status == 403)
        #expect(error?.description.contains(good.secretKey) == false)
    }

    @Test func temporaryCredentialsSendTheirSessionToken() async throws {
        let session = try MotoServer.sessionCredentials()
        let client = try MotoServer.client(credentials: session)
        let bucket = MotoServer.bucketName("session")

        try await client.createBucket(bucket)
        let listed = try await client.listBuckets()
        try await client.deleteBucket(bucket)

        #expect(listed.contains(bucket))
        #expect(try await !client.bucketExists(bucket))
    }

    @Test func temporaryCredentialsWithAnotherTokenAreRefused() async throws {
        let session = try MotoServer.sessionCredentials()
        let client = try MotoServer.client(credentials: S3Credentials(accessKey: session.accessKey, secretKey: session.secretKey, sessionToken: "not-the-token"))

        let error = await #expect(throws: S3Error.self) { try await client.listBuckets() }

        #expect(error?.code.rawValue == "InvalidToken")
        #expect(error?.status == 400)
        #expect(error?.description.contains("not-the-token") == false)
        #expect(error?.description.contains(session.secretKey) == false)
    }

    @Test func aUserWithoutPermissionIsAccessDenied() async throws {
        let client = try MotoServer.client(credentials: try MotoServer.credentials(denied: true))

        let error = await #expect(throws: S3Error.self) { try await client.createBucket(MotoServer.bucketName("denied")) }

        #expect(error?.code == .accessDenied)
        #expect(error?.message.isEmpty == false)
    }

    @Test func anEndpointThatDoesNotListenIsUnreachable() async throws {
        let client = try S3Client(configuration: S3Configuration(endpoint: "http://127.0.0.1:9", credentials: try MotoServer.credentials()))

        let error = await #expect(throws: S3Error.self) { try await client.listBuckets() }

        #expect(error?.code == .unreachable)
        #expect(error?.message.contains("--s3-endpoint") == true)
    }
}
