extension SQLiteStore {
    /// The schema of the first release. Times are milliseconds since 1970, booleans 0/1.
    static let migration0001 = Migration(version: 1, name: "initial", sql: """
        CREATE TABLE resources (
            kind text NOT NULL,
            project text NOT NULL,
            name text NOT NULL,
            document text NOT NULL,
            generation integer NOT NULL,
            source text NOT NULL,
            created_at integer NOT NULL,
            updated_at integer NOT NULL,
            deleted_at integer,
            PRIMARY KEY (kind, project, name)
        );
        CREATE INDEX resources_by_project ON resources (project, kind, name);

        CREATE TABLE resource_status (
            kind text NOT NULL,
            project text NOT NULL,
            name text NOT NULL,
            phase text NOT NULL,
            conditions text NOT NULL,
            observed_generation integer,
            restart_count integer NOT NULL,
            last_action text,
            last_cause text,
            updated_at integer NOT NULL,
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
            lease_expires_at integer,
            container_id text,
            exit_code integer,
            reason text,
            stdout_tail text,
            stderr_tail text,
            feedback text,
            cancel_requested integer NOT NULL DEFAULT 0,
            submitted_at integer NOT NULL,
            queued_at integer,
            started_at integer,
            finished_at integer,
            next_attempt_at integer
        );
        CREATE UNIQUE INDEX jobs_idempotency ON jobs (project, idempotency_key) WHERE idempotency_key IS NOT NULL;
        CREATE INDEX jobs_claim ON jobs (priority DESC, id) WHERE state = 'pending';
        CREATE INDEX jobs_active ON jobs (project) WHERE state IN ('queued', 'started');
        CREATE INDEX jobs_by_project ON jobs (project, id);
        CREATE INDEX jobs_by_owner ON jobs (owner, id) WHERE owner IS NOT NULL;
        CREATE INDEX jobs_finished ON jobs (project, finished_at) WHERE finished_at IS NOT NULL;

        CREATE TABLE events (
            sequence integer PRIMARY KEY AUTOINCREMENT,
            time integer NOT NULL,
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
            created_at integer NOT NULL,
            expires_at integer,
            last_used_at integer,
            revoked_at integer
        );
        CREATE INDEX tokens_by_job ON tokens (job_id) WHERE job_id IS NOT NULL;

        CREATE TABLE leader_leases (
            name text PRIMARY KEY,
            holder text NOT NULL,
            expires_at integer NOT NULL
        );
        """)
}
