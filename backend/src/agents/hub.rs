//! Registry of live agent WebSockets: one per api_id. A newer connection
//! replaces and closes the older one. Commands are delivered through a
//! bounded channel owned by the connection's task.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use patchmon_protocol::{MAX_MESSAGE_TO_AGENT, ServerMessage};
use serde::Serialize;
use tokio::sync::mpsc;
use uuid::Uuid;

/// Why the server closes an agent socket; sent as the close frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The same agent connected again.
    Replaced,
    HostDeleted,
    CredentialsRevoked,
    /// Server shutting down; reconnect later.
    ServerRestart,
}

impl CloseReason {
    pub fn code(self) -> u16 {
        match self {
            Self::Replaced => 4000,
            Self::HostDeleted => 4004,
            Self::CredentialsRevoked => 4001,
            Self::ServerRestart => 1012,
        }
    }

    pub fn text(self) -> &'static str {
        match self {
            Self::Replaced => "replaced by a newer connection",
            Self::HostDeleted => "host deleted",
            Self::CredentialsRevoked => "credentials revoked",
            Self::ServerRestart => "server restarting, reconnect",
        }
    }
}

/// What a connection task is asked to do.
#[derive(Debug)]
pub enum Outbound {
    Text(String),
    Close(CloseReason),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SendError {
    #[error("agent is not connected")]
    NotConnected,
    #[error("message is {0} bytes, over the {MAX_MESSAGE_TO_AGENT}-byte limit for agents")]
    TooLarge(usize),
    #[error("agent is not keeping up; message dropped")]
    Backlogged,
}

struct Conn {
    conn_id: u64,
    host_id: Uuid,
    tx: mpsc::Sender<Outbound>,
    secure: bool,
    connected_at: DateTime<Utc>,
    agent_version: Option<String>,
    capabilities: Vec<String>,
}

#[derive(Default)]
struct Inner {
    live: HashMap<String, Conn>,
    /// When each api_id's last socket went away.
    disconnected_at: HashMap<String, DateTime<Utc>>,
}

#[derive(Default)]
pub struct Hub {
    inner: Mutex<Inner>,
    next_id: AtomicU64,
}

/// Connection state of one agent, as `/ws/status` reports it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(as = WsStatus)]
pub struct ConnectionState {
    pub connected: bool,
    pub secure: bool,
    pub connected_at: Option<DateTime<Utc>>,
    pub disconnected_seconds_ago: Option<i64>,
    pub agent_version: Option<String>,
    pub capabilities: Vec<String>,
}

/// Per-connection outbound queue depth.
pub const OUTBOUND_QUEUE: usize = 256;

impl Hub {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a new connection, closing any older one for the same api_id.
    pub fn register(
        &self,
        api_id: &str,
        host_id: Uuid,
        secure: bool,
        now: DateTime<Utc>,
    ) -> (u64, mpsc::Receiver<Outbound>) {
        let conn_id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let (tx, rx) = mpsc::channel(OUTBOUND_QUEUE);
        let conn = Conn {
            conn_id,
            host_id,
            tx,
            secure,
            connected_at: now,
            agent_version: None,
            capabilities: Vec::new(),
        };
        let old = {
            let mut g = self.lock();
            g.disconnected_at.remove(api_id);
            g.live.insert(api_id.to_owned(), conn)
        };
        if let Some(old) = old {
            // try_send: never block while holding nothing; a full queue means the
            // old task is stuck and dropping its sender ends it anyway.
            let _ = old.tx.try_send(Outbound::Close(CloseReason::Replaced));
        }
        (conn_id, rx)
    }

    /// Removes a connection if it still owns the slot. Returns whether it did
    /// (false when a newer connection had replaced it).
    pub fn unregister(&self, api_id: &str, conn_id: u64, now: DateTime<Utc>) -> bool {
        let mut g = self.lock();
        match g.live.get(api_id) {
            Some(c) if c.conn_id == conn_id => {
                g.live.remove(api_id);
                g.disconnected_at.insert(api_id.to_owned(), now);
                true
            }
            _ => false,
        }
    }

    /// Records what an agent told us in its `hello`.
    pub fn set_agent_info(&self, api_id: &str, conn_id: u64, version: String, caps: Vec<String>) {
        let mut g = self.lock();
        if let Some(c) = g.live.get_mut(api_id)
            && c.conn_id == conn_id
        {
            c.agent_version = Some(version);
            c.capabilities = caps;
        }
    }

    /// Queues a command for a connected agent.
    pub fn send(&self, api_id: &str, msg: &ServerMessage) -> Result<(), SendError> {
        let text = msg.to_json();
        if text.len() > MAX_MESSAGE_TO_AGENT {
            return Err(SendError::TooLarge(text.len()));
        }
        let g = self.lock();
        let conn = g.live.get(api_id).ok_or(SendError::NotConnected)?;
        conn.tx.try_send(Outbound::Text(text)).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => SendError::Backlogged,
            mpsc::error::TrySendError::Closed(_) => SendError::NotConnected,
        })
    }

    /// Sends a command to every connected agent; returns how many got it.
    pub fn broadcast(&self, msg: &ServerMessage) -> usize {
        let text = msg.to_json();
        if text.len() > MAX_MESSAGE_TO_AGENT {
            return 0;
        }
        let g = self.lock();
        g.live
            .values()
            .filter(|c| c.tx.try_send(Outbound::Text(text.clone())).is_ok())
            .count()
    }

    /// Closes an agent's socket (host deleted, credentials changed).
    pub fn close(&self, api_id: &str, reason: CloseReason) -> bool {
        let g = self.lock();
        match g.live.get(api_id) {
            Some(c) => {
                let _ = c.tx.try_send(Outbound::Close(reason));
                true
            }
            None => false,
        }
    }

    /// Closes every socket (shutdown).
    pub fn close_all(&self, reason: CloseReason) {
        let g = self.lock();
        for c in g.live.values() {
            let _ = c.tx.try_send(Outbound::Close(reason));
        }
    }

    pub fn is_connected(&self, api_id: &str) -> bool {
        self.lock().live.contains_key(api_id)
    }

    pub fn connected_count(&self) -> usize {
        self.lock().live.len()
    }

    /// The host id behind a live connection.
    pub fn host_of(&self, api_id: &str) -> Option<Uuid> {
        self.lock().live.get(api_id).map(|c| c.host_id)
    }

    pub fn state(&self, api_id: &str, now: DateTime<Utc>) -> ConnectionState {
        let g = self.lock();
        match g.live.get(api_id) {
            Some(c) => ConnectionState {
                connected: true,
                secure: c.secure,
                connected_at: Some(c.connected_at),
                disconnected_seconds_ago: None,
                agent_version: c.agent_version.clone(),
                capabilities: c.capabilities.clone(),
            },
            None => ConnectionState {
                connected: false,
                secure: false,
                connected_at: None,
                disconnected_seconds_ago: g
                    .disconnected_at
                    .get(api_id)
                    .map(|t| (now - *t).num_seconds().max(0)),
                agent_version: None,
                capabilities: Vec::new(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn replacement_closes_the_old_connection() {
        let hub = Hub::default();
        let now = Utc::now();
        let (c1, mut rx1) = hub.register("a", Uuid::nil(), false, now);
        let (c2, mut rx2) = hub.register("a", Uuid::nil(), true, now);
        assert!(matches!(
            rx1.recv().await,
            Some(Outbound::Close(CloseReason::Replaced))
        ));
        // The old connection's cleanup must not remove the new one.
        assert!(!hub.unregister("a", c1, now));
        assert!(hub.is_connected("a"));
        hub.send("a", &ServerMessage::ReportNow).unwrap();
        assert!(
            matches!(rx2.recv().await, Some(Outbound::Text(t)) if t == r#"{"type":"report_now"}"#)
        );
        assert!(hub.unregister("a", c2, now));
        assert_eq!(
            hub.send("a", &ServerMessage::ReportNow),
            Err(SendError::NotConnected)
        );
        let st = hub.state("a", now + chrono::Duration::seconds(5));
        assert!(!st.connected);
        assert_eq!(st.disconnected_seconds_ago, Some(5));
    }

    #[tokio::test]
    async fn oversized_messages_are_refused() {
        let hub = Hub::default();
        let (_c, _rx) = hub.register("a", Uuid::nil(), false, Utc::now());
        let big = ServerMessage::SshProxyInput {
            session_id: "s".into(),
            data: "x".repeat(MAX_MESSAGE_TO_AGENT),
        };
        assert!(matches!(hub.send("a", &big), Err(SendError::TooLarge(_))));
    }
}
