//! Auto-enrollment: `POST /api/v1/auto-enrollment/enroll`, `/enroll/bulk`
//! and the enrollment scripts at `GET /api/v1/auto-enrollment/script`.
//!
//! Fixes over PatchMon (spec §10.7, §10.20): only enrollment-type tokens
//! enroll; the daily quota is checked and consumed in the same write
//! transaction that creates the hosts; a machine already enrolled (same
//! `machine_id`) answers 409 instead of becoming a duplicate.

use std::net::IpAddr;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::auth::session::ClientInfo;
use crate::error::AppError;
use crate::extract::AppJson;
use crate::hosts::credentials;
use crate::state::AppState;
use crate::tokens::auth::{self as token_auth, TokenError};
use crate::tokens::{Token, quota_day};
use crate::with_db;

const PROXMOX_SCRIPT: &str = include_str!("proxmox-lxc.sh");
const DIRECT_HOST_SCRIPT: &str = include_str!("direct-host.sh");
/// Helpers both scripts use, inserted at their `# @common@` line.
const COMMON_SH: &str = include_str!("common.sh");

/// Most hosts one bulk request may carry.
pub const BULK_MAX: usize = 50;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/auto-enrollment/enroll",
            post(enroll).layer(DefaultBodyLimit::max(64 * 1024)),
        )
        .route(
            "/api/v1/auto-enrollment/enroll/bulk",
            post(enroll_bulk).layer(DefaultBodyLimit::max(512 * 1024)),
        )
        .route("/api/v1/auto-enrollment/script", get(script))
}

/// Refuses a client that has made too many token requests this minute.
fn rate_limit(state: &AppState, client: &ClientInfo) -> Option<Response> {
    let key = client
        .ip
        .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
    let d = state.limiters().tokens.check(
        &key,
        state.config().token_rate_limit_max,
        chrono::Duration::minutes(1),
        state.now(),
    );
    if d.allowed {
        return None;
    }
    let mut res = AppError::TooManyRequests {
        message: "Too many requests, please try again later.".into(),
        retry_after: d.reset_secs,
    }
    .into_response();
    d.apply(res.headers_mut());
    Some(res)
}

#[derive(Deserialize, utoipa::ToSchema)]
struct EnrollBody {
    friendly_name: Option<String>,
    machine_id: Option<String>,
    #[serde(default)]
    metadata: Option<serde_json::Map<String, Value>>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = EnrollBulkBody)]
struct BulkBody {
    hosts: Option<Vec<EnrollBody>>,
}

/// A validated host to create.
struct NewHost {
    friendly_name: String,
    machine_id: Option<String>,
    ip: Option<String>,
}

fn validate(body: EnrollBody) -> Result<NewHost, String> {
    let name = body.friendly_name.unwrap_or_default();
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 255 {
        return Err("friendly_name is required (1-255 characters)".into());
    }
    if name.chars().any(char::is_control) {
        return Err("friendly_name must not contain control characters".into());
    }
    let machine_id = match body.machine_id.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(m) if m.chars().count() > 255 || m.chars().any(char::is_control) => {
            return Err("machine_id must be at most 255 printable characters".into());
        }
        Some(m) => Some(m.to_owned()),
    };
    let metadata = body.metadata.unwrap_or_default();
    if serde_json::to_vec(&metadata).map_or(0, |v| v.len()) > 16 * 1024 {
        return Err("metadata is too large (16 KB max)".into());
    }
    let ip = metadata
        .get("ip_address")
        .and_then(Value::as_str)
        .and_then(|s| s.trim().parse::<IpAddr>().ok())
        .map(|ip| ip.to_string());
    Ok(NewHost {
        friendly_name: name.to_owned(),
        machine_id,
        ip,
    })
}

fn bad_request(msg: String) -> Response {
    AppError::BadRequest(msg).into_response()
}

/// What happened to one host of a request.
enum Outcome {
    Created {
        id: Uuid,
        friendly_name: String,
        api_id: String,
        api_key: String,
    },
    /// Its machine is already enrolled (as this host id).
    Duplicate {
        friendly_name: String,
        machine_id: String,
        existing: Uuid,
    },
}

/// Why a whole request was refused inside the transaction.
enum Refusal {
    Quota { remaining: i64 },
    Db(sqlx::Error),
}

impl From<sqlx::Error> for Refusal {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(e)
    }
}

/// Creates the hosts in one write transaction: the token's quota row is
/// locked, the remaining quota checked against the whole request, machines
/// already enrolled are reported instead of created, and the quota is
/// consumed by the hosts actually created.
async fn create_hosts(
    state: &AppState,
    token: &Token,
    hosts: Vec<NewHost>,
) -> Result<Vec<Outcome>, Refusal> {
    let now = state.now();
    let day = quota_day(now);
    let notes = format!(
        "Auto-enrolled via {} on {}",
        token.token_name,
        now.to_rfc3339_opts(SecondsFormat::Secs, true)
    );
    let lock_sql = if state.db().is_postgres() {
        "SELECT CASE WHEN quota_day = $2 THEN hosts_created_today ELSE 0 END, max_hosts_per_day \
         FROM auto_enrollment_tokens WHERE id = $1 FOR UPDATE"
    } else {
        "SELECT CASE WHEN quota_day = $2 THEN hosts_created_today ELSE 0 END, max_hosts_per_day \
         FROM auto_enrollment_tokens WHERE id = $1"
    };
    let begin = state.db().begin_write_sql();
    let _w = state.db().write_guard().await;
    with_db!(state.db(), pool => {
        let mut tx = pool.begin_with(begin).await?;
        let (used, max): (i64, i64) = sqlx::query_as(lock_sql)
            .bind(token.id)
            .bind(&day)
            .fetch_one(&mut *tx)
            .await?;
        let remaining = (max - used).max(0);
        if hosts.len() as i64 > remaining {
            return Err(Refusal::Quota { remaining });
        }
        let mut out = Vec::with_capacity(hosts.len());
        let mut created = 0i64;
        for h in hosts {
            if let Some(m) = &h.machine_id {
                let existing: Option<Uuid> = sqlx::query_scalar(
                    "SELECT id FROM hosts WHERE enrollment_machine_id = $1 OR machine_id = $1 LIMIT 1",
                )
                .bind(m)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some(existing) = existing {
                    out.push(Outcome::Duplicate {
                        friendly_name: h.friendly_name,
                        machine_id: m.clone(),
                        existing,
                    });
                    continue;
                }
            }
            let (api_id, api_key) = credentials::generate().map_err(|e| {
                Refusal::Db(sqlx::Error::Protocol(format!("random source: {e}")))
            })?;
            let id = Uuid::new_v4();
            sqlx::query(
                "INSERT INTO hosts (id, api_id, api_key_hash, friendly_name, ip, status, notes, \
                 enrollment_machine_id, enrolled_by_token_id, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $8, $9, $9)",
            )
            .bind(id)
            .bind(&api_id)
            .bind(credentials::hash_secret(&api_key))
            .bind(&h.friendly_name)
            .bind(&h.ip)
            .bind(&notes)
            .bind(&h.machine_id)
            .bind(token.id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if let Some(g) = token.default_host_group_id {
                sqlx::query(
                    "INSERT INTO host_group_memberships (host_id, host_group_id, created_at) \
                     SELECT $1, id, $3 FROM host_groups WHERE id = $2",
                )
                .bind(id)
                .bind(g)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            created += 1;
            out.push(Outcome::Created {
                id,
                friendly_name: h.friendly_name,
                api_id,
                api_key,
            });
        }
        sqlx::query(
            "UPDATE auto_enrollment_tokens SET hosts_created_today = $3, quota_day = $2, \
             last_used_at = $4 WHERE id = $1",
        )
        .bind(token.id)
        .bind(&day)
        .bind(used + created)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(out)
    })
}

fn quota_refusal(remaining: i64, requested: usize, bulk: bool) -> Response {
    let message = if bulk || remaining > 0 {
        format!("Only {remaining} hosts remaining in daily quota (requested {requested})")
    } else {
        "Maximum hosts per day allowed for this token".to_owned()
    };
    TokenError::with_message(
        StatusCode::TOO_MANY_REQUESTS,
        "Rate limit exceeded",
        message,
    )
    .into_response()
}

async fn group_json(state: &AppState, token: &Token) -> Result<Value, AppError> {
    let Some(g) = token.default_host_group_id else {
        return Ok(Value::Null);
    };
    let row: Option<(Uuid, String, String)> = with_db!(state.db(), p => sqlx::query_as(
        "SELECT id, name, color FROM host_groups WHERE id = $1").bind(g).fetch_optional(p).await)?;
    Ok(row.map_or(
        Value::Null,
        |(id, name, color)| json!({"id": id, "name": name, "color": color}),
    ))
}

/// Compact JSON (scripts grep `"api_id":"…"`), with a status.
fn compact(status: StatusCode, v: &Value) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        v.to_string(),
    )
        .into_response()
}

/// Rate limit, header credentials, then the body: the common start of both
/// enrollment endpoints (credentials are checked before the body is judged).
async fn admit<T>(
    state: &AppState,
    headers: &HeaderMap,
    client: &ClientInfo,
    body: Result<AppJson<T>, AppError>,
) -> Result<(Token, T), Response> {
    if let Some(r) = rate_limit(state, client) {
        return Err(r);
    }
    let creds = token_auth::enrollment_credentials(headers, None, None);
    let token = token_auth::enrollment(state, creds, client)
        .await
        .map_err(IntoResponse::into_response)?;
    let AppJson(body) = body.map_err(IntoResponse::into_response)?;
    Ok((token, body))
}

#[utoipa::path(
    post,
    path = "/api/v1/auto-enrollment/enroll",
    tag = "Auto-enrollment",
    request_body = EnrollBody,
    responses(
        (status = "2XX", description = "Success"),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn enroll(
    State(state): State<AppState>,
    headers: HeaderMap,
    client: ClientInfo,
    body: Result<AppJson<EnrollBody>, AppError>,
) -> Response {
    let (token, body) = match admit(&state, &headers, &client, body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let host = match validate(body) {
        Ok(h) => h,
        Err(m) => return bad_request(m),
    };
    let outcome = match create_hosts(&state, &token, vec![host]).await {
        Ok(mut o) => o.pop(),
        Err(Refusal::Quota { remaining }) => return quota_refusal(remaining, 1, false),
        Err(Refusal::Db(e)) => return AppError::from(e).into_response(),
    };
    match outcome {
        Some(Outcome::Created {
            id,
            friendly_name,
            api_id,
            api_key,
        }) => {
            let group = match group_json(&state, &token).await {
                Ok(g) => g,
                Err(e) => return e.into_response(),
            };
            tracing::info!(host_id = %id, token = %token.token_name, "host auto-enrolled");
            compact(
                StatusCode::CREATED,
                &json!({
                    "message": "Host enrolled successfully",
                    "host": {
                        "id": id,
                        "friendly_name": friendly_name,
                        "api_id": api_id,
                        "api_key": api_key,
                        "host_group": group,
                        "status": "pending",
                    }
                }),
            )
        }
        Some(Outcome::Duplicate {
            friendly_name,
            existing,
            ..
        }) => compact(
            StatusCode::CONFLICT,
            &json!({
                "error": "Host already enrolled",
                "code": "conflict",
                "message": format!("A host with this machine_id is already enrolled ({friendly_name})"),
                "host_id": existing,
            }),
        ),
        None => AppError::internal("enrollment produced no outcome").into_response(),
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/auto-enrollment/enroll/bulk",
    tag = "Auto-enrollment",
    request_body = BulkBody,
    responses(
        (status = "2XX", description = "Success"),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn enroll_bulk(
    State(state): State<AppState>,
    headers: HeaderMap,
    client: ClientInfo,
    body: Result<AppJson<BulkBody>, AppError>,
) -> Response {
    let (token, body) = match admit(&state, &headers, &client, body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let hosts = body.hosts.unwrap_or_default();
    if hosts.is_empty() || hosts.len() > BULK_MAX {
        return bad_request(format!("hosts must contain 1 to {BULK_MAX} entries"));
    }
    let requested = hosts.len();
    let mut valid = Vec::with_capacity(requested);
    let mut failed = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut skipped = Vec::new();
    for (i, h) in hosts.into_iter().enumerate() {
        let name = h.friendly_name.clone();
        match validate(h) {
            Ok(v) => {
                if let Some(m) = &v.machine_id
                    && !seen.insert(m.clone())
                {
                    skipped.push(json!({"friendly_name": v.friendly_name, "machine_id": m,
                        "reason": "Duplicate machine_id in this request"}));
                    continue;
                }
                valid.push(v);
            }
            Err(e) => failed.push(json!({"index": i, "friendly_name": name, "error": e})),
        }
    }
    let outcomes = if valid.is_empty() {
        Vec::new()
    } else {
        match create_hosts(&state, &token, valid).await {
            Ok(o) => o,
            Err(Refusal::Quota { remaining }) => return quota_refusal(remaining, requested, true),
            Err(Refusal::Db(e)) => return AppError::from(e).into_response(),
        }
    };
    let mut success = Vec::new();
    for o in outcomes {
        match o {
            Outcome::Created {
                id,
                friendly_name,
                api_id,
                api_key,
            } => success.push(json!({"id": id, "friendly_name": friendly_name,
                "api_id": api_id, "api_key": api_key})),
            Outcome::Duplicate {
                friendly_name,
                machine_id,
                existing,
            } => skipped.push(
                json!({"friendly_name": friendly_name, "machine_id": machine_id,
                "host_id": existing, "reason": "Host already enrolled"}),
            ),
        }
    }
    let message = format!(
        "Bulk enrollment completed: {} succeeded, {} failed, {} skipped",
        success.len(),
        failed.len(),
        skipped.len()
    );
    compact(
        StatusCode::CREATED,
        &json!({
            "message": message,
            "results": { "success": success, "failed": failed, "skipped": skipped },
        }),
    )
}

#[derive(Deserialize)]
struct ScriptQuery {
    #[serde(rename = "type")]
    kind: Option<String>,
    token_key: Option<String>,
    token_secret: Option<String>,
    force: Option<String>,
}

/// Single-quotes a value for sh (`'` becomes `'\''`).
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[utoipa::path(
    get,
    path = "/api/v1/auto-enrollment/script",
    tag = "Auto-enrollment",
    responses(
        (status = "2XX", description = "Success"),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn script(
    State(state): State<AppState>,
    headers: HeaderMap,
    client: ClientInfo,
    Query(q): Query<ScriptQuery>,
) -> Response {
    if let Some(r) = rate_limit(&state, &client) {
        return r;
    }
    let template = match q.kind.as_deref() {
        Some("proxmox-lxc") => PROXMOX_SCRIPT,
        Some("direct-host") => DIRECT_HOST_SCRIPT,
        _ => {
            return bad_request(
                "Missing or invalid type parameter: use type=proxmox-lxc or type=direct-host"
                    .into(),
            );
        }
    };
    let creds = token_auth::enrollment_credentials(
        &headers,
        q.token_key.as_deref(),
        q.token_secret.as_deref(),
    );
    let token = match token_auth::enrollment(&state, creds, &client).await {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    let Some((key, secret)) = creds else {
        return TokenError::unauthorized("Auto-enrollment credentials required").into_response();
    };
    let settings = match crate::settings::agent_settings(state.db()).await {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    // The same address the agent installer uses, so enrollment and install agree.
    let url = match crate::install::server_url(&state, &headers).await {
        Ok(u) => u,
        Err(e) => return e.into_response(),
    };
    let force = matches!(q.force.as_deref(), Some("true" | "1"));
    let curl_flags = if settings.ignore_ssl_self_signed {
        "-sk"
    } else {
        "-s"
    };
    tracing::info!(token = %token.token_name, kind = ?q.kind, "enrollment script served");
    let body = render_script(
        template,
        &[
            ("PATCHMON_URL", url.as_str()),
            ("AUTO_ENROLLMENT_KEY", key),
            ("AUTO_ENROLLMENT_SECRET", secret),
            ("CURL_FLAGS", curl_flags),
            ("FORCE_INSTALL", if force { "true" } else { "false" }),
        ],
        state.now(),
    );
    (
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("inline"),
            ),
        ],
        body,
    )
        .into_response()
}

/// Inserts the injected settings right after the shebang line. Each is a
/// default the caller's environment can still override (`VAR=… ./script`).
pub fn render_script(template: &str, vars: &[(&str, &str)], now: DateTime<Utc>) -> String {
    let (shebang, rest) = template.split_once('\n').unwrap_or(("#!/bin/sh", template));
    let mut out = String::with_capacity(template.len() + 512);
    out.push_str(shebang);
    out.push('\n');
    out.push_str(&format!(
        "# Generated by patchmon-server on {} for this server.\n",
        now.to_rfc3339_opts(SecondsFormat::Secs, true)
    ));
    for (k, v) in vars {
        out.push_str(&format!(
            "{k}=\"${{{k}:-}}\"; [ -n \"${k}\" ] || {k}={}\n",
            sh_quote(v)
        ));
    }
    out.push_str(&rest.replacen("# @common@\n", COMMON_SH, 1));
    out
}

/// The OpenAPI description of this module's routes (`crate::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(enroll, enroll_bulk, script))]
pub(crate) struct Api;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_hostile_values() {
        assert_eq!(sh_quote("a'b"), r"'a'\''b'");
        let s = render_script(
            "#!/bin/sh\necho \"$X\"\n",
            &[("X", "$(rm -rf /)'\"")],
            DateTime::<Utc>::from_timestamp(0, 0).unwrap_or_default(),
        );
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&s)
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "$(rm -rf /)'\"\n");
    }
}
