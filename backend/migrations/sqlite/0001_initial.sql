-- Initial schema (SQLite dialect). Keep in step with migrations/postgres/0001_initial.sql.

CREATE TABLE settings (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    server_url TEXT,
    update_interval INTEGER NOT NULL DEFAULT 60,
    auto_update BOOLEAN NOT NULL DEFAULT 0,
    ignore_ssl_self_signed BOOLEAN NOT NULL DEFAULT 0,
    default_compliance_mode TEXT NOT NULL DEFAULT 'on-demand',
    compliance_scan_interval INTEGER NOT NULL DEFAULT 1440,
    package_cache_refresh_mode TEXT NOT NULL DEFAULT 'always',
    package_cache_refresh_max_age INTEGER NOT NULL DEFAULT 60,
    updated_at TEXT
);
INSERT INTO settings (id) VALUES (1);

CREATE TABLE hosts (
    id BLOB PRIMARY KEY NOT NULL,
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
    boot_time TEXT,
    cpu_model TEXT,
    cpu_cores INTEGER,
    ram_installed REAL,
    swap_size REAL,
    disk_details TEXT,
    load_average TEXT,
    gateway_ip TEXT,
    dns_servers TEXT,
    network_interfaces TEXT,
    needs_reboot BOOLEAN NOT NULL DEFAULT 0,
    reboot_reason TEXT,
    package_manager TEXT,
    agent_version TEXT,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'active')),
    notes TEXT,
    auto_update BOOLEAN NOT NULL DEFAULT 1,
    docker_enabled BOOLEAN NOT NULL DEFAULT 0,
    compliance_enabled BOOLEAN NOT NULL DEFAULT 0,
    primary_interface TEXT,
    expected_platform TEXT,
    packages_hash TEXT,
    repos_hash TEXT,
    interfaces_hash TEXT,
    hostname_hash TEXT,
    docker_hash TEXT,
    compliance_hash TEXT,
    last_update TEXT,
    last_full_report_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX hosts_machine_id ON hosts (machine_id);
CREATE INDEX hosts_last_update ON hosts (last_update);

CREATE TABLE host_groups (
    id BLOB PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    description TEXT,
    color TEXT NOT NULL DEFAULT '#3B82F6',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE host_group_memberships (
    host_id BLOB NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    host_group_id BLOB NOT NULL REFERENCES host_groups (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    PRIMARY KEY (host_id, host_group_id)
);
CREATE INDEX host_group_memberships_group ON host_group_memberships (host_group_id);

CREATE TABLE packages (
    id BLOB PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    description TEXT,
    category TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE host_packages (
    host_id BLOB NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    package_id BLOB NOT NULL REFERENCES packages (id) ON DELETE CASCADE,
    current_version TEXT NOT NULL,
    available_version TEXT,
    needs_update BOOLEAN NOT NULL DEFAULT 0,
    is_security_update BOOLEAN NOT NULL DEFAULT 0,
    source_repository TEXT,
    wua TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (host_id, package_id)
) WITHOUT ROWID;
CREATE INDEX host_packages_package ON host_packages (package_id);

CREATE TABLE repositories (
    id BLOB PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    url TEXT NOT NULL,
    distribution TEXT NOT NULL,
    components TEXT NOT NULL,
    repo_type TEXT NOT NULL,
    is_secure BOOLEAN NOT NULL DEFAULT 0,
    is_active BOOLEAN NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (url, distribution, components)
);

CREATE TABLE host_repositories (
    host_id BLOB NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    repository_id BLOB NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    is_enabled BOOLEAN NOT NULL DEFAULT 1,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (host_id, repository_id)
) WITHOUT ROWID;
CREATE INDEX host_repositories_repository ON host_repositories (repository_id);

CREATE TABLE update_history (
    id BLOB PRIMARY KEY NOT NULL,
    host_id BLOB NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    report_type TEXT NOT NULL CHECK (report_type IN ('full', 'partial', 'ping', 'docker', 'compliance')),
    status TEXT NOT NULL CHECK (status IN ('success', 'error')),
    packages_count INTEGER NOT NULL DEFAULT 0,
    security_count INTEGER NOT NULL DEFAULT 0,
    total_packages INTEGER NOT NULL DEFAULT 0,
    payload_size_kb REAL NOT NULL DEFAULT 0,
    execution_time REAL NOT NULL DEFAULT 0,
    agent_execution_ms INTEGER,
    sections_sent TEXT,
    sections_unchanged TEXT,
    error_message TEXT,
    timestamp TEXT NOT NULL
);
CREATE INDEX update_history_host_time ON update_history (host_id, timestamp);

CREATE TABLE job_history (
    id BLOB PRIMARY KEY NOT NULL,
    job_id TEXT NOT NULL,
    queue_name TEXT NOT NULL,
    job_name TEXT NOT NULL,
    host_id BLOB REFERENCES hosts (id) ON DELETE SET NULL,
    api_id TEXT,
    status TEXT NOT NULL,
    attempt_number INTEGER NOT NULL DEFAULT 1,
    error_message TEXT,
    output TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    completed_at TEXT
);
CREATE INDEX job_history_host ON job_history (host_id, created_at);
CREATE INDEX job_history_job ON job_history (job_id);

CREATE TABLE host_integration_status (
    host_id BLOB NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    integration TEXT NOT NULL,
    status TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (host_id, integration)
);
