//! `/api/v1/host-groups`: host groups with colours.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::hosts::Cutoffs;
use super::{Bind, Scope, fetch_all, required_text, valid_color};
use crate::error::{AppError, AppResult};
use crate::extract::{AppJson, AppPath};
use crate::hosts::status;
use crate::rbac::{Access, ApiRouter, CurrentUser, Permission};
use crate::state::AppState;
use crate::with_db;

const VIEW: Access = Access::Requires(Permission::ViewHosts);
const MANAGE: Access = Access::Requires(Permission::ManageHosts);

pub fn routes(api: ApiRouter) -> ApiRouter {
    api.get("/api/v1/host-groups", VIEW, list)
        .post("/api/v1/host-groups", MANAGE, create)
        .get("/api/v1/host-groups/{group_id}", VIEW, get_one)
        .put("/api/v1/host-groups/{group_id}", MANAGE, update)
        .delete("/api/v1/host-groups/{group_id}", MANAGE, delete)
}

pub const DEFAULT_COLOR: &str = "#3B82F6";

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[schema(as = HostGroup)]
pub struct Group {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub color: String,
    pub host_count: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct HostGroupList {
    pub groups: Vec<Group>,
}

/// A group with its member hosts (those the caller may see).
#[derive(Serialize, utoipa::ToSchema)]
pub struct HostGroupDetail {
    #[serde(flatten)]
    pub group: Group,
    pub hosts: Vec<GroupMember>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct GroupMember {
    pub id: Uuid,
    pub friendly_name: String,
    pub hostname: Option<String>,
    pub ip: Option<String>,
    pub os_type: Option<String>,
    pub os_version: Option<String>,
    pub effective_status: crate::hosts::status::EffectiveStatus,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct GroupDeleted {
    pub message: String,
    /// Hosts that were members (they stay, without this group).
    pub hosts_detached: i64,
}

fn not_found() -> AppError {
    AppError::NotFound("Host group not found".into())
}

/// Groups visible to the caller, with the number of visible member hosts.
async fn query_groups(state: &AppState, scope: &Scope, one: Option<Uuid>) -> AppResult<Vec<Group>> {
    let mut sql = scope.sql();
    sql.push(
        "SELECT g.id, g.name, g.description, g.color, \
         (SELECT COUNT(*) FROM host_group_memberships m JOIN hosts ON hosts.id = m.host_id \
          WHERE m.host_group_id = g.id AND ",
    )
    .push(scope.filter())
    .push(") AS host_count, g.created_at, g.updated_at FROM host_groups g WHERE 1 = 1");
    if let Some(id) = one {
        let a = sql.arg(Bind::Uuid(id));
        sql.push(&format!(" AND g.id = {a}"));
    }
    if scope.is_scoped() {
        sql.push(" AND g.id IN (SELECT host_group_id FROM role_host_groups WHERE role = $1)");
    }
    sql.push(" ORDER BY LOWER(g.name), g.id");
    fetch_all(state.db(), &sql).await
}

#[utoipa::path(
    get,
    path = "/api/v1/host-groups",
    tag = "Fleet",
    responses(
        (status = 200, description = "Success", body = HostGroupList),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn list(State(state): State<AppState>, user: CurrentUser) -> AppResult<Json<HostGroupList>> {
    let scope = Scope::of(&state, &user).await?;
    let groups = query_groups(&state, &scope, None).await?;
    Ok(Json(HostGroupList { groups }))
}

#[derive(sqlx::FromRow)]
struct MemberRow {
    id: Uuid,
    friendly_name: String,
    hostname: Option<String>,
    ip: Option<String>,
    os_type: Option<String>,
    os_version: Option<String>,
    status: String,
    last_update: Option<DateTime<Utc>>,
}

#[utoipa::path(
    get,
    path = "/api/v1/host-groups/{group_id}",
    tag = "Fleet",
    params(("group_id" = String, Path, description = "group id")),
    responses(
        (status = 200, description = "Success", body = HostGroupDetail),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn get_one(
    State(state): State<AppState>,
    user: CurrentUser,
    AppPath(id): AppPath<Uuid>,
) -> AppResult<Json<HostGroupDetail>> {
    let scope = Scope::of(&state, &user).await?;
    let group = query_groups(&state, &scope, Some(id))
        .await?
        .into_iter()
        .next()
        .ok_or_else(not_found)?;
    let mut sql = scope.sql();
    let a = sql.arg(Bind::Uuid(id));
    sql.push(&format!(
        "SELECT hosts.id, hosts.friendly_name, hosts.hostname, hosts.ip, hosts.os_type, hosts.os_version, \
         hosts.status, hosts.last_update FROM hosts JOIN host_group_memberships m ON m.host_id = hosts.id \
         WHERE m.host_group_id = {a} AND "
    ))
    .push(scope.filter())
    .push(" ORDER BY LOWER(hosts.friendly_name), hosts.id");
    let rows: Vec<MemberRow> = fetch_all(state.db(), &sql).await?;
    let c = Cutoffs::load(&state).await?;
    let hosts = rows
        .into_iter()
        .map(|r| GroupMember {
            effective_status: status::effective_status(&r.status, r.last_update, c.interval, c.now),
            id: r.id,
            friendly_name: r.friendly_name,
            hostname: r.hostname,
            ip: r.ip,
            os_type: r.os_type,
            os_version: r.os_version,
        })
        .collect();
    Ok(Json(HostGroupDetail { group, hosts }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = HostGroupBody)]
struct GroupBody {
    name: Option<String>,
    description: Option<String>,
    color: Option<String>,
}

struct Valid {
    name: Option<String>,
    description: Option<Option<String>>,
    color: Option<String>,
}

fn validate(b: GroupBody, creating: bool) -> AppResult<Valid> {
    let name = match b.name {
        Some(n) => Some(required_text("name", &n, 100)?),
        None if creating => return Err(AppError::BadRequest("name is required".into())),
        None => None,
    };
    let description = match b.description {
        None => None,
        Some(d) if d.trim().is_empty() => Some(None),
        Some(d) if d.chars().count() > 1000 => {
            return Err(AppError::BadRequest(
                "description must be at most 1000 characters".into(),
            ));
        }
        Some(d) => Some(Some(d.trim().to_owned())),
    };
    let color = match b.color {
        None => None,
        Some(c) if valid_color(c.trim()) => Some(c.trim().to_owned()),
        Some(_) => {
            return Err(AppError::BadRequest(
                "color must be a hex colour like #3B82F6".into(),
            ));
        }
    };
    Ok(Valid {
        name,
        description,
        color,
    })
}

fn name_taken(e: AppError) -> AppError {
    match e {
        AppError::Conflict(_) => {
            AppError::Conflict("A host group with this name already exists".into())
        }
        other => other,
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/host-groups",
    tag = "Fleet",
    request_body = GroupBody,
    responses(
        (status = 201, description = "Created", body = Group),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    AppJson(body): AppJson<GroupBody>,
) -> AppResult<(StatusCode, Json<Group>)> {
    let v = validate(body, true)?;
    let scope = Scope::of(&state, &user).await?;
    if scope.is_scoped() {
        return Err(AppError::Forbidden(
            "Roles limited to host groups cannot create host groups".into(),
        ));
    }
    let id = Uuid::new_v4();
    let now = state.now();
    with_db!(state.db(), p => sqlx::query(
        "INSERT INTO host_groups (id, name, description, color, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)")
        .bind(id).bind(&v.name).bind(v.description.flatten())
        .bind(v.color.as_deref().unwrap_or(DEFAULT_COLOR)).bind(now)
        .execute(p).await.map(|r| r.rows_affected()))
    .map_err(|e| name_taken(e.into()))?;
    let g = query_groups(&state, &scope, Some(id))
        .await?
        .into_iter()
        .next()
        .ok_or_else(not_found)?;
    Ok((StatusCode::CREATED, Json(g)))
}

#[utoipa::path(
    put,
    path = "/api/v1/host-groups/{group_id}",
    tag = "Fleet",
    request_body = GroupBody,
    params(("group_id" = String, Path, description = "group id")),
    responses(
        (status = 200, description = "Success", body = Group),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn update(
    State(state): State<AppState>,
    user: CurrentUser,
    AppPath(id): AppPath<Uuid>,
    AppJson(body): AppJson<GroupBody>,
) -> AppResult<Json<Group>> {
    let v = validate(body, false)?;
    let scope = Scope::of(&state, &user).await?;
    if !scope.scope.allows_group(id) {
        return Err(not_found());
    }
    let now = state.now();
    let (set_desc, desc) = match v.description {
        None => (false, None),
        Some(d) => (true, d),
    };
    let n = with_db!(state.db(), p => sqlx::query(
        "UPDATE host_groups SET name = COALESCE($2, name), \
         description = CASE WHEN $3 THEN $4 ELSE description END, \
         color = COALESCE($5, color), updated_at = $6 WHERE id = $1")
        .bind(id).bind(&v.name).bind(set_desc).bind(desc).bind(&v.color).bind(now)
        .execute(p).await.map(|r| r.rows_affected()))
    .map_err(|e| name_taken(e.into()))?;
    if n == 0 {
        return Err(not_found());
    }
    let g = query_groups(&state, &scope, Some(id))
        .await?
        .into_iter()
        .next()
        .ok_or_else(not_found)?;
    Ok(Json(g))
}

#[utoipa::path(
    delete,
    path = "/api/v1/host-groups/{group_id}",
    tag = "Fleet",
    params(("group_id" = String, Path, description = "group id")),
    responses(
        (status = 200, description = "Success", body = GroupDeleted),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn delete(
    State(state): State<AppState>,
    user: CurrentUser,
    AppPath(id): AppPath<Uuid>,
) -> AppResult<Json<GroupDeleted>> {
    let scope = Scope::of(&state, &user).await?;
    if !scope.scope.allows_group(id) {
        return Err(not_found());
    }
    let _guard = state.db().write_guard().await;
    let begin = state.db().begin_write_sql();
    let detached: i64 = with_db!(state.db(), p => {
        let mut tx = p.begin_with(begin).await?;
        // A role whose only scope group this is would silently become
        // unscoped (see every host): refuse instead.
        let sole: Option<String> = sqlx::query_scalar(
            "SELECT s.role FROM role_host_groups s WHERE s.host_group_id = $1 AND NOT EXISTS \
             (SELECT 1 FROM role_host_groups o WHERE o.role = s.role AND o.host_group_id <> $1) \
             ORDER BY s.role LIMIT 1")
            .bind(id).fetch_optional(&mut *tx).await?;
        if let Some(role) = sole {
            return Err(AppError::Conflict(format!(
                "Host group is the only host group of role {role}'s scope; change the role first")));
        }
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM host_group_memberships WHERE host_group_id = $1")
            .bind(id).fetch_one(&mut *tx).await?;
        let gone = sqlx::query("DELETE FROM host_groups WHERE id = $1").bind(id).execute(&mut *tx).await?;
        if gone.rows_affected() == 0 {
            return Err(not_found());
        }
        tx.commit().await?;
        Ok::<_, AppError>(n)
    })?;
    Ok(Json(GroupDeleted {
        message: "Host group deleted".into(),
        hosts_detached: detached,
    }))
}

/// The OpenAPI description of this module's routes (`crate::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(list, create, get_one, update, delete))]
pub(crate) struct Api;
