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
