import BerthCore
import Foundation

/// Completion webhooks and archived output of jobs: what the job answer shows beside the job,
/// and the dispatcher's queue of deliveries. Deliveries are made by the transitions that end a
/// job (`JobQueue.transitionJob`, `requestCancel`), never here.
public protocol JobDeliveryLog: Sendable {
    /// A job's deliveries, by event order of creation.
    func deliveries(jobID: String) async throws(StoreError) -> [JobDelivery]
    /// Takes up to `limit` pending deliveries due by the store's clock, oldest due first, and
    /// holds each for `hold` (its next attempt moves that far on): another controller takes it only
    /// when this one neither recorded an attempt nor came back in that time.
    func claimDueDeliveries(limit: Int, hold: TimeSpan) async throws(StoreError) -> [JobDelivery]
    /// Records one attempt (the count goes up by one); returns the delivery as recorded.
    @discardableResult
    func recordDeliveryAttempt(_ id: String, _ attempt: DeliveryAttempt, now: Date) async throws(StoreError) -> JobDelivery
    /// The earliest time a pending delivery is due, for the dispatcher's sleep; nil when none is pending.
    func nextDeliveryDue() async throws(StoreError) -> Date?
    /// Records (or replaces) an attempt's archived output.
    func recordLogArchive(_ archive: JobLogArchive) async throws(StoreError)
    /// A job's archived output, by attempt.
    func logArchives(jobID: String) async throws(StoreError) -> [JobLogArchive]
}
