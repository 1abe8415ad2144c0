/// Berth's schema, written once and rendered in each dialect (`SQLDialect`'s types and
/// statements). The migrations a database has applied are never changed: each renders exactly
/// the statements it always ran on each database.
enum Schema {
    /// Every migration, in order, for one dialect.
    static func migrations(_ dialect: any SQLDialect) -> [Migration] {
        [
            initial(dialect), replicasAndBackoff(dialect), replicaAddresses, jobFencing(dialect), adoptions(dialect), sourceRevisions(dialect),
            statusRevisions, jobLabelsAndKeys(dialect), jobTemplates(dialect), jobDeliveries(dialect), uiSessions(dialect), nodes(dialect),
            placement(dialect), certificates(dialect),
        ]
    }

    /// The schema of the first release. Times are milliseconds since 1970 in 64-bit integer
    /// columns on both databases, so one set of queries serves both.
    static func initial(_ dialect: any SQLDialect) -> Migration {
        Migration(
            version: 1, name: "initial",
            sql: """
                CREATE TABLE resources (
                    kind text NOT NULL,
                    project text NOT NULL,
                    name text NOT NULL,
                    document text NOT NULL,
                    generation \(dialect.bigint) NOT NULL,
                    source text NOT NULL,
                    created_at \(dialect.bigint) NOT NULL,
                    updated_at \(dialect.bigint) NOT NULL,
                    deleted_at \(dialect.bigint),
                    PRIMARY KEY (kind, project, name)
                );
                CREATE INDEX resources_by_project ON resources (project, kind, name);

                CREATE TABLE resource_status (
                    kind text NOT NULL,
                    project text NOT NULL,
                    name text NOT NULL,
                    phase text NOT NULL,
                    conditions text NOT NULL,
                    observed_generation \(dialect.bigint),
                    restart_count integer NOT NULL,
                    last_action text,
                    last_cause text,
                    updated_at \(dialect.bigint) NOT NULL,
                    PRIMARY KEY (kind, project, name)
                );

                CREATE TABLE jobs (
                    id text PRIMARY KEY,
                    project text NOT NULL,
                    name text NOT NULL,
                    spec text NOT NULL,
                    priority integer NOT NULL,
                    idempotency_key text,
                    owner text,
                    state text NOT NULL CHECK (state IN ('pending', 'queued', 'started', 'finished', 'failed', 'cancelled')),
                    attempt integer NOT NULL,
                    claimed_by text,
                    lease_expires_at \(dialect.bigint),
                    container_id text,
                    exit_code integer,
                    reason text,
                    stdout_tail text,
                    stderr_tail text,
                    feedback text,
                    cancel_requested \(dialect.falseByDefault),
                    submitted_at \(dialect.bigint) NOT NULL,
                    queued_at \(dialect.bigint),
                    started_at \(dialect.bigint),
                    finished_at \(dialect.bigint),
                    next_attempt_at \(dialect.bigint)
                );
                CREATE UNIQUE INDEX jobs_idempotency ON jobs (project, idempotency_key) WHERE idempotency_key IS NOT NULL;
                CREATE INDEX jobs_claim ON jobs (priority DESC, id) WHERE state = 'pending';
                CREATE INDEX jobs_active ON jobs (project) WHERE state IN ('queued', 'started');
                CREATE INDEX jobs_by_project ON jobs (project, id);
                CREATE INDEX jobs_by_owner ON jobs (owner, id) WHERE owner IS NOT NULL;
                CREATE INDEX jobs_finished ON jobs (project, finished_at) WHERE finished_at IS NOT NULL;

                CREATE TABLE events (
                    sequence \(dialect.sequenceKey),
                    time \(dialect.bigint) NOT NULL,
                    project text NOT NULL,
                    resource_kind text,
                    resource_name text,
                    job_id text,
                    type text NOT NULL,
                    reason text NOT NULL,
                    message text NOT NULL
                );
                CREATE INDEX events_by_resource ON events (resource_kind, project, resource_name, sequence);
                CREATE INDEX events_by_job ON events (job_id, sequence) WHERE job_id IS NOT NULL;
                CREATE INDEX events_by_project ON events (project, sequence);
                CREATE INDEX events_by_time ON events (time);

                CREATE TABLE tokens (
                    id text PRIMARY KEY,
                    name text NOT NULL,
                    hash text NOT NULL UNIQUE,
                    scopes text NOT NULL,
                    project text,
                    job_id text,
                    created_at \(dialect.bigint) NOT NULL,
                    expires_at \(dialect.bigint),
                    last_used_at \(dialect.bigint),
                    revoked_at \(dialect.bigint)
                );
                CREATE INDEX tokens_by_job ON tokens (job_id) WHERE job_id IS NOT NULL;\(dialect.initialSchemaExtra)
                """)
    }

    /// Replica counts and the next attempt of a resource in backoff, for `berth status`.
    static func replicasAndBackoff(_ dialect: any SQLDialect) -> Migration {
        let columns = ["ready_replicas integer", "desired_replicas integer", "next_attempt_at \(dialect.bigint)"]
        return Migration(version: 2, name: "status replicas and backoff", sql: dialect.addColumns(columns, to: "resource_status"))
    }

    /// Where each service replica can be reached (networks, addresses, published ports), for
    /// `berth status`: the same statement on both databases.
    static let replicaAddresses = Migration(
        version: 3, name: "status replica addresses",
        sql: """
            ALTER TABLE resource_status ADD COLUMN replicas text;
            """)

    /// The fencing token of a job's claim (every claim and takeover adds one) and the engine of the
    /// controller holding it.
    static func jobFencing(_ dialect: any SQLDialect) -> Migration {
        let columns = ["fence \(dialect.bigint) NOT NULL DEFAULT 0", "claimed_engine text"]
        return Migration(version: 4, name: "job fencing", sql: dialect.addColumns(columns, to: "jobs"))
    }

    /// Containers Berth did not create, recorded as the current instances of service replicas
    /// (`berth import compose --adopt`); one per replica.
    static func adoptions(_ dialect: any SQLDialect) -> Migration {
        Migration(
            version: 5, name: "adoptions",
            sql: """
                CREATE TABLE adoptions (
                    container_id text PRIMARY KEY,
                    container_name text NOT NULL,
                    project text NOT NULL,
                    service text NOT NULL,
                    replica integer NOT NULL,
                    adopted_at \(dialect.bigint) NOT NULL
                );
                CREATE UNIQUE INDEX adoptions_by_replica ON adoptions (project, service, replica);
                """)
    }

    /// The revisions of the git source and what became of each, and the source's state as the
    /// controller last wrote it (one row, `id` 1), with the revision an operator pinned.
    static func sourceRevisions(_ dialect: any SQLDialect) -> Migration {
        Migration(
            version: 6, name: "source revisions",
            sql: """
                CREATE TABLE source_revisions (
                    sha text PRIMARY KEY,
                    subject text NOT NULL,
                    author text NOT NULL,
                    committed_at \(dialect.bigint) NOT NULL,
                    outcome text NOT NULL,
                    attempted_at \(dialect.bigint) NOT NULL,
                    applied_at \(dialect.bigint),
                    healthy_at \(dialect.bigint),
                    failed_at \(dialect.bigint),
                    errors text NOT NULL,
                    rolled_back_to text
                );
                CREATE INDEX source_revisions_by_attempt ON source_revisions (attempted_at, sha);

                CREATE TABLE source_state (
                    id integer PRIMARY KEY,
                    url text,
                    ref text,
                    path text,
                    head text,
                    last_fetch_at \(dialect.bigint),
                    last_fetch_error text,
                    last_successful_sync_at \(dialect.bigint),
                    applied text,
                    attempted text,
                    pinned text
                );
                """)
    }

    /// The git revision each resource was last converged toward and last became ready at (JSON
    /// of ``StatusRevision``): the same statement on both databases.
    static let statusRevisions = Migration(
        version: 7, name: "status revisions",
        sql: """
            ALTER TABLE resource_status ADD COLUMN attempted_revision text;
            ALTER TABLE resource_status ADD COLUMN applied_revision text;
            """)

    /// A job's `metadata.labels` (JSON text of a string map), and its concurrency key with the
    /// limit it starts under (`JobSpec.concurrencyKey`, `maxConcurrentPerKey`), copied out of the
    /// spec for the claim. The index serves the claim's count of a key's claimed jobs and of its
    /// pending jobs submitted earlier.
    static func jobLabelsAndKeys(_ dialect: any SQLDialect) -> Migration {
        let columns = ["labels text NOT NULL DEFAULT '{}'", "concurrency_key text", "max_per_key integer"]
        return Migration(
            version: 8, name: "job labels and concurrency keys",
            sql: dialect.addColumns(columns, to: "jobs") + """

                CREATE INDEX jobs_by_key ON jobs (concurrency_key, id)
                    WHERE concurrency_key IS NOT NULL AND state IN ('pending', 'queued', 'started');
                """)
    }

    /// The JobTemplate a job was rendered from (name and generation), and the input files
    /// submitted with it (base64 text), written into its container before each attempt starts.
    static func jobTemplates(_ dialect: any SQLDialect) -> Migration {
        let columns = ["template text", "template_generation \(dialect.bigint)"]
        return Migration(
            version: 9, name: "job templates and inputs",
            sql: dialect.addColumns(columns, to: "jobs") + """

                CREATE TABLE job_inputs (
                    job_id text NOT NULL,
                    path text NOT NULL,
                    content text NOT NULL,
                    PRIMARY KEY (job_id, path)
                );
                """)
    }

    /// Completion webhooks of jobs, each recorded before its first attempt, and the objects of
    /// jobs' archived output (issue 20).
    static func jobDeliveries(_ dialect: any SQLDialect) -> Migration {
        Migration(
            version: 10, name: "job deliveries and log archives",
            sql: """
                CREATE TABLE job_deliveries (
                    id text PRIMARY KEY,
                    job_id text NOT NULL,
                    project text NOT NULL,
                    event text NOT NULL,
                    url text NOT NULL,
                    attempts integer NOT NULL DEFAULT 0,
                    outcome text NOT NULL CHECK (outcome IN ('pending', 'delivered', 'failed')),
                    created_at \(dialect.bigint) NOT NULL,
                    last_attempt_at \(dialect.bigint),
                    next_attempt_at \(dialect.bigint),
                    last_status integer,
                    last_error text,
                    delivered_at \(dialect.bigint)
                );
                CREATE INDEX job_deliveries_by_job ON job_deliveries (job_id);
                CREATE INDEX job_deliveries_due ON job_deliveries (next_attempt_at) WHERE outcome = 'pending';

                CREATE TABLE job_log_archives (
                    job_id text NOT NULL,
                    attempt integer NOT NULL,
                    bucket text NOT NULL,
                    stdout_key text NOT NULL,
                    stderr_key text NOT NULL,
                    stdout_bytes \(dialect.bigint) NOT NULL,
                    stderr_bytes \(dialect.bigint) NOT NULL,
                    archived_at \(dialect.bigint) NOT NULL,
                    PRIMARY KEY (job_id, attempt)
                );
                """)
    }

    /// The web UI's sign-in sessions: `id` is the hex SHA-256 of the cookie's secret; a session
    /// counts only while its token is valid (issue 21).
    static func uiSessions(_ dialect: any SQLDialect) -> Migration {
        Migration(
            version: 11, name: "web UI sessions",
            sql: """
                CREATE TABLE ui_sessions (
                    id text PRIMARY KEY,
                    token_id text NOT NULL,
                    csrf text NOT NULL,
                    created_at \(dialect.bigint) NOT NULL,
                    expires_at \(dialect.bigint) NOT NULL,
                    revoked_at \(dialect.bigint)
                );
                CREATE INDEX ui_sessions_by_token ON ui_sessions (token_id);
                CREATE INDEX ui_sessions_by_expiry ON ui_sessions (expires_at);
                """)
    }

    /// The nodes of the store, one row each, written by their heartbeats (issue 23), and each
    /// job's `nodeSelector` (JSON text of a string map; NULL when empty, so the claim reads no
    /// JSON for jobs that run anywhere).
    static func nodes(_ dialect: any SQLDialect) -> Migration {
        Migration(
            version: 12, name: "nodes",
            sql: """
                CREATE TABLE nodes (
                    name text PRIMARY KEY,
                    labels text NOT NULL,
                    engine_version text NOT NULL,
                    cpus integer NOT NULL,
                    memory_bytes \(dialect.bigint) NOT NULL,
                    running_jobs integer NOT NULL,
                    running_replicas integer NOT NULL,
                    max_concurrent_jobs integer NOT NULL,
                    not_ready_after_ms \(dialect.bigint) NOT NULL,
                    heartbeat_at \(dialect.bigint) NOT NULL,
                    registered_at \(dialect.bigint) NOT NULL,
                    cordoned \(dialect.falseByDefault),
                    draining \(dialect.falseByDefault)
                );
                ALTER TABLE jobs ADD COLUMN node_selector text;
                """)
    }

    /// Which node runs each service replica, as the leader placed it (issue 23), and a status row
    /// per node: each node writes its own row of a service for the replicas it runs (`node` is
    /// '' for rows every node shares, and for those written before). SQLite cannot change a
    /// primary key, so the status table is rebuilt, the same way on both databases.
    static func placement(_ dialect: any SQLDialect) -> Migration {
        // The columns as this migration found them, written out: `SQLStore.statusColumns` follows
        // the code, and a migration never changes.
        let statusColumns = """
            kind, project, name, phase, conditions, observed_generation, restart_count, last_action, last_cause, updated_at, \
            ready_replicas, desired_replicas, next_attempt_at, replicas, attempted_revision, applied_revision
            """
        return Migration(
            version: 13, name: "replica placement",
            sql: """
                CREATE TABLE replica_assignments (
                    project text NOT NULL,
                    name text NOT NULL,
                    replica integer NOT NULL,
                    node text NOT NULL,
                    generation \(dialect.bigint) NOT NULL,
                    assigned_at \(dialect.bigint) NOT NULL,
                    PRIMARY KEY (project, name, replica)
                );

                CREATE TABLE resource_status_by_node (
                    kind text NOT NULL,
                    project text NOT NULL,
                    name text NOT NULL,
                    node text NOT NULL DEFAULT '',
                    phase text NOT NULL,
                    conditions text NOT NULL,
                    observed_generation \(dialect.bigint),
                    restart_count integer NOT NULL,
                    last_action text,
                    last_cause text,
                    updated_at \(dialect.bigint) NOT NULL,
                    ready_replicas integer,
                    desired_replicas integer,
                    next_attempt_at \(dialect.bigint),
                    replicas text,
                    attempted_revision text,
                    applied_revision text,
                    PRIMARY KEY (kind, project, name, node)
                );
                INSERT INTO resource_status_by_node (\(statusColumns)) SELECT \(statusColumns) FROM resource_status;
                DROP TABLE resource_status;
                ALTER TABLE resource_status_by_node RENAME TO resource_status;
                """)
    }

    /// The certificates the leader issued, so every node running a consumer writes the same files,
    /// and the local CA every leader signs with (issue 23).
    static func certificates(_ dialect: any SQLDialect) -> Migration {
        Migration(
            version: 14, name: "certificate material",
            sql: """
                CREATE TABLE certificate_material (
                    project text NOT NULL,
                    name text NOT NULL,
                    certificate_pem text NOT NULL,
                    key_pem text NOT NULL,
                    not_after \(dialect.bigint) NOT NULL,
                    issued_at \(dialect.bigint) NOT NULL,
                    PRIMARY KEY (project, name)
                );

                CREATE TABLE certificate_authority (
                    name text PRIMARY KEY,
                    certificate_pem text NOT NULL,
                    key_pem text NOT NULL,
                    created_at \(dialect.bigint) NOT NULL
                );
                """)
    }
}
