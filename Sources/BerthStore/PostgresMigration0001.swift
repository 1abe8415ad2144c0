extension PostgresStore {
    /// The schema of the first release. Times are milliseconds since 1970 in bigint columns, as
    /// on SQLite, so one set of queries serves both stores.
    static let migration0001 = Migration(version: 1, name: "initial", sql: """
        CREATE TABLE resources (
            kind text NOT NULL,
            project text NOT NULL,
            name text NOT NULL,
            document text NOT NULL,
            generation bigint NOT NULL,
            source text NOT NULL,
            created_at bigint NOT NULL,
            updated_at bigint NOT NULL,
            deleted_at bigint,
            PRIMARY KEY (kind, project, name)
        );
        CREATE INDEX resources_by_project ON resources (project, kind, name);

        CREATE TABLE resource_status (
            kind text NOT NULL,
            project text NOT NULL,
            name text NOT NULL,
            phase text NOT NULL,
            conditions text NOT NULL,
            observed_generation bigint,
            restart_count integer NOT NULL,
            last_action text,
            last_cause text,
            updated_at bigint NOT NULL,
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
            lease_expires_at bigint,
            container_id text,
            exit_code integer,
            reason text,
            stdout_tail text,
            stderr_tail text,
            feedback text,
            cancel_requested boolean NOT NULL DEFAULT false,
            submitted_at bigint NOT NULL,
            queued_at bigint,
            started_at bigint,
            finished_at bigint,
            next_attempt_at bigint
        );
        CREATE UNIQUE INDEX jobs_idempotency ON jobs (project, idempotency_key) WHERE idempotency_key IS NOT NULL;
        CREATE INDEX jobs_claim ON jobs (priority DESC, id) WHERE state = 'pending';
        CREATE INDEX jobs_active ON jobs (project) WHERE state IN ('queued', 'started');
        CREATE INDEX jobs_by_project ON jobs (project, id);
        CREATE INDEX jobs_by_owner ON jobs (owner, id) WHERE owner IS NOT NULL;
        CREATE INDEX jobs_finished ON jobs (project, finished_at) WHERE finished_at IS NOT NULL;

        CREATE TABLE events (
            sequence bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            time bigint NOT NULL,
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
            created_at bigint NOT NULL,
            expires_at bigint,
            last_used_at bigint,
            revoked_at bigint
        );
        CREATE INDEX tokens_by_job ON tokens (job_id) WHERE job_id IS NOT NULL;
        """)
}
