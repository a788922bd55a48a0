//! Server-side sessions. A session has an access token (sent as
//! `Authorization: Bearer` or the `patchmon_session` cookie), a refresh token
//! and a CSRF token; only their SHA-256 hashes are stored. A session dies when
//! revoked, after `SESSION_INACTIVITY_TIMEOUT_MINUTES` without use, or at its
//! absolute expiry; the access token additionally expires after
//! `JWT_EXPIRES_IN` and is renewed through `/auth/refresh`.

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::header::{AUTHORIZATION, COOKIE, USER_AGENT};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::hosts::credentials::{hash_secret, hex};
use crate::state::AppState;
use crate::with_db;

pub const SESSION_COOKIE: &str = "patchmon_session";
pub const REFRESH_COOKIE: &str = "patchmon_refresh";
pub const CSRF_COOKIE: &str = "patchmon_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Touch `last_activity` at most this often (one write per request would be waste).
const TOUCH_EVERY_SECS: i64 = 30;

/// The user row fields a session carries.
#[derive(Clone, Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[schema(as = SignedInUser)]
pub struct SessionUser {
    pub id: Uuid,
    pub username: String,
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub role: String,
    pub is_active: bool,
    pub tfa_enabled: bool,
}

/// An authenticated request's session.
#[derive(Clone, Debug)]
pub struct AuthedSession {
    pub session_id: Uuid,
    pub user: SessionUser,
    /// Authenticated by cookie (CSRF-protected) rather than a Bearer token.
    pub via_cookie: bool,
}

/// A freshly issued set of tokens, shown to the client once.
#[derive(Debug, Clone)]
pub struct IssuedTokens {
    pub session_id: Uuid,
    pub token: String,
    pub refresh_token: String,
    pub csrf_token: String,
    pub access_expires_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// The caller's address and user agent, for sessions, audit and rate limits.
#[derive(Clone, Debug, Default)]
pub struct ClientInfo {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
}

impl ClientInfo {
    /// The peer address, or the rightmost `X-Forwarded-For` entry (the one our
    /// own proxy appended) when `TRUST_PROXY` is on.
    pub fn from_parts(state: &AppState, headers: &HeaderMap, ext: &axum::http::Extensions) -> Self {
        let peer = ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        let forwarded = state
            .config()
            .auth
            .trust_proxy
            .then(|| {
                headers
                    .get_all("x-forwarded-for")
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .flat_map(|v| v.split(','))
                    .filter_map(|s| s.trim().parse::<IpAddr>().ok())
                    .next_back()
            })
            .flatten();
        let ip = forwarded.or(peer).map(|ip| match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        });
        let user_agent = headers
            .get(USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(512).collect());
        Self { ip, user_agent }
    }
}

impl axum::extract::FromRequestParts<AppState> for ClientInfo {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self::from_parts(state, &parts.headers, &parts.extensions))
    }
}

fn random_token() -> AppResult<String> {
    let mut buf = [0u8; 32];
    getrandom::fill(&mut buf).map_err(|e| AppError::internal(format!("random source: {e}")))?;
    Ok(hex(&buf))
}

/// Reads one cookie from the `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Creates a session for `user_id` and returns its tokens.
pub async fn create(
    state: &AppState,
    user_id: Uuid,
    client: &ClientInfo,
) -> AppResult<IssuedTokens> {
    let now = state.now();
    let a = &state.config().auth;
    let tokens = IssuedTokens {
        session_id: Uuid::new_v4(),
        token: random_token()?,
        refresh_token: random_token()?,
        csrf_token: random_token()?,
        access_expires_at: now + a.access_lifetime,
        expires_at: now + a.session_lifetime,
    };
    const SQL: &str = "INSERT INTO user_sessions (id, user_id, token_hash, refresh_token_hash, csrf_hash, \
        ip_address, user_agent, created_at, last_activity, access_expires_at, expires_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10)";
    with_db!(state.db(), p => sqlx::query(SQL)
        .bind(tokens.session_id)
        .bind(user_id)
        .bind(hash_secret(&tokens.token))
        .bind(hash_secret(&tokens.refresh_token))
        .bind(hash_secret(&tokens.csrf_token))
        .bind(client.ip.map(|i| i.to_string()))
        .bind(client.user_agent.as_deref())
        .bind(now)
        .bind(tokens.access_expires_at)
        .bind(tokens.expires_at)
        .execute(p)
        .await.map(|_| ()))?;
    Ok(tokens)
}

struct SessionRow {
    id: Uuid,
    csrf_hash: String,
    last_activity: DateTime<Utc>,
    access_expires_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
    user: SessionUser,
}

impl SessionRow {
    /// Whether the session itself (not the access token) is still alive.
    fn alive(&self, now: DateTime<Utc>, inactivity: Duration) -> bool {
        self.revoked_at.is_none()
            && now < self.expires_at
            && now - self.last_activity < inactivity
            && self.user.is_active
    }
}

async fn find_by(
    state: &AppState,
    column_is_refresh: bool,
    token: &str,
) -> AppResult<Option<SessionRow>> {
    const BY_TOKEN: &str = "SELECT s.id, s.csrf_hash, s.last_activity, s.access_expires_at, s.expires_at, \
        s.revoked_at, u.id, u.username, u.email, u.first_name, u.last_name, u.role, u.is_active, \
        u.tfa_enabled FROM user_sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1";
    const BY_REFRESH: &str = "SELECT s.id, s.csrf_hash, s.last_activity, s.access_expires_at, s.expires_at, \
        s.revoked_at, u.id, u.username, u.email, u.first_name, u.last_name, u.role, u.is_active, \
        u.tfa_enabled FROM user_sessions s JOIN users u ON u.id = s.user_id WHERE s.refresh_token_hash = $1";
    let sql = if column_is_refresh {
        BY_REFRESH
    } else {
        BY_TOKEN
    };
    let h = hash_secret(token);
    Ok(
        with_db!(state.db(), p => sqlx::query(sql).bind(&h).fetch_optional(p).await
        .and_then(|r| r.map(decode_session_row).transpose()))?,
    )
}

/// Column positions of the query above (the two `id` columns clash by name).
fn decode_session_row<R>(row: R) -> Result<SessionRow, sqlx::Error>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    for<'a> Uuid: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<String>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> bool: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> DateTime<Utc>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<DateTime<Utc>>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    Ok(SessionRow {
        id: row.try_get(0)?,
        csrf_hash: row.try_get(1)?,
        last_activity: row.try_get(2)?,
        access_expires_at: row.try_get(3)?,
        expires_at: row.try_get(4)?,
        revoked_at: row.try_get(5)?,
        user: SessionUser {
            id: row.try_get(6)?,
            username: row.try_get(7)?,
            email: row.try_get(8)?,
            first_name: row.try_get(9)?,
            last_name: row.try_get(10)?,
            role: row.try_get(11)?,
            is_active: row.try_get(12)?,
            tfa_enabled: row.try_get(13)?,
        },
    })
}

const INVALID: &str = "Invalid or expired session";

/// Authenticates a request: Bearer token first, else the session cookie (in
/// which case a state-changing method must carry the CSRF header).
pub async fn authenticate(
    state: &AppState,
    method: &Method,
    headers: &HeaderMap,
) -> AppResult<AuthedSession> {
    let (token, via_cookie) = match bearer(headers) {
        Some(t) => (t, false),
        None => match cookie(headers, SESSION_COOKIE) {
            Some(t) => (t, true),
            None => return Err(AppError::Unauthorized("Authentication required")),
        },
    };
    if token.len() > 256 {
        return Err(AppError::Unauthorized(INVALID));
    }
    let now = state.now();
    let Some(row) = find_by(state, false, token).await? else {
        return Err(AppError::Unauthorized(INVALID));
    };
    if !row.alive(now, state.config().auth.inactivity_timeout) || now >= row.access_expires_at {
        return Err(AppError::Unauthorized(INVALID));
    }
    let safe = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    if via_cookie && !safe {
        let presented = headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let ok: bool = !presented.is_empty()
            && hash_secret(presented)
                .as_bytes()
                .ct_eq(row.csrf_hash.as_bytes())
                .into();
        if !ok {
            return Err(AppError::Forbidden("Invalid or missing CSRF token".into()));
        }
    }
    if (now - row.last_activity).num_seconds() >= TOUCH_EVERY_SECS {
        touch(state, row.id, now).await?;
    }
    Ok(AuthedSession {
        session_id: row.id,
        user: row.user,
        via_cookie,
    })
}

/// Records activity on a session now.
pub async fn touch(state: &AppState, session_id: Uuid, now: DateTime<Utc>) -> AppResult<()> {
    const SQL: &str = "UPDATE user_sessions SET last_activity = $2 WHERE id = $1";
    with_db!(state.db(), p => sqlx::query(SQL).bind(session_id).bind(now).execute(p).await.map(|_| ()))?;
    Ok(())
}

/// Swaps a refresh token for new tokens on the same session. The old access
/// and refresh tokens stop working; the absolute expiry does not move.
pub async fn refresh(
    state: &AppState,
    refresh_token: &str,
) -> AppResult<(IssuedTokens, SessionUser)> {
    let now = state.now();
    if refresh_token.len() > 256 {
        return Err(AppError::Unauthorized(INVALID));
    }
    let Some(row) = find_by(state, true, refresh_token).await? else {
        return Err(AppError::Unauthorized(INVALID));
    };
    if !row.alive(now, state.config().auth.inactivity_timeout) {
        return Err(AppError::Unauthorized(INVALID));
    }
    let tokens = IssuedTokens {
        session_id: row.id,
        token: random_token()?,
        refresh_token: random_token()?,
        csrf_token: random_token()?,
        access_expires_at: (now + state.config().auth.access_lifetime).min(row.expires_at),
        expires_at: row.expires_at,
    };
    // Matching on the old refresh hash makes a concurrent second use fail.
    const SQL: &str = "UPDATE user_sessions SET token_hash = $2, refresh_token_hash = $3, csrf_hash = $4, \
        access_expires_at = $5, last_activity = $6 WHERE id = $1 AND refresh_token_hash = $7 AND revoked_at IS NULL";
    let res = with_db!(state.db(), p => sqlx::query(SQL)
        .bind(row.id)
        .bind(hash_secret(&tokens.token))
        .bind(hash_secret(&tokens.refresh_token))
        .bind(hash_secret(&tokens.csrf_token))
        .bind(tokens.access_expires_at)
        .bind(now)
        .bind(hash_secret(refresh_token))
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?;
    if res != 1 {
        return Err(AppError::Unauthorized(INVALID));
    }
    Ok((tokens, row.user))
}

/// Revokes one session of a user; false when there is no such live session.
pub async fn revoke(state: &AppState, user_id: Uuid, session_id: Uuid) -> AppResult<bool> {
    const SQL: &str = "UPDATE user_sessions SET revoked_at = $3 WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL";
    let n = with_db!(state.db(), p => sqlx::query(SQL).bind(session_id).bind(user_id).bind(state.now())
        .execute(p).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Revokes every session of a user except `keep`; returns how many.
pub async fn revoke_all(state: &AppState, user_id: Uuid, keep: Option<Uuid>) -> AppResult<u64> {
    const SQL: &str = "UPDATE user_sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL \
        AND ($3 IS NULL OR id <> $3)";
    const SQL_PG: &str = "UPDATE user_sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL \
        AND ($3::uuid IS NULL OR id <> $3)";
    let sql = if state.db().is_postgres() {
        SQL_PG
    } else {
        SQL
    };
    Ok(
        with_db!(state.db(), p => sqlx::query(sql).bind(user_id).bind(state.now()).bind(keep)
        .execute(p).await.map(|r| r.rows_affected()))?,
    )
}

/// A user's session as listed to them.
#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[schema(as = Session)]
pub struct SessionInfo {
    pub id: Uuid,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_activity: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    #[sqlx(skip)]
    pub is_current: bool,
}

/// The user's live sessions, most recently used first.
pub async fn list(state: &AppState, user_id: Uuid, current: Uuid) -> AppResult<Vec<SessionInfo>> {
    const SQL: &str = "SELECT id, ip_address, user_agent, created_at, last_activity, expires_at \
        FROM user_sessions WHERE user_id = $1 AND revoked_at IS NULL";
    let mut rows: Vec<SessionInfo> =
        with_db!(state.db(), p => sqlx::query_as(SQL).bind(user_id).fetch_all(p).await)?;
    let now = state.now();
    let inactivity = state.config().auth.inactivity_timeout;
    rows.retain(|s| now < s.expires_at && now - s.last_activity < inactivity);
    for s in &mut rows {
        s.is_current = s.id == current;
    }
    rows.sort_by_key(|s| std::cmp::Reverse(s.last_activity));
    Ok(rows)
}

/// `Set-Cookie` values for a new or refreshed session.
pub fn set_cookies(state: &AppState, t: &IssuedTokens) -> Vec<HeaderValue> {
    let secure = if state.config().server_protocol == "https" {
        "; Secure"
    } else {
        ""
    };
    let max_age = (t.expires_at - state.now()).num_seconds().max(0);
    [
        format!("{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}", t.token),
        format!(
            "{REFRESH_COOKIE}={}; Path=/api/v1/auth; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}",
            t.refresh_token
        ),
        // Readable by the web app, which echoes it in X-CSRF-Token.
        format!("{CSRF_COOKIE}={}; Path=/; SameSite=Lax; Max-Age={max_age}{secure}", t.csrf_token),
    ]
    .into_iter()
    .filter_map(|c| HeaderValue::from_str(&c).ok())
    .collect()
}

/// `Set-Cookie` values that delete the session cookies.
pub fn clear_cookies() -> Vec<HeaderValue> {
    [
        format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
        format!("{REFRESH_COOKIE}=; Path=/api/v1/auth; HttpOnly; SameSite=Strict; Max-Age=0"),
        format!("{CSRF_COOKIE}=; Path=/; SameSite=Lax; Max-Age=0"),
    ]
    .into_iter()
    .filter_map(|c| HeaderValue::from_str(&c).ok())
    .collect()
}
