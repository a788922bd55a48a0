//! `/api/v1/dashboard/…`: the stats cards and trend series.

use axum::Json;
use axum::extract::{Query, State};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::hosts::Cutoffs;
use super::{Bind, Scope, fetch_all, fetch_scalar, parse_int};
use crate::error::AppResult;
use crate::rbac::{Access, ApiRouter, CurrentUser, Permission};
use crate::state::AppState;
use crate::with_db;

const VIEW: Access = Access::Requires(Permission::ViewDashboard);

pub fn routes(api: ApiRouter) -> ApiRouter {
    api.get("/api/v1/dashboard/stats", VIEW, stats)
        .get("/api/v1/dashboard/trends", VIEW, trends)
}

#[derive(Debug, Default, sqlx::FromRow)]
struct Counters {
    total: i64,
    needing: i64,
    security_hosts: i64,
    up_to_date: i64,
    awaiting: i64,
    reboot: i64,
    pending: i64,
    inactive: i64,
    offline: i64,
}

/// The dashboard's numbers for the caller's scope.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DashboardStats {
    pub total_hosts: i64,
    pub hosts_needing_updates: i64,
    pub hosts_with_security_updates: i64,
    pub up_to_date_hosts: i64,
    /// Hosts that have not sent a package list yet.
    pub awaiting_data_hosts: i64,
    pub reboot_required_hosts: i64,
    pub pending_hosts: i64,
    pub inactive_hosts: i64,
    pub offline_hosts: i64,
    pub connected_agents: i64,
    /// Distinct packages with an update on at least one host.
    pub total_outdated_packages: i64,
    /// Distinct packages with a security update on at least one host.
    pub security_updates: i64,
    pub total_repos: i64,
    pub recent_updates_24h: i64,
    pub os_distribution: Vec<OsCount>,
    pub agent_versions: Vec<VersionRow>,
    /// Minutes.
    pub update_interval: i64,
    pub last_updated: DateTime<Utc>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OsCount {
    pub os_type: String,
    pub os_version: Option<String>,
    /// `os_type` and `os_version` for display.
    pub name: String,
    pub count: i64,
}

/// Snapshots of the fleet-wide numbers (`system_statistics`), oldest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Trends {
    pub days: i64,
    /// True when the caller's role is limited to host groups: fleet-wide
    /// snapshots are not shown, `points` is empty.
    pub scoped: bool,
    pub points: Vec<Point>,
}

#[derive(Debug, Serialize, sqlx::FromRow)]
struct OsRow {
    os_type: String,
    os_version: Option<String>,
    count: i64,
}

#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[schema(as = AgentVersionCount)]
pub struct VersionRow {
    version: Option<String>,
    count: i64,
}

/// The dashboard numbers for the caller's scope.
pub async fn compute(state: &AppState, user: &CurrentUser) -> AppResult<DashboardStats> {
    let scope = Scope::of(state, user).await?;
    let c = Cutoffs::load(state).await?;

    let mut sql = scope.sql();
    let two = sql.arg(Bind::Time(c.two));
    let three = sql.arg(Bind::Time(c.three));
    sql.push(&format!(
        "SELECT COUNT(*) AS total, \
         COALESCE(SUM(CASE WHEN pkg_outdated > 0 THEN 1 ELSE 0 END), 0) AS needing, \
         COALESCE(SUM(CASE WHEN pkg_security > 0 THEN 1 ELSE 0 END), 0) AS security_hosts, \
         COALESCE(SUM(CASE WHEN pkg_total > 0 AND pkg_outdated = 0 THEN 1 ELSE 0 END), 0) AS up_to_date, \
         COALESCE(SUM(CASE WHEN pkg_total = 0 THEN 1 ELSE 0 END), 0) AS awaiting, \
         COALESCE(SUM(CASE WHEN needs_reboot THEN 1 ELSE 0 END), 0) AS reboot, \
         COALESCE(SUM(CASE WHEN status = 'pending' THEN 1 ELSE 0 END), 0) AS pending, \
         COALESCE(SUM(CASE WHEN status = 'active' AND (last_update IS NULL OR last_update < {two}) THEN 1 ELSE 0 END), 0) AS inactive, \
         COALESCE(SUM(CASE WHEN status = 'active' AND (last_update IS NULL OR last_update < {three}) THEN 1 ELSE 0 END), 0) AS offline \
         FROM hosts WHERE "
    ))
    .push(scope.filter());
    let k: Counters = fetch_all(state.db(), &sql)
        .await?
        .into_iter()
        .next()
        .unwrap_or_default();

    // Distinct outdated packages (partial index on needs_update).
    let mut q = scope.sql();
    q.push("SELECT COUNT(DISTINCT hp.package_id) FROM host_packages hp WHERE hp.needs_update")
        .push(&scope.host_in("hp.host_id"));
    let outdated_packages: i64 = fetch_scalar(state.db(), &q).await?;
    let mut q = scope.sql();
    q.push(
        "SELECT COUNT(DISTINCT hp.package_id) FROM host_packages hp \
         WHERE hp.needs_update AND hp.is_security_update",
    )
    .push(&scope.host_in("hp.host_id"));
    let security_packages: i64 = fetch_scalar(state.db(), &q).await?;

    let mut q = scope.sql();
    if scope.is_scoped() {
        q.push(
            "SELECT COUNT(DISTINCT hr.repository_id) FROM host_repositories hr \
             JOIN repositories r ON r.id = hr.repository_id JOIN hosts ON hosts.id = hr.host_id \
             WHERE r.is_active = TRUE AND ",
        )
        .push(scope.filter());
    } else {
        q.push("SELECT COUNT(*) FROM repositories WHERE is_active = TRUE");
    }
    let total_repos: i64 = fetch_scalar(state.db(), &q).await?;

    let mut q = scope.sql();
    let since = q.arg(Bind::Time(c.now - Duration::hours(24)));
    q.push(&format!(
        "SELECT COUNT(*) FROM update_history hp WHERE hp.timestamp >= {since} \
         AND hp.status = 'success' AND hp.report_type IN ('full', 'partial'){}",
        scope.host_in("hp.host_id")
    ));
    let recent: i64 = fetch_scalar(state.db(), &q).await?;

    let mut q = scope.sql();
    q.push(
        "SELECT os_type, os_version, COUNT(*) AS count FROM hosts WHERE os_type IS NOT NULL AND ",
    )
    .push(scope.filter())
    .push(" GROUP BY os_type, os_version ORDER BY COUNT(*) DESC, os_type, os_version");
    let os: Vec<OsRow> = fetch_all(state.db(), &q).await?;
    let os: Vec<OsCount> = os
        .into_iter()
        .map(|r| {
            let name = match &r.os_version {
                Some(v) if !v.is_empty() => format!("{} {v}", r.os_type),
                _ => r.os_type.clone(),
            };
            OsCount {
                os_type: r.os_type,
                os_version: r.os_version,
                name,
                count: r.count,
            }
        })
        .collect();

    let mut q = scope.sql();
    q.push("SELECT agent_version AS version, COUNT(*) AS count FROM hosts WHERE ")
        .push(scope.filter())
        .push(" GROUP BY agent_version ORDER BY COUNT(*) DESC, agent_version");
    let versions: Vec<VersionRow> = fetch_all(state.db(), &q).await?;

    let connected = if scope.is_scoped() {
        let mut q = scope.sql();
        q.push("SELECT api_id FROM hosts WHERE ")
            .push(scope.filter());
        let ids: Vec<(String,)> = fetch_all(state.db(), &q).await?;
        ids.iter()
            .filter(|(a,)| state.hub().is_connected(a))
            .count()
    } else {
        state.hub().connected_count()
    };

    Ok(DashboardStats {
        total_hosts: k.total,
        hosts_needing_updates: k.needing,
        hosts_with_security_updates: k.security_hosts,
        up_to_date_hosts: k.up_to_date,
        awaiting_data_hosts: k.awaiting,
        reboot_required_hosts: k.reboot,
        pending_hosts: k.pending,
        inactive_hosts: k.inactive,
        offline_hosts: k.offline,
        connected_agents: connected as i64,
        total_outdated_packages: outdated_packages,
        security_updates: security_packages,
        total_repos,
        recent_updates_24h: recent,
        os_distribution: os,
        agent_versions: versions,
        update_interval: c.interval,
        last_updated: c.now,
    })
}

#[utoipa::path(
    get,
    path = "/api/v1/dashboard/stats",
    tag = "Fleet",
    responses(
        (status = 200, description = "Success", body = DashboardStats),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn stats(
    State(state): State<AppState>,
    user: CurrentUser,
) -> AppResult<Json<DashboardStats>> {
    Ok(Json(compute(&state, &user).await?))
}

#[derive(Debug, Deserialize)]
struct TrendParams {
    days: Option<String>,
}

#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[schema(as = TrendPoint)]
pub struct Point {
    timestamp: DateTime<Utc>,
    total_hosts: i64,
    hosts_needing_updates: i64,
    security_updates: i64,
    total_outdated_packages: i64,
    up_to_date_hosts: i64,
    offline_hosts: i64,
}

#[utoipa::path(
    get,
    path = "/api/v1/dashboard/trends",
    tag = "Fleet",
    responses(
        (status = 200, description = "Success", body = Trends),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn trends(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(p): Query<TrendParams>,
) -> AppResult<Json<Trends>> {
    let days = match p.days.as_deref() {
        None => 30,
        Some(d) => parse_int("days", d, 1, 365)?,
    };
    let scope = Scope::of(&state, &user).await?;
    if scope.is_scoped() {
        // Snapshots are fleet-wide; a scoped role must not see fleet totals.
        return Ok(Json(Trends {
            days,
            scoped: true,
            points: vec![],
        }));
    }
    let since = state.now() - Duration::days(days);
    const SQL: &str = "SELECT timestamp, total_hosts, hosts_needing_updates, security_updates, \
        total_outdated_packages, up_to_date_hosts, offline_hosts FROM system_statistics \
        WHERE timestamp >= $1 ORDER BY timestamp";
    let points: Vec<Point> =
        with_db!(state.db(), p => sqlx::query_as(SQL).bind(since).fetch_all(p).await)?;
    Ok(Json(Trends {
        days,
        scoped: false,
        points,
    }))
}

/// The OpenAPI description of this module's routes (`crate::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(stats, trends))]
pub(crate) struct Api;
