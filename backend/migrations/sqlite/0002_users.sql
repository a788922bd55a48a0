-- Users, roles, sessions, login lockout and the audit log (SQLite dialect).
-- Keep in step with migrations/postgres/0002_users.sql.
-- One row per role; the flags are PatchMon 2.x's permission matrix.
CREATE TABLE role_permissions (
    role TEXT PRIMARY KEY NOT NULL,
    description TEXT,
    is_builtin BOOLEAN NOT NULL DEFAULT 0,
    can_view_dashboard BOOLEAN NOT NULL DEFAULT 0,
    can_view_hosts BOOLEAN NOT NULL DEFAULT 0,
    can_manage_hosts BOOLEAN NOT NULL DEFAULT 0,
    can_view_packages BOOLEAN NOT NULL DEFAULT 0,
    can_manage_packages BOOLEAN NOT NULL DEFAULT 0,
    can_view_users BOOLEAN NOT NULL DEFAULT 0,
    can_manage_users BOOLEAN NOT NULL DEFAULT 0,
    can_manage_superusers BOOLEAN NOT NULL DEFAULT 0,
    can_view_reports BOOLEAN NOT NULL DEFAULT 0,
    can_export_data BOOLEAN NOT NULL DEFAULT 0,
    can_manage_settings BOOLEAN NOT NULL DEFAULT 0,
    can_manage_notifications BOOLEAN NOT NULL DEFAULT 0,
    can_view_notification_logs BOOLEAN NOT NULL DEFAULT 0,
    can_manage_patching BOOLEAN NOT NULL DEFAULT 0,
    can_manage_compliance BOOLEAN NOT NULL DEFAULT 0,
    can_manage_docker BOOLEAN NOT NULL DEFAULT 0,
    can_manage_alerts BOOLEAN NOT NULL DEFAULT 0,
    can_manage_automation BOOLEAN NOT NULL DEFAULT 0,
    can_use_remote_access BOOLEAN NOT NULL DEFAULT 0,
    can_manage_billing BOOLEAN NOT NULL DEFAULT 0
);
INSERT INTO role_permissions (role, description, is_builtin, can_view_dashboard, can_view_hosts, can_manage_hosts, can_view_packages, can_manage_packages, can_view_users, can_manage_users, can_manage_superusers, can_view_reports, can_export_data, can_manage_settings, can_manage_notifications, can_view_notification_logs, can_manage_patching, can_manage_compliance, can_manage_docker, can_manage_alerts, can_manage_automation, can_use_remote_access, can_manage_billing)
    VALUES ('superadmin', 'Full access, including other superadmins', 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1);
INSERT INTO role_permissions (role, description, is_builtin, can_view_dashboard, can_view_hosts, can_manage_hosts, can_view_packages, can_manage_packages, can_view_users, can_manage_users, can_manage_superusers, can_view_reports, can_export_data, can_manage_settings, can_manage_notifications, can_view_notification_logs, can_manage_patching, can_manage_compliance, can_manage_docker, can_manage_alerts, can_manage_automation, can_use_remote_access, can_manage_billing)
    VALUES ('admin', 'Full access except managing superadmins', 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1);
INSERT INTO role_permissions (role, description, is_builtin, can_view_dashboard, can_view_hosts, can_manage_hosts, can_view_packages, can_manage_packages, can_view_users, can_manage_users, can_manage_superusers, can_view_reports, can_export_data, can_manage_settings, can_manage_notifications, can_view_notification_logs, can_manage_patching, can_manage_compliance, can_manage_docker, can_manage_alerts, can_manage_automation, can_use_remote_access, can_manage_billing)
    VALUES ('host_manager', 'Manages hosts, packages, patching, compliance, Docker, alerts, automation and remote access', 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0);
INSERT INTO role_permissions (role, description, is_builtin, can_view_dashboard, can_view_hosts, can_manage_hosts, can_view_packages, can_manage_packages, can_view_users, can_manage_users, can_manage_superusers, can_view_reports, can_export_data, can_manage_settings, can_manage_notifications, can_view_notification_logs, can_manage_patching, can_manage_compliance, can_manage_docker, can_manage_alerts, can_manage_automation, can_use_remote_access, can_manage_billing)
    VALUES ('user', 'Read-only access plus data export', 1, 1, 1, 0, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
INSERT INTO role_permissions (role, description, is_builtin, can_view_dashboard, can_view_hosts, can_manage_hosts, can_view_packages, can_manage_packages, can_view_users, can_manage_users, can_manage_superusers, can_view_reports, can_export_data, can_manage_settings, can_manage_notifications, can_view_notification_logs, can_manage_patching, can_manage_compliance, can_manage_docker, can_manage_alerts, can_manage_automation, can_use_remote_access, can_manage_billing)
    VALUES ('readonly', 'Read-only access', 1, 1, 1, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

-- No default role: PatchMon's schema defaults to 'admin'; every insert names one here.
CREATE TABLE users (
    id BLOB PRIMARY KEY NOT NULL,
    username TEXT NOT NULL,
    email TEXT NOT NULL,
    password_hash TEXT,
    first_name TEXT,
    last_name TEXT,
    role TEXT NOT NULL REFERENCES role_permissions (role),
    is_active BOOLEAN NOT NULL DEFAULT 1,
    last_login TEXT,
    tfa_enabled BOOLEAN NOT NULL DEFAULT 0,
    tfa_secret TEXT,
    oidc_sub TEXT,
    oidc_provider TEXT,
    avatar_url TEXT,
    theme_preference TEXT NOT NULL DEFAULT 'dark',
    color_theme TEXT NOT NULL DEFAULT 'default',
    preferences TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX users_username_lower ON users (lower(username));
CREATE UNIQUE INDEX users_email_lower ON users (lower(email));
CREATE UNIQUE INDEX users_oidc ON users (oidc_provider, oidc_sub);
CREATE INDEX users_role ON users (role);

-- Server-side sessions. Only SHA-256 hashes of the tokens are stored.
CREATE TABLE user_sessions (
    id BLOB PRIMARY KEY NOT NULL,
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    refresh_token_hash TEXT NOT NULL UNIQUE,
    csrf_hash TEXT NOT NULL,
    ip_address TEXT,
    user_agent TEXT,
    created_at TEXT NOT NULL,
    last_activity TEXT NOT NULL,
    access_expires_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX user_sessions_user ON user_sessions (user_id);

-- Failed logins per account (or per unknown name, so lockout never reveals
-- whether an account exists): 15-minute rolling window, then a lock.
CREATE TABLE login_failures (
    key TEXT PRIMARY KEY NOT NULL,
    failures INTEGER NOT NULL,
    window_start TEXT NOT NULL,
    locked_until TEXT
);

-- Security-relevant events. No foreign keys: entries outlive their users.
CREATE TABLE audit_logs (
    id BLOB PRIMARY KEY NOT NULL,
    created_at TEXT NOT NULL,
    event TEXT NOT NULL,
    success BOOLEAN NOT NULL,
    user_id BLOB,
    actor_id BLOB,
    username TEXT,
    ip_address TEXT,
    user_agent TEXT,
    details TEXT
);
CREATE INDEX audit_logs_time ON audit_logs (created_at);
CREATE INDEX audit_logs_user ON audit_logs (user_id);
