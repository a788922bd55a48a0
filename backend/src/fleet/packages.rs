//! `/api/v1/packages`: the fleet-wide package list and package detail.

use axum::Json;
use axum::extract::{Query, State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    Bind, PageParams, Pagination, Scope, fetch_all, fetch_scalar, like_pattern, parse_bool,
    parse_order,
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

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[schema(as = PackageListItem)]
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
    /// Rows of the whole (unpaged) result, from `COUNT(*) OVER ()`: the list
    /// gets its total from the same aggregate instead of running it twice.
    #[serde(skip)]
    pub total_rows: i64,
}

/// Per-package aggregates over the visible hosts' rows, joined to the
/// package. Aggregating `host_packages` by `package_id` walks its index in
/// order; packages are joined afterwards.
const INNER: &str = "SELECT hp.package_id, COUNT(*) AS hosts, \
    COALESCE(SUM(CASE WHEN hp.needs_update THEN 1 ELSE 0 END), 0) AS outdated_hosts, \
    COALESCE(SUM(CASE WHEN hp.needs_update AND hp.is_security_update THEN 1 ELSE 0 END), 0) AS security_hosts \
    FROM host_packages hp WHERE 1 = 1";
const OUTER: &str = "SELECT p.id, p.name, p.description, p.category, a.hosts, \
    a.outdated_hosts, a.security_hosts, a.security_hosts > 0 AS is_security_update, \
    COUNT(*) OVER () AS total_rows FROM (";
const JOIN: &str = ") a JOIN packages p ON p.id = a.package_id";
/// Adds `latest_version` to an already sorted and limited page (`pg`), so
/// the version lookup runs for the page's packages only (partial index).
const LATEST_HEAD: &str = "SELECT pg.id, pg.name, pg.description, pg.category, pg.hosts, pg.outdated_hosts, \
    pg.security_hosts, pg.is_security_update, pg.total_rows, \
    (SELECT MAX(x.available_version) FROM host_packages x WHERE x.package_id = pg.id AND x.needs_update";
const LATEST_TAIL: &str = ") AS latest_version FROM (";

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
    let security_filter = parse_bool("security", p.security.as_deref())?;
    sql.push(" GROUP BY hp.package_id");
    let outdated = "SUM(CASE WHEN hp.needs_update THEN 1 ELSE 0 END)";
    let security = "SUM(CASE WHEN hp.needs_update AND hp.is_security_update THEN 1 ELSE 0 END)";
    let mut having = Vec::new();
    match needs {
        Some(true) => having.push(format!("{outdated} > 0")),
        Some(false) => having.push(format!("{outdated} = 0")),
        None => {}
    }
    match security_filter {
        Some(true) => having.push(format!("{security} > 0")),
        Some(false) => having.push(format!("{security} = 0")),
        None => {}
    }
    if !having.is_empty() {
        sql.push(&format!(" HAVING {}", having.join(" AND ")));
    }
    sql.push(JOIN);
    let mut count = sql.clone();
    count.text = format!("SELECT COUNT(*) FROM ({}) t", count.text);
    let order = match p.sort.as_deref().map(str::trim) {
        None | Some("") | Some("name") => format!("p.name {dir}"),
        Some("hosts") => format!("a.hosts {dir}"),
        Some("outdated_hosts") => format!("a.outdated_hosts {dir}"),
        Some("security_hosts") => format!("a.security_hosts {dir}"),
        Some(_) => {
            return Err(AppError::BadRequest(
                "sort must be name, hosts, outdated_hosts or security_hosts".into(),
            ));
        }
    };
    sql.push(&format!(" ORDER BY {order}, p.name, p.id"));
    if paged {
        page.sql(&mut sql);
    }
    let outer_order = order.replace("p.", "pg.").replace("a.", "pg.");
    sql.text = format!(
        "{LATEST_HEAD}{}{LATEST_TAIL}{}) pg ORDER BY {outer_order}, pg.name, pg.id",
        scope.host_in("x.host_id"),
        sql.text
    );
    let rows: Vec<PackageItem> = fetch_all(state.db(), &sql).await?;
    let pagination = if paged {
        // Past the last page there is no row to carry the total.
        let total = match rows.first() {
            Some(r) => r.total_rows,
            None if page.offset == 0 => 0,
            None => fetch_scalar::<i64>(state.db(), &count).await?,
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
        (status = 200, description = "Success", body = PackageList),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(p): Query<PackageListParams>,
) -> AppResult<Json<PackageList>> {
    let (packages, pagination) = query_packages(&state, &user, &p, true).await?;
    let pagination =
        pagination.ok_or_else(|| AppError::internal("paged query without pagination"))?;
    Ok(Json(PackageList {
        packages,
        pagination,
    }))
}

#[derive(Debug, Deserialize)]
struct DetailParams {
    #[serde(flatten)]
    page: PageParams,
    needs_update: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PackageList {
    pub packages: Vec<PackageItem>,
    pub pagination: Pagination,
}

/// A package, the versions installed across the visible hosts and one page
/// of those hosts. `hosts` is the count; the rows are `installations`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PackageDetail {
    #[serde(flatten)]
    pub package: PackageItem,
    pub versions: Vec<VersionRow>,
    pub installations: Vec<PackageHostRow>,
    pub pagination: Pagination,
}

#[derive(Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[schema(as = PackageVersion)]
pub struct VersionRow {
    version: String,
    hosts: i64,
}

#[derive(Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[schema(as = PackageHost)]
pub struct PackageHostRow {
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
        (status = 200, description = "Success", body = PackageDetail),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn detail(
    State(state): State<AppState>,
    user: CurrentUser,
    AppPath(id): AppPath<Uuid>,
    Query(p): Query<DetailParams>,
) -> AppResult<Json<PackageDetail>> {
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
    sql.text = format!(
        "{LATEST_HEAD}{}{LATEST_TAIL}{}) pg",
        scope.host_in("x.host_id"),
        sql.text
    );
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

    Ok(Json(PackageDetail {
        package: pkg,
        versions,
        installations: hosts,
        pagination: page.pagination(total),
    }))
}

/// The OpenAPI description of this module's routes (`crate::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(list, detail))]
pub(crate) struct Api;
