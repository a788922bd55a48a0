//! Users: storage, validation, first-run setup and the admin API
//! (`/api/v1/auth/admin/users…`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::auth::audit::{self, Event};
use crate::auth::password;
use crate::auth::session::{self, ClientInfo};
use crate::error::{AppError, AppResult};
use crate::extract::{AppJson, AppPath};
use crate::rbac::{Access, ApiRouter, CurrentUser, Permission, load_role};
use crate::state::AppState;
use crate::with_db;

/// A user as the API shows it (never the password hash or TFA secret).
#[derive(Clone, Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct User {
    pub id: Uuid,
    pub username: String,
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub role: String,
    pub is_active: bool,
    pub last_login: Option<DateTime<Utc>>,
    pub tfa_enabled: bool,
    pub theme_preference: String,
    pub color_theme: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Fields of a new local user.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub email: String,
    pub password: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub role: String,
    /// False creates the account disabled (it cannot sign in until enabled).
    pub is_active: bool,
}

pub fn validate_username(u: &str) -> AppResult<String> {
    let u = u.trim();
    let ok = (3..=64).contains(&u.len())
        && u.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(u.to_owned())
    } else {
        Err(AppError::BadRequest(
            "Username must be 3-64 characters of letters, digits, '.', '_' or '-'".into(),
        ))
    }
}

pub fn validate_email(e: &str) -> AppResult<String> {
    let e = e.trim();
    let ok = e.len() <= 254
        && e.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && !e.chars().any(char::is_whitespace);
    if ok {
        Ok(e.to_owned())
    } else {
        Err(AppError::BadRequest(
            "A valid email address is required".into(),
        ))
    }
}

fn clean_name(n: Option<String>) -> AppResult<Option<String>> {
    match n.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()) {
        Some(s) if s.chars().count() > 100 => Err(AppError::BadRequest(
            "Names are limited to 100 characters".into(),
        )),
        other => Ok(other),
    }
}

fn conflict(e: AppError) -> AppError {
    match e {
        AppError::Conflict(_) => AppError::Conflict("Username or email already exists".into()),
        other => other,
    }
}

pub async fn get(state: &AppState, id: Uuid) -> AppResult<Option<User>> {
    const SQL: &str = "SELECT id, username, email, first_name, last_name, role, is_active, last_login, \
        tfa_enabled, theme_preference, color_theme, created_at, updated_at FROM users WHERE id = $1";
    Ok(with_db!(state.db(), p => sqlx::query_as(SQL).bind(id).fetch_optional(p).await)?)
}

pub async fn count(state: &AppState) -> AppResult<i64> {
    Ok(
        with_db!(state.db(), p => sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(p).await)?,
    )
}

const INSERT_USER: &str = "INSERT INTO users (id, username, email, password_hash, first_name, last_name, role, \
    is_active, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $9, $8, $8)";

/// Serialises user-table invariants (first-run setup, last superadmin) inside
/// a transaction: an advisory lock on PostgreSQL; SQLite has one writer anyway.
fn lock_sql(state: &AppState) -> &'static str {
    if state.db().is_postgres() {
        "SELECT pg_advisory_xact_lock(727001)"
    } else {
        "SELECT 1"
    }
}

async fn validated(state: &AppState, u: NewUser) -> AppResult<NewUser> {
    let username = validate_username(&u.username)?;
    let email = validate_email(&u.email)?;
    password::check_policy(&state.config().auth.password, &u.password)?;
    if load_role(state, &u.role).await?.is_none() {
        return Err(AppError::BadRequest(format!("Unknown role '{}'", u.role)));
    }
    Ok(NewUser {
        username,
        email,
        first_name: clean_name(u.first_name)?,
        last_name: clean_name(u.last_name)?,
        ..u
    })
}

/// Creates a local user. With `only_if_first`, fails unless no user exists
/// (the check and the insert are one transaction).
async fn create(state: &AppState, u: NewUser, only_if_first: bool) -> AppResult<User> {
    let u = validated(state, u).await?;
    let hash = password::hash(&u.password).await?;
    let now = state.now();
    let id = Uuid::new_v4();
    let lock = lock_sql(state);
    let _guard = state.db().write_guard().await;
    let created: bool = with_db!(state.db(), p => async {
        let mut tx = p.begin().await?;
        sqlx::query(lock).execute(&mut *tx).await?;
        if only_if_first {
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(&mut *tx).await?;
            if n > 0 {
                return Ok::<bool, sqlx::Error>(false);
            }
        }
        sqlx::query(INSERT_USER)
            .bind(id).bind(&u.username).bind(&u.email).bind(&hash).bind(&u.first_name)
            .bind(&u.last_name).bind(&u.role).bind(now).bind(u.is_active)
            .execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(true)
    }.await)
    .map_err(|e| conflict(e.into()))?;
    if !created {
        return Err(AppError::BadRequest(
            "Setup has already been completed".into(),
        ));
    }
    get(state, id)
        .await?
        .ok_or_else(|| AppError::internal("created user vanished"))
}

/// First-run setup: creates the first superadmin, only while no user exists.
/// Shared by `POST /auth/setup-admin` and `patchmon-server users create-admin`.
pub async fn create_first_admin(state: &AppState, mut u: NewUser) -> AppResult<User> {
    u.role = "superadmin".into();
    create(state, u, true).await
}

/// Changes a user, refusing anything that would leave no active superadmin.
/// `change` is applied inside the transaction after the check.
async fn guarded_change(
    state: &AppState,
    target: &User,
    removes_superadmin: bool,
    sql: &'static str,
    binds: ChangeBinds,
) -> AppResult<()> {
    let lock = lock_sql(state);
    let _guard = state.db().write_guard().await;
    let outcome: Result<bool, sqlx::Error> = with_db!(state.db(), p => async {
        let mut tx = p.begin().await?;
        sqlx::query(lock).execute(&mut *tx).await?;
        if removes_superadmin {
            let others: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM users WHERE role = 'superadmin' AND is_active = TRUE AND id <> $1",
            )
            .bind(target.id)
            .fetch_one(&mut *tx)
            .await?;
            if others == 0 {
                return Ok(false);
            }
        }
        let q = sqlx::query(sql).bind(target.id);
        let q = match binds {
            ChangeBinds::None => q,
            ChangeBinds::Update(u) => q
                .bind(u.username).bind(u.email).bind(u.first_name).bind(u.last_name)
                .bind(u.role).bind(u.is_active).bind(u.now),
        };
        q.execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(true)
    }.await);
    match outcome.map_err(|e| conflict(e.into()))? {
        true => Ok(()),
        false => Err(AppError::Conflict(
            "The last active superadmin cannot be removed, disabled or demoted".into(),
        )),
    }
}

enum ChangeBinds {
    None,
    Update(UpdateValues),
}

struct UpdateValues {
    username: String,
    email: String,
    first_name: Option<String>,
    last_name: Option<String>,
    role: String,
    is_active: bool,
    now: DateTime<Utc>,
}

// ---------------------------------------------------------------- admin API

pub fn routes(api: ApiRouter) -> ApiRouter {
    use Permission::{ManageUsers, ViewUsers};
    api.get(
        "/api/v1/auth/admin/users",
        Access::Requires(ViewUsers),
        list_users,
    )
    .post(
        "/api/v1/auth/admin/users",
        Access::Requires(ManageUsers),
        create_user,
    )
    .get(
        "/api/v1/auth/admin/users/{user_id}",
        Access::Requires(ViewUsers),
        get_user,
    )
    .put(
        "/api/v1/auth/admin/users/{user_id}",
        Access::Requires(ManageUsers),
        update_user,
    )
    .delete(
        "/api/v1/auth/admin/users/{user_id}",
        Access::Requires(ManageUsers),
        delete_user,
    )
    .post(
        "/api/v1/auth/admin/users/{user_id}/reset-password",
        Access::Requires(ManageUsers),
        reset_password,
    )
    .delete(
        "/api/v1/auth/admin/users/{user_id}/sessions",
        Access::Requires(ManageUsers),
        revoke_user_sessions,
    )
}

#[utoipa::path(
    get,
    path = "/api/v1/auth/admin/users",
    tag = "Users",
    responses(
        (status = 200, description = "Success", body = Vec<User>),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn list_users(State(state): State<AppState>, _me: CurrentUser) -> AppResult<Json<Vec<User>>> {
    const SQL: &str = "SELECT id, username, email, first_name, last_name, role, is_active, last_login, \
        tfa_enabled, theme_preference, color_theme, created_at, updated_at FROM users ORDER BY lower(username)";
    let users = with_db!(state.db(), p => sqlx::query_as(SQL).fetch_all(p).await)?;
    Ok(Json(users))
}

async fn target(state: &AppState, id: Uuid) -> AppResult<User> {
    get(state, id)
        .await?
        .ok_or_else(|| AppError::NotFound("User not found".into()))
}

/// Whether `role` grants `can_manage_superusers` (only such callers may hand it out).
async fn is_privileged_role(state: &AppState, role: &str) -> AppResult<bool> {
    Ok(load_role(state, role)
        .await?
        .is_some_and(|r| r.has(Permission::ManageSuperusers)))
}

/// Acting on a privileged user, or granting a privileged role, needs `can_manage_superusers`.
async fn require_superuser_power(state: &AppState, me: &CurrentUser, role: &str) -> AppResult<()> {
    if !me.has(Permission::ManageSuperusers) && is_privileged_role(state, role).await? {
        return Err(AppError::Forbidden("Insufficient permissions".into()));
    }
    Ok(())
}

#[utoipa::path(
    get,
    path = "/api/v1/auth/admin/users/{user_id}",
    tag = "Users",
    params(("user_id" = String, Path, description = "user id")),
    responses(
        (status = 200, description = "Success", body = User),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn get_user(
    State(state): State<AppState>,
    _me: CurrentUser,
    AppPath(id): AppPath<Uuid>,
) -> AppResult<Json<User>> {
    Ok(Json(target(&state, id).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct CreateUserBody {
    username: String,
    email: String,
    password: String,
    #[serde(alias = "firstName")]
    first_name: Option<String>,
    #[serde(alias = "lastName")]
    last_name: Option<String>,
    role: Option<String>,
    /// Default true; false creates the account disabled.
    #[serde(alias = "isActive")]
    is_active: Option<bool>,
}

#[utoipa::path(
    post,
    path = "/api/v1/auth/admin/users",
    tag = "Users",
    request_body = CreateUserBody,
    responses(
        (status = 201, description = "Created", body = crate::auth::UserChanged),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn create_user(
    State(state): State<AppState>,
    me: CurrentUser,
    client: ClientInfo,
    AppJson(b): AppJson<CreateUserBody>,
) -> AppResult<(StatusCode, Json<crate::auth::UserChanged>)> {
    let role = b.role.unwrap_or_else(|| "user".into());
    require_superuser_power(&state, &me, &role).await?;
    let user = create(
        &state,
        NewUser {
            username: b.username,
            email: b.email,
            password: b.password,
            first_name: b.first_name,
            last_name: b.last_name,
            role,
            is_active: b.is_active.unwrap_or(true),
        },
        false,
    )
    .await?;
    audit::record(
        &state,
        &client,
        Event {
            event: "user_created",
            success: true,
            user_id: Some(user.id),
            actor_id: Some(me.id()),
            username: Some(&user.username),
            details: Some(json!({ "role": user.role })),
        },
    )
    .await;
    Ok((
        StatusCode::CREATED,
        Json(crate::auth::UserChanged {
            message: "User created successfully".into(),
            user,
        }),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct UpdateUserBody {
    username: Option<String>,
    email: Option<String>,
    #[serde(alias = "firstName")]
    first_name: Option<String>,
    #[serde(alias = "lastName")]
    last_name: Option<String>,
    role: Option<String>,
    #[serde(alias = "isActive")]
    is_active: Option<bool>,
}

#[utoipa::path(
    put,
    path = "/api/v1/auth/admin/users/{user_id}",
    tag = "Users",
    request_body = UpdateUserBody,
    params(("user_id" = String, Path, description = "user id")),
    responses(
        (status = 200, description = "Success", body = crate::auth::UserChanged),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn update_user(
    State(state): State<AppState>,
    me: CurrentUser,
    client: ClientInfo,
    AppPath(id): AppPath<Uuid>,
    AppJson(b): AppJson<UpdateUserBody>,
) -> AppResult<Json<crate::auth::UserChanged>> {
    let t = target(&state, id).await?;
    require_superuser_power(&state, &me, &t.role).await?;
    let role = b.role.unwrap_or_else(|| t.role.clone());
    if role != t.role {
        if load_role(&state, &role).await?.is_none() {
            return Err(AppError::BadRequest(format!("Unknown role '{role}'")));
        }
        require_superuser_power(&state, &me, &role).await?;
    }
    let is_active = b.is_active.unwrap_or(t.is_active);
    if id == me.id() && (!is_active || role != t.role) {
        return Err(AppError::BadRequest(
            "You cannot disable yourself or change your own role".into(),
        ));
    }
    let values = UpdateValues {
        username: match b.username {
            Some(u) => validate_username(&u)?,
            None => t.username.clone(),
        },
        email: match b.email {
            Some(e) => validate_email(&e)?,
            None => t.email.clone(),
        },
        first_name: match b.first_name {
            Some(n) => clean_name(Some(n))?,
            None => t.first_name.clone(),
        },
        last_name: match b.last_name {
            Some(n) => clean_name(Some(n))?,
            None => t.last_name.clone(),
        },
        role: role.clone(),
        is_active,
        now: state.now(),
    };
    let removes = t.role == "superadmin" && t.is_active && (role != "superadmin" || !is_active);
    const SQL: &str = "UPDATE users SET username = $2, email = $3, first_name = $4, last_name = $5, role = $6, \
        is_active = $7, updated_at = $8 WHERE id = $1";
    guarded_change(&state, &t, removes, SQL, ChangeBinds::Update(values)).await?;
    if !is_active {
        session::revoke_all(&state, id, None).await?;
    }
    if role != t.role {
        audit::record(
            &state,
            &client,
            Event {
                event: "role_changed",
                success: true,
                user_id: Some(id),
                actor_id: Some(me.id()),
                username: Some(&t.username),
                details: Some(json!({ "from": t.role, "to": role })),
            },
        )
        .await;
    }
    audit::record(
        &state,
        &client,
        Event {
            event: "user_updated",
            success: true,
            user_id: Some(id),
            actor_id: Some(me.id()),
            username: Some(&t.username),
            details: Some(json!({ "is_active": is_active })),
        },
    )
    .await;
    let user = target(&state, id).await?;
    Ok(Json(crate::auth::UserChanged {
        message: "User updated successfully".into(),
        user,
    }))
}

#[utoipa::path(
    delete,
    path = "/api/v1/auth/admin/users/{user_id}",
    tag = "Users",
    params(("user_id" = String, Path, description = "user id")),
    responses(
        (status = 200, description = "Success", body = crate::openapi::Message),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn delete_user(
    State(state): State<AppState>,
    me: CurrentUser,
    client: ClientInfo,
    AppPath(id): AppPath<Uuid>,
) -> AppResult<Json<crate::openapi::Message>> {
    let t = target(&state, id).await?;
    if id == me.id() {
        return Err(AppError::BadRequest(
            "You cannot delete your own account".into(),
        ));
    }
    require_superuser_power(&state, &me, &t.role).await?;
    let removes = t.role == "superadmin" && t.is_active;
    guarded_change(
        &state,
        &t,
        removes,
        "DELETE FROM users WHERE id = $1",
        ChangeBinds::None,
    )
    .await?;
    audit::record(
        &state,
        &client,
        Event {
            event: "user_deleted",
            success: true,
            user_id: Some(id),
            actor_id: Some(me.id()),
            username: Some(&t.username),
            details: None,
        },
    )
    .await;
    Ok(crate::openapi::Message::new("User deleted successfully"))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct ResetPasswordBody {
    #[serde(alias = "new_password")]
    #[serde(rename = "newPassword")]
    new_password: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/auth/admin/users/{user_id}/reset-password",
    tag = "Users",
    request_body = ResetPasswordBody,
    params(("user_id" = String, Path, description = "user id")),
    responses(
        (status = 200, description = "Success", body = crate::openapi::Message),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn reset_password(
    State(state): State<AppState>,
    me: CurrentUser,
    client: ClientInfo,
    AppPath(id): AppPath<Uuid>,
    AppJson(b): AppJson<ResetPasswordBody>,
) -> AppResult<Json<crate::openapi::Message>> {
    let t = target(&state, id).await?;
    require_superuser_power(&state, &me, &t.role).await?;
    password::check_policy(&state.config().auth.password, &b.new_password)?;
    set_password(&state, id, &b.new_password).await?;
    // Every session of the user ends; they sign in with the new password.
    session::revoke_all(&state, id, None).await?;
    audit::record(
        &state,
        &client,
        Event {
            event: "password_reset",
            success: true,
            user_id: Some(id),
            actor_id: Some(me.id()),
            username: Some(&t.username),
            details: None,
        },
    )
    .await;
    Ok(crate::openapi::Message::new("Password reset successfully"))
}

#[utoipa::path(
    delete,
    path = "/api/v1/auth/admin/users/{user_id}/sessions",
    tag = "Users",
    params(("user_id" = String, Path, description = "user id")),
    responses(
        (status = 200, description = "Success", body = crate::auth::Revoked),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn revoke_user_sessions(
    State(state): State<AppState>,
    me: CurrentUser,
    client: ClientInfo,
    AppPath(id): AppPath<Uuid>,
) -> AppResult<Json<crate::auth::Revoked>> {
    let t = target(&state, id).await?;
    require_superuser_power(&state, &me, &t.role).await?;
    let n = session::revoke_all(&state, id, None).await?;
    audit::record(
        &state,
        &client,
        Event {
            event: "sessions_revoked",
            success: true,
            user_id: Some(id),
            actor_id: Some(me.id()),
            username: Some(&t.username),
            details: Some(json!({ "count": n })),
        },
    )
    .await;
    Ok(Json(crate::auth::Revoked {
        message: "Sessions revoked".into(),
        revoked: n,
    }))
}

/// Stores a new password hash (policy already checked by the caller).
pub async fn set_password(state: &AppState, id: Uuid, new_password: &str) -> AppResult<()> {
    let hash = password::hash(new_password).await?;
    const SQL: &str = "UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1";
    with_db!(state.db(), p => sqlx::query(SQL).bind(id).bind(hash).bind(state.now()).execute(p).await.map(|_| ()))?;
    Ok(())
}

/// The OpenAPI description of this module's routes (`crate::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list_users,
    create_user,
    get_user,
    update_user,
    delete_user,
    reset_password,
    revoke_user_sessions
))]
pub(crate) struct Api;
