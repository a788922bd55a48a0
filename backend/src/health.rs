//! `GET /health`: 200 when the database answers, 503 otherwise.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/health", get(health))
}

#[utoipa::path(
    get,
    path = "/health",
    tag = "Health",
    responses(
        (status = "2XX", description = "Success"),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn health(State(state): State<AppState>) -> impl IntoResponse {
    let db = state.db();
    match db.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(json!({
                "status": "ok",
                "database": "ok",
                "dialect": db.dialect(),
                "version": env!("CARGO_PKG_VERSION"),
                "agents_connected": state.hub().connected_count(),
            })),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "health check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({
                    "status": "error", "database": "unreachable", "dialect": db.dialect(),
                    "error": "Database unreachable", "code": "unavailable",
                })),
            )
        }
    }
}

/// The OpenAPI description of this module's routes (`crate::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(health))]
pub(crate) struct Api;
