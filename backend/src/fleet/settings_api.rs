//! `/api/v1/settings`: server address for generated scripts, agent defaults
//! (the update interval is pushed to connected agents) and branding.

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use patchmon_protocol::messages::ServerMessage;
use serde::{Deserialize, Serialize};

use crate::error::{AppError, AppResult};
use crate::extract::AppJson;
use crate::rbac::{Access, ApiRouter, CurrentUser, Permission};
use crate::state::AppState;
use crate::with_db;

const MANAGE: Access = Access::Requires(Permission::ManageSettings);

pub fn routes(api: ApiRouter) -> ApiRouter {
    api.get("/api/v1/settings", MANAGE, get_settings)
        .put("/api/v1/settings", MANAGE, put_settings)
        .put("/api/v1/settings/logo", MANAGE, put_logo)
        .delete("/api/v1/settings/logo", MANAGE, delete_logo)
}

/// Unauthenticated routes: the login page shows the branding. Not behind the
/// auth rate limiter (they cost one indexed read).
pub fn public_router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/settings/logo", get(get_logo))
        .route("/api/v1/settings/branding", get(get_branding))
}

pub const MIN_INTERVAL: i64 = 5;
pub const MAX_INTERVAL: i64 = 1440;
pub const MAX_LOGO_BYTES: usize = 512 * 1024;
pub const DEFAULT_BRANDING: &str = "PatchMon";

#[derive(Debug, Clone, sqlx::FromRow)]
struct Row {
    server_protocol: Option<String>,
    server_host: Option<String>,
    server_port: Option<i64>,
    update_interval: i64,
    auto_update: bool,
    ignore_ssl_self_signed: bool,
    branding_name: Option<String>,
    logo_mime: Option<String>,
    logo_updated_at: Option<DateTime<Utc>>,
    updated_at: Option<DateTime<Utc>>,
}

const SELECT: &str = "SELECT server_protocol, server_host, server_port, update_interval, auto_update, \
    ignore_ssl_self_signed, branding_name, logo_mime, logo_updated_at, updated_at FROM settings WHERE id = 1";

/// The address agents and install scripts use: the settings row, falling
/// back to `SERVER_PROTOCOL` / `SERVER_HOST` / `SERVER_PORT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerAddress {
    pub protocol: String,
    pub host: String,
    pub port: u16,
}

impl ServerAddress {
    /// `protocol://host[:port]`, the port left out when it is the default.
    pub fn url(&self) -> String {
        let default = matches!(
            (self.protocol.as_str(), self.port),
            ("http", 80) | ("https", 443)
        );
        let host = if self.host.contains(':') && !self.host.starts_with('[') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if default {
            format!("{}://{host}", self.protocol)
        } else {
            format!("{}://{host}:{}", self.protocol, self.port)
        }
    }
}

fn address(state: &AppState, r: &Row) -> ServerAddress {
    let c = state.config();
    ServerAddress {
        protocol: r
            .server_protocol
            .clone()
            .unwrap_or_else(|| c.server_protocol.clone()),
        host: r
            .server_host
            .clone()
            .unwrap_or_else(|| c.server_host.clone()),
        port: r
            .server_port
            .and_then(|p| u16::try_from(p).ok())
            .unwrap_or(c.server_port),
    }
}

async fn load(state: &AppState) -> AppResult<Row> {
    Ok(with_db!(state.db(), p => sqlx::query_as::<_, Row>(SELECT).fetch_one(p).await)?)
}

/// The public server address (for install commands and scripts).
pub async fn server_address(state: &AppState) -> AppResult<ServerAddress> {
    Ok(address(state, &load(state).await?))
}

/// Server settings as the settings page edits them.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Settings {
    /// `http` or `https`.
    pub server_protocol: String,
    pub server_host: String,
    pub server_port: u16,
    /// The address generated scripts and agents use.
    pub server_url: String,
    /// Minutes between agent reports; pushed to connected agents on change.
    pub update_interval: i64,
    pub auto_update: bool,
    pub ignore_ssl_self_signed: bool,
    pub branding_name: String,
    pub has_logo: bool,
    pub logo_updated_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    /// After a change of `update_interval`: connected agents told at once.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub agents_notified: Option<usize>,
}

/// What the sign-in page shows before anyone signs in.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Branding {
    pub branding_name: String,
    pub has_logo: bool,
    pub logo_updated_at: Option<DateTime<Utc>>,
}

fn render(state: &AppState, r: &Row) -> Settings {
    let a = address(state, r);
    Settings {
        server_url: a.url(),
        server_protocol: a.protocol,
        server_host: a.host,
        server_port: a.port,
        update_interval: if r.update_interval > 0 {
            r.update_interval
        } else {
            60
        },
        auto_update: r.auto_update,
        ignore_ssl_self_signed: r.ignore_ssl_self_signed,
        branding_name: r
            .branding_name
            .clone()
            .unwrap_or_else(|| DEFAULT_BRANDING.into()),
        has_logo: r.logo_mime.is_some(),
        logo_updated_at: r.logo_updated_at,
        updated_at: r.updated_at,
        agents_notified: None,
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/settings",
    tag = "Fleet",
    responses(
        (status = 200, description = "Success", body = Settings),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn get_settings(
    State(state): State<AppState>,
    _user: CurrentUser,
) -> AppResult<Json<Settings>> {
    let r = load(&state).await?;
    Ok(Json(render(&state, &r)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = SettingsBody)]
#[serde(deny_unknown_fields)]
struct Update {
    server_protocol: Option<String>,
    server_host: Option<String>,
    server_port: Option<i64>,
    update_interval: Option<i64>,
    auto_update: Option<bool>,
    ignore_ssl_self_signed: Option<bool>,
    branding_name: Option<String>,
}

fn valid_host(h: &str) -> bool {
    if h.is_empty() || h.len() > 253 {
        return false;
    }
    if h.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    h.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    })
}

#[utoipa::path(
    put,
    path = "/api/v1/settings",
    tag = "Fleet",
    request_body = Update,
    responses(
        (status = 200, description = "Success", body = Settings),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn put_settings(
    State(state): State<AppState>,
    _user: CurrentUser,
    AppJson(u): AppJson<Update>,
) -> AppResult<Json<Settings>> {
    if let Some(p) = &u.server_protocol
        && p != "http"
        && p != "https"
    {
        return Err(AppError::BadRequest(
            "server_protocol must be http or https".into(),
        ));
    }
    let host = u.server_host.as_deref().map(str::trim).map(str::to_owned);
    if let Some(h) = &host
        && !valid_host(h)
    {
        return Err(AppError::BadRequest(
            "server_host must be a host name or IP address (no scheme, port or path)".into(),
        ));
    }
    if let Some(p) = u.server_port
        && !(1..=65535).contains(&p)
    {
        return Err(AppError::BadRequest(
            "server_port must be from 1 to 65535".into(),
        ));
    }
    if let Some(i) = u.update_interval
        && !(MIN_INTERVAL..=MAX_INTERVAL).contains(&i)
    {
        return Err(AppError::BadRequest(format!(
            "update_interval must be from {MIN_INTERVAL} to {MAX_INTERVAL} minutes"
        )));
    }
    let branding = match &u.branding_name {
        None => None,
        Some(b) => Some(super::required_text("branding_name", b, 100)?),
    };
    let before = load(&state).await?;
    let now = state.now();
    // Keep the legacy server_url column in step (PatchMon stores it too).
    let mut after = before.clone();
    if let Some(p) = &u.server_protocol {
        after.server_protocol = Some(p.clone());
    }
    if let Some(h) = &host {
        after.server_host = Some(h.clone());
    }
    if let Some(p) = u.server_port {
        after.server_port = Some(p);
    }
    let url = address(&state, &after).url();
    const SQL: &str = "UPDATE settings SET server_protocol = COALESCE($1, server_protocol), \
        server_host = COALESCE($2, server_host), server_port = COALESCE($3, server_port), \
        update_interval = COALESCE($4, update_interval), auto_update = COALESCE($5, auto_update), \
        ignore_ssl_self_signed = COALESCE($6, ignore_ssl_self_signed), \
        branding_name = COALESCE($7, branding_name), server_url = $8, updated_at = $9 WHERE id = 1";
    with_db!(state.db(), p => sqlx::query(SQL)
        .bind(&u.server_protocol).bind(&host).bind(u.server_port).bind(u.update_interval)
        .bind(u.auto_update).bind(u.ignore_ssl_self_signed).bind(&branding).bind(&url).bind(now)
        .execute(p).await.map(|r| r.rows_affected()))?;
    let r = load(&state).await?;
    let mut out = render(&state, &r);
    if let Some(i) = u.update_interval
        && i != before.update_interval
    {
        let n = state.hub().broadcast(&ServerMessage::SettingsUpdate {
            update_interval: Some(i),
            compliance_scan_interval: None,
            package_cache_refresh_mode: None,
            package_cache_refresh_max_age: None,
        });
        tracing::info!(
            update_interval = i,
            agents = n,
            "update interval pushed to agents"
        );
        out.agents_notified = Some(n);
    }
    Ok(Json(out))
}

/// The image type named by the bytes' signature.
fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

#[utoipa::path(
    put,
    path = "/api/v1/settings/logo",
    tag = "Fleet",
    responses(
        (status = 200, description = "Success", body = Settings),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn put_logo(
    State(state): State<AppState>,
    _user: CurrentUser,
    headers: HeaderMap,
    body: Body,
) -> AppResult<Json<Settings>> {
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    if !matches!(
        declared.as_str(),
        "image/png" | "image/jpeg" | "image/webp" | "image/gif"
    ) {
        return Err(AppError::BadRequest(
            "Logo must be sent as image/png, image/jpeg, image/webp or image/gif".into(),
        ));
    }
    let bytes = axum::body::to_bytes(body, MAX_LOGO_BYTES)
        .await
        .map_err(|_| {
            AppError::PayloadTooLarge(format!("Logo must be at most {} KB", MAX_LOGO_BYTES / 1024))
        })?;
    if bytes.is_empty() {
        return Err(AppError::BadRequest("Logo is empty".into()));
    }
    if sniff(&bytes) != Some(declared.as_str()) {
        return Err(AppError::BadRequest(
            "Logo content does not match its Content-Type".into(),
        ));
    }
    let now = state.now();
    with_db!(state.db(), p => sqlx::query(
        "UPDATE settings SET logo_data = $1, logo_mime = $2, logo_updated_at = $3, updated_at = $3 WHERE id = 1")
        .bind(bytes.to_vec()).bind(&declared).bind(now).execute(p).await.map(|r| r.rows_affected()))?;
    let r = load(&state).await?;
    Ok(Json(render(&state, &r)))
}

#[utoipa::path(
    delete,
    path = "/api/v1/settings/logo",
    tag = "Fleet",
    responses(
        (status = 200, description = "Success", body = Settings),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn delete_logo(
    State(state): State<AppState>,
    _user: CurrentUser,
) -> AppResult<Json<Settings>> {
    let now = state.now();
    with_db!(state.db(), p => sqlx::query(
        "UPDATE settings SET logo_data = NULL, logo_mime = NULL, logo_updated_at = NULL, updated_at = $1 WHERE id = 1")
        .bind(now).execute(p).await.map(|r| r.rows_affected()))?;
    let r = load(&state).await?;
    Ok(Json(render(&state, &r)))
}

#[utoipa::path(
    get,
    path = "/api/v1/settings/logo",
    tag = "Fleet",
    responses(
        (status = "2XX", description = "Success"),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn get_logo(State(state): State<AppState>) -> AppResult<Response> {
    let row: Option<(Option<Vec<u8>>, Option<String>)> = with_db!(state.db(), p =>
        sqlx::query_as("SELECT logo_data, logo_mime FROM settings WHERE id = 1").fetch_optional(p).await)?;
    let (Some(data), Some(mime)) = row.unwrap_or((None, None)) else {
        return Err(AppError::NotFound("No logo".into()));
    };
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, mime),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            (header::CACHE_CONTROL, "public, max-age=300".to_owned()),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'".to_owned(),
            ),
        ],
        data,
    )
        .into_response())
}

#[utoipa::path(
    get,
    path = "/api/v1/settings/branding",
    tag = "Fleet",
    responses(
        (status = 200, description = "Success", body = Branding),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn get_branding(State(state): State<AppState>) -> AppResult<Json<Branding>> {
    let r = load(&state).await?;
    Ok(Json(Branding {
        branding_name: r.branding_name.unwrap_or_else(|| DEFAULT_BRANDING.into()),
        has_logo: r.logo_mime.is_some(),
        logo_updated_at: r.logo_updated_at,
    }))
}

/// The OpenAPI description of this module's routes (`crate::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    get_settings,
    put_settings,
    put_logo,
    delete_logo,
    get_logo,
    get_branding
))]
pub(crate) struct Api;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_hosts() {
        let a = |p: &str, h: &str, port| ServerAddress {
            protocol: p.into(),
            host: h.into(),
            port,
        };
        assert_eq!(a("https", "pm.example", 443).url(), "https://pm.example");
        assert_eq!(
            a("http", "pm.example", 3000).url(),
            "http://pm.example:3000"
        );
        assert_eq!(a("http", "::1", 80).url(), "http://[::1]");
        assert!(valid_host("pm.example.com"));
        assert!(valid_host("10.0.0.1"));
        assert!(valid_host("fd00::1"));
        assert!(!valid_host("https://pm.example"));
        assert!(!valid_host("pm.example/x"));
        assert!(!valid_host("pm.example:443"));
        assert!(!valid_host("-bad.example"));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nrest"), Some("image/png"));
        assert_eq!(sniff(b"<svg"), None);
    }
}
