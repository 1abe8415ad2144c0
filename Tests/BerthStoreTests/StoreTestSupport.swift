import BerthCore
import Foundation
import Testing

@testable import BerthStore

/// The two stores every conformance test runs against.
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String { rawValue }
}

struct SetupError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The throwaway cluster scripts/test started; a test that needs it fails (never skips) without it.
enum TestPostgres {
    static func url() throws -> String {
        guard let url = ProcessInfo.processInfo.environment["BERTH_TEST_POSTGRES_URL"], !url.isEmpty else {
            throw SetupError("BERTH_TEST_POSTGRES_URL is not set: run the tests through scripts/test, which starts a throwaway PostgreSQL")
        }
        return url
    }

    static func environment(_ name: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
            throw SetupError("\(name) is not set: run the tests through scripts/test, which starts a throwaway PostgreSQL")
        }
        return value
    }

    /// Runs statements outside a transaction (CREATE/DROP DATABASE) on the cluster's main database.
    static func admin(_ statements: [String]) async throws {
        let configuration = PostgresConfiguration(connectionString: try url(), poolSize: 1)
        let workers = BlockingWorkers<PostgresConnection>(
            count: 1, name: "berth-test-admin",
            makeConnection: { PostgresConnection(configuration: configuration) }, closeConnection: { $0.close() }
        )
        do {
            try await workers.run { connection throws(StoreError) in
                for statement in statements { try connection.execute(statement) }
            }
        } catch {
            await workers.stop()
            throw error
        }
        await workers.stop()
    }

    /// A fresh database; the name is returned for `dropDatabase`.
    static func createDatabase() async throws -> String {
        let name = "berth_t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        try await admin(["CREATE DATABASE \(name)"])
        return String(name)
    }

    static func dropDatabase(_ name: String) async throws {
        try await admin(["DROP DATABASE IF EXISTS \(name) WITH (FORCE)"])
    }

    static func configuration(database: String, poolSize: Int = 4) throws -> PostgresConfiguration {
        PostgresConfiguration(connectionString: try url(), overrides: ["dbname": database], poolSize: poolSize)
    }
}

/// A store of one kind in a place of its own (a temporary SQLite file, a new PostgreSQL database),
/// removed afterwards.
final class TestPlace: Sendable {
    let kind: StoreKind
    /// The SQLite file or the PostgreSQL database name.
    let location: String

    private init(kind: StoreKind, location: String) {
        self.kind = kind
        self.location = location
    }

    static func make(_ kind: StoreKind) async throws -> TestPlace {
        switch kind {
        case .sqlite:
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("berth-store-\(UUID().uuidString)")
            return TestPlace(kind: kind, location: folder.appendingPathComponent("berth.sqlite").path)
        case .postgres:
            return TestPlace(kind: kind, location: try await TestPostgres.createDatabase())
        }
    }

    func open(poolSize: Int = 4) async throws -> any Store {
        switch kind {
        case .sqlite: try await SQLiteStore.open(SQLiteStore.Configuration(path: location))
        case .postgres: try await PostgresStore.open(try TestPostgres.configuration(database: location, poolSize: poolSize))
        }
    }

    func remove() async throws {
        switch kind {
        case .sqlite: try? FileManager.default.removeItem(at: URL(fileURLWithPath: location).deletingLastPathComponent())
        case .postgres: try await TestPostgres.dropDatabase(location)
        }
    }

    /// Leaves the schema as an older Berth did: migrated up to `version` only, then `statements`
    /// run in the same session (rows that older Berth wrote).
    func migrate(upTo version: Int, then statements: [String] = []) async throws {
        switch kind {
        case .sqlite:
            let configuration = SQLiteStore.Configuration(path: location)
            try FileManager.default.createDirectory(at: URL(fileURLWithPath: location).deletingLastPathComponent(), withIntermediateDirectories: true)
            try await Self.onConnection({ SQLiteConnection(configuration: configuration) }, close: { $0.close() }) { connection throws(StoreError) in
                let migrations = SQLiteStore.migrations.filter { $0.version <= version }
                _ = try Migrator.migrate(connection, migrations: migrations, begin: "BEGIN IMMEDIATE", lock: nil, now: t0)
                for statement in statements { try connection.execute(statement) }
            }
        case .postgres:
            let configuration = try TestPostgres.configuration(database: location, poolSize: 1)
            try await Self.onConnection({ PostgresConnection(configuration: configuration) }, close: { $0.close() }) { connection throws(StoreError) in
                let migrations = PostgresStore.migrations.filter { $0.version <= version }
                _ = try Migrator.migrate(connection, migrations: migrations, begin: "BEGIN", lock: nil, now: t0)
                for statement in statements { try connection.execute(statement) }
            }
        }
    }

    /// Runs `body` on a connection of its own, on a thread of its own, then closes it.
    private static func onConnection<Connection: AnyObject>(
        _ make: @escaping @Sendable () -> Connection, close: @escaping @Sendable (Connection) -> Void,
        _ body: @escaping (Connection) throws(StoreError) -> Void
    ) async throws {
        let workers = BlockingWorkers<Connection>(count: 1, name: "berth-test-migrate", makeConnection: make, closeConnection: close)
        do {
            try await workers.run(body)
        } catch {
            await workers.stop()
            throw error
        }
        await workers.stop()
    }

    /// Runs `body` with an open store, then closes and removes it, also when `body` throws.
    static func with<T>(_ kind: StoreKind, _ body: (any Store, TestPlace) async throws -> T) async throws -> T {
        let place = try await make(kind)
        let store: any Store
        do {
            store = try await place.open()
        } catch {
            try await place.remove()
            throw error
        }
        do {
            let result = try await body(store, place)
            await store.close()
            try await place.remove()
            return result
        } catch {
            await store.close()
            try await place.remove()
            throw error
        }
    }
}

/// The schema version a store found or brought its database to when it opened.
/// The version of the newest migration: what a database opened by this build is at.
let latestSchemaVersion = 14

func schemaVersion(_ store: any Store) -> Int? {
    (store as? SQLStore)?.schemaVersion
}

/// Writes `submissions` as one batch of group commit, as concurrent `submitJob` calls that
/// waited for the same slot would be.
func submitBatch(_ store: any Store, _ submissions: [JobSubmission], now: Date) async throws -> [Result<SQLStore.SubmittedJob, StoreError>] {
    guard let store = store as? SQLStore else { throw SetupError("unknown store \(type(of: store))") }
    let backend = store.backend
    var jobs: [SQLStore.PendingJob] = []
    for submission in submissions { jobs.append(try SQLStore.PendingJob(submission, now: now)) }
    let batch = jobs
    let dialect = backend.dialect
    let write: @Sendable (any SQLSession) throws(StoreError) -> [Result<SQLStore.SubmittedJob, StoreError>] = { session in
        SQLStore.writeSubmissions(batch, on: session, dialect: dialect)
    }
    do throws(StoreError) {
        return try await backend.run(write)
    } catch {
        // No connection takes the batch (the store is closed), as group commit would find it.
        return Array(repeating: .failure(error), count: batch.count)
    }
}

/// Reaching under the API in tests.
func rawQuery(_ store: any Store, _ sql: String) async throws -> [[String?]] {
    guard let store = store as? SQLStore else { throw SetupError("unknown store \(type(of: store))") }
    return try await store.queryForTesting(sql)
}

func rawExecute(_ store: any Store, _ sql: String) async throws {
    guard let store = store as? SQLStore else { throw SetupError("unknown store \(type(of: store))") }
    try await store.executeForTesting(sql)
}

/// A fixed clock: whole milliseconds, as the store keeps them.
let t0 = Date(timeIntervalSince1970: 1_800_000_000)

func at(_ seconds: Double) -> Date { t0.addingTimeInterval(seconds) }

func jobSpec(_ command: String = "true", priority: Int = 0) throws -> JobSpec {
    JobSpec(container: ContainerSpec(image: try ImageReference(parsing: "example/worker:3"), command: [command]), priority: priority)
}

func submission(project: String = "qfield", name: String = "job", priority: Int = 0, key: String? = nil) throws -> JobSubmission {
    JobSubmission(project: project, name: name, spec: try jobSpec(), priority: priority, idempotencyKey: key)
}

/// Expects `body` to throw a `StoreError` with `code`, and returns it.
@discardableResult
func expectStoreError<T>(_ code: StoreError.Code, sourceLocation: Testing.SourceLocation = #_sourceLocation, _ body: () async throws -> T) async -> StoreError? {
    do {
        _ = try await body()
        Issue.record("expected a StoreError \(code), got a result", sourceLocation: sourceLocation)
        return nil
    } catch let error as StoreError {
        #expect(error.code == code, "\(error.message)", sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("expected a StoreError \(code), got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

extension Result {
    /// The error, when this is a failure.
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
