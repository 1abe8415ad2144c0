extension PostgresStore {
    /// Replica counts and the next attempt of a resource in backoff, for `berth status`.
    static let migration0002 = Migration(version: 2, name: "status replicas and backoff", sql: """
        ALTER TABLE resource_status
            ADD COLUMN ready_replicas integer,
            ADD COLUMN desired_replicas integer,
            ADD COLUMN next_attempt_at bigint;
        """)
}
