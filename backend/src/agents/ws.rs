//! The agent WebSocket (`GET /api/v1/agents/ws`): authenticated on the
//! upgrade request, one live socket per api_id, 30 s pings both ways and a
//! 90 s read deadline, 512 KB limit on what agents send.

use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use patchmon_protocol::{
    AgentMessage, MAX_MESSAGE_FROM_AGENT, PROTOCOL_VERSION, ServerMessage, WS_PING_INTERVAL_SECS,
    WS_READ_DEADLINE_SECS,
};
use tokio::time::{Instant, interval_at, sleep_until};

use super::auth::AgentAuth;
use super::hub::{CloseReason, Outbound};
use crate::hosts::{self, AgentIdentity};
use crate::state::AppState;

/// How often a live socket re-checks that its credentials are still valid
/// (covers deletion by another process or replica).
const REVALIDATE_EVERY: Duration = Duration::from_secs(60);

/// Capabilities this server advertises in `welcome`.
pub const SERVER_CAPABILITIES: &[&str] = &["command_result", "hash_gate"];

#[utoipa::path(
    get,
    path = "/api/v1/agents/ws",
    tag = "Agent API",
    responses(
        (status = "2XX", description = "Success"),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
pub async fn upgrade(
    State(state): State<AppState>,
    AgentAuth(host): AgentAuth,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let secure = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"));
    // Small buffers: tungstenite's 128 KiB defaults would cost ~130 KB per idle
    // agent (1.3 GB for 10,000 agents); messages still grow them as needed.
    ws.read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_message_size(MAX_MESSAGE_FROM_AGENT)
        .max_frame_size(MAX_MESSAGE_FROM_AGENT)
        .on_upgrade(move |socket| run(state, host, secure, socket))
}

async fn run(state: AppState, host: AgentIdentity, secure: bool, socket: WebSocket) {
    let api_id = host.api_id.clone();
    let (conn_id, mut outbound) = state.hub().register(&api_id, host.id, secure, state.now());
    tracing::info!(%api_id, host_id = %host.id, secure, "agent connected");
    tokio::spawn(crate::queue::on_agent_connected(
        state.clone(),
        host.id,
        api_id.clone(),
        conn_id,
    ));

    let (mut sink, mut stream) = socket.split();
    let ping_every = Duration::from_secs(WS_PING_INTERVAL_SECS);
    let deadline = Duration::from_secs(WS_READ_DEADLINE_SECS);
    let mut pings = interval_at(Instant::now() + ping_every, ping_every);
    let mut revalidate = interval_at(Instant::now() + REVALIDATE_EVERY, REVALIDATE_EVERY);
    let mut read_deadline = Instant::now() + deadline;

    // A panic while handling a frame ends this connection (unregistered below),
    // not the task silently with a stale hub entry.
    let session = crate::catch_panic(async {
        loop {
            tokio::select! {
                frame = stream.next() => {
                    let msg = match frame {
                        Some(Ok(m)) => m,
                        Some(Err(e)) => {
                            tracing::debug!(%api_id, error = %e, "agent socket error");
                            break "read error";
                        }
                        None => break "closed by agent",
                    };
                    read_deadline = Instant::now() + deadline;
                    match msg {
                        Message::Text(t) => {
                            if let Some(reply) = handle_agent_message(&state, &api_id, conn_id, t.as_str())
                                && sink.send(Message::Text(reply.to_json().into())).await.is_err()
                            {
                                break "write error";
                            }
                        }
                        Message::Close(_) => break "closed by agent",
                        // Pongs and pings only extend the deadline (tungstenite answers pings).
                        Message::Ping(_) | Message::Pong(_) | Message::Binary(_) => {}
                    }
                }
                cmd = outbound.recv() => match cmd {
                    Some(Outbound::Text(t)) => {
                        if sink.send(Message::Text(t.into())).await.is_err() {
                            break "write error";
                        }
                    }
                    Some(Outbound::Close(reason)) => {
                        let frame = CloseFrame { code: reason.code(), reason: reason.text().into() };
                        let _ = sink.send(Message::Close(Some(frame))).await;
                        break reason.text();
                    }
                    None => break "hub dropped",
                },
                _ = pings.tick() => {
                    if sink.send(Message::Ping(Default::default())).await.is_err() {
                        break "write error";
                    }
                }
                _ = revalidate.tick() => {
                    if !still_valid(&state, &host).await {
                        let reason = CloseReason::CredentialsRevoked;
                        let frame = CloseFrame { code: reason.code(), reason: reason.text().into() };
                        let _ = sink.send(Message::Close(Some(frame))).await;
                        break reason.text();
                    }
                }
                _ = sleep_until(read_deadline) => break "read deadline exceeded",
            }
        }
    });
    let end: &str = match session.await {
        Ok(end) => end,
        Err(panic) => {
            tracing::error!(%api_id, %panic, "agent session panicked");
            "server error"
        }
    };
    let _ = sink.close().await;
    let owned = state.hub().unregister(&api_id, conn_id, state.now());
    tracing::info!(%api_id, reason = end, replaced = !owned, "agent disconnected");
    if owned {
        tokio::spawn(crate::queue::on_agent_disconnected(
            state.clone(),
            host.id,
            api_id.clone(),
            conn_id,
        ));
    }
}

async fn still_valid(state: &AppState, host: &AgentIdentity) -> bool {
    match hosts::find_by_api_id(state.db(), &host.api_id).await {
        Ok(Some(h)) => h.id == host.id && h.api_key_hash == host.api_key_hash,
        Ok(None) => false,
        // A database hiccup is not a reason to drop a healthy agent.
        Err(_) => true,
    }
}

/// Handles one frame from an agent; returns a reply to send, if any.
fn handle_agent_message(
    state: &AppState,
    api_id: &str,
    conn_id: u64,
    text: &str,
) -> Option<ServerMessage> {
    match AgentMessage::parse(text) {
        Ok(AgentMessage::Hello {
            protocol_version,
            agent_version,
            capabilities,
        }) => {
            tracing::debug!(%api_id, protocol_version, %agent_version, ?capabilities, "agent hello");
            state
                .hub()
                .set_agent_info(api_id, conn_id, agent_version, capabilities);
            Some(ServerMessage::Welcome {
                protocol_version: PROTOCOL_VERSION,
                server_version: env!("CARGO_PKG_VERSION").to_owned(),
                capabilities: SERVER_CAPABILITIES
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect(),
            })
        }
        Ok(AgentMessage::CommandResult {
            command,
            status,
            message,
        }) => {
            tracing::info!(%api_id, %command, %status, %message, "agent command result");
            None
        }
        Ok(AgentMessage::Unknown { kind }) => {
            tracing::debug!(%api_id, %kind, "ignoring unknown agent message");
            None
        }
        Ok(other) => {
            tracing::debug!(%api_id, kind = %other.kind(), "agent message");
            None
        }
        Err(e) => {
            tracing::debug!(%api_id, error = %e, "unparseable agent message ignored");
            None
        }
    }
}

/// The OpenAPI description of this module's routes (`crate::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(upgrade))]
pub(crate) struct Api;
