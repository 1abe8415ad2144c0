import Foundation
import Logging
import Synchronization

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
            let parameters: [SQLValue] = [.text(PostgresBackend.channel), .text(postgresArray(payloads))]
            do throws(StoreError) {
                connection.closeUnlessIdle()
                do throws(StoreError) {
                    _ = try connection.query(sql, parameters)
                } catch  where error.code == .connectionLost {
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
