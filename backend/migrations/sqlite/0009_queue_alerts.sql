-- Job queue, host status events, alerts and notifications (SQLite dialect).
-- Keep in step with migrations/postgres/0009_queue_alerts.sql.

-- job_history is the record of every job and, on database storage, the queue itself.
ALTER TABLE job_history ADD COLUMN payload TEXT;
ALTER TABLE job_history ADD COLUMN max_attempts INTEGER NOT NULL DEFAULT 5;
ALTER TABLE job_history ADD COLUMN run_at TEXT;
ALTER TABLE job_history ADD COLUMN expires_at TEXT;
ALTER TABLE job_history ADD COLUMN lease_until TEXT;
ALTER TABLE job_history ADD COLUMN lease_token TEXT;
ALTER TABLE job_history ADD COLUMN started_at TEXT;
CREATE UNIQUE INDEX job_history_queue_job ON job_history (queue_name, job_id);
CREATE INDEX job_history_due ON job_history (status, run_at);

-- Where each agent's WebSocket is (shared by replicas; feeds host-down detection).
CREATE TABLE host_connections (
    host_id BLOB PRIMARY KEY NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    connected BOOLEAN NOT NULL,
    replica_id TEXT NOT NULL,
    conn_id INTEGER NOT NULL,
    connected_at TEXT NOT NULL,
    disconnected_at TEXT
);

-- Last status seen by host-status-monitor, so each transition is reported once.
CREATE TABLE host_status_state (
    host_id BLOB PRIMARY KEY NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    state TEXT NOT NULL CHECK (state IN ('ok', 'stale', 'down')),
    changed_at TEXT NOT NULL
);

-- A host's timeline.
CREATE TABLE host_events (
    id BLOB PRIMARY KEY NOT NULL,
    host_id BLOB NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    event_type TEXT NOT NULL,
    message TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX host_events_host_time ON host_events (host_id, created_at);

CREATE TABLE IF NOT EXISTS system_statistics (
    id BLOB PRIMARY KEY NOT NULL,
    timestamp TEXT NOT NULL,
    total_hosts INTEGER NOT NULL DEFAULT 0,
    hosts_needing_updates INTEGER NOT NULL DEFAULT 0,
    security_updates INTEGER NOT NULL DEFAULT 0,
    total_outdated_packages INTEGER NOT NULL DEFAULT 0,
    up_to_date_hosts INTEGER NOT NULL DEFAULT 0,
    offline_hosts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS system_statistics_timestamp ON system_statistics (timestamp);

CREATE TABLE alert_config (
    alert_type TEXT PRIMARY KEY NOT NULL,
    enabled BOOLEAN NOT NULL DEFAULT 1,
    default_severity TEXT NOT NULL CHECK (default_severity IN ('info', 'warning', 'error', 'critical')),
    auto_assign_user_id BLOB REFERENCES users (id) ON DELETE SET NULL,
    auto_resolve BOOLEAN NOT NULL DEFAULT 1,
    retention_days INTEGER NOT NULL DEFAULT 90,
    metadata TEXT NOT NULL DEFAULT '{}',
    updated_at TEXT
);
INSERT INTO alert_config (alert_type, default_severity, metadata) VALUES
    ('host_down', 'critical', '{"threshold_seconds": 30}'),
    ('security_updates_available', 'error', '{}'),
    ('updates_available', 'info', '{}'),
    ('reboot_required', 'warning', '{}'),
    ('agent_outdated', 'warning', '{}'),
    ('server_update', 'info', '{}'),
    ('compliance_failed', 'error', '{}');

CREATE TABLE alerts (
    id BLOB PRIMARY KEY NOT NULL,
    alert_type TEXT NOT NULL,
    severity TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'error', 'critical')),
    status TEXT NOT NULL CHECK (status IN ('open', 'acknowledged', 'silenced', 'resolved')),
    title TEXT NOT NULL,
    message TEXT NOT NULL,
    host_id BLOB REFERENCES hosts (id) ON DELETE CASCADE,
    metadata TEXT NOT NULL DEFAULT '{}',
    assigned_to_user_id BLOB REFERENCES users (id) ON DELETE SET NULL,
    silenced_until TEXT,
    acknowledged_at TEXT,
    acknowledged_by BLOB REFERENCES users (id) ON DELETE SET NULL,
    resolved_at TEXT,
    resolved_by BLOB REFERENCES users (id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX alerts_status ON alerts (status, created_at);
CREATE INDEX alerts_host ON alerts (host_id, alert_type);
-- At most one unresolved alert per (type, host).
CREATE UNIQUE INDEX alerts_one_open ON alerts (alert_type, host_id) WHERE status <> 'resolved';

CREATE TABLE alert_history (
    id BLOB PRIMARY KEY NOT NULL,
    alert_id BLOB NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    action TEXT NOT NULL,
    user_id BLOB REFERENCES users (id) ON DELETE SET NULL,
    note TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX alert_history_alert ON alert_history (alert_id, created_at);

CREATE TABLE notification_channels (
    id BLOB PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('webhook', 'email', 'ntfy', 'gotify')),
    enabled BOOLEAN NOT NULL DEFAULT 1,
    config TEXT NOT NULL,
    events TEXT NOT NULL DEFAULT '[]',
    min_severity TEXT NOT NULL DEFAULT 'info' CHECK (min_severity IN ('info', 'warning', 'error', 'critical')),
    host_group_id BLOB REFERENCES host_groups (id) ON DELETE CASCADE,
    cooldown_seconds INTEGER NOT NULL DEFAULT 900,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE notification_deliveries (
    id BLOB PRIMARY KEY NOT NULL,
    channel_id BLOB NOT NULL REFERENCES notification_channels (id) ON DELETE CASCADE,
    alert_id BLOB REFERENCES alerts (id) ON DELETE SET NULL,
    host_id BLOB REFERENCES hosts (id) ON DELETE SET NULL,
    alert_type TEXT NOT NULL,
    event TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('sent', 'skipped_cooldown', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX notification_deliveries_cooldown ON notification_deliveries (channel_id, host_id, alert_type, created_at);
