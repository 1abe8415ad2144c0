/// The SQL that differs between the databases a `SQLStore` runs on: row locks, how claims keep
/// to a project's limit, how a batch of submissions is written, and the schema's types and
/// migration locking. Every query is written once with `$1`, `$2`, … parameters on both.
protocol SQLDialect: Sendable {
    /// Locks the selected rows, waiting for other transactions that hold them.
    var forUpdate: String { get }
    /// Locks the selected rows and skips rows other transactions locked.
    var skipLocked: String { get }
    /// Holds `project`'s claim lock until `tx` ends, so two claimers never both fill its last
    /// slot. Claims take these locks in name order.
    func lockProject(_ project: String, in tx: SQLTransaction) throws(StoreError)
    /// Inserts submissions with distinct keys, all or nothing, skipping those whose key was used
    /// before in their project; returns the ids of the jobs inserted (their events written too).
    func insertJobs(_ jobs: [SQLStore.PendingJob], on session: any SQLSession) throws(StoreError) -> Set<String>

    // MARK: Labels and concurrency keys

    /// A condition: the JSON object in the text column `labels` has the key `$keyParameter` with
    /// the string value `$valueParameter`, both compared exactly (no path syntax).
    func labelMatches(keyParameter: Int, valueParameter: Int) -> String
    /// A condition: every member of the JSON object in the text column `jobs.node_selector` is
    /// in the JSON object `$labelsParameter` (a node's labels) with the same value.
    func selectorMatches(labelsParameter: Int) -> String
    /// Takes, without waiting, the claim lock of each concurrency key until `tx` ends; returns the
    /// keys locked (others are being claimed by another transaction right now). Never waiting, a
    /// claim holding project locks never deadlocks over keys.
    func tryLockKeys(_ keys: [String], in tx: SQLTransaction) throws(StoreError) -> Set<String>

    // MARK: Schema (`Schema`)

    /// The column type of times, generations and sequences (64-bit integers).
    var bigint: String { get }
    /// A boolean column that is false unless set.
    var falseByDefault: String { get }
    /// The key of the event log: an integer the database assigns, increasing.
    var sequenceKey: String { get }
    /// What the first schema adds for this database alone (after the shared tables), or "".
    var initialSchemaExtra: String { get }
    /// Adds columns (each `name type`) to a table.
    func addColumns(_ columns: [String], to table: String) -> String
    /// Starts a migration's transaction, and then the lock that makes processes starting together
    /// apply each migration once (`Migrator.migrate`).
    var beginMigration: String { get }
    var migrationLock: String? { get }
}
