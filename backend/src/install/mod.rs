//! Agent installation and removal: the install script (with a single-use
//! bootstrap token instead of the API key), the token exchange, agent binary
//! download, and the removal script. See docs/install.md.

pub mod binaries;
pub mod bootstrap;

use std::collections::HashMap;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::Duration;
use serde::Serialize;

use crate::agents::api::{RawBody, decode};
use crate::agents::auth::AgentAuth;
use crate::auth::ratelimit::Limiter;
use crate::auth::session::ClientInfo;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::{settings, with_db};

use binaries::{AgentBinary, BinaryCache};

/// The installer's body; the server prepends the variable exports.
pub const INSTALL_SH: &str = include_str!("install.sh");
/// The removal script's body.
pub const REMOVE_SH: &str = include_str!("remove.sh");
const SYSTEMD_UNIT: &str = include_str!("../../../agent/packaging/patchmon-agent.service");
const OPENRC_SCRIPT: &str = include_str!("../../../agent/packaging/patchmon-agent.openrc");

/// Token exchanges allowed per client IP per minute.
pub const EXCHANGE_RATE_LIMIT: u32 = 30;

/// Per-process state of this module (kept in `AppState`).
#[derive(Default)]
pub struct InstallState {
    pub binaries: BinaryCache,
    pub exchange_limiter: Limiter,
}

pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/api/v1/hosts/install", get(install_script))
        .route("/api/v1/hosts/remove", get(remove_script))
        .route(
            "/api/v1/hosts/bootstrap/exchange",
            post(exchange).layer(DefaultBodyLimit::max(
                4096.min(state.config().json_body_limit),
            )),
        )
        .route("/api/v1/hosts/agent/download", get(download))
}

/// Quotes a value for POSIX sh: single quotes, with `'` written as `'\''`.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn flag(q: &HashMap<String, String>, k: &str) -> bool {
    q.get(k)
        .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "1"))
}

/// Whether a URL is safe to hand to the script and the agent: http(s), no
/// whitespace, control characters, quotes or backslashes.
fn clean_url(u: &str) -> Option<String> {
    let u = u.trim().trim_end_matches('/');
    let ok = (u.starts_with("http://") || u.starts_with("https://"))
        && u.len() > "https://".len()
        && u.len() <= 2048
        && u.chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, '"' | '\'' | '\\' | '`' | '$'));
    ok.then(|| u.to_owned())
}

/// The URL agents should use: `settings.server_url` when set; otherwise the
/// address the installer was fetched from (the request's `Host`, with the
/// scheme from `X-Forwarded-Proto` when `TRUST_PROXY` is on, else
/// `SERVER_PROTOCOL`); otherwise `SERVER_PROTOCOL://SERVER_HOST:SERVER_PORT`.
pub async fn server_url(state: &AppState, headers: &HeaderMap) -> AppResult<String> {
    let stored: Option<String> = with_db!(state.db(), p =>
        sqlx::query_scalar("SELECT server_url FROM settings WHERE id = 1").fetch_optional(p).await)?
    .flatten();
    if let Some(u) = stored.as_deref().filter(|u| !u.trim().is_empty()) {
        return clean_url(u).ok_or_else(|| {
            tracing::error!(server_url = %u, "settings.server_url is not a usable http(s) URL");
            AppError::internal("settings.server_url is not a usable http(s) URL")
        });
    }
    let c = state.config();
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.bytes().all(|b| {
                    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']')
                })
        });
    if let Some(host) = host {
        let proto = c
            .auth
            .trust_proxy
            .then(|| headers.get("x-forwarded-proto"))
            .flatten()
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(',')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .filter(|p| p == "http" || p == "https")
            .unwrap_or_else(|| c.server_protocol.clone());
        if let Some(u) = clean_url(&format!("{proto}://{host}")) {
            return Ok(u);
        }
    }
    clean_url(&c.public_url())
        .ok_or_else(|| AppError::internal("SERVER_HOST is not usable in a URL"))
}

/// Infers the os from the host's recorded platform (PatchMon's order:
/// `expected_platform`, then `os_type`, then linux).
async fn host_os(state: &AppState, host_id: uuid::Uuid) -> AppResult<&'static str> {
    let row: Option<(Option<String>, Option<String>)> = with_db!(state.db(), p =>
        sqlx::query_as("SELECT expected_platform, os_type FROM hosts WHERE id = $1")
            .bind(host_id)
            .fetch_optional(p)
            .await)?;
    let (expected, os_type) = row.unwrap_or_default();
    for v in [expected, os_type].into_iter().flatten() {
        let v = v.to_ascii_lowercase();
        if v.contains("windows") {
            return Ok("windows");
        }
        if v.contains("freebsd") {
            return Ok("freebsd");
        }
        if !v.trim().is_empty() && v != "unknown" {
            return Ok("linux");
        }
    }
    Ok("linux")
}

fn text_response(body: String) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response()
}

/// A heredoc function printing `text`, for the generated script header.
fn heredoc_fn(name: &str, text: &str) -> String {
    let end = "PATCHMON_FILE_EOF";
    debug_assert!(!text.contains(end));
    format!(
        "{name}() {{\n\tcat <<'{end}'\n{}\n{end}\n}}\n",
        text.trim_end()
    )
}

/// `GET /api/v1/hosts/install`: the install script for the calling host, with
/// a fresh bootstrap token (never the API key).
#[utoipa::path(
    get,
    path = "/api/v1/hosts/install",
    tag = "Agent installation",
    responses(
        (status = "2XX", description = "Success"),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
pub async fn install_script(
    State(state): State<AppState>,
    AgentAuth(me): AgentAuth,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Response> {
    let os = match q.get("os").map(String::as_str) {
        Some(os) => os.to_owned(),
        None => host_os(&state, me.id).await?.to_owned(),
    };
    if !binaries::OSES.contains(&os.as_str()) {
        return Err(AppError::BadRequest(
            "Unsupported os: use linux, freebsd or windows".into(),
        ));
    }
    if os == "windows" {
        return Err(AppError::BadRequest(
            "This server has no Windows installer; install the agent on Linux or FreeBSD".into(),
        ));
    }
    let arch = match q.get("arch") {
        Some(a) => {
            binaries::validate_platform(&os, a)?;
            Some(a.clone())
        }
        None => None,
    };
    let force = flag(&q, "force");
    let url = server_url(&state, &headers).await?;
    let s = settings::agent_settings(state.db()).await?;
    // AgentAuth verified this header; it is what the token will unlock.
    let api_key = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .ok_or(AppError::Unauthorized(crate::agents::auth::MISSING))?;
    let token = bootstrap::mint(state.db(), state.now(), me.id, api_key).await?;
    tracing::info!(api_id = %me.api_id, %os, ?arch, force, "install script issued");

    let mut out = String::with_capacity(INSTALL_SH.len() + 4096);
    out.push_str("#!/bin/sh\n");
    out.push_str(&format!(
        "# PatchMon agent installer, generated by patchmon-server {} for {}.\n\
         # It carries a single-use bootstrap token valid for {} minutes, not the API key.\n",
        env!("CARGO_PKG_VERSION"),
        me.api_id,
        bootstrap::TOKEN_TTL_SECS / 60
    ));
    let mut export = |k: &str, v: &str| out.push_str(&format!("export {k}={}\n", sh_quote(v)));
    export("PATCHMON_URL", &url);
    export("PATCHMON_OS", &os);
    export("BOOTSTRAP_TOKEN", &token);
    export(
        "CURL_FLAGS",
        if s.ignore_ssl_self_signed {
            "-sk"
        } else {
            "-s"
        },
    );
    export(
        "SKIP_SSL_VERIFY",
        if s.ignore_ssl_self_signed {
            "true"
        } else {
            "false"
        },
    );
    export("FORCE_INSTALL", if force { "true" } else { "false" });
    if let Some(a) = &arch {
        export("ARCHITECTURE", a);
    }
    out.push_str(&heredoc_fn("patchmon_systemd_unit", SYSTEMD_UNIT));
    out.push_str(&heredoc_fn("patchmon_openrc_script", OPENRC_SCRIPT));
    out.push_str("# ---- installer ----\n");
    out.push_str(strip_shebang(INSTALL_SH));
    Ok(text_response(out))
}

fn strip_shebang(s: &str) -> &str {
    if s.starts_with("#!") {
        s.split_once('\n').map_or("", |(_, rest)| rest)
    } else {
        s
    }
}

/// `GET /api/v1/hosts/remove`: the removal script (no authentication; it
/// carries no secret). The host record stays on the server.
#[utoipa::path(
    get,
    path = "/api/v1/hosts/remove",
    tag = "Agent installation",
    responses(
        (status = "2XX", description = "Success"),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
pub async fn remove_script(Query(q): Query<HashMap<String, String>>) -> AppResult<Response> {
    if q.get("os").is_some_and(|o| o == "windows") {
        return Err(AppError::BadRequest(
            "This server has no Windows removal script".into(),
        ));
    }
    let mut out = String::with_capacity(REMOVE_SH.len() + 128);
    out.push_str("#!/bin/sh\n");
    out.push_str(&format!(
        "# PatchMon agent removal script, served by patchmon-server {}.\nexport CURL_FLAGS='-s'\n",
        env!("CARGO_PKG_VERSION")
    ));
    out.push_str(strip_shebang(REMOVE_SH));
    Ok(text_response(out))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExchangeResponse {
    api_id: String,
    api_key: String,
}

/// `POST /api/v1/hosts/bootstrap/exchange` `{"token":"…"}` → `{"apiId","apiKey"}`
/// (compact JSON: scripts grep it). Rate limited per client IP.
#[utoipa::path(
    post,
    path = "/api/v1/hosts/bootstrap/exchange",
    tag = "Agent installation",
    responses(
        (status = "2XX", description = "Success"),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
pub async fn exchange(
    State(state): State<AppState>,
    client: ClientInfo,
    RawBody(body): RawBody,
) -> Response {
    let key = client
        .ip
        .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
    let d = state.install().exchange_limiter.check(
        &key,
        EXCHANGE_RATE_LIMIT,
        Duration::seconds(60),
        state.now(),
    );
    let mut res = if d.allowed {
        match exchange_inner(&state, &body).await {
            Ok(r) => r,
            Err(e) => e.into_response(),
        }
    } else {
        AppError::TooManyRequests {
            message: "Too many requests. Try again later.".into(),
            retry_after: d.reset_secs,
        }
        .into_response()
    };
    d.apply(res.headers_mut());
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

async fn exchange_inner(state: &AppState, body: &[u8]) -> AppResult<Response> {
    let required = || AppError::BadRequest("Bootstrap token required".into());
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(required());
    }
    let v: serde_json::Value = decode(body)?;
    let token = v
        .get("token")
        .and_then(serde_json::Value::as_str)
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(required)?;
    let (api_id, api_key) = bootstrap::exchange(state.db(), state.now(), token).await?;
    tracing::info!(%api_id, "bootstrap token exchanged");
    Ok((
        StatusCode::OK,
        axum::Json(ExchangeResponse { api_id, api_key }),
    )
        .into_response())
}

/// Looks up the binary for a validated platform (hashing off the async threads).
pub async fn describe(state: &AppState, os: &str, arch: &str) -> AppResult<Option<AgentBinary>> {
    let st = state.clone();
    let (os, arch) = (os.to_owned(), arch.to_owned());
    tokio::task::spawn_blocking(move || {
        st.install()
            .binaries
            .describe(&st.config().agent_binaries_dir, &os, &arch)
    })
    .await
    .map_err(AppError::internal)?
    .map_err(AppError::internal)
}

/// `GET /api/v1/hosts/agent/download?os=&arch=`: the agent binary.
/// `force=binary` (sent by PatchMon's installer) is accepted and ignored.
#[utoipa::path(
    get,
    path = "/api/v1/hosts/agent/download",
    tag = "Agent installation",
    responses(
        (status = "2XX", description = "Success"),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
pub async fn download(
    State(state): State<AppState>,
    AgentAuth(me): AgentAuth,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Response> {
    let os = match q.get("os") {
        Some(o) => o.clone(),
        None => host_os(&state, me.id).await?.to_owned(),
    };
    let arch = q.get("arch").cloned().unwrap_or_else(|| "amd64".into());
    binaries::validate_platform(&os, &arch)?;
    let name = binaries::file_name(&os, &arch);
    let path = state.config().agent_binaries_dir.join(&name);
    let file = match tokio::fs::File::open(&path).await {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(AppError::NotFound(format!(
                "No agent binary for {os}/{arch} on this server"
            )));
        }
        Err(e) => return Err(AppError::internal(e)),
    };
    let meta = file.metadata().await.map_err(AppError::internal)?;
    if !meta.is_file() {
        return Err(AppError::NotFound(format!(
            "No agent binary for {os}/{arch} on this server"
        )));
    }
    tracing::info!(api_id = %me.api_id, file = %name, "agent binary download");
    let stream = futures_util::stream::unfold(file, |mut f| async move {
        use tokio::io::AsyncReadExt;
        let mut buf = vec![0u8; 64 * 1024];
        match f.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(axum::body::Bytes::from(buf)), f))
            }
            Err(e) => Some((Err(e), f)),
        }
    });
    let disposition = format!("attachment; filename=\"{name}\"");
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(header::CONTENT_DISPOSITION, disposition)
        .header(header::CONTENT_LENGTH, meta.len())
        .header(header::CACHE_CONTROL, "no-store")
        .header(header::VARY, "Accept-Encoding")
        .body(Body::from_stream(stream))
        .map_err(AppError::internal)
}

/// The OpenAPI description of this module's routes (`crate::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(install_script, remove_script, exchange, download))]
pub(crate) struct Api;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(sh_quote("abc"), "'abc'");
        assert_eq!(sh_quote("a'b"), r"'a'\''b'");
        assert_eq!(sh_quote("$(id)"), "'$(id)'");
    }

    #[test]
    fn urls() {
        assert_eq!(
            clean_url("https://pm.example.com/").as_deref(),
            Some("https://pm.example.com")
        );
        assert_eq!(
            clean_url("http://10.0.0.1:3000").as_deref(),
            Some("http://10.0.0.1:3000")
        );
        assert_eq!(clean_url("ftp://x"), None);
        assert_eq!(clean_url("https://x/$(id)"), None);
        assert_eq!(clean_url("https://x y"), None);
        assert_eq!(clean_url("https://x'y"), None);
    }

    #[test]
    fn embedded_files_fit_the_heredoc() {
        assert!(!SYSTEMD_UNIT.contains("PATCHMON_FILE_EOF"));
        assert!(!OPENRC_SCRIPT.contains("PATCHMON_FILE_EOF"));
        assert!(INSTALL_SH.starts_with("#!/bin/sh"));
        assert!(REMOVE_SH.starts_with("#!/bin/sh"));
    }
}
