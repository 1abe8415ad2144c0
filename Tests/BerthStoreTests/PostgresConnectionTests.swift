import BerthCore
import Foundation
import Testing

@testable import BerthStore

/// Connection strings go to libpq untouched: the forms PostgreSQL users write all work.
@Suite("PostgreSQL connections", .serialized)
struct PostgresConnectionTests {
    static func components() throws -> URLComponents {
        guard let components = URLComponents(string: try TestPostgres.url()), let host = components.host, components.port != nil, !host.isEmpty else {
            throw SetupError("BERTH_TEST_POSTGRES_URL is not a postgresql://user:password@host:port/db URI")
        }
        return components
    }

    /// Opens a store with `connectionString` on a new database, submits and reads a job.
    static func roundTrip(_ connectionString: String, overrides: [String: String] = [:], database: String) async throws {
        var overrides = overrides
        overrides["dbname"] = overrides["dbname"] ?? database
        let store = try await PostgresStore.open(PostgresConfiguration(connectionString: connectionString, overrides: overrides, poolSize: 1))
        let job = try await store.submitJob(try submission(), now: at(0)).job
        let read = try await store.job(job.id)
        await store.close()
        #expect(read == job)
    }

    @Test func acceptsAURIAndAKeyValueString() async throws {
        let database = try await TestPostgres.createDatabase()
        defer { Task { try? await TestPostgres.dropDatabase(database) } }
        let url = try Self.components()
        // a URI naming the database itself
        var uri = url
        uri.path = "/\(database)"
        try await Self.roundTrip(try #require(uri.string), overrides: ["dbname": ""], database: database)
        // key=value with the password from the environment, as PG* variables would give it
        let keyValue = "host=\(url.host!) port=\(url.port!) user=\(url.user!) password='\(url.password ?? "")' sslmode=disable application_name=berth-test"
        try await Self.roundTrip(keyValue, database: database)
        try await TestPostgres.dropDatabase(database)
    }

    @Test func followsTheSecondHostWhenTheFirstIsDown() async throws {
        let database = try await TestPostgres.createDatabase()
        defer { Task { try? await TestPostgres.dropDatabase(database) } }
        let url = try Self.components()
        // port 1 on loopback refuses at once: libpq moves on to the next host
        let multiHost = "postgresql://\(url.user!):\(url.password ?? "")@127.0.0.1:1,\(url.host!):\(url.port!)/\(database)?target_session_attrs=read-write&connect_timeout=5"
        try await Self.roundTrip(multiHost, overrides: ["dbname": ""], database: database)
        try await TestPostgres.dropDatabase(database)
    }

    @Test func aWrongPasswordIsReportedWithoutThePassword() async throws {
        let url = try Self.components()
        let secret = "wrong-secret-\(UUID().uuidString.prefix(8))"
        let error = await expectStoreError(.unavailable) {
            try await PostgresStore.open(PostgresConfiguration(connectionString: "postgresql://\(url.user!):\(secret)@\(url.host!):\(url.port!)/berth", poolSize: 1))
        }
        #expect(error?.isRetryable == true)
        #expect(error?.message.contains("password authentication failed") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains(secret) == false)
        #expect("\(String(describing: error))".contains(secret) == false)
    }

    @Test func anUnreachableServerIsARetryableError() async throws {
        let error = await expectStoreError(.unavailable) {
            try await PostgresStore.open(PostgresConfiguration(connectionString: "host=127.0.0.1 port=1 user=nobody password=hunter2 dbname=x", poolSize: 1))
        }
        #expect(error?.isRetryable == true)
        #expect(error?.message.contains("hunter2") == false)
    }

    @Test func aConnectionBackingOffTriesAgainOnceAnotherOfItsPoolGotThrough() throws {
        // given: a connection of a pool that failed and backs off for a minute (its server is a
        // closed port, standing in for a server that is down)
        let poolConnects = PoolConnects()
        let down = PostgresConfiguration(connectionString: "host=127.0.0.1 port=1 user=nobody dbname=x", initialBackoff: .seconds(60))
        let waiting = PostgresConnection(configuration: down, poolConnects: poolConnects)
        defer { waiting.close() }
        let first = try #require(Self.connectError(waiting))
        let backingOff = try #require(Self.connectError(waiting))
        #expect(first.message.contains("cannot connect") && backingOff.message.contains("next attempt is in"))
        // when: another connection of the pool gets through
        let other = PostgresConnection(configuration: PostgresConfiguration(connectionString: try TestPostgres.url()), poolConnects: poolConnects)
        defer { other.close() }
        try other.ensureConnected()
        // then: the waiting one tries again at once, then backs off again
        let retried = try #require(Self.connectError(waiting))
        #expect(retried.message.contains("cannot connect"))
        #expect(try #require(Self.connectError(waiting)).message.contains("next attempt is in"))
    }

    /// The error of a connection attempt (a closed port refuses at once), nil when it connected.
    static func connectError(_ connection: PostgresConnection) -> StoreError? {
        do throws(StoreError) {
            try connection.ensureConnected()
            return nil
        } catch {
            return error
        }
    }

    @Test func aConcurrentFirstOpenMigratesOnce() async throws {
        let database = try await TestPostgres.createDatabase()
        let configuration = try TestPostgres.configuration(database: database, poolSize: 1)
        let stores = try await withThrowingTaskGroup(of: PostgresStore.self) { group in
            for _ in 0..<4 { group.addTask { try await PostgresStore.open(configuration) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let rows = try await stores[0].queryForTesting("SELECT count(*) FROM schema_migrations")
        for store in stores { await store.close() }
        try await TestPostgres.dropDatabase(database)
        #expect(rows == [["\(PostgresStore.migrations.count)"]])
        #expect(stores.allSatisfy { $0.schemaVersion == PostgresStore.migrations.map(\.version).max() })
    }

    @Test func aSubmitWakesAnotherStoreOnTheSameDatabaseWithinMilliseconds() async throws {
        try await TestPlace.with(.postgres) { store, place in
            let other = try await place.open(poolSize: 1)
            let wakeups = other.notifications()
            let started = ContinuousClock.now
            _ = try await store.submitJob(try submission(project: "latency"), now: at(0))
            // Timed from the acknowledged commit: the submit itself may wait behind other tests'
            // writes to the shared cluster (timed from before it, this once took 2.8 s while the
            // 10,000-job claim test ran beside it).
            let committed = ContinuousClock.now
            let woke = await firstNotification(wakeups) { $0 == .jobSubmitted(project: "latency") }
            let elapsed = ContinuousClock.now - committed
            await other.close()
            // This store never polls: the wake-up can only have come by NOTIFY. The bound is far
            // below the controller's resync (30 s), and loose enough for a cluster busy with other
            // tests (it once took 2 s beside the 10,000-job claim test).
            #expect(woke)
            #expect(elapsed < .seconds(5), "the submit took \(committed - started)")
        }
    }
}
