//! Token administration: `/api/v1/auto-enrollment/tokens` (can_manage_settings).
//! Shapes follow PatchMon's auto-enrollment API docs; the secret is returned
//! by create only.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::types::Json as DbJson;
use uuid::Uuid;

use super::{IntegrationType, Scopes, Token, ipallow, parse_expiry, validate_scopes};
use crate::auth::audit::{self, Event};
use crate::auth::session::ClientInfo;
use crate::error::{AppError, AppResult};
use crate::extract::{AppJson, AppPath};
use crate::hosts::credentials::hash_secret;
use crate::rbac::{Access, ApiRouter, CurrentUser, Permission};
use crate::state::AppState;
use crate::{token_columns, with_db};

pub fn routes(api: ApiRouter) -> ApiRouter {
    const P: Access = Access::Requires(Permission::ManageSettings);
    api.get("/api/v1/auto-enrollment/tokens", P, list)
        .post("/api/v1/auto-enrollment/tokens", P, create)
        .get("/api/v1/auto-enrollment/tokens/{token_id}", P, get_one)
        .patch("/api/v1/auto-enrollment/tokens/{token_id}", P, update)
        .delete("/api/v1/auto-enrollment/tokens/{token_id}", P, delete)
}

/// Accepts a JSON array or a comma-separated string (the UI's text field).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
enum IpList {
    List(Vec<String>),
    Text(String),
}

impl IpList {
    fn normalised(self) -> AppResult<Vec<String>> {
        let v = match self {
            Self::List(v) => v,
            Self::Text(s) => s.split(',').map(str::to_owned).collect(),
        };
        if v.len() > 100 {
            return Err(AppError::BadRequest(
                "At most 100 allowed IP entries".into(),
            ));
        }
        ipallow::normalise_list(&v).map_err(AppError::BadRequest)
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = TokenCreateBody)]
struct CreateBody {
    token_name: Option<String>,
    #[serde(default)]
    allowed_ip_ranges: Option<IpList>,
    max_hosts_per_day: Option<i64>,
    default_host_group_id: Option<String>,
    expires_at: Option<String>,
    #[serde(default)]
    metadata: Option<serde_json::Map<String, Value>>,
    /// Also accepted at the top level (our UI sends it there).
    integration_type: Option<String>,
    #[schema(value_type = Option<std::collections::HashMap<String, Vec<String>>>)]
    scopes: Option<Scopes>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = TokenUpdateBody)]
struct UpdateBody {
    token_name: Option<String>,
    is_active: Option<bool>,
    max_hosts_per_day: Option<i64>,
    allowed_ip_ranges: Option<IpList>,
    /// `""` or null clears it.
    #[serde(default, deserialize_with = "crate::tokens::handlers::double_option")]
    default_host_group_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::tokens::handlers::double_option")]
    expires_at: Option<Option<String>>,
    #[schema(value_type = Option<std::collections::HashMap<String, Vec<String>>>)]
    scopes: Option<Scopes>,
}

/// Distinguishes "absent" (None) from "null" (Some(None)).
pub(crate) fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

fn validate_name(name: &str) -> AppResult<String> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 255 {
        return Err(AppError::BadRequest(
            "token_name is required (1-255 characters)".into(),
        ));
    }
    Ok(n.to_owned())
}

fn validate_quota(n: i64) -> AppResult<i64> {
    if !(1..=1000).contains(&n) {
        return Err(AppError::BadRequest(
            "max_hosts_per_day must be between 1 and 1000".into(),
        ));
    }
    Ok(n)
}

/// Resolves a host group id ("" → none); unknown ids are a 400 as in PatchMon.
async fn resolve_group(state: &AppState, id: Option<&str>) -> AppResult<Option<Uuid>> {
    let Some(id) = id.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let id =
        Uuid::parse_str(id).map_err(|_| AppError::BadRequest("Host group not found".into()))?;
    let exists: Option<Uuid> = with_db!(state.db(), p => sqlx::query_scalar(
        "SELECT id FROM host_groups WHERE id = $1").bind(id).fetch_optional(p).await)?;
    exists
        .map(Some)
        .ok_or_else(|| AppError::BadRequest("Host group not found".into()))
}

/// Writes a token event to the audit log.
async fn audit_token(
    state: &AppState,
    client: &ClientInfo,
    me: &CurrentUser,
    event: &str,
    details: Value,
) {
    audit::record(
        state,
        client,
        Event {
            event,
            success: true,
            actor_id: Some(me.id()),
            username: Some(&me.session.user.username),
            details: Some(details),
            ..Default::default()
        },
    )
    .await;
}

/// An integration or enrollment token as the admin API shows it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct IntegrationToken {
    pub id: Uuid,
    pub token_name: String,
    /// The public half (`patchmon_ae_…`).
    pub token_key: String,
    /// `proxmox-lxc`, `direct-host`, `api` or `gethomepage`.
    pub integration_type: String,
    pub is_active: bool,
    pub is_expired: bool,
    pub allowed_ip_ranges: Vec<String>,
    pub max_hosts_per_day: i64,
    pub hosts_created_today: i64,
    pub last_used_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub default_host_group_id: Option<Uuid>,
    #[schema(value_type = Object)]
    pub metadata: Value,
    /// Resource → actions (`api` tokens only).
    #[schema(value_type = Option<std::collections::HashMap<String, Vec<String>>>)]
    pub scopes: Option<Scopes>,
    /// The default host group (PatchMon's name for it).
    pub host_groups: Option<crate::fleet::GroupRef>,
    /// The creator (PatchMon's name for it).
    pub users: Option<TokenCreator>,
    /// Only in the create answer: the secret, shown this once.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub token_secret: Option<String>,
    /// Only in the create answer: `host_groups` again under its v2 name.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub default_host_group: Option<crate::fleet::GroupRef>,
    /// Only in the create answer: `users` again under its v2 name.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub created_by: Option<TokenCreator>,
}

#[derive(Clone, Serialize, utoipa::ToSchema)]
pub struct TokenCreator {
    pub id: Uuid,
    pub username: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenCreated {
    pub message: String,
    pub token: IntegrationToken,
    pub warning: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenUpdated {
    pub message: String,
    pub token: IntegrationToken,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenDeleted {
    pub message: String,
    pub deleted_token: DeletedToken,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DeletedToken {
    pub id: Uuid,
    pub token_name: String,
}

/// A token as the list and detail answers show it (never the secret).
async fn present(state: &AppState, t: &Token) -> AppResult<IntegrationToken> {
    let group: Option<(Uuid, String, String)> = match t.default_host_group_id {
        Some(g) => with_db!(state.db(), p => sqlx::query_as(
            "SELECT id, name, color FROM host_groups WHERE id = $1").bind(g).fetch_optional(p).await)?,
        None => None,
    };
    let user: Option<(Uuid, String, Option<String>, Option<String>)> = match t.created_by_user_id {
        Some(u) => with_db!(state.db(), p => sqlx::query_as(
            "SELECT id, username, first_name, last_name FROM users WHERE id = $1")
            .bind(u).fetch_optional(p).await)?,
        None => None,
    };
    let now = state.now();
    Ok(IntegrationToken {
        id: t.id,
        token_name: t.token_name.clone(),
        token_key: t.token_key.clone(),
        integration_type: t.integration_type.clone(),
        is_active: t.is_active,
        is_expired: t.is_expired(now),
        allowed_ip_ranges: t.allowed_ip_ranges.0.clone(),
        max_hosts_per_day: t.max_hosts_per_day,
        hosts_created_today: t.used_today(now),
        last_used_at: t.last_used_at,
        expires_at: t.expires_at,
        created_at: t.created_at,
        updated_at: t.updated_at,
        default_host_group_id: t.default_host_group_id,
        metadata: t.metadata.0.clone(),
        scopes: t.scopes.as_ref().map(|s| s.0.clone()),
        host_groups: group.map(|(id, name, color)| crate::fleet::GroupRef { id, name, color }),
        users: user.map(|(id, username, first_name, last_name)| TokenCreator {
            id,
            username,
            first_name,
            last_name,
        }),
        token_secret: None,
        default_host_group: None,
        created_by: None,
    })
}

#[utoipa::path(
    get,
    path = "/api/v1/auto-enrollment/tokens",
    tag = "Integration tokens",
    responses(
        (status = 200, description = "Success", body = Vec<IntegrationToken>),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn list(State(state): State<AppState>) -> AppResult<Json<Vec<IntegrationToken>>> {
    const SQL: &str = concat!(
        "SELECT ",
        token_columns!(),
        " FROM auto_enrollment_tokens ORDER BY created_at DESC, id"
    );
    let rows = with_db!(state.db(), p => sqlx::query_as::<_, Token>(SQL).fetch_all(p).await)?;
    let mut out = Vec::with_capacity(rows.len());
    for t in &rows {
        out.push(present(&state, t).await?);
    }
    Ok(Json(out))
}

async fn load(state: &AppState, id: Uuid) -> AppResult<Token> {
    super::find_by_id(state.db(), id)
        .await?
        .ok_or_else(|| AppError::NotFound("Token not found".into()))
}

#[utoipa::path(
    get,
    path = "/api/v1/auto-enrollment/tokens/{token_id}",
    tag = "Integration tokens",
    params(("token_id" = String, Path, description = "token id")),
    responses(
        (status = 200, description = "Success", body = IntegrationToken),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn get_one(
    State(state): State<AppState>,
    AppPath(id): AppPath<Uuid>,
) -> AppResult<Json<IntegrationToken>> {
    let t = load(&state, id).await?;
    Ok(Json(present(&state, &t).await?))
}

#[utoipa::path(
    post,
    path = "/api/v1/auto-enrollment/tokens",
    tag = "Integration tokens",
    request_body = CreateBody,
    responses(
        (status = 201, description = "Created; the only time `token_secret` is sent", body = TokenCreated),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn create(
    State(state): State<AppState>,
    me: CurrentUser,
    client: ClientInfo,
    AppJson(body): AppJson<CreateBody>,
) -> AppResult<(StatusCode, Json<TokenCreated>)> {
    let name = validate_name(body.token_name.as_deref().unwrap_or(""))?;
    let quota = validate_quota(body.max_hosts_per_day.unwrap_or(100))?;
    let ips = match body.allowed_ip_ranges {
        Some(l) => l.normalised()?,
        None => Vec::new(),
    };
    let mut metadata = body.metadata.unwrap_or_default();
    let type_name = body
        .integration_type
        .or_else(|| {
            metadata
                .get("integration_type")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "proxmox-lxc".into());
    let kind = IntegrationType::parse(&type_name).ok_or_else(|| {
        AppError::BadRequest(format!(
            "Invalid integration_type {type_name:?}: use proxmox-lxc, direct-host, api or gethomepage"
        ))
    })?;
    metadata.insert("integration_type".into(), json!(kind.as_str()));
    if serde_json::to_vec(&metadata).map_or(0, |v| v.len()) > 8192 {
        return Err(AppError::BadRequest(
            "metadata is too large (8 KB max)".into(),
        ));
    }
    let scopes = match (kind, body.scopes) {
        (IntegrationType::Api, Some(s)) => Some(validate_scopes(&s)?),
        (IntegrationType::Api, None) => {
            return Err(AppError::BadRequest(
                "API credentials need at least one scope, e.g. {\"host\": [\"get\"]}".into(),
            ));
        }
        (_, Some(s)) if !s.is_empty() => {
            return Err(AppError::BadRequest(
                "Scopes apply to API integration type tokens only".into(),
            ));
        }
        (_, _) => None,
    };
    let now = state.now();
    let expires_at = match body.expires_at.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => {
            let t = parse_expiry(s)?;
            if t <= now {
                return Err(AppError::BadRequest(
                    "expires_at must be in the future".into(),
                ));
            }
            Some(t)
        }
    };
    let group = resolve_group(&state, body.default_host_group_id.as_deref()).await?;
    let (key, secret) = super::generate()?;
    let id = Uuid::new_v4();
    let _w = state.db().write_guard().await;
    with_db!(state.db(), p => sqlx::query(
        "INSERT INTO auto_enrollment_tokens (id, token_name, token_key, secret_hash, integration_type, \
         is_active, allowed_ip_ranges, max_hosts_per_day, hosts_created_today, default_host_group_id, \
         metadata, scopes, expires_at, created_by_user_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, TRUE, $6, $7, 0, $8, $9, $10, $11, $12, $13, $13)")
        .bind(id)
        .bind(&name)
        .bind(&key)
        .bind(hash_secret(&secret))
        .bind(kind.as_str())
        .bind(DbJson(&ips))
        .bind(quota)
        .bind(group)
        .bind(DbJson(&metadata))
        .bind(scopes.as_ref().map(DbJson))
        .bind(expires_at)
        .bind(me.id())
        .bind(now)
        .execute(p)
        .await
        .map(|_| ()))?;
    drop(_w);
    audit_token(
        &state,
        &client,
        &me,
        "token_created",
        json!({ "token_id": id, "token_name": name, "integration_type": kind.as_str() }),
    )
    .await;
    let t = load(&state, id).await?;
    let mut token = present(&state, &t).await?;
    token.token_secret = Some(secret);
    token.default_host_group = token.host_groups.clone();
    token.created_by = token.users.clone();
    Ok((
        StatusCode::CREATED,
        Json(TokenCreated {
            message: "Auto-enrollment token created successfully".into(),
            token,
            warning: "Save the token_secret now - it cannot be retrieved later!".into(),
        }),
    ))
}

#[utoipa::path(
    patch,
    path = "/api/v1/auto-enrollment/tokens/{token_id}",
    tag = "Integration tokens",
    request_body = UpdateBody,
    params(("token_id" = String, Path, description = "token id")),
    responses(
        (status = 200, description = "Success", body = TokenUpdated),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn update(
    State(state): State<AppState>,
    me: CurrentUser,
    client: ClientInfo,
    AppPath(id): AppPath<Uuid>,
    AppJson(body): AppJson<UpdateBody>,
) -> AppResult<Json<TokenUpdated>> {
    let t = load(&state, id).await?;
    let name = match &body.token_name {
        Some(n) => validate_name(n)?,
        None => t.token_name.clone(),
    };
    let quota = match body.max_hosts_per_day {
        Some(n) => validate_quota(n)?,
        None => t.max_hosts_per_day,
    };
    let ips = match body.allowed_ip_ranges {
        Some(l) => l.normalised()?,
        None => t.allowed_ip_ranges.0.clone(),
    };
    let group = match &body.default_host_group_id {
        Some(g) => resolve_group(&state, g.as_deref()).await?,
        None => t.default_host_group_id,
    };
    let expires_at: Option<DateTime<Utc>> = match &body.expires_at {
        Some(None) => None,
        Some(Some(s)) if s.trim().is_empty() => None,
        Some(Some(s)) => Some(parse_expiry(s)?),
        None => t.expires_at,
    };
    let scopes = match body.scopes {
        Some(s) if t.kind() == Some(IntegrationType::Api) => Some(validate_scopes(&s)?),
        Some(_) => {
            return Err(AppError::BadRequest(
                "Scopes can only be updated on API integration type tokens".into(),
            ));
        }
        None => t.scopes.as_ref().map(|s| s.0.clone()),
    };
    let active = body.is_active.unwrap_or(t.is_active);
    let _w = state.db().write_guard().await;
    with_db!(state.db(), p => sqlx::query(
        "UPDATE auto_enrollment_tokens SET token_name = $2, is_active = $3, max_hosts_per_day = $4, \
         allowed_ip_ranges = $5, default_host_group_id = $6, expires_at = $7, scopes = $8, updated_at = $9 \
         WHERE id = $1")
        .bind(id)
        .bind(&name)
        .bind(active)
        .bind(quota)
        .bind(DbJson(&ips))
        .bind(group)
        .bind(expires_at)
        .bind(scopes.as_ref().map(DbJson))
        .bind(state.now())
        .execute(p)
        .await
        .map(|_| ()))?;
    drop(_w);
    audit_token(
        &state,
        &client,
        &me,
        "token_updated",
        json!({ "token_id": id, "is_active": active }),
    )
    .await;
    let t = load(&state, id).await?;
    Ok(Json(TokenUpdated {
        message: "Token updated successfully".into(),
        token: present(&state, &t).await?,
    }))
}

#[utoipa::path(
    delete,
    path = "/api/v1/auto-enrollment/tokens/{token_id}",
    tag = "Integration tokens",
    params(("token_id" = String, Path, description = "token id")),
    responses(
        (status = 200, description = "Success", body = TokenDeleted),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn delete(
    State(state): State<AppState>,
    me: CurrentUser,
    client: ClientInfo,
    AppPath(id): AppPath<Uuid>,
) -> AppResult<Json<TokenDeleted>> {
    let _w = state.db().write_guard().await;
    let name: Option<String> = with_db!(state.db(), p => sqlx::query_scalar(
        "DELETE FROM auto_enrollment_tokens WHERE id = $1 RETURNING token_name")
        .bind(id).fetch_optional(p).await)?;
    drop(_w);
    let name = name.ok_or_else(|| AppError::NotFound("Token not found".into()))?;
    audit_token(
        &state,
        &client,
        &me,
        "token_deleted",
        json!({ "token_id": id, "token_name": name }),
    )
    .await;
    Ok(Json(TokenDeleted {
        message: "Auto-enrollment token deleted successfully".into(),
        deleted_token: DeletedToken {
            id,
            token_name: name,
        },
    }))
}

/// The OpenAPI description of this module's routes (`crate::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(list, create, get_one, update, delete))]
pub(crate) struct Api;
