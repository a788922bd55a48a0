//! Everything agents talk to: REST endpoints, the WebSocket and its hub.

pub mod api;
pub mod auth;
pub mod hub;
pub mod ws;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::routing::{get, post};

use crate::extract::AppPath;
use crate::rbac::{Access, ApiRouter, CurrentUser, Permission};
use crate::state::AppState;

pub fn router(state: &AppState) -> Router<AppState> {
    let c = state.config();
    Router::new()
        .route(
            "/api/v1/hosts/ping",
            post(api::ping).layer(DefaultBodyLimit::max(c.agent_ping_body_limit)),
        )
        .route(
            "/api/v1/hosts/update",
            post(api::update).layer(DefaultBodyLimit::max(c.agent_update_body_limit)),
        )
        .route(
            "/api/v1/settings/update-interval",
            get(api::update_interval),
        )
        .route("/api/v1/hosts/integrations", get(api::integrations))
        .route(
            "/api/v1/hosts/integration-status",
            post(api::integration_status).layer(DefaultBodyLimit::max(c.json_body_limit)),
        )
        .route("/api/v1/hosts/agent/version", get(api::agent_version))
        .route("/api/v1/agents/ws", get(ws::upgrade))
}

/// User-facing routes about agents (guarded by RBAC).
pub fn user_routes(api: ApiRouter) -> ApiRouter {
    api.get(
        "/api/v1/ws/status/{api_id}",
        Access::Requires(Permission::ViewHosts),
        ws_status,
    )
}

/// `GET /api/v1/ws/status/{apiId}`: whether the agent's WebSocket is up,
/// whether it came in over TLS, and how long ago it went away. Unknown hosts,
/// and hosts outside the caller's host-group scope, are 404.
#[utoipa::path(
    get,
    path = "/api/v1/ws/status/{api_id}",
    tag = "Agent API",
    params(("api_id" = String, Path, description = "api id")),
    responses(
        (status = 200, description = "Success", body = hub::ConnectionState),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn ws_status(
    State(state): State<AppState>,
    user: CurrentUser,
    AppPath(api_id): AppPath<String>,
) -> crate::error::AppResult<axum::Json<hub::ConnectionState>> {
    let not_found = || crate::error::AppError::NotFound("Host not found".into());
    let host = crate::hosts::find_by_api_id(state.db(), &api_id)
        .await?
        .ok_or_else(not_found)?;
    if !user
        .host_scope(&state)
        .await?
        .allows_host(&state, host.id)
        .await?
    {
        return Err(not_found());
    }
    Ok(axum::Json(state.hub().state(&api_id, state.now())))
}

/// The OpenAPI description of this module's routes (`crate::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(ws_status))]
pub(crate) struct Api;
