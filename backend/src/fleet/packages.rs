//! `/api/v1/packages`: the fleet-wide package list and package detail.

use axum::Json;
use axum::extract::{Query, State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{
    Bind, PageParams, Pagination, Scope, fetch_all, fetch_scalar, like_pattern, nulls_last,
    parse_bool, parse_order,
};
use crate::error::{AppError, AppResult};
use crate::extract::AppPath;
use crate::rbac::{Access, ApiRouter, CurrentUser, Permission};
use crate::state::AppState;

const VIEW: Access = Access::Requires(Permission::ViewPackages);

pub fn routes(api: ApiRouter) -> ApiRouter {
    api.get("/api/v1/packages", VIEW, list)
        .get("/api/v1/packages/{package_id}", VIEW, detail)
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PackageListParams {
    #[serde(flatten)]
    pub page: PageParams,
    pub search: Option<String>,
    pub needs_update: Option<String>,
    pub security: Option<String>,
    pub sort: Option<String>,
    pub order: Option<String>,
    pub format: Option<String>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct PackageItem {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub category: Option<String>,
    pub latest_version: Option<String>,
    pub hosts: i64,
    pub outdated_hosts: i64,
    pub security_hosts: i64,
    pub is_security_update: bool,
}

/// Per-package aggregates over the visible hosts' rows, joined to the
/// package. Aggregating `host_packages` by `package_id` walks its index in
/// order; packages are joined afterwards.
const INNER: &str = "SELECT hp.package_id, MAX(hp.available_version) AS latest_version, COUNT(*) AS hosts, \
    COALESCE(SUM(CASE WHEN hp.needs_update THEN 1 ELSE 0 END), 0) AS outdated_hosts, \
    COALESCE(SUM(CASE WHEN hp.needs_update AND hp.is_security_update THEN 1 ELSE 0 END), 0) AS security_hosts \
    FROM host_packages hp WHERE 1 = 1";
const OUTER: &str = "SELECT p.id, p.name, p.description, p.category, a.latest_version, a.hosts, \
    a.outdated_hosts, a.security_hosts, a.security_hosts > 0 AS is_security_update FROM (";
const JOIN: &str = ") a JOIN packages p ON p.id = a.package_id";

pub async fn query_packages(
    state: &AppState,
    user: &CurrentUser,
    p: &PackageListParams,
    paged: bool,
) -> AppResult<(Vec<PackageItem>, Option<Pagination>)> {
    let scope = Scope::of(state, user).await?;
    let page = p.page.resolve(50)?;
    let dir = parse_order(p.order.as_deref())?;
    let mut sql = scope.sql();
    sql.push(OUTER)
        .push(INNER)
        .push(&scope.host_in("hp.host_id"));
    if let Some(pat) = like_pattern(p.search.as_deref().unwrap_or(""))? {
        let a = sql.arg(Bind::Str(pat));
        sql.push(&format!(
            " AND hp.package_id IN (SELECT sp.id FROM packages sp WHERE LOWER(sp.name) LIKE {a} ESCAPE '\\')"
        ));
    }
    let needs = parse_bool("needs_update", p.needs_update.as_deref())?;
    let security = parse_bool("security", p.security.as_deref())?;
    // Only packages outdated somewhere: start from the partial index.
    if needs == Some(true) || security == Some(true) {
        let sec = if security == Some(true) {
            " AND o.is_security_update"
        } else {
            ""
        };
        sql.push(&format!(
            " AND hp.package_id IN (SELECT o.package_id FROM host_packages o WHERE o.needs_update{sec}{})",
            scope.host_in("o.host_id")
        ));
    }
    sql.push(" GROUP BY hp.package_id");
    match (needs, security) {
        (Some(false), _) => {
            sql.push(" HAVING SUM(CASE WHEN hp.needs_update THEN 1 ELSE 0 END) = 0");
        }
        (_, Some(false)) => {
            sql.push(
                " HAVING SUM(CASE WHEN hp.needs_update AND hp.is_security_update THEN 1 ELSE 0 END) = 0",
            );
        }
        _ => {}
    }
    sql.push(JOIN);
    let mut count = sql.clone();
    count.text = format!("SELECT COUNT(*) FROM ({}) t", count.text);
    let order = match p.sort.as_deref().map(str::trim) {
        None | Some("") | Some("name") => format!("p.name {dir}"),
        Some("hosts") => format!("a.hosts {dir}"),
        Some("outdated_hosts") => format!("a.outdated_hosts {dir}"),
        Some("security_hosts") => format!("a.security_hosts {dir}"),
        Some("latest_version") => nulls_last("a.latest_version", dir),
        Some(_) => {
            return Err(AppError::BadRequest(
                "sort must be name, hosts, outdated_hosts, security_hosts or latest_version".into(),
            ));
        }
    };
    sql.push(&format!(" ORDER BY {order}, p.name, p.id"));
    if paged {
        page.sql(&mut sql);
    }
    let rows: Vec<PackageItem> = fetch_all(state.db(), &sql).await?;
    let pagination = if paged {
        let total = if page.offset == 0 && (rows.len() as i64) < page.limit {
            rows.len() as i64
        } else {
            fetch_scalar::<i64>(state.db(), &count).await?
        };
        Some(page.pagination(total))
    } else {
        None
    };
    Ok((rows, pagination))
}

#[utoipa::path(
    get,
    path = "/api/v1/packages",
    tag = "Fleet",
    responses(
        (status = "2XX", description = "Success"),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(p): Query<PackageListParams>,
) -> AppResult<Json<Value>> {
    let (packages, pagination) = query_packages(&state, &user, &p, true).await?;
    Ok(Json(
        json!({"packages": packages, "pagination": pagination}),
    ))
}

#[derive(Debug, Deserialize)]
struct DetailParams {
    #[serde(flatten)]
    page: PageParams,
    needs_update: Option<String>,
}

#[derive(Serialize, sqlx::FromRow)]
struct VersionRow {
    version: String,
    hosts: i64,
}

#[derive(Serialize, sqlx::FromRow)]
struct PackageHostRow {
    host_id: Uuid,
    friendly_name: String,
    hostname: Option<String>,
    os_type: Option<String>,
    os_version: Option<String>,
    current_version: String,
    available_version: Option<String>,
    needs_update: bool,
    is_security_update: bool,
    updated_at: DateTime<Utc>,
}

#[utoipa::path(
    get,
    path = "/api/v1/packages/{package_id}",
    tag = "Fleet",
    params(("package_id" = String, Path, description = "package id")),
    responses(
        (status = "2XX", description = "Success"),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn detail(
    State(state): State<AppState>,
    user: CurrentUser,
    AppPath(id): AppPath<Uuid>,
    Query(p): Query<DetailParams>,
) -> AppResult<Json<Value>> {
    let scope = Scope::of(&state, &user).await?;
    let page = p.page.resolve(100)?;
    let not_found = || AppError::NotFound("Package not found".into());

    let mut sql = scope.sql();
    sql.push(OUTER)
        .push(INNER)
        .push(&scope.host_in("hp.host_id"));
    let a = sql.arg(Bind::Uuid(id));
    sql.push(&format!(" AND hp.package_id = {a} GROUP BY hp.package_id"))
        .push(JOIN);
    let pkg: PackageItem = fetch_all(state.db(), &sql)
        .await?
        .into_iter()
        .next()
        .ok_or_else(not_found)?;

    // Versions installed across visible hosts.
    let mut v = scope.sql();
    let a = v.arg(Bind::Uuid(id));
    v.push(&format!(
        "SELECT hp.current_version AS version, COUNT(*) AS hosts FROM host_packages hp \
         JOIN hosts ON hosts.id = hp.host_id WHERE hp.package_id = {a} AND "
    ))
    .push(scope.filter())
    .push(" GROUP BY hp.current_version ORDER BY COUNT(*) DESC, hp.current_version");
    let versions: Vec<VersionRow> = fetch_all(state.db(), &v).await?;

    let mut h = scope.sql();
    let a = h.arg(Bind::Uuid(id));
    h.push(&format!(
        "SELECT hosts.id AS host_id, hosts.friendly_name, hosts.hostname, hosts.os_type, hosts.os_version, \
         hp.current_version, hp.available_version, hp.needs_update, hp.is_security_update, hp.updated_at \
         FROM host_packages hp JOIN hosts ON hosts.id = hp.host_id WHERE hp.package_id = {a} AND "
    ))
    .push(scope.filter());
    if parse_bool("needs_update", p.needs_update.as_deref())? == Some(true) {
        h.push(" AND hp.needs_update");
    }
    let mut count = h.clone();
    count.text = format!("SELECT COUNT(*) FROM ({}) t", count.text);
    h.push(" ORDER BY hp.needs_update DESC, LOWER(hosts.friendly_name), hosts.id");
    page.sql(&mut h);
    let hosts: Vec<PackageHostRow> = fetch_all(state.db(), &h).await?;
    let total: i64 = fetch_scalar(state.db(), &count).await?;

    let mut out = serde_json::to_value(pkg).map_err(AppError::internal)?;
    // `hosts` is the count; the per-host rows go under `installations`.
    out["versions"] = serde_json::to_value(versions).map_err(AppError::internal)?;
    out["installations"] = serde_json::to_value(hosts).map_err(AppError::internal)?;
    out["pagination"] = serde_json::to_value(page.pagination(total)).map_err(AppError::internal)?;
    Ok(Json(out))
}

/// The OpenAPI description of this module's routes (`crate::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(list, detail))]
pub(crate) struct Api;
