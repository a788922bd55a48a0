//! `/api/v1/hosts…`: the host table, host detail and host edits.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::types::Json as SqlJson;
use uuid::Uuid;

use super::{
    Bind, GroupRef, PageParams, Pagination, Scope, Sql, fetch_all, fetch_scalar, host_not_found,
    like_pattern, nulls_last, parse_bool, parse_order, required_text,
};
use crate::error::{AppError, AppResult};
use crate::extract::{AppJson, AppPath};
use crate::hosts::credentials;
use crate::hosts::status::{self, EffectiveStatus, ReportingState, UpdateState};
use crate::rbac::{Access, ApiRouter, CurrentUser, Permission};
use crate::state::AppState;
use crate::with_db;

const VIEW: Access = Access::Requires(Permission::ViewHosts);
const MANAGE: Access = Access::Requires(Permission::ManageHosts);

pub fn routes(api: ApiRouter) -> ApiRouter {
    api.get("/api/v1/hosts", VIEW, list)
        .post("/api/v1/hosts", MANAGE, create)
        .put("/api/v1/hosts/bulk/groups", MANAGE, bulk_groups)
        .get("/api/v1/hosts/{host_id}", VIEW, detail)
        .delete("/api/v1/hosts/{host_id}", MANAGE, delete)
        .get("/api/v1/hosts/{host_id}/packages", VIEW, packages)
        .get("/api/v1/hosts/{host_id}/repositories", VIEW, repositories)
        .get("/api/v1/hosts/{host_id}/history", VIEW, history)
        .patch(
            "/api/v1/hosts/{host_id}/friendly-name",
            MANAGE,
            friendly_name,
        )
        .patch("/api/v1/hosts/{host_id}/notes", MANAGE, notes)
        .put("/api/v1/hosts/{host_id}/groups", MANAGE, set_groups)
        .put(
            "/api/v1/hosts/{host_id}/integrations",
            MANAGE,
            set_integrations,
        )
        .post(
            "/api/v1/hosts/{host_id}/regenerate-credentials",
            MANAGE,
            regenerate,
        )
        .post("/api/v1/hosts/{host_id}/fetch-report", MANAGE, fetch_report)
}

// ---------------------------------------------------------------- list

/// Filters and sort of the host list (also used by the export).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct HostListParams {
    #[serde(flatten)]
    pub page: PageParams,
    pub search: Option<String>,
    pub group_id: Option<String>,
    pub os: Option<String>,
    pub status: Option<String>,
    pub reporting_state: Option<String>,
    pub needs_updates: Option<String>,
    pub security_updates: Option<String>,
    pub needs_reboot: Option<String>,
    pub sort: Option<String>,
    pub order: Option<String>,
    /// Only for the export.
    pub format: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct HostRow {
    id: Uuid,
    api_id: String,
    friendly_name: String,
    hostname: Option<String>,
    ip: Option<String>,
    os_type: Option<String>,
    os_version: Option<String>,
    architecture: Option<String>,
    agent_version: Option<String>,
    status: String,
    needs_reboot: bool,
    last_update: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    pkg_total: i64,
    pkg_outdated: i64,
    pkg_security: i64,
}

const LIST_COLUMNS: &str = "hosts.id, hosts.api_id, hosts.friendly_name, hosts.hostname, hosts.ip, \
    hosts.os_type, hosts.os_version, hosts.architecture, hosts.agent_version, hosts.status, \
    hosts.needs_reboot, hosts.last_update, hosts.created_at, hosts.pkg_total, hosts.pkg_outdated, \
    hosts.pkg_security";

/// One row of the host table.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HostListItem {
    pub id: Uuid,
    pub api_id: String,
    pub friendly_name: String,
    pub hostname: Option<String>,
    pub ip: Option<String>,
    pub os_type: Option<String>,
    pub os_version: Option<String>,
    pub architecture: Option<String>,
    pub agent_version: Option<String>,
    pub status: String,
    pub effective_status: EffectiveStatus,
    pub reporting_state: ReportingState,
    pub update_state: UpdateState,
    pub total_packages: i64,
    pub updates_available: i64,
    pub security_updates: i64,
    pub needs_reboot: bool,
    pub groups: Vec<GroupRef>,
    pub connected: bool,
    pub last_update: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// Status cut-offs for a given update interval.
#[derive(Debug, Clone, Copy)]
pub struct Cutoffs {
    pub interval: i64,
    pub now: DateTime<Utc>,
    /// Silent since before this: overdue.
    pub one: DateTime<Utc>,
    /// … inactive (2×).
    pub two: DateTime<Utc>,
    /// … offline (3×).
    pub three: DateTime<Utc>,
}

impl Cutoffs {
    pub async fn load(state: &AppState) -> AppResult<Self> {
        let interval = crate::settings::agent_settings(state.db())
            .await?
            .update_interval;
        let now = state.now();
        let i = Duration::minutes(interval.max(1));
        Ok(Self {
            interval,
            now,
            one: now - i,
            two: now - i * 2,
            three: now - i * 3,
        })
    }
}

/// WHERE clause (after `WHERE`) for the list filters; scope first.
fn list_filters(sql: &mut Sql, scope: &Scope, p: &HostListParams, c: &Cutoffs) -> AppResult<()> {
    sql.push(scope.filter());
    if let Some(pat) = like_pattern(p.search.as_deref().unwrap_or(""))? {
        let a = sql.arg(Bind::Str(pat));
        sql.push(&format!(
            " AND (LOWER(hosts.friendly_name) LIKE {a} ESCAPE '\\' \
             OR LOWER(COALESCE(hosts.hostname, '')) LIKE {a} ESCAPE '\\' \
             OR LOWER(COALESCE(hosts.ip, '')) LIKE {a} ESCAPE '\\')"
        ));
    }
    match p.group_id.as_deref().map(str::trim) {
        None | Some("") => {}
        Some("ungrouped") => {
            sql.push(
                " AND NOT EXISTS (SELECT 1 FROM host_group_memberships gm WHERE gm.host_id = hosts.id)",
            );
        }
        Some(g) => {
            let id = Uuid::parse_str(g).map_err(|_| {
                AppError::BadRequest("group_id must be a UUID or \"ungrouped\"".into())
            })?;
            let a = sql.arg(Bind::Uuid(id));
            sql.push(&format!(
                " AND EXISTS (SELECT 1 FROM host_group_memberships gm WHERE gm.host_id = hosts.id AND gm.host_group_id = {a})"
            ));
        }
    }
    if let Some(os) = p.os.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let a = sql.arg(Bind::Str(os.to_owned()));
        sql.push(&format!(" AND hosts.os_type = {a}"));
    }
    match p.status.as_deref().map(str::trim) {
        None | Some("") => {}
        Some("pending") => {
            sql.push(" AND hosts.status = 'pending'");
        }
        Some("active") => {
            let a = sql.arg(Bind::Time(c.two));
            sql.push(&format!(
                " AND hosts.status = 'active' AND hosts.last_update >= {a}"
            ));
        }
        Some("inactive") => {
            let a = sql.arg(Bind::Time(c.two));
            sql.push(&format!(
                " AND hosts.status = 'active' AND (hosts.last_update IS NULL OR hosts.last_update < {a})"
            ));
        }
        Some(_) => {
            return Err(AppError::BadRequest(
                "status must be pending, active or inactive".into(),
            ));
        }
    }
    match p.reporting_state.as_deref().map(str::trim) {
        None | Some("") => {}
        Some("reporting") => {
            let a = sql.arg(Bind::Time(c.one));
            sql.push(&format!(" AND hosts.last_update >= {a}"));
        }
        Some("overdue") => {
            let a = sql.arg(Bind::Time(c.one));
            let b = sql.arg(Bind::Time(c.two));
            sql.push(&format!(
                " AND hosts.last_update < {a} AND hosts.last_update >= {b}"
            ));
        }
        Some("stale") => {
            let a = sql.arg(Bind::Time(c.two));
            sql.push(&format!(
                " AND (hosts.last_update IS NULL OR hosts.last_update < {a})"
            ));
        }
        Some(_) => {
            return Err(AppError::BadRequest(
                "reporting_state must be reporting, overdue or stale".into(),
            ));
        }
    }
    let flag = |name: &str, v: &Option<String>, yes: &str, no: &str, sql: &mut Sql| {
        match parse_bool(name, v.as_deref())? {
            Some(true) => {
                sql.push(yes);
            }
            Some(false) => {
                sql.push(no);
            }
            None => {}
        }
        Ok::<_, AppError>(())
    };
    flag(
        "needs_updates",
        &p.needs_updates,
        " AND hosts.pkg_outdated > 0",
        " AND hosts.pkg_outdated = 0",
        sql,
    )?;
    flag(
        "security_updates",
        &p.security_updates,
        " AND hosts.pkg_security > 0",
        " AND hosts.pkg_security = 0",
        sql,
    )?;
    flag(
        "needs_reboot",
        &p.needs_reboot,
        " AND hosts.needs_reboot = TRUE",
        " AND hosts.needs_reboot = FALSE",
        sql,
    )?;
    Ok(())
}

fn list_order(sql: &mut Sql, p: &HostListParams, c: &Cutoffs) -> AppResult<()> {
    let dir = parse_order(p.order.as_deref())?;
    let key = match p.sort.as_deref().map(str::trim) {
        None | Some("") | Some("friendly_name") => format!("LOWER(hosts.friendly_name) {dir}"),
        Some("hostname") => nulls_last("LOWER(hosts.hostname)", dir),
        Some("ip") => nulls_last("hosts.ip", dir),
        Some("os") => format!(
            "{}, {}",
            nulls_last("LOWER(hosts.os_type)", dir),
            nulls_last("LOWER(hosts.os_version)", dir)
        ),
        Some("status") => {
            let a = sql.arg(Bind::Time(c.two));
            format!(
                "CASE WHEN hosts.status = 'pending' THEN 0 WHEN hosts.last_update >= {a} THEN 1 ELSE 2 END {dir}"
            )
        }
        Some("last_update") => nulls_last("hosts.last_update", dir),
        Some("updates") => format!("hosts.pkg_outdated {dir}"),
        Some("security_updates") => format!("hosts.pkg_security {dir}"),
        Some("total_packages") => format!("hosts.pkg_total {dir}"),
        Some("agent_version") => nulls_last("hosts.agent_version", dir),
        Some("needs_reboot") => format!("hosts.needs_reboot {dir}"),
        Some("created_at") => format!("hosts.created_at {dir}"),
        Some(_) => {
            return Err(AppError::BadRequest(
                "sort must be one of friendly_name, hostname, ip, os, status, last_update, updates, \
                 security_updates, total_packages, agent_version, needs_reboot, created_at"
                    .into(),
            ));
        }
    };
    // Ties: by name, then id, so pages are stable.
    sql.push(&format!(
        " ORDER BY {key}, LOWER(hosts.friendly_name) ASC, hosts.id ASC"
    ));
    Ok(())
}

/// Group memberships of the given hosts (all hosts when `ids` is None).
async fn groups_of(
    state: &AppState,
    ids: Option<&[Uuid]>,
) -> AppResult<HashMap<Uuid, Vec<GroupRef>>> {
    #[derive(sqlx::FromRow)]
    struct M {
        host_id: Uuid,
        id: Uuid,
        name: String,
        color: String,
    }
    let mut sql = Sql::plain();
    sql.push(
        "SELECT m.host_id, g.id, g.name, g.color FROM host_group_memberships m \
         JOIN host_groups g ON g.id = m.host_group_id",
    );
    if let Some(ids) = ids {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let ph: Vec<String> = ids.iter().map(|id| sql.arg(Bind::Uuid(*id))).collect();
        sql.push(&format!(" WHERE m.host_id IN ({})", ph.join(", ")));
    }
    sql.push(" ORDER BY g.name");
    let rows: Vec<M> = fetch_all(state.db(), &sql).await?;
    let mut map: HashMap<Uuid, Vec<GroupRef>> = HashMap::new();
    for r in rows {
        map.entry(r.host_id).or_default().push(GroupRef {
            id: r.id,
            name: r.name,
            color: r.color,
        });
    }
    Ok(map)
}

fn item(state: &AppState, r: HostRow, c: &Cutoffs, groups: Vec<GroupRef>) -> HostListItem {
    HostListItem {
        effective_status: status::effective_status(&r.status, r.last_update, c.interval, c.now),
        reporting_state: status::reporting_state(r.last_update, c.interval, c.now),
        update_state: status::update_state(r.pkg_outdated, r.pkg_security),
        connected: state.hub().is_connected(&r.api_id),
        groups,
        id: r.id,
        api_id: r.api_id,
        friendly_name: r.friendly_name,
        hostname: r.hostname,
        ip: r.ip,
        os_type: r.os_type,
        os_version: r.os_version,
        architecture: r.architecture,
        agent_version: r.agent_version,
        status: r.status,
        total_packages: r.pkg_total,
        updates_available: r.pkg_outdated,
        security_updates: r.pkg_security,
        needs_reboot: r.needs_reboot,
        last_update: r.last_update,
        created_at: r.created_at,
    }
}

/// The filtered, sorted host list; `paged` false returns every match (export).
pub async fn query_hosts(
    state: &AppState,
    user: &CurrentUser,
    p: &HostListParams,
    paged: bool,
) -> AppResult<(Vec<HostListItem>, Option<Pagination>)> {
    let scope = Scope::of(state, user).await?;
    let c = Cutoffs::load(state).await?;
    let page = p.page.resolve(50)?;

    let mut sql = scope.sql();
    sql.push("SELECT ")
        .push(LIST_COLUMNS)
        .push(" FROM hosts WHERE ");
    list_filters(&mut sql, &scope, p, &c)?;
    let mut count = sql.clone();
    count.text = count.text.replacen(
        &format!("SELECT {LIST_COLUMNS} FROM"),
        "SELECT COUNT(*) FROM",
        1,
    );
    list_order(&mut sql, p, &c)?;
    if paged {
        page.sql(&mut sql);
    }
    let rows: Vec<HostRow> = fetch_all(state.db(), &sql).await?;
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
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut groups = groups_of(state, if paged { Some(&ids) } else { None }).await?;
    let items = rows
        .into_iter()
        .map(|r| {
            let g = groups.remove(&r.id).unwrap_or_default();
            item(state, r, &c, g)
        })
        .collect();
    Ok((items, pagination))
}

#[utoipa::path(
    get,
    path = "/api/v1/hosts",
    tag = "Fleet",
    responses(
        (status = 200, description = "Success", body = HostList),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(p): Query<HostListParams>,
) -> AppResult<Json<HostList>> {
    let (hosts, pagination) = query_hosts(&state, &user, &p, true).await?;
    let pagination =
        pagination.ok_or_else(|| AppError::internal("paged query without pagination"))?;
    Ok(Json(HostList { hosts, pagination }))
}

/// One page of the host table.
#[derive(Serialize, utoipa::ToSchema)]
pub struct HostList {
    pub hosts: Vec<HostListItem>,
    pub pagination: Pagination,
}

/// A new host's credentials: the only time `api_key` is sent.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedHost {
    pub id: Uuid,
    pub friendly_name: String,
    pub api_id: String,
    pub api_key: String,
}

// ---------------------------------------------------------------- create

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = CreateHostBody)]
struct CreateHost {
    #[serde(alias = "friendlyName")]
    friendly_name: Option<String>,
    #[serde(default, alias = "groupIds")]
    group_ids: Vec<Uuid>,
}

#[utoipa::path(
    post,
    path = "/api/v1/hosts",
    tag = "Fleet",
    request_body = CreateHost,
    responses(
        (status = 201, description = "Host created; the only time `api_key` is sent", body = CreatedHost),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    AppJson(body): AppJson<CreateHost>,
) -> AppResult<(StatusCode, Json<CreatedHost>)> {
    let name = required_text(
        "friendly_name",
        body.friendly_name.as_deref().unwrap_or(""),
        255,
    )?;
    let scope = Scope::of(&state, &user).await?;
    let mut group_ids = body.group_ids.clone();
    group_ids.sort();
    group_ids.dedup();
    if let Some(allowed) = scope.groups() {
        // A host in none of the caller's groups would vanish from their view.
        if group_ids.is_empty() || group_ids.iter().any(|g| !allowed.contains(g)) {
            return Err(AppError::BadRequest(
                "Choose at least one host group, all within your role's host groups".into(),
            ));
        }
    }
    check_groups_exist(&state, &group_ids).await?;
    let (api_id, api_key) = credentials::generate()?;
    let key_hash = credentials::hash_secret(&api_key);
    let id = Uuid::new_v4();
    let now = state.now();
    let _guard = state.db().write_guard().await;
    let begin = state.db().begin_write_sql();
    with_db!(state.db(), p => {
        let mut tx = p.begin_with(begin).await?;
        sqlx::query(
            "INSERT INTO hosts (id, api_id, api_key_hash, friendly_name, status, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 'pending', $5, $5)",
        )
        .bind(id).bind(&api_id).bind(&key_hash).bind(&name).bind(now)
        .execute(&mut *tx).await?;
        for g in &group_ids {
            sqlx::query("INSERT INTO host_group_memberships (host_id, host_group_id, created_at) VALUES ($1, $2, $3)")
                .bind(id).bind(g).bind(now).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok::<_, AppError>(())
    })?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedHost {
            id,
            friendly_name: name,
            api_id,
            api_key,
        }),
    ))
}

async fn check_groups_exist(state: &AppState, ids: &[Uuid]) -> AppResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let mut sql = Sql::plain();
    let ph: Vec<String> = ids.iter().map(|id| sql.arg(Bind::Uuid(*id))).collect();
    sql.push(&format!(
        "SELECT COUNT(*) FROM host_groups WHERE id IN ({})",
        ph.join(", ")
    ));
    let n: i64 = fetch_scalar(state.db(), &sql).await?;
    if n != ids.len() as i64 {
        return Err(AppError::BadRequest("Unknown host group".into()));
    }
    Ok(())
}

// ---------------------------------------------------------------- detail

/// Everything the host page shows.
#[derive(Serialize, utoipa::ToSchema)]
pub struct HostDetail {
    pub id: Uuid,
    pub api_id: String,
    pub friendly_name: String,
    pub hostname: Option<String>,
    pub machine_id: Option<String>,
    pub ip: Option<String>,
    pub notes: Option<String>,
    /// Stored status: `pending` until the first report, then `active`.
    pub status: String,
    pub effective_status: EffectiveStatus,
    pub reporting_state: ReportingState,
    pub update_state: UpdateState,
    pub os_type: Option<String>,
    pub os_version: Option<String>,
    pub architecture: Option<String>,
    pub kernel_version: Option<String>,
    pub installed_kernel_version: Option<String>,
    pub selinux_status: Option<String>,
    pub package_manager: Option<String>,
    pub system_uptime: Option<String>,
    pub boot_time: Option<DateTime<Utc>>,
    pub needs_reboot: bool,
    pub reboot_reason: Option<String>,
    pub hardware: HostHardware,
    pub network: HostNetwork,
    pub counts: HostCounts,
    pub groups: Vec<GroupRef>,
    pub integrations: HostIntegrations,
    pub agent: AgentState,
    pub last_update: Option<DateTime<Utc>>,
    pub last_full_report_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct HostHardware {
    pub cpu_model: Option<String>,
    pub cpu_cores: Option<i64>,
    /// GB, as the agent reports it.
    pub ram_installed: Option<f64>,
    pub swap_size: Option<f64>,
    /// 1, 5 and 15 minute load averages.
    #[schema(value_type = Option<Vec<f64>>)]
    pub load_average: Option<Value>,
    /// One object per filesystem, as the agent reports it.
    #[schema(value_type = Option<Vec<DiskInfo>>)]
    pub disk_details: Option<Value>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct HostNetwork {
    pub gateway_ip: Option<String>,
    #[schema(value_type = Option<Vec<String>>)]
    pub dns_servers: Option<Value>,
    pub primary_interface: Option<String>,
    #[schema(value_type = Option<Vec<InterfaceInfo>>)]
    pub interfaces: Option<Value>,
}

// The three shapes below describe JSON stored as the agent reported it
// (`patchmon_protocol::report`, serialised by the report handler); the test
// `stored_shapes_match_the_protocol` keeps them in step.

/// A mounted filesystem; `size` is a display string.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct DiskInfo {
    name: String,
    size: String,
    mountpoint: String,
}

/// One network interface as the agent reported it.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct InterfaceInfo {
    name: String,
    /// `ethernet`, `wifi` or `bridge`.
    #[schema(rename = "type")]
    kind: String,
    #[schema(rename = "macAddress", nullable = false)]
    mac_address: Option<String>,
    #[schema(nullable = false)]
    mtu: Option<i64>,
    #[schema(nullable = false)]
    status: Option<String>,
    /// Mbps; -1 when unknown.
    #[schema(rename = "linkSpeed", nullable = false)]
    link_speed: Option<i64>,
    #[schema(nullable = false)]
    duplex: Option<String>,
    addresses: Option<Vec<InterfaceAddressInfo>>,
}

/// One address of an interface.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct InterfaceAddressInfo {
    address: String,
    /// `inet` or `inet6`.
    family: String,
    /// Prefix length written as `/24`.
    netmask: String,
    #[schema(nullable = false)]
    gateway: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct HostCounts {
    pub total_packages: i64,
    pub updates_available: i64,
    pub security_updates: i64,
    pub repositories: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct HostIntegrations {
    pub docker_enabled: bool,
    pub compliance_enabled: bool,
    pub auto_update: bool,
}

/// The agent's connection as this server process sees it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AgentState {
    pub version: Option<String>,
    pub connected: bool,
    pub secure: bool,
    pub connected_at: Option<DateTime<Utc>>,
    pub disconnected_seconds_ago: Option<i64>,
    pub capabilities: Vec<String>,
}

#[derive(sqlx::FromRow)]
struct DetailRow {
    id: Uuid,
    api_id: String,
    friendly_name: String,
    hostname: Option<String>,
    machine_id: Option<String>,
    ip: Option<String>,
    notes: Option<String>,
    status: String,
    os_type: Option<String>,
    os_version: Option<String>,
    architecture: Option<String>,
    kernel_version: Option<String>,
    installed_kernel_version: Option<String>,
    selinux_status: Option<String>,
    package_manager: Option<String>,
    system_uptime: Option<String>,
    boot_time: Option<DateTime<Utc>>,
    needs_reboot: bool,
    reboot_reason: Option<String>,
    cpu_model: Option<String>,
    cpu_cores: Option<i64>,
    ram_installed: Option<f64>,
    swap_size: Option<f64>,
    load_average: Option<SqlJson<Value>>,
    disk_details: Option<SqlJson<Value>>,
    gateway_ip: Option<String>,
    dns_servers: Option<SqlJson<Value>>,
    primary_interface: Option<String>,
    network_interfaces: Option<SqlJson<Value>>,
    pkg_total: i64,
    pkg_outdated: i64,
    pkg_security: i64,
    docker_enabled: bool,
    compliance_enabled: bool,
    auto_update: bool,
    agent_version: Option<String>,
    last_update: Option<DateTime<Utc>>,
    last_full_report_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    repositories: i64,
}

/// The host id if it exists and is inside the caller's scope, else 404.
pub async fn visible_host(state: &AppState, user: &CurrentUser, id: Uuid) -> AppResult<String> {
    let scope = Scope::of(state, user).await?;
    let mut sql = scope.sql();
    let a = sql.arg(Bind::Uuid(id));
    sql.push(&format!(
        "SELECT api_id FROM hosts WHERE hosts.id = {a} AND "
    ))
    .push(scope.filter());
    let rows: Vec<(String,)> = fetch_all(state.db(), &sql).await?;
    rows.into_iter()
        .next()
        .map(|r| r.0)
        .ok_or_else(host_not_found)
}

pub async fn host_detail(state: &AppState, user: &CurrentUser, id: Uuid) -> AppResult<HostDetail> {
    let scope = Scope::of(state, user).await?;
    let mut sql = scope.sql();
    let a = sql.arg(Bind::Uuid(id));
    sql.push(
        "SELECT id, api_id, friendly_name, hostname, machine_id, ip, notes, status, os_type, os_version, \
         architecture, kernel_version, installed_kernel_version, selinux_status, package_manager, \
         system_uptime, boot_time, needs_reboot, reboot_reason, cpu_model, cpu_cores, ram_installed, \
         swap_size, load_average, disk_details, gateway_ip, dns_servers, primary_interface, \
         network_interfaces, pkg_total, pkg_outdated, pkg_security, docker_enabled, compliance_enabled, \
         auto_update, agent_version, last_update, last_full_report_at, created_at, updated_at, \
         (SELECT COUNT(*) FROM host_repositories hr WHERE hr.host_id = hosts.id) AS repositories \
         FROM hosts WHERE ",
    )
    .push(&format!("hosts.id = {a} AND "))
    .push(scope.filter());
    let r: DetailRow = fetch_all(state.db(), &sql)
        .await?
        .into_iter()
        .next()
        .ok_or_else(host_not_found)?;
    let c = Cutoffs::load(state).await?;
    let groups = groups_of(state, Some(&[r.id]))
        .await?
        .remove(&r.id)
        .unwrap_or_default();
    let conn = state.hub().state(&r.api_id, state.now());
    let j = |v: Option<SqlJson<Value>>| v.map(|v| v.0);
    Ok(HostDetail {
        effective_status: status::effective_status(&r.status, r.last_update, c.interval, c.now),
        reporting_state: status::reporting_state(r.last_update, c.interval, c.now),
        update_state: status::update_state(r.pkg_outdated, r.pkg_security),
        hardware: HostHardware {
            cpu_model: r.cpu_model,
            cpu_cores: r.cpu_cores,
            ram_installed: r.ram_installed,
            swap_size: r.swap_size,
            load_average: j(r.load_average),
            disk_details: j(r.disk_details),
        },
        network: HostNetwork {
            gateway_ip: r.gateway_ip,
            dns_servers: j(r.dns_servers),
            primary_interface: r.primary_interface,
            interfaces: j(r.network_interfaces),
        },
        counts: HostCounts {
            total_packages: r.pkg_total,
            updates_available: r.pkg_outdated,
            security_updates: r.pkg_security,
            repositories: r.repositories,
        },
        groups,
        integrations: HostIntegrations {
            docker_enabled: r.docker_enabled,
            compliance_enabled: r.compliance_enabled,
            auto_update: r.auto_update,
        },
        agent: AgentState {
            version: conn.agent_version.clone().or(r.agent_version),
            connected: conn.connected,
            secure: conn.secure,
            connected_at: conn.connected_at,
            disconnected_seconds_ago: conn.disconnected_seconds_ago,
            capabilities: conn.capabilities,
        },
        id: r.id,
        api_id: r.api_id,
        friendly_name: r.friendly_name,
        hostname: r.hostname,
        machine_id: r.machine_id,
        ip: r.ip,
        notes: r.notes,
        status: r.status,
        os_type: r.os_type,
        os_version: r.os_version,
        architecture: r.architecture,
        kernel_version: r.kernel_version,
        installed_kernel_version: r.installed_kernel_version,
        selinux_status: r.selinux_status,
        package_manager: r.package_manager,
        system_uptime: r.system_uptime,
        boot_time: r.boot_time,
        needs_reboot: r.needs_reboot,
        reboot_reason: r.reboot_reason,
        last_update: r.last_update,
        last_full_report_at: r.last_full_report_at,
        created_at: r.created_at,
        updated_at: r.updated_at,
    })
}

#[utoipa::path(
    get,
    path = "/api/v1/hosts/{host_id}",
    tag = "Fleet",
    params(("host_id" = String, Path, description = "host id")),
    responses(
        (status = 200, description = "Success", body = HostDetail),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn detail(
    State(state): State<AppState>,
    user: CurrentUser,
    AppPath(id): AppPath<Uuid>,
) -> AppResult<Json<HostDetail>> {
    Ok(Json(host_detail(&state, &user, id).await?))
}

// ---------------------------------------------------------------- packages / repos / history

#[derive(Debug, Deserialize)]
struct HostPackagesParams {
    #[serde(flatten)]
    page: PageParams,
    search: Option<String>,
    updates_only: Option<String>,
    security_only: Option<String>,
    sort: Option<String>,
    order: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct HostPackageList {
    packages: Vec<HostPackageRow>,
    pagination: Pagination,
}

#[derive(Serialize, utoipa::ToSchema)]
struct HostRepositoryList {
    repositories: Vec<HostRepoRow>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct HistoryPage {
    history: Vec<HistoryRow>,
    pagination: Pagination,
}

#[derive(Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[schema(as = HostPackage)]
struct HostPackageRow {
    id: Uuid,
    name: String,
    description: Option<String>,
    category: Option<String>,
    current_version: String,
    available_version: Option<String>,
    needs_update: bool,
    is_security_update: bool,
    source_repository: Option<String>,
    updated_at: DateTime<Utc>,
}

#[utoipa::path(
    get,
    path = "/api/v1/hosts/{host_id}/packages",
    tag = "Fleet",
    params(("host_id" = String, Path, description = "host id")),
    responses(
        (status = 200, description = "Success", body = HostPackageList),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn packages(
    State(state): State<AppState>,
    user: CurrentUser,
    AppPath(id): AppPath<Uuid>,
    Query(p): Query<HostPackagesParams>,
) -> AppResult<Json<HostPackageList>> {
    visible_host(&state, &user, id).await?;
    let page = p.page.resolve(100)?;
    let dir = parse_order(p.order.as_deref())?;
    let mut sql = Sql::plain();
    let h = sql.arg(Bind::Uuid(id));
    sql.push(&format!(
        "SELECT p.id, p.name, p.description, p.category, hp.current_version, hp.available_version, \
         hp.needs_update, hp.is_security_update, hp.source_repository, hp.updated_at \
         FROM host_packages hp JOIN packages p ON p.id = hp.package_id WHERE hp.host_id = {h}"
    ));
    if let Some(pat) = like_pattern(p.search.as_deref().unwrap_or(""))? {
        let a = sql.arg(Bind::Str(pat));
        sql.push(&format!(" AND LOWER(p.name) LIKE {a} ESCAPE '\\'"));
    }
    if parse_bool("updates_only", p.updates_only.as_deref())? == Some(true) {
        sql.push(" AND hp.needs_update");
    }
    if parse_bool("security_only", p.security_only.as_deref())? == Some(true) {
        sql.push(" AND hp.needs_update AND hp.is_security_update = TRUE");
    }
    let mut count = sql.clone();
    count.text = format!("SELECT COUNT(*) FROM ({}) t", count.text);
    let order = match p.sort.as_deref().map(str::trim) {
        None | Some("") | Some("name") => format!("p.name {dir}"),
        Some("needs_update") => format!("hp.needs_update {dir}, p.name ASC"),
        Some("security") => {
            format!("hp.is_security_update {dir}, hp.needs_update {dir}, p.name ASC")
        }
        Some(_) => {
            return Err(AppError::BadRequest(
                "sort must be name, needs_update or security".into(),
            ));
        }
    };
    sql.push(&format!(" ORDER BY {order}, p.id"));
    page.sql(&mut sql);
    let rows: Vec<HostPackageRow> = fetch_all(state.db(), &sql).await?;
    let total: i64 = fetch_scalar(state.db(), &count).await?;
    Ok(Json(HostPackageList {
        packages: rows,
        pagination: page.pagination(total),
    }))
}

#[derive(Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[schema(as = HostRepository)]
struct HostRepoRow {
    id: Uuid,
    name: String,
    url: String,
    distribution: String,
    components: String,
    repo_type: String,
    is_secure: bool,
    is_active: bool,
    is_enabled: bool,
}

#[utoipa::path(
    get,
    path = "/api/v1/hosts/{host_id}/repositories",
    tag = "Fleet",
    params(("host_id" = String, Path, description = "host id")),
    responses(
        (status = 200, description = "Success", body = HostRepositoryList),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn repositories(
    State(state): State<AppState>,
    user: CurrentUser,
    AppPath(id): AppPath<Uuid>,
) -> AppResult<Json<HostRepositoryList>> {
    visible_host(&state, &user, id).await?;
    const SQL: &str = "SELECT r.id, r.name, r.url, r.distribution, r.components, r.repo_type, \
        r.is_secure, r.is_active, hr.is_enabled FROM host_repositories hr \
        JOIN repositories r ON r.id = hr.repository_id WHERE hr.host_id = $1 ORDER BY r.name, r.url, r.id";
    let rows: Vec<HostRepoRow> =
        with_db!(state.db(), p => sqlx::query_as(SQL).bind(id).fetch_all(p).await)?;
    Ok(Json(HostRepositoryList { repositories: rows }))
}

#[derive(Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[schema(as = HistoryEntry)]
struct HistoryRow {
    id: Uuid,
    timestamp: DateTime<Utc>,
    report_type: String,
    status: String,
    packages_count: i64,
    security_count: i64,
    total_packages: i64,
    payload_size_kb: f64,
    execution_time: f64,
    agent_execution_ms: Option<i64>,
    #[schema(value_type = Option<Vec<String>>)]
    sections_sent: Option<SqlJson<Value>>,
    #[schema(value_type = Option<Vec<String>>)]
    sections_unchanged: Option<SqlJson<Value>>,
    error_message: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/hosts/{host_id}/history",
    tag = "Fleet",
    params(("host_id" = String, Path, description = "host id")),
    responses(
        (status = 200, description = "Success", body = HistoryPage),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn history(
    State(state): State<AppState>,
    user: CurrentUser,
    AppPath(id): AppPath<Uuid>,
    Query(p): Query<PageParams>,
) -> AppResult<Json<HistoryPage>> {
    visible_host(&state, &user, id).await?;
    let page = p.resolve(50)?;
    const SQL: &str = "SELECT id, timestamp, report_type, status, packages_count, security_count, \
        total_packages, payload_size_kb, execution_time, agent_execution_ms, sections_sent, \
        sections_unchanged, error_message FROM update_history WHERE host_id = $1 \
        ORDER BY timestamp DESC, id LIMIT $2 OFFSET $3";
    const COUNT: &str = "SELECT COUNT(*) FROM update_history WHERE host_id = $1";
    let (rows, total): (Vec<HistoryRow>, i64) = with_db!(state.db(), p => {
        let rows = sqlx::query_as(SQL).bind(id).bind(page.limit).bind(page.offset).fetch_all(p).await?;
        let total = sqlx::query_scalar(COUNT).bind(id).fetch_one(p).await?;
        Ok::<_, sqlx::Error>((rows, total))
    })?;
    Ok(Json(HistoryPage {
        history: rows,
        pagination: page.pagination(total),
    }))
}

// ---------------------------------------------------------------- edits

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = FriendlyNameBody)]
struct FriendlyName {
    #[serde(alias = "friendlyName")]
    friendly_name: Option<String>,
}

#[utoipa::path(
    patch,
    path = "/api/v1/hosts/{host_id}/friendly-name",
    tag = "Fleet",
    request_body = FriendlyName,
    params(("host_id" = String, Path, description = "host id")),
    responses(
        (status = 200, description = "Success", body = HostDetail),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn friendly_name(
    State(state): State<AppState>,
    user: CurrentUser,
    AppPath(id): AppPath<Uuid>,
    AppJson(body): AppJson<FriendlyName>,
) -> AppResult<Json<HostDetail>> {
    let name = required_text(
        "friendly_name",
        body.friendly_name.as_deref().unwrap_or(""),
        255,
    )?;
    visible_host(&state, &user, id).await?;
    let now = state.now();
    with_db!(state.db(), p => sqlx::query("UPDATE hosts SET friendly_name = $2, updated_at = $3 WHERE id = $1")
        .bind(id).bind(&name).bind(now).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(Json(host_detail(&state, &user, id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = NotesBody)]
struct Notes {
    notes: Option<String>,
}

pub const MAX_NOTES: usize = 10_000;

#[utoipa::path(
    patch,
    path = "/api/v1/hosts/{host_id}/notes",
    tag = "Fleet",
    request_body = Notes,
    params(("host_id" = String, Path, description = "host id")),
    responses(
        (status = 200, description = "Success", body = HostDetail),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn notes(
    State(state): State<AppState>,
    user: CurrentUser,
    AppPath(id): AppPath<Uuid>,
    AppJson(body): AppJson<Notes>,
) -> AppResult<Json<HostDetail>> {
    let notes = body.notes.filter(|n| !n.trim().is_empty());
    if notes
        .as_ref()
        .is_some_and(|n| n.chars().count() > MAX_NOTES)
    {
        return Err(AppError::BadRequest(format!(
            "notes must be at most {MAX_NOTES} characters"
        )));
    }
    visible_host(&state, &user, id).await?;
    let now = state.now();
    with_db!(state.db(), p => sqlx::query("UPDATE hosts SET notes = $2, updated_at = $3 WHERE id = $1")
        .bind(id).bind(&notes).bind(now).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(Json(host_detail(&state, &user, id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = HostGroupsBody)]
struct SetGroups {
    #[serde(alias = "groupIds")]
    group_ids: Option<Vec<Uuid>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GroupMode {
    Replace,
    Add,
    Remove,
}

/// Applies a membership change to hosts in one transaction. For a scoped
/// caller only memberships of their own groups are touched, and every host
/// must keep at least one of them (it would otherwise leave their view).
async fn change_groups(
    state: &AppState,
    scope: &Scope,
    hosts: &[Uuid],
    groups: &[Uuid],
    mode: GroupMode,
) -> AppResult<u64> {
    if let Some(allowed) = scope.groups()
        && groups.iter().any(|g| !allowed.contains(g))
    {
        return Err(AppError::BadRequest(
            "Host groups must be within your role's host groups".into(),
        ));
    }
    check_groups_exist(state, groups).await?;
    let now = state.now();
    let visible: Option<Vec<Uuid>> = scope.groups().map(<[Uuid]>::to_vec);
    let _guard = state.db().write_guard().await;
    let begin = state.db().begin_write_sql();
    let n = with_db!(state.db(), p => {
        let mut tx = p.begin_with(begin).await?;
        let mut n = 0u64;
        for h in hosts {
            let current: Vec<Uuid> = sqlx::query_scalar(
                "SELECT host_group_id FROM host_group_memberships WHERE host_id = $1")
                .bind(h).fetch_all(&mut *tx).await?;
            let touchable = |g: &Uuid| visible.as_ref().is_none_or(|v| v.contains(g));
            let mut target: Vec<Uuid> = match mode {
                GroupMode::Replace => {
                    let mut t: Vec<Uuid> = current.iter().filter(|g| !touchable(g)).copied().collect();
                    t.extend(groups);
                    t
                }
                GroupMode::Add => current.iter().chain(groups).copied().collect(),
                GroupMode::Remove => current.iter().filter(|g| !groups.contains(g)).copied().collect(),
            };
            target.sort();
            target.dedup();
            if let Some(v) = &visible
                && !target.iter().any(|g| v.contains(g))
            {
                return Err(AppError::BadRequest(
                    "A host must stay in at least one of your role's host groups".into(),
                ));
            }
            for g in current.iter().filter(|g| !target.contains(g)) {
                sqlx::query("DELETE FROM host_group_memberships WHERE host_id = $1 AND host_group_id = $2")
                    .bind(h).bind(g).execute(&mut *tx).await?;
            }
            for g in target.iter().filter(|g| !current.contains(g)) {
                sqlx::query("INSERT INTO host_group_memberships (host_id, host_group_id, created_at) VALUES ($1, $2, $3)")
                    .bind(h).bind(g).bind(now).execute(&mut *tx).await?;
            }
            n += 1;
        }
        tx.commit().await?;
        Ok::<_, AppError>(n)
    })?;
    Ok(n)
}

#[utoipa::path(
    put,
    path = "/api/v1/hosts/{host_id}/groups",
    tag = "Fleet",
    request_body = SetGroups,
    params(("host_id" = String, Path, description = "host id")),
    responses(
        (status = 200, description = "Success", body = HostDetail),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn set_groups(
    State(state): State<AppState>,
    user: CurrentUser,
    AppPath(id): AppPath<Uuid>,
    AppJson(body): AppJson<SetGroups>,
) -> AppResult<Json<HostDetail>> {
    let groups = body
        .group_ids
        .ok_or_else(|| AppError::BadRequest("group_ids is required".into()))?;
    visible_host(&state, &user, id).await?;
    let scope = Scope::of(&state, &user).await?;
    change_groups(&state, &scope, &[id], &groups, GroupMode::Replace).await?;
    Ok(Json(host_detail(&state, &user, id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = HostIntegrationsBody)]
#[serde(deny_unknown_fields)]
struct IntegrationsBody {
    docker: Option<bool>,
    compliance: Option<bool>,
    auto_update: Option<bool>,
}

/// The host after an integration change, and whether its agent was told.
#[derive(Serialize, utoipa::ToSchema)]
pub struct IntegrationsChanged {
    pub host: HostDetail,
    /// True when the change was pushed to the agent's open socket on this
    /// server (`apply_config`); otherwise the agent picks it up from
    /// `GET /hosts/integrations` when it next starts.
    pub agent_notified: bool,
}

/// Turns the Docker and compliance integrations and agent auto-update on or
/// off for one host. Docker and compliance changes are pushed to a connected
/// agent, which rewrites its config.yml and restarts.
#[utoipa::path(
    put,
    path = "/api/v1/hosts/{host_id}/integrations",
    tag = "Fleet",
    request_body = IntegrationsBody,
    params(("host_id" = String, Path, description = "host id")),
    responses(
        (status = 200, description = "Success", body = IntegrationsChanged),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn set_integrations(
    State(state): State<AppState>,
    user: CurrentUser,
    AppPath(id): AppPath<Uuid>,
    AppJson(body): AppJson<IntegrationsBody>,
) -> AppResult<Json<IntegrationsChanged>> {
    if body.docker.is_none() && body.compliance.is_none() && body.auto_update.is_none() {
        return Err(AppError::BadRequest(
            "Send at least one of docker, compliance, auto_update".into(),
        ));
    }
    let api_id = visible_host(&state, &user, id).await?;
    let (docker_was, compliance_was): (bool, bool) = with_db!(state.db(), p => sqlx::query_as(
        "SELECT docker_enabled, compliance_enabled FROM hosts WHERE id = $1")
        .bind(id).fetch_one(p).await)?;
    let now = state.now();
    const SQL: &str = "UPDATE hosts SET docker_enabled = COALESCE($2, docker_enabled), \
        compliance_enabled = COALESCE($3, compliance_enabled), auto_update = COALESCE($4, auto_update), \
        updated_at = $5 WHERE id = $1";
    with_db!(state.db(), p => sqlx::query(SQL).bind(id).bind(body.docker).bind(body.compliance)
        .bind(body.auto_update).bind(now).execute(p).await.map(|r| r.rows_affected()))?;
    let docker = body.docker.filter(|d| *d != docker_was);
    let compliance = body.compliance.filter(|c| *c != compliance_was);
    let mut agent_notified = false;
    if docker.is_some() || compliance.is_some() {
        let msg = patchmon_protocol::ServerMessage::ApplyConfig {
            config: patchmon_protocol::messages::ApplyConfig {
                docker,
                compliance: compliance.map(|c| patchmon_protocol::messages::ComplianceConfig {
                    enabled: Some(patchmon_protocol::messages::ComplianceEnabled::Bool(c)),
                    ..Default::default()
                }),
                ..Default::default()
            },
        };
        agent_notified = state.hub().send(&api_id, &msg).is_ok();
    }
    tracing::info!(host = %id, ?docker, ?compliance, auto_update = ?body.auto_update, agent_notified, "host integrations changed");
    Ok(Json(IntegrationsChanged {
        host: host_detail(&state, &user, id).await?,
        agent_notified,
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = BulkGroupsBody)]
struct BulkGroups {
    #[serde(alias = "hostIds")]
    host_ids: Option<Vec<Uuid>>,
    #[serde(alias = "groupIds")]
    group_ids: Option<Vec<Uuid>>,
    mode: Option<String>,
}

pub const MAX_BULK: usize = 10_000;

#[utoipa::path(
    put,
    path = "/api/v1/hosts/bulk/groups",
    tag = "Fleet",
    request_body = BulkGroups,
    responses(
        (status = 200, description = "Success", body = crate::openapi::Updated),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn bulk_groups(
    State(state): State<AppState>,
    user: CurrentUser,
    AppJson(body): AppJson<BulkGroups>,
) -> AppResult<Json<crate::openapi::Updated>> {
    let mut hosts = body
        .host_ids
        .ok_or_else(|| AppError::BadRequest("host_ids is required".into()))?;
    let groups = body
        .group_ids
        .ok_or_else(|| AppError::BadRequest("group_ids is required".into()))?;
    let mode = match body.mode.as_deref() {
        None | Some("replace") => GroupMode::Replace,
        Some("add") => GroupMode::Add,
        Some("remove") => GroupMode::Remove,
        Some(_) => {
            return Err(AppError::BadRequest(
                "mode must be replace, add or remove".into(),
            ));
        }
    };
    hosts.sort();
    hosts.dedup();
    if hosts.is_empty() || hosts.len() > MAX_BULK {
        return Err(AppError::BadRequest(format!(
            "host_ids must list 1 to {MAX_BULK} hosts"
        )));
    }
    let scope = Scope::of(&state, &user).await?;
    // Every host must exist and be visible; otherwise nothing changes.
    let mut sql = scope.sql();
    let ph: Vec<String> = hosts.iter().map(|h| sql.arg(Bind::Uuid(*h))).collect();
    sql.push(&format!(
        "SELECT COUNT(*) FROM hosts WHERE hosts.id IN ({}) AND ",
        ph.join(", ")
    ))
    .push(scope.filter());
    let found: i64 = fetch_scalar(state.db(), &sql).await?;
    if found != hosts.len() as i64 {
        return Err(host_not_found());
    }
    let n = change_groups(&state, &scope, &hosts, &groups, mode).await?;
    Ok(Json(crate::openapi::Updated { updated: n }))
}

#[utoipa::path(
    delete,
    path = "/api/v1/hosts/{host_id}",
    tag = "Fleet",
    params(("host_id" = String, Path, description = "host id")),
    responses(
        (status = 200, description = "Success", body = crate::openapi::Message),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn delete(
    State(state): State<AppState>,
    user: CurrentUser,
    AppPath(id): AppPath<Uuid>,
) -> AppResult<Json<crate::openapi::Message>> {
    visible_host(&state, &user, id).await?;
    crate::hosts::delete_host(&state, id).await?;
    Ok(crate::openapi::Message::new("Host deleted"))
}

#[utoipa::path(
    post,
    path = "/api/v1/hosts/{host_id}/regenerate-credentials",
    tag = "Fleet",
    params(("host_id" = String, Path, description = "host id")),
    responses(
        (status = 200, description = "New credentials; the only time `api_key` is sent", body = CreatedHost),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn regenerate(
    State(state): State<AppState>,
    user: CurrentUser,
    AppPath(id): AppPath<Uuid>,
) -> AppResult<Json<CreatedHost>> {
    visible_host(&state, &user, id).await?;
    let c = crate::hosts::regenerate_credentials(&state, id).await?;
    let name: String = with_db!(state.db(), p =>
        sqlx::query_scalar("SELECT friendly_name FROM hosts WHERE id = $1").bind(id).fetch_one(p).await)?;
    Ok(Json(CreatedHost {
        id: c.id,
        friendly_name: name,
        api_id: c.api_id,
        api_key: c.api_key,
    }))
}

/// `POST /hosts/{hostId}/fetch-report`: asks the connected agent for a full
/// report now (`report_now` over its WebSocket). 409 when it is not connected.
#[utoipa::path(
    post,
    path = "/api/v1/hosts/{host_id}/fetch-report",
    tag = "Fleet",
    params(("host_id" = String, Path, description = "host id")),
    responses(
        (status = 200, description = "Success", body = crate::openapi::Message),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn fetch_report(
    State(state): State<AppState>,
    user: CurrentUser,
    AppPath(id): AppPath<Uuid>,
) -> AppResult<Json<crate::openapi::Message>> {
    use crate::agents::hub::SendError;
    let api_id = visible_host(&state, &user, id).await?;
    match state
        .hub()
        .send(&api_id, &patchmon_protocol::ServerMessage::ReportNow)
    {
        Ok(()) => Ok(crate::openapi::Message::new("Report requested")),
        Err(SendError::NotConnected) => Err(AppError::Conflict("Agent is not connected".into())),
        Err(e) => Err(AppError::Unavailable(e.to_string())),
    }
}

/// The OpenAPI description of this module's routes (`crate::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list,
    create,
    bulk_groups,
    detail,
    delete,
    packages,
    repositories,
    history,
    set_groups,
    regenerate,
    friendly_name,
    notes,
    fetch_report,
    set_integrations
))]
pub(crate) struct Api;

#[cfg(test)]
mod tests {
    use super::*;
    use patchmon_protocol::report::{DiskDetail, InterfaceAddress, NetworkInterface};
    use std::collections::BTreeSet;

    fn schema_keys<T: utoipa::PartialSchema>() -> BTreeSet<String> {
        let v = serde_json::to_value(T::schema()).unwrap();
        v["properties"]
            .as_object()
            .expect("an object schema")
            .keys()
            .cloned()
            .collect()
    }

    fn json_keys<T: Serialize>(t: &T) -> BTreeSet<String> {
        serde_json::to_value(t)
            .unwrap()
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    }

    /// The documented shapes of stored agent JSON name exactly the keys the
    /// protocol types write when every field is set.
    #[test]
    fn stored_shapes_match_the_protocol() {
        let addr = InterfaceAddress {
            address: "10.0.0.2".into(),
            family: "inet".into(),
            netmask: "/24".into(),
            gateway: "10.0.0.1".into(),
        };
        let nic = NetworkInterface {
            name: "eth0".into(),
            kind: "ethernet".into(),
            mac_address: "aa:bb:cc:dd:ee:ff".into(),
            mtu: 1500,
            status: "up".into(),
            link_speed: Some(1000),
            duplex: "full".into(),
            addresses: Some(vec![addr.clone()]),
        };
        let disk = DiskDetail {
            name: "/dev/sda1".into(),
            size: "20G".into(),
            mountpoint: "/".into(),
        };
        assert_eq!(schema_keys::<InterfaceInfo>(), json_keys(&nic));
        assert_eq!(schema_keys::<InterfaceAddressInfo>(), json_keys(&addr));
        assert_eq!(schema_keys::<DiskInfo>(), json_keys(&disk));
    }
}
