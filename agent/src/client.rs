//! HTTP client for the agent endpoints, and the TLS configuration shared
//! with the WebSocket (system trust store through rustls-platform-verifier,
//! ring provider; optional no-verify mode for `skip_ssl_verify`).

use std::sync::Arc;
use std::time::Duration;

use patchmon_protocol::{
    AgentVersionResponse, IntegrationsResponse, PingRequest, PingResponse, ReportPayload,
    ReportResponse, UpdateIntervalResponse,
};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::{Credentials, Settings, effective_skip_ssl_verify};
use crate::report::AGENT_VERSION;

pub const HTTP_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The server could not be reached (DNS, refused, TLS, timeout).
    #[error("cannot reach the server at {url}: {message}")]
    Unreachable { url: String, message: String },
    /// The server answered with a non-200 status.
    #[error("server returned {status}{}", if message.is_empty() { String::new() } else { format!(": {message}") })]
    Status { status: u16, message: String },
    #[error("unexpected response from the server: {0}")]
    Decode(String),
    #[error("TLS setup failed: {0}")]
    Tls(String),
}

impl ApiError {
    /// Worth retrying later (and spooling the report for): transport
    /// failures, 5xx, 429 and 408.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Unreachable { .. } => true,
            Self::Status { status, .. } => *status >= 500 || *status == 429 || *status == 408,
            _ => false,
        }
    }
}

/// A TLS certificate verifier that accepts any certificate (only for
/// `skip_ssl_verify`). Signatures are still checked, so the handshake is
/// sound; only the identity of the server is not.
#[derive(Debug)]
struct AcceptAnyCert(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The rustls configuration for HTTP and WebSocket.
pub fn tls_config(skip_verify: bool) -> Result<ClientConfig, ApiError> {
    use rustls_platform_verifier::BuilderVerifierExt;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| ApiError::Tls(e.to_string()))?;
    let config = if skip_verify {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCert(provider)))
            .with_no_client_auth()
    } else {
        builder
            .with_platform_verifier()
            .map_err(|e| ApiError::Tls(e.to_string()))?
            .with_no_client_auth()
    };
    Ok(config)
}

/// Agent REST client (`X-API-ID` / `X-API-KEY`).
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    server: String,
    base: String,
    api_id: String,
    api_key: String,
    /// Extra attempts after a transport failure, 2 s apart (PatchMon: 3).
    retries: u32,
    pub tls: Arc<ClientConfig>,
}

impl Api {
    pub fn new(settings: &Settings, creds: &Credentials, retries: u32) -> Result<Self, ApiError> {
        let (skip, refused) = effective_skip_ssl_verify(settings.skip_ssl_verify);
        if let Some(why) = refused {
            tracing::warn!("{why}");
        }
        if skip {
            tracing::warn!("TLS certificate verification is disabled (skip_ssl_verify)");
        }
        let tls = tls_config(skip)?;
        let http = reqwest::Client::builder()
            .timeout(HTTP_TIMEOUT)
            .connect_timeout(Duration::from_secs(15))
            .user_agent(format!("patchmon-agent/{AGENT_VERSION}"))
            .tls_backend_preconfigured(tls.clone())
            .build()
            .map_err(|e| ApiError::Tls(e.to_string()))?;
        let server = settings.patchmon_server.trim_end_matches('/').to_owned();
        let base = format!("{server}/api/{}", settings.api_version.trim_matches('/'));
        Ok(Self {
            http,
            server,
            base,
            api_id: creds.api_id.clone(),
            api_key: creds.api_key.clone(),
            retries,
            tls: Arc::new(tls),
        })
    }

    pub fn server(&self) -> &str {
        &self.server
    }

    pub fn api_id(&self) -> &str {
        &self.api_id
    }

    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// `ws(s)://…/api/<v>/agents/ws`.
    pub fn ws_url(&self) -> String {
        websocket_url(&self.base)
    }

    async fn call<B: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        url: String,
        body: Option<&B>,
    ) -> Result<R, ApiError> {
        let mut attempt = 0;
        loop {
            let mut req = self
                .http
                .request(method.clone(), &url)
                .header("X-API-ID", &self.api_id)
                .header("X-API-KEY", &self.api_key);
            if let Some(b) = body {
                req = req.json(b);
            }
            let result = req.send().await;
            let resp = match result {
                Ok(r) => r,
                Err(e) if attempt < self.retries => {
                    attempt += 1;
                    tracing::debug!("request to {url} failed (attempt {attempt}): {e}");
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    continue;
                }
                Err(e) => {
                    return Err(ApiError::Unreachable {
                        url: url.clone(),
                        message: error_chain(&e),
                    });
                }
            };
            let status = resp.status().as_u16();
            let text = resp.text().await.map_err(|e| ApiError::Unreachable {
                url: url.clone(),
                message: error_chain(&e),
            })?;
            if status != 200 {
                return Err(ApiError::Status {
                    status,
                    message: error_message(&text),
                });
            }
            tracing::debug!("{method} {url} → {status}");
            return serde_json::from_str(&text)
                .map_err(|e| ApiError::Decode(format!("{e} in {}", truncate(&text, 200))));
        }
    }

    /// `POST /hosts/ping`; `None` sends the legacy empty body.
    pub async fn ping(&self, body: Option<&PingRequest>) -> Result<PingResponse, ApiError> {
        let url = format!("{}/hosts/ping", self.base);
        match body {
            Some(b) => self.call(reqwest::Method::POST, url, Some(b)).await,
            None => {
                self.call::<serde_json::Value, _>(reqwest::Method::POST, url, None)
                    .await
            }
        }
    }

    /// `POST /hosts/update`.
    pub async fn send_report(&self, payload: &ReportPayload) -> Result<ReportResponse, ApiError> {
        self.call(
            reqwest::Method::POST,
            format!("{}/hosts/update", self.base),
            Some(payload),
        )
        .await
    }

    /// Sends an already-serialised report (the spool).
    pub async fn send_report_raw(
        &self,
        json: &serde_json::Value,
    ) -> Result<ReportResponse, ApiError> {
        self.call(
            reqwest::Method::POST,
            format!("{}/hosts/update", self.base),
            Some(json),
        )
        .await
    }

    pub async fn update_interval(&self) -> Result<i64, ApiError> {
        let r: UpdateIntervalResponse = self
            .call::<(), _>(
                reqwest::Method::GET,
                format!("{}/settings/update-interval", self.base),
                None,
            )
            .await?;
        Ok(r.update_interval)
    }

    pub async fn integrations(&self) -> Result<IntegrationsResponse, ApiError> {
        self.call::<(), _>(
            reqwest::Method::GET,
            format!("{}/hosts/integrations", self.base),
            None,
        )
        .await
    }

    pub async fn integration_status(
        &self,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value, ApiError> {
        self.call(
            reqwest::Method::POST,
            format!("{}/hosts/integration-status", self.base),
            Some(body),
        )
        .await
    }

    pub async fn patch_output(
        &self,
        run_id: &str,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value, ApiError> {
        self.call(
            reqwest::Method::POST,
            format!("{}/patching/runs/{run_id}/output", self.base),
            Some(body),
        )
        .await
    }

    /// `GET /api/v1/hosts/agent/version` (always `v1`, like PatchMon).
    pub async fn agent_version(&self) -> Result<AgentVersionResponse, ApiError> {
        let url = format!(
            "{}/api/v1/hosts/agent/version?arch={}&os={}&type=go&currentVersion={AGENT_VERSION}",
            self.server,
            go_arch(),
            std::env::consts::OS
        );
        self.call::<(), _>(reqwest::Method::GET, url, None).await
    }
}

impl Api {
    /// Downloads `url` with the agent headers: at most `max` bytes, 60 s
    /// without progress or 30 minutes in all. No compression is offered, so
    /// the bytes are what the server's `hash` describes.
    pub async fn download(&self, url: &str, max: usize) -> Result<Vec<u8>, ApiError> {
        let unreachable = |e: reqwest::Error| ApiError::Unreachable {
            url: url.to_owned(),
            message: error_chain(&e),
        };
        let mut resp = self
            .http
            .get(url)
            .header("X-API-ID", &self.api_id)
            .header("X-API-KEY", &self.api_key)
            .timeout(Duration::from_secs(30 * 60))
            .send()
            .await
            .map_err(unreachable)?;
        let status = resp.status().as_u16();
        if status != 200 {
            let text = resp.text().await.unwrap_or_default();
            return Err(ApiError::Status {
                status,
                message: error_message(&text),
            });
        }
        let mut out = Vec::new();
        loop {
            let chunk = tokio::time::timeout(Duration::from_secs(60), resp.chunk())
                .await
                .map_err(|_| ApiError::Unreachable {
                    url: url.to_owned(),
                    message: "download stalled for 60 s".into(),
                })?
                .map_err(unreachable)?;
            let Some(chunk) = chunk else { break };
            if out.len() + chunk.len() > max {
                return Err(ApiError::Decode(format!(
                    "the download is larger than {} MB",
                    max / (1024 * 1024)
                )));
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }
}

/// The Go architecture names PatchMon's download endpoint uses.
pub fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "arm" => "arm",
        other => other,
    }
}

/// `https→wss`, `http→ws`, no scheme → `wss`; trailing `/` trimmed.
pub fn websocket_url(api_base: &str) -> String {
    let b = api_base.trim_end_matches('/');
    let rest = if let Some(r) = b.strip_prefix("https://") {
        format!("wss://{r}")
    } else if let Some(r) = b.strip_prefix("http://") {
        format!("ws://{r}")
    } else {
        format!("wss://{b}")
    };
    format!("{rest}/agents/ws")
}

/// `{"error": "..."}` → the text; otherwise a short excerpt of the body.
fn error_message(body: &str) -> String {
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(body)
        && let Some(s) = v
            .get("error")
            .or_else(|| v.get("message"))
            .and_then(|e| e.as_str())
    {
        return s.to_owned();
    }
    truncate(body.trim(), 200)
}

fn truncate(s: &str, n: usize) -> String {
    if s.len() <= n {
        return s.to_owned();
    }
    let mut end = n;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// The causes of an error, e.g. "client error (Connect): tcp connect error:
/// Connection refused (os error 111)"; reqwest's top-level "error sending
/// request for url (…)" adds nothing to the URL the caller already names.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !parts.iter().any(|p| p.contains(&t)) {
            parts.push(t);
        }
        cur = c.source();
    }
    if parts.is_empty() {
        e.to_string()
    } else {
        parts.join(": ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ws_urls() {
        assert_eq!(
            websocket_url("https://pm.example.com/api/v1"),
            "wss://pm.example.com/api/v1/agents/ws"
        );
        assert_eq!(
            websocket_url("http://127.0.0.1:3000/api/v1/"),
            "ws://127.0.0.1:3000/api/v1/agents/ws"
        );
        assert_eq!(
            websocket_url("pm.example.com/api/v1"),
            "wss://pm.example.com/api/v1/agents/ws"
        );
    }

    #[test]
    fn error_bodies() {
        assert_eq!(
            error_message(r#"{"error":"Invalid API credentials"}"#),
            "Invalid API credentials"
        );
        assert_eq!(error_message("Bad Gateway"), "Bad Gateway");
        let e = ApiError::Status {
            status: 401,
            message: "Invalid API credentials".into(),
        };
        assert_eq!(
            e.to_string(),
            "server returned 401: Invalid API credentials"
        );
        assert!(!e.is_transient());
        assert!(
            ApiError::Status {
                status: 503,
                message: String::new()
            }
            .is_transient()
        );
    }

    #[test]
    fn tls_configs_build_without_a_process_default_provider() {
        assert!(tls_config(true).is_ok());
        assert!(tls_config(false).is_ok());
    }
}
