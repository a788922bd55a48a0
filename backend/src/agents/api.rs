//! Agent REST endpoints under `/api/v1`.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Query, Request, State};
use axum::http::StatusCode;
use chrono::SecondsFormat;
use patchmon_protocol::{
    AgentVersionResponse, IntegrationFlags, IntegrationsResponse, PingRequest, PingResponse,
    ReportPayload, ReportResponse, UpdateIntervalResponse,
};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use sqlx::types::Json as DbJson;
use uuid::Uuid;

use super::auth::AgentAuth;
use crate::error::{AppError, AppResult};
use crate::hosts::{self, AgentHost};
use crate::state::AppState;
use crate::{reports, settings, with_db};

/// The raw body, with axum's rejections (too large, unreadable) mapped to our errors.
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        match Bytes::from_request(req, state).await {
            Ok(b) => Ok(Self(b)),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(AppError::PayloadTooLarge(
                    "Request body is larger than this endpoint accepts".into(),
                ))
            }
            Err(e) => Err(AppError::BadRequest(format!(
                "Could not read request body: {e}"
            ))),
        }
    }
}

/// Decodes a JSON body into `T` with a clear 400 on bad JSON or wrong types.
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> AppResult<T> {
    serde_json::from_slice(body).map_err(|e| {
        let what = if e.is_data() {
            "Invalid request body"
        } else {
            "Malformed JSON"
        };
        AppError::BadRequest(format!("{what}: {e}"))
    })
}

/// Whether a JSON text contains an escaped NUL (`\u0000`).
fn has_escaped_nul(body: &[u8]) -> bool {
    memchr::memmem::find(body, b"\\u0000").is_some()
}

fn strip_nul_value(v: &mut Value) {
    match v {
        Value::String(s) if s.contains('\0') => s.retain(|c| c != '\0'),
        Value::Array(a) => a.iter_mut().for_each(strip_nul_value),
        Value::Object(o) => {
            let entries: Vec<(String, Value)> = std::mem::take(o).into_iter().collect();
            for (k, mut val) in entries {
                strip_nul_value(&mut val);
                o.insert(k.replace('\0', ""), val);
            }
        }
        _ => {}
    }
}

/// Removes NUL characters from every string of a JSON body. PostgreSQL text
/// cannot hold them and PatchMon's agent strips them too; the common case
/// (no `\u0000` in the body) costs one scan and no copy.
pub fn strip_nul(body: Bytes) -> AppResult<Bytes> {
    if !has_escaped_nul(&body) {
        return Ok(body);
    }
    let mut v: Value = decode(&body)?;
    strip_nul_value(&mut v);
    serde_json::to_vec(&v)
        .map(Bytes::from)
        .map_err(AppError::internal)
}

fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `POST /hosts/ping`: an empty body is a heartbeat; a body with hashes is the
/// hash-gated check-in, answered with the stale sections in `requestFull`.
#[utoipa::path(
    post,
    path = "/api/v1/hosts/ping",
    tag = "Agent API",
    responses(
        (status = "2XX", description = "Success"),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
pub async fn ping(
    State(state): State<AppState>,
    AgentAuth(me): AgentAuth,
    RawBody(body): RawBody,
) -> AppResult<Json<PingResponse>> {
    let now = state.now();
    let body = strip_nul(body)?;
    let empty = body.iter().all(u8::is_ascii_whitespace);
    let req: Option<PingRequest> = if empty { None } else { Some(decode(&body)?) };

    let metrics = req
        .as_ref()
        .and_then(|r| r.metrics.clone())
        .unwrap_or_default();
    let boot_time = metrics
        .boot_time
        .as_deref()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&chrono::Utc));
    let agent_version = req.as_ref().and_then(|r| r.agent_version.clone());
    let agent_ms = req.as_ref().and_then(|r| r.agent_execution_ms);
    let sent_hashes = req.as_ref().and_then(|r| r.hashes.clone());
    let _write = state.db().write_guard().await;
    let (host, request_full) = with_db!(state.db(), p => {
        let mut tx = p.begin().await?;
        // Only the fields the ping carries are written; absent ones keep their
        // value. RETURNING gives the host as stored, for the answer.
        let host: Option<AgentHost> = sqlx::query_as(concat!(
            "UPDATE hosts SET status = 'active', last_update = $2, updated_at = $2, \
             cpu_cores = COALESCE($3, cpu_cores), cpu_model = COALESCE($4, cpu_model), \
             ram_installed = COALESCE($5, ram_installed), swap_size = COALESCE($6, swap_size), \
             disk_details = COALESCE($7, disk_details), system_uptime = COALESCE($8, system_uptime), \
             boot_time = COALESCE($9, boot_time), load_average = COALESCE($10, load_average), \
             needs_reboot = COALESCE($11, needs_reboot), \
             reboot_reason = CASE WHEN $11 IS NULL THEN reboot_reason ELSE $12 END, \
             agent_version = COALESCE($13, agent_version) WHERE id = $1 RETURNING ",
            crate::agent_host_columns!()
        ))
        .bind(me.id)
        .bind(now)
        .bind(metrics.cpu_cores.filter(|c| *c > 0))
        .bind(metrics.cpu_model.clone().filter(|s| !s.is_empty()))
        .bind(metrics.ram_installed.filter(|v| *v > 0.0))
        .bind(metrics.swap_size.filter(|v| *v >= 0.0))
        .bind(metrics.disk_details.clone().map(DbJson))
        .bind(metrics.system_uptime.clone().filter(|s| !s.is_empty()))
        .bind(boot_time)
        .bind(metrics.load_average.clone().map(DbJson))
        .bind(metrics.needs_reboot)
        .bind(metrics.reboot_reason.clone().filter(|s| !s.is_empty()))
        .bind(agent_version)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(host) = host else {
            // Deleted since its credentials were cached.
            state.auth_cache().remove(&me.api_id);
            return Err(AppError::Unauthorized(super::auth::INVALID));
        };
        let request_full = sent_hashes.as_ref().map(|h| stale_sections(&host, h)).unwrap_or_default();
        if req.is_some() {
            sqlx::query(
                "INSERT INTO update_history (id, host_id, report_type, status, payload_size_kb, \
                 agent_execution_ms, sections_unchanged, sections_sent, timestamp) \
                 VALUES ($1, $2, 'ping', 'success', $3, $4, $5, $6, $7)",
            )
            .bind(Uuid::new_v4())
            .bind(host.id)
            .bind(body.len() as f64 / 1024.0)
            .bind(agent_ms)
            .bind(DbJson(
                ["packages", "repos", "interfaces", "hostname"]
                    .iter()
                    .filter(|s| !request_full.iter().any(|r| r == *s))
                    .collect::<Vec<_>>(),
            ))
            .bind(DbJson(Vec::<String>::new()))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        (host, request_full)
    });

    Ok(Json(PingResponse {
        agent_startup: true,
        friendly_name: display_name(&host),
        hash_gate: true,
        integrations: IntegrationFlags {
            compliance: host.compliance_enabled,
            docker: host.docker_enabled,
        },
        message: "Ping successful".into(),
        request_full,
        timestamp: rfc3339(now),
    }))
}

/// Sections whose stored hash is missing, or differs from the agent's, in
/// PatchMon's fixed order; docker and compliance only when enabled.
fn stale_sections(host: &AgentHost, h: &patchmon_protocol::SectionHashes) -> Vec<String> {
    let stale = |stored: &Option<String>, sent: &str| {
        stored.as_deref().is_none_or(str::is_empty)
            || sent.is_empty()
            || stored.as_deref() != Some(sent)
    };
    let mut out = Vec::new();
    for (name, stored, sent, enabled) in [
        ("packages", &host.packages_hash, &h.packages_hash, true),
        ("repos", &host.repos_hash, &h.repos_hash, true),
        (
            "interfaces",
            &host.interfaces_hash,
            &h.interfaces_hash,
            true,
        ),
        ("hostname", &host.hostname_hash, &h.hostname_hash, true),
        (
            "docker",
            &host.docker_hash,
            &h.docker_hash,
            host.docker_enabled,
        ),
        (
            "compliance",
            &host.compliance_hash,
            &h.compliance_hash,
            host.compliance_enabled,
        ),
    ] {
        if enabled && stale(stored, sent) {
            out.push(name.to_owned());
        }
    }
    out
}

fn display_name(h: &AgentHost) -> String {
    if !h.friendly_name.is_empty() {
        h.friendly_name.clone()
    } else {
        h.hostname.clone().unwrap_or_else(|| h.api_id.clone())
    }
}

/// `POST /hosts/update`: full or partial report.
#[utoipa::path(
    post,
    path = "/api/v1/hosts/update",
    tag = "Agent API",
    responses(
        (status = "2XX", description = "Success"),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
pub async fn update(
    State(state): State<AppState>,
    AgentAuth(host): AgentAuth,
    RawBody(body): RawBody,
) -> AppResult<Json<ReportResponse>> {
    let payload: ReportPayload = match strip_nul(body.clone()).and_then(|b| decode(&b)) {
        Ok(p) => p,
        Err(e) => {
            reports::record_rejection(&state, host.id, "full", &e.to_string(), body.len()).await;
            return Err(e);
        }
    };
    let (resp, stats) = reports::ingest(&state, &host, payload, body.len()).await?;
    tracing::debug!(api_id = %host.api_id, ?stats, "report stored");
    Ok(Json(resp))
}

/// `GET /settings/update-interval`
#[utoipa::path(
    get,
    path = "/api/v1/settings/update-interval",
    tag = "Agent API",
    responses(
        (status = "2XX", description = "Success"),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
pub async fn update_interval(
    State(state): State<AppState>,
    AgentAuth(_host): AgentAuth,
) -> AppResult<Json<UpdateIntervalResponse>> {
    let s = settings::agent_settings(state.db()).await?;
    Ok(Json(UpdateIntervalResponse {
        update_interval: s.update_interval,
    }))
}

/// `GET /hosts/integrations`
#[utoipa::path(
    get,
    path = "/api/v1/hosts/integrations",
    tag = "Agent API",
    responses(
        (status = "2XX", description = "Success"),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
pub async fn integrations(
    State(state): State<AppState>,
    AgentAuth(me): AgentAuth,
) -> AppResult<Json<IntegrationsResponse>> {
    let s = settings::agent_settings(state.db()).await?;
    let host = hosts::find_by_api_id(state.db(), &me.api_id)
        .await?
        .filter(|h| h.id == me.id)
        .ok_or(AppError::Unauthorized(super::auth::INVALID))?;
    let mode = if host.compliance_enabled {
        "enabled".to_owned()
    } else {
        s.default_compliance_mode
    };
    Ok(Json(IntegrationsResponse {
        compliance_docker_bench_enabled: false,
        compliance_mode: mode,
        compliance_openscap_enabled: true,
        integrations: IntegrationFlags {
            compliance: host.compliance_enabled,
            docker: host.docker_enabled,
        },
        success: true,
    }))
}

/// `POST /hosts/integration-status`: stores the agent's latest status document
/// per integration. An absent `install_events` keeps the stored events.
#[utoipa::path(
    post,
    path = "/api/v1/hosts/integration-status",
    tag = "Agent API",
    responses(
        (status = "2XX", description = "Success"),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
pub async fn integration_status(
    State(state): State<AppState>,
    AgentAuth(host): AgentAuth,
    RawBody(body): RawBody,
) -> AppResult<Json<Value>> {
    let body = strip_nul(body)?;
    let mut doc: Value = decode(&body)?;
    let integration = doc
        .get("integration")
        .and_then(Value::as_str)
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    if !matches!(integration.as_str(), "docker" | "compliance") {
        return Err(AppError::BadRequest(
            "integration must be docker or compliance".into(),
        ));
    }
    let now = state.now();
    if let Some(obj) = doc.as_object_mut() {
        obj.insert("timestamp".into(), json!(rfc3339(now)));
    }
    let _write = state.db().write_guard().await;
    with_db!(state.db(), p => {
        let mut tx = p.begin().await?;
        if doc.get("install_events").is_none() {
            let prev: Option<DbJson<Value>> = sqlx::query_scalar(
                "SELECT status FROM host_integration_status WHERE host_id = $1 AND integration = $2",
            )
            .bind(host.id)
            .bind(&integration)
            .fetch_optional(&mut *tx)
            .await?;
            if let (Some(events), Some(obj)) =
                (prev.and_then(|p| p.0.get("install_events").cloned()), doc.as_object_mut())
            {
                obj.insert("install_events".into(), events);
            }
        }
        sqlx::query(
            "INSERT INTO host_integration_status (host_id, integration, status, updated_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (host_id, integration) \
             DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at",
        )
        .bind(host.id)
        .bind(&integration)
        .bind(DbJson(&doc))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
    });
    Ok(Json(
        json!({"message": "Integration status received", "success": true}),
    ))
}

const OSES: &[&str] = &["linux", "freebsd", "windows"];
const ARCHES: &[&str] = &["amd64", "386", "arm64", "arm"];

/// `GET /hosts/agent/version`: self-update is not offered yet, so this
/// always answers "no update", with the reason.
#[utoipa::path(
    get,
    path = "/api/v1/hosts/agent/version",
    tag = "Agent API",
    responses(
        (status = "2XX", description = "Success"),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
pub async fn agent_version(
    AgentAuth(_host): AgentAuth,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Json<AgentVersionResponse>> {
    let os = q.get("os").map(String::as_str).unwrap_or("linux");
    let arch = q.get("arch").map(String::as_str).unwrap_or("amd64");
    if !OSES.contains(&os) {
        return Err(AppError::BadRequest(format!("Unsupported os {os:?}")));
    }
    if !ARCHES.contains(&arch) || (os == "windows" && !matches!(arch, "amd64" | "arm64")) {
        return Err(AppError::BadRequest(format!(
            "Unsupported arch {arch:?} for {os}"
        )));
    }
    let current = q.get("currentVersion").cloned().unwrap_or_default();
    Ok(Json(AgentVersionResponse {
        agent_type: q.get("type").cloned().unwrap_or_else(|| "go".into()),
        architecture: arch.to_owned(),
        auto_update_disabled: true,
        auto_update_disabled_reason: "This server does not distribute agent updates yet".into(),
        current_version: current.clone(),
        download_url: None,
        error: None,
        has_update: false,
        hash: None,
        latest_version: Some(current).filter(|c| !c.is_empty()),
        min_server_version: None,
        release_notes: None,
    }))
}

/// The OpenAPI description of this module's routes (`crate::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    ping,
    update,
    update_interval,
    integrations,
    integration_status,
    agent_version
))]
pub(crate) struct Api;
