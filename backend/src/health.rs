//! `GET /health`: 200 when the database answers, 503 otherwise.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/health", get(health))
}

/// The server's health. On 503, `status` is `error`, `database` is
/// `unreachable`, and `error`/`code` say why.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok` or `error`.
    pub status: String,
    /// `ok` or `unreachable`.
    pub database: String,
    /// `sqlite` or `postgres`.
    pub dialect: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub version: Option<String>,
    /// Agents holding a WebSocket to this server process.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub agents_connected: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub code: Option<String>,
}

#[utoipa::path(
    get,
    path = "/health",
    tag = "Health",
    responses(
        (status = 200, description = "Healthy", body = Health),
        (status = 503, description = "Database unreachable", body = Health)
    )
)]
async fn health(State(state): State<AppState>) -> impl IntoResponse {
    let db = state.db();
    match db.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(Health {
                status: "ok".into(),
                database: "ok".into(),
                dialect: db.dialect().into(),
                version: Some(env!("CARGO_PKG_VERSION").into()),
                agents_connected: Some(state.hub().connected_count()),
                error: None,
                code: None,
            }),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "health check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Health {
                    status: "error".into(),
                    database: "unreachable".into(),
                    dialect: db.dialect().into(),
                    version: None,
                    agents_connected: None,
                    error: Some("Database unreachable".into()),
                    code: Some("unavailable".into()),
                }),
            )
        }
    }
}

/// The OpenAPI description of this module's routes (`crate::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(health))]
pub(crate) struct Api;
