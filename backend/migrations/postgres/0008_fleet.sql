-- Web app fleet views (hosts list, packages, dashboard, settings).
-- Keep in step with the other dialect's 0008_fleet.sql.

-- Per-host package counters, written by report ingest in the same
-- transaction as the packages, so the host list can sort and filter on them
-- without aggregating host_packages (millions of rows in a large fleet).
ALTER TABLE hosts ADD COLUMN pkg_total BIGINT NOT NULL DEFAULT 0;
ALTER TABLE hosts ADD COLUMN pkg_outdated BIGINT NOT NULL DEFAULT 0;
ALTER TABLE hosts ADD COLUMN pkg_security BIGINT NOT NULL DEFAULT 0;
UPDATE hosts SET
    pkg_total = (SELECT COUNT(*) FROM host_packages hp WHERE hp.host_id = hosts.id),
    pkg_outdated = (SELECT COUNT(*) FROM host_packages hp WHERE hp.host_id = hosts.id AND hp.needs_update),
    pkg_security = (SELECT COUNT(*) FROM host_packages hp WHERE hp.host_id = hosts.id AND hp.needs_update AND hp.is_security_update);

CREATE INDEX hosts_friendly_name ON hosts (friendly_name);
CREATE INDEX hosts_os_type ON hosts (os_type);
CREATE INDEX hosts_pkg_outdated ON hosts (pkg_outdated);
CREATE INDEX host_packages_outdated ON host_packages (package_id) WHERE needs_update;
CREATE INDEX update_history_timestamp ON update_history (timestamp);

-- Settings: server address used in generated scripts (NULL: the
-- SERVER_PROTOCOL/SERVER_HOST/SERVER_PORT environment), and branding.
ALTER TABLE settings ADD COLUMN server_protocol TEXT;
ALTER TABLE settings ADD COLUMN server_host TEXT;
ALTER TABLE settings ADD COLUMN server_port BIGINT;
ALTER TABLE settings ADD COLUMN branding_name TEXT;
ALTER TABLE settings ADD COLUMN logo_data BYTEA;
ALTER TABLE settings ADD COLUMN logo_mime TEXT;
ALTER TABLE settings ADD COLUMN logo_updated_at TIMESTAMPTZ;

-- Saved host-table views, per user.
CREATE TABLE host_views (
    id UUID PRIMARY KEY NOT NULL,
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    columns JSONB NOT NULL,
    sort TEXT,
    sort_order TEXT,
    filters JSONB NOT NULL,
    is_default BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    UNIQUE (user_id, name)
);

-- Dashboard card layout, per user.
CREATE TABLE dashboard_preferences (
    user_id UUID PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    layout JSONB NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- Fleet-wide snapshots for the dashboard trend charts (written by the
-- system-statistics job every 30 minutes).
CREATE TABLE system_statistics (
    id UUID PRIMARY KEY NOT NULL,
    timestamp TIMESTAMPTZ NOT NULL,
    total_hosts BIGINT NOT NULL DEFAULT 0,
    hosts_needing_updates BIGINT NOT NULL DEFAULT 0,
    security_updates BIGINT NOT NULL DEFAULT 0,
    total_outdated_packages BIGINT NOT NULL DEFAULT 0,
    up_to_date_hosts BIGINT NOT NULL DEFAULT 0,
    offline_hosts BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX system_statistics_timestamp ON system_statistics (timestamp);
