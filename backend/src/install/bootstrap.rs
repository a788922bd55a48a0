//! Single-use bootstrap tokens: the install script carries one instead of the
//! host's API key, and trades it for the credentials once, within 5 minutes.
//!
//! The hosts table keeps only SHA-256 of the API key, so the token itself is
//! what unlocks the key: the row stores SHA-256(token) as its lookup key and
//! the API key XORed with a keystream derived from the token
//! (SHA-256(token ‖ "patchmon-bootstrap-1") ‖ SHA-256(token ‖ "patchmon-bootstrap-2") ‖ …).
//! A copy of the database alone reveals no key. Consumption is one
//! `DELETE … RETURNING`, so two concurrent exchanges cannot both succeed.

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::db::Db;
use crate::error::{AppError, AppResult};
use crate::hosts::credentials::{hash_secret, hex, verify_secret};
use crate::with_db;

/// How long a token is valid.
pub const TOKEN_TTL_SECS: i64 = 300;
/// Live (unexpired, unused) tokens one host may hold; more is refused with 429.
pub const MAX_LIVE_TOKENS_PER_HOST: i64 = 10;

pub const INVALID: &str = "Invalid or expired bootstrap token";

/// XOR keystream of `len` bytes derived from the token.
fn keystream(token: &str, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 32);
    let mut block = 1u32;
    while out.len() < len {
        let mut h = Sha256::new();
        h.update(token.as_bytes());
        h.update(format!("patchmon-bootstrap-{block}").as_bytes());
        out.extend_from_slice(&h.finalize());
        block += 1;
    }
    out.truncate(len);
    out
}

/// `api_key` sealed with the token: hex of key XOR keystream.
pub fn seal(token: &str, api_key: &str) -> String {
    let ks = keystream(token, api_key.len());
    let x: Vec<u8> = api_key.bytes().zip(ks).map(|(a, b)| a ^ b).collect();
    hex(&x)
}

/// The API key from a sealed value, or None when it is not valid hex/UTF-8.
pub fn unseal(token: &str, sealed: &str) -> Option<String> {
    if !sealed.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..sealed.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(sealed.get(i..i + 2)?, 16).ok())
        .collect();
    let bytes = bytes?;
    let ks = keystream(token, bytes.len());
    String::from_utf8(bytes.iter().zip(ks).map(|(a, b)| a ^ b).collect()).ok()
}

/// A fresh token: 32 random bytes as 64 lowercase hex characters.
fn new_token() -> AppResult<String> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|e| AppError::internal(format!("random source: {e}")))?;
    Ok(hex(&b))
}

/// Whether `s` looks like a token (64 hex characters).
pub fn well_formed(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Mints a token for a host whose API key the caller has just verified.
/// Expired tokens (of every host) are pruned in the same transaction.
pub async fn mint(db: &Db, now: DateTime<Utc>, host_id: Uuid, api_key: &str) -> AppResult<String> {
    let token = new_token()?;
    let sealed = seal(&token, api_key);
    let expires = now + Duration::seconds(TOKEN_TTL_SECS);
    // Serialise minting per host so the live-token cap holds under concurrency.
    let lock_host = if db.is_postgres() {
        "SELECT id FROM hosts WHERE id = $1 FOR UPDATE"
    } else {
        "SELECT id FROM hosts WHERE id = $1"
    };
    let _write = db.write_guard().await;
    let begin = db.begin_write_sql();
    let oldest: Option<DateTime<Utc>> = with_db!(db, p => {
        let mut tx = p.begin_with(begin).await?;
        sqlx::query(lock_host).bind(host_id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM bootstrap_tokens WHERE expires_at <= $1")
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let (live, oldest): (i64, Option<DateTime<Utc>>) = sqlx::query_as(
            "SELECT COUNT(*), MIN(expires_at) FROM bootstrap_tokens WHERE host_id = $1",
        )
        .bind(host_id)
        .fetch_one(&mut *tx)
        .await?;
        if live >= MAX_LIVE_TOKENS_PER_HOST {
            tx.commit().await?;
            oldest.or(Some(expires))
        } else {
            sqlx::query(
                "INSERT INTO bootstrap_tokens (token_hash, host_id, sealed_key, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(hash_secret(&token))
            .bind(host_id)
            .bind(&sealed)
            .bind(now)
            .bind(expires)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            None
        }
    });
    if let Some(oldest) = oldest {
        return Err(AppError::TooManyRequests {
            message:
                "Too many unused install scripts for this host; run one, or wait for them to expire"
                    .into(),
            retry_after: (oldest - now).num_seconds().max(1),
        });
    }
    Ok(token)
}

/// Consumes a token: `(api_id, api_key)`, or 401 when it is unknown, used,
/// expired, or the host's key has changed since it was minted.
pub async fn exchange(db: &Db, now: DateTime<Utc>, token: &str) -> AppResult<(String, String)> {
    if !well_formed(token) {
        return Err(AppError::Unauthorized(INVALID));
    }
    let token = token.to_ascii_lowercase();
    const TAKE: &str = "DELETE FROM bootstrap_tokens WHERE token_hash = $1 \
        RETURNING host_id, sealed_key, expires_at";
    let taken: Option<(Uuid, String, DateTime<Utc>)> = {
        let _write = db.write_guard().await;
        with_db!(db, p => sqlx::query_as(TAKE).bind(hash_secret(&token)).fetch_optional(p).await)?
    };
    let Some((host_id, sealed, expires_at)) = taken else {
        return Err(AppError::Unauthorized(INVALID));
    };
    if expires_at <= now {
        return Err(AppError::Unauthorized(INVALID));
    }
    let host: Option<(String, String)> = with_db!(db, p =>
        sqlx::query_as("SELECT api_id, api_key_hash FROM hosts WHERE id = $1")
            .bind(host_id)
            .fetch_optional(p)
            .await)?;
    let Some((api_id, key_hash)) = host else {
        return Err(AppError::Unauthorized(INVALID));
    };
    match unseal(&token, &sealed) {
        Some(key) if verify_secret(&key, &key_hash) => Ok((api_id, key)),
        _ => {
            tracing::info!(%api_id, "bootstrap token for credentials that have since changed");
            Err(AppError::Unauthorized(INVALID))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_round_trip() {
        let token = "ab".repeat(32);
        let key = "0123456789abcdef".repeat(4);
        let sealed = seal(&token, &key);
        assert_eq!(sealed.len(), 128);
        assert!(!sealed.contains(&key));
        assert_eq!(unseal(&token, &sealed).as_deref(), Some(key.as_str()));
        let other = "cd".repeat(32);
        assert_ne!(unseal(&other, &sealed).as_deref(), Some(key.as_str()));
        assert_eq!(unseal(&token, "zz"), None);
        assert_eq!(unseal(&token, "abc"), None);
        // Longer keys get more keystream blocks.
        let long = "k".repeat(100);
        assert_eq!(
            unseal(&token, &seal(&token, &long)).as_deref(),
            Some(long.as_str())
        );
    }

    #[test]
    fn token_shape() {
        let t = new_token().unwrap();
        assert!(well_formed(&t));
        assert!(!well_formed(&t[1..]));
        assert!(!well_formed(&"g".repeat(64)));
    }
}
