import Foundation

/// One numbered schema change. The list lives in Swift (`Schema`, rendered per dialect) rather
/// than in resource files, so the `berth` binary carries its schema with it: SwiftPM resources on
/// Linux would be a bundle folder to ship beside it.
struct Migration: Sendable {
    var version: Int
    var name: String
    var sql: String
}

/// Applies the migrations a database lacks, in one transaction, under a lock.
enum Migrator {
    /// `begin` starts the transaction (`BEGIN IMMEDIATE` on SQLite takes its write lock at once);
    /// `lock` is run right after it (PostgreSQL: a transaction advisory lock), so two processes
    /// starting together apply each migration once. Returns the schema version afterwards.
    static func migrate(_ connection: some SQLScriptConnection, migrations: [Migration], begin: String, lock: String?, now: Date) throws(StoreError) -> Int {
        let known = migrations.map(\.version).max() ?? 0
        try connection.execute(begin)
        do throws(StoreError) {
            if let lock { try connection.run(lock) }
            try connection.execute(
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version integer PRIMARY KEY,
                    name text NOT NULL,
                    applied_at bigint NOT NULL
                )
                """)
            let current = Int(try connection.run("SELECT max(version) FROM schema_migrations").first?.int(0) ?? 0)
            guard current <= known else { throw StoreError.schemaTooNew(found: current, known: known) }
            for migration in migrations.sorted(by: { $0.version < $1.version }) where migration.version > current {
                try connection.execute(migration.sql)
                try connection.run(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                    .int(Int64(migration.version)), .text(migration.name), .date(now)
                )
            }
            try connection.execute("COMMIT")
            return max(current, known)
        } catch {
            try? connection.execute("ROLLBACK")
            throw error
        }
    }
}
