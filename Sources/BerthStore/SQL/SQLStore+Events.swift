import BerthCore
import Foundation

/// The event log (`EventLog`).
extension SQLStore {
    /// Appends one event; its values are `eventValues`.
    static let insertEventStatement = """
        INSERT INTO events (\(eventValueColumns)) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING sequence
        """

    /// Appends `event` within `tx`; returns its sequence number.
    @discardableResult
    static func insertEvent(_ tx: SQLTransaction, _ event: EventRecord) throws(StoreError) -> Int64 {
        try one(tx.query(insertEventStatement, eventValues(event))).requiredInt(0)
    }

    @discardableResult
    public func appendEvent(_ event: EventRecord) async throws(StoreError) -> EventRecord {
        let sequence = try await backend.write { tx throws(StoreError) in try SQLStore.insertEvent(tx, event) }
        var stored = event
        stored.sequence = sequence
        if let resource = event.resource { stored.project = resource.project }
        return stored
    }

    public func events(_ query: EventQuery) async throws(StoreError) -> [EventRecord] {
        guard query.limit > 0 else { throw .invalidArgument("an event query reads at least one event; limit was \(query.limit)") }
        var conditions: [String] = []
        var parameters: [SQLValue] = []
        func add(_ condition: (Int) -> String, _ value: SQLValue) {
            parameters.append(value)
            conditions.append(condition(parameters.count))
        }
        if let resource = query.resource {
            add({ "resource_kind = $\($0)" }, .text(resource.kind.rawValue))
            add({ "project = $\($0)" }, .text(resource.project))
            add({ "resource_name = $\($0)" }, .text(resource.name))
        } else if let project = query.project {
            add({ "project = $\($0)" }, .text(project))
        }
        if let job = query.jobID { add({ "job_id = $\($0)" }, .text(job)) }
        if let since = query.since { add({ "time >= $\($0)" }, .date(since)) }
        if let after = query.afterSequence { add({ "sequence > $\($0)" }, .int(after)) }
        parameters.append(.int(query.limit))
        let sql = """
            SELECT \(SQLStore.eventColumns) FROM events\(conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND "))
            ORDER BY sequence\(query.newestFirst ? " DESC" : "") LIMIT $\(parameters.count)
            """
        let rows = try await backend.read { [parameters] connection throws(StoreError) in try connection.query(sql, parameters) }
        return try SQLStore.eventRecords(rows)
    }

    @discardableResult
    public func pruneEvents(before: Date, keepAtMost: Int) async throws(StoreError) -> Int {
        try await backend.write { tx throws(StoreError) in
            // The newest `keepAtMost` are those after the sequence at that offset (none: keep all).
            try tx.run(
                """
                DELETE FROM events WHERE time < $1
                    OR sequence <= (SELECT sequence FROM events ORDER BY sequence DESC LIMIT 1 OFFSET $2)
                RETURNING sequence
                """,
                .date(before), .int(max(0, keepAtMost))
            ).count
        }
    }
}
