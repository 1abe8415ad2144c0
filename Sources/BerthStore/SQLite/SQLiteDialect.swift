/// SQLite's SQL: no row locks and no claim locks (one writer at a time, `BEGIN IMMEDIATE`, so
/// nothing else can count or claim meanwhile), submissions in one transaction, and the schema in
/// its types.
struct SQLiteDialect: SQLDialect {
    var forUpdate: String { "" }
    var skipLocked: String { "" }

    func lockProject(_ project: String, in tx: SQLTransaction) throws(StoreError) {}

    /// `json_each`'s `key` is the member's name as it is: `->>` would read a name as a path.
    func labelMatches(keyParameter: Int, valueParameter: Int) -> String {
        "EXISTS (SELECT 1 FROM json_each(jobs.labels) AS label WHERE label.key = $\(keyParameter) AND label.value = $\(valueParameter))"
    }

    /// No selector member without the same member among the labels (`json_each` keys are names,
    /// never paths).
    func selectorMatches(labelsParameter: Int) -> String {
        """
        NOT EXISTS (SELECT 1 FROM json_each(jobs.node_selector) AS wanted WHERE NOT EXISTS (
            SELECT 1 FROM json_each($\(labelsParameter)) AS label WHERE label.key = wanted.key AND label.value = wanted.value))
        """
    }

    /// The claim's transaction holds the only write lock already.
    func tryLockKeys(_ keys: [String], in tx: SQLTransaction) throws(StoreError) -> Set<String> {
        Set(keys)
    }

    func insertJobs(_ jobs: [SQLStore.PendingJob], on session: any SQLSession) throws(StoreError) -> Set<String> {
        try session.write { tx throws(StoreError) in
            var ids = Set<String>()
            for job in jobs {
                guard try tx.query(SQLStore.insertJob, job.jobValues).first != nil else { continue }
                try tx.query(SQLStore.insertEventStatement, job.eventValues)
                tx.notify(.jobSubmitted(project: job.record.project))
                ids.insert(job.record.id)
            }
            return ids
        }
    }

    // MARK: Schema

    /// SQLite's integers are 64-bit; booleans are 0/1.
    var bigint: String { "integer" }
    var falseByDefault: String { "integer NOT NULL DEFAULT 0" }
    var sequenceKey: String { "integer PRIMARY KEY AUTOINCREMENT" }
    /// The leader lease is a row with an expiry, so two processes on one file still elect one leader.
    var initialSchemaExtra: String {
        """


        CREATE TABLE leader_leases (
            name text PRIMARY KEY,
            holder text NOT NULL,
            expires_at integer NOT NULL
        );
        """
    }

    /// SQLite adds one column per statement.
    func addColumns(_ columns: [String], to table: String) -> String {
        columns.map { "ALTER TABLE \(table) ADD COLUMN \($0);" }.joined(separator: "\n")
    }

    /// Takes the write lock at once.
    var beginMigration: String { "BEGIN IMMEDIATE" }
    var migrationLock: String? { nil }
}
