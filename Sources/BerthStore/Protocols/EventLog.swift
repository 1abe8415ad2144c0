import BerthCore
import Foundation

/// The append-only log of what the controller did and why.
public protocol EventLog: Sendable {
    /// Appends an event and returns it with its sequence number.
    @discardableResult
    func appendEvent(_ event: EventRecord) async throws(StoreError) -> EventRecord
    /// Oldest first.
    func events(_ query: EventQuery) async throws(StoreError) -> [EventRecord]
    /// Deletes events older than `before`, and the oldest beyond the newest `keepAtMost`;
    /// returns how many.
    @discardableResult
    func pruneEvents(before: Date, keepAtMost: Int) async throws(StoreError) -> Int
}
