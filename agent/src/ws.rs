//! The persistent WebSocket to the server: dial (through `HTTPS_PROXY` when
//! set), send `hello`, forward server messages to the service loop, send
//! agent messages, keep the link alive (ping every 30 s, drop it after 90 s
//! without any frame) and redial with exponential backoff plus jitter,
//! logging failures once per state change.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use patchmon_protocol::{
    AgentMessage, PROTOCOL_VERSION, ServerMessage, WS_PING_INTERVAL_SECS, WS_READ_DEADLINE_SECS,
};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Bytes, Message};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use crate::report::AGENT_VERSION;
use crate::util::Jitter;

/// Capabilities announced in `hello`.
pub const CAPABILITIES: &[&str] = &["report", "hash_gate", "command_result", "spool"];

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(45);
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest frame accepted from the server (PatchMon's agent uses 64 KB and
/// drops the link on large SSH pastes; we accept the server's own limit).
const MAX_INBOUND: usize = 512 * 1024;

/// What the WebSocket task reports to the service loop.
#[derive(Debug)]
pub enum WsEvent {
    Connected,
    Disconnected,
    Message(ServerMessage),
}

/// Where and how to connect.
#[derive(Clone)]
pub struct WsTarget {
    pub url: String,
    pub api_id: String,
    pub api_key: String,
    pub tls: Arc<rustls::ClientConfig>,
}

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Reconnect delays: the base doubles after each failed dial (1 s … 32 s)
/// and each delay is drawn uniformly from [base/2, 3·base/2], so a fleet
/// that lost the server at the same instant does not redial in lock-step.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    jitter: Jitter,
}

impl Backoff {
    pub const MIN: Duration = Duration::from_secs(1);
    pub const MAX: Duration = Duration::from_secs(32);

    pub fn new(seed: u64) -> Self {
        Self {
            base: Self::MIN,
            jitter: Jitter::new(seed),
        }
    }

    /// The delay before the next dial; doubles the base for the one after.
    pub fn next_delay(&mut self) -> Duration {
        let d = self.jitter.between(self.base / 2, self.base * 3 / 2);
        self.base = (self.base * 2).min(Self::MAX);
        d
    }

    pub fn reset(&mut self) {
        self.base = Self::MIN;
    }
}

/// Runs until `shutdown` becomes true.
pub async fn run(
    target: WsTarget,
    events: mpsc::UnboundedSender<WsEvent>,
    mut outgoing: mpsc::UnboundedReceiver<AgentMessage>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut backoff = Backoff::new(patchmon_protocol::fnv1a64(target.api_id.as_bytes()));
    // None: never connected nor failed yet; Some(false): the link is down.
    let mut state: Option<bool> = None;
    loop {
        if *shutdown.borrow() {
            return;
        }
        let dial = tokio::select! {
            r = tokio::time::timeout(HANDSHAKE_TIMEOUT, connect(&target)) => r,
            _ = shutdown.changed() => return,
        };
        let delay = match dial {
            Ok(Ok(socket)) => {
                if state == Some(false) {
                    tracing::info!("WebSocket reconnected to {}", target.url);
                } else {
                    tracing::info!("WebSocket connected to {}", target.url);
                }
                backoff.reset();
                let _ = events.send(WsEvent::Connected);
                let why = session(socket, &events, &mut outgoing, &mut shutdown).await;
                let _ = events.send(WsEvent::Disconnected);
                if *shutdown.borrow() {
                    return;
                }
                tracing::warn!(
                    "WebSocket disconnected: {why}; reconnecting (failed redials are logged at debug level)"
                );
                // The link is down: redial failures belong to this same state.
                state = Some(false);
                backoff.next_delay()
            }
            Ok(Err(e)) => {
                log_dial_failure(&mut state, &target.url, &e);
                backoff.next_delay()
            }
            Err(_) => {
                log_dial_failure(&mut state, &target.url, &"handshake timed out after 45 s");
                backoff.next_delay()
            }
        };
        tracing::debug!("next WebSocket dial in {} ms", delay.as_millis());
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = shutdown.changed() => return,
        }
    }
}

fn log_dial_failure(state: &mut Option<bool>, url: &str, e: &dyn std::fmt::Display) {
    if *state == Some(false) {
        tracing::debug!("WebSocket dial to {url} failed again: {e}");
    } else {
        tracing::warn!(
            "WebSocket connection to {url} failed: {e} (retrying with backoff; further failures are logged at debug level)"
        );
    }
    *state = Some(false);
}

/// One connected session; returns why it ended.
async fn session(
    mut ws: Socket,
    events: &mpsc::UnboundedSender<WsEvent>,
    outgoing: &mut mpsc::UnboundedReceiver<AgentMessage>,
    shutdown: &mut watch::Receiver<bool>,
) -> String {
    let hello = AgentMessage::Hello {
        protocol_version: PROTOCOL_VERSION,
        agent_version: AGENT_VERSION.into(),
        capabilities: CAPABILITIES.iter().map(|s| (*s).to_owned()).collect(),
    };
    if let Err(e) = send(&mut ws, Message::Text(hello.to_json().into())).await {
        return format!("sending hello failed: {e}");
    }
    let mut ping = tokio::time::interval(Duration::from_secs(WS_PING_INTERVAL_SECS));
    ping.reset();
    let deadline = tokio::time::sleep(Duration::from_secs(WS_READ_DEADLINE_SECS));
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            frame = ws.next() => {
                deadline.as_mut().reset(Instant::now() + Duration::from_secs(WS_READ_DEADLINE_SECS));
                match frame {
                    Some(Ok(Message::Text(t))) => match ServerMessage::parse(t.as_str()) {
                        Ok(m) => { let _ = events.send(WsEvent::Message(m)); }
                        Err(e) => tracing::warn!("ignoring a server message: {e}"),
                    },
                    Some(Ok(Message::Close(f))) => {
                        return match f {
                            Some(f) => format!("server closed the connection ({} {})", f.code, f.reason),
                            None => "server closed the connection".into(),
                        };
                    }
                    Some(Ok(_)) => {} // ping/pong/binary: liveness only (pongs are sent automatically)
                    Some(Err(e)) => return format!("read error: {e}"),
                    None => return "connection closed".into(),
                }
            }
            _ = ping.tick() => {
                if let Err(e) = send(&mut ws, Message::Ping(Bytes::new())).await {
                    return format!("ping failed: {e}");
                }
            }
            () = &mut deadline => {
                return format!("no frame from the server for {WS_READ_DEADLINE_SECS} s");
            }
            msg = outgoing.recv() => {
                let Some(msg) = msg else { return "agent is stopping".into() };
                if let Err(e) = send(&mut ws, Message::Text(msg.to_json().into())).await {
                    return format!("send failed: {e}");
                }
            }
            _ = shutdown.changed() => {
                let _ = tokio::time::timeout(WRITE_TIMEOUT, ws.close(None)).await;
                return "agent is stopping".into();
            }
        }
    }
}

async fn send(ws: &mut Socket, m: Message) -> Result<(), String> {
    match tokio::time::timeout(WRITE_TIMEOUT, ws.send(m)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("write timed out".into()),
    }
}

#[derive(Debug, thiserror::Error)]
enum DialError {
    #[error("{0}")]
    Ws(#[from] tokio_tungstenite::tungstenite::Error),
    #[error("{0}")]
    Other(String),
}

async fn connect(t: &WsTarget) -> Result<Socket, DialError> {
    let mut req = t.url.as_str().into_client_request()?;
    let h = req.headers_mut();
    let hv = |s: &str| {
        HeaderValue::from_str(s).map_err(|e| DialError::Other(format!("bad header value: {e}")))
    };
    h.insert("X-API-ID", hv(&t.api_id)?);
    h.insert("X-API-KEY", hv(&t.api_key)?);
    h.insert(
        "User-Agent",
        hv(&format!("patchmon-agent/{AGENT_VERSION}"))?,
    );
    let config = WebSocketConfig::default().max_message_size(Some(MAX_INBOUND));
    let connector = Connector::Rustls(t.tls.clone());
    let secure = t.url.starts_with("wss://");
    let (host, port) =
        host_port(&t.url, secure).ok_or_else(|| DialError::Other(format!("bad URL {}", t.url)))?;
    match proxy_for(&host, secure) {
        Some(proxy) => {
            let stream = connect_via_proxy(&proxy, &host, port).await?;
            let (ws, _) = tokio_tungstenite::client_async_tls_with_config(
                req,
                stream,
                Some(config),
                Some(connector),
            )
            .await?;
            Ok(ws)
        }
        None => {
            let (ws, _) = tokio_tungstenite::connect_async_tls_with_config(
                req,
                Some(config),
                true,
                Some(connector),
            )
            .await?;
            Ok(ws)
        }
    }
}

fn host_port(url: &str, secure: bool) -> Option<(String, u16)> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split('/').next()?;
    let authority = authority.rsplit('@').next()?;
    if let Some(v6) = authority.strip_prefix('[') {
        let (h, p) = v6.split_once(']')?;
        let port = p
            .strip_prefix(':')
            .and_then(|p| p.parse().ok())
            .unwrap_or(if secure { 443 } else { 80 });
        return Some((h.to_owned(), port));
    }
    match authority.rsplit_once(':') {
        Some((h, p)) => Some((h.to_owned(), p.parse().ok()?)),
        None => Some((authority.to_owned(), if secure { 443 } else { 80 })),
    }
}

/// The proxy URL to use for `host`, from `HTTPS_PROXY`/`https_proxy` (wss)
/// or `HTTP_PROXY`/`http_proxy` (ws), honouring `NO_PROXY`.
fn proxy_for(host: &str, secure: bool) -> Option<String> {
    let env = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| std::env::var(n).ok().filter(|v| !v.trim().is_empty()))
    };
    let proxy = if secure {
        env(&["HTTPS_PROXY", "https_proxy"])
    } else {
        env(&["HTTP_PROXY", "http_proxy"])
    }?;
    let no_proxy = env(&["NO_PROXY", "no_proxy"]).unwrap_or_default();
    if bypass_proxy(host, &no_proxy) {
        None
    } else {
        Some(proxy)
    }
}

fn bypass_proxy(host: &str, no_proxy: &str) -> bool {
    no_proxy
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .any(|rule| {
            rule == "*"
                || host == rule.trim_start_matches('.')
                || host.ends_with(&format!(".{}", rule.trim_start_matches('.')))
        })
}

/// Opens a tunnel with `CONNECT host:port` through an HTTP proxy.
async fn connect_via_proxy(proxy: &str, host: &str, port: u16) -> Result<TcpStream, DialError> {
    let (phost, pport) = host_port(
        if proxy.contains("://") {
            proxy.to_owned()
        } else {
            format!("http://{proxy}")
        }
        .as_str(),
        false,
    )
    .ok_or_else(|| DialError::Other(format!("bad proxy URL {proxy}")))?;
    let mut s = TcpStream::connect((phost.as_str(), pport))
        .await
        .map_err(|e| DialError::Other(format!("proxy {phost}:{pport}: {e}")))?;
    let target = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let req = format!(
        "CONNECT {target} HTTP/1.1\r\nHost: {target}\r\nUser-Agent: patchmon-agent/{AGENT_VERSION}\r\n\r\n"
    );
    s.write_all(req.as_bytes())
        .await
        .map_err(|e| DialError::Other(format!("proxy write: {e}")))?;
    let mut reader = BufReader::new(&mut s);
    let mut status = String::new();
    reader
        .read_line(&mut status)
        .await
        .map_err(|e| DialError::Other(format!("proxy read: {e}")))?;
    if status.split_whitespace().nth(1).is_none_or(|c| c != "200") {
        return Err(DialError::Other(format!(
            "proxy refused CONNECT: {}",
            status.trim()
        )));
    }
    loop {
        let mut line = String::new();
        let n = reader
            .read_line(&mut line)
            .await
            .map_err(|e| DialError::Other(format!("proxy read: {e}")))?;
        if n == 0 || line == "\r\n" || line == "\n" {
            break;
        }
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_caps() {
        let mut b = Backoff::new(7);
        let mut bases = Vec::new();
        for _ in 0..10 {
            bases.push(b.base);
            let d = b.next_delay();
            let base = *bases.last().unwrap();
            assert!(d >= base / 2 && d <= base * 3 / 2, "{d:?} vs {base:?}");
        }
        assert_eq!(bases[0], Duration::from_secs(1));
        assert_eq!(bases[5], Duration::from_secs(32));
        assert_eq!(bases[9], Duration::from_secs(32));
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(1500));
    }

    #[test]
    fn jitter_differs_between_agents() {
        // Two agents with different ids do not pick identical delay sequences.
        let mut a = Backoff::new(1);
        let mut b = Backoff::new(2);
        let sa: Vec<_> = (0..6).map(|_| a.next_delay()).collect();
        let sb: Vec<_> = (0..6).map(|_| b.next_delay()).collect();
        assert_ne!(sa, sb);
    }

    #[test]
    fn proxy_rules() {
        assert!(bypass_proxy("pm.internal.example", ".example"));
        assert!(bypass_proxy("localhost", "localhost,127.0.0.1"));
        assert!(!bypass_proxy("pm.example.com", "example.org"));
        assert_eq!(
            host_port("wss://pm.example.com/api/v1/agents/ws", true),
            Some(("pm.example.com".into(), 443))
        );
        assert_eq!(
            host_port("ws://127.0.0.1:3000/x", false),
            Some(("127.0.0.1".into(), 3000))
        );
        assert_eq!(
            host_port("ws://[::1]:81/x", false),
            Some(("::1".into(), 81))
        );
    }
}
