import BerthCore
import CLibPQ
import CLibPQLoader
import Foundation
import Logging
import Synchronization

/// The production store: PostgreSQL through the system libpq, shared by several controllers.
///
/// - A pool of connections, each driven by a thread of its own (libpq blocks); operations await
///   them through continuations.
/// - Claims take `FOR UPDATE SKIP LOCKED`, so controllers claiming together never wait for one
///   another and never take the same job.
/// - A lost connection is reopened with backoff. An operation whose first statement finds the
///   connection dead is retried once on a fresh one (nothing was applied); one that loses it later
///   fails with a retryable `connectionLost`.
/// - Job submissions are group-committed (`BatchedCalls`): all but one of the pool write them, and
///   the submits that arrive meanwhile go together in the next statement, every job and its event
///   through a CTE, without BEGIN and COMMIT: one round trip and one durable commit for all of
///   them. Reads of one job with its events go together the same way (`BatchedCalls`), one
///   statement at a time for all the jobs asked meanwhile. Statements are prepared once per
///   connection.
/// - Wake-ups: `NOTIFY berth` once a write committed, from a sender connection of its own
///   (`NotificationSender`); a listener thread with its own connection `LISTEN`s, reconnects
///   after a loss and then sends `.resync`.
/// - Leadership: session advisory locks on a dedicated connection; losing that connection loses
///   the lock, and the next `tryAcquireLeadership` says so.
public final class PostgresStore: Store {
    static let migrations = [migration0001, migration0002, Migration.replicaAddresses]
    static let channel = "berth"
    /// Advisory lock classes (the first key of the two-key form), so Berth's locks never meet an application's.
    static let migrationLock: Int32 = 0x4265_7201
    static let projectLock: Int32 = 0x4265_7202
    static let leaderLock: Int32 = 0x4265_7203

    private let workers: BlockingWorkers<PostgresConnection>
    private let leadership: BlockingWorkers<LeaderConnection>
    private let listener: NotificationListener
    private let sender: NotificationSender
    private let hub: NotificationHub
    /// Internal for tests that write a batch of submissions directly.
    let engine: SQLStoreEngine
    private let logger: Logger
    public let schemaVersion: Int

    /// Connects, migrates the schema and starts listening. Fails with a retryable `unavailable`
    /// error when the database cannot be reached, with `schemaTooNew` when a newer Berth migrated
    /// it, and with `database` when libpq itself cannot be loaded.
    public static func open(_ configuration: PostgresConfiguration, logger: Logger = Logger(label: "berth.store")) async throws(StoreError) -> PostgresStore {
        try loadLibPQ()
        let poolConnects = PoolConnects()
        let workers = BlockingWorkers<PostgresConnection>(
            count: configuration.poolSize, name: "berth-pg",
            makeConnection: { PostgresConnection(configuration: configuration, poolConnects: poolConnects) },
            closeConnection: { $0.close() }
        )
        let version: Int
        do throws(StoreError) {
            version = try await workers.run { connection throws(StoreError) in
                try connection.ensureConnected()
                return try Migrator.migrate(
                    connection, migrations: migrations, begin: "BEGIN",
                    lock: "SELECT pg_advisory_xact_lock(\(migrationLock), 1)", now: Date()
                )
            }
        } catch {
            await workers.stop()
            throw error
        }
        let hub = NotificationHub()
        let listener = NotificationListener(configuration: configuration, hub: hub, logger: logger)
        let sender = NotificationSender(configuration: configuration, logger: logger)
        await listener.start()
        let leadership = BlockingWorkers<LeaderConnection>(
            count: 1, name: "berth-pg-leader",
            makeConnection: { LeaderConnection(PostgresConnection(configuration: configuration)) },
            closeConnection: { $0.connection.close() }
        )
        logger.debug("opened the PostgreSQL store", metadata: ["berth.store.schema": "\(version)"])
        return PostgresStore(
            workers: workers, leadership: leadership, listener: listener, sender: sender, hub: hub, logger: logger, schemaVersion: version,
            submitWriters: Self.submitWriters(poolSize: configuration.poolSize)
        )
    }

    private init(
        workers: BlockingWorkers<PostgresConnection>, leadership: BlockingWorkers<LeaderConnection>,
        listener: NotificationListener, sender: NotificationSender, hub: NotificationHub, logger: Logger, schemaVersion: Int,
        submitWriters: Int
    ) {
        self.workers = workers
        self.leadership = leadership
        self.listener = listener
        self.sender = sender
        self.hub = hub
        self.logger = logger
        self.schemaVersion = schemaVersion
        let backend = PooledBackend(workers: workers, dialect: .postgres) { [sender] connection in Session(connection: connection, sender: sender) }
        self.engine = SQLStoreEngine(backend: backend, submitWriters: submitWriters)
    }

    /// Loads libpq, which Berth does not link (`CLibPQLoader`), or says why it cannot.
    private static func loadLibPQ() throws(StoreError) {
        var message = [CChar](repeating: 0, count: 512)
        let loaded = message.withUnsafeMutableBufferPointer { berth_libpq_load($0.baseAddress, $0.count) == 0 }
        guard loaded else {
            throw .database(message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        }
    }

    /// How many connections write job submissions at once: all but one of the pool, so a flood of
    /// submits always leaves a connection to the controller's claims and transitions. Fewer
    /// writers make bigger batches but fewer commits in flight; when the disk flush is what
    /// limits, that costs more than the batches save (docs/benchmarks.md, "Group commit").
    static func submitWriters(poolSize: Int) -> Int {
        max(1, poolSize - 1)
    }

    private struct Session: SQLSession {
        let connection: PostgresConnection
        let sender: NotificationSender

        func read<T>(_ body: (any SQLConnection) throws(StoreError) -> T) throws(StoreError) -> T {
            do throws(StoreError) {
                return try body(connection)
            } catch where error.code == .connectionLost {
                // A read changes nothing: once more on a fresh connection.
                return try body(connection)
            }
        }

        func write<T>(_ body: (SQLTransaction) throws(StoreError) -> T) throws(StoreError) -> T {
            do throws(StoreError) {
                try connection.execute("BEGIN")
            } catch where error.code == .connectionLost {
                // The connection died while idle (a server restart): nothing was sent yet.
                try connection.execute("BEGIN")
            }
            let transaction = SQLTransaction(connection: connection)
            do throws(StoreError) {
                let value = try body(transaction)
                try connection.execute("COMMIT")
                sender.send(transaction.notifications)
                return value
            } catch {
                if connection.isConnected { try? connection.execute("ROLLBACK") }
                throw error
            }
        }

        func writeStatement<T>(_ body: (SQLTransaction) throws(StoreError) -> T) throws(StoreError) -> T {
            // A statement outside BEGIN commits by itself. It must not be sent on a connection
            // that died while idle, where its failure could not be retried safely.
            connection.closeUnlessIdle()
            let transaction = SQLTransaction(connection: connection)
            let value = try body(transaction)
            sender.send(transaction.notifications)
            return value
        }
    }

    /// Runs SQL on a pool connection, for tests that need to reach under the API.
    func executeForTesting(_ script: String) async throws(StoreError) {
        try await workers.run { connection throws(StoreError) in try connection.execute(script) }
    }

    // MARK: Store

    public func putResource(_ resource: Resource, source: ResourceSource, now: Date) async throws(StoreError) -> StoredResource {
        try await engine.putResource(resource, source: source, now: now)
    }

    public func resource(_ id: ResourceID) async throws(StoreError) -> StoredResource? { try await engine.resource(id) }

    public func resources(kind: ResourceKind?, project: String?, includeDeleted: Bool) async throws(StoreError) -> [StoredResource] {
        try await engine.resources(kind: kind, project: project, includeDeleted: includeDeleted)
    }

    public func deleteResource(_ id: ResourceID, now: Date) async throws(StoreError) -> StoredResource? { try await engine.deleteResource(id, now: now) }
    public func purgeResource(_ id: ResourceID) async throws(StoreError) -> Bool { try await engine.purgeResource(id) }
    public func putStatus(_ status: ResourceStatus) async throws(StoreError) { try await engine.putStatus(status) }
    public func status(_ id: ResourceID) async throws(StoreError) -> ResourceStatus? { try await engine.status(id) }
    public func statuses(project: String?) async throws(StoreError) -> [ResourceStatus] { try await engine.statuses(project: project) }
    public func deleteStatus(_ id: ResourceID) async throws(StoreError) -> Bool { try await engine.deleteStatus(id) }

    public func submitJob(_ submission: JobSubmission, now: Date) async throws(StoreError) -> (job: JobRecord, created: Bool) {
        try await engine.submitJob(submission, now: now)
    }

    public func job(_ id: String) async throws(StoreError) -> JobRecord? { try await engine.job(id) }
    public func job(_ id: String, events limit: Int) async throws(StoreError) -> (job: JobRecord, events: [EventRecord])? {
        try await engine.job(id, events: limit)
    }
    public func jobs(filter: JobFilter, page: PageRequest) async throws(StoreError) -> Page<JobRecord> { try await engine.jobs(filter: filter, page: page) }
    public func jobCounts(project: String?) async throws(StoreError) -> [JobState: Int] { try await engine.jobCounts(project: project) }

    public func claimJobs(controller: String, limit: Int, projectLimits: [String: ProjectJobLimits], lease: TimeSpan, now: Date) async throws(StoreError) -> [JobRecord] {
        try await engine.claimJobs(controller: controller, limit: limit, projectLimits: projectLimits, lease: lease, now: now) { tx, project throws(StoreError) in
            // Held until the claim commits; taken in name order, so claimers never deadlock.
            try tx.run("SELECT pg_advisory_xact_lock(\(PostgresStore.projectLock), hashtext($1))", .text(project))
        }
    }

    public func transitionJob(_ id: String, from: JobState, to: JobState, controller: String?, update: JobUpdate, now: Date) async throws(StoreError) -> JobRecord {
        try await engine.transitionJob(id, from: from, to: to, controller: controller, update: update, now: now)
    }

    public func renewLeases(controller: String, until: Date) async throws(StoreError) -> Int { try await engine.renewLeases(controller: controller, until: until) }
    public func reclaimExpiredLeases(now: Date) async throws(StoreError) -> [JobRecord] { try await engine.reclaimExpiredLeases(now: now) }
    public func requestCancel(_ id: String, now: Date) async throws(StoreError) -> JobRecord { try await engine.requestCancel(id, now: now) }

    public func pruneJobs(finishedBefore: Date, keepPerProject: Int) async throws(StoreError) -> Int {
        try await engine.pruneJobs(finishedBefore: finishedBefore, keepPerProject: keepPerProject)
    }

    @discardableResult
    public func pruneOwnedJobs(owner: ResourceID, keepFinished: Int, keepFailed: Int) async throws(StoreError) -> Int {
        try await engine.pruneOwnedJobs(owner: owner, keepFinished: keepFinished, keepFailed: keepFailed)
    }

    public func appendEvent(_ event: EventRecord) async throws(StoreError) -> EventRecord { try await engine.appendEvent(event) }
    public func events(_ query: EventQuery) async throws(StoreError) -> [EventRecord] { try await engine.events(query) }
    public func pruneEvents(before: Date, keepAtMost: Int) async throws(StoreError) -> Int {
        try await engine.pruneEvents(before: before, keepAtMost: keepAtMost)
    }

    public func createToken(name: String, scopes: [TokenScope], project: String?, expiresAt: Date?, now: Date) async throws(StoreError) -> (token: String, record: TokenRecord) {
        try await engine.createToken(name: name, scopes: scopes, project: project, jobID: nil, expiresAt: expiresAt, now: now)
    }

    public func createJobToken(jobID: String, now: Date) async throws(StoreError) -> (token: String, record: TokenRecord) {
        try await engine.createToken(name: "job \(jobID)", scopes: [.job], project: nil, jobID: jobID, expiresAt: nil, now: now)
    }

    public func authenticate(token: String, now: Date) async throws(StoreError) -> TokenRecord? { try await engine.authenticate(token: token, now: now) }
    public func tokens() async throws(StoreError) -> [TokenRecord] { try await engine.tokens() }
    public func revokeToken(_ id: String, now: Date) async throws(StoreError) -> Bool { try await engine.revokeToken(id, now: now) }

    public func notifications() -> AsyncStream<StoreNotification> { hub.stream() }

    /// A session advisory lock on the leadership connection; `lease` and `now` are not needed
    /// (the lock lives exactly as long as that connection).
    public func tryAcquireLeadership(name: String, holder: String, lease: TimeSpan, now: Date) async throws(StoreError) -> Bool {
        try await leadership.run { leader throws(StoreError) in
            let session = leader.connection.session
            try leader.connection.ensureConnected()
            if leader.connection.session != session { leader.held = [:] }
            if let current = leader.held[name] {
                // This process holds it: for `holder` only, and only while the session that took it lives.
                guard current == holder else { return false }
                try leader.connection.run("SELECT 1")
                if leader.connection.session == session { return true }
                leader.held = [:]
            }
            let taken = try leader.connection.run(
                "SELECT pg_try_advisory_lock(\(PostgresStore.leaderLock), hashtext($1))", .text(name)
            ).first?.bool(0) ?? false
            if taken { leader.held[name] = holder }
            return taken
        }
    }

    public func releaseLeadership(name: String, holder: String) async throws(StoreError) {
        try await leadership.run { leader throws(StoreError) in
            guard leader.held[name] == holder else { return }
            leader.held[name] = nil
            guard leader.connection.isConnected else { return }
            try leader.connection.run("SELECT pg_advisory_unlock(\(PostgresStore.leaderLock), hashtext($1))", .text(name))
        }
    }

    public func close() async {
        await listener.stop()
        await leadership.stop()
        await workers.stop()
        await sender.stop()
        hub.finish()
    }
}

/// The leadership connection and the leases it holds.
final class LeaderConnection {
    let connection: PostgresConnection
    /// Lease name → the holder it was taken for.
    var held: [String: String] = [:]

    init(_ connection: PostgresConnection) {
        self.connection = connection
    }
}

extension StoreNotification {
    /// The NOTIFY payload: `j:<project>`, `r:<Kind>/<project>/<name>`, `c:<job id>`.
    var payload: String {
        switch self {
        case .jobSubmitted(let project): "j:\(project)"
        case .resourceChanged(let id): "r:\(Coding.encodeResourceID(id))"
        case .jobCancelRequested(let id): "c:\(id)"
        case .resync: "s:"
        }
    }

    init?(payload: String) {
        let value = String(payload.dropFirst(2))
        switch payload.prefix(2) {
        case "j:": self = .jobSubmitted(project: value)
        case "r:":
            guard let id = try? Coding.decodeResourceID(value) else { return nil }
            self = .resourceChanged(id)
        case "c:": self = .jobCancelRequested(jobID: value)
        case "s:": self = .resync
        default: return nil
        }
    }
}

/// The NOTIFY side: sends the wake-ups of committed writes from a connection of its own, after
/// the commit rather than inside the write's transaction. PostgreSQL serializes the commits of
/// transactions that notify (a lock held through the commit's WAL flush), which would make
/// concurrent submits wait for one another's fsync; this way they commit side by side and their
/// wake-ups follow in small transactions that wait for no flush. Wake-ups that arrive while one
/// is being sent, or within `spacing` of the last send, go out together, each payload once: under
/// load a NOTIFY transaction per millisecond at most, however many writes commit; when quiet a
/// wake-up leaves at once.
///
/// Best effort: a wake-up lost with the sender's connection (or with the process, between a
/// commit and its NOTIFY) costs listeners latency until their next resync, never correctness,
/// and is logged as a warning.
final class NotificationSender: Sendable {
    private let workers: BlockingWorkers<PostgresConnection>
    private let logger: Logger
    /// Payloads waiting to be sent, whether a send is queued or running (it takes them all), and
    /// when the last one went out.
    private let state = Mutex<(pending: [String], sending: Bool, lastSent: ContinuousClock.Instant?)>(([], false, nil))
    static let spacing = Duration.milliseconds(1)

    init(configuration: PostgresConfiguration, logger: Logger) {
        self.logger = logger
        workers = BlockingWorkers<PostgresConnection>(
            count: 1, name: "berth-pg-notify",
            makeConnection: { PostgresConnection(configuration: configuration) },
            closeConnection: { $0.close() }
        )
        // Connected now, so the first wake-up does not wait for a new backend (seconds on a busy
        // server); a failure here is retried by the first send.
        workers.post { connection in try? connection.ensureConnected() }
    }

    func send(_ notifications: [StoreNotification]) {
        guard !notifications.isEmpty else { return }
        let start = state.withLock { state -> Bool in
            for notification in notifications where !state.pending.contains(notification.payload) {
                state.pending.append(notification.payload)
            }
            if state.sending { return false }
            state.sending = true
            return true
        }
        guard start else { return }
        if !workers.post({ [self] connection in sendPending(connection) }) {
            state.withLock { $0 = ([], false, nil) }
        }
    }

    /// Sends what is queued, until nothing is.
    private func sendPending(_ connection: PostgresConnection) {
        while true {
            if let lastSent = state.withLock({ $0.lastSent }) {
                let wait = lastSent + Self.spacing - .now
                if wait > .zero { Thread.sleep(forTimeInterval: Double(wait.components.attoseconds) / 1e18 + Double(wait.components.seconds)) }
            }
            let payloads = state.withLock { state -> [String] in
                defer { state.pending = [] }
                if state.pending.isEmpty { state.sending = false }
                return state.pending
            }
            if payloads.isEmpty { return }
            state.withLock { $0.lastSent = .now }
            let sql = "SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload"
            let parameters: [SQLValue] = [.text(PostgresStore.channel), .text(postgresArray(payloads))]
            do throws(StoreError) {
                connection.closeUnlessIdle()
                do throws(StoreError) {
                    _ = try connection.query(sql, parameters)
                } catch where error.code == .connectionLost {
                    // Sending a wake-up twice is harmless: once more on a fresh connection.
                    _ = try connection.query(sql, parameters)
                }
            } catch {
                logger.warning(
                    "best effort: wake-ups were not sent; listeners see the change at their next resync",
                    metadata: ["berth.error": "\(error.message)", "berth.notifications": "\(payloads.count)"]
                )
            }
        }
    }

    /// Lets a queued send finish, then closes the connection.
    func stop() async {
        await workers.stop()
    }
}

/// PostgreSQL's text form of an array, each element quoted, `nil` as NULL; the element type is
/// the parameter's cast (`$1::text[]`, `$2::bigint[]`). Built byte by byte: it runs for every
/// value a submit writes, and Foundation's `replacingOccurrences` showed in its profile.
func postgresArray(_ elements: [String?]) -> String {
    let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")
    var bytes: [UInt8] = [UInt8(ascii: "{")]
    bytes.reserveCapacity(elements.reduce(2) { $0 + ($1?.utf8.count ?? 4) + 3 })
    for (index, element) in elements.enumerated() {
        if index > 0 { bytes.append(UInt8(ascii: ",")) }
        guard let element else {
            bytes.append(contentsOf: "NULL".utf8)
            continue
        }
        bytes.append(quote)
        for byte in element.utf8 {
            if byte == quote || byte == backslash { bytes.append(backslash) }
            bytes.append(byte)
        }
        bytes.append(quote)
    }
    bytes.append(UInt8(ascii: "}"))
    return String(decoding: bytes, as: UTF8.self)
}

/// Rows of values as one array parameter per column, for `unnest($1::text[], $2::bigint[], …)`:
/// a statement that writes any number of rows, prepared once.
func postgresArrays(_ rows: [[SQLValue]]) -> [SQLValue] {
    guard let width = rows.first?.count else { return [] }
    return (0..<width).map { column in .text(postgresArray(rows.map { $0[column].postgresText })) }
}

/// The LISTEN side: a thread with its own connection that waits on the socket (`poll`) and on a
/// pipe that `stop()` writes to, and hands every notification to the hub.
///
/// SAFETY (`@unchecked Sendable`): the connection is only used on the listener thread; `stopped`
/// is atomic; the pipe's file descriptors are fixed at init.
final class NotificationListener: @unchecked Sendable {
    private let configuration: PostgresConfiguration
    private let hub: NotificationHub
    private let logger: Logger
    private let stopped = Atomic<Bool>(false)
    private var wakePipe: [Int32] = [-1, -1]
    private let done = NSCondition()
    private var finished = false

    init(configuration: PostgresConfiguration, hub: NotificationHub, logger: Logger) {
        self.configuration = configuration
        self.hub = hub
        self.logger = logger
        wakePipe.withUnsafeMutableBufferPointer { _ = pipe($0.baseAddress) }
    }

    /// Starts the thread and returns once its first LISTEN succeeded or failed.
    func start() async {
        await withCheckedContinuation { (ready: CheckedContinuation<Void, Never>) in
            let thread = Thread { [self] in run(ready: ready) }
            thread.name = "berth-pg-listen"
            thread.start()
        }
    }

    func stop() async {
        stopped.store(true, ordering: .sequentiallyConsistent)
        var byte: UInt8 = 1
        _ = write(wakePipe[1], &byte, 1)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let waiter = Thread { [self] in
                done.lock()
                while !finished { done.wait() }
                done.unlock()
                close(wakePipe[0])
                close(wakePipe[1])
                continuation.resume()
            }
            waiter.start()
        }
    }

    private func run(ready: CheckedContinuation<Void, Never>) {
        let connection = PostgresConnection(configuration: configuration)
        var ready: CheckedContinuation<Void, Never>? = ready
        var everConnected = false
        while !stopped.load(ordering: .sequentiallyConsistent) {
            if !connection.isConnected {
                do throws(StoreError) {
                    try connection.ensureConnected()
                    try connection.run("LISTEN \(PostgresStore.channel)")
                    if everConnected {
                        logger.debug("the store's notification listener reconnected")
                        hub.send(.resync)
                    }
                    everConnected = true
                } catch {
                    logger.debug("the store's notification listener cannot connect", metadata: ["berth.error": "\(error.message)"])
                    connection.close()
                }
                ready?.resume()
                ready = nil
                if !connection.isConnected {
                    waitForWake(socket: -1, milliseconds: Int32(configuration.initialBackoff.milliseconds * 4))
                    continue
                }
            }
            waitForWake(socket: connection.socket, milliseconds: 30_000)
            guard let raw = connection.raw else { continue }
            if PQconsumeInput(raw) == 0 {
                connection.close()
                continue
            }
            while let notification = PQnotifies(raw) {
                let payload = String(cString: notification.pointee.extra)
                PQfreemem(notification)
                if let decoded = StoreNotification(payload: payload) { hub.send(decoded) }
            }
        }
        connection.close()
        ready?.resume()
        done.lock()
        finished = true
        done.broadcast()
        done.unlock()
    }

    /// Waits until the socket is readable, `stop()` was called, or the time passed.
    private func waitForWake(socket: Int32, milliseconds: Int32) {
        var descriptors = [pollfd(fd: wakePipe[0], events: Int16(POLLIN), revents: 0)]
        if socket >= 0 { descriptors.append(pollfd(fd: socket, events: Int16(POLLIN), revents: 0)) }
        _ = poll(&descriptors, nfds_t(descriptors.count), milliseconds)
    }
}

extension PostgresStore {
    /// Runs one query on a pool connection, for tests that need to reach under the API.
    func queryForTesting(_ sql: String) async throws(StoreError) -> [[String?]] {
        try await engine.backend.read { connection throws(StoreError) in try connection.query(sql, []).map(\.values) }
    }
}
