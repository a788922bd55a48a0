//! Alerts: typed, with severity, status (open → acknowledged → resolved, or
//! silenced until a time), assignment, a history of who did what, and
//! per-type configuration. Raised by the host-status monitor (host_down) and
//! by other parts of the server through [`raise`] / [`auto_resolve`].

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::types::Json as SqlJson;
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::extract::{AppJson, AppPath};
use crate::queue::api::AppQuery;
use crate::rbac::{Access, ApiRouter, CurrentUser, Permission};
use crate::state::AppState;
use crate::with_db;

pub const TYPES: &[&str] = &[
    "host_down",
    "security_updates_available",
    "updates_available",
    "reboot_required",
    "agent_outdated",
    "server_update",
    "compliance_failed",
];

/// SQL condition: the alert is server-wide or its host is inside the
/// caller's host-group scope (role bound as `$n`); see `rbac::scope`.
macro_rules! scope_filter {
    ($role:literal) => {
        concat!(
            "(alerts.host_id IS NULL OR NOT EXISTS (SELECT 1 FROM role_host_groups s WHERE s.role = ",
            $role,
            ") OR EXISTS (SELECT 1 FROM role_host_groups s JOIN host_group_memberships m ",
            "ON m.host_group_id = s.host_group_id WHERE s.role = ",
            $role,
            " AND m.host_id = alerts.host_id))"
        )
    };
}

pub const SEVERITIES: &[&str] = &["info", "warning", "error", "critical"];

/// The values of severity fields, for the API description (`SEVERITIES`
/// is what the server checks; a test keeps the two equal).
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Error,
    Critical,
}

/// The values of an alert's `status`, for the API description.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    Open,
    Acknowledged,
    Silenced,
    Resolved,
}

pub fn severity_rank(s: &str) -> usize {
    SEVERITIES.iter().position(|x| *x == s).unwrap_or(0)
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Alert {
    pub id: Uuid,
    pub alert_type: String,
    #[schema(value_type = Severity)]
    pub severity: String,
    #[schema(value_type = AlertStatus)]
    pub status: String,
    pub title: String,
    pub message: String,
    pub host_id: Option<Uuid>,
    #[schema(value_type = Object)]
    pub metadata: SqlJson<Value>,
    pub assigned_to_user_id: Option<Uuid>,
    pub silenced_until: Option<DateTime<Utc>>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub acknowledged_by: Option<Uuid>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolved_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const ALERT_COLS: &str = "id, alert_type, severity, status, title, message, host_id, metadata, \
    assigned_to_user_id, silenced_until, acknowledged_at, acknowledged_by, resolved_at, resolved_by, \
    created_at, updated_at";

/// One page of alerts, newest first.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AlertList {
    pub alerts: Vec<Alert>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AlertDetail {
    pub alert: Alert,
    pub history: Vec<AlertHistoryEntry>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AlertHistoryEntry {
    /// `created`, `acknowledged`, `assigned`, `silenced`, `resolved`, …
    pub action: String,
    pub user_id: Option<Uuid>,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AlertAnswer {
    pub alert: Alert,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AlertConfigList {
    pub config: Vec<AlertConfig>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AlertConfigAnswer {
    pub config: AlertConfig,
}

/// Alert counts over the last `days` days (in the caller's host-group scope).
#[derive(Serialize, utoipa::ToSchema)]
pub struct AlertSummary {
    pub days: i64,
    pub total: usize,
    pub by_type: std::collections::BTreeMap<String, i64>,
    pub by_severity: std::collections::BTreeMap<String, i64>,
    /// Current totals by status, whatever their age.
    pub by_status: std::collections::BTreeMap<String, i64>,
    pub per_day: Vec<AlertDay>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AlertDay {
    /// `YYYY-MM-DD` (UTC).
    pub date: String,
    pub by_severity: std::collections::BTreeMap<String, i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct AlertConfig {
    pub alert_type: String,
    pub enabled: bool,
    #[schema(value_type = Severity)]
    pub default_severity: String,
    pub auto_assign_user_id: Option<Uuid>,
    pub auto_resolve: bool,
    pub retention_days: i64,
    #[schema(value_type = Object)]
    pub metadata: SqlJson<Value>,
}

pub async fn config_of(state: &AppState, alert_type: &str) -> AppResult<Option<AlertConfig>> {
    const SQL: &str = "SELECT alert_type, enabled, default_severity, auto_assign_user_id, auto_resolve, \
        retention_days, metadata FROM alert_config WHERE alert_type = $1";
    Ok(with_db!(state.db(), p => sqlx::query_as(SQL).bind(alert_type).fetch_optional(p).await)?)
}

/// `alert_config(host_down).metadata.threshold_seconds`, default 30.
pub async fn host_down_threshold(state: &AppState) -> AppResult<i64> {
    Ok(config_of(state, "host_down")
        .await?
        .and_then(|c| {
            c.metadata
                .0
                .get("threshold_seconds")
                .and_then(Value::as_i64)
        })
        .unwrap_or(30)
        .max(0))
}

async fn history(
    state: &AppState,
    alert_id: Uuid,
    action: &str,
    user: Option<Uuid>,
    note: Option<&str>,
) -> AppResult<()> {
    const SQL: &str = "INSERT INTO alert_history (id, alert_id, action, user_id, note, created_at) \
        VALUES ($1, $2, $3, $4, $5, $6)";
    with_db!(state.db(), p => sqlx::query(SQL).bind(Uuid::new_v4()).bind(alert_id).bind(action)
        .bind(user).bind(note).bind(state.now()).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Opens an alert unless the type is disabled or one is already unresolved
/// for this (type, host). Notifies channels. Returns the new alert.
pub async fn raise(
    state: &AppState,
    alert_type: &str,
    host_id: Option<Uuid>,
    title: &str,
    message: &str,
    metadata: Value,
) -> AppResult<Option<Alert>> {
    let Some(cfg) = config_of(state, alert_type).await? else {
        return Err(AppError::internal(format!(
            "unknown alert type {alert_type}"
        )));
    };
    if !cfg.enabled {
        return Ok(None);
    }
    let now = state.now();
    let id = Uuid::new_v4();
    const SQL: &str = "INSERT INTO alerts (id, alert_type, severity, status, title, message, host_id, metadata, \
        assigned_to_user_id, created_at, updated_at) VALUES ($1, $2, $3, 'open', $4, $5, $6, $7, $8, $9, $9) \
        ON CONFLICT (alert_type, host_id) WHERE status <> 'resolved' DO NOTHING";
    let n = with_db!(state.db(), p => sqlx::query(SQL).bind(id).bind(alert_type).bind(&cfg.default_severity)
        .bind(title).bind(message).bind(host_id).bind(SqlJson(&metadata)).bind(cfg.auto_assign_user_id)
        .bind(now).execute(p).await.map(|r| r.rows_affected()))?;
    if n == 0 {
        return Ok(None);
    }
    history(state, id, "created", None, Some(message)).await?;
    if cfg.auto_assign_user_id.is_some() {
        history(state, id, "assigned", None, Some("auto-assigned")).await?;
    }
    let alert = get(state, id).await?;
    if let Some(a) = &alert {
        crate::notify::dispatch(state, a, "alert_raised").await;
    }
    Ok(alert)
}

/// Resolves the unresolved alert of (type, host) when the type auto-resolves.
pub async fn auto_resolve(
    state: &AppState,
    alert_type: &str,
    host_id: Option<Uuid>,
    note: &str,
) -> AppResult<Option<Alert>> {
    if !config_of(state, alert_type)
        .await?
        .is_some_and(|c| c.auto_resolve)
    {
        return Ok(None);
    }
    let now = state.now();
    const SQL: &str = "UPDATE alerts SET status = 'resolved', resolved_at = $3, updated_at = $3 \
        WHERE alert_type = $1 AND host_id = $2 AND status <> 'resolved' RETURNING id";
    let id: Option<Uuid> = with_db!(state.db(), p => sqlx::query_scalar(SQL).bind(alert_type)
        .bind(host_id).bind(now).fetch_optional(p).await)?;
    let Some(id) = id else { return Ok(None) };
    history(state, id, "auto_resolved", None, Some(note)).await?;
    let alert = get(state, id).await?;
    if let Some(a) = &alert {
        crate::notify::dispatch(state, a, "alert_resolved").await;
    }
    Ok(alert)
}

pub async fn get(state: &AppState, id: Uuid) -> AppResult<Option<Alert>> {
    const SQL: &str = concat!(
        "SELECT id, alert_type, severity, status, title, message, host_id, metadata, ",
        "assigned_to_user_id, silenced_until, acknowledged_at, acknowledged_by, resolved_at, resolved_by, ",
        "created_at, updated_at FROM alerts WHERE id = $1"
    );
    let _ = ALERT_COLS;
    Ok(with_db!(state.db(), p => sqlx::query_as(SQL).bind(id).fetch_optional(p).await)?)
}

/// Daily: silences that ended go back to open; resolved alerts past their
/// type's retention are deleted.
pub async fn cleanup(state: &AppState) -> AppResult<Value> {
    let now = state.now();
    const UNSILENCE: &str = "UPDATE alerts SET status = 'open', silenced_until = NULL, updated_at = $1 \
        WHERE status = 'silenced' AND silenced_until < $1 RETURNING id";
    let ids: Vec<Uuid> =
        with_db!(state.db(), p => sqlx::query_scalar(UNSILENCE).bind(now).fetch_all(p).await)?;
    for id in &ids {
        history(state, *id, "silence_expired", None, None).await?;
    }
    const CFG: &str = "SELECT alert_type, retention_days FROM alert_config";
    let cfgs: Vec<(String, i64)> =
        with_db!(state.db(), p => sqlx::query_as(CFG).fetch_all(p).await)?;
    let mut deleted = 0;
    const DEL: &str =
        "DELETE FROM alerts WHERE alert_type = $1 AND status = 'resolved' AND resolved_at < $2";
    for (t, days) in cfgs {
        let cutoff = now - Duration::days(days.max(1));
        deleted += with_db!(state.db(), p => sqlx::query(DEL).bind(&t).bind(cutoff).execute(p).await.map(|r| r.rows_affected()))?;
    }
    Ok(json!({ "unsilenced": ids.len(), "resolved_deleted": deleted }))
}

pub fn routes(api: ApiRouter) -> ApiRouter {
    let a = Access::Requires(Permission::ManageAlerts);
    api.get("/api/v1/alerts", a, list)
        .get("/api/v1/alerts/summary", a, summary)
        .get("/api/v1/alerts/config", a, list_config)
        .put("/api/v1/alerts/config/{alert_type}", a, put_config)
        .get("/api/v1/alerts/{id}", a, detail)
        .post("/api/v1/alerts/{id}/actions", a, act)
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    severity: Option<String>,
    #[serde(rename = "type")]
    alert_type: Option<String>,
    status: Option<String>,
    assigned_to: Option<Uuid>,
    host_id: Option<Uuid>,
    limit: Option<i64>,
    offset: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/api/v1/alerts",
    tag = "Alerts",
    responses(
        (status = 200, description = "Success", body = AlertList),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn list(
    State(state): State<AppState>,
    u: CurrentUser,
    AppQuery(q): AppQuery<ListQuery>,
) -> AppResult<Json<AlertList>> {
    let role = &u.session.user.role;
    const SQL: &str = concat!(
        "SELECT id, alert_type, severity, status, title, message, host_id, metadata, ",
        "assigned_to_user_id, silenced_until, acknowledged_at, acknowledged_by, resolved_at, resolved_by, ",
        "created_at, updated_at FROM alerts WHERE ($1 IS NULL OR severity = $1) AND ($2 IS NULL OR alert_type = $2) ",
        "AND ($3 IS NULL OR status = $3) AND ($4 IS NULL OR assigned_to_user_id = $4) ",
        "AND ($5 IS NULL OR host_id = $5) AND ",
        scope_filter!("$8"),
        " ORDER BY created_at DESC, id LIMIT $6 OFFSET $7"
    );
    const COUNT: &str = concat!(
        "SELECT COUNT(*) FROM alerts WHERE ($1 IS NULL OR severity = $1) AND ($2 IS NULL OR alert_type = $2) ",
        "AND ($3 IS NULL OR status = $3) AND ($4 IS NULL OR assigned_to_user_id = $4) AND ($5 IS NULL OR host_id = $5) AND ",
        scope_filter!("$6")
    );
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    let offset = q.offset.unwrap_or(0).max(0);
    let (rows, total): (Vec<Alert>, i64) = with_db!(state.db(), p => {
        let rows = sqlx::query_as(SQL).bind(&q.severity).bind(&q.alert_type).bind(&q.status)
            .bind(q.assigned_to).bind(q.host_id).bind(limit).bind(offset).bind(role).fetch_all(p).await?;
        let total = sqlx::query_scalar(COUNT).bind(&q.severity).bind(&q.alert_type).bind(&q.status)
            .bind(q.assigned_to).bind(q.host_id).bind(role).fetch_one(p).await?;
        (rows, total)
    });
    Ok(Json(AlertList {
        alerts: rows,
        total,
        limit,
        offset,
    }))
}

/// The alert if the caller's host-group scope covers it (else 404).
async fn scoped_get(state: &AppState, u: &CurrentUser, id: Uuid) -> AppResult<Alert> {
    let not_found = || AppError::NotFound("Alert not found".into());
    let a = get(state, id).await?.ok_or_else(not_found)?;
    if let Some(h) = a.host_id
        && !u.host_scope(state).await?.allows_host(state, h).await?
    {
        return Err(not_found());
    }
    Ok(a)
}

#[utoipa::path(
    get,
    path = "/api/v1/alerts/{id}",
    tag = "Alerts",
    params(("id" = String, Path, description = "id")),
    responses(
        (status = 200, description = "Success", body = AlertDetail),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn detail(
    State(state): State<AppState>,
    u: CurrentUser,
    AppPath(id): AppPath<Uuid>,
) -> AppResult<Json<AlertDetail>> {
    let a = scoped_get(&state, &u, id).await?;
    const H: &str = "SELECT action, user_id, note, created_at FROM alert_history WHERE alert_id = $1 ORDER BY created_at, id";
    type Row = (String, Option<Uuid>, Option<String>, DateTime<Utc>);
    let rows: Vec<Row> = with_db!(state.db(), p => sqlx::query_as(H).bind(id).fetch_all(p).await)?;
    let history = rows
        .into_iter()
        .map(|(action, user_id, note, created_at)| AlertHistoryEntry {
            action,
            user_id,
            note,
            created_at,
        })
        .collect();
    Ok(Json(AlertDetail { alert: a, history }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = AlertActionBody)]
#[serde(deny_unknown_fields)]
struct ActionBody {
    action: String,
    until: Option<DateTime<Utc>>,
    user_id: Option<Uuid>,
    note: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/alerts/{id}/actions",
    tag = "Alerts",
    request_body = ActionBody,
    params(("id" = String, Path, description = "id")),
    responses(
        (status = 200, description = "Success", body = AlertAnswer),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn act(
    State(state): State<AppState>,
    u: CurrentUser,
    AppPath(id): AppPath<Uuid>,
    AppJson(b): AppJson<ActionBody>,
) -> AppResult<Json<AlertAnswer>> {
    let a = scoped_get(&state, &u, id).await?;
    if b.note.as_ref().is_some_and(|n| n.len() > 2000) {
        return Err(AppError::BadRequest(
            "note is longer than 2000 characters".into(),
        ));
    }
    let now = state.now();
    let me = u.id();
    let resolved = a.status == "resolved";
    let (sql, label): (&'static str, &str) = match b.action.as_str() {
        "acknowledge" if !resolved => (
            "UPDATE alerts SET status = 'acknowledged', acknowledged_at = $2, acknowledged_by = $3, silenced_until = NULL, updated_at = $2 WHERE id = $1",
            "acknowledged",
        ),
        "resolve" if !resolved => (
            "UPDATE alerts SET status = 'resolved', resolved_at = $2, resolved_by = $3, silenced_until = NULL, updated_at = $2 WHERE id = $1",
            "resolved",
        ),
        "reopen" if resolved => (
            "UPDATE alerts SET status = 'open', resolved_at = NULL, resolved_by = NULL, updated_at = $2 WHERE id = $1 AND $3 IS NOT NULL",
            "reopened",
        ),
        "unassign" => (
            "UPDATE alerts SET assigned_to_user_id = NULL, updated_at = $2 WHERE id = $1 AND $3 IS NOT NULL",
            "unassigned",
        ),
        "silence" | "assign" => ("", ""),
        "acknowledge" | "resolve" => {
            return Err(AppError::Conflict("Alert is already resolved".into()));
        }
        "reopen" => return Err(AppError::Conflict("Alert is not resolved".into())),
        other => {
            return Err(AppError::BadRequest(format!(
                "unknown action {other:?}; expected acknowledge, resolve, reopen, silence, assign or unassign"
            )));
        }
    };
    let note = b.note.as_deref();
    if !sql.is_empty() {
        with_db!(state.db(), p => sqlx::query(sql).bind(id).bind(now).bind(me).execute(p).await.map(|r| r.rows_affected()))?;
        history(&state, id, label, Some(me), note).await?;
    } else if b.action == "silence" {
        if resolved {
            return Err(AppError::Conflict("Alert is already resolved".into()));
        }
        let until = b
            .until
            .filter(|t| *t > now)
            .ok_or_else(|| AppError::BadRequest("silence needs \"until\" in the future".into()))?;
        const S: &str = "UPDATE alerts SET status = 'silenced', silenced_until = $2, updated_at = $3 WHERE id = $1";
        with_db!(state.db(), p => sqlx::query(S).bind(id).bind(until).bind(now).execute(p).await.map(|r| r.rows_affected()))?;
        let n = format!("silenced until {}", until.to_rfc3339());
        history(&state, id, "silenced", Some(me), Some(note.unwrap_or(&n))).await?;
    } else {
        let target = b
            .user_id
            .ok_or_else(|| AppError::BadRequest("assign needs \"user_id\"".into()))?;
        const U: &str = "SELECT COUNT(*) FROM users WHERE id = $1";
        let exists: i64 =
            with_db!(state.db(), p => sqlx::query_scalar(U).bind(target).fetch_one(p).await)?;
        if exists == 0 {
            return Err(AppError::BadRequest("user_id is not a user".into()));
        }
        const A: &str = "UPDATE alerts SET assigned_to_user_id = $2, updated_at = $3 WHERE id = $1";
        with_db!(state.db(), p => sqlx::query(A).bind(id).bind(target).bind(now).execute(p).await.map(|r| r.rows_affected()))?;
        let n = format!("assigned to {target}");
        history(&state, id, "assigned", Some(me), Some(note.unwrap_or(&n))).await?;
    }
    let a = get(&state, id)
        .await?
        .ok_or_else(|| AppError::NotFound("Alert not found".into()))?;
    Ok(Json(AlertAnswer { alert: a }))
}

#[utoipa::path(
    get,
    path = "/api/v1/alerts/config",
    tag = "Alerts",
    responses(
        (status = 200, description = "Success", body = AlertConfigList),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn list_config(
    State(state): State<AppState>,
    _u: CurrentUser,
) -> AppResult<Json<AlertConfigList>> {
    const SQL: &str = "SELECT alert_type, enabled, default_severity, auto_assign_user_id, auto_resolve, \
        retention_days, metadata FROM alert_config ORDER BY alert_type";
    let rows: Vec<AlertConfig> = with_db!(state.db(), p => sqlx::query_as(SQL).fetch_all(p).await)?;
    Ok(Json(AlertConfigList { config: rows }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = AlertConfigBody)]
#[serde(deny_unknown_fields)]
struct ConfigBody {
    enabled: Option<bool>,
    default_severity: Option<String>,
    /// Absent: unchanged; `null`: no longer auto-assigned.
    #[serde(default, deserialize_with = "crate::tokens::handlers::double_option")]
    auto_assign_user_id: Option<Option<Uuid>>,
    auto_resolve: Option<bool>,
    retention_days: Option<i64>,
    metadata: Option<Value>,
}

#[utoipa::path(
    put,
    path = "/api/v1/alerts/config/{alert_type}",
    tag = "Alerts",
    request_body = ConfigBody,
    params(("alert_type" = String, Path, description = "alert type")),
    responses(
        (status = 200, description = "Success", body = AlertConfigAnswer),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn put_config(
    State(state): State<AppState>,
    _u: CurrentUser,
    AppPath(alert_type): AppPath<String>,
    AppJson(b): AppJson<ConfigBody>,
) -> AppResult<Json<AlertConfigAnswer>> {
    let mut c = config_of(&state, &alert_type)
        .await?
        .ok_or_else(|| AppError::NotFound("Unknown alert type".into()))?;
    if let Some(v) = b.enabled {
        c.enabled = v;
    }
    if let Some(s) = b.default_severity {
        if !SEVERITIES.contains(&s.as_str()) {
            return Err(AppError::BadRequest(
                "default_severity must be info, warning, error or critical".into(),
            ));
        }
        c.default_severity = s;
    }
    if let Some(u) = b.auto_assign_user_id {
        c.auto_assign_user_id = u;
    }
    if let Some(v) = b.auto_resolve {
        c.auto_resolve = v;
    }
    if let Some(d) = b.retention_days {
        if !(1..=36500).contains(&d) {
            return Err(AppError::BadRequest(
                "retention_days must be 1..36500".into(),
            ));
        }
        c.retention_days = d;
    }
    if let Some(m) = b.metadata {
        if !m.is_object() {
            return Err(AppError::BadRequest("metadata must be an object".into()));
        }
        if let Some(t) = m.get("threshold_seconds")
            && !t.as_i64().is_some_and(|t| (0..=86_400).contains(&t))
        {
            return Err(AppError::BadRequest(
                "threshold_seconds must be 0..86400".into(),
            ));
        }
        c.metadata = SqlJson(m);
    }
    const SQL: &str = "UPDATE alert_config SET enabled = $2, default_severity = $3, auto_assign_user_id = $4, \
        auto_resolve = $5, retention_days = $6, metadata = $7, updated_at = $8 WHERE alert_type = $1";
    let res = with_db!(state.db(), p => sqlx::query(SQL).bind(&alert_type).bind(c.enabled)
        .bind(&c.default_severity).bind(c.auto_assign_user_id).bind(c.auto_resolve)
        .bind(c.retention_days).bind(&c.metadata).bind(state.now()).execute(p).await.map(|r| r.rows_affected()));
    match res {
        Ok(_) => Ok(Json(AlertConfigAnswer { config: c })),
        Err(sqlx::Error::Database(e)) if e.is_foreign_key_violation() => Err(AppError::BadRequest(
            "auto_assign_user_id is not a user".into(),
        )),
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize)]
struct SummaryQuery {
    days: Option<i64>,
}

/// Counts by type and severity, current status totals, and alerts opened per day.
#[utoipa::path(
    get,
    path = "/api/v1/alerts/summary",
    tag = "Alerts",
    responses(
        (status = 200, description = "Success", body = AlertSummary),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn summary(
    State(state): State<AppState>,
    u: CurrentUser,
    AppQuery(q): AppQuery<SummaryQuery>,
) -> AppResult<Json<AlertSummary>> {
    let days = q.days.unwrap_or(30).clamp(1, 365);
    let since = state.now() - Duration::days(days);
    const BY: &str = concat!(
        "SELECT alert_type, severity, status, created_at FROM alerts WHERE created_at >= $1 AND ",
        scope_filter!("$2")
    );
    const OPEN: &str = concat!(
        "SELECT status, COUNT(*) FROM alerts WHERE ",
        scope_filter!("$1"),
        " GROUP BY status"
    );
    let role = &u.session.user.role;
    type Row = (String, String, String, DateTime<Utc>);
    let (rows, open): (Vec<Row>, Vec<(String, i64)>) = with_db!(state.db(), p => {
        let r = sqlx::query_as(BY).bind(since).bind(role).fetch_all(p).await?;
        let o = sqlx::query_as(OPEN).bind(role).fetch_all(p).await?;
        (r, o)
    });
    use std::collections::BTreeMap;
    let mut by_type: BTreeMap<String, i64> = BTreeMap::new();
    let mut by_sev: BTreeMap<String, i64> = BTreeMap::new();
    let mut per_day: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    for (t, s, _st, at) in &rows {
        *by_type.entry(t.clone()).or_default() += 1;
        *by_sev.entry(s.clone()).or_default() += 1;
        *per_day
            .entry(at.format("%Y-%m-%d").to_string())
            .or_default()
            .entry(s.clone())
            .or_default() += 1;
    }
    let by_status: BTreeMap<String, i64> = open.into_iter().collect();
    let per_day = per_day
        .into_iter()
        .map(|(date, by_severity)| AlertDay { date, by_severity })
        .collect();
    Ok(Json(AlertSummary {
        days,
        total: rows.len(),
        by_type,
        by_severity: by_sev,
        by_status,
        per_day,
    }))
}

/// The OpenAPI description of this module's routes (`crate::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(list, summary, list_config, put_config, detail, act))]
pub(crate) struct Api;

#[cfg(test)]
mod tests {
    use super::*;

    /// The documented severities are the ones the server accepts, in order.
    #[test]
    fn documented_severities_match() {
        let doc: Vec<String> = [
            Severity::Info,
            Severity::Warning,
            Severity::Error,
            Severity::Critical,
        ]
        .iter()
        .map(|s| {
            serde_json::to_value(s)
                .unwrap()
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
        assert_eq!(doc, SEVERITIES);
    }
}
