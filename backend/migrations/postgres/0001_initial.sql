-- Initial schema (PostgreSQL dialect). Keep in step with migrations/sqlite/0001_initial.sql.

CREATE TABLE settings (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    server_url TEXT,
    update_interval BIGINT NOT NULL DEFAULT 60,
    auto_update BOOLEAN NOT NULL DEFAULT FALSE,
    ignore_ssl_self_signed BOOLEAN NOT NULL DEFAULT FALSE,
    default_compliance_mode TEXT NOT NULL DEFAULT 'on-demand',
    compliance_scan_interval BIGINT NOT NULL DEFAULT 1440,
    package_cache_refresh_mode TEXT NOT NULL DEFAULT 'always',
    package_cache_refresh_max_age BIGINT NOT NULL DEFAULT 60,
    updated_at TIMESTAMPTZ
);
INSERT INTO settings (id) VALUES (1);

CREATE TABLE hosts (
    id UUID PRIMARY KEY NOT NULL,
    api_id TEXT NOT NULL UNIQUE,
    api_key_hash TEXT NOT NULL,
    friendly_name TEXT NOT NULL,
    hostname TEXT,
    machine_id TEXT,
    ip TEXT,
    os_type TEXT,
    os_version TEXT,
    architecture TEXT,
    kernel_version TEXT,
    installed_kernel_version TEXT,
    selinux_status TEXT,
    system_uptime TEXT,
    boot_time TIMESTAMPTZ,
    cpu_model TEXT,
    cpu_cores BIGINT,
    ram_installed DOUBLE PRECISION,
    swap_size DOUBLE PRECISION,
    disk_details JSONB,
    load_average JSONB,
    gateway_ip TEXT,
    dns_servers JSONB,
    network_interfaces JSONB,
    needs_reboot BOOLEAN NOT NULL DEFAULT FALSE,
    reboot_reason TEXT,
    package_manager TEXT,
    agent_version TEXT,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'active')),
    notes TEXT,
    auto_update BOOLEAN NOT NULL DEFAULT TRUE,
    docker_enabled BOOLEAN NOT NULL DEFAULT FALSE,
    compliance_enabled BOOLEAN NOT NULL DEFAULT FALSE,
    primary_interface TEXT,
    expected_platform TEXT,
    packages_hash TEXT,
    repos_hash TEXT,
    interfaces_hash TEXT,
    hostname_hash TEXT,
    docker_hash TEXT,
    compliance_hash TEXT,
    last_update TIMESTAMPTZ,
    last_full_report_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX hosts_machine_id ON hosts (machine_id);
CREATE INDEX hosts_last_update ON hosts (last_update);

CREATE TABLE host_groups (
    id UUID PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    description TEXT,
    color TEXT NOT NULL DEFAULT '#3B82F6',
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE host_group_memberships (
    host_id UUID NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    host_group_id UUID NOT NULL REFERENCES host_groups (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (host_id, host_group_id)
);
CREATE INDEX host_group_memberships_group ON host_group_memberships (host_group_id);

CREATE TABLE packages (
    id UUID PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    description TEXT,
    category TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE host_packages (
    host_id UUID NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    package_id UUID NOT NULL REFERENCES packages (id) ON DELETE CASCADE,
    current_version TEXT NOT NULL,
    available_version TEXT,
    needs_update BOOLEAN NOT NULL DEFAULT FALSE,
    is_security_update BOOLEAN NOT NULL DEFAULT FALSE,
    source_repository TEXT,
    wua JSONB,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (host_id, package_id)
);
CREATE INDEX host_packages_package ON host_packages (package_id);

CREATE TABLE repositories (
    id UUID PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    url TEXT NOT NULL,
    distribution TEXT NOT NULL,
    components TEXT NOT NULL,
    repo_type TEXT NOT NULL,
    is_secure BOOLEAN NOT NULL DEFAULT FALSE,
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    UNIQUE (url, distribution, components)
);

CREATE TABLE host_repositories (
    host_id UUID NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    repository_id UUID NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    is_enabled BOOLEAN NOT NULL DEFAULT TRUE,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (host_id, repository_id)
);
CREATE INDEX host_repositories_repository ON host_repositories (repository_id);

CREATE TABLE update_history (
    id UUID PRIMARY KEY NOT NULL,
    host_id UUID NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    report_type TEXT NOT NULL CHECK (report_type IN ('full', 'partial', 'ping', 'docker', 'compliance')),
    status TEXT NOT NULL CHECK (status IN ('success', 'error')),
    packages_count BIGINT NOT NULL DEFAULT 0,
    security_count BIGINT NOT NULL DEFAULT 0,
    total_packages BIGINT NOT NULL DEFAULT 0,
    payload_size_kb DOUBLE PRECISION NOT NULL DEFAULT 0,
    execution_time DOUBLE PRECISION NOT NULL DEFAULT 0,
    agent_execution_ms BIGINT,
    sections_sent JSONB,
    sections_unchanged JSONB,
    error_message TEXT,
    timestamp TIMESTAMPTZ NOT NULL
);
CREATE INDEX update_history_host_time ON update_history (host_id, timestamp);

CREATE TABLE job_history (
    id UUID PRIMARY KEY NOT NULL,
    job_id TEXT NOT NULL,
    queue_name TEXT NOT NULL,
    job_name TEXT NOT NULL,
    host_id UUID REFERENCES hosts (id) ON DELETE SET NULL,
    api_id TEXT,
    status TEXT NOT NULL,
    attempt_number BIGINT NOT NULL DEFAULT 1,
    error_message TEXT,
    output JSONB,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    completed_at TIMESTAMPTZ
);
CREATE INDEX job_history_host ON job_history (host_id, created_at);
CREATE INDEX job_history_job ON job_history (job_id);

CREATE TABLE host_integration_status (
    host_id UUID NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    integration TEXT NOT NULL,
    status JSONB NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (host_id, integration)
);
