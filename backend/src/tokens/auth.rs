//! Authenticating requests made with tokens: HTTP Basic (integration API,
//! GetHomepage) and the `X-Auto-Enrollment-Key/Secret` headers (enrollment).
//! The checks run in the order and with the messages of PatchMon's docs.

use axum::Json;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::json;

use super::{IntegrationType, Token, ipallow};
use crate::auth::session::ClientInfo;
use crate::error::AppError;
use crate::hosts::credentials::verify_secret;
use crate::state::AppState;

/// A refusal with PatchMon's body: `{"error": …}` plus, for scope and quota
/// refusals, a `message` explaining it.
#[derive(Debug)]
pub struct TokenError {
    pub status: StatusCode,
    pub error: &'static str,
    pub message: Option<String>,
}

impl TokenError {
    fn new(status: StatusCode, error: &'static str) -> Self {
        Self {
            status,
            error,
            message: None,
        }
    }

    pub fn unauthorized(error: &'static str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, error)
    }

    pub fn forbidden(error: &'static str) -> Self {
        Self::new(StatusCode::FORBIDDEN, error)
    }

    pub fn with_message(status: StatusCode, error: &'static str, message: String) -> Self {
        Self {
            status,
            error,
            message: Some(message),
        }
    }
}

impl From<AppError> for TokenError {
    fn from(e: AppError) -> Self {
        // Only infrastructure errors reach here; keep their status and log.
        let status = e.status();
        if status.is_server_error() {
            tracing::error!(error = %e, "token authentication failed");
        }
        Self::new(
            status,
            if status == StatusCode::SERVICE_UNAVAILABLE {
                "Database unavailable"
            } else {
                "Internal server error"
            },
        )
    }
}

impl IntoResponse for TokenError {
    fn into_response(self) -> Response {
        let code = match self.status {
            StatusCode::UNAUTHORIZED => "unauthorized",
            StatusCode::FORBIDDEN => "forbidden",
            StatusCode::TOO_MANY_REQUESTS => "too_many_requests",
            StatusCode::SERVICE_UNAVAILABLE => "unavailable",
            _ => "internal_error",
        };
        let mut body = json!({ "error": self.error, "code": code });
        if let Some(m) = self.message {
            body["message"] = json!(m);
        }
        let mut res = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Basic realm=\"PatchMon\""),
            );
        }
        res
    }
}

/// `Authorization: Basic base64(key:secret)` → `(key, secret)`.
fn basic_credentials(headers: &HeaderMap) -> Result<(String, String), TokenError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Basic ")
                .or_else(|| v.strip_prefix("basic "))
        })
        .ok_or_else(|| TokenError::unauthorized("Missing or invalid authorization header"))?;
    let bad = || TokenError::unauthorized("Invalid credentials format");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .map_err(|_| bad())?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
    let (key, secret) = decoded.split_once(':').ok_or_else(bad)?;
    Ok((key.to_owned(), secret.to_owned()))
}

/// Authenticates a Basic-auth request for a token of `expected` type.
/// Order (PatchMon's docs): header, format, key, active, expiry, type,
/// secret, IP allowlist; then the last-used time is recorded.
pub async fn basic(
    state: &AppState,
    headers: &HeaderMap,
    client: &ClientInfo,
    expected: IntegrationType,
) -> Result<Token, TokenError> {
    let (key, secret) = basic_credentials(headers)?;
    let token = super::find_by_key(state.db(), &key)
        .await?
        .ok_or_else(|| TokenError::unauthorized("Invalid API key"))?;
    let now = state.now();
    if !token.is_active {
        return Err(TokenError::unauthorized("API key is disabled"));
    }
    if token.is_expired(now) {
        return Err(TokenError::unauthorized("API key has expired"));
    }
    if token.kind() != Some(expected) {
        return Err(TokenError::unauthorized("Invalid API key type"));
    }
    if !verify_secret(&secret, &token.secret_hash) {
        return Err(TokenError::unauthorized("Invalid API secret"));
    }
    if !ipallow::allows(&token.allowed_ip_ranges.0, client.ip) {
        return Err(TokenError::forbidden("IP address not allowed"));
    }
    super::touch(state.db(), &token, now).await;
    Ok(token)
}

/// Refuses unless the token's scopes grant `action` on `resource`.
pub fn require_scope(token: &Token, resource: &str, action: &str) -> Result<(), TokenError> {
    token.scope_check(resource, action).map_err(|has_resource| {
        let message = if has_resource {
            format!("This API key does not have permission to {action} {resource}")
        } else {
            format!("This API key does not have access to {resource}")
        };
        TokenError::with_message(StatusCode::FORBIDDEN, "Access denied", message)
    })
}

/// The enrollment credentials: headers, or (for the script download, where
/// PatchMon puts them in the URL) query parameters.
pub fn enrollment_credentials<'a>(
    headers: &'a HeaderMap,
    query_key: Option<&'a str>,
    query_secret: Option<&'a str>,
) -> Option<(&'a str, &'a str)> {
    let h = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let key = h("x-auto-enrollment-key").or(query_key.filter(|v| !v.is_empty()))?;
    let secret = h("x-auto-enrollment-secret").or(query_secret.filter(|v| !v.is_empty()))?;
    Some((key, secret))
}

/// Authenticates an enrollment request (enroll, bulk enroll, script).
/// Order and messages follow PatchMon's enrollment docs; then, our fix, the
/// token must be of an enrollment type.
pub async fn enrollment(
    state: &AppState,
    credentials: Option<(&str, &str)>,
    client: &ClientInfo,
) -> Result<Token, TokenError> {
    let (key, secret) = credentials
        .ok_or_else(|| TokenError::unauthorized("Auto-enrollment credentials required"))?;
    let token = super::find_by_key(state.db(), key)
        .await?
        .filter(|t| t.is_active)
        .ok_or_else(|| TokenError::unauthorized("Invalid or inactive token"))?;
    if !verify_secret(secret, &token.secret_hash) {
        return Err(TokenError::unauthorized("Invalid token secret"));
    }
    let now = state.now();
    if token.is_expired(now) {
        return Err(TokenError::unauthorized("Token expired"));
    }
    if !ipallow::allows(&token.allowed_ip_ranges.0, client.ip) {
        return Err(TokenError::forbidden(
            "IP address not authorized for this token",
        ));
    }
    if !token.kind().is_some_and(IntegrationType::can_enroll) {
        return Err(TokenError::with_message(
            StatusCode::FORBIDDEN,
            "Token cannot enroll hosts",
            format!(
                "This is a {:?} token; create a token with usage type proxmox-lxc or direct-host to enroll hosts",
                token.integration_type
            ),
        ));
    }
    Ok(token)
}
