//! `/api/v1/repositories`: repositories with host counts, and their hosts.

use axum::Json;
use axum::extract::{Query, State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Pagination;
use super::hosts::Cutoffs;
use super::{
    Bind, PageParams, Scope, fetch_all, fetch_scalar, like_pattern, parse_bool, parse_order,
};
use crate::error::{AppError, AppResult};
use crate::extract::AppPath;
use crate::hosts::status;
use crate::rbac::{Access, ApiRouter, CurrentUser, Permission};
use crate::state::AppState;

const VIEW: Access = Access::Requires(Permission::ViewHosts);

pub fn routes(api: ApiRouter) -> ApiRouter {
    api.get("/api/v1/repositories", VIEW, list).get(
        "/api/v1/repositories/{repository_id}",
        VIEW,
        detail,
    )
}

#[derive(Debug, Deserialize)]
struct RepoParams {
    #[serde(flatten)]
    page: PageParams,
    search: Option<String>,
    is_secure: Option<String>,
    is_active: Option<String>,
    sort: Option<String>,
    order: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct RepositoryList {
    repositories: Vec<RepoItem>,
    pagination: Pagination,
}

/// A repository with the visible hosts that use it.
#[derive(Serialize, utoipa::ToSchema)]
struct RepositoryDetail {
    #[serde(flatten)]
    repository: RepoItem,
    host_list: Vec<RepositoryHost>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct RepositoryHost {
    host_id: Uuid,
    friendly_name: String,
    hostname: Option<String>,
    os_type: Option<String>,
    os_version: Option<String>,
    is_enabled: bool,
    effective_status: crate::hosts::status::EffectiveStatus,
}

#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[schema(as = Repository)]
struct RepoItem {
    id: Uuid,
    name: String,
    url: String,
    distribution: String,
    components: String,
    repo_type: String,
    is_secure: bool,
    is_active: bool,
    hosts: i64,
    enabled_hosts: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

const SELECT: &str = "SELECT r.id, r.name, r.url, r.distribution, r.components, r.repo_type, \
    r.is_secure, r.is_active, COUNT(*) AS hosts, \
    COALESCE(SUM(CASE WHEN hr.is_enabled THEN 1 ELSE 0 END), 0) AS enabled_hosts, \
    r.created_at, r.updated_at \
    FROM repositories r JOIN host_repositories hr ON hr.repository_id = r.id \
    JOIN hosts ON hosts.id = hr.host_id WHERE ";
const GROUP: &str = " GROUP BY r.id, r.name, r.url, r.distribution, r.components, r.repo_type, \
    r.is_secure, r.is_active, r.created_at, r.updated_at";

#[utoipa::path(
    get,
    path = "/api/v1/repositories",
    tag = "Fleet",
    responses(
        (status = 200, description = "Success", body = RepositoryList),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(p): Query<RepoParams>,
) -> AppResult<Json<RepositoryList>> {
    let scope = Scope::of(&state, &user).await?;
    let page = p.page.resolve(50)?;
    let dir = parse_order(p.order.as_deref())?;
    let mut sql = scope.sql();
    sql.push(SELECT).push(scope.filter());
    if let Some(pat) = like_pattern(p.search.as_deref().unwrap_or(""))? {
        let a = sql.arg(Bind::Str(pat));
        sql.push(&format!(
            " AND (LOWER(r.name) LIKE {a} ESCAPE '\\' OR LOWER(r.url) LIKE {a} ESCAPE '\\')"
        ));
    }
    if let Some(b) = parse_bool("is_secure", p.is_secure.as_deref())? {
        let a = sql.arg(Bind::Bool(b));
        sql.push(&format!(" AND r.is_secure = {a}"));
    }
    if let Some(b) = parse_bool("is_active", p.is_active.as_deref())? {
        let a = sql.arg(Bind::Bool(b));
        sql.push(&format!(" AND r.is_active = {a}"));
    }
    sql.push(GROUP);
    let mut count = sql.clone();
    count.text = format!("SELECT COUNT(*) FROM ({}) t", count.text);
    let order = match p.sort.as_deref().map(str::trim) {
        None | Some("") | Some("name") => format!("LOWER(r.name) {dir}"),
        Some("hosts") => format!("COUNT(*) {dir}"),
        Some("repo_type") => format!("r.repo_type {dir}"),
        Some(_) => {
            return Err(AppError::BadRequest(
                "sort must be name, hosts or repo_type".into(),
            ));
        }
    };
    sql.push(&format!(" ORDER BY {order}, r.url, r.id"));
    page.sql(&mut sql);
    let rows: Vec<RepoItem> = fetch_all(state.db(), &sql).await?;
    let total: i64 = fetch_scalar(state.db(), &count).await?;
    Ok(Json(RepositoryList {
        repositories: rows,
        pagination: page.pagination(total),
    }))
}

#[derive(sqlx::FromRow)]
struct RepoHost {
    host_id: Uuid,
    friendly_name: String,
    hostname: Option<String>,
    os_type: Option<String>,
    os_version: Option<String>,
    is_enabled: bool,
    status: String,
    last_update: Option<DateTime<Utc>>,
}

#[utoipa::path(
    get,
    path = "/api/v1/repositories/{repository_id}",
    tag = "Fleet",
    params(("repository_id" = String, Path, description = "repository id")),
    responses(
        (status = 200, description = "Success", body = RepositoryDetail),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn detail(
    State(state): State<AppState>,
    user: CurrentUser,
    AppPath(id): AppPath<Uuid>,
) -> AppResult<Json<RepositoryDetail>> {
    let scope = Scope::of(&state, &user).await?;
    let mut sql = scope.sql();
    sql.push(SELECT).push(scope.filter());
    let a = sql.arg(Bind::Uuid(id));
    sql.push(&format!(" AND r.id = {a}")).push(GROUP);
    let repo: RepoItem = fetch_all(state.db(), &sql)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| AppError::NotFound("Repository not found".into()))?;
    let mut h = scope.sql();
    let a = h.arg(Bind::Uuid(id));
    h.push(&format!(
        "SELECT hosts.id AS host_id, hosts.friendly_name, hosts.hostname, hosts.os_type, hosts.os_version, \
         hr.is_enabled, hosts.status, hosts.last_update FROM host_repositories hr \
         JOIN hosts ON hosts.id = hr.host_id WHERE hr.repository_id = {a} AND "
    ))
    .push(scope.filter())
    .push(" ORDER BY LOWER(hosts.friendly_name), hosts.id");
    let rows: Vec<RepoHost> = fetch_all(state.db(), &h).await?;
    let c = Cutoffs::load(&state).await?;
    let host_list = rows
        .into_iter()
        .map(|r| RepositoryHost {
            effective_status: status::effective_status(&r.status, r.last_update, c.interval, c.now),
            host_id: r.host_id,
            friendly_name: r.friendly_name,
            hostname: r.hostname,
            os_type: r.os_type,
            os_version: r.os_version,
            is_enabled: r.is_enabled,
        })
        .collect();
    Ok(Json(RepositoryDetail {
        repository: repo,
        host_list,
    }))
}

/// The OpenAPI description of this module's routes (`crate::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(list, detail))]
pub(crate) struct Api;
