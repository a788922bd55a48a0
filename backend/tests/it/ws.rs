//! The agent WebSocket: auth before upgrade, commands, replacement, closing
//! on deletion and credential changes, disconnect state, reconnect.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use patchmon_protocol::ServerMessage;
use patchmon_server::hosts;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::*;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn connect(server: &TestServer, id: &str, key: &str) -> Result<Ws, WsError> {
    let url = format!("ws://{}/api/v1/agents/ws", server.addr());
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert("X-API-ID", id.parse().unwrap());
    req.headers_mut().insert("X-API-KEY", key.parse().unwrap());
    tokio_tungstenite::connect_async(req)
        .await
        .map(|(ws, _)| ws)
}

/// Next text or close frame, skipping pings.
async fn next_frame(ws: &mut Ws) -> Option<Message> {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
            Ok(Some(Ok(m))) => return Some(m),
            Ok(Some(Err(_))) | Ok(None) => return None,
            Err(_) => panic!("no frame within 5 s"),
        }
    }
}

fn close_code(m: Option<Message>) -> Option<u16> {
    match m {
        Some(Message::Close(Some(f))) => Some(f.code.into()),
        _ => None,
    }
}

async fn wait_connected(server: &TestServer, api_id: &str, want: bool) {
    assert!(
        TestServer::wait_for(Duration::from_secs(5), || async {
            server.is_connected(api_id).await == want
        })
        .await,
        "connected != {want}"
    );
}

#[tokio::test]
async fn bad_credentials_are_refused_before_upgrade() {
    let server = TestServer::start().await;
    let h = server.create_host("web-01").await;
    match connect(&server, &h.api_id, "wrong").await {
        Err(WsError::Http(resp)) => assert_eq!(resp.status(), 401),
        other => panic!("expected HTTP 401, got {:?}", other.map(|_| ())),
    }
    match connect(&server, "patchmon_ffffffffffffffff", &h.api_key).await {
        Err(WsError::Http(resp)) => assert_eq!(resp.status(), 401),
        other => panic!("expected HTTP 401, got {:?}", other.map(|_| ())),
    }
    assert!(!server.is_connected(&h.api_id).await);
}

#[tokio::test]
async fn commands_reach_the_agent_and_disconnect_is_noticed() {
    let server = TestServer::start().await;
    let h = server.create_host("web-01").await;
    assert!(
        !server
            .send_command(&h.api_id, ServerMessage::ReportNow)
            .await,
        "not connected yet"
    );

    let mut ws = connect(&server, &h.api_id, &h.api_key).await.unwrap();
    wait_connected(&server, &h.api_id, true).await;
    assert!(
        server
            .send_command(&h.api_id, ServerMessage::ReportNow)
            .await
    );
    assert_eq!(
        next_frame(&mut ws).await,
        Some(Message::Text(r#"{"type":"report_now"}"#.into()))
    );
    let settings = ServerMessage::SettingsUpdate {
        update_interval: Some(15),
        compliance_scan_interval: None,
        package_cache_refresh_mode: None,
        package_cache_refresh_max_age: None,
    };
    assert!(server.send_command(&h.api_id, settings.clone()).await);
    match next_frame(&mut ws).await {
        Some(Message::Text(t)) => assert_eq!(ServerMessage::parse(&t).unwrap(), settings),
        other => panic!("{other:?}"),
    }

    // Our agents say hello and get a welcome; unknown messages are ignored.
    ws.send(Message::Text(r#"{"type":"something_new","x":1}"#.into()))
        .await
        .unwrap();
    ws.send(Message::Text("not even json".into()))
        .await
        .unwrap();
    ws.send(Message::Text(r#"{"type":"hello","protocol_version":1,"agent_version":"0.1.0","capabilities":["command_result"]}"#.into()))
        .await
        .unwrap();
    match next_frame(&mut ws).await {
        Some(Message::Text(t)) => assert!(
            matches!(
                ServerMessage::parse(&t).unwrap(),
                ServerMessage::Welcome { .. }
            ),
            "{t}"
        ),
        other => panic!("{other:?}"),
    }
    let st = server.state.hub().state(&h.api_id, server.state.now());
    assert!(st.connected);
    assert!(!st.secure);
    assert_eq!(st.agent_version.as_deref(), Some("0.1.0"));

    ws.close(None).await.unwrap();
    drop(ws);
    wait_connected(&server, &h.api_id, false).await;
    let st = server.state.hub().state(&h.api_id, server.state.now());
    assert!(!st.connected);
    assert!(st.disconnected_seconds_ago.is_some());
    assert!(
        !server
            .send_command(&h.api_id, ServerMessage::ReportNow)
            .await
    );

    // Reconnect works.
    let mut ws = connect(&server, &h.api_id, &h.api_key).await.unwrap();
    wait_connected(&server, &h.api_id, true).await;
    assert!(
        server
            .send_command(&h.api_id, ServerMessage::ReportNow)
            .await
    );
    assert!(matches!(next_frame(&mut ws).await, Some(Message::Text(_))));
}

#[tokio::test]
async fn a_new_connection_replaces_and_closes_the_old_one() {
    let server = TestServer::start().await;
    let h = server.create_host("web-01").await;
    let mut first = connect(&server, &h.api_id, &h.api_key).await.unwrap();
    wait_connected(&server, &h.api_id, true).await;
    let mut second = connect(&server, &h.api_id, &h.api_key).await.unwrap();
    assert_eq!(close_code(next_frame(&mut first).await), Some(4000));
    // The replaced socket's cleanup must not unregister the new one.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(server.is_connected(&h.api_id).await);
    assert!(
        server
            .send_command(&h.api_id, ServerMessage::ReportNow)
            .await
    );
    assert!(matches!(
        next_frame(&mut second).await,
        Some(Message::Text(_))
    ));
}

#[tokio::test]
async fn deleting_or_rekeying_a_host_closes_its_socket() {
    let server = TestServer::start().await;
    let a = server.create_host("a").await;
    let b = server.create_host("b").await;
    let mut wa = connect(&server, &a.api_id, &a.api_key).await.unwrap();
    let mut wb = connect(&server, &b.api_id, &b.api_key).await.unwrap();
    wait_connected(&server, &a.api_id, true).await;
    wait_connected(&server, &b.api_id, true).await;

    hosts::delete_host(&server.state, a.id).await.unwrap();
    assert_eq!(close_code(next_frame(&mut wa).await), Some(4004));
    assert!(
        matches!(connect(&server, &a.api_id, &a.api_key).await, Err(WsError::Http(r)) if r.status() == 401)
    );

    let fresh = hosts::regenerate_credentials(&server.state, b.id)
        .await
        .unwrap();
    assert_ne!(fresh.api_id, b.api_id);
    assert_eq!(close_code(next_frame(&mut wb).await), Some(4001));
    assert!(
        matches!(connect(&server, &b.api_id, &b.api_key).await, Err(WsError::Http(r)) if r.status() == 401)
    );
    let _ok = connect(&server, &fresh.api_id, &fresh.api_key)
        .await
        .unwrap();
    wait_connected(&server, &fresh.api_id, true).await;
}

#[tokio::test]
async fn oversized_agent_messages_drop_the_connection() {
    let server = TestServer::start().await;
    let h = server.create_host("web-01").await;
    let mut ws = connect(&server, &h.api_id, &h.api_key).await.unwrap();
    wait_connected(&server, &h.api_id, true).await;
    let big = format!(
        r#"{{"type":"ssh_proxy_data","session_id":"s","data":"{}"}}"#,
        "x".repeat(600 * 1024)
    );
    let _ = ws.send(Message::Text(big.into())).await;
    wait_connected(&server, &h.api_id, false).await;
}

#[tokio::test]
async fn server_shutdown_sends_a_reconnect_hint() {
    let mut server = TestServer::start().await;
    let h = server.create_host("web-01").await;
    let mut ws = connect(&server, &h.api_id, &h.api_key).await.unwrap();
    wait_connected(&server, &h.api_id, true).await;
    server.restart().await;
    assert_eq!(close_code(next_frame(&mut ws).await), Some(1012));
    let _again = connect(&server, &h.api_id, &h.api_key).await.unwrap();
    wait_connected(&server, &h.api_id, true).await;
}

#[tokio::test]
async fn connection_state_is_queryable_by_users_who_may_view_hosts() {
    use super::auth::{call, setup_admin};
    use reqwest::Method;
    let server = TestServer::start().await;
    let token = setup_admin(&server).await;
    let h = server.create_host("web-01").await;
    let path = format!("/api/v1/ws/status/{}", h.api_id);

    let (s, _, b) = call(&server, Method::GET, &path, None, None).await;
    assert_eq!(s, 401, "{b}");
    let (s, _, b) = call(
        &server,
        Method::GET,
        "/api/v1/ws/status/patchmon_ffffffffffffffff",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(s, 404, "{b}");

    let (s, _, b) = call(&server, Method::GET, &path, Some(&token), None).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["connected"], false);
    assert_eq!(b["disconnected_seconds_ago"], serde_json::Value::Null);

    let ws = connect(&server, &h.api_id, &h.api_key).await.unwrap();
    wait_connected(&server, &h.api_id, true).await;
    let (_, _, b) = call(&server, Method::GET, &path, Some(&token), None).await;
    assert_eq!(b["connected"], true);
    assert_eq!(b["secure"], false);

    drop(ws);
    wait_connected(&server, &h.api_id, false).await;
    let (_, _, b) = call(&server, Method::GET, &path, Some(&token), None).await;
    assert_eq!(b["connected"], false);
    assert!(b["disconnected_seconds_ago"].as_i64().is_some(), "{b}");
}

#[tokio::test]
async fn connection_state_respects_host_group_scope() {
    use super::auth::{USER_PW, call, create_user, setup_admin, token_of};
    use reqwest::Method;
    let server = TestServer::start().await;
    let admin = setup_admin(&server).await;
    let web = hosts::create_host(server.db(), server.state.now(), "web-1", Some("web"))
        .await
        .unwrap();
    let db = hosts::create_host(server.db(), server.state.now(), "db-1", Some("databases"))
        .await
        .unwrap();
    let web_group: uuid::Uuid = patchmon_server::with_db!(server.db(), p =>
        sqlx::query_scalar("SELECT id FROM host_groups WHERE name = 'web'").fetch_one(p).await)
    .unwrap();
    let (s, _, b) = call(
        &server,
        Method::PUT,
        "/api/v1/permissions/roles/web_team",
        Some(&admin),
        Some(serde_json::json!({"can_view_hosts": true, "host_group_ids": [web_group]})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    create_user(&server, &admin, "webby", "web_team").await;
    let token = token_of(&server, "webby", USER_PW).await;
    let status = |api_id: String| {
        let token = token.clone();
        let server = &server;
        async move {
            call(
                server,
                Method::GET,
                &format!("/api/v1/ws/status/{api_id}"),
                Some(&token),
                None,
            )
            .await
            .0
        }
    };
    assert_eq!(status(web.api_id.clone()).await, 200);
    assert_eq!(
        status(db.api_id.clone()).await,
        404,
        "outside the role's scope"
    );
}
