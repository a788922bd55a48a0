-- Single-use bootstrap tokens of the agent install script (5 minutes).
-- token_hash = SHA-256 of the token; sealed_key = the host's API key XORed
-- with a keystream derived from the token, so the table alone reveals no key.
-- Keep in step with the other dialect's 0007_install.sql.
CREATE TABLE bootstrap_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    host_id UUID NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    sealed_key TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX bootstrap_tokens_host ON bootstrap_tokens (host_id);
CREATE INDEX bootstrap_tokens_expires ON bootstrap_tokens (expires_at);
