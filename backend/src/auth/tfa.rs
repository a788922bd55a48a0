//! TOTP two-factor authentication: enrolment (otpauth URI; the browser draws
//! the QR code), verification at login through a short-lived ticket, 10
//! single-use backup codes stored hashed, "remember this device", and a TFA
//! lockout (`MAX_TFA_ATTEMPTS`, `TFA_LOCKOUT_DURATION_MINUTES`).

use axum::Json;
use axum::extract::State;
use axum::http::HeaderValue;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use totp_rs::{Algorithm, Builder, Secret, Totp};
use uuid::Uuid;

use super::audit::{self, Event};
use super::session::{ClientInfo, SessionUser};
use super::{clear_failures, complete_login, locked_error, locked_until, password, record_failure};
use crate::error::{AppError, AppResult};
use crate::extract::{AppJson, AppPath};
use crate::hosts::credentials::{hash_secret, hex};
use crate::rbac::{Access, ApiRouter, CurrentUser};
use crate::state::AppState;
use crate::with_db;

pub const DEVICE_COOKIE: &str = "patchmon_trusted_device";
/// How long the password step stays valid while the user finds their code.
const TICKET_MINUTES: i64 = 5;
pub const BACKUP_CODE_COUNT: usize = 10;
const ISSUER: &str = "PatchMon";

pub fn routes(api: ApiRouter) -> ApiRouter {
    use Access::{Authenticated, Public};
    api.post("/api/v1/auth/verify-tfa", Public, verify_tfa)
        .get("/api/v1/auth/trusted-devices", Authenticated, list_devices)
        .delete(
            "/api/v1/auth/trusted-devices",
            Authenticated,
            revoke_all_devices,
        )
        .delete(
            "/api/v1/auth/trusted-devices/{device_id}",
            Authenticated,
            revoke_device,
        )
        .get("/api/v1/tfa/status", Authenticated, status)
        .get("/api/v1/tfa/setup", Authenticated, setup)
        .post("/api/v1/tfa/verify-setup", Authenticated, verify_setup)
        .post("/api/v1/tfa/disable", Authenticated, disable)
        .post(
            "/api/v1/tfa/regenerate-backup-codes",
            Authenticated,
            regenerate_backup_codes,
        )
}

fn random_bytes<const N: usize>() -> AppResult<[u8; N]> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| AppError::internal(format!("random source: {e}")))?;
    Ok(b)
}

fn totp(secret_b32: &str, account: &str) -> AppResult<Totp> {
    let secret = Secret::try_from_base32(secret_b32)
        .map_err(|e| AppError::internal(format!("tfa secret: {e:?}")))?;
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(secret)
        .with_account_name(account)
        .with_issuer(Some(ISSUER))
        .build()
        .map_err(|e| AppError::internal(format!("totp: {e:?}")))
}

fn unix(now: DateTime<Utc>) -> u64 {
    u64::try_from(now.timestamp()).unwrap_or(0)
}

/// `xxxxx-xxxxx` from an unambiguous alphabet (~50 bits).
fn new_backup_code() -> AppResult<String> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let bytes = random_bytes::<10>()?;
    let chars: String = bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect();
    Ok(format!("{}-{}", &chars[..5], &chars[5..]))
}

fn normalise_code(c: &str) -> String {
    c.chars()
        .filter(|ch| !ch.is_whitespace() && *ch != '-')
        .collect::<String>()
        .to_lowercase()
}

/// Replaces the user's backup codes with 10 new ones; returns them (shown once).
async fn new_backup_codes(state: &AppState, user_id: Uuid) -> AppResult<Vec<String>> {
    let codes = (0..BACKUP_CODE_COUNT)
        .map(|_| new_backup_code())
        .collect::<AppResult<Vec<_>>>()?;
    let now = state.now();
    let _guard = state.db().write_guard().await;
    with_db!(state.db(), p => async {
        let mut tx = p.begin().await?;
        sqlx::query("DELETE FROM user_tfa_backup_codes WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
        for c in &codes {
            sqlx::query("INSERT INTO user_tfa_backup_codes (id, user_id, code_hash, created_at) VALUES ($1, $2, $3, $4)")
                .bind(Uuid::new_v4()).bind(user_id).bind(hash_secret(&normalise_code(c))).bind(now)
                .execute(&mut *tx).await?;
        }
        tx.commit().await
    }.await)?;
    Ok(codes)
}

#[derive(sqlx::FromRow)]
struct TfaState {
    username: String,
    password_hash: Option<String>,
    tfa_enabled: bool,
    tfa_secret: Option<String>,
    tfa_pending_secret: Option<String>,
}

async fn tfa_state(state: &AppState, id: Uuid) -> AppResult<TfaState> {
    const SQL: &str = "SELECT username, password_hash, tfa_enabled, tfa_secret, tfa_pending_secret FROM users WHERE id = $1";
    Ok(with_db!(state.db(), p => sqlx::query_as(SQL).bind(id).fetch_one(p).await)?)
}

/// Checks a TOTP code (with replay protection: a step is accepted once) or a
/// backup code (consumed). Returns which kind matched.
async fn check_code(
    state: &AppState,
    user_id: Uuid,
    username: &str,
    secret: &str,
    code: &str,
) -> AppResult<Option<&'static str>> {
    let code = normalise_code(code);
    if code.len() == 6 && code.chars().all(|c| c.is_ascii_digit()) {
        let Some(step) = totp(secret, username)?.check(&code, unix(state.now())) else {
            return Ok(None);
        };
        let step = i64::try_from(step).unwrap_or(i64::MAX);
        const SQL: &str = "UPDATE users SET tfa_last_step = $2 WHERE id = $1 AND (tfa_last_step IS NULL OR tfa_last_step < $2)";
        let n = with_db!(state.db(), p => sqlx::query(SQL).bind(user_id).bind(step).execute(p).await.map(|r| r.rows_affected()))?;
        return Ok((n == 1).then_some("totp"));
    }
    if code.is_empty() || code.len() > 64 {
        return Ok(None);
    }
    const SQL: &str = "UPDATE user_tfa_backup_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL";
    let n = with_db!(state.db(), p => sqlx::query(SQL).bind(user_id).bind(hash_secret(&code)).bind(state.now())
        .execute(p).await.map(|r| r.rows_affected()))?;
    Ok((n >= 1).then_some("backup_code"))
}

// ---------------------------------------------------------------- login step

/// Answers a correct password on a TFA account: no session yet, a ticket instead.
pub async fn challenge(
    state: &AppState,
    client: &ClientInfo,
    su: &SessionUser,
) -> AppResult<Response> {
    let ticket = hex(&random_bytes::<32>()?);
    let now = state.now();
    const SQL: &str = "INSERT INTO tfa_tickets (ticket_hash, user_id, remember_ok, created_at, expires_at) \
        VALUES ($1, $2, TRUE, $3, $4)";
    with_db!(state.db(), p => sqlx::query(SQL).bind(hash_secret(&ticket)).bind(su.id).bind(now)
        .bind(now + Duration::minutes(TICKET_MINUTES)).execute(p).await.map(|_| ()))?;
    audit::record(
        state,
        client,
        Event {
            event: "tfa_challenge",
            success: true,
            user_id: Some(su.id),
            username: Some(&su.username),
            ..Default::default()
        },
    )
    .await;
    Ok(Json(super::LoginNeedsTfa {
        message: "TFA verification required".into(),
        requires_tfa: true,
        tfa_ticket: ticket,
        username: su.username.clone(),
        expires_in: TICKET_MINUTES * 60,
    })
    .into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
struct VerifyTfaBody {
    #[schema(required = true)]
    #[serde(alias = "tfaTicket", alias = "ticket", default)]
    tfa_ticket: String,
    #[schema(required = true)]
    #[serde(alias = "code", default)]
    token: String,
    #[serde(alias = "rememberMe", default)]
    remember_me: bool,
}

#[utoipa::path(
    post,
    path = "/api/v1/auth/verify-tfa",
    tag = "Two-factor authentication",
    request_body = VerifyTfaBody,
    responses(
        (status = 200, description = "Success", body = super::LoginSuccess),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn verify_tfa(
    State(state): State<AppState>,
    client: ClientInfo,
    AppJson(b): AppJson<VerifyTfaBody>,
) -> AppResult<Response> {
    if b.tfa_ticket.is_empty() || b.token.trim().is_empty() {
        return Err(AppError::BadRequest(
            "tfa_ticket and token are required".into(),
        ));
    }
    let now = state.now();
    const FIND: &str = "SELECT user_id, expires_at FROM tfa_tickets WHERE ticket_hash = $1";
    let row: Option<(Uuid, DateTime<Utc>)> = with_db!(state.db(), p =>
        sqlx::query_as(FIND).bind(hash_secret(&b.tfa_ticket)).fetch_optional(p).await)?;
    let Some((user_id, expires_at)) = row.filter(|(_, exp)| *exp > now) else {
        return Err(AppError::Unauthorized(
            "TFA session expired, please log in again",
        ));
    };
    let _ = expires_at;
    let a = &state.config().auth;
    let key = format!("tfa:{user_id}");
    if let Some(until) = locked_until(&state, &key, now).await? {
        return Err(locked_error(until, now));
    }
    let t = tfa_state(&state, user_id).await?;
    let secret = t
        .tfa_secret
        .filter(|_| t.tfa_enabled)
        .ok_or(AppError::Unauthorized(
            "TFA session expired, please log in again",
        ))?;
    let Some(kind) = check_code(&state, user_id, &t.username, &secret, &b.token).await? else {
        let (count, locked) = record_failure(
            &state,
            &key,
            now,
            a.max_tfa_attempts,
            a.tfa_lockout_duration,
        )
        .await?;
        audit::record(
            &state,
            &client,
            Event {
                event: "tfa_failed",
                success: false,
                user_id: Some(user_id),
                username: Some(&t.username),
                ..Default::default()
            },
        )
        .await;
        if locked.is_some() || count >= i64::from(a.tfa_suspicious_threshold) {
            audit::record(
                &state,
                &client,
                Event {
                    event: if locked.is_some() {
                        "tfa_locked"
                    } else {
                        "tfa_suspicious_activity"
                    },
                    success: false,
                    user_id: Some(user_id),
                    username: Some(&t.username),
                    ..Default::default()
                },
            )
            .await;
        }
        if locked.is_some() {
            // The ticket dies with the lock; the password step must be repeated.
            with_db!(state.db(), p => sqlx::query("DELETE FROM tfa_tickets WHERE user_id = $1").bind(user_id).execute(p).await.map(|_| ()))?;
        }
        return Err(AppError::BadRequest("Invalid verification code".into()));
    };
    // Single use: only the request that deletes the ticket proceeds.
    let n = with_db!(state.db(), p => sqlx::query("DELETE FROM tfa_tickets WHERE ticket_hash = $1")
        .bind(hash_secret(&b.tfa_ticket)).execute(p).await.map(|r| r.rows_affected()))?;
    if n != 1 {
        return Err(AppError::Unauthorized(
            "TFA session expired, please log in again",
        ));
    }
    clear_failures(&state, &key).await?;
    audit::record(
        &state,
        &client,
        Event {
            event: "tfa_verified",
            success: true,
            user_id: Some(user_id),
            username: Some(&t.username),
            details: Some(json!({ "method": kind })),
            ..Default::default()
        },
    )
    .await;
    let su = load_session_user(&state, user_id).await?;
    let mut res = complete_login(&state, &client, &su, "Login successful").await?;
    if b.remember_me && a.tfa_max_remember_sessions > 0 {
        let token = remember_device(&state, &client, user_id).await?;
        let secure = if state.config().server_protocol == "https" {
            "; Secure"
        } else {
            ""
        };
        let cookie = format!(
            "{DEVICE_COOKIE}={token}; Path=/api/v1/auth; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
            a.tfa_remember_lifetime.num_seconds()
        );
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            res.headers_mut().append(SET_COOKIE, v);
        }
        // API clients keep the token themselves and send it as `trusted_device_token`.
        res = add_field(res, "trusted_device_token", json!(token)).await;
    }
    Ok(res)
}

async fn add_field(res: Response, key: &str, value: Value) -> Response {
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 1 << 20).await else {
        return AppError::internal("response body").into_response();
    };
    let mut v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    v[key] = value;
    let body = serde_json::to_vec(&v).unwrap_or_default();
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(body))
}

async fn load_session_user(state: &AppState, id: Uuid) -> AppResult<SessionUser> {
    const SQL: &str = "SELECT id, username, email, first_name, last_name, role, is_active, tfa_enabled FROM users WHERE id = $1";
    let u: SessionUser =
        with_db!(state.db(), p => sqlx::query_as(SQL).bind(id).fetch_one(p).await)?;
    if !u.is_active {
        return Err(AppError::Unauthorized("Invalid credentials"));
    }
    Ok(u)
}

// ---------------------------------------------------------------- trusted devices

async fn remember_device(
    state: &AppState,
    client: &ClientInfo,
    user_id: Uuid,
) -> AppResult<String> {
    let token = hex(&random_bytes::<32>()?);
    let now = state.now();
    let a = &state.config().auth;
    const SQL: &str = "INSERT INTO user_trusted_devices (id, user_id, token_hash, user_agent, ip_address, created_at, expires_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7)";
    with_db!(state.db(), p => sqlx::query(SQL).bind(Uuid::new_v4()).bind(user_id).bind(hash_secret(&token))
        .bind(client.user_agent.as_deref()).bind(client.ip.map(|i| i.to_string())).bind(now)
        .bind(now + a.tfa_remember_lifetime).execute(p).await.map(|_| ()))?;
    // Keep only the newest TFA_MAX_REMEMBER_SESSIONS devices.
    let mut devices = devices(state, user_id).await?;
    devices.sort_by_key(|d| std::cmp::Reverse(d.created_at));
    for old in devices.iter().skip(a.tfa_max_remember_sessions as usize) {
        with_db!(state.db(), p => sqlx::query("DELETE FROM user_trusted_devices WHERE id = $1").bind(old.id)
            .execute(p).await.map(|_| ()))?;
    }
    Ok(token)
}

/// Whether `token` is a live remembered device of this user (and records its use).
pub async fn device_is_trusted(
    state: &AppState,
    user_id: Uuid,
    token: Option<&str>,
) -> AppResult<bool> {
    let Some(token) = token.filter(|t| t.len() <= 256) else {
        return Ok(false);
    };
    let now = state.now();
    const SQL: &str =
        "SELECT id, expires_at FROM user_trusted_devices WHERE token_hash = $1 AND user_id = $2";
    let row: Option<(Uuid, DateTime<Utc>)> = with_db!(state.db(), p =>
        sqlx::query_as(SQL).bind(hash_secret(token)).bind(user_id).fetch_optional(p).await)?;
    match row {
        Some((id, exp)) if exp > now => {
            with_db!(state.db(), p => sqlx::query("UPDATE user_trusted_devices SET last_used_at = $2 WHERE id = $1")
                .bind(id).bind(now).execute(p).await.map(|_| ()))?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

#[derive(Serialize, utoipa::ToSchema)]
struct DeviceList {
    devices: Vec<Device>,
}

/// `DELETE /auth/trusted-devices`: how many devices were forgotten.
#[derive(Serialize, utoipa::ToSchema)]
struct DevicesRemoved {
    message: String,
    removed: u64,
}

#[derive(Serialize, utoipa::ToSchema)]
struct TfaStatus {
    enabled: bool,
    #[serde(rename = "backupCodesRemaining")]
    #[schema(rename = "backupCodesRemaining")]
    backup_codes_remaining: i64,
}

/// A new TOTP secret, pending confirmation with a code.
#[derive(Serialize, utoipa::ToSchema)]
struct TfaSetup {
    secret: String,
    /// `otpauth://` URI for the QR code.
    otpauth_url: String,
    issuer: String,
}

/// Backup codes, shown once.
#[derive(Serialize, utoipa::ToSchema)]
struct BackupCodes {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    message: Option<String>,
    #[serde(rename = "backupCodes")]
    #[schema(rename = "backupCodes")]
    backup_codes: Vec<String>,
}

/// A device that may skip the second factor until `expires_at`.
#[derive(Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[schema(as = TrustedDevice)]
struct Device {
    id: Uuid,
    user_agent: Option<String>,
    ip_address: Option<String>,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    expires_at: DateTime<Utc>,
}

async fn devices(state: &AppState, user_id: Uuid) -> AppResult<Vec<Device>> {
    const SQL: &str = "SELECT id, user_agent, ip_address, created_at, last_used_at, expires_at \
        FROM user_trusted_devices WHERE user_id = $1";
    let mut d: Vec<Device> =
        with_db!(state.db(), p => sqlx::query_as(SQL).bind(user_id).fetch_all(p).await)?;
    let now = state.now();
    d.retain(|d| d.expires_at > now);
    d.sort_by_key(|d| std::cmp::Reverse(d.created_at));
    Ok(d)
}

#[utoipa::path(
    get,
    path = "/api/v1/auth/trusted-devices",
    tag = "Two-factor authentication",
    responses(
        (status = 200, description = "Success", body = DeviceList),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn list_devices(
    State(state): State<AppState>,
    me: CurrentUser,
) -> AppResult<Json<DeviceList>> {
    Ok(Json(DeviceList {
        devices: devices(&state, me.id()).await?,
    }))
}

#[utoipa::path(
    delete,
    path = "/api/v1/auth/trusted-devices/{device_id}",
    tag = "Two-factor authentication",
    params(("device_id" = String, Path, description = "device id")),
    responses(
        (status = 200, description = "Success", body = crate::openapi::Message),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn revoke_device(
    State(state): State<AppState>,
    me: CurrentUser,
    AppPath(id): AppPath<Uuid>,
) -> AppResult<Json<crate::openapi::Message>> {
    let n = with_db!(state.db(), p => sqlx::query("DELETE FROM user_trusted_devices WHERE id = $1 AND user_id = $2")
        .bind(id).bind(me.id()).execute(p).await.map(|r| r.rows_affected()))?;
    if n == 0 {
        return Err(AppError::NotFound("Trusted device not found".into()));
    }
    Ok(crate::openapi::Message::new("Trusted device removed"))
}

#[utoipa::path(
    delete,
    path = "/api/v1/auth/trusted-devices",
    tag = "Two-factor authentication",
    responses(
        (status = 200, description = "Success", body = DevicesRemoved),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn revoke_all_devices(
    State(state): State<AppState>,
    me: CurrentUser,
) -> AppResult<Json<DevicesRemoved>> {
    let n = with_db!(state.db(), p => sqlx::query("DELETE FROM user_trusted_devices WHERE user_id = $1")
        .bind(me.id()).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(Json(DevicesRemoved {
        message: "Trusted devices removed".into(),
        removed: n,
    }))
}

// ---------------------------------------------------------------- enrolment

#[utoipa::path(
    get,
    path = "/api/v1/tfa/status",
    tag = "Two-factor authentication",
    responses(
        (status = 200, description = "Success", body = TfaStatus),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn status(State(state): State<AppState>, me: CurrentUser) -> AppResult<Json<TfaStatus>> {
    let t = tfa_state(&state, me.id()).await?;
    const SQL: &str =
        "SELECT COUNT(*) FROM user_tfa_backup_codes WHERE user_id = $1 AND used_at IS NULL";
    let remaining: i64 =
        with_db!(state.db(), p => sqlx::query_scalar(SQL).bind(me.id()).fetch_one(p).await)?;
    Ok(Json(TfaStatus {
        enabled: t.tfa_enabled,
        backup_codes_remaining: remaining,
    }))
}

/// Starts enrolment: a new secret, pending until a code from it is verified.
#[utoipa::path(
    get,
    path = "/api/v1/tfa/setup",
    tag = "Two-factor authentication",
    responses(
        (status = 200, description = "Success", body = TfaSetup),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn setup(
    State(state): State<AppState>,
    me: CurrentUser,
    client: ClientInfo,
) -> AppResult<Json<TfaSetup>> {
    let t = tfa_state(&state, me.id()).await?;
    if t.tfa_enabled {
        return Err(AppError::BadRequest(
            "Two-factor authentication is already enabled".into(),
        ));
    }
    let secret = Secret::from(random_bytes::<20>()?).to_base32();
    let url = totp(&secret, &t.username)?
        .to_url()
        .map_err(|e| AppError::internal(format!("otpauth: {e:?}")))?;
    with_db!(state.db(), p => sqlx::query("UPDATE users SET tfa_pending_secret = $2 WHERE id = $1")
        .bind(me.id()).bind(&secret).execute(p).await.map(|_| ()))?;
    audit::record(
        &state,
        &client,
        Event {
            event: "tfa_setup_started",
            success: true,
            user_id: Some(me.id()),
            username: Some(&t.username),
            ..Default::default()
        },
    )
    .await;
    Ok(Json(TfaSetup {
        secret,
        otpauth_url: url,
        issuer: ISSUER.into(),
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = TfaCodeBody)]
struct CodeBody {
    #[serde(alias = "code", default)]
    token: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/tfa/verify-setup",
    tag = "Two-factor authentication",
    request_body = CodeBody,
    responses(
        (status = 200, description = "Success", body = BackupCodes),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn verify_setup(
    State(state): State<AppState>,
    me: CurrentUser,
    client: ClientInfo,
    AppJson(b): AppJson<CodeBody>,
) -> AppResult<Json<BackupCodes>> {
    let t = tfa_state(&state, me.id()).await?;
    if t.tfa_enabled {
        return Err(AppError::BadRequest(
            "Two-factor authentication is already enabled".into(),
        ));
    }
    let Some(secret) = t.tfa_pending_secret else {
        return Err(AppError::BadRequest("Start the setup first".into()));
    };
    let code = normalise_code(&b.token);
    let step = totp(&secret, &t.username)?
        .check(&code, unix(state.now()))
        .ok_or_else(|| AppError::BadRequest("Invalid verification code".into()))?;
    const SQL: &str = "UPDATE users SET tfa_enabled = TRUE, tfa_secret = tfa_pending_secret, tfa_pending_secret = NULL, \
        tfa_last_step = $2, updated_at = $3 WHERE id = $1";
    with_db!(state.db(), p => sqlx::query(SQL).bind(me.id()).bind(i64::try_from(step).unwrap_or(i64::MAX))
        .bind(state.now()).execute(p).await.map(|_| ()))?;
    let codes = new_backup_codes(&state, me.id()).await?;
    audit::record(
        &state,
        &client,
        Event {
            event: "tfa_enabled",
            success: true,
            user_id: Some(me.id()),
            username: Some(&t.username),
            ..Default::default()
        },
    )
    .await;
    Ok(Json(BackupCodes {
        message: Some("Two-factor authentication enabled".into()),
        backup_codes: codes,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = TfaPasswordBody)]
struct PasswordBody {
    #[serde(default)]
    password: String,
}

/// Password re-check for TFA changes. A wrong password is a 400 (the session is fine).
async fn confirm_password(t: &TfaState, pw: &str) -> AppResult<()> {
    if pw.is_empty() {
        return Err(AppError::BadRequest("Password is required".into()));
    }
    if !password::verify(pw, t.password_hash.as_deref()).await {
        return Err(AppError::BadRequest("Password is incorrect".into()));
    }
    Ok(())
}

#[utoipa::path(
    post,
    path = "/api/v1/tfa/disable",
    tag = "Two-factor authentication",
    request_body = PasswordBody,
    responses(
        (status = 200, description = "Success", body = crate::openapi::Message),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn disable(
    State(state): State<AppState>,
    me: CurrentUser,
    client: ClientInfo,
    AppJson(b): AppJson<PasswordBody>,
) -> AppResult<Json<crate::openapi::Message>> {
    let t = tfa_state(&state, me.id()).await?;
    confirm_password(&t, &b.password).await?;
    if !t.tfa_enabled {
        return Err(AppError::BadRequest(
            "Two-factor authentication is not enabled".into(),
        ));
    }
    let id = me.id();
    let now = state.now();
    let _guard = state.db().write_guard().await;
    with_db!(state.db(), p => async {
        let mut tx = p.begin().await?;
        sqlx::query("UPDATE users SET tfa_enabled = FALSE, tfa_secret = NULL, tfa_pending_secret = NULL, \
            tfa_last_step = NULL, updated_at = $2 WHERE id = $1").bind(id).bind(now).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM user_tfa_backup_codes WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM user_trusted_devices WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM tfa_tickets WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
        tx.commit().await
    }.await)?;
    audit::record(
        &state,
        &client,
        Event {
            event: "tfa_disabled",
            success: true,
            user_id: Some(id),
            username: Some(&t.username),
            ..Default::default()
        },
    )
    .await;
    Ok(Json(crate::openapi::Message {
        message: "Two-factor authentication disabled".into(),
    }))
}

#[utoipa::path(
    post,
    path = "/api/v1/tfa/regenerate-backup-codes",
    tag = "Two-factor authentication",
    request_body = PasswordBody,
    responses(
        (status = 200, description = "Success", body = BackupCodes),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn regenerate_backup_codes(
    State(state): State<AppState>,
    me: CurrentUser,
    client: ClientInfo,
    AppJson(b): AppJson<PasswordBody>,
) -> AppResult<Json<BackupCodes>> {
    let t = tfa_state(&state, me.id()).await?;
    confirm_password(&t, &b.password).await?;
    if !t.tfa_enabled {
        return Err(AppError::BadRequest(
            "Two-factor authentication is not enabled".into(),
        ));
    }
    let codes = new_backup_codes(&state, me.id()).await?;
    audit::record(
        &state,
        &client,
        Event {
            event: "tfa_backup_codes_regenerated",
            success: true,
            user_id: Some(me.id()),
            username: Some(&t.username),
            ..Default::default()
        },
    )
    .await;
    Ok(Json(BackupCodes {
        message: None,
        backup_codes: codes,
    }))
}

/// The OpenAPI description of this module's routes (`crate::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    verify_tfa,
    list_devices,
    revoke_all_devices,
    revoke_device,
    status,
    setup,
    verify_setup,
    disable,
    regenerate_backup_codes
))]
pub(crate) struct Api;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_codes_are_distinct_and_normalised() {
        let a = new_backup_code().unwrap();
        let b = new_backup_code().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 11);
        assert_eq!(normalise_code(&a.to_uppercase()), normalise_code(&a));
        assert_eq!(normalise_code(" 123 456 "), "123456");
    }
}
