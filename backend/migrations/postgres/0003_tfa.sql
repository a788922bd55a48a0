-- TOTP two-factor authentication: replay guard, pending enrolment secret,
-- single-use backup codes, login tickets and remembered devices.
-- Keep in step with the other dialect's 0003_tfa.sql.

ALTER TABLE users ADD COLUMN tfa_pending_secret TEXT;
ALTER TABLE users ADD COLUMN tfa_last_step BIGINT;

CREATE TABLE user_tfa_backup_codes (
    id UUID PRIMARY KEY NOT NULL,
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX user_tfa_backup_codes_user ON user_tfa_backup_codes (user_id);

-- Issued after a correct password when TFA is on; exchanged once at /auth/verify-tfa.
CREATE TABLE tfa_tickets (
    ticket_hash TEXT PRIMARY KEY NOT NULL,
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    remember_ok BOOLEAN NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX tfa_tickets_user ON tfa_tickets (user_id);

-- "Remember this device": skips the TFA step on login until it expires.
CREATE TABLE user_trusted_devices (
    id UUID PRIMARY KEY NOT NULL,
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    user_agent TEXT,
    ip_address TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX user_trusted_devices_user ON user_trusted_devices (user_id);
