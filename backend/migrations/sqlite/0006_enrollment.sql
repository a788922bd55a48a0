-- Auto-enrollment tokens, scoped integration-API keys and GetHomepage keys
-- share one table (as in PatchMon); `integration_type` tells them apart and
-- decides what each may do. Secrets are stored as SHA-256 only.
-- Keep in step with the other dialect's 0006_enrollment.sql.
CREATE TABLE auto_enrollment_tokens (
    id BLOB PRIMARY KEY NOT NULL,
    token_name TEXT NOT NULL,
    token_key TEXT NOT NULL UNIQUE,
    secret_hash TEXT NOT NULL,
    integration_type TEXT NOT NULL
        CHECK (integration_type IN ('proxmox-lxc', 'direct-host', 'api', 'gethomepage')),
    is_active BOOLEAN NOT NULL DEFAULT 1,
    allowed_ip_ranges TEXT NOT NULL DEFAULT '[]',
    max_hosts_per_day INTEGER NOT NULL DEFAULT 100
        CHECK (max_hosts_per_day BETWEEN 1 AND 1000),
    hosts_created_today INTEGER NOT NULL DEFAULT 0,
    -- UTC day (YYYY-MM-DD) hosts_created_today counts; another day means 0.
    quota_day TEXT,
    default_host_group_id BLOB REFERENCES host_groups (id) ON DELETE SET NULL,
    metadata TEXT NOT NULL DEFAULT '{}',
    scopes TEXT,
    expires_at TEXT,
    last_used_at TEXT,
    created_by_user_id BLOB REFERENCES users (id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX auto_enrollment_tokens_created ON auto_enrollment_tokens (created_at);

-- The machine id an enrollment script sent (raw /etc/machine-id), so that a
-- re-run for the same machine answers 409 instead of creating a duplicate.
ALTER TABLE hosts ADD COLUMN enrollment_machine_id TEXT;
ALTER TABLE hosts ADD COLUMN enrolled_by_token_id BLOB REFERENCES auto_enrollment_tokens (id) ON DELETE SET NULL;
CREATE UNIQUE INDEX hosts_enrollment_machine_id ON hosts (enrollment_machine_id);
