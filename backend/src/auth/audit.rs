//! The audit log: security-relevant events (logins, lockouts, password and
//! role changes, user administration, session revocation).

use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

use super::session::ClientInfo;
use crate::state::AppState;
use crate::with_db;

/// One audit entry. `user_id` is the subject, `actor_id` who acted (if different).
#[derive(Debug, Default)]
pub struct Event<'a> {
    pub event: &'a str,
    pub success: bool,
    pub user_id: Option<Uuid>,
    pub actor_id: Option<Uuid>,
    pub username: Option<&'a str>,
    pub details: Option<Value>,
}

/// Writes an entry. A failure is logged, never returned: auditing must not
/// turn a completed action into an error for the caller.
pub async fn record(state: &AppState, client: &ClientInfo, e: Event<'_>) {
    const SQL: &str = "INSERT INTO audit_logs (id, created_at, event, success, user_id, actor_id, username, \
        ip_address, user_agent, details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
    let res = with_db!(state.db(), p => sqlx::query(SQL)
        .bind(Uuid::new_v4())
        .bind(state.now())
        .bind(e.event)
        .bind(e.success)
        .bind(e.user_id)
        .bind(e.actor_id)
        .bind(e.username)
        .bind(client.ip.map(|i| i.to_string()))
        .bind(client.user_agent.as_deref())
        .bind(e.details.map(Json))
        .execute(p)
        .await.map(|_| ()));
    if let Err(err) = res {
        tracing::error!(error = %err, event = e.event, "cannot write audit log entry");
    }
    tracing::info!(event = e.event, success = e.success, user = ?e.username, "audit");
}

/// One audit entry as the API shows it.
#[derive(Debug, serde::Serialize, sqlx::FromRow)]
pub struct Entry {
    pub id: Uuid,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub event: String,
    pub success: bool,
    pub user_id: Option<Uuid>,
    pub actor_id: Option<Uuid>,
    pub username: Option<String>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub details: Option<Json<Value>>,
}

#[derive(Debug, serde::Deserialize)]
pub struct ListQuery {
    pub event: Option<String>,
    pub user_id: Option<Uuid>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

pub fn routes(api: crate::rbac::ApiRouter) -> crate::rbac::ApiRouter {
    api.get(
        "/api/v1/auth/admin/audit-log",
        crate::rbac::Access::Requires(crate::rbac::Permission::ManageSettings),
        list,
    )
}

/// `GET /api/v1/auth/admin/audit-log?event=&user_id=&limit=&offset=`, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/auth/admin/audit-log",
    tag = "Audit log",
    responses(
        (status = "2XX", description = "Success"),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn list(
    axum::extract::State(state): axum::extract::State<AppState>,
    _me: crate::rbac::CurrentUser,
    q: Result<axum::extract::Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> crate::error::AppResult<axum::Json<Value>> {
    let axum::extract::Query(q) = q.map_err(|e| {
        crate::error::AppError::BadRequest(format!("Invalid query: {}", e.body_text()))
    })?;
    let limit = q.limit.unwrap_or(100).clamp(1, 500);
    let offset = q.offset.unwrap_or(0).max(0);
    const SQL: &str = "SELECT id, created_at, event, success, user_id, actor_id, username, ip_address, user_agent, details \
        FROM audit_logs WHERE ($1 IS NULL OR event = $1) AND ($2 IS NULL OR user_id = $2) \
        ORDER BY created_at DESC, id LIMIT $3 OFFSET $4";
    const SQL_PG: &str = "SELECT id, created_at, event, success, user_id, actor_id, username, ip_address, user_agent, details \
        FROM audit_logs WHERE ($1::text IS NULL OR event = $1) AND ($2::uuid IS NULL OR user_id = $2) \
        ORDER BY created_at DESC, id LIMIT $3 OFFSET $4";
    let sql = if state.db().is_postgres() {
        SQL_PG
    } else {
        SQL
    };
    let entries: Vec<Entry> = with_db!(state.db(), p => sqlx::query_as(sql)
        .bind(q.event.as_deref()).bind(q.user_id).bind(limit).bind(offset).fetch_all(p).await)?;
    Ok(axum::Json(
        serde_json::json!({ "entries": entries, "limit": limit, "offset": offset }),
    ))
}

/// The OpenAPI description of this module's routes (`crate::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(list))]
pub(crate) struct Api;
