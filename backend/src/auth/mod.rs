//! Local authentication: first-run setup, login with lockout, sessions
//! (refresh, logout, heartbeat, list, revoke), profile and password change.
//! Routes are PatchMon's (`/api/v1/auth/…`), registered through
//! [`crate::rbac::ApiRouter`].

pub mod audit;
pub mod config;
pub mod oidc;
pub mod password;
pub mod ratelimit;
pub mod session;
pub mod tfa;

use axum::Json;
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use self::audit::Event;
use self::session::{ClientInfo, IssuedTokens, SessionUser};
use crate::error::{AppError, AppResult};
use crate::extract::{AppJson, AppPath};
use crate::rbac::{Access, ApiRouter, CurrentUser};
use crate::state::AppState;
use crate::users::{self, NewUser};
use crate::with_db;

/// The rolling window of failed login attempts (PatchMon: 15 minutes).
const FAILURE_WINDOW_MINUTES: i64 = 15;
const INVALID_CREDENTIALS: &str = "Invalid credentials";

pub fn routes(api: ApiRouter) -> ApiRouter {
    use Access::{Authenticated, Public};
    api.post("/api/v1/auth/setup-admin", Public, setup_admin)
        .get("/api/v1/auth/check-admin-users", Public, check_admin_users)
        .post("/api/v1/auth/login", Public, login)
        .post("/api/v1/auth/refresh", Public, refresh)
        .post("/api/v1/auth/logout", Authenticated, logout)
        .post("/api/v1/auth/heartbeat", Authenticated, heartbeat)
        .get("/api/v1/auth/profile", Authenticated, profile)
        .put("/api/v1/auth/profile", Authenticated, update_profile)
        .put(
            "/api/v1/auth/change-password",
            Authenticated,
            change_password,
        )
        .get("/api/v1/auth/sessions", Authenticated, list_sessions)
        .delete(
            "/api/v1/auth/sessions",
            Authenticated,
            revoke_other_sessions,
        )
        .delete(
            "/api/v1/auth/sessions/{session_id}",
            Authenticated,
            revoke_session,
        )
}

/// A signed-in session's tokens (also set as cookies).
#[derive(Serialize, utoipa::ToSchema)]
pub struct LoginSuccess {
    pub message: String,
    /// Access token for `Authorization: Bearer`.
    pub token: String,
    pub refresh_token: String,
    /// Seconds until `token` expires.
    pub expires_in: i64,
    /// Send back as `X-CSRF-Token` on state-changing requests made with the cookie.
    pub csrf_token: String,
    pub user: SessionUser,
}

/// A correct password on an account with two-factor sign-in: no session
/// yet; finish at `POST /api/v1/auth/verify-tfa` with the ticket.
#[derive(Serialize, utoipa::ToSchema)]
pub struct LoginNeedsTfa {
    pub message: String,
    #[serde(rename = "requiresTfa")]
    #[schema(rename = "requiresTfa")]
    pub requires_tfa: bool,
    pub tfa_ticket: String,
    pub username: String,
    /// Seconds the ticket stays valid.
    pub expires_in: i64,
}

/// `POST /auth/login` answers one of these.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum LoginAnswer {
    Session(LoginSuccess),
    NeedsTfa(LoginNeedsTfa),
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AdminUsersCheck {
    #[serde(rename = "hasAdminUsers")]
    #[schema(rename = "hasAdminUsers")]
    pub has_admin_users: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Heartbeat {
    pub message: String,
    pub inactivity_timeout_minutes: i64,
}

/// The signed-in user with preferences and the role's permissions.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Profile {
    #[serde(flatten)]
    pub user: users::User,
    #[schema(value_type = Object)]
    pub preferences: Value,
    pub permissions: crate::rbac::RolePermissions,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ProfileAnswer {
    pub user: Profile,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct UserChanged {
    pub message: String,
    pub user: users::User,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SessionList {
    pub sessions: Vec<session::SessionInfo>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Revoked {
    pub message: String,
    pub revoked: u64,
}

/// The login/refresh answer: PatchMon's `{token, refresh_token, expires_in, user}`
/// plus our `csrf_token`, with the session cookies set.
pub(crate) fn token_response(
    state: &AppState,
    message: &str,
    t: &IssuedTokens,
    user: &SessionUser,
) -> Response {
    let body = LoginSuccess {
        message: message.to_owned(),
        token: t.token.clone(),
        refresh_token: t.refresh_token.clone(),
        // Rounded, so a token issued this instant reads as the full JWT_EXPIRES_IN.
        expires_in: ((t.access_expires_at - state.now())
            .num_milliseconds()
            .max(0)
            + 500)
            / 1000,
        csrf_token: t.csrf_token.clone(),
        user: user.clone(),
    };
    let mut headers = HeaderMap::new();
    for c in session::set_cookies(state, t) {
        headers.append(SET_COOKIE, c);
    }
    (headers, Json(body)).into_response()
}

// ---------------------------------------------------------------- setup

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct SetupAdminBody {
    #[serde(alias = "first_name")]
    first_name: Option<String>,
    #[serde(alias = "last_name")]
    last_name: Option<String>,
    #[schema(required = true)]
    #[serde(default)]
    username: String,
    #[schema(required = true)]
    #[serde(default)]
    email: String,
    #[schema(required = true)]
    #[serde(default)]
    password: String,
}

#[utoipa::path(
    get,
    path = "/api/v1/auth/check-admin-users",
    tag = "Sign-in and sessions",
    responses(
        (status = 200, description = "Success", body = AdminUsersCheck),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn check_admin_users(State(state): State<AppState>) -> AppResult<Json<AdminUsersCheck>> {
    let n = users::count(&state).await?;
    Ok(Json(AdminUsersCheck {
        has_admin_users: n > 0,
    }))
}

#[utoipa::path(
    post,
    path = "/api/v1/auth/setup-admin",
    tag = "Sign-in and sessions",
    request_body = SetupAdminBody,
    responses(
        (status = 200, description = "Success", body = LoginSuccess),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn setup_admin(
    State(state): State<AppState>,
    client: ClientInfo,
    AppJson(b): AppJson<SetupAdminBody>,
) -> AppResult<Response> {
    let user = users::create_first_admin(
        &state,
        NewUser {
            username: b.username,
            email: b.email,
            password: b.password,
            first_name: b.first_name,
            last_name: b.last_name,
            role: "superadmin".into(),
            is_active: true,
        },
    )
    .await?;
    audit::record(
        &state,
        &client,
        Event {
            event: "setup_admin",
            success: true,
            user_id: Some(user.id),
            username: Some(&user.username),
            ..Default::default()
        },
    )
    .await;
    let tokens = session::create(&state, user.id, &client).await?;
    let su = SessionUser {
        id: user.id,
        username: user.username,
        email: user.email,
        first_name: user.first_name,
        last_name: user.last_name,
        role: user.role,
        is_active: user.is_active,
        tfa_enabled: user.tfa_enabled,
    };
    let mut r = token_response(&state, "Admin user created successfully", &tokens, &su);
    *r.status_mut() = StatusCode::CREATED;
    Ok(r)
}

// ---------------------------------------------------------------- login

#[derive(Deserialize, utoipa::ToSchema)]
struct LoginBody {
    #[schema(required = true)]
    #[serde(default)]
    username: String,
    #[schema(required = true)]
    #[serde(default)]
    password: String,
    /// A "remember this device" token for API clients (browsers send the cookie).
    #[serde(alias = "trustedDeviceToken")]
    trusted_device_token: Option<String>,
}

#[derive(sqlx::FromRow)]
struct LoginUser {
    id: Uuid,
    username: String,
    email: String,
    first_name: Option<String>,
    last_name: Option<String>,
    role: String,
    is_active: bool,
    tfa_enabled: bool,
    password_hash: Option<String>,
}

/// The active lock on a failure key, if any.
pub(crate) async fn locked_until(
    state: &AppState,
    key: &str,
    now: DateTime<Utc>,
) -> AppResult<Option<DateTime<Utc>>> {
    const SQL: &str = "SELECT locked_until FROM login_failures WHERE key = $1";
    let until: Option<Option<DateTime<Utc>>> =
        with_db!(state.db(), p => sqlx::query_scalar(SQL).bind(key).fetch_optional(p).await)?;
    Ok(until.flatten().filter(|u| *u > now))
}

/// Counts a failure (rolling 15-minute window); returns the count and, when
/// this failure reaches `max`, the end of the lock. The increment is one
/// atomic upsert, so concurrent failures are all counted.
pub(crate) async fn record_failure(
    state: &AppState,
    key: &str,
    now: DateTime<Utc>,
    max: u32,
    lockout: Duration,
) -> AppResult<(i64, Option<DateTime<Utc>>)> {
    let window_cutoff = now - Duration::minutes(FAILURE_WINDOW_MINUTES);
    // (SQLite compares the RFC 3339 text sqlx writes, which sorts chronologically.)
    const COUNT: &str = "INSERT INTO login_failures (key, failures, window_start, locked_until) \
        VALUES ($1, 1, $2, NULL) ON CONFLICT (key) DO UPDATE SET \
        failures = CASE WHEN login_failures.window_start < $3 THEN 1 ELSE login_failures.failures + 1 END, \
        window_start = CASE WHEN login_failures.window_start < $3 THEN $2 ELSE login_failures.window_start END \
        RETURNING failures";
    let failures: i64 = with_db!(state.db(), p => sqlx::query_scalar(COUNT)
        .bind(key).bind(now).bind(window_cutoff).fetch_one(p).await)?;
    if failures < i64::from(max) {
        return Ok((failures, None));
    }
    // A lock starts a fresh count for the time after it.
    let until = now + lockout;
    const LOCK: &str = "UPDATE login_failures SET failures = 0, window_start = $2, locked_until = $3 WHERE key = $1";
    with_db!(state.db(), p => sqlx::query(LOCK).bind(key).bind(now).bind(until)
        .execute(p).await.map(|_| ()))?;
    Ok((failures, Some(until)))
}

pub(crate) async fn clear_failures(state: &AppState, key: &str) -> AppResult<()> {
    with_db!(state.db(), p => sqlx::query("DELETE FROM login_failures WHERE key = $1").bind(key).execute(p).await.map(|_| ()))?;
    Ok(())
}

pub(crate) fn locked_error(until: DateTime<Utc>, now: DateTime<Utc>) -> AppError {
    // Rounded up: PostgreSQL keeps microseconds, so "15 minutes" may read 899.999 s.
    let secs = (((until - now).num_milliseconds() + 999) / 1000).max(1);
    AppError::TooManyRequests {
        message: format!(
            "Too many failed login attempts. Try again in {} minute(s).",
            (secs + 59) / 60
        ),
        retry_after: secs,
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/auth/login",
    tag = "Sign-in and sessions",
    request_body = LoginBody,
    responses(
        (status = 200, description = "Success", body = LoginAnswer),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn login(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    AppJson(b): AppJson<LoginBody>,
) -> AppResult<Response> {
    if oidc::local_login_disabled(&state).await {
        return Err(AppError::Forbidden(
            "Local login is disabled; sign in with single sign-on".into(),
        ));
    }
    let name = b.username.trim().to_lowercase();
    if name.is_empty() || b.password.is_empty() {
        return Err(AppError::BadRequest(
            "Username and password are required".into(),
        ));
    }
    if name.len() > 254 || b.password.len() > password::MAX_PASSWORD_LEN {
        return Err(AppError::Unauthorized(INVALID_CREDENTIALS));
    }
    const SQL: &str = "SELECT id, username, email, first_name, last_name, role, is_active, tfa_enabled, password_hash \
        FROM users WHERE lower(username) = $1 OR lower(email) = $1 ORDER BY (lower(username) = $1) DESC LIMIT 1";
    let user: Option<LoginUser> =
        with_db!(state.db(), p => sqlx::query_as(SQL).bind(&name).fetch_optional(p).await)?;
    // Unknown names are counted and locked like real accounts, so neither
    // the message nor the lockout reveals whether an account exists.
    let key = match &user {
        Some(u) => format!("user:{}", u.id),
        None => format!("name:{name}"),
    };
    let now = state.now();
    if let Some(until) = locked_until(&state, &key, now).await? {
        audit::record(
            &state,
            &client,
            Event {
                event: "login_blocked_locked",
                success: false,
                user_id: user.as_ref().map(|u| u.id),
                username: Some(&name),
                ..Default::default()
            },
        )
        .await;
        return Err(locked_error(until, now));
    }
    let ok = password::verify(
        &b.password,
        user.as_ref().and_then(|u| u.password_hash.as_deref()),
    )
    .await;
    let user = match user {
        Some(u) if ok && u.is_active => u,
        user => {
            let a = &state.config().auth;
            let (_, locked) =
                record_failure(&state, &key, now, a.max_login_attempts, a.lockout_duration).await?;
            audit::record(&state, &client, Event {
                event: "login_failed",
                success: false,
                user_id: user.as_ref().map(|u| u.id),
                username: Some(&name),
                details: Some(json!({ "reason": if user.is_none() { "unknown_user" } else if ok { "disabled" } else { "bad_password" } })),
                ..Default::default()
            })
            .await;
            if let Some(until) = locked {
                audit::record(
                    &state,
                    &client,
                    Event {
                        event: "account_locked",
                        success: false,
                        user_id: user.as_ref().map(|u| u.id),
                        username: Some(&name),
                        details: Some(json!({ "locked_until": until })),
                        ..Default::default()
                    },
                )
                .await;
            }
            return Err(AppError::Unauthorized(INVALID_CREDENTIALS));
        }
    };
    clear_failures(&state, &key).await?;
    let su = SessionUser {
        id: user.id,
        username: user.username,
        email: user.email,
        first_name: user.first_name,
        last_name: user.last_name,
        role: user.role,
        is_active: user.is_active,
        tfa_enabled: user.tfa_enabled,
    };
    if su.tfa_enabled {
        let device = b
            .trusted_device_token
            .clone()
            .filter(|t| !t.is_empty())
            .or_else(|| session::cookie(&headers, tfa::DEVICE_COOKIE).map(str::to_owned));
        if !tfa::device_is_trusted(&state, su.id, device.as_deref()).await? {
            return tfa::challenge(&state, &client, &su).await;
        }
    }
    complete_login(&state, &client, &su, "Login successful").await
}

/// Opens a session for a fully authenticated user and answers like PatchMon's login.
pub(crate) async fn complete_login(
    state: &AppState,
    client: &ClientInfo,
    su: &SessionUser,
    message: &str,
) -> AppResult<Response> {
    let now = state.now();
    with_db!(state.db(), p => sqlx::query("UPDATE users SET last_login = $2 WHERE id = $1")
        .bind(su.id).bind(now).execute(p).await.map(|_| ()))?;
    let tokens = session::create(state, su.id, client).await?;
    audit::record(
        state,
        client,
        Event {
            event: "login_success",
            success: true,
            user_id: Some(su.id),
            username: Some(&su.username),
            ..Default::default()
        },
    )
    .await;
    Ok(token_response(state, message, &tokens, su))
}

// ---------------------------------------------------------------- session endpoints

#[derive(Deserialize, Default, utoipa::ToSchema)]
struct RefreshBody {
    #[serde(alias = "refreshToken")]
    refresh_token: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/auth/refresh",
    tag = "Sign-in and sessions",
    request_body = RefreshBody,
    responses(
        (status = 200, description = "Success", body = LoginSuccess),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn refresh(
    State(state): State<AppState>,
    headers: HeaderMap,
    AppJson(b): AppJson<RefreshBody>,
) -> AppResult<Response> {
    let token = b
        .refresh_token
        .filter(|t| !t.is_empty())
        .or_else(|| session::cookie(&headers, session::REFRESH_COOKIE).map(str::to_owned))
        .ok_or(AppError::Unauthorized("Refresh token required"))?;
    let (tokens, user) = session::refresh(&state, &token).await?;
    Ok(token_response(&state, "Token refreshed", &tokens, &user))
}

#[utoipa::path(
    post,
    path = "/api/v1/auth/logout",
    tag = "Sign-in and sessions",
    responses(
        (status = 200, description = "Success", body = crate::openapi::Message),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn logout(
    State(state): State<AppState>,
    me: CurrentUser,
    client: ClientInfo,
) -> AppResult<Response> {
    session::revoke(&state, me.id(), me.session.session_id).await?;
    audit::record(
        &state,
        &client,
        Event {
            event: "logout",
            success: true,
            user_id: Some(me.id()),
            username: Some(&me.session.user.username),
            ..Default::default()
        },
    )
    .await;
    let mut headers = HeaderMap::new();
    for c in session::clear_cookies() {
        headers.append(SET_COOKIE, c);
    }
    Ok((headers, Json(json!({ "message": "Logout successful" }))).into_response())
}

#[utoipa::path(
    post,
    path = "/api/v1/auth/heartbeat",
    tag = "Sign-in and sessions",
    responses(
        (status = 200, description = "Success", body = Heartbeat),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn heartbeat(State(state): State<AppState>, me: CurrentUser) -> AppResult<Json<Heartbeat>> {
    session::touch(&state, me.session.session_id, state.now()).await?;
    Ok(Json(Heartbeat {
        message: "Session active".into(),
        inactivity_timeout_minutes: state.config().auth.inactivity_timeout.num_minutes(),
    }))
}

#[utoipa::path(
    get,
    path = "/api/v1/auth/profile",
    tag = "Sign-in and sessions",
    responses(
        (status = 200, description = "Success", body = ProfileAnswer),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn profile(State(state): State<AppState>, me: CurrentUser) -> AppResult<Json<ProfileAnswer>> {
    let user = users::get(&state, me.id())
        .await?
        .ok_or(AppError::Unauthorized("Authentication required"))?;
    let prefs: Option<sqlx::types::Json<Value>> = with_db!(state.db(), p =>
        sqlx::query_scalar("SELECT preferences FROM users WHERE id = $1").bind(me.id()).fetch_one(p).await)?;
    Ok(Json(ProfileAnswer {
        user: Profile {
            user,
            preferences: prefs.map_or_else(|| json!({}), |j| j.0),
            permissions: me.permissions.clone(),
        },
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct ProfileBody {
    #[serde(alias = "firstName")]
    first_name: Option<String>,
    #[serde(alias = "lastName")]
    last_name: Option<String>,
    email: Option<String>,
    #[serde(alias = "themePreference")]
    theme_preference: Option<String>,
    #[serde(alias = "colorTheme")]
    color_theme: Option<String>,
    /// Free-form UI preferences (dashboard layout and the like), a JSON object.
    preferences: Option<Value>,
}

#[utoipa::path(
    put,
    path = "/api/v1/auth/profile",
    tag = "Sign-in and sessions",
    request_body = ProfileBody,
    responses(
        (status = 200, description = "Success", body = UserChanged),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn update_profile(
    State(state): State<AppState>,
    me: CurrentUser,
    AppJson(b): AppJson<ProfileBody>,
) -> AppResult<Json<UserChanged>> {
    let current = users::get(&state, me.id())
        .await?
        .ok_or(AppError::Unauthorized("Authentication required"))?;
    let email = match b.email {
        Some(e) => users::validate_email(&e)?,
        None => current.email.clone(),
    };
    let theme = match b.theme_preference {
        Some(t) if ["light", "dark", "system"].contains(&t.as_str()) => t,
        Some(_) => {
            return Err(AppError::BadRequest(
                "theme_preference must be light, dark or system".into(),
            ));
        }
        None => current.theme_preference.clone(),
    };
    let color = match b.color_theme {
        Some(c)
            if !c.is_empty()
                && c.len() <= 32
                && c.chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_') =>
        {
            c
        }
        Some(_) => return Err(AppError::BadRequest("color_theme is invalid".into())),
        None => current.color_theme.clone(),
    };
    if let Some(p) = &b.preferences
        && !p.is_object()
    {
        return Err(AppError::BadRequest(
            "preferences must be a JSON object".into(),
        ));
    }
    let name = |n: Option<String>, cur: Option<String>| match n {
        Some(s) if s.trim().is_empty() => None,
        Some(s) => Some(s.trim().chars().take(100).collect()),
        None => cur,
    };
    let first = name(b.first_name, current.first_name.clone());
    let last = name(b.last_name, current.last_name.clone());
    const SQL: &str = "UPDATE users SET first_name = $2, last_name = $3, email = $4, theme_preference = $5, \
        color_theme = $6, preferences = COALESCE($7, preferences), updated_at = $8 WHERE id = $1";
    with_db!(state.db(), p => sqlx::query(SQL)
        .bind(me.id()).bind(first).bind(last).bind(email).bind(theme).bind(color)
        .bind(b.preferences.map(sqlx::types::Json)).bind(state.now())
        .execute(p).await.map(|_| ()))
    .map_err(|e| match AppError::from(e) {
        AppError::Conflict(_) => AppError::Conflict("Email already in use".into()),
        other => other,
    })?;
    let user = users::get(&state, me.id())
        .await?
        .ok_or(AppError::Unauthorized("Authentication required"))?;
    Ok(Json(UserChanged {
        message: "Profile updated successfully".into(),
        user,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct ChangePasswordBody {
    #[schema(required = true)]
    #[serde(rename = "currentPassword", alias = "current_password", default)]
    current_password: String,
    #[schema(required = true)]
    #[serde(rename = "newPassword", alias = "new_password", default)]
    new_password: String,
}

#[utoipa::path(
    put,
    path = "/api/v1/auth/change-password",
    tag = "Sign-in and sessions",
    request_body = ChangePasswordBody,
    responses(
        (status = 200, description = "Success", body = crate::openapi::Message),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn change_password(
    State(state): State<AppState>,
    me: CurrentUser,
    client: ClientInfo,
    AppJson(b): AppJson<ChangePasswordBody>,
) -> AppResult<Response> {
    let a = &state.config().auth;
    let d = state.limiters().password.check(
        &me.id().to_string(),
        a.password_rate_limit_max,
        a.password_rate_limit_window,
        state.now(),
    );
    if !d.allowed {
        return Err(AppError::TooManyRequests {
            message: "Too many password change attempts. Try again later.".into(),
            retry_after: d.reset_secs,
        });
    }
    if b.current_password.is_empty() || b.new_password.is_empty() {
        return Err(AppError::BadRequest(
            "Current password and new password are required".into(),
        ));
    }
    let stored: Option<String> = with_db!(state.db(), p =>
        sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1").bind(me.id()).fetch_one(p).await)?;
    if !password::verify(&b.current_password, stored.as_deref()).await {
        audit::record(
            &state,
            &client,
            Event {
                event: "password_change_failed",
                success: false,
                user_id: Some(me.id()),
                username: Some(&me.session.user.username),
                ..Default::default()
            },
        )
        .await;
        return Err(AppError::BadRequest("Current password is incorrect".into()));
    }
    password::check_policy(&a.password, &b.new_password)?;
    if b.new_password == b.current_password {
        return Err(AppError::BadRequest(
            "New password must differ from the current one".into(),
        ));
    }
    users::set_password(&state, me.id(), &b.new_password).await?;
    // Other sessions end; this one stays.
    session::revoke_all(&state, me.id(), Some(me.session.session_id)).await?;
    audit::record(
        &state,
        &client,
        Event {
            event: "password_changed",
            success: true,
            user_id: Some(me.id()),
            username: Some(&me.session.user.username),
            ..Default::default()
        },
    )
    .await;
    Ok(Json(json!({ "message": "Password changed successfully" })).into_response())
}

#[utoipa::path(
    get,
    path = "/api/v1/auth/sessions",
    tag = "Sign-in and sessions",
    responses(
        (status = 200, description = "Success", body = SessionList),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn list_sessions(
    State(state): State<AppState>,
    me: CurrentUser,
) -> AppResult<Json<SessionList>> {
    let sessions = session::list(&state, me.id(), me.session.session_id).await?;
    Ok(Json(SessionList { sessions }))
}

#[utoipa::path(
    delete,
    path = "/api/v1/auth/sessions/{session_id}",
    tag = "Sign-in and sessions",
    params(("session_id" = String, Path, description = "session id")),
    responses(
        (status = 200, description = "Success", body = crate::openapi::Message),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn revoke_session(
    State(state): State<AppState>,
    me: CurrentUser,
    client: ClientInfo,
    AppPath(id): AppPath<Uuid>,
) -> AppResult<Json<crate::openapi::Message>> {
    if !session::revoke(&state, me.id(), id).await? {
        return Err(AppError::NotFound("Session not found".into()));
    }
    audit::record(
        &state,
        &client,
        Event {
            event: "session_revoked",
            success: true,
            user_id: Some(me.id()),
            username: Some(&me.session.user.username),
            details: Some(json!({ "session_id": id })),
            ..Default::default()
        },
    )
    .await;
    Ok(crate::openapi::Message::new("Session revoked"))
}

#[utoipa::path(
    delete,
    path = "/api/v1/auth/sessions",
    tag = "Sign-in and sessions",
    responses(
        (status = 200, description = "Success", body = Revoked),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn revoke_other_sessions(
    State(state): State<AppState>,
    me: CurrentUser,
) -> AppResult<Json<Revoked>> {
    let n = session::revoke_all(&state, me.id(), Some(me.session.session_id)).await?;
    Ok(Json(Revoked {
        message: "Other sessions revoked".into(),
        revoked: n,
    }))
}

/// Rows deleted by [`prune_expired`], per table.
#[derive(Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Pruned {
    pub sessions: u64,
    pub tfa_tickets: u64,
    pub oidc_logins: u64,
    pub trusted_devices: u64,
    pub login_failures: u64,
}

/// Deletes what can never be used again: sessions past their absolute expiry
/// or inactivity timeout or revoked over a day ago, expired TFA tickets, OIDC
/// logins and remembered devices, and lockout counters whose window and lock
/// are over. For the hourly session-cleanup job.
pub async fn prune_expired(state: &AppState) -> AppResult<Pruned> {
    let now = state.now();
    let a = &state.config().auth;
    let idle_cutoff = now - a.inactivity_timeout;
    let revoked_cutoff = now - Duration::days(1);
    let failure_cutoff = now - Duration::minutes(FAILURE_WINDOW_MINUTES);
    const SESSIONS: &str =
        "DELETE FROM user_sessions WHERE expires_at < $1 OR last_activity < $2 OR revoked_at < $3";
    const TICKETS: &str = "DELETE FROM tfa_tickets WHERE expires_at < $1";
    const OIDC: &str = "DELETE FROM oidc_logins WHERE expires_at < $1";
    const DEVICES: &str = "DELETE FROM user_trusted_devices WHERE expires_at < $1";
    const FAILURES: &str = "DELETE FROM login_failures WHERE window_start < $2 AND (locked_until IS NULL OR locked_until < $1)";
    let n = |r: Result<u64, sqlx::Error>| r.map_err(AppError::from);
    Ok(Pruned {
        sessions: n(
            with_db!(state.db(), p => sqlx::query(SESSIONS).bind(now).bind(idle_cutoff)
            .bind(revoked_cutoff).execute(p).await.map(|r| r.rows_affected())),
        )?,
        tfa_tickets: n(
            with_db!(state.db(), p => sqlx::query(TICKETS).bind(now).execute(p).await.map(|r| r.rows_affected())),
        )?,
        oidc_logins: n(
            with_db!(state.db(), p => sqlx::query(OIDC).bind(now).execute(p).await.map(|r| r.rows_affected())),
        )?,
        trusted_devices: n(
            with_db!(state.db(), p => sqlx::query(DEVICES).bind(now).execute(p).await.map(|r| r.rows_affected())),
        )?,
        login_failures: n(
            with_db!(state.db(), p => sqlx::query(FAILURES).bind(now).bind(failure_cutoff)
            .execute(p).await.map(|r| r.rows_affected())),
        )?,
    })
}

/// The OpenAPI description of this module's routes (`crate::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    setup_admin,
    check_admin_users,
    login,
    refresh,
    logout,
    heartbeat,
    profile,
    update_profile,
    change_password,
    list_sessions,
    revoke_other_sessions,
    revoke_session
))]
pub(crate) struct Api;
