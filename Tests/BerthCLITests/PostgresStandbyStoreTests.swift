import BerthCore
import BerthStore
import Foundation
import Testing

/// `PostgresStore` on a URL that lets libpq take a standby (no `target_session_attrs`): after
/// the primary stops, a connection lands on the standby, which still answers reads; a write
/// there fails with a retryable error and closes the connection, and once the standby is
/// promoted the same submission, retried with its idempotency key, is written once.
@Suite("PostgreSQL standby under a store")
struct PostgresStandbyStoreTests {
    @Test func aWriteOnAStandbyIsRetryableAndTheRetrySucceedsOnceItIsPromoted() async throws {
        let postgres = try await ReplicatedPostgres()
        do {
            try await Self.writeThroughFailover(postgres)
        } catch {
            await postgres.finish()
            throw error
        }
        await postgres.finish()
    }

    private static func submission(_ key: String) throws -> JobSubmission {
        let spec = JobSpec(container: ContainerSpec(image: try ImageReference(parsing: "example/worker:3"), command: ["true"]))
        return JobSubmission(project: "pgha", name: key, spec: spec, idempotencyKey: key)
    }

    /// Submits until the store writes it, waiting 100 ms after each retryable error; nil after `limit`.
    private static func submitUntilWritten(_ store: PostgresStore, _ submission: JobSubmission, within limit: Duration) async throws -> (job: JobRecord, created: Bool)? {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            do {
                return try await store.submitJob(submission, now: Date())
            } catch  where error.isRetryable {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        return nil
    }

    /// The error the submission fails with, nil when it is written.
    private static func failure(_ store: PostgresStore, _ submission: JobSubmission) async -> StoreError? {
        do {
            _ = try await store.submitJob(submission, now: Date())
            return nil
        } catch {
            return error
        }
    }

    private static func writeThroughFailover(_ postgres: ReplicatedPostgres) async throws {
        // given: a store on the primary with one job written
        let store = try await PostgresStore.open(PostgresConfiguration(connectionString: postgres.urlAcceptingAStandby, poolSize: 1))
        let before = try await store.submitJob(try submission("before"), now: Date()).job

        // when: the primary stops
        try await postgres.stopPrimary()

        // then: the standby answers reads (the job is there: replication was synchronous), and
        // a write fails, retryable, until the standby is promoted
        let answered = try await poll(30) { try await store.job(before.id) != nil }
        #expect(answered, "the standby answers reads")
        let during = try submission("during")
        var failures: [StoreError] = []
        for _ in 0..<3 {
            let failure = await Self.failure(store, during)
            #expect(failure != nil, "a write succeeded with no primary")
            failures += failure.map { [$0] } ?? []
        }
        #expect(failures.allSatisfy { $0.isRetryable }, "\(failures.map(\.message))")
        #expect(failures.contains { $0.message.contains("read-only") }, "a connection landed on the standby: \(failures.map(\.message))")
        #expect(failures.allSatisfy { !$0.message.contains(postgres.password) })

        // when: the standby is promoted
        try await postgres.promoteStandby()

        // then: the submission, retried with its key, is written once
        let written = try await submitUntilWritten(store, during, within: .seconds(30))
        let job = try #require(written, "the retried submission was written within 30 s of the promotion")
        #expect(job.created)
        let again = try await store.submitJob(during, now: Date())
        #expect(!again.created && again.job.id == job.job.id)
        #expect(try await store.job(before.id) != nil)
        await store.close()
    }
}
