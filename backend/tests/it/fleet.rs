//! The web app's fleet API (docs/api.md, "Web app API"): host list filters,
//! sorting and pagination, host detail and edits, groups, packages,
//! repositories, dashboard numbers, settings (with the interval pushed to a
//! live agent), exports and host-group scoping — on SQLite and PostgreSQL.

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::Method;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use super::auth::{USER_PW, call, create_user, setup_admin, token_of};
use super::*;

async fn get(server: &TestServer, token: &str, path: &str) -> (StatusCode, Value) {
    let (s, _, b) = call(server, Method::GET, path, Some(token), None).await;
    (s, b)
}

async fn send(
    server: &TestServer,
    token: &str,
    method: Method,
    path: &str,
    body: Value,
) -> (StatusCode, Value) {
    let (s, _, b) = call(server, method, path, Some(token), Some(body)).await;
    (s, b)
}

/// A host with a full report built from `packages` and `tweak` on the report.
async fn reported_host(
    server: &TestServer,
    name: &str,
    packages: Vec<Value>,
    tweak: impl FnOnce(&mut Value),
) -> HostCredentials {
    let h = server.create_host(name).await;
    let mut report = full_report(packages, standard_repos());
    tweak(&mut report);
    let (status, body) = post_json(server, &h, "/hosts/update", &report).await;
    assert_eq!(status, 200, "{body}");
    h
}

fn up_to_date_packages() -> Vec<Value> {
    vec![
        package("bash", "5.2.15-2+b2", None, false),
        package("curl", "7.88.1-10+deb12u5", None, false),
        package("zlib1g", "1:1.2.13.dfsg-1", None, false),
    ]
}

/// Three hosts: `alpha` (Debian, 3 outdated of which 2 security), `bravo`
/// (Ubuntu, up to date, needs a reboot, two interfaces with IPv6) and
/// `charlie` (pending, no report).
struct Fleet {
    alpha: HostCredentials,
    bravo: HostCredentials,
    charlie: HostCredentials,
}

async fn fleet(server: &TestServer) -> Fleet {
    let alpha = reported_host(server, "alpha", standard_packages(), |r| {
        r["hostname"] = json!("alpha.example.com");
        r["ip"] = json!("10.0.0.5");
    })
    .await;
    let bravo = reported_host(server, "Bravo", up_to_date_packages(), |r| {
        r["osType"] = json!("Ubuntu");
        r["osVersion"] = json!("24.04");
        r["hostname"] = json!("bravo.example.com");
        r["ip"] = json!("10.0.0.6");
        r["needsReboot"] = json!(true);
        r["rebootReason"] = json!("kernel update");
        r["agentVersion"] = json!("2.2.0");
        r["networkInterfaces"] = json!([
            {"name": "eth0", "type": "ethernet", "macAddress": "AA:BB:CC:DD:EE:01", "status": "up",
             "addresses": [{"address": "10.0.0.6", "family": "inet", "netmask": "/24"},
                           {"address": "2001:db8::6", "family": "inet6", "netmask": "/64"}]},
            {"name": "eth1", "type": "ethernet", "macAddress": "AA:BB:CC:DD:EE:02", "status": "up",
             "addresses": [{"address": "192.168.1.6", "family": "inet", "netmask": "/24"}]}
        ]);
    })
    .await;
    let charlie = server.create_host("charlie").await;
    Fleet {
        alpha,
        bravo,
        charlie,
    }
}

fn names(b: &Value, key: &str) -> Vec<String> {
    b[key]
        .as_array()
        .unwrap_or_else(|| panic!("no {key} in {b}"))
        .iter()
        .map(|h| h["friendly_name"].as_str().unwrap().to_owned())
        .collect()
}

async fn new_group(server: &TestServer, token: &str, name: &str, color: &str) -> Uuid {
    let (s, b) = send(
        server,
        token,
        Method::POST,
        "/api/v1/host-groups",
        json!({"name": name, "color": color, "description": "d"}),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    b["id"].as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn host_list_filters_sorts_and_paginates() {
    let server = TestServer::start().await;
    let admin = setup_admin(&server).await;
    let f = fleet(&server).await;
    let g = new_group(&server, &admin, "web", "#112233").await;
    let (s, b) = send(
        &server,
        &admin,
        Method::PUT,
        &format!("/api/v1/hosts/{}/groups", f.alpha.id),
        json!({"group_ids": [g]}),
    )
    .await;
    assert_eq!(s, 200, "{b}");

    let (s, b) = get(&server, &admin, "/api/v1/hosts").await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        names(&b, "hosts"),
        ["alpha", "Bravo", "charlie"],
        "case-insensitive name order"
    );
    assert_eq!(b["pagination"]["total"], 3);
    let alpha = &b["hosts"][0];
    assert_eq!(alpha["total_packages"], 5);
    assert_eq!(alpha["updates_available"], 3);
    assert_eq!(alpha["security_updates"], 2);
    assert_eq!(alpha["update_state"], "security_required");
    assert_eq!(alpha["effective_status"], "active");
    assert_eq!(alpha["reporting_state"], "reporting");
    assert_eq!(alpha["groups"][0]["name"], "web");
    assert_eq!(alpha["groups"][0]["color"], "#112233");
    assert_eq!(alpha["connected"], false);
    assert_eq!(b["hosts"][1]["update_state"], "up_to_date");
    assert_eq!(b["hosts"][2]["effective_status"], "pending");
    assert_eq!(b["hosts"][2]["total_packages"], 0);

    let q = |query: &'static str| {
        let server = &server;
        let admin = &admin;
        async move {
            let (s, b) = get(server, admin, &format!("/api/v1/hosts?{query}")).await;
            assert_eq!(s, 200, "{query}: {b}");
            names(&b, "hosts")
        }
    };
    assert_eq!(q("needs_updates=true").await, ["alpha"]);
    assert_eq!(q("needs_updates=false").await, ["Bravo", "charlie"]);
    assert_eq!(q("security_updates=true").await, ["alpha"]);
    assert_eq!(q("needs_reboot=true").await, ["Bravo"]);
    assert_eq!(q("status=pending").await, ["charlie"]);
    assert_eq!(q("status=active").await, ["alpha", "Bravo"]);
    assert!(q("status=inactive").await.is_empty());
    assert_eq!(q("reporting_state=stale").await, ["charlie"]);
    assert_eq!(q("os=Ubuntu").await, ["Bravo"]);
    assert_eq!(
        q("search=BRAVO.example").await,
        ["Bravo"],
        "hostname, any case"
    );
    assert_eq!(q("search=10.0.0.5").await, ["alpha"], "ip");
    assert_eq!(q("search=char").await, ["charlie"], "friendly name");
    assert!(q("search=%25").await.is_empty(), "% is literal");
    let by_group: &'static str = format!("group_id={g}").leak();
    assert_eq!(q(by_group).await, ["alpha"]);
    assert_eq!(q("group_id=ungrouped").await, ["Bravo", "charlie"]);
    assert_eq!(
        q("sort=updates&order=desc").await,
        ["alpha", "Bravo", "charlie"]
    );
    assert_eq!(
        q("sort=total_packages&order=asc").await,
        ["charlie", "Bravo", "alpha"]
    );
    assert_eq!(
        q("sort=os").await,
        ["alpha", "Bravo", "charlie"],
        "Debian, Ubuntu, none last"
    );
    assert_eq!(q("sort=os&order=desc").await, ["Bravo", "alpha", "charlie"]);
    assert_eq!(
        q("sort=friendly_name&order=desc").await,
        ["charlie", "Bravo", "alpha"]
    );
    assert_eq!(q("sort=status").await, ["charlie", "alpha", "Bravo"]);
    assert_eq!(q("sort=needs_reboot&order=desc").await[0], "Bravo");
    assert_eq!(
        q("sort=agent_version&order=desc").await,
        ["Bravo", "alpha", "charlie"]
    );

    let (_, b) = get(&server, &admin, "/api/v1/hosts?limit=2&page=2").await;
    assert_eq!(names(&b, "hosts"), ["charlie"]);
    assert_eq!(
        b["pagination"],
        json!({"page": 2, "limit": 2, "offset": 2, "total": 3, "total_pages": 2})
    );
    let (_, b) = get(&server, &admin, "/api/v1/hosts?limit=1&offset=1").await;
    assert_eq!(names(&b, "hosts"), ["Bravo"]);
    assert_eq!(b["pagination"]["total"], 3);
    let (_, b) = get(&server, &admin, "/api/v1/hosts?limit=2&needs_updates=false").await;
    assert_eq!(b["pagination"]["total"], 2);

    for bad in [
        "sort=nope",
        "order=sideways",
        "limit=0",
        "limit=5000",
        "page=0",
        "page=x",
        "status=offline",
        "needs_updates=maybe",
        "group_id=not-a-uuid",
        "reporting_state=late",
    ] {
        let (s, b) = get(&server, &admin, &format!("/api/v1/hosts?{bad}")).await;
        assert_eq!(s, 400, "{bad}: {b}");
        assert_eq!(b["code"], "bad_request", "{bad}");
    }
    let _ = (f.bravo, f.charlie);
}

#[tokio::test]
async fn host_status_follows_the_clock() {
    use patchmon_server::clock::ManualClock;
    use std::sync::Arc;
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let server = TestServer::start_with_clock(|_| {}, clock.clone()).await;
    setup_admin(&server).await;
    let _f = fleet(&server).await;
    clock.advance(chrono::Duration::minutes(150));
    // Sessions time out too: sign in again at the new time.
    let admin = token_of(&server, "admin", super::auth::ADMIN_PW).await;
    let (_, b) = get(&server, &admin, "/api/v1/hosts?status=inactive").await;
    assert_eq!(names(&b, "hosts"), ["alpha", "Bravo"]);
    let (_, b) = get(&server, &admin, "/api/v1/dashboard/stats").await;
    assert_eq!(b["inactive_hosts"], 2);
    assert_eq!(b["offline_hosts"], 0, "offline needs 3x the interval");
    clock.advance(chrono::Duration::minutes(40));
    let admin = token_of(&server, "admin", super::auth::ADMIN_PW).await;
    let (_, b) = get(&server, &admin, "/api/v1/dashboard/stats").await;
    assert_eq!(b["offline_hosts"], 2);
    let (_, b) = get(&server, &admin, "/api/v1/hosts?status=active").await;
    assert!(names(&b, "hosts").is_empty());
}

#[tokio::test]
async fn host_detail_packages_history_and_edits() {
    let server = TestServer::start().await;
    let admin = setup_admin(&server).await;
    let f = fleet(&server).await;
    let path = format!("/api/v1/hosts/{}", f.bravo.id);

    let (s, d) = get(&server, &admin, &path).await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(d["friendly_name"], "Bravo");
    assert_eq!(d["os_type"], "Ubuntu");
    assert_eq!(d["needs_reboot"], true);
    assert_eq!(d["reboot_reason"], "kernel update");
    assert_eq!(d["hardware"]["cpu_cores"], 4);
    assert_eq!(d["hardware"]["disk_details"][0]["mountpoint"], "/");
    assert_eq!(d["hardware"]["load_average"], json!([0.1, 0.2, 0.3]));
    let ifs = d["network"]["interfaces"].as_array().unwrap();
    assert_eq!(ifs.len(), 2);
    assert_eq!(ifs[0]["addresses"][1]["address"], "2001:db8::6");
    assert_eq!(ifs[0]["addresses"][1]["family"], "inet6");
    assert_eq!(d["network"]["dns_servers"], json!(["10.0.0.1"]));
    assert_eq!(d["counts"]["total_packages"], 3);
    assert_eq!(d["counts"]["repositories"], 2);
    assert_eq!(d["agent"]["connected"], false);
    assert_eq!(d["agent"]["version"], "2.2.0");
    assert_eq!(d["integrations"]["docker_enabled"], false);

    // Packages of alpha with filters.
    let pk = |q: &'static str| {
        let server = &server;
        let admin = &admin;
        let id = f.alpha.id;
        async move {
            let (s, b) = get(server, admin, &format!("/api/v1/hosts/{id}/packages?{q}")).await;
            assert_eq!(s, 200, "{q}: {b}");
            let n: Vec<String> = b["packages"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["name"].as_str().unwrap().to_owned())
                .collect();
            (n, b)
        }
    };
    let (n, b) = pk("").await;
    assert_eq!(n, ["bash", "curl", "openssl", "vim", "zlib1g"]);
    assert_eq!(b["pagination"]["total"], 5);
    let curl = &b["packages"][1];
    assert_eq!(curl["current_version"], "7.88.1-10+deb12u4");
    assert_eq!(curl["available_version"], "7.88.1-10+deb12u5");
    assert_eq!(curl["needs_update"], true);
    assert_eq!(curl["is_security_update"], true);
    assert_eq!(pk("updates_only=true").await.0, ["curl", "openssl", "vim"]);
    assert_eq!(pk("security_only=true").await.0, ["curl", "openssl"]);
    assert_eq!(pk("search=SSL").await.0, ["openssl"]);
    let (n, b) = pk("limit=2&page=2").await;
    assert_eq!(n, ["openssl", "vim"]);
    assert_eq!(b["pagination"]["total_pages"], 3);
    let (s, _) = get(
        &server,
        &admin,
        &format!("/api/v1/hosts/{}/packages?sort=x", f.alpha.id),
    )
    .await;
    assert_eq!(s, 400);

    let (s, b) = get(
        &server,
        &admin,
        &format!("/api/v1/hosts/{}/repositories", f.alpha.id),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["repositories"].as_array().unwrap().len(), 2);
    assert_eq!(b["repositories"][0]["is_enabled"], true);

    // A second report adds history; newest first.
    let report = full_report(up_to_date_packages(), standard_repos());
    let (s, _) = post_json(&server, &f.alpha, "/hosts/update", &report).await;
    assert_eq!(s, 200);
    let (s, b) = get(
        &server,
        &admin,
        &format!("/api/v1/hosts/{}/history?limit=1", f.alpha.id),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["pagination"]["total"], 2);
    assert_eq!(b["history"][0]["report_type"], "full");
    assert_eq!(
        b["history"][0]["packages_count"], 0,
        "the second report has nothing outdated"
    );
    assert_eq!(b["history"][0]["total_packages"], 3);
    // …and the list's counters follow the new report.
    let (_, d) = get(&server, &admin, &format!("/api/v1/hosts/{}", f.alpha.id)).await;
    assert_eq!(d["counts"]["total_packages"], 3);
    assert_eq!(d["counts"]["updates_available"], 0);
    assert_eq!(d["update_state"], "up_to_date");

    // Edits.
    let (s, d) = send(
        &server,
        &admin,
        Method::PATCH,
        &format!("{path}/friendly-name"),
        json!({"friendly_name": "  bravo-renamed  "}),
    )
    .await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(d["friendly_name"], "bravo-renamed");
    let (s, d) = send(
        &server,
        &admin,
        Method::PATCH,
        &format!("{path}/notes"),
        json!({"notes": "rack 4"}),
    )
    .await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(d["notes"], "rack 4");
    let (_, d) = send(
        &server,
        &admin,
        Method::PATCH,
        &format!("{path}/notes"),
        json!({"notes": ""}),
    )
    .await;
    assert_eq!(d["notes"], Value::Null);
    for (p, body) in [
        ("friendly-name", json!({"friendly_name": "   "})),
        ("friendly-name", json!({"friendly_name": "x".repeat(256)})),
        ("friendly-name", json!({"friendly_name": 5})),
        ("notes", json!({"notes": "n".repeat(10_001)})),
    ] {
        let (s, b) = send(&server, &admin, Method::PATCH, &format!("{path}/{p}"), body).await;
        assert_eq!(s, 400, "{p}: {b}");
    }
    let g1 = new_group(&server, &admin, "g1", "#000000").await;
    let g2 = new_group(&server, &admin, "g2", "#FFFFFF").await;
    let (s, d) = send(
        &server,
        &admin,
        Method::PUT,
        &format!("{path}/groups"),
        json!({"group_ids": [g1, g2]}),
    )
    .await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(d["groups"].as_array().unwrap().len(), 2);
    let (s, d) = send(
        &server,
        &admin,
        Method::PUT,
        &format!("{path}/groups"),
        json!({"group_ids": [g2]}),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(d["groups"][0]["id"], json!(g2));
    assert_eq!(d["groups"].as_array().unwrap().len(), 1);
    let (s, _) = send(
        &server,
        &admin,
        Method::PUT,
        &format!("{path}/groups"),
        json!({"group_ids": [Uuid::new_v4()]}),
    )
    .await;
    assert_eq!(s, 400, "unknown group");
    let (_, d) = get(&server, &admin, &path).await;
    assert_eq!(
        d["groups"].as_array().unwrap().len(),
        1,
        "a failed change changes nothing"
    );

    // Bulk: add g1 to all three, then remove it again.
    let all = json!([f.alpha.id, f.bravo.id, f.charlie.id]);
    let (s, b) = send(
        &server,
        &admin,
        Method::PUT,
        "/api/v1/hosts/bulk/groups",
        json!({"host_ids": all, "group_ids": [g1], "mode": "add"}),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["updated"], 3);
    let (_, b) = get(&server, &admin, &format!("/api/v1/hosts?group_id={g1}")).await;
    assert_eq!(b["pagination"]["total"], 3);
    let (_, d) = get(&server, &admin, &path).await;
    assert_eq!(d["groups"].as_array().unwrap().len(), 2, "add keeps g2");
    let (s, b) = send(
        &server,
        &admin,
        Method::PUT,
        "/api/v1/hosts/bulk/groups",
        json!({"host_ids": [f.alpha.id, Uuid::new_v4()], "group_ids": [g2], "mode": "replace"}),
    )
    .await;
    assert_eq!(s, 404, "unknown host: {b}");
    let (_, d) = get(&server, &admin, &format!("/api/v1/hosts/{}", f.alpha.id)).await;
    assert_eq!(d["groups"].as_array().unwrap().len(), 1, "nothing changed");
    let (s, _) = send(
        &server,
        &admin,
        Method::PUT,
        "/api/v1/hosts/bulk/groups",
        json!({"host_ids": all, "group_ids": [g1], "mode": "remove"}),
    )
    .await;
    assert_eq!(s, 200);
    let (_, b) = get(&server, &admin, &format!("/api/v1/hosts?group_id={g1}")).await;
    assert_eq!(b["pagination"]["total"], 0);
    let (s, _) = send(
        &server,
        &admin,
        Method::PUT,
        "/api/v1/hosts/bulk/groups",
        json!({"host_ids": [], "group_ids": [g1]}),
    )
    .await;
    assert_eq!(s, 400);
    let (s, _) = send(
        &server,
        &admin,
        Method::PUT,
        "/api/v1/hosts/bulk/groups",
        json!({"host_ids": all, "group_ids": [g1], "mode": "merge"}),
    )
    .await;
    assert_eq!(s, 400);

    // Unknown and malformed ids.
    let (s, b) = get(
        &server,
        &admin,
        &format!("/api/v1/hosts/{}", Uuid::new_v4()),
    )
    .await;
    assert_eq!((s.as_u16(), b["code"].as_str()), (404, Some("not_found")));
    let (s, b) = get(&server, &admin, "/api/v1/hosts/not-a-uuid").await;
    assert_eq!((s.as_u16(), b["code"].as_str()), (400, Some("bad_request")));
    let (s, _) = get(
        &server,
        &admin,
        &format!("/api/v1/hosts/{}/packages", Uuid::new_v4()),
    )
    .await;
    assert_eq!(s, 404);
}

async fn ws_connect(
    server: &TestServer,
    h: &HostCredentials,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let url = format!("ws://{}/api/v1/agents/ws", server.addr());
    let mut req = url.into_client_request().unwrap();
    req.headers_mut()
        .insert("X-API-ID", h.api_id.parse().unwrap());
    req.headers_mut()
        .insert("X-API-KEY", h.api_key.parse().unwrap());
    let (ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    assert!(
        TestServer::wait_for(Duration::from_secs(5), || async {
            server.is_connected(&h.api_id).await
        })
        .await
    );
    ws
}

async fn next_message(
    ws: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
) -> Option<Message> {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
            Ok(Some(Ok(m))) => return Some(m),
            Ok(_) => return None,
            Err(_) => panic!("no frame within 5 s"),
        }
    }
}

#[tokio::test]
async fn create_regenerate_and_delete_hosts() {
    let server = TestServer::start().await;
    let admin = setup_admin(&server).await;
    let g = new_group(&server, &admin, "new", "#123456").await;
    let (s, b) = send(
        &server,
        &admin,
        Method::POST,
        "/api/v1/hosts",
        json!({"friendly_name": "fresh", "group_ids": [g]}),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let creds = HostCredentials {
        id: b["id"].as_str().unwrap().parse().unwrap(),
        api_id: b["api_id"].as_str().unwrap().to_owned(),
        api_key: b["api_key"].as_str().unwrap().to_owned(),
    };
    assert!(creds.api_key.len() >= 43, "256-bit key");
    let (s, _) = post_json(
        &server,
        &creds,
        "/hosts/update",
        &full_report(standard_packages(), vec![]),
    )
    .await;
    assert_eq!(s, 200, "the returned credentials work");
    let (_, d) = get(&server, &admin, &format!("/api/v1/hosts/{}", creds.id)).await;
    assert_eq!(d["groups"][0]["name"], "new");
    assert_eq!(d["effective_status"], "active");
    for bad in [
        json!({}),
        json!({"friendly_name": ""}),
        json!({"friendly_name": "x", "group_ids": [Uuid::new_v4()]}),
    ] {
        let (s, _) = send(&server, &admin, Method::POST, "/api/v1/hosts", bad.clone()).await;
        assert_eq!(s, 400, "{bad}");
    }

    // fetch-report: 409 while the agent is away, report_now once connected.
    let fetch = format!("/api/v1/hosts/{}/fetch-report", creds.id);
    let (s, b) = send(&server, &admin, Method::POST, &fetch, json!({})).await;
    assert_eq!((s.as_u16(), b["code"].as_str()), (409, Some("conflict")));
    let mut ws = ws_connect(&server, &creds).await;
    let (s, b) = send(&server, &admin, Method::POST, &fetch, json!({})).await;
    assert_eq!(s, 200, "{b}");
    match next_message(&mut ws).await {
        Some(Message::Text(t)) => assert_eq!(
            serde_json::from_str::<Value>(&t).unwrap(),
            json!({"type": "report_now"})
        ),
        other => panic!("expected report_now, got {other:?}"),
    }

    // Regenerating closes the socket and replaces the credentials.
    let (s, b) = send(
        &server,
        &admin,
        Method::POST,
        &format!("/api/v1/hosts/{}/regenerate-credentials", creds.id),
        json!({}),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_ne!(b["api_id"], json!(creds.api_id));
    match next_message(&mut ws).await {
        Some(Message::Close(Some(f))) => assert_eq!(u16::from(f.code), 4001),
        other => panic!("expected close, got {other:?}"),
    }
    let (s, _) = post_json(
        &server,
        &creds,
        "/hosts/update",
        &full_report(standard_packages(), vec![]),
    )
    .await;
    assert_eq!(s, 401, "old credentials are dead");
    let fresh = HostCredentials {
        id: creds.id,
        api_id: b["api_id"].as_str().unwrap().to_owned(),
        api_key: b["api_key"].as_str().unwrap().to_owned(),
    };

    // Delete cascades and closes the socket.
    let mut ws = ws_connect(&server, &fresh).await;
    let (s, b) = send(
        &server,
        &admin,
        Method::DELETE,
        &format!("/api/v1/hosts/{}", fresh.id),
        json!({}),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    match next_message(&mut ws).await {
        Some(Message::Close(Some(f))) => assert_eq!(u16::from(f.code), 4004),
        other => panic!("expected close, got {other:?}"),
    }
    let (s, _) = get(&server, &admin, &format!("/api/v1/hosts/{}", fresh.id)).await;
    assert_eq!(s, 404);
    let left: i64 = patchmon_server::with_db!(server.db(), p =>
        sqlx::query_scalar("SELECT COUNT(*) FROM host_packages WHERE host_id = $1").bind(fresh.id).fetch_one(p).await).unwrap();
    assert_eq!(left, 0, "packages cascade");
    let (s, _) = send(
        &server,
        &admin,
        Method::DELETE,
        &format!("/api/v1/hosts/{}", fresh.id),
        json!({}),
    )
    .await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn host_groups_crud_and_membership() {
    let server = TestServer::start().await;
    let admin = setup_admin(&server).await;
    let f = fleet(&server).await;
    let (s, b) = send(
        &server,
        &admin,
        Method::POST,
        "/api/v1/host-groups",
        json!({"name": "prod"}),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["color"], "#3B82F6", "default colour");
    assert_eq!(b["host_count"], 0);
    let prod: Uuid = b["id"].as_str().unwrap().parse().unwrap();
    for bad in [
        json!({"name": "prod"}),
        json!({"name": ""}),
        json!({"name": "x".repeat(101)}),
        json!({"name": "c", "color": "red"}),
        json!({"name": "c", "color": "#12345"}),
        json!({"name": "c", "color": "#12345G"}),
        json!({"name": "c", "description": "d".repeat(1001)}),
    ] {
        let (s, b) = send(
            &server,
            &admin,
            Method::POST,
            "/api/v1/host-groups",
            bad.clone(),
        )
        .await;
        assert!(s == 400 || s == 409, "{bad}: {s} {b}");
    }
    let (s, b) = send(
        &server,
        &admin,
        Method::POST,
        "/api/v1/host-groups",
        json!({"name": "prod"}),
    )
    .await;
    assert_eq!((s.as_u16(), b["code"].as_str()), (409, Some("conflict")));

    send(
        &server,
        &admin,
        Method::PUT,
        "/api/v1/hosts/bulk/groups",
        json!({"host_ids": [f.alpha.id, f.bravo.id], "group_ids": [prod]}),
    )
    .await;
    let (s, b) = get(&server, &admin, &format!("/api/v1/host-groups/{prod}")).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["host_count"], 2);
    assert_eq!(names(&b, "hosts"), ["alpha", "Bravo"]);
    assert_eq!(b["hosts"][0]["effective_status"], "active");

    let (s, b) = send(
        &server,
        &admin,
        Method::PUT,
        &format!("/api/v1/host-groups/{prod}"),
        json!({"name": "production", "color": "#ff0000", "description": ""}),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["name"], "production");
    assert_eq!(b["color"], "#ff0000");
    assert_eq!(b["description"], Value::Null);
    let (s, b) = get(&server, &admin, "/api/v1/host-groups").await;
    assert_eq!(s, 200);
    assert_eq!(b["groups"][0]["host_count"], 2);

    let (s, b) = send(
        &server,
        &admin,
        Method::DELETE,
        &format!("/api/v1/host-groups/{prod}"),
        json!({}),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["hosts_detached"], 2);
    let (s, _) = get(&server, &admin, &format!("/api/v1/host-groups/{prod}")).await;
    assert_eq!(s, 404);
    let (_, b) = get(&server, &admin, "/api/v1/hosts").await;
    assert_eq!(b["pagination"]["total"], 3, "hosts stay");
    assert!(
        b["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["groups"] == json!([]))
    );
    let (s, _) = send(
        &server,
        &admin,
        Method::PUT,
        &format!("/api/v1/host-groups/{}", Uuid::new_v4()),
        json!({"name": "z"}),
    )
    .await;
    assert_eq!(s, 404);
    let (s, _) = send(
        &server,
        &admin,
        Method::DELETE,
        &format!("/api/v1/host-groups/{}", Uuid::new_v4()),
        json!({}),
    )
    .await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn packages_and_repositories_across_the_fleet() {
    let server = TestServer::start().await;
    let admin = setup_admin(&server).await;
    let f = fleet(&server).await;
    let (s, b) = get(&server, &admin, "/api/v1/packages").await;
    assert_eq!(s, 200, "{b}");
    let list = b["packages"].as_array().unwrap();
    let by = |n: &str| list.iter().find(|p| p["name"] == n).unwrap().clone();
    assert_eq!(list.len(), 5, "{b}");
    assert_eq!(by("curl")["hosts"], 2);
    assert_eq!(by("curl")["outdated_hosts"], 1);
    assert_eq!(by("curl")["security_hosts"], 1);
    assert_eq!(by("curl")["is_security_update"], true);
    assert_eq!(by("curl")["latest_version"], "7.88.1-10+deb12u5");
    assert_eq!(by("bash")["hosts"], 2);
    assert_eq!(by("bash")["outdated_hosts"], 0);
    assert_eq!(by("vim")["is_security_update"], false);

    let pn = |q: &'static str| {
        let server = &server;
        let admin = &admin;
        async move {
            let (s, b) = get(server, admin, &format!("/api/v1/packages?{q}")).await;
            assert_eq!(s, 200, "{q}: {b}");
            let v: Vec<String> = b["packages"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["name"].as_str().unwrap().to_owned())
                .collect();
            (v, b)
        }
    };
    assert_eq!(pn("needs_update=true").await.0, ["curl", "openssl", "vim"]);
    assert_eq!(pn("security=true").await.0, ["curl", "openssl"]);
    assert_eq!(pn("needs_update=false").await.0, ["bash", "zlib1g"]);
    assert_eq!(pn("search=LIB").await.0, ["zlib1g"]);
    assert_eq!(
        pn("sort=hosts&order=desc&limit=3").await.0,
        ["bash", "curl", "zlib1g"]
    );
    let (v, b) = pn("limit=2&page=3").await;
    assert_eq!(v, ["zlib1g"]);
    assert_eq!(b["pagination"]["total"], 5);
    // The total covers every page (filtered), also past the last one.
    let (v, b) = pn("needs_update=true&limit=2").await;
    assert_eq!((v.len(), &b["pagination"]["total"]), (2, &json!(3)));
    let (v, b) = pn("limit=2&page=9").await;
    assert_eq!((v.len(), &b["pagination"]["total"]), (0, &json!(5)));
    let (s, _) = get(&server, &admin, "/api/v1/packages?sort=size").await;
    assert_eq!(s, 400);

    // Package detail: which hosts, which versions, which need the update.
    let curl = by("curl")["id"].as_str().unwrap().to_owned();
    let (s, d) = get(&server, &admin, &format!("/api/v1/packages/{curl}")).await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(d["name"], "curl");
    assert_eq!(d["hosts"], 2);
    let versions = d["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert!(versions.iter().all(|v| v["hosts"] == 1));
    let inst = d["installations"].as_array().unwrap();
    assert_eq!(inst.len(), 2);
    assert_eq!(inst[0]["friendly_name"], "alpha", "outdated first");
    assert_eq!(inst[0]["needs_update"], true);
    assert_eq!(inst[0]["current_version"], "7.88.1-10+deb12u4");
    assert_eq!(inst[0]["available_version"], "7.88.1-10+deb12u5");
    assert_eq!(inst[1]["friendly_name"], "Bravo");
    assert_eq!(inst[1]["needs_update"], false);
    let (_, d) = get(
        &server,
        &admin,
        &format!("/api/v1/packages/{curl}?needs_update=true"),
    )
    .await;
    assert_eq!(d["installations"].as_array().unwrap().len(), 1);
    assert_eq!(d["pagination"]["total"], 1);
    let (s, _) = get(
        &server,
        &admin,
        &format!("/api/v1/packages/{}", Uuid::new_v4()),
    )
    .await;
    assert_eq!(s, 404);

    // Repositories.
    let (s, b) = get(&server, &admin, "/api/v1/repositories").await;
    assert_eq!(s, 200, "{b}");
    let repos = b["repositories"].as_array().unwrap();
    assert_eq!(repos.len(), 2);
    assert!(
        repos
            .iter()
            .all(|r| r["hosts"] == 2 && r["enabled_hosts"] == 2)
    );
    assert_eq!(repos[0]["is_active"], true);
    let (_, b) = get(&server, &admin, "/api/v1/repositories?search=security").await;
    assert_eq!(b["repositories"].as_array().unwrap().len(), 1);
    let (_, b) = get(&server, &admin, "/api/v1/repositories?is_secure=true").await;
    assert_eq!(
        b["repositories"].as_array().unwrap().len(),
        0,
        "both are http"
    );
    let id = repos[0]["id"].as_str().unwrap();
    let (s, d) = get(&server, &admin, &format!("/api/v1/repositories/{id}")).await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(d["hosts"], 2);
    assert_eq!(names(&d, "host_list"), ["alpha", "Bravo"]);
    let (s, _) = get(
        &server,
        &admin,
        &format!("/api/v1/repositories/{}", Uuid::new_v4()),
    )
    .await;
    assert_eq!(s, 404);
    let _ = f.charlie;
}

#[tokio::test]
async fn dashboard_numbers_trends_and_layout() {
    let server = TestServer::start().await;
    let admin = setup_admin(&server).await;
    let _f = fleet(&server).await;
    let (s, b) = get(&server, &admin, "/api/v1/dashboard/stats").await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["total_hosts"], 3);
    assert_eq!(b["hosts_needing_updates"], 1);
    assert_eq!(b["hosts_with_security_updates"], 1);
    assert_eq!(b["up_to_date_hosts"], 1);
    assert_eq!(b["awaiting_data_hosts"], 1);
    assert_eq!(b["reboot_required_hosts"], 1);
    assert_eq!(b["pending_hosts"], 1);
    assert_eq!(b["inactive_hosts"], 0);
    assert_eq!(b["offline_hosts"], 0);
    assert_eq!(b["total_outdated_packages"], 3);
    assert_eq!(b["security_updates"], 2);
    assert_eq!(b["total_repos"], 2);
    assert_eq!(b["recent_updates_24h"], 2);
    assert_eq!(b["connected_agents"], 0);
    assert_eq!(
        b["os_distribution"],
        json!([
            {"os_type": "Debian GNU/Linux", "os_version": "12 (bookworm)", "name": "Debian GNU/Linux 12 (bookworm)", "count": 1},
            {"os_type": "Ubuntu", "os_version": "24.04", "name": "Ubuntu 24.04", "count": 1}
        ])
    );
    let versions = b["agent_versions"].as_array().unwrap();
    assert_eq!(versions.len(), 3, "{versions:?}");
    assert!(versions.contains(&json!({"version": null, "count": 1})));
    assert!(versions.contains(&json!({"version": "2.2.0", "count": 1})));

    // Trends from snapshots.
    let now = server.state.now();
    for (i, total) in [(40i64, 1i64), (3, 2), (1, 3)] {
        patchmon_server::with_db!(server.db(), p => sqlx::query(
            "INSERT INTO system_statistics (id, timestamp, total_hosts, hosts_needing_updates, security_updates, \
             total_outdated_packages, up_to_date_hosts, offline_hosts) VALUES ($1, $2, $3, 1, 1, 1, 1, 0)")
            .bind(Uuid::new_v4()).bind(now - chrono::Duration::days(i)).bind(total).execute(p).await.map(|_| ())).unwrap();
    }
    let (s, b) = get(&server, &admin, "/api/v1/dashboard/trends?days=7").await;
    assert_eq!(s, 200, "{b}");
    let totals: Vec<i64> = b["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["total_hosts"].as_i64().unwrap())
        .collect();
    assert_eq!(totals, [2, 3], "oldest first, within the window");
    let (_, b) = get(&server, &admin, "/api/v1/dashboard/trends").await;
    assert_eq!(b["days"], 30);
    assert_eq!(b["points"].as_array().unwrap().len(), 2);
    for bad in ["days=0", "days=366", "days=x"] {
        let (s, _) = get(&server, &admin, &format!("/api/v1/dashboard/trends?{bad}")).await;
        assert_eq!(s, 400, "{bad}");
    }

    // Card layout, per user.
    let (s, b) = get(&server, &admin, "/api/v1/dashboard-preferences").await;
    assert_eq!(s, 200);
    assert_eq!(b["layout"], json!([]));
    let layout = json!([{"card_id": "total_hosts", "enabled": true, "order": 0, "col_span": 2},
                        {"card_id": "os_distribution", "enabled": false, "order": 1}]);
    let (s, b) = send(
        &server,
        &admin,
        Method::PUT,
        "/api/v1/dashboard-preferences",
        json!({"layout": layout}),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let (_, b) = get(&server, &admin, "/api/v1/dashboard-preferences").await;
    assert_eq!(b["layout"], layout);
    create_user(&server, &admin, "viewer", "readonly").await;
    let viewer = token_of(&server, "viewer", USER_PW).await;
    let (_, b) = get(&server, &viewer, "/api/v1/dashboard-preferences").await;
    assert_eq!(b["layout"], json!([]), "per user");
    for bad in [
        json!({}),
        json!({"layout": [{"card_id": "a", "enabled": true, "order": 0}, {"card_id": "a", "enabled": true, "order": 1}]}),
        json!({"layout": [{"card_id": "", "enabled": true, "order": 0}]}),
        json!({"layout": [{"card_id": "a", "enabled": true, "order": 0, "col_span": 9}]}),
        json!({"layout": [{"card_id": "a", "enabled": "yes", "order": 0}]}),
    ] {
        let (s, _) = send(
            &server,
            &admin,
            Method::PUT,
            "/api/v1/dashboard-preferences",
            bad.clone(),
        )
        .await;
        assert_eq!(s, 400, "{bad}");
    }
}

#[tokio::test]
async fn saved_host_views_are_per_user() {
    let server = TestServer::start().await;
    let admin = setup_admin(&server).await;
    let view = json!({"name": "Outdated", "columns": ["friendly_name", "os", "updates"], "sort": "updates",
                      "order": "desc", "filters": {"needs_updates": "true"}, "is_default": true});
    let (s, b) = send(
        &server,
        &admin,
        Method::POST,
        "/api/v1/hosts/views",
        view.clone(),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["order"], "desc");
    assert_eq!(b["filters"], json!({"needs_updates": "true"}));
    let first = b["id"].as_str().unwrap().to_owned();
    let (s, _) = send(
        &server,
        &admin,
        Method::POST,
        "/api/v1/hosts/views",
        view.clone(),
    )
    .await;
    assert_eq!(s, 409, "same name");
    let (s, b) = send(
        &server,
        &admin,
        Method::POST,
        "/api/v1/hosts/views",
        json!({"name": "All", "columns": [], "is_default": true}),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let (_, b) = get(&server, &admin, "/api/v1/hosts/views").await;
    let views = b["views"].as_array().unwrap();
    assert_eq!(views.len(), 2);
    assert_eq!(
        views.iter().filter(|v| v["is_default"] == true).count(),
        1,
        "one default"
    );
    let (s, b) = send(
        &server,
        &admin,
        Method::PUT,
        &format!("/api/v1/hosts/views/{first}"),
        json!({"name": "Renamed", "columns": ["ip"]}),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["name"], "Renamed");
    for bad in [
        json!({"name": ""}),
        json!({"name": "x", "filters": []}),
        json!({"name": "x", "order": "up"}),
    ] {
        let (s, _) = send(
            &server,
            &admin,
            Method::POST,
            "/api/v1/hosts/views",
            bad.clone(),
        )
        .await;
        assert_eq!(s, 400, "{bad}");
    }
    create_user(&server, &admin, "other", "readonly").await;
    let other = token_of(&server, "other", USER_PW).await;
    let (_, b) = get(&server, &other, "/api/v1/hosts/views").await;
    assert_eq!(b["views"], json!([]));
    let (s, _) = send(
        &server,
        &other,
        Method::DELETE,
        &format!("/api/v1/hosts/views/{first}"),
        json!({}),
    )
    .await;
    assert_eq!(s, 404, "not theirs");
    let (s, _) = send(
        &server,
        &admin,
        Method::DELETE,
        &format!("/api/v1/hosts/views/{first}"),
        json!({}),
    )
    .await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn settings_validate_and_push_the_interval_to_agents() {
    let server = TestServer::start().await;
    let admin = setup_admin(&server).await;
    let h = host_with_report(&server, "agent-1").await;
    let mut ws = ws_connect(&server, &h).await;

    let (s, b) = get(&server, &admin, "/api/v1/settings").await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["update_interval"], 60);
    assert_eq!(b["branding_name"], "PatchMon");
    assert_eq!(b["has_logo"], false);

    let (s, b) = send(
        &server,
        &admin,
        Method::PUT,
        "/api/v1/settings",
        json!({"server_protocol": "https", "server_host": "patch.example.com", "server_port": 443,
               "update_interval": 15, "auto_update": true, "branding_name": "Acme Patching"}),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["server_url"], "https://patch.example.com");
    assert_eq!(b["update_interval"], 15);
    assert_eq!(b["auto_update"], true);
    assert_eq!(b["agents_notified"], 1);
    match next_message(&mut ws).await {
        Some(Message::Text(t)) => {
            let m: Value = serde_json::from_str(&t).unwrap();
            assert_eq!(m, json!({"type": "settings_update", "update_interval": 15}));
        }
        other => panic!("expected settings_update, got {other:?}"),
    }
    // The agents' own endpoint agrees.
    let r = client()
        .get(format!("{}/api/v1/settings/update-interval", server.url()))
        .header("X-API-ID", &h.api_id)
        .header("X-API-KEY", &h.api_key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["updateInterval"], 15);
    // Unchanged interval: no push.
    let (_, b) = send(
        &server,
        &admin,
        Method::PUT,
        "/api/v1/settings",
        json!({"update_interval": 15, "server_port": 8443}),
    )
    .await;
    assert!(b.get("agents_notified").is_none(), "{b}");
    assert_eq!(b["server_url"], "https://patch.example.com:8443");
    let stored: Option<String> = patchmon_server::with_db!(server.db(), p =>
        sqlx::query_scalar("SELECT server_url FROM settings WHERE id = 1").fetch_one(p).await)
    .unwrap();
    assert_eq!(stored.as_deref(), Some("https://patch.example.com:8443"));

    for bad in [
        json!({"update_interval": 4}),
        json!({"update_interval": 1441}),
        json!({"update_interval": "60"}),
        json!({"server_protocol": "ftp"}),
        json!({"server_host": "https://x.example"}),
        json!({"server_host": "a b"}),
        json!({"server_port": 0}),
        json!({"server_port": 70000}),
        json!({"branding_name": ""}),
        json!({"unknown_knob": 1}),
    ] {
        let (s, b) = send(
            &server,
            &admin,
            Method::PUT,
            "/api/v1/settings",
            bad.clone(),
        )
        .await;
        assert_eq!(
            (s.as_u16(), b["code"].as_str()),
            (400, Some("bad_request")),
            "{bad}: {b}"
        );
    }
    let (_, b) = get(&server, &admin, "/api/v1/settings").await;
    assert_eq!(b["update_interval"], 15, "rejected updates change nothing");

    // Readonly users cannot read or change settings.
    create_user(&server, &admin, "reader", "readonly").await;
    let ro = token_of(&server, "reader", USER_PW).await;
    let (s, _) = get(&server, &ro, "/api/v1/settings").await;
    assert_eq!(s, 403);

    // Logo: PNG accepted, public GET, mime mismatch / SVG / too large refused.
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDRfake-but-signed".to_vec();
    let put_logo = |ctype: &'static str, body: Vec<u8>| {
        let server = &server;
        let admin = admin.clone();
        async move {
            let r = client()
                .put(format!("{}/api/v1/settings/logo", server.url()))
                .bearer_auth(admin)
                .header("Content-Type", ctype)
                .body(body)
                .send()
                .await
                .unwrap();
            let s = r.status();
            (s, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (s, b) = put_logo("image/png", png.clone()).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["has_logo"], true);
    let r = client()
        .get(format!("{}/api/v1/settings/logo", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert_eq!(r.bytes().await.unwrap().to_vec(), png);
    let r = client()
        .get(format!("{}/api/v1/settings/branding", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.json::<Value>().await.unwrap()["branding_name"],
        "Acme Patching"
    );
    assert_eq!(put_logo("image/jpeg", png.clone()).await.0, 400, "mismatch");
    assert_eq!(put_logo("image/svg+xml", b"<svg/>".to_vec()).await.0, 400);
    assert_eq!(put_logo("image/png", b"not an image".to_vec()).await.0, 400);
    let mut big = png.clone();
    big.resize(600 * 1024, 0);
    let (s, b) = put_logo("image/png", big).await;
    assert_eq!(
        (s.as_u16(), b["code"].as_str()),
        (413, Some("payload_too_large"))
    );
    let (s, _) = send(
        &server,
        &admin,
        Method::DELETE,
        "/api/v1/settings/logo",
        json!({}),
    )
    .await;
    assert_eq!(s, 200);
    let r = client()
        .get(format!("{}/api/v1/settings/logo", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn exports_need_the_export_permission() {
    let server = TestServer::start().await;
    let admin = setup_admin(&server).await;
    let _f = fleet(&server).await;
    // A name that would be a spreadsheet formula, and one with a comma.
    let h = server.create_host("=HYPERLINK(\"x\")").await;
    let _ = h;
    let r = client()
        .get(format!(
            "{}/api/v1/hosts/export?format=csv&sort=friendly_name",
            server.url()
        ))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"hosts-")
    );
    let text = r.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    assert!(lines[0].starts_with("id,friendly_name,hostname,ip,os_type"));
    assert!(
        lines[1].starts_with(&format!("{},\"'=HYPERLINK(\"\"x\"\")\"", h.id)),
        "{}",
        lines[1]
    );
    let alpha: Vec<&str> = lines[2].split(',').collect();
    assert_eq!(alpha[1], "alpha");
    assert_eq!(alpha[10..13], ["5", "3", "2"]);

    let r = client()
        .get(format!(
            "{}/api/v1/hosts/export?format=json&needs_updates=true",
            server.url()
        ))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    let b: Value = r.json().await.unwrap();
    assert_eq!(names(&b, "hosts"), ["alpha"]);
    let r = client()
        .get(format!(
            "{}/api/v1/packages/export?format=csv&security=true",
            server.url()
        ))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert_eq!(text.lines().count(), 3, "{text}");
    let (s, _) = get(&server, &admin, "/api/v1/hosts/export?format=xml").await;
    assert_eq!(s, 400);

    create_user(&server, &admin, "reader", "readonly").await;
    let ro = token_of(&server, "reader", USER_PW).await;
    let (s, b) = get(&server, &ro, "/api/v1/hosts/export").await;
    assert_eq!(
        (s.as_u16(), b["error"].as_str()),
        (403, Some("Insufficient permissions"))
    );
    create_user(&server, &admin, "plain", "user").await;
    let user = token_of(&server, "plain", USER_PW).await;
    let (s, _) = get(&server, &user, "/api/v1/hosts/export?format=json").await;
    assert_eq!(s, 200, "the user role may export");
}

#[tokio::test]
async fn host_group_scope_applies_everywhere() {
    let server = TestServer::start().await;
    let sa = setup_admin(&server).await;
    let f = fleet(&server).await;
    let web = new_group(&server, &sa, "web", "#00AA00").await;
    let other = new_group(&server, &sa, "other", "#AA0000").await;
    send(
        &server,
        &sa,
        Method::PUT,
        &format!("/api/v1/hosts/{}/groups", f.bravo.id),
        json!({"group_ids": [web]}),
    )
    .await;
    send(
        &server,
        &sa,
        Method::PUT,
        &format!("/api/v1/hosts/{}/groups", f.alpha.id),
        json!({"group_ids": [other]}),
    )
    .await;
    let (s, b) = send(
        &server,
        &sa,
        Method::PUT,
        "/api/v1/permissions/roles/web_team",
        json!({"can_view_dashboard": true, "can_view_hosts": true, "can_manage_hosts": true,
               "can_view_packages": true, "can_export_data": true, "host_group_ids": [web]}),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    create_user(&server, &sa, "webber", "web_team").await;
    let t = token_of(&server, "webber", USER_PW).await;

    let (_, b) = get(&server, &t, "/api/v1/hosts").await;
    assert_eq!(names(&b, "hosts"), ["Bravo"]);
    assert_eq!(b["pagination"]["total"], 1);
    let (_, b) = get(&server, &t, "/api/v1/hosts?needs_updates=true").await;
    assert!(names(&b, "hosts").is_empty(), "alpha is outside the scope");
    for path in [
        format!("/api/v1/hosts/{}", f.alpha.id),
        format!("/api/v1/hosts/{}/packages", f.alpha.id),
        format!("/api/v1/hosts/{}/repositories", f.alpha.id),
        format!("/api/v1/hosts/{}/history", f.charlie.id),
        format!("/api/v1/host-groups/{other}"),
    ] {
        let (s, b) = get(&server, &t, &path).await;
        assert_eq!(s, 404, "{path}: {b}");
    }
    for (m, path, body) in [
        (
            Method::PATCH,
            format!("/api/v1/hosts/{}/friendly-name", f.alpha.id),
            json!({"friendly_name": "x"}),
        ),
        (
            Method::PATCH,
            format!("/api/v1/hosts/{}/notes", f.alpha.id),
            json!({"notes": "x"}),
        ),
        (
            Method::PUT,
            format!("/api/v1/hosts/{}/groups", f.alpha.id),
            json!({"group_ids": [web]}),
        ),
        (
            Method::DELETE,
            format!("/api/v1/hosts/{}", f.alpha.id),
            json!({}),
        ),
        (
            Method::POST,
            format!("/api/v1/hosts/{}/regenerate-credentials", f.alpha.id),
            json!({}),
        ),
        (
            Method::PUT,
            "/api/v1/hosts/bulk/groups".to_owned(),
            json!({"host_ids": [f.alpha.id, f.bravo.id], "group_ids": [web]}),
        ),
        (
            Method::PUT,
            format!("/api/v1/host-groups/{other}"),
            json!({"name": "mine"}),
        ),
        (
            Method::DELETE,
            format!("/api/v1/host-groups/{other}"),
            json!({}),
        ),
    ] {
        let (s, b) = send(&server, &t, m.clone(), &path, body).await;
        assert_eq!(s, 404, "{m} {path}: {b}");
    }
    let (s, _) = get(&server, &t, &format!("/api/v1/hosts/{}", f.bravo.id)).await;
    assert_eq!(s, 200);
    // Moving its own host out of its scope, or into a foreign group, is refused.
    let (s, _) = send(
        &server,
        &t,
        Method::PUT,
        &format!("/api/v1/hosts/{}/groups", f.bravo.id),
        json!({"group_ids": []}),
    )
    .await;
    assert_eq!(s, 400);
    let (s, _) = send(
        &server,
        &t,
        Method::PUT,
        &format!("/api/v1/hosts/{}/groups", f.bravo.id),
        json!({"group_ids": [web, other]}),
    )
    .await;
    assert_eq!(s, 400);
    let (s, _) = send(
        &server,
        &t,
        Method::POST,
        "/api/v1/host-groups",
        json!({"name": "new"}),
    )
    .await;
    assert_eq!(s, 403);
    // Creating a host needs one of the scope's groups.
    let (s, _) = send(
        &server,
        &t,
        Method::POST,
        "/api/v1/hosts",
        json!({"friendly_name": "n"}),
    )
    .await;
    assert_eq!(s, 400);
    let (s, b) = send(
        &server,
        &t,
        Method::POST,
        "/api/v1/hosts",
        json!({"friendly_name": "n", "group_ids": [web]}),
    )
    .await;
    assert_eq!(s, 201, "{b}");

    let (_, b) = get(&server, &t, "/api/v1/host-groups").await;
    assert_eq!(b["groups"].as_array().unwrap().len(), 1);
    assert_eq!(b["groups"][0]["host_count"], 2);

    // Packages and repositories count only visible hosts.
    let (_, b) = get(&server, &t, "/api/v1/packages").await;
    let list = b["packages"].as_array().unwrap();
    assert_eq!(list.len(), 3, "bravo's packages only: {b}");
    assert!(
        list.iter()
            .all(|p| p["hosts"] == 1 && p["outdated_hosts"] == 0)
    );
    let (_, b) = get(&server, &t, "/api/v1/packages?needs_update=true").await;
    assert_eq!(b["packages"], json!([]));
    let (_, sa_pk) = get(&server, &sa, "/api/v1/packages?search=openssl").await;
    let openssl = sa_pk["packages"][0]["id"].as_str().unwrap().to_owned();
    let (s, _) = get(&server, &t, &format!("/api/v1/packages/{openssl}")).await;
    assert_eq!(s, 404, "installed only outside the scope");
    let (_, b) = get(&server, &t, "/api/v1/repositories").await;
    assert!(
        b["repositories"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["hosts"] == 1)
    );
    let id = b["repositories"][0]["id"].as_str().unwrap();
    let (_, d) = get(&server, &t, &format!("/api/v1/repositories/{id}")).await;
    assert_eq!(names(&d, "host_list"), ["Bravo"]);

    // Dashboard and export.
    let (_, b) = get(&server, &t, "/api/v1/dashboard/stats").await;
    assert_eq!(b["total_hosts"], 2);
    assert_eq!(b["hosts_needing_updates"], 0);
    assert_eq!(b["total_outdated_packages"], 0);
    assert_eq!(b["awaiting_data_hosts"], 1);
    assert_eq!(b["recent_updates_24h"], 1);
    assert_eq!(b["os_distribution"].as_array().unwrap().len(), 1);
    let (_, b) = get(&server, &t, "/api/v1/dashboard/trends").await;
    assert_eq!(b["scoped"], true);
    assert_eq!(b["points"], json!([]));
    let (_, b) = get(&server, &t, "/api/v1/hosts/export?format=json").await;
    assert_eq!(names(&b, "hosts"), ["Bravo", "n"]);

    // The role's only scope group cannot be deleted (the role would see everything).
    let (s, b) = send(
        &server,
        &sa,
        Method::DELETE,
        &format!("/api/v1/host-groups/{web}"),
        json!({}),
    )
    .await;
    assert_eq!(s, 409, "{b}");
}

/// Seeds `hosts` hosts with `per_host` packages each (of 1,000 distinct), in
/// 20 groups, straight through SQL. Used by the ignored timing run below.
pub(crate) async fn seed_fleet(server: &TestServer, hosts: i64) {
    let pg = server.db().is_postgres();
    let (new_id, temp) = if pg {
        ("gen_random_uuid()", "CREATE TEMP TABLE")
    } else {
        ("randomblob(16)", "CREATE TEMP TABLE")
    };
    let now = server.state.now();
    let stmts: Vec<String> = vec![
        format!("{temp} bench_h (num BIGINT PRIMARY KEY, id {})", if pg { "UUID" } else { "BLOB" }),
        format!("{temp} bench_p (num BIGINT PRIMARY KEY, id {})", if pg { "UUID" } else { "BLOB" }),
        format!("{temp} bench_g (num BIGINT PRIMARY KEY, id {})", if pg { "UUID" } else { "BLOB" }),
        format!("INSERT INTO bench_h (num, id) WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {}) SELECT i, {new_id} FROM n", hosts - 1),
        format!("INSERT INTO bench_p (num, id) WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 999) SELECT i, {new_id} FROM n"),
        format!("INSERT INTO bench_g (num, id) WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 19) SELECT i, {new_id} FROM n"),
        "INSERT INTO host_groups (id, name, color, created_at, updated_at) SELECT id, 'group-' || num, '#3B82F6', $1, $1 FROM bench_g".into(),
        "INSERT INTO packages (id, name, description, created_at, updated_at) SELECT id, 'pkg-' || num, 'benchmark package', $1, $1 FROM bench_p".into(),
        "INSERT INTO hosts (id, api_id, api_key_hash, friendly_name, hostname, ip, os_type, os_version, agent_version, \
         status, needs_reboot, last_update, created_at, updated_at) \
         SELECT id, 'patchmon_bench_' || num, 'x', 'host-' || num, 'host-' || num || '.example.com', '10.' || (num / 256) || '.' || (num % 256) || '.1', \
         CASE num % 4 WHEN 0 THEN 'Ubuntu' WHEN 1 THEN 'Debian GNU/Linux' WHEN 2 THEN 'Rocky Linux' ELSE 'Alpine Linux' END, \
         CASE num % 3 WHEN 0 THEN '22.04' WHEN 1 THEN '24.04' ELSE '12' END, '2.1.' || (num % 5), \
         CASE WHEN num % 50 = 0 THEN 'pending' ELSE 'active' END, (num % 17 = 0), $1, $1, $1 FROM bench_h".into(),
        "INSERT INTO host_group_memberships (host_id, host_group_id, created_at) SELECT h.id, g.id, $1 FROM bench_h h JOIN bench_g g ON g.num = h.num % 20".into(),
        "INSERT INTO host_packages (host_id, package_id, current_version, available_version, needs_update, is_security_update, updated_at) \
         SELECT h.id, p.id, '1.0-' || (h.num % 3), CASE WHEN (p.num / 10 + h.num) % 10 = 0 THEN '1.1' END, \
         ((p.num / 10 + h.num) % 10 = 0), ((p.num / 10 + h.num) % 30 = 0), $1 \
         FROM bench_h h JOIN bench_p p ON p.num % 10 = h.num % 10".into(),
        "UPDATE hosts SET pkg_total = (SELECT COUNT(*) FROM host_packages hp WHERE hp.host_id = hosts.id), \
         pkg_outdated = (SELECT COUNT(*) FROM host_packages hp WHERE hp.host_id = hosts.id AND hp.needs_update), \
         pkg_security = (SELECT COUNT(*) FROM host_packages hp WHERE hp.host_id = hosts.id AND hp.needs_update AND hp.is_security_update)".into(),
    ];
    let started = std::time::Instant::now();
    patchmon_server::with_db!(server.db(), p => {
        let mut tx = p.begin().await.unwrap();
        for s in &stmts {
            sqlx::query(sqlx::AssertSqlSafe(s.clone())).bind(now).execute(&mut *tx).await
                .unwrap_or_else(|e| panic!("{s}: {e}"));
        }
        tx.commit().await.unwrap();
        let an = "ANALYZE";
        sqlx::query(an).execute(p).await.unwrap();
    });
    println!(
        "seeded {hosts} hosts x 100 packages on {} in {:.1} s",
        server.db().dialect(),
        started.elapsed().as_secs_f64()
    );
}

/// Timing run, not a test of speed (nothing timed is asserted):
/// `cargo test --release -p patchmon-server --test it fleet_timings -- --ignored --nocapture`
#[tokio::test]
#[ignore = "timing run; seeds 10,000 hosts"]
async fn fleet_timings_10k_hosts() {
    let hosts: i64 = std::env::var("FLEET_BENCH_HOSTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let server = TestServer::start().await;
    let admin = setup_admin(&server).await;
    seed_fleet(&server, hosts).await;
    let (s, b) = get(&server, &admin, "/api/v1/hosts?limit=1").await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["pagination"]["total"], hosts);
    let g: String = {
        let (_, b) = get(&server, &admin, "/api/v1/host-groups").await;
        b["groups"][0]["id"].as_str().unwrap().to_owned()
    };
    let (s, _) = send(&server, &admin, Method::PUT, "/api/v1/permissions/roles/bench_scoped",
        json!({"can_view_dashboard": true, "can_view_hosts": true, "can_view_packages": true, "host_group_ids": [g]})).await;
    assert_eq!(s, 200);
    create_user(&server, &admin, "scoped", "bench_scoped").await;
    let scoped = token_of(&server, "scoped", USER_PW).await;
    let (_, b) = get(&server, &admin, "/api/v1/packages?limit=1").await;
    let pkg = b["packages"][0]["id"].as_str().unwrap().to_owned();

    let cases: Vec<(&str, String, &str)> = vec![
        (
            "hosts, page 1 (50), default sort",
            "/api/v1/hosts".into(),
            "admin",
        ),
        (
            "hosts, sort=updates desc",
            "/api/v1/hosts?sort=updates&order=desc".into(),
            "admin",
        ),
        ("hosts, sort=os", "/api/v1/hosts?sort=os".into(), "admin"),
        (
            "hosts, sort=last_update desc, page 150",
            "/api/v1/hosts?sort=last_update&order=desc&page=150".into(),
            "admin",
        ),
        (
            "hosts, search=host-99",
            "/api/v1/hosts?search=host-99".into(),
            "admin",
        ),
        (
            "hosts, needs_updates + security",
            "/api/v1/hosts?needs_updates=true&security_updates=true".into(),
            "admin",
        ),
        (
            "hosts, group filter",
            format!("/api/v1/hosts?group_id={g}"),
            "admin",
        ),
        (
            "hosts, status=inactive",
            "/api/v1/hosts?status=inactive".into(),
            "admin",
        ),
        (
            "hosts, limit=1000",
            "/api/v1/hosts?limit=1000".into(),
            "admin",
        ),
        (
            "hosts, scoped role (1 of 20 groups)",
            "/api/v1/hosts".into(),
            "scoped",
        ),
        ("dashboard/stats", "/api/v1/dashboard/stats".into(), "admin"),
        (
            "dashboard/stats, scoped",
            "/api/v1/dashboard/stats".into(),
            "scoped",
        ),
        ("packages, page 1", "/api/v1/packages".into(), "admin"),
        (
            "packages, needs_update",
            "/api/v1/packages?needs_update=true&sort=outdated_hosts&order=desc".into(),
            "admin",
        ),
        ("packages, scoped", "/api/v1/packages".into(), "scoped"),
        (
            "package detail (1,000 hosts)",
            format!("/api/v1/packages/{pkg}"),
            "admin",
        ),
        ("repositories", "/api/v1/repositories".into(), "admin"),
        ("host-groups", "/api/v1/host-groups".into(), "admin"),
        (
            "hosts/export json (all)",
            "/api/v1/hosts/export?format=json".into(),
            "admin",
        ),
    ];
    println!("| request | p50 ms | p95 ms | max ms |");
    println!("|---|---|---|---|");
    for (name, path, who) in cases {
        let token = if who == "admin" { &admin } else { &scoped };
        let runs = if path.contains("export") { 5 } else { 20 };
        let mut ms = Vec::new();
        for _ in 0..runs {
            let t = std::time::Instant::now();
            let r = client()
                .get(format!("{}{path}", server.url()))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{path}");
            let _ = r.bytes().await.unwrap();
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        ms.sort_by(f64::total_cmp);
        let p = |q: f64| ms[((ms.len() as f64 - 1.0) * q).round() as usize];
        println!(
            "| {name} | {:.1} | {:.1} | {:.1} |",
            p(0.5),
            p(0.95),
            ms[ms.len() - 1]
        );
    }
}

/// Integration toggles: stored, pushed to the connected agent as
/// `apply_config` (only what changed), served to the agent at start-up,
/// refused without `can_manage_hosts` and on an empty body.
#[tokio::test]
async fn host_integrations_are_stored_and_pushed_to_the_agent() {
    let server = TestServer::start().await;
    let admin = setup_admin(&server).await;
    let h = host_with_report(&server, "int-01").await;
    let id = server.host(&h.api_id).await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/v1/hosts/{id}/integrations");

    // Not connected: stored, not notified.
    let (s, b) = send(
        &server,
        &admin,
        Method::PUT,
        &path,
        json!({"auto_update": true}),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["agent_notified"], false);
    assert_eq!(b["host"]["integrations"]["auto_update"], true);

    let mut ws = super::queue::agent_ws(server.addr(), &h).await;
    assert!(
        TestServer::wait_for(Duration::from_secs(5), || async {
            server.is_connected(&h.api_id).await
        })
        .await
    );
    let (s, b) = send(
        &server,
        &admin,
        Method::PUT,
        &path,
        json!({"docker": true, "compliance": false}),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["agent_notified"], true, "{b}");
    assert_eq!(b["host"]["integrations"]["docker_enabled"], true);
    // Only docker changed (compliance was already off).
    let frame = loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => {
                let v: Value = serde_json::from_str(t.as_str()).unwrap();
                if v["type"] == "apply_config" {
                    break v;
                }
            }
            Ok(Some(Ok(_))) => continue,
            other => panic!("no apply_config: {other:?}"),
        }
    };
    assert_eq!(frame["config"], json!({"docker": true}), "{frame}");

    // What the agent reads when it starts.
    let r = client()
        .get(format!("{}/api/v1/hosts/integrations", server.url()))
        .header("X-API-ID", &h.api_id)
        .header("X-API-KEY", &h.api_key)
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["integrations"]["docker"], true, "{v}");

    let (s, b) = send(&server, &admin, Method::PUT, &path, json!({})).await;
    assert_eq!(s, 400, "{b}");
    let (s, _) = send(
        &server,
        &admin,
        Method::PUT,
        &path,
        json!({"docker": "yes"}),
    )
    .await;
    assert_eq!(s, 400);
    create_user(&server, &admin, "viewer", "readonly").await;
    let viewer = token_of(&server, "viewer", USER_PW).await;
    let (s, _) = send(
        &server,
        &viewer,
        Method::PUT,
        &path,
        json!({"docker": false}),
    )
    .await;
    assert_eq!(s, 403);
}
