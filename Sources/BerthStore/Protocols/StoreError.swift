import BerthCore

/// The error every `Store` operation throws: what failed, whether trying again may help, and
/// never a credential (connection strings and tokens are not part of any message).
public struct StoreError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is, for callers that branch on it.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        fileprivate enum Value: String, Sendable, Hashable {
            case unavailable, connectionLost, notFound, illegalTransition, stateConflict, schemaTooNew
            case invalidStoredData, invalidArgument, closed, database, claimLost, storageFull
        }

        fileprivate let value: Value

        /// The database cannot be reached (yet); retry later.
        public static let unavailable = Code(value: .unavailable)
        /// The connection dropped while the operation was in flight: it may or may not have been applied.
        public static let connectionLost = Code(value: .connectionLost)
        /// The job, token or resource does not exist.
        public static let notFound = Code(value: .notFound)
        /// The state machine does not allow this transition (see `JobState.canTransition(to:)`).
        public static let illegalTransition = Code(value: .illegalTransition)
        /// The job (or another record) was not in the state the operation needs.
        public static let stateConflict = Code(value: .stateConflict)
        /// The job is no longer the caller's: another controller holds it, or the caller's claim
        /// was taken over (its fencing token is not current). The caller does nothing more for
        /// that attempt.
        public static let claimLost = Code(value: .claimLost)
        /// The disk the store writes to is full; the write was not made and the file is intact.
        /// Writes succeed again once there is space.
        public static let storageFull = Code(value: .storageFull)
        /// The database was migrated by a newer Berth.
        public static let schemaTooNew = Code(value: .schemaTooNew)
        /// A stored row could not be read back (a spec that no longer validates, say).
        public static let invalidStoredData = Code(value: .invalidStoredData)
        /// The caller passed something the store cannot take.
        public static let invalidArgument = Code(value: .invalidArgument)
        /// The store was closed.
        public static let closed = Code(value: .closed)
        /// Any other error the database reported.
        public static let database = Code(value: .database)

        public var description: String { value.rawValue }
    }

    public let code: Code
    /// What failed and, where there is one, how to fix it.
    public let message: String
    /// Whether the same call may succeed later (the database was unreachable, the connection
    /// dropped, a serialization conflict). A `connectionLost` write may have been applied: retry
    /// it only when it is idempotent (a submit with an idempotency key, a transition with its
    /// expected prior state).
    public let isRetryable: Bool
    /// The job's actual state, for `stateConflict`.
    public let jobState: JobState?
    /// The lower-level error, when there is one (never carries credentials either).
    public let underlying: (any Error & Sendable)?

    private init(_ code: Code, _ message: String, retryable: Bool = false, jobState: JobState? = nil, underlying: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.isRetryable = retryable
        self.jobState = jobState
        self.underlying = underlying
    }

    public var description: String { message }

    public static func unavailable(_ detail: String) -> StoreError {
        StoreError(.unavailable, "the store is unavailable: \(detail)", retryable: true)
    }

    public static func connectionLost(_ detail: String) -> StoreError {
        StoreError(.connectionLost, "the connection to the store was lost during the operation (it may or may not have been applied): \(detail)", retryable: true)
    }

    public static func notFound(_ what: String) -> StoreError {
        StoreError(.notFound, "\(what) does not exist")
    }

    public static func illegalTransition(job: String, from: JobState, to: JobState) -> StoreError {
        StoreError(.illegalTransition, "job \(job) cannot go from \(from) to \(to)", jobState: from)
    }

    public static func stateConflict(job: String, expected: JobState, actual: JobState) -> StoreError {
        StoreError(.stateConflict, "job \(job) is \(actual), not \(expected): another controller or request changed it first", jobState: actual)
    }

    /// Anything other than a job that is not in the state an operation needs.
    public static func stateConflict(_ detail: String) -> StoreError {
        StoreError(.stateConflict, detail)
    }

    public static func notClaimed(job: String, by controller: String, state: JobState) -> StoreError {
        StoreError(.claimLost, "job \(job) is not claimed by \(controller) any more (its lease expired and another controller took it over)", jobState: state)
    }

    /// A transition carrying a fencing token older than the job's: the claim was taken over since.
    public static func staleFence(job: String, fence: Int, current: Int, state: JobState) -> StoreError {
        StoreError(
            .claimLost, "job \(job) was taken over since this claim (fencing token \(fence), now \(current)): the transition was refused", jobState: state)
    }

    /// SQLite answered `SQLITE_FULL`: the file system holding `path` has no space left.
    public static func storageFull(path: String, detail: String) -> StoreError {
        StoreError(
            .storageFull, "the disk holding the SQLite store \(path) is full (\(detail)): nothing was written; free space and writes resume",
            retryable: true)
    }

    public static func schemaTooNew(found: Int, known: Int) -> StoreError {
        StoreError(
            .schemaTooNew,
            "the database schema is at version \(found) but this Berth knows versions up to \(known): it was migrated by a newer Berth; run that version or restore a backup taken before the upgrade")
    }

    public static func invalidStoredData(_ detail: String, underlying: (any Error & Sendable)? = nil) -> StoreError {
        StoreError(.invalidStoredData, "a stored row could not be read: \(detail)", underlying: underlying)
    }

    public static func invalidArgument(_ detail: String) -> StoreError {
        StoreError(.invalidArgument, detail)
    }

    public static let closed = StoreError(.closed, "the store was closed")

    /// Any other database error; `retryable` for serialization failures, deadlocks and read-only standbys.
    public static func database(_ detail: String, retryable: Bool = false) -> StoreError {
        StoreError(.database, "the store failed: \(detail)", retryable: retryable)
    }
}
