//! The scoped integration API under `/api/v1/api` (HTTP Basic with `api`
//! tokens, resource→action scopes, IP allowlists) and the GetHomepage widget
//! endpoints. Response shapes follow PatchMon's Integration API docs so
//! users' scripts, the Ansible inventory plugin and widgets keep working.

pub mod gethomepage;

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::types::Json as DbJson;
use uuid::Uuid;

use crate::auth::session::ClientInfo;
use crate::error::AppError;
use crate::hosts::status::{self, EffectiveStatus, ReportingState, UpdateState};
use crate::state::AppState;
use crate::tokens::auth::{self as token_auth, TokenError};
use crate::tokens::{IntegrationType, Token};
use crate::with_db;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/api/hosts", get(list_hosts))
        .route("/api/v1/api/hosts/{id}", axum::routing::delete(delete_host))
        .route("/api/v1/api/hosts/{id}/stats", get(host_stats))
        .route("/api/v1/api/hosts/{id}/info", get(host_info))
        .route("/api/v1/api/hosts/{id}/network", get(host_network))
        .route("/api/v1/api/hosts/{id}/system", get(host_system))
        .route("/api/v1/api/hosts/{id}/packages", get(host_packages))
        .route(
            "/api/v1/api/hosts/{id}/package_reports",
            get(host_package_reports),
        )
        .route("/api/v1/api/hosts/{id}/agent_queue", get(host_agent_queue))
        .route("/api/v1/api/hosts/{id}/notes", get(host_notes))
        .route(
            "/api/v1/api/hosts/{id}/integrations",
            get(host_integrations),
        )
        .merge(gethomepage::router())
}

/// Either a handler's answer or a refusal, both rendered as JSON.
enum ApiError {
    Token(TokenError),
    App(AppError),
}

impl From<TokenError> for ApiError {
    fn from(e: TokenError) -> Self {
        Self::Token(e)
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        Self::App(e)
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        Self::App(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            Self::Token(e) => e.into_response(),
            Self::App(e) => e.into_response(),
        }
    }
}

type ApiResult<T> = Result<T, ApiError>;

/// Authenticates an `api` token and checks one scope.
async fn authorize(
    state: &AppState,
    headers: &HeaderMap,
    client: &ClientInfo,
    action: &str,
) -> ApiResult<Token> {
    let token = token_auth::basic(state, headers, client, IntegrationType::Api).await?;
    token_auth::require_scope(&token, "host", action)?;
    Ok(token)
}

fn parse_host_id(raw: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(raw.trim())
        .map_err(|_| ApiError::App(AppError::BadRequest("Invalid host ID format".into())))
}

fn not_found() -> ApiError {
    ApiError::App(AppError::NotFound("Host not found".into()))
}

/// Group memberships `(host_id → [{id, name}])`.
async fn memberships(state: &AppState) -> ApiResult<HashMap<Uuid, Vec<(Uuid, String)>>> {
    let rows: Vec<(Uuid, Uuid, String)> = with_db!(state.db(), p => sqlx::query_as(
        "SELECT m.host_id, g.id, g.name FROM host_group_memberships m \
         JOIN host_groups g ON g.id = m.host_group_id ORDER BY g.name")
        .fetch_all(p).await)?;
    let mut map: HashMap<Uuid, Vec<(Uuid, String)>> = HashMap::new();
    for (h, g, n) in rows {
        map.entry(h).or_default().push((g, n));
    }
    Ok(map)
}

/// A host group as the integration API names it.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ApiHostGroup)]
struct GroupRef {
    id: Uuid,
    name: String,
}

fn group_refs(groups: Vec<(Uuid, String)>) -> Vec<GroupRef> {
    groups
        .into_iter()
        .map(|(id, name)| GroupRef { id, name })
        .collect()
}

/// `GET /api/hosts`: every host (or those of the `hostgroup` filter).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ApiHostList)]
struct HostList {
    total: usize,
    hosts: Vec<ListedHost>,
    /// The `hostgroup` filter as understood (names or ids), when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    filtered_by_groups: Option<Vec<String>>,
}

/// A host of the list; the fields after `host_groups` come with `include=stats` only.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ApiListedHost)]
struct ListedHost {
    id: Uuid,
    friendly_name: String,
    /// `""` when unknown.
    hostname: String,
    /// `""` when unknown.
    ip: String,
    host_groups: Vec<GroupRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    os_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    os_version: Option<String>,
    /// Null until the host's first report.
    #[serde(skip_serializing_if = "Option::is_none")]
    last_update: Option<Option<DateTime<Utc>>>,
    /// The stored status (`active` or `pending`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    effective_status: Option<EffectiveStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    reporting_state: Option<ReportingState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    update_state: Option<UpdateState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    needs_reboot: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    updates_count: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    security_updates_count: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    total_packages: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct ListRow {
    id: Uuid,
    friendly_name: String,
    hostname: Option<String>,
    ip: Option<String>,
    os_type: Option<String>,
    os_version: Option<String>,
    last_update: Option<DateTime<Utc>>,
    status: String,
    needs_reboot: bool,
    total_packages: i64,
    updates_count: i64,
    security_updates_count: i64,
}

#[derive(Deserialize)]
struct ListQuery {
    hostgroup: Option<String>,
    include: Option<String>,
}

/// `GET /api/hosts/{id}/stats`.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ApiHostStats)]
struct HostStats {
    host_id: Uuid,
    total_installed_packages: i64,
    outdated_packages: i64,
    security_updates: i64,
    total_repos: i64,
}

/// `GET /api/hosts/{id}/info`. Unknown strings are `""`, as PatchMon sends them.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ApiHostInfo)]
struct HostInfo {
    id: Uuid,
    machine_id: Option<String>,
    friendly_name: String,
    hostname: String,
    ip: String,
    os_type: String,
    os_version: String,
    agent_version: Option<String>,
    host_groups: Vec<GroupRef>,
}

/// `GET /api/hosts/{id}/network`.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ApiHostNetwork)]
struct HostNetwork {
    id: Uuid,
    ip: String,
    gateway_ip: Option<String>,
    /// As the agent reported them (`[]` before the first report).
    #[schema(value_type = Vec<String>)]
    dns_servers: Value,
    /// Each interface as the agent reported it (all addresses, IPv6, MTU, …)
    /// plus the docs' flat `ip` (first IPv4, else IPv6) and `mac`.
    #[schema(value_type = Vec<Object>)]
    network_interfaces: Value,
}

/// `GET /api/hosts/{id}/system`.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ApiHostSystem)]
struct HostSystem {
    id: Uuid,
    architecture: Option<String>,
    kernel_version: Option<String>,
    installed_kernel_version: Option<String>,
    selinux_status: Option<String>,
    system_uptime: Option<String>,
    cpu_model: Option<String>,
    cpu_cores: Option<i64>,
    /// `"<n> MB"`.
    ram_installed: Option<String>,
    /// `"<n> MB"`.
    swap_size: Option<String>,
    /// `{"1min", "5min", "15min"}`, or null before the first report.
    #[schema(value_type = Option<Object>)]
    load_average: Value,
    /// Each disk as the agent reported it.
    #[schema(value_type = Vec<Object>)]
    disk_details: Value,
    needs_reboot: bool,
    reboot_reason: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ApiHostNotes)]
struct HostNotes {
    host_id: Uuid,
    notes: Option<String>,
}

/// `GET /api/hosts/{id}/integrations`.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ApiHostIntegrations)]
struct HostIntegrations {
    host_id: Uuid,
    integrations: IntegrationMap,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ApiIntegrationMap)]
struct IntegrationMap {
    docker: IntegrationInfo,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ApiIntegrationInfo)]
struct IntegrationInfo {
    enabled: bool,
    description: &'static str,
    /// The agent's last reported state of it, once it reported one.
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ApiHostDeleted)]
struct HostDeleted {
    message: &'static str,
    deleted: DeletedHost,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ApiDeletedHost)]
struct DeletedHost {
    id: Uuid,
    friendly_name: String,
    hostname: String,
}

#[utoipa::path(
    get,
    path = "/api/v1/api/hosts",
    tag = "Integration API",
    responses(
        (status = 200, description = "Success", body = HostList),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn list_hosts(
    State(state): State<AppState>,
    headers: HeaderMap,
    client: ClientInfo,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<HostList>> {
    authorize(&state, &headers, &client, "get").await?;
    let with_stats = q
        .include
        .as_deref()
        .is_some_and(|i| i.split(',').any(|p| p.trim() == "stats"));
    // The per-host counters are kept by report ingest (migration 0008), so
    // the list never aggregates host_packages.
    const SQL: &str = "SELECT h.id, h.friendly_name, h.hostname, h.ip, h.os_type, h.os_version, \
        h.last_update, h.status, h.needs_reboot, CAST(h.pkg_total AS BIGINT) AS total_packages, \
        CAST(h.pkg_outdated AS BIGINT) AS updates_count, \
        CAST(h.pkg_security AS BIGINT) AS security_updates_count \
        FROM hosts h ORDER BY h.friendly_name, h.id";
    let rows: Vec<ListRow> =
        with_db!(state.db(), p => sqlx::query_as::<_, ListRow>(SQL).fetch_all(p).await)?;
    let mut groups = memberships(&state).await?;

    // hostgroup=Production,550e8400-… : names or ids, any of them (OR).
    let filter: Option<Vec<String>> = q.hostgroup.as_deref().map(|s| {
        s.split(',')
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty())
            .collect()
    });
    let interval = crate::settings::agent_settings(state.db())
        .await?
        .update_interval;
    let now = state.now();
    let mut hosts = Vec::with_capacity(rows.len());
    for r in rows {
        let g = groups.remove(&r.id).unwrap_or_default();
        if let Some(f) = &filter
            && !g.iter().any(|(id, name)| {
                f.iter()
                    .any(|x| x == name || Uuid::parse_str(x).is_ok_and(|u| u == *id))
            })
        {
            continue;
        }
        let stats = with_stats.then_some(());
        hosts.push(ListedHost {
            effective_status: stats
                .map(|()| status::effective_status(&r.status, r.last_update, interval, now)),
            reporting_state: stats.map(|()| status::reporting_state(r.last_update, interval, now)),
            update_state: stats
                .map(|()| status::update_state(r.updates_count, r.security_updates_count)),
            last_update: stats.map(|()| r.last_update),
            needs_reboot: stats.map(|()| r.needs_reboot),
            updates_count: stats.map(|()| r.updates_count),
            security_updates_count: stats.map(|()| r.security_updates_count),
            total_packages: stats.map(|()| r.total_packages),
            os_type: stats.map(|()| r.os_type.unwrap_or_default()),
            os_version: stats.map(|()| r.os_version.unwrap_or_default()),
            status: stats.map(|()| r.status),
            id: r.id,
            friendly_name: r.friendly_name,
            hostname: r.hostname.unwrap_or_default(),
            ip: r.ip.unwrap_or_default(),
            host_groups: group_refs(g),
        });
    }
    Ok(Json(HostList {
        total: hosts.len(),
        hosts,
        filtered_by_groups: filter,
    }))
}

/// The host row the per-host endpoints read.
#[derive(sqlx::FromRow)]
struct HostRow {
    id: Uuid,
    machine_id: Option<String>,
    friendly_name: String,
    hostname: Option<String>,
    ip: Option<String>,
    os_type: Option<String>,
    os_version: Option<String>,
    agent_version: Option<String>,
    architecture: Option<String>,
    kernel_version: Option<String>,
    installed_kernel_version: Option<String>,
    selinux_status: Option<String>,
    system_uptime: Option<String>,
    cpu_model: Option<String>,
    cpu_cores: Option<i64>,
    ram_installed: Option<f64>,
    swap_size: Option<f64>,
    load_average: Option<DbJson<Value>>,
    disk_details: Option<DbJson<Value>>,
    gateway_ip: Option<String>,
    dns_servers: Option<DbJson<Value>>,
    network_interfaces: Option<DbJson<Value>>,
    needs_reboot: bool,
    reboot_reason: Option<String>,
    notes: Option<String>,
    docker_enabled: bool,
}

async fn load_host(state: &AppState, id: Uuid) -> ApiResult<HostRow> {
    const SQL: &str = "SELECT id, machine_id, friendly_name, hostname, ip, os_type, os_version, agent_version, \
        architecture, kernel_version, installed_kernel_version, selinux_status, system_uptime, cpu_model, \
        cpu_cores, ram_installed, swap_size, load_average, disk_details, gateway_ip, dns_servers, \
        network_interfaces, needs_reboot, reboot_reason, notes, docker_enabled FROM hosts WHERE id = $1";
    let row: Option<HostRow> = with_db!(state.db(), p => sqlx::query_as::<_, HostRow>(SQL)
        .bind(id).fetch_optional(p).await)?;
    row.ok_or_else(not_found)
}

/// A `/api/hosts/{id}/…` request with `host:get`: authenticated, the id
/// parsed and the host loaded, in the documented order (so a bad key is
/// refused before a bad id, and a bad id before a missing host).
struct ApiHost(HostRow);

impl axum::extract::FromRequestParts<AppState> for ApiHost {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Response> {
        let Ok(client) = ClientInfo::from_request_parts(parts, state).await;
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let load = async {
            authorize(state, &parts.headers, &client, "get").await?;
            let id = parse_host_id(&raw)?;
            load_host(state, id).await
        };
        load.await.map(Self).map_err(IntoResponse::into_response)
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/api/hosts/{id}/stats",
    tag = "Integration API",
    params(("id" = String, Path, description = "id")),
    responses(
        (status = 200, description = "Success", body = HostStats),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn host_stats(
    State(state): State<AppState>,
    ApiHost(h): ApiHost,
) -> ApiResult<Json<HostStats>> {
    let (total, outdated, security, repos): (i64, i64, i64, i64) = with_db!(state.db(), p => sqlx::query_as(
        "SELECT \
           (SELECT COUNT(*) FROM host_packages WHERE host_id = $1), \
           (SELECT COUNT(*) FROM host_packages WHERE host_id = $1 AND needs_update), \
           (SELECT COUNT(*) FROM host_packages WHERE host_id = $1 AND needs_update AND is_security_update), \
           (SELECT COUNT(*) FROM host_repositories WHERE host_id = $1)")
        .bind(h.id).fetch_one(p).await)?;
    Ok(Json(HostStats {
        host_id: h.id,
        total_installed_packages: total,
        outdated_packages: outdated,
        security_updates: security,
        total_repos: repos,
    }))
}

async fn host_groups_of(state: &AppState, id: Uuid) -> ApiResult<Vec<(Uuid, String)>> {
    Ok(with_db!(state.db(), p => sqlx::query_as(
        "SELECT g.id, g.name FROM host_group_memberships m JOIN host_groups g ON g.id = m.host_group_id \
         WHERE m.host_id = $1 ORDER BY g.name")
        .bind(id).fetch_all(p).await)?)
}

#[utoipa::path(
    get,
    path = "/api/v1/api/hosts/{id}/info",
    tag = "Integration API",
    params(("id" = String, Path, description = "id")),
    responses(
        (status = 200, description = "Success", body = HostInfo),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn host_info(
    State(state): State<AppState>,
    ApiHost(h): ApiHost,
) -> ApiResult<Json<HostInfo>> {
    let groups = host_groups_of(&state, h.id).await?;
    Ok(Json(HostInfo {
        id: h.id,
        machine_id: h.machine_id,
        friendly_name: h.friendly_name,
        hostname: h.hostname.unwrap_or_default(),
        ip: h.ip.unwrap_or_default(),
        os_type: h.os_type.unwrap_or_default(),
        os_version: h.os_version.unwrap_or_default(),
        agent_version: h.agent_version,
        host_groups: group_refs(groups),
    }))
}

/// Adds the docs' flat `ip` / `mac` to each interface the agent reported,
/// keeping everything else it sent (all addresses, IPv6, MTU, …).
fn interfaces_json(raw: Option<DbJson<Value>>) -> Value {
    let Some(DbJson(Value::Array(list))) = raw else {
        return json!([]);
    };
    Value::Array(
        list.into_iter()
            .map(|mut iface| {
                let addrs = iface.get("addresses").and_then(Value::as_array).cloned();
                let pick = |family: &str| {
                    addrs.as_ref().and_then(|a| {
                        a.iter()
                            .find(|x| x.get("family").and_then(Value::as_str) == Some(family))
                            .and_then(|x| x.get("address").cloned())
                    })
                };
                let ip = pick("inet")
                    .or_else(|| pick("inet6"))
                    .unwrap_or(Value::Null);
                let mac = iface
                    .get("macAddress")
                    .or_else(|| iface.get("mac_address"))
                    .cloned()
                    .unwrap_or(Value::Null);
                if let Some(o) = iface.as_object_mut() {
                    o.entry("ip").or_insert(ip);
                    o.entry("mac").or_insert(mac);
                }
                iface
            })
            .collect(),
    )
}

#[utoipa::path(
    get,
    path = "/api/v1/api/hosts/{id}/network",
    tag = "Integration API",
    params(("id" = String, Path, description = "id")),
    responses(
        (status = 200, description = "Success", body = HostNetwork),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn host_network(ApiHost(h): ApiHost) -> ApiResult<Json<HostNetwork>> {
    Ok(Json(HostNetwork {
        id: h.id,
        ip: h.ip.unwrap_or_default(),
        gateway_ip: h.gateway_ip,
        dns_servers: h.dns_servers.map_or(json!([]), |d| d.0),
        network_interfaces: interfaces_json(h.network_interfaces),
    }))
}

/// `[0.5, 0.3, 0.2]` (what agents send) → `{"1min","5min","15min"}` (the docs' shape).
fn load_json(raw: Option<DbJson<Value>>) -> Value {
    match raw.map(|d| d.0) {
        Some(Value::Array(a)) if a.len() == 3 => {
            json!({"1min": a[0], "5min": a[1], "15min": a[2]})
        }
        Some(v) => v,
        None => Value::Null,
    }
}

fn megabytes(gb: Option<f64>) -> Option<String> {
    gb.map(|g| format!("{} MB", (g * 1024.0).round() as i64))
}

#[utoipa::path(
    get,
    path = "/api/v1/api/hosts/{id}/system",
    tag = "Integration API",
    params(("id" = String, Path, description = "id")),
    responses(
        (status = 200, description = "Success", body = HostSystem),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn host_system(ApiHost(h): ApiHost) -> ApiResult<Json<HostSystem>> {
    Ok(Json(HostSystem {
        id: h.id,
        architecture: h.architecture,
        kernel_version: h.kernel_version,
        installed_kernel_version: h.installed_kernel_version,
        selinux_status: h.selinux_status,
        system_uptime: h.system_uptime,
        cpu_model: h.cpu_model,
        cpu_cores: h.cpu_cores,
        ram_installed: megabytes(h.ram_installed),
        swap_size: megabytes(h.swap_size),
        load_average: load_json(h.load_average),
        disk_details: h.disk_details.map_or(json!([]), |d| d.0),
        needs_reboot: h.needs_reboot,
        reboot_reason: h.reboot_reason,
    }))
}

/// `GET /api/hosts/{id}/packages`.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ApiHostPackages)]
struct HostPackages {
    host: HostRef,
    total: usize,
    packages: Vec<ApiPackage>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ApiHostRef)]
struct HostRef {
    id: Uuid,
    hostname: String,
    friendly_name: String,
}

// Read straight from the database in the wire shape.
#[derive(Serialize, sqlx::FromRow, utoipa::ToSchema)]
struct ApiPackage {
    id: Uuid,
    name: String,
    description: Option<String>,
    category: Option<String>,
    current_version: String,
    /// Only when the package needs an update.
    available_version: Option<String>,
    needs_update: bool,
    is_security_update: bool,
    last_checked: DateTime<Utc>,
}

#[derive(Deserialize)]
struct PackagesQuery {
    updates_only: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/api/hosts/{id}/packages",
    tag = "Integration API",
    params(("id" = String, Path, description = "id")),
    responses(
        (status = 200, description = "Success", body = HostPackages),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn host_packages(
    State(state): State<AppState>,
    ApiHost(h): ApiHost,
    Query(q): Query<PackagesQuery>,
) -> ApiResult<Json<HostPackages>> {
    macro_rules! select {
        () => {
            "SELECT hp.package_id AS id, p.name, p.description, p.category, hp.current_version, \
             CASE WHEN hp.needs_update THEN hp.available_version END AS available_version, \
             hp.needs_update, hp.is_security_update, hp.updated_at AS last_checked \
             FROM host_packages hp JOIN packages p ON p.id = hp.package_id WHERE hp.host_id = $1"
        };
    }
    const ALL: &str = concat!(
        select!(),
        " ORDER BY hp.is_security_update DESC, hp.needs_update DESC, p.name"
    );
    const UPDATES: &str = concat!(
        select!(),
        " AND hp.needs_update ORDER BY hp.is_security_update DESC, hp.needs_update DESC, p.name"
    );
    let sql = if matches!(q.updates_only.as_deref(), Some("true" | "1")) {
        UPDATES
    } else {
        ALL
    };
    let packages: Vec<ApiPackage> = with_db!(state.db(), p => sqlx::query_as::<_, ApiPackage>(sql)
        .bind(h.id).fetch_all(p).await)?;
    Ok(Json(HostPackages {
        host: HostRef {
            id: h.id,
            hostname: h.hostname.unwrap_or_default(),
            friendly_name: h.friendly_name,
        },
        total: packages.len(),
        packages,
    }))
}

#[derive(Deserialize)]
struct LimitQuery {
    limit: Option<String>,
}

fn limit(q: &LimitQuery) -> ApiResult<i64> {
    match q.limit.as_deref() {
        None | Some("") => Ok(10),
        Some(s) => match s.parse::<i64>() {
            Ok(n) if (1..=1000).contains(&n) => Ok(n),
            _ => Err(ApiError::App(AppError::BadRequest(
                "limit must be a number between 1 and 1000".into(),
            ))),
        },
    }
}

/// `GET /api/hosts/{id}/package_reports`: the latest package reports.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ApiPackageReports)]
struct PackageReports {
    host_id: Uuid,
    total: usize,
    reports: Vec<PackageReport>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ApiPackageReport)]
struct PackageReport {
    id: Uuid,
    status: String,
    date: DateTime<Utc>,
    total_packages: i64,
    outdated_packages: i64,
    security_updates: i64,
    /// Rounded to 0.01.
    payload_kb: f64,
    /// The agent's own timing when it sent one, else the server's; rounded to 0.001.
    execution_time_seconds: f64,
    error_message: Option<String>,
}

#[derive(sqlx::FromRow)]
struct ReportRow {
    id: Uuid,
    status: String,
    timestamp: DateTime<Utc>,
    total_packages: i64,
    packages_count: i64,
    security_count: i64,
    payload_size_kb: f64,
    execution_time: f64,
    agent_execution_ms: Option<i64>,
    error_message: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/api/hosts/{id}/package_reports",
    tag = "Integration API",
    params(("id" = String, Path, description = "id")),
    responses(
        (status = 200, description = "Success", body = PackageReports),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn host_package_reports(
    State(state): State<AppState>,
    ApiHost(h): ApiHost,
    Query(q): Query<LimitQuery>,
) -> ApiResult<Json<PackageReports>> {
    let n = limit(&q)?;
    let rows: Vec<ReportRow> = with_db!(state.db(), p => sqlx::query_as::<_, ReportRow>(
        "SELECT id, status, timestamp, total_packages, packages_count, security_count, payload_size_kb, \
         execution_time, agent_execution_ms, error_message FROM update_history \
         WHERE host_id = $1 AND report_type IN ('full', 'partial') ORDER BY timestamp DESC LIMIT $2")
        .bind(h.id).bind(n).fetch_all(p).await)?;
    let reports: Vec<PackageReport> = rows
        .into_iter()
        .map(|r| {
            let secs = r
                .agent_execution_ms
                .map_or(r.execution_time, |ms| ms as f64 / 1000.0);
            PackageReport {
                id: r.id,
                status: r.status,
                date: r.timestamp,
                total_packages: r.total_packages,
                outdated_packages: r.packages_count,
                security_updates: r.security_count,
                payload_kb: (r.payload_size_kb * 100.0).round() / 100.0,
                execution_time_seconds: (secs * 1000.0).round() / 1000.0,
                error_message: r.error_message,
            }
        })
        .collect();
    Ok(Json(PackageReports {
        host_id: h.id,
        total: reports.len(),
        reports,
    }))
}

/// `GET /api/hosts/{id}/agent_queue`: the host's job counts and latest jobs.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ApiAgentQueue)]
struct AgentQueue {
    host_id: Uuid,
    queue_status: QueueCounts,
    job_history: Vec<ApiJob>,
    total_jobs: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ApiQueueCounts)]
struct QueueCounts {
    waiting: i64,
    active: i64,
    delayed: i64,
    failed: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
struct ApiJob {
    id: Uuid,
    job_id: String,
    job_name: String,
    status: String,
    attempt: i64,
    created_at: DateTime<Utc>,
    completed_at: Option<DateTime<Utc>>,
    error_message: Option<String>,
    #[schema(value_type = Option<Object>)]
    output: Option<Value>,
}

#[derive(sqlx::FromRow)]
struct JobRow {
    id: Uuid,
    job_id: String,
    job_name: String,
    status: String,
    attempt_number: i64,
    created_at: DateTime<Utc>,
    completed_at: Option<DateTime<Utc>>,
    error_message: Option<String>,
    /// JSONB on PostgreSQL, TEXT on SQLite: decoded as JSON on both.
    output: Option<sqlx::types::Json<Value>>,
}

#[utoipa::path(
    get,
    path = "/api/v1/api/hosts/{id}/agent_queue",
    tag = "Integration API",
    params(("id" = String, Path, description = "id")),
    responses(
        (status = 200, description = "Success", body = AgentQueue),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn host_agent_queue(
    State(state): State<AppState>,
    ApiHost(h): ApiHost,
    Query(q): Query<LimitQuery>,
) -> ApiResult<Json<AgentQueue>> {
    let n = limit(&q)?;
    let (rows, counts, total) = with_db!(state.db(), p => {
        let rows: Vec<JobRow> = sqlx::query_as::<_, JobRow>(
            "SELECT id, job_id, job_name, status, attempt_number, created_at, completed_at, error_message, \
             output FROM job_history WHERE host_id = $1 ORDER BY created_at DESC LIMIT $2")
            .bind(h.id).bind(n).fetch_all(p).await?;
        let counts: Vec<(String, i64)> = sqlx::query_as(
            "SELECT status, COUNT(*) FROM job_history WHERE host_id = $1 GROUP BY status")
            .bind(h.id).fetch_all(p).await?;
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM job_history WHERE host_id = $1")
            .bind(h.id).fetch_one(p).await?;
        Ok::<_, sqlx::Error>((rows, counts, total))
    })?;
    let count = |names: &[&str]| -> i64 {
        counts
            .iter()
            .filter(|(s, _)| names.contains(&s.as_str()))
            .map(|(_, c)| c)
            .sum()
    };
    let jobs: Vec<ApiJob> = rows
        .into_iter()
        .map(|j| ApiJob {
            id: j.id,
            job_id: j.job_id,
            job_name: j.job_name,
            status: j.status,
            attempt: j.attempt_number,
            created_at: j.created_at,
            completed_at: j.completed_at,
            error_message: j.error_message,
            output: j.output.map(|o| o.0),
        })
        .collect();
    Ok(Json(AgentQueue {
        host_id: h.id,
        queue_status: QueueCounts {
            waiting: count(&["waiting", "queued", "pending"]),
            active: count(&["active", "running"]),
            delayed: count(&["delayed", "retrying"]),
            failed: count(&["failed"]),
        },
        job_history: jobs,
        total_jobs: total,
    }))
}

#[utoipa::path(
    get,
    path = "/api/v1/api/hosts/{id}/notes",
    tag = "Integration API",
    params(("id" = String, Path, description = "id")),
    responses(
        (status = 200, description = "Success", body = HostNotes),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn host_notes(ApiHost(h): ApiHost) -> ApiResult<Json<HostNotes>> {
    Ok(Json(HostNotes {
        host_id: h.id,
        notes: h.notes,
    }))
}

const DOCKER_DESCRIPTION: &str = "Monitor Docker containers, images, volumes, and networks. \
    Collects real-time container status events.";

#[utoipa::path(
    get,
    path = "/api/v1/api/hosts/{id}/integrations",
    tag = "Integration API",
    params(("id" = String, Path, description = "id")),
    responses(
        (status = 200, description = "Success", body = HostIntegrations),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn host_integrations(
    State(state): State<AppState>,
    ApiHost(h): ApiHost,
) -> ApiResult<Json<HostIntegrations>> {
    let statuses: Vec<(String, String)> = with_db!(state.db(), p => sqlx::query_as(
        "SELECT integration, status FROM host_integration_status WHERE host_id = $1 ORDER BY integration")
        .bind(h.id).fetch_all(p).await)?;
    let docker = IntegrationInfo {
        enabled: h.docker_enabled,
        description: DOCKER_DESCRIPTION,
        status: statuses
            .into_iter()
            .find(|(i, _)| i == "docker")
            .map(|(_, s)| s),
    };
    Ok(Json(HostIntegrations {
        host_id: h.id,
        integrations: IntegrationMap { docker },
    }))
}

#[utoipa::path(
    delete,
    path = "/api/v1/api/hosts/{id}",
    tag = "Integration API",
    params(("id" = String, Path, description = "id")),
    responses(
        (status = 200, description = "Success", body = HostDeleted),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn delete_host(
    State(state): State<AppState>,
    headers: HeaderMap,
    client: ClientInfo,
    Path(raw): Path<String>,
) -> ApiResult<Json<HostDeleted>> {
    let token = authorize(&state, &headers, &client, "delete").await?;
    let id = parse_host_id(&raw)?;
    let h = load_host(&state, id).await?;
    crate::hosts::delete_host(&state, id)
        .await
        .map_err(|e| match e {
            AppError::NotFound(_) => not_found(),
            other => ApiError::App(other),
        })?;
    tracing::info!(host_id = %id, token = %token.token_name, "host deleted through the integration API");
    Ok(Json(HostDeleted {
        message: "Host deleted successfully",
        deleted: DeletedHost {
            id,
            friendly_name: h.friendly_name,
            hostname: h.hostname.unwrap_or_default(),
        },
    }))
}

/// The OpenAPI description of this module's routes (`crate::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list_hosts,
    delete_host,
    host_stats,
    host_info,
    host_network,
    host_system,
    host_packages,
    host_package_reports,
    host_agent_queue,
    host_notes,
    host_integrations
))]
pub(crate) struct Api;
