//! The OpenAPI document (`GET /api/v1/openapi.json`) and Swagger UI
//! (`/api/v1/api-docs`), both for signed-in users, as in PatchMon.
//!
//! Every handler carries a `#[utoipa::path]` annotation (added and kept in
//! step by `scripts/openapi-annotate.py`); each module lists its handlers in
//! a `pub(crate) struct Api`. Security and the permission a route needs are
//! not written by hand: they are filled in here from the RBAC route table
//! (user routes) and the token and agent route families, so they cannot
//! drift from what the server enforces. The Swagger UI assets are compiled
//! in (utoipa-swagger-ui `vendored`); nothing is fetched from a CDN.

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::OpenApi;

use crate::rbac::{Access, route_table};
use crate::state::AppState;

/// A plain acknowledgement: `{"message": "…"}`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Message {
    pub message: String,
}

impl Message {
    pub fn new(m: impl Into<String>) -> axum::Json<Self> {
        axum::Json(Self { message: m.into() })
    }
}

/// How many rows a bulk change touched: `{"updated": n}`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Updated {
    pub updated: u64,
}

/// Every error answer: `{"error": "<human text>", "code": "<stable code>"}`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Human-readable reason.
    pub error: String,
    /// Stable machine-readable code (`bad_request`, `unauthorized`, `forbidden`, …).
    pub code: String,
    /// Extra explanation on scope and quota refusals (PatchMon's shape).
    #[schema(nullable = false)]
    pub message: Option<String>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "PatchMon server API",
        description = "Agent API, web app API, integration API and enrollment, compatible with PatchMon's paths and JSON. \
            Errors are `{\"error\", \"code\"}` (see docs/api.md).",
        license(name = "AGPL-3.0-or-later")
    ),
    components(schemas(ErrorBody))
)]
struct Base;

/// The raw utoipa document: all modules' paths merged.
pub fn base_document() -> utoipa::openapi::OpenApi {
    let mut doc = Base::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    for part in [
        // @modules-begin (kept by scripts/openapi-annotate.py)
        crate::agents::Api::openapi(),
        crate::agents::api::Api::openapi(),
        crate::agents::ws::Api::openapi(),
        crate::alerts::Api::openapi(),
        crate::auth::Api::openapi(),
        crate::auth::audit::Api::openapi(),
        crate::auth::oidc::Api::openapi(),
        crate::auth::tfa::Api::openapi(),
        crate::enroll::Api::openapi(),
        crate::fleet::dashboard::Api::openapi(),
        crate::fleet::export::Api::openapi(),
        crate::fleet::groups::Api::openapi(),
        crate::fleet::hosts::Api::openapi(),
        crate::fleet::packages::Api::openapi(),
        crate::fleet::prefs::Api::openapi(),
        crate::fleet::repos::Api::openapi(),
        crate::fleet::settings_api::Api::openapi(),
        crate::health::Api::openapi(),
        crate::install::Api::openapi(),
        crate::notify::Api::openapi(),
        crate::public_api::Api::openapi(),
        crate::public_api::gethomepage::Api::openapi(),
        crate::queue::api::Api::openapi(),
        crate::rbac::handlers::Api::openapi(),
        crate::tokens::handlers::Api::openapi(),
        crate::users::Api::openapi(),
        // @modules-end
    ] {
        doc.merge(part);
    }
    doc
}

/// Paths the agent calls with `X-API-ID` / `X-API-KEY`.
fn is_agent_path(path: &str) -> bool {
    matches!(
        path,
        "/api/v1/hosts/ping"
            | "/api/v1/hosts/update"
            | "/api/v1/hosts/integrations"
            | "/api/v1/hosts/integration-status"
            | "/api/v1/hosts/agent/version"
            | "/api/v1/hosts/agent/download"
            | "/api/v1/hosts/install"
            | "/api/v1/settings/update-interval"
            | "/api/v1/agents/ws"
    )
}

/// The finished document: security schemes, per-operation security and the
/// permission each user route needs (as `x-permission` and in its description).
pub fn document(state: &AppState) -> Value {
    let mut doc = serde_json::to_value(base_document()).unwrap_or_else(|_| json!({}));
    doc["components"]["securitySchemes"] = json!({
        "bearerAuth": {"type": "http", "scheme": "bearer", "description": "Access token from /api/v1/auth/login"},
        "sessionCookie": {"type": "apiKey", "in": "cookie", "name": crate::auth::session::SESSION_COOKIE,
            "description": "Web app session; state-changing requests also need the X-CSRF-Token header"},
        "agentId": {"type": "apiKey", "in": "header", "name": "X-API-ID"},
        "agentKey": {"type": "apiKey", "in": "header", "name": "X-API-KEY"},
        "integrationBasic": {"type": "http", "scheme": "basic",
            "description": "Integration token key:secret (usage type api or gethomepage)"},
        "enrollmentKey": {"type": "apiKey", "in": "header", "name": "X-Auto-Enrollment-Key"},
        "enrollmentSecret": {"type": "apiKey", "in": "header", "name": "X-Auto-Enrollment-Secret"},
    });
    unique_operation_ids(&mut doc);
    let table = route_table(state);
    let user = json!([{"bearerAuth": []}, {"sessionCookie": []}]);
    if let Some(paths) = doc["paths"].as_object_mut() {
        for (path, item) in paths.iter_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for (method, op) in item.iter_mut() {
                let rbac = table
                    .iter()
                    .find(|r| r.path == path && r.method.as_str().eq_ignore_ascii_case(method));
                let security = match rbac.map(|r| r.access) {
                    Some(Access::Public) => json!([]),
                    Some(Access::Authenticated) => user.clone(),
                    Some(Access::Requires(p)) => {
                        op["x-permission"] = json!(p.column());
                        let d = op["description"].as_str().unwrap_or_default().to_owned();
                        let sep = if d.is_empty() { "" } else { "\n\n" };
                        op["description"] =
                            json!(format!("{d}{sep}Requires the `{}` permission.", p.column()));
                        user.clone()
                    }
                    None if is_agent_path(path) => json!([{"agentId": [], "agentKey": []}]),
                    None if path.starts_with("/api/v1/api/")
                        || path.starts_with("/api/v1/gethomepage/") =>
                    {
                        json!([{"integrationBasic": []}])
                    }
                    None if path.starts_with("/api/v1/auto-enrollment/enroll")
                        || path == "/api/v1/auto-enrollment/script" =>
                    {
                        json!([{"enrollmentKey": [], "enrollmentSecret": []}])
                    }
                    None => json!([]),
                };
                op["security"] = security;
            }
        }
    }
    doc
}

/// Handler names are operation ids; a name used in several modules (`login`
/// in local and SSO sign-in) gets its path appended, so ids stay unique.
fn unique_operation_ids(doc: &mut Value) {
    let mut seen: std::collections::HashMap<String, usize> = Default::default();
    let ops = |doc: &mut Value| -> Vec<(String, String)> {
        let mut v = Vec::new();
        if let Some(paths) = doc["paths"].as_object() {
            for (p, item) in paths {
                if let Some(item) = item.as_object() {
                    for m in item.keys() {
                        v.push((p.clone(), m.clone()));
                    }
                }
            }
        }
        v
    };
    for (p, m) in ops(doc) {
        if let Some(id) = doc["paths"][&p][&m]["operationId"].as_str() {
            *seen.entry(id.to_owned()).or_default() += 1;
        }
    }
    for (p, m) in ops(doc) {
        let op = &mut doc["paths"][&p][&m];
        let Some(id) = op["operationId"].as_str().map(str::to_owned) else {
            continue;
        };
        if seen.get(&id).copied().unwrap_or(0) > 1 {
            let tag: String = p
                .trim_start_matches("/api/v1/")
                .chars()
                .filter(|c| *c != '{' && *c != '}')
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_lowercase()
                    } else {
                        '_'
                    }
                })
                .collect();
            op["operationId"] = json!(format!("{id}_{m}_{tag}"));
        }
    }
}

/// Swagger UI and the document, for signed-in users only (as PatchMon).
pub fn router(state: &AppState) -> Router<AppState> {
    let ui: Router<AppState> = utoipa_swagger_ui::SwaggerUi::new("/api/v1/api-docs")
        .external_url_unchecked("/api/v1/openapi.json", document(state))
        .into();
    ui.layer(axum::middleware::from_fn_with_state(
        state.clone(),
        require_session,
    ))
}

async fn require_session(State(state): State<AppState>, req: Request, next: Next) -> Response {
    match crate::auth::session::authenticate(&state, req.method(), req.headers()).await {
        Ok(_) => {
            let mut res = next.run(req).await;
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res
        }
        Err(e) => {
            let wants_html = req
                .headers()
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|a| a.contains("text/html"));
            if wants_html {
                Redirect::to("/login?redirect=%2Fapi%2Fv1%2Fapi-docs%2F").into_response()
            } else {
                e.into_response()
            }
        }
    }
}
