-- Pending OpenID Connect logins: state (hashed), PKCE verifier and nonce,
-- valid for 10 minutes and consumed by the callback.
-- Keep in step with the other dialect's 0004_oidc.sql.
CREATE TABLE oidc_logins (
    state_hash TEXT PRIMARY KEY NOT NULL,
    pkce_verifier TEXT NOT NULL,
    nonce TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
