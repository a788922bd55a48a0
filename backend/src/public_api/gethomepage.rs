//! GetHomepage widget: `GET /api/v1/gethomepage/stats` and `/health`, HTTP
//! Basic with a `gethomepage`-type token (no scopes for this type).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{Duration, SecondsFormat};
use serde::Serialize;

use super::ApiResult;
use crate::auth::session::ClientInfo;
use crate::state::AppState;
use crate::tokens::IntegrationType;
use crate::tokens::auth as token_auth;
use crate::with_db;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/gethomepage/stats", get(stats))
        .route("/api/v1/gethomepage/health", get(health))
}

/// `GET /gethomepage/health`.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = GetHomepageHealth)]
struct Health {
    /// Always `ok`.
    status: &'static str,
    /// The name of the token used (PatchMon calls it the API key).
    api_key: String,
    /// RFC 3339, milliseconds.
    timestamp: String,
}

#[utoipa::path(
    get,
    path = "/api/v1/gethomepage/health",
    tag = "GetHomepage",
    responses(
        (status = 200, description = "Success", body = Health),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn health(
    State(state): State<AppState>,
    headers: HeaderMap,
    client: ClientInfo,
) -> ApiResult<Json<Health>> {
    let token = token_auth::basic(&state, &headers, &client, IntegrationType::GetHomepage).await?;
    Ok(Json(Health {
        status: "ok",
        api_key: token.token_name,
        timestamp: state.now().to_rfc3339_opts(SecondsFormat::Millis, true),
    }))
}

/// `GET /gethomepage/stats`: every field the widget's `mappings` may name.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = GetHomepageStats)]
struct Stats {
    total_hosts: i64,
    hosts_needing_updates: i64,
    up_to_date_hosts: i64,
    /// Hosts that have not sent a package report yet.
    awaiting_data_hosts: i64,
    total_outdated_packages: i64,
    security_updates: i64,
    hosts_with_security_updates: i64,
    total_repos: i64,
    recent_updates_24h: i64,
    /// RFC 3339, milliseconds.
    last_updated: String,
    /// The most common OS (`"None"` and 0 when there is none).
    top_os_1_name: String,
    top_os_1_count: i64,
    top_os_2_name: String,
    top_os_2_count: i64,
    top_os_3_name: String,
    top_os_3_count: i64,
    /// Active hosts by OS, most common first.
    os_distribution: Vec<OsCount>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = GetHomepageOs)]
struct OsCount {
    /// `"<os_type> <os_version>"`, or `Unknown`.
    name: String,
    os_type: String,
    os_version: String,
    count: i64,
}

/// The fleet numbers of the widget. Every count is computed in one read.
#[utoipa::path(
    get,
    path = "/api/v1/gethomepage/stats",
    tag = "GetHomepage",
    responses(
        (status = 200, description = "Success", body = Stats),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn stats(
    State(state): State<AppState>,
    headers: HeaderMap,
    client: ClientInfo,
) -> ApiResult<Json<Stats>> {
    token_auth::basic(&state, &headers, &client, IntegrationType::GetHomepage).await?;
    let now = state.now();
    const COUNTS: &str = "SELECT \
        (SELECT COUNT(*) FROM hosts), \
        (SELECT COUNT(DISTINCT host_id) FROM host_packages WHERE needs_update), \
        (SELECT COUNT(*) FROM hosts h WHERE EXISTS (SELECT 1 FROM host_packages hp WHERE hp.host_id = h.id)), \
        (SELECT COUNT(DISTINCT package_id) FROM host_packages WHERE needs_update), \
        (SELECT COUNT(DISTINCT package_id) FROM host_packages WHERE needs_update AND is_security_update), \
        (SELECT COUNT(DISTINCT host_id) FROM host_packages WHERE needs_update AND is_security_update), \
        (SELECT COUNT(*) FROM repositories WHERE is_active), \
        (SELECT COUNT(*) FROM update_history WHERE timestamp >= $1 AND status = 'success' \
            AND report_type IN ('full', 'partial'))";
    const OS: &str = "SELECT COALESCE(os_type, ''), COALESCE(os_version, ''), COUNT(*) AS n FROM hosts \
        WHERE status = 'active' GROUP BY COALESCE(os_type, ''), COALESCE(os_version, '') \
        ORDER BY n DESC, 1, 2";
    type Counts = (i64, i64, i64, i64, i64, i64, i64, i64);
    let (counts, os): (Counts, Vec<(String, String, i64)>) = with_db!(state.db(), p => {
        let mut tx = p.begin().await?;
        let c: Counts = sqlx::query_as(COUNTS).bind(now - Duration::hours(24)).fetch_one(&mut *tx).await?;
        let os: Vec<(String, String, i64)> = sqlx::query_as(OS).fetch_all(&mut *tx).await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>((c, os))
    })?;
    let (total, needing, with_data, outdated, security, hosts_security, repos, recent) = counts;
    let os_distribution: Vec<OsCount> = os
        .into_iter()
        .map(|(os_type, os_version, count)| {
            let name = format!("{os_type} {os_version}").trim().to_owned();
            OsCount {
                name: if name.is_empty() {
                    "Unknown".to_owned()
                } else {
                    name
                },
                os_type,
                os_version,
                count,
            }
        })
        .collect();
    let top = |i: usize| {
        os_distribution
            .get(i)
            .map_or(("None".to_owned(), 0), |o| (o.name.clone(), o.count))
    };
    let (
        (top_os_1_name, top_os_1_count),
        (top_os_2_name, top_os_2_count),
        (top_os_3_name, top_os_3_count),
    ) = (top(0), top(1), top(2));
    Ok(Json(Stats {
        total_hosts: total,
        hosts_needing_updates: needing,
        up_to_date_hosts: (with_data - needing).max(0),
        awaiting_data_hosts: (total - with_data).max(0),
        total_outdated_packages: outdated,
        security_updates: security,
        hosts_with_security_updates: hosts_security,
        total_repos: repos,
        recent_updates_24h: recent,
        last_updated: now.to_rfc3339_opts(SecondsFormat::Millis, true),
        top_os_1_name,
        top_os_1_count,
        top_os_2_name,
        top_os_2_count,
        top_os_3_name,
        top_os_3_count,
        os_distribution,
    }))
}

/// The OpenAPI description of this module's routes (`crate::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(stats, health))]
pub(crate) struct Api;
