//! Bad input gets a clear JSON error with the right status and changes nothing.

use serde_json::{Value, json};

use super::*;

async fn seeded() -> (TestServer, HostCredentials, Value) {
    let server = TestServer::start().await;
    let h = host_with_report(&server, "web-01").await;
    let fp = server.fingerprint().await;
    (server, h, fp)
}

fn assert_error(status: StatusCode, body: &Value, want_status: u16, code: &str, contains: &str) {
    assert_eq!(status.as_u16(), want_status, "{body}");
    assert_eq!(body["code"], code, "{body}");
    let msg = body["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error text: {body}"));
    assert!(
        msg.contains(contains),
        "{msg:?} should contain {contains:?}"
    );
}

#[tokio::test]
async fn malformed_json_and_wrong_types() {
    let (server, h, fp) = seeded().await;
    let (s, _, b) = post_raw(
        &server,
        &h,
        "/hosts/update",
        r#"{"packages": [ {"name": "x""#,
    )
    .await;
    assert_error(s, &b, 400, "bad_request", "Malformed JSON");
    let (s, _, b) = post_raw(&server, &h, "/hosts/update", r#"{"packages": "curl"}"#).await;
    assert_error(s, &b, 400, "bad_request", "Invalid request body");
    let (s, _, b) = post_raw(
        &server,
        &h,
        "/hosts/update",
        r#"{"packages": [{"name": "x", "currentVersion": 1}]}"#,
    )
    .await;
    assert_error(s, &b, 400, "bad_request", "Invalid request body");
    let (s, _, b) = post_raw(
        &server,
        &h,
        "/hosts/ping",
        r#"{"metrics": {"cpuCores": "many"}}"#,
    )
    .await;
    assert_error(s, &b, 400, "bad_request", "Invalid request body");
    let (s, b) = post_json(&server, &h, "/hosts/update", &json!({"packages": []})).await;
    assert_error(s, &b, 400, "bad_request", "Packages array is required");
    let (s, b) = post_json(
        &server,
        &h,
        "/hosts/update",
        &json!({"packages": [{"name": " ", "currentVersion": "1"}]}),
    )
    .await;
    assert_error(s, &b, 400, "bad_request", "no name");
    assert_eq!(
        server.fingerprint().await,
        fp,
        "rejected input changed the database"
    );
    let errors = server
        .history(&h.api_id)
        .await
        .into_iter()
        .filter(|r| r.1 == "error")
        .count();
    assert_eq!(
        errors, 5,
        "each rejected report leaves an error history row"
    );
}

#[tokio::test]
async fn too_many_packages_is_rejected_whole() {
    let (server, h, fp) = seeded().await;
    let pkgs: Vec<Value> = (0..10_001)
        .map(|i| package(&format!("pkg{i:05}"), "1.0", None, false))
        .collect();
    let (s, b) = post_json(&server, &h, "/hosts/update", &full_report(pkgs, vec![])).await;
    assert_error(s, &b, 400, "bad_request", "Too many packages");
    assert_eq!(server.fingerprint().await, fp);

    // 10,000 is accepted.
    let pkgs: Vec<Value> = (0..10_000)
        .map(|i| package(&format!("pkg{i:05}"), "1.0", None, false))
        .collect();
    let (s, b) = post_json(&server, &h, "/hosts/update", &full_report(pkgs, vec![])).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(server.host_package_count(&h.api_id).await, 10_000);
}

#[tokio::test]
async fn oversized_body_is_413() {
    let server = TestServer::start_with(|c| {
        c.agent_update_body_limit = 64 * 1024;
        c.agent_ping_body_limit = 1024;
    })
    .await;
    let h = server.create_host("web-01").await;
    let fp = server.fingerprint().await;
    let pkgs: Vec<Value> = (0..2_000)
        .map(|i| package(&format!("pkg{i:05}"), "1.0", None, false))
        .collect();
    let (s, _, b) = post_raw(
        &server,
        &h,
        "/hosts/update",
        serde_json::to_vec(&full_report(pkgs, vec![])).unwrap(),
    )
    .await;
    assert_error(s, &b, 413, "payload_too_large", "larger than");
    let big_ping = json!({"metrics": {"cpuModel": "x".repeat(4096)}});
    let (s, b) = post_json(&server, &h, "/hosts/ping", &big_ping).await;
    assert_error(s, &b, 413, "payload_too_large", "larger than");
    assert_eq!(server.fingerprint().await, fp);
}

#[tokio::test]
async fn credentials_are_checked() {
    let (server, h, fp) = seeded().await;
    let url = format!("{}/api/v1/hosts/update", server.url());
    let body = serde_json::to_vec(&full_report(standard_packages(), vec![])).unwrap();

    let r = client().post(&url).body(body.clone()).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "API credentials required"
    );

    let r = client()
        .post(&url)
        .header("X-API-ID", "patchmon_0000000000000000")
        .header("X-API-KEY", &h.api_key)
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"error": "Invalid API credentials", "code": "unauthorized"})
    );

    let r = client()
        .post(&url)
        .header("X-API-ID", &h.api_id)
        .header("X-API-KEY", "0".repeat(64))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "Invalid API credentials"
    );

    for path in ["/hosts/ping", "/hosts/integration-status"] {
        let r = client()
            .post(format!("{}/api/v1{path}", server.url()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{path}");
    }
    for path in [
        "/settings/update-interval",
        "/hosts/integrations",
        "/hosts/agent/version",
        "/agents/ws",
    ] {
        let r = client()
            .get(format!("{}/api/v1{path}", server.url()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{path}");
    }
    assert_eq!(server.fingerprint().await, fp);
}

#[tokio::test]
async fn partial_report_errors_change_nothing() {
    let (server, h, fp) = seeded().await;
    let cases = [
        (
            json!({"sections": ["packages"], "packages": [package("a", "1", None, false)],
                "hashes": {"packagesHash": "0".repeat(64)}}),
            "packages hash mismatch",
        ),
        (json!({"sections": ["packages"], "packages": []}), "empty"),
        (
            json!({"sections": ["repos"], "packages": [package("a", "1", None, false)]}),
            "not listed",
        ),
        (json!({"sections": ["nonsense"]}), "at least one"),
        (
            json!({"sections": ["repos"], "repositories": [repo("http://x", "y", true)],
                "hashes": {"reposHash": "f".repeat(64)}}),
            "repos hash mismatch",
        ),
    ];
    for (body, msg) in cases {
        let (s, b) = post_json(&server, &h, "/hosts/update", &body).await;
        assert_error(s, &b, 400, "bad_request", msg);
    }
    assert_eq!(server.fingerprint().await, fp);
    let hist = server.history(&h.api_id).await;
    assert_eq!(
        hist.iter()
            .filter(|r| r.0 == "partial" && r.1 == "error")
            .count(),
        5
    );
    assert!(
        hist.iter()
            .any(|r| r.2.as_deref() == Some("packages hash mismatch"))
    );
}

#[tokio::test]
async fn unknown_routes_are_json_404() {
    let server = TestServer::start().await;
    let r = client()
        .get(format!("{}/api/v1/nope", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "not_found");
    let r = client()
        .get(format!("{}/health", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["database"], "ok");
}

#[tokio::test]
async fn nul_characters_are_stripped_not_fatal() {
    let server = TestServer::start().await;
    let h = server.create_host("web-01").await;
    let mut report = full_report(standard_packages(), standard_repos());
    report["packages"][0]["description"] = json!("bad\u{0}description");
    report["packages"][1]["name"] = json!("cu\u{0}rl");
    report["hostname"] = json!("web\u{0}-01");
    let (s, b) = post_json(&server, &h, "/hosts/update", &report).await;
    assert_eq!(s, 200, "{b}");
    let names: Vec<String> = server
        .host_packages(&h.api_id)
        .await
        .into_iter()
        .map(|p| p.0)
        .collect();
    assert!(names.contains(&"curl".to_string()), "{names:?}");
    assert_eq!(server.host(&h.api_id).await.unwrap()["hostname"], "web-01");
}

#[tokio::test]
async fn browser_routes_get_the_web_app() {
    let server = TestServer::start().await;
    let get = |path: &str| client().get(format!("{}{path}", server.url())).send();
    let r = get("/").await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(r.headers()["cache-control"], "no-cache");
    let home = r.text().await.unwrap();
    assert!(home.contains("<html"), "{home}");
    if cfg!(ui_embedded) {
        // Client-side routes get the same shell; missing files are 404s.
        let r = get("/hosts/some-host").await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.text().await.unwrap(), home);
        assert_eq!(get("/assets/missing-file.js").await.unwrap().status(), 404);
        // Hashed assets referenced by index.html are cached for good.
        let asset = home
            .split('"')
            .find(|s| s.starts_with("/assets/"))
            .expect("index.html references an asset");
        let r = get(asset).await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
    } else {
        assert!(home.contains("built without the web interface"), "{home}");
        assert_eq!(get("/hosts").await.unwrap().status(), 404);
    }
}

/// `UI_DIR` serves a web app from disk with the embedded copy's rules, and
/// no request path leaves that directory.
#[tokio::test]
async fn ui_dir_serves_the_app_from_disk_and_stays_inside() {
    let root = tempfile::tempdir().unwrap();
    let ui = root.path().join("dist");
    std::fs::create_dir_all(ui.join("assets")).unwrap();
    std::fs::write(ui.join("index.html"), "<html>from disk</html>").unwrap();
    std::fs::write(ui.join("assets/app-1234.js"), "console.log(1)").unwrap();
    std::fs::write(root.path().join("secret.txt"), "outside").unwrap();
    let dir = ui.clone();
    let server = TestServer::start_with(move |c| c.ui_dir = Some(dir)).await;
    let get = |path: &str| client().get(format!("{}{path}", server.url())).send();

    let r = get("/hosts/abc").await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-cache");
    assert_eq!(r.text().await.unwrap(), "<html>from disk</html>");
    let r = get("/assets/app-1234.js").await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert_eq!(
        r.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(get("/assets/gone.js").await.unwrap().status(), 404);
    // reqwest would normalise `..`, so send the raw request line.
    for raw in [
        "/../secret.txt",
        "/assets/../../secret.txt",
        "/%2e%2e/secret.txt",
    ] {
        let mut s = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        s.write_all(
            format!("GET {raw} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        assert!(!out.contains("outside"), "{raw} escaped UI_DIR: {out}");
        assert!(out.starts_with("HTTP/1.1 404"), "{raw}: {out}");
    }
    // API paths are never the web app.
    assert_eq!(get("/api/v1/nothing").await.unwrap().status(), 404);
}

/// The server's own layer stack turns a panicking handler into a JSON 500;
/// the router (and so the process) keeps serving.
#[tokio::test]
async fn a_panicking_handler_answers_500_and_the_server_goes_on() {
    use axum::body::{Body, to_bytes};
    use axum::routing::get;
    use tower::ServiceExt;

    async fn boom() -> &'static str {
        panic!("handler bug")
    }
    let server = TestServer::start().await;
    let router = patchmon_server::with_layers(
        axum::Router::new()
            .route("/boom", get(boom))
            .route("/fine", get(|| async { "fine" })),
    )
    .with_state(server.state.clone());
    for (path, want) in [
        ("/boom", 500),
        ("/fine", 200),
        ("/boom", 500),
        ("/fine", 200),
    ] {
        let req = axum::http::Request::get(path).body(Body::empty()).unwrap();
        let res = router.clone().oneshot(req).await.unwrap();
        assert_eq!(res.status().as_u16(), want, "{path}");
        let body = to_bytes(res.into_body(), 1 << 16).await.unwrap();
        if want == 500 {
            let v: Value = serde_json::from_slice(&body).unwrap();
            assert_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                &v,
                500,
                "internal_error",
                "Internal server error",
            );
        } else {
            assert_eq!(&body[..], b"fine");
        }
    }
}
