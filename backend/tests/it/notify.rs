//! Notification channels: signed webhooks to a local receiver, retries and
//! failures, cooldown, filters, ntfy preset, email to a local SMTP sink.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxStatus, Uri};
use patchmon_server::{alerts, notify};
use reqwest::Method;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use super::auth::{call, setup_admin};
use super::queue::{Storage, start};
use super::*;

#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<(String, HeaderMap, Bytes)>>>,
    status: Arc<AtomicU16>,
}

impl Receiver {
    fn count(&self) -> usize {
        self.got.lock().unwrap().len()
    }
    fn nth(&self, i: usize) -> (String, HeaderMap, Bytes) {
        self.got.lock().unwrap()[i].clone()
    }
}

async fn receiver() -> (String, Receiver) {
    let r = Receiver::default();
    r.status.store(200, Ordering::SeqCst);
    async fn handle(State(r): State<Receiver>, uri: Uri, h: HeaderMap, body: Bytes) -> AxStatus {
        r.got.lock().unwrap().push((uri.path().to_owned(), h, body));
        AxStatus::from_u16(r.status.load(Ordering::SeqCst)).unwrap()
    }
    let app = axum::Router::new().fallback(handle).with_state(r.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (format!("http://{addr}"), r)
}

async fn create_channel(server: &TestServer, token: &str, body: Value) -> String {
    let (s, _, b) = call(
        server,
        Method::POST,
        "/api/v1/notifications/channels",
        Some(token),
        Some(body),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    b["channel"]["id"].as_str().unwrap().to_owned()
}

async fn deliveries(server: &TestServer, token: &str, channel: &str) -> Vec<Value> {
    let (s, _, b) = call(
        server,
        Method::GET,
        &format!("/api/v1/notifications/deliveries?channel_id={channel}"),
        Some(token),
        None,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let mut v = b["deliveries"].as_array().unwrap().clone();
    v.reverse();
    v
}

async fn wait_deliveries(server: &TestServer, token: &str, channel: &str, n: usize) -> Vec<Value> {
    let ok = TestServer::wait_for(Duration::from_secs(10), || async {
        deliveries(server, token, channel).await.len() >= n
    })
    .await;
    let d = deliveries(server, token, channel).await;
    assert!(ok, "expected {n} deliveries, got {d:?}");
    d
}

#[tokio::test]
async fn signed_webhook_cooldown_and_filters() {
    let server = start(
        Storage::Db,
        Arc::new(patchmon_server::clock::SystemClock),
        |_| {},
    )
    .await;
    let token = setup_admin(&server).await;
    let (url, rx) = receiver().await;
    let hook = create_channel(
        &server,
        &token,
        json!({
            "name": "ops hook", "kind": "webhook",
            "config": {"url": format!("{url}/hook"), "secret": "s3cret"},
            "cooldown_seconds": 600,
        }),
    )
    .await;
    // Filtered out by event type and by severity.
    let sec_only = create_channel(
        &server,
        &token,
        json!({
            "name": "security only", "kind": "webhook", "config": {"url": format!("{url}/sec")},
            "events": ["security_updates_available"],
        }),
    )
    .await;
    let critical_only = create_channel(
        &server,
        &token,
        json!({
            "name": "pager", "kind": "webhook", "config": {"url": format!("{url}/pager")},
            "min_severity": "critical",
        }),
    )
    .await;
    // Secrets never come back.
    let (_, _, b) = call(
        &server,
        Method::GET,
        "/api/v1/notifications/channels",
        Some(&token),
        None,
    )
    .await;
    assert!(!b.to_string().contains("s3cret"), "{b}");

    let h = host_with_report(&server, "web-01").await;
    let hid: Uuid = server.host(&h.api_id).await.unwrap()["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let a = alerts::raise(
        &server.state,
        "reboot_required",
        Some(hid),
        "web-01 needs a reboot",
        "kernel updated",
        json!({}),
    )
    .await
    .unwrap()
    .expect("raised");
    let d = wait_deliveries(&server, &token, &hook, 1).await;
    assert_eq!(d[0]["status"], "sent", "{d:?}");
    assert_eq!(rx.count(), 1);
    let (path, headers, body) = rx.nth(0);
    assert_eq!(path, "/hook");
    let ts: i64 = headers[notify::TIMESTAMP_HEADER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let sig = headers[notify::SIGNATURE_HEADER].to_str().unwrap();
    assert_eq!(sig, notify::sign("s3cret", ts, &body), "signature verifies");
    assert_ne!(sig, notify::sign("wrong", ts, &body));
    assert_eq!(headers[notify::EVENT_HEADER], "alert_raised");
    let payload: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(payload["alert"]["id"], a.id.to_string());
    assert_eq!(payload["alert"]["type"], "reboot_required");

    // Resolve and raise again within the cooldown: the resolution is sent,
    // the second raise is skipped and logged.
    alerts::auto_resolve(&server.state, "reboot_required", Some(hid), "rebooted")
        .await
        .unwrap()
        .expect("resolved");
    wait_deliveries(&server, &token, &hook, 2).await;
    alerts::raise(
        &server.state,
        "reboot_required",
        Some(hid),
        "again",
        "kernel updated",
        json!({}),
    )
    .await
    .unwrap()
    .expect("raised again");
    let d = wait_deliveries(&server, &token, &hook, 3).await;
    assert_eq!(d[1]["event"], "alert_resolved");
    assert_eq!(d[2]["status"], "skipped_cooldown", "{d:?}");
    assert_eq!(rx.count(), 2, "the second raise was not sent");
    assert!(deliveries(&server, &token, &sec_only).await.is_empty());
    assert!(deliveries(&server, &token, &critical_only).await.is_empty());
    // The log pages: total over all pages, newest first, filters apply to both.
    let page = |q: String| {
        let (server, token) = (&server, &token);
        async move {
            let url = format!("/api/v1/notifications/deliveries?{q}");
            let (s, _, b) = call(server, Method::GET, &url, Some(token), None).await;
            assert_eq!(s, 200, "{b}");
            b
        }
    };
    let p1 = page(format!("channel_id={hook}&limit=2")).await;
    assert_eq!(
        (
            p1["total"].as_i64(),
            p1["deliveries"].as_array().unwrap().len()
        ),
        (Some(3), 2),
        "{p1}"
    );
    assert_eq!(
        p1["deliveries"][0]["status"], "skipped_cooldown",
        "newest first: {p1}"
    );
    let p2 = page(format!("channel_id={hook}&limit=2&offset=2")).await;
    assert_eq!(p2["deliveries"].as_array().unwrap().len(), 1, "{p2}");
    assert_eq!(
        p2["deliveries"][0]["id"], d[0]["id"],
        "the oldest is last: {p2}"
    );
    let sent = page(format!("channel_id={hook}&status=sent")).await;
    assert_eq!(sent["total"], 2, "{sent}");
    // No request ever reached the filtered channels' paths.
    assert!(rx.got.lock().unwrap().iter().all(|(p, _, _)| p == "/hook"));
}

#[tokio::test]
async fn failing_webhook_is_retried_then_logged_as_failed() {
    let server = start(
        Storage::Db,
        Arc::new(patchmon_server::clock::SystemClock),
        |_| {},
    )
    .await;
    let token = setup_admin(&server).await;
    let (url, rx) = receiver().await;
    rx.status.store(500, Ordering::SeqCst);
    let ch = create_channel(
        &server,
        &token,
        json!({
        "name": "broken", "kind": "webhook", "config": {"url": url}}),
    )
    .await;
    let (s, _, b) = call(
        &server,
        Method::POST,
        &format!("/api/v1/notifications/channels/{ch}/test"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["status"], "failed");
    assert_eq!(b["attempts"], 3);
    assert_eq!(rx.count(), 3, "three attempts reached the receiver");
    let d = deliveries(&server, &token, &ch).await;
    assert_eq!(d[0]["status"], "failed");
    assert_eq!(d[0]["error"], "HTTP 500");
    // Recovers once the receiver does.
    rx.status.store(200, Ordering::SeqCst);
    let (_, _, b) = call(
        &server,
        Method::POST,
        &format!("/api/v1/notifications/channels/{ch}/test"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(b["status"], "sent", "{b}");
    // Bad channel definitions are 400s.
    for bad in [
        json!({"name": "x", "kind": "sms", "config": {}}),
        json!({"name": "x", "kind": "webhook", "config": {"url": "ftp://x"}}),
        json!({"name": "x", "kind": "email", "config": {"host": "h", "from": "a@b.c", "to": []}}),
        json!({"name": "x", "kind": "gotify", "config": {"url": "http://g"}}),
        json!({"name": "x", "kind": "ntfy", "config": {"topic": "t"}, "min_severity": "loud"}),
    ] {
        let (s, _, b) = call(
            &server,
            Method::POST,
            "/api/v1/notifications/channels",
            Some(&token),
            Some(bad),
        )
        .await;
        assert_eq!(s, 400, "{b}");
    }
}

#[tokio::test]
async fn ntfy_and_gotify_presets() {
    let server = start(
        Storage::Db,
        Arc::new(patchmon_server::clock::SystemClock),
        |_| {},
    )
    .await;
    let token = setup_admin(&server).await;
    let (url, rx) = receiver().await;
    let ntfy = create_channel(&server, &token, json!({
        "name": "ntfy", "kind": "ntfy", "config": {"url": url, "topic": "patchmon-alerts", "token": "tk"}})).await;
    let (_, _, b) = call(
        &server,
        Method::POST,
        &format!("/api/v1/notifications/channels/{ntfy}/test"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(b["status"], "sent", "{b}");
    let (path, headers, body) = rx.nth(0);
    assert_eq!(path, "/patchmon-alerts");
    assert_eq!(headers["title"], "[INFO] PatchMon test notification");
    assert_eq!(headers["authorization"], "Bearer tk");
    assert!(String::from_utf8_lossy(&body).contains("This is a test"));

    let gotify = create_channel(
        &server,
        &token,
        json!({
        "name": "gotify", "kind": "gotify", "config": {"url": url, "token": "app-token"}}),
    )
    .await;
    let (_, _, b) = call(
        &server,
        Method::POST,
        &format!("/api/v1/notifications/channels/{gotify}/test"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(b["status"], "sent", "{b}");
    let (path, headers, body) = rx.nth(1);
    assert_eq!(path, "/message");
    assert_eq!(headers["x-gotify-key"], "app-token");
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["title"], "[INFO] PatchMon test notification");
}

/// A minimal SMTP server that records each message's DATA.
async fn smtp_sink() -> (u16, Arc<Mutex<Vec<String>>>) {
    let got = Arc::new(Mutex::new(Vec::new()));
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let g = got.clone();
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = l.accept().await else {
                return;
            };
            let g = g.clone();
            tokio::spawn(async move {
                let (r, mut w) = sock.into_split();
                let mut lines = BufReader::new(r).lines();
                w.write_all(b"220 sink ESMTP\r\n").await.unwrap();
                while let Ok(Some(line)) = lines.next_line().await {
                    let up = line.to_ascii_uppercase();
                    let reply: &[u8] = if up.starts_with("EHLO") {
                        b"250-sink\r\n250 8BITMIME\r\n"
                    } else if up.starts_with("DATA") {
                        w.write_all(b"354 go ahead\r\n").await.unwrap();
                        let mut data = String::new();
                        while let Ok(Some(l)) = lines.next_line().await {
                            if l == "." {
                                break;
                            }
                            data.push_str(&l);
                            data.push('\n');
                        }
                        g.lock().unwrap().push(data);
                        b"250 queued\r\n"
                    } else if up.starts_with("QUIT") {
                        let _ = w.write_all(b"221 bye\r\n").await;
                        return;
                    } else {
                        b"250 OK\r\n"
                    };
                    if w.write_all(reply).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, got)
}

#[tokio::test]
async fn email_is_delivered_to_an_smtp_sink() {
    let server = start(
        Storage::Db,
        Arc::new(patchmon_server::clock::SystemClock),
        |_| {},
    )
    .await;
    let token = setup_admin(&server).await;
    let (port, got) = smtp_sink().await;
    let ch = create_channel(
        &server,
        &token,
        json!({
        "name": "mail", "kind": "email", "min_severity": "warning",
        "config": {"host": "127.0.0.1", "port": port, "security": "none",
                   "from": "PatchMon <patchmon@example.com>", "to": ["ops@example.com"]}}),
    )
    .await;
    let (_, _, b) = call(
        &server,
        Method::POST,
        &format!("/api/v1/notifications/channels/{ch}/test"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(b["status"], "sent", "{b}");
    // A raised alert above the minimum severity is mailed too.
    let h = host_with_report(&server, "mail-01").await;
    let hid: Uuid = server.host(&h.api_id).await.unwrap()["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    alerts::raise(
        &server.state,
        "host_down",
        Some(hid),
        "Host mail-01 is down",
        "socket gone",
        json!({}),
    )
    .await
    .unwrap()
    .expect("raised");
    wait_deliveries(&server, &token, &ch, 2).await;
    let mails = got.lock().unwrap().clone();
    assert_eq!(mails.len(), 2, "{mails:?}");
    assert!(
        mails[0].contains("Subject: [INFO] PatchMon test notification"),
        "{}",
        mails[0]
    );
    assert!(mails[0].contains("To: ops@example.com"));
    assert!(
        mails[1].contains("Subject: [CRITICAL] Host mail-01 is down"),
        "{}",
        mails[1]
    );
}

/// Sends never connect to an address in NOTIFY_DENY_NETWORKS: not as a
/// literal, not through a redirect, not through a name that resolves there.
#[tokio::test]
async fn sends_never_reach_denied_networks() {
    use patchmon_server::notify::guard::parse_list;
    let (allowed, rx) = receiver().await;
    let port = allowed.rsplit(':').next().unwrap().to_owned();
    // A redirector on 127.0.0.1 pointing at 127.0.0.2 (denied below).
    let to = format!("http://127.0.0.2:{port}/hook");
    let redirect = axum::Router::new().fallback(move || {
        let to = to.clone();
        async move { (AxStatus::FOUND, [(axum::http::header::LOCATION, to)]) }
    });
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let redirector = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, redirect).await.unwrap() });

    async fn test_send(server: &TestServer, token: &str, url: String) -> Value {
        let body = json!({"name": url.clone(), "kind": "webhook", "config": {"url": url}});
        let ch = create_channel(server, token, body).await;
        let path = format!("/api/v1/notifications/channels/{ch}/test");
        let (s, _, b) = call(server, Method::POST, &path, Some(token), None).await;
        assert_eq!(s, 200, "{b}");
        b
    }
    let server = start(
        Storage::Db,
        Arc::new(patchmon_server::clock::SystemClock),
        |c| {
            c.queue.notify_deny = parse_list("127.0.0.2/32, 169.254.0.0/16").unwrap();
        },
    )
    .await;
    let token = setup_admin(&server).await;
    for url in [
        "http://169.254.169.254/latest/meta-data".to_owned(),
        format!("http://127.0.0.2:{port}/hook"),
        format!("http://[::ffff:127.0.0.2]:{port}/hook"),
        format!("{redirector}/go"),
    ] {
        let b = test_send(&server, &token, url.clone()).await;
        assert_eq!(b["status"], "failed", "{url}: {b}");
        let err = b["error"].as_str().unwrap_or_default();
        assert!(err.contains("NOTIFY_DENY_NETWORKS"), "{url}: {err}");
    }
    assert_eq!(rx.count(), 0, "nothing reached the receiver");
    // Loopback is not in this list: the receiver itself is reachable.
    let b = test_send(&server, &token, format!("{allowed}/ok")).await;
    assert_eq!(b["status"], "sent", "{b}");
    assert_eq!(rx.count(), 1);

    // A name is checked after DNS: localhost, with loopback denied.
    let strict = start(
        Storage::Db,
        Arc::new(patchmon_server::clock::SystemClock),
        |c| {
            c.queue.notify_deny = parse_list("127.0.0.0/8,::1").unwrap();
        },
    )
    .await;
    let token = setup_admin(&strict).await;
    let b = test_send(&strict, &token, format!("http://localhost:{port}/hook")).await;
    assert_eq!(b["status"], "failed", "{b}");
    assert!(
        b["error"]
            .as_str()
            .unwrap_or_default()
            .contains("NOTIFY_DENY_NETWORKS"),
        "{b}"
    );
    assert_eq!(rx.count(), 1, "still only the allowed send");
}
