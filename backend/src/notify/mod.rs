//! Notification channels: webhook (HMAC-SHA256 signed), email over SMTP
//! (lettre), and ntfy / Gotify presets. Each channel has an event filter, a
//! minimum severity, an optional host-group scope and a cooldown per
//! (channel, host, alert type). Every attempt is logged in
//! `notification_deliveries` (sent / skipped_cooldown / failed).

pub mod guard;

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::types::Json as SqlJson;
use uuid::Uuid;

use crate::alerts::{self, Alert};
use crate::error::{AppError, AppResult};
use crate::extract::{AppJson, AppPath};
use crate::queue::api::AppQuery;
use crate::rbac::{Access, ApiRouter, CurrentUser, Permission};
use crate::state::AppState;
use crate::with_db;

/// Signature header of webhook deliveries: `sha256=<hex>` over `"<timestamp>.<body>"`.
pub const SIGNATURE_HEADER: &str = "x-patchmon-signature";
pub const TIMESTAMP_HEADER: &str = "x-patchmon-timestamp";
pub const EVENT_HEADER: &str = "x-patchmon-event";
const ATTEMPTS: u32 = 3;
const REDACTED: &str = "********";
const SECRET_KEYS: &[&str] = &["secret", "token", "password"];

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Channel {
    pub id: Uuid,
    pub name: String,
    pub kind: String,
    pub enabled: bool,
    pub config: SqlJson<Value>,
    pub events: SqlJson<Vec<String>>,
    pub min_severity: String,
    pub host_group_id: Option<Uuid>,
    pub cooldown_seconds: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A delivery's outcome, for the API description.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Sent,
    SkippedCooldown,
    Failed,
}

/// The channel kinds, for the API description.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    Webhook,
    Email,
    Ntfy,
    Gotify,
}

/// A notification channel as the API shows it: stored secrets (`secret`,
/// `token`, `password` in `config`) replaced by a placeholder that, sent
/// back unchanged on update, keeps the stored value.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ChannelView {
    pub id: Uuid,
    pub name: String,
    #[schema(value_type = ChannelKind)]
    pub kind: String,
    pub enabled: bool,
    /// Kind-specific settings.
    #[schema(value_type = Object)]
    pub config: Value,
    /// Alert events that notify (empty: every event).
    pub events: Vec<String>,
    #[schema(value_type = crate::alerts::Severity)]
    pub min_severity: String,
    /// Only alerts about hosts in this group (none: every host).
    pub host_group_id: Option<Uuid>,
    pub cooldown_seconds: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ChannelList {
    pub channels: Vec<ChannelView>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ChannelAnswer {
    pub channel: ChannelView,
}

/// The result of a test send.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TestResult {
    /// `sent` or `failed`.
    #[schema(value_type = DeliveryStatus)]
    pub status: String,
    pub attempts: i64,
    pub error: Option<String>,
}

/// One page of the delivery log, newest first.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DeliveryList {
    pub deliveries: Vec<Delivery>,
    /// Deliveries matching the filters, over all pages.
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

/// One notification attempt series, newest first.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Delivery {
    pub id: Uuid,
    pub channel_id: Uuid,
    pub alert_id: Option<Uuid>,
    pub host_id: Option<Uuid>,
    pub alert_type: String,
    pub event: String,
    #[schema(value_type = DeliveryStatus)]
    pub status: String,
    pub attempts: i64,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl Channel {
    /// The channel as the API shows it: secrets replaced by a placeholder.
    fn redacted(&self) -> ChannelView {
        let mut c = self.config.0.clone();
        if let Some(obj) = c.as_object_mut() {
            for k in SECRET_KEYS {
                if obj.get(*k).is_some_and(|v| !v.is_null()) {
                    obj.insert((*k).into(), json!(REDACTED));
                }
            }
        }
        ChannelView {
            id: self.id,
            name: self.name.clone(),
            kind: self.kind.clone(),
            enabled: self.enabled,
            config: c,
            events: self.events.0.clone(),
            min_severity: self.min_severity.clone(),
            host_group_id: self.host_group_id,
            cooldown_seconds: self.cooldown_seconds,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

const CHANNEL_SQL: &str = "SELECT id, name, kind, enabled, config, events, min_severity, host_group_id, \
    cooldown_seconds, created_at, updated_at FROM notification_channels";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = match hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex(&mac.finalize().into_bytes()))
}

/// Notifies every matching channel about an alert event, in the background.
pub async fn dispatch(state: &AppState, alert: &Alert, event: &'static str) {
    let s = state.clone();
    let a = alert.clone();
    tokio::spawn(async move {
        if let Err(e) = dispatch_now(&s, &a, event).await {
            tracing::warn!(alert = %a.id, error = %e, "notification dispatch failed");
        }
    });
}

/// Notifies every matching channel and waits for the deliveries.
pub async fn dispatch_now(state: &AppState, alert: &Alert, event: &str) -> AppResult<()> {
    let sql = if state.db().is_postgres() {
        concat!(
            "SELECT id, name, kind, enabled, config, events, min_severity, host_group_id, ",
            "cooldown_seconds, created_at, updated_at FROM notification_channels WHERE enabled = TRUE"
        )
    } else {
        concat!(
            "SELECT id, name, kind, enabled, config, events, min_severity, host_group_id, ",
            "cooldown_seconds, created_at, updated_at FROM notification_channels WHERE enabled = 1"
        )
    };
    let channels: Vec<Channel> = with_db!(state.db(), p => sqlx::query_as(sql).fetch_all(p).await)?;
    for ch in channels {
        if !matches(state, &ch, alert, event).await? {
            continue;
        }
        if event == "alert_raised" && in_cooldown(state, &ch, alert).await? {
            log(
                state,
                &ch,
                Some(alert),
                event,
                "skipped_cooldown",
                0,
                Some("within the channel cooldown for this host and alert type"),
            )
            .await?;
            continue;
        }
        let (status, attempts, err) = send_with_retries(state, &ch, alert, event).await;
        log(
            state,
            &ch,
            Some(alert),
            event,
            status,
            attempts,
            err.as_deref(),
        )
        .await?;
    }
    Ok(())
}

async fn matches(state: &AppState, ch: &Channel, a: &Alert, event: &str) -> AppResult<bool> {
    let ev = &ch.events.0;
    if !ev.is_empty()
        && !ev
            .iter()
            .any(|e| e == &a.alert_type || e == event || e == "*")
    {
        return Ok(false);
    }
    if alerts::severity_rank(&a.severity) < alerts::severity_rank(&ch.min_severity) {
        return Ok(false);
    }
    if let Some(g) = ch.host_group_id {
        let Some(h) = a.host_id else { return Ok(false) };
        const SQL: &str =
            "SELECT COUNT(*) FROM host_group_memberships WHERE host_id = $1 AND host_group_id = $2";
        let n: i64 =
            with_db!(state.db(), p => sqlx::query_scalar(SQL).bind(h).bind(g).fetch_one(p).await)?;
        return Ok(n > 0);
    }
    Ok(true)
}

async fn in_cooldown(state: &AppState, ch: &Channel, a: &Alert) -> AppResult<bool> {
    if ch.cooldown_seconds <= 0 {
        return Ok(false);
    }
    let since = state.now() - chrono::Duration::seconds(ch.cooldown_seconds);
    const SQL: &str = "SELECT COUNT(*) FROM notification_deliveries WHERE channel_id = $1 \
        AND host_id IS NOT DISTINCT FROM $2 AND alert_type = $3 AND event = 'alert_raised' \
        AND status = 'sent' AND created_at >= $4";
    let n: i64 = with_db!(state.db(), p => sqlx::query_scalar(SQL).bind(ch.id).bind(a.host_id)
        .bind(&a.alert_type).bind(since).fetch_one(p).await)?;
    Ok(n > 0)
}

#[allow(clippy::too_many_arguments)]
async fn log(
    state: &AppState,
    ch: &Channel,
    a: Option<&Alert>,
    event: &str,
    status: &str,
    attempts: u32,
    error: Option<&str>,
) -> AppResult<()> {
    const SQL: &str = "INSERT INTO notification_deliveries (id, channel_id, alert_id, host_id, alert_type, event, \
        status, attempts, error, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
    let alert_type = a.map_or("test", |a| a.alert_type.as_str());
    with_db!(state.db(), p => sqlx::query(SQL).bind(Uuid::new_v4()).bind(ch.id).bind(a.map(|a| a.id))
        .bind(a.and_then(|a| a.host_id)).bind(alert_type).bind(event).bind(status)
        .bind(i64::from(attempts)).bind(error).bind(state.now()).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}

async fn send_with_retries(
    state: &AppState,
    ch: &Channel,
    a: &Alert,
    event: &str,
) -> (&'static str, u32, Option<String>) {
    let base = state.config().queue.notify_retry_base;
    let mut last = String::new();
    for attempt in 1..=ATTEMPTS {
        match send(state, ch, a, event).await {
            Ok(()) => return ("sent", attempt, None),
            Err(e) => {
                last = e;
                if attempt < ATTEMPTS {
                    tokio::time::sleep(crate::queue::backoff(base, i64::from(attempt))).await;
                }
            }
        }
    }
    ("failed", ATTEMPTS, Some(last))
}

/// An error with its causes (reqwest's own text leaves out why a request failed:
/// a refused connection, a DNS failure, a denied address).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cause = c.source();
    }
    out
}

fn str_of<'a>(c: &'a Value, k: &str) -> Option<&'a str> {
    c.get(k).and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn payload(a: &Alert, event: &str, now: DateTime<Utc>) -> Value {
    json!({
        "event": event,
        "sent_at": now,
        "alert": {
            "id": a.id, "type": a.alert_type, "severity": a.severity, "status": a.status,
            "title": a.title, "message": a.message, "host_id": a.host_id,
            "created_at": a.created_at, "resolved_at": a.resolved_at,
        },
    })
}

async fn send(state: &AppState, ch: &Channel, a: &Alert, event: &str) -> Result<(), String> {
    let c = &ch.config.0;
    let http = state
        .notify_sender()
        .get_or_init(|| guard::Sender::new(&state.config().queue.notify_deny))
        .as_ref()
        .map_err(Clone::clone)?;
    let now = state.now();
    let title = format!("[{}] {}", a.severity.to_uppercase(), a.title);
    let check = |r: Result<reqwest::Response, reqwest::Error>| -> Result<(), String> {
        let r = r.map_err(|e| error_chain(&e))?;
        if r.status().is_success() {
            Ok(())
        } else {
            Err(format!("HTTP {}", r.status().as_u16()))
        }
    };
    match ch.kind.as_str() {
        "webhook" => {
            let url = str_of(c, "url").ok_or("webhook has no url")?;
            let body = serde_json::to_vec(&payload(a, event, now)).map_err(|e| e.to_string())?;
            let ts = now.timestamp();
            let mut req = http
                .post(url)?
                .header("content-type", "application/json")
                .header(EVENT_HEADER, event)
                .header(TIMESTAMP_HEADER, ts.to_string());
            if let Some(secret) = str_of(c, "secret") {
                req = req.header(SIGNATURE_HEADER, sign(secret, ts, &body));
            }
            check(req.body(body).send().await)
        }
        "ntfy" => {
            let base = str_of(c, "url")
                .unwrap_or("https://ntfy.sh")
                .trim_end_matches('/');
            let topic = str_of(c, "topic").ok_or("ntfy has no topic")?;
            let priority = match a.severity.as_str() {
                "critical" => "5",
                "error" => "4",
                "warning" => "3",
                _ => "2",
            };
            let mut req = http
                .post(&format!("{base}/{topic}"))?
                .header("Title", title.clone())
                .header("Priority", priority)
                .header("Tags", a.alert_type.clone());
            if let Some(t) = str_of(c, "token") {
                req = req.bearer_auth(t);
            }
            check(req.body(a.message.clone()).send().await)
        }
        "gotify" => {
            let base = str_of(c, "url")
                .ok_or("gotify has no url")?
                .trim_end_matches('/');
            let token = str_of(c, "token").ok_or("gotify has no token")?;
            let priority = match a.severity.as_str() {
                "critical" => 9,
                "error" => 7,
                "warning" => 5,
                _ => 2,
            };
            let body = json!({ "title": title, "message": a.message, "priority": priority,
                "extras": { "patchmon": payload(a, event, now) } });
            check(
                http.post(&format!("{base}/message"))?
                    .header("X-Gotify-Key", token)
                    .json(&body)
                    .send()
                    .await,
            )
        }
        "email" => {
            send_email(
                c,
                &title,
                &format!(
                    "{}\n\n{}",
                    a.message,
                    serde_json::to_string_pretty(&payload(a, event, now)).unwrap_or_default()
                ),
            )
            .await
        }
        other => Err(format!("unknown channel kind {other}")),
    }
}

async fn send_email(c: &Value, subject: &str, text: &str) -> Result<(), String> {
    use lettre::message::Mailbox;
    use lettre::transport::smtp::authentication::Credentials;
    use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
    let host = str_of(c, "host").ok_or("email has no host")?;
    let port = c.get("port").and_then(Value::as_u64).unwrap_or(587) as u16;
    let from: Mailbox = str_of(c, "from")
        .ok_or("email has no from")?
        .parse()
        .map_err(|e| format!("from: {e}"))?;
    let mut msg = Message::builder().from(from).subject(subject);
    let to = c
        .get("to")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if to.is_empty() {
        return Err("email has no recipients".into());
    }
    for t in to {
        let mb: Mailbox = t
            .as_str()
            .unwrap_or_default()
            .parse()
            .map_err(|e| format!("to: {e}"))?;
        msg = msg.to(mb);
    }
    let email = msg.body(text.to_owned()).map_err(|e| e.to_string())?;
    let mut builder = match str_of(c, "security").unwrap_or("starttls") {
        "tls" => AsyncSmtpTransport::<Tokio1Executor>::relay(host).map_err(|e| e.to_string())?,
        "starttls" => {
            AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host).map_err(|e| e.to_string())?
        }
        _ => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
    }
    .port(port)
    .timeout(Some(Duration::from_secs(15)));
    if let Some(u) = str_of(c, "username") {
        builder = builder.credentials(Credentials::new(
            u.to_owned(),
            str_of(c, "password").unwrap_or_default().to_owned(),
        ));
    }
    builder
        .build()
        .send(email)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

pub fn routes(api: ApiRouter) -> ApiRouter {
    let m = Access::Requires(Permission::ManageNotifications);
    api.get("/api/v1/notifications/channels", m, list)
        .post("/api/v1/notifications/channels", m, create)
        .put("/api/v1/notifications/channels/{id}", m, update)
        .delete("/api/v1/notifications/channels/{id}", m, remove)
        .post("/api/v1/notifications/channels/{id}/test", m, test)
        .get(
            "/api/v1/notifications/deliveries",
            Access::Requires(Permission::ViewNotificationLogs),
            deliveries,
        )
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ChannelBody {
    name: String,
    kind: String,
    #[serde(default = "yes")]
    enabled: bool,
    config: Value,
    #[serde(default)]
    events: Vec<String>,
    #[serde(default = "info")]
    min_severity: String,
    host_group_id: Option<Uuid>,
    #[serde(default = "cooldown")]
    cooldown_seconds: i64,
}

fn yes() -> bool {
    true
}
fn info() -> String {
    "info".into()
}
fn cooldown() -> i64 {
    900
}

fn validate(b: &ChannelBody) -> AppResult<()> {
    let bad = |m: &str| Err(AppError::BadRequest(m.into()));
    if b.name.trim().is_empty() || b.name.len() > 100 {
        return bad("name must be 1..100 characters");
    }
    if !alerts::SEVERITIES.contains(&b.min_severity.as_str()) {
        return bad("min_severity must be info, warning, error or critical");
    }
    if !(0..=30 * 86_400).contains(&b.cooldown_seconds) {
        return bad("cooldown_seconds must be 0..2592000");
    }
    if b.events.len() > 50 || b.events.iter().any(|e| e.len() > 64) {
        return bad("events: at most 50 names of up to 64 characters");
    }
    let c = &b.config;
    if !c.is_object() {
        return bad("config must be an object");
    }
    let url_ok = |k: &str| {
        str_of(c, k).is_some_and(|u| u.starts_with("http://") || u.starts_with("https://"))
    };
    match b.kind.as_str() {
        "webhook" if !url_ok("url") => bad("webhook config needs an http(s) url"),
        "ntfy" if str_of(c, "topic").is_none() => bad("ntfy config needs a topic"),
        "ntfy" if c.get("url").is_some() && !url_ok("url") => bad("ntfy url must be http(s)"),
        "gotify" if !url_ok("url") || str_of(c, "token").is_none() => {
            bad("gotify config needs an http(s) url and a token")
        }
        "email"
            if str_of(c, "host").is_none()
                || str_of(c, "from").is_none()
                || c.get("to")
                    .and_then(Value::as_array)
                    .is_none_or(|a| a.is_empty()) =>
        {
            bad("email config needs host, from and a non-empty to list")
        }
        "email"
            if !matches!(
                str_of(c, "security").unwrap_or("starttls"),
                "starttls" | "tls" | "none"
            ) =>
        {
            bad("email security must be starttls, tls or none")
        }
        "webhook" | "ntfy" | "gotify" | "email" => Ok(()),
        _ => bad("kind must be webhook, email, ntfy or gotify"),
    }
}

async fn get_channel(state: &AppState, id: Uuid) -> AppResult<Channel> {
    const SQL: &str = concat!(
        "SELECT id, name, kind, enabled, config, events, min_severity, host_group_id, ",
        "cooldown_seconds, created_at, updated_at FROM notification_channels WHERE id = $1"
    );
    with_db!(state.db(), p => sqlx::query_as(SQL).bind(id).fetch_optional(p).await)?
        .ok_or_else(|| AppError::NotFound("Channel not found".into()))
}

#[utoipa::path(
    get,
    path = "/api/v1/notifications/channels",
    tag = "Notifications",
    responses(
        (status = 200, description = "Success", body = ChannelList),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn list(State(state): State<AppState>, _u: CurrentUser) -> AppResult<Json<ChannelList>> {
    const SQL: &str = concat!(
        "SELECT id, name, kind, enabled, config, events, min_severity, host_group_id, ",
        "cooldown_seconds, created_at, updated_at FROM notification_channels ORDER BY name, id"
    );
    let _ = CHANNEL_SQL;
    let rows: Vec<Channel> = with_db!(state.db(), p => sqlx::query_as(SQL).fetch_all(p).await)?;
    Ok(Json(ChannelList {
        channels: rows.iter().map(Channel::redacted).collect(),
    }))
}

fn fk_error(e: sqlx::Error) -> AppError {
    match e {
        sqlx::Error::Database(d) if d.is_foreign_key_violation() => {
            AppError::BadRequest("host_group_id is not a host group".into())
        }
        other => other.into(),
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/notifications/channels",
    tag = "Notifications",
    request_body = ChannelBody,
    responses(
        (status = 201, description = "Created", body = ChannelAnswer),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn create(
    State(state): State<AppState>,
    _u: CurrentUser,
    AppJson(b): AppJson<ChannelBody>,
) -> AppResult<(StatusCode, Json<ChannelAnswer>)> {
    validate(&b)?;
    let id = Uuid::new_v4();
    let now = state.now();
    const SQL: &str = "INSERT INTO notification_channels (id, name, kind, enabled, config, events, min_severity, \
        host_group_id, cooldown_seconds, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)";
    with_db!(state.db(), p => sqlx::query(SQL).bind(id).bind(b.name.trim()).bind(&b.kind).bind(b.enabled)
        .bind(SqlJson(&b.config)).bind(SqlJson(&b.events)).bind(&b.min_severity).bind(b.host_group_id)
        .bind(b.cooldown_seconds).bind(now).execute(p).await.map(|r| r.rows_affected()))
    .map_err(fk_error)?;
    let ch = get_channel(&state, id).await?;
    Ok((
        StatusCode::CREATED,
        Json(ChannelAnswer {
            channel: ch.redacted(),
        }),
    ))
}

#[utoipa::path(
    put,
    path = "/api/v1/notifications/channels/{id}",
    tag = "Notifications",
    request_body = ChannelBody,
    params(("id" = String, Path, description = "id")),
    responses(
        (status = 200, description = "Success", body = ChannelAnswer),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn update(
    State(state): State<AppState>,
    _u: CurrentUser,
    AppPath(id): AppPath<Uuid>,
    AppJson(mut b): AppJson<ChannelBody>,
) -> AppResult<Json<ChannelAnswer>> {
    let old = get_channel(&state, id).await?;
    // A redacted secret sent back unchanged keeps the stored one.
    if let Some(obj) = b.config.as_object_mut() {
        for k in SECRET_KEYS {
            if obj.get(*k).and_then(Value::as_str) == Some(REDACTED) {
                match old.config.0.get(*k) {
                    Some(v) => obj.insert((*k).into(), v.clone()),
                    None => obj.remove(*k),
                };
            }
        }
    }
    validate(&b)?;
    const SQL: &str = "UPDATE notification_channels SET name = $2, kind = $3, enabled = $4, config = $5, \
        events = $6, min_severity = $7, host_group_id = $8, cooldown_seconds = $9, updated_at = $10 WHERE id = $1";
    with_db!(state.db(), p => sqlx::query(SQL).bind(id).bind(b.name.trim()).bind(&b.kind).bind(b.enabled)
        .bind(SqlJson(&b.config)).bind(SqlJson(&b.events)).bind(&b.min_severity).bind(b.host_group_id)
        .bind(b.cooldown_seconds).bind(state.now()).execute(p).await.map(|r| r.rows_affected()))
    .map_err(fk_error)?;
    let ch = get_channel(&state, id).await?;
    Ok(Json(ChannelAnswer {
        channel: ch.redacted(),
    }))
}

#[utoipa::path(
    delete,
    path = "/api/v1/notifications/channels/{id}",
    tag = "Notifications",
    params(("id" = String, Path, description = "id")),
    responses(
        (status = 200, description = "Success", body = crate::openapi::Message),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn remove(
    State(state): State<AppState>,
    _u: CurrentUser,
    AppPath(id): AppPath<Uuid>,
) -> AppResult<Json<crate::openapi::Message>> {
    const SQL: &str = "DELETE FROM notification_channels WHERE id = $1";
    let n = with_db!(state.db(), p => sqlx::query(SQL).bind(id).execute(p).await.map(|r| r.rows_affected()))?;
    if n == 0 {
        return Err(AppError::NotFound("Channel not found".into()));
    }
    Ok(crate::openapi::Message::new("Channel deleted"))
}

/// Sends a test notification through one channel now (no filter, no cooldown).
#[utoipa::path(
    post,
    path = "/api/v1/notifications/channels/{id}/test",
    tag = "Notifications",
    params(("id" = String, Path, description = "id")),
    responses(
        (status = 200, description = "Success", body = TestResult),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn test(
    State(state): State<AppState>,
    _u: CurrentUser,
    AppPath(id): AppPath<Uuid>,
) -> AppResult<Json<TestResult>> {
    let ch = get_channel(&state, id).await?;
    let now = state.now();
    let a = Alert {
        id: Uuid::nil(),
        alert_type: "test".into(),
        severity: "info".into(),
        status: "open".into(),
        title: "PatchMon test notification".into(),
        message: format!("This is a test of the channel \"{}\".", ch.name),
        host_id: None,
        metadata: SqlJson(json!({})),
        assigned_to_user_id: None,
        silenced_until: None,
        acknowledged_at: None,
        acknowledged_by: None,
        resolved_at: None,
        resolved_by: None,
        created_at: now,
        updated_at: now,
    };
    let (status, attempts, err) = send_with_retries(&state, &ch, &a, "test").await;
    log(&state, &ch, None, "test", status, attempts, err.as_deref()).await?;
    Ok(Json(TestResult {
        status: status.to_string(),
        attempts: attempts as i64,
        error: err,
    }))
}

#[derive(Debug, Deserialize)]
struct DeliveriesQuery {
    channel_id: Option<Uuid>,
    status: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/api/v1/notifications/deliveries",
    tag = "Notifications",
    responses(
        (status = 200, description = "Success", body = DeliveryList),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn deliveries(
    State(state): State<AppState>,
    _u: CurrentUser,
    AppQuery(q): AppQuery<DeliveriesQuery>,
) -> AppResult<Json<DeliveryList>> {
    macro_rules! filtered {
        () => {
            " FROM notification_deliveries WHERE ($1 IS NULL OR channel_id = $1) AND ($2 IS NULL OR status = $2)"
        };
    }
    const SQL: &str = concat!(
        "SELECT id, channel_id, alert_id, host_id, alert_type, event, status, attempts, error, created_at",
        filtered!(),
        " ORDER BY created_at DESC, id LIMIT $3 OFFSET $4"
    );
    const COUNT: &str = concat!("SELECT COUNT(*)", filtered!());
    type Row = (
        Uuid,
        Uuid,
        Option<Uuid>,
        Option<Uuid>,
        String,
        String,
        String,
        i64,
        Option<String>,
        DateTime<Utc>,
    );
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let offset = q.offset.unwrap_or(0).max(0);
    let status = q.status.filter(|s| !s.is_empty());
    let (rows, total): (Vec<Row>, i64) = with_db!(state.db(), p => {
        let rows = sqlx::query_as(SQL).bind(q.channel_id).bind(&status).bind(limit).bind(offset)
            .fetch_all(p).await?;
        let total = sqlx::query_scalar(COUNT).bind(q.channel_id).bind(&status).fetch_one(p).await?;
        (rows, total)
    });
    let deliveries = rows
        .into_iter()
        .map(|r| Delivery {
            id: r.0,
            channel_id: r.1,
            alert_id: r.2,
            host_id: r.3,
            alert_type: r.4,
            event: r.5,
            status: r.6,
            attempts: r.7,
            error: r.8,
            created_at: r.9,
        })
        .collect();
    Ok(Json(DeliveryList {
        deliveries,
        total,
        limit,
        offset,
    }))
}

/// The OpenAPI description of this module's routes (`crate::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(list, create, update, remove, test, deliveries))]
pub(crate) struct Api;
