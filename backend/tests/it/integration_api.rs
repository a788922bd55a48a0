//! The scoped integration API (`/api/v1/api/hosts…`, HTTP Basic), the
//! GetHomepage endpoints and our Ansible dynamic inventory run by the real
//! `ansible-inventory`.

use std::sync::Arc;

use chrono::{Duration, Utc};
use patchmon_server::clock::ManualClock;
use patchmon_server::with_db;
use reqwest::Method;

use super::auth::setup_admin;
use super::enroll::create_token;
use super::*;

async fn get_basic(server: &TestServer, path: &str, user: &str, pass: &str) -> (StatusCode, Value) {
    let r = client()
        .get(format!("{}{path}", server.url()))
        .basic_auth(user, Some(pass))
        .send()
        .await
        .unwrap();
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn group(server: &TestServer, name: &str, hosts: &[Uuid]) -> Uuid {
    let id = Uuid::new_v4();
    let now = Utc::now();
    with_db!(server.db(), p => {
        sqlx::query("INSERT INTO host_groups (id, name, color, created_at, updated_at) VALUES ($1, $2, '#3B82F6', $3, $3)")
            .bind(id).bind(name).bind(now).execute(p).await.unwrap();
        for h in hosts {
            sqlx::query("INSERT INTO host_group_memberships (host_id, host_group_id, created_at) VALUES ($1, $2, $3)")
                .bind(h).bind(id).bind(now).execute(p).await.unwrap();
        }
    });
    id
}

/// Two reporting hosts in groups, one pending host.
async fn fleet(server: &TestServer) -> (HostCredentials, HostCredentials, HostCredentials, Uuid) {
    let web = host_with_report(server, "web-server-01").await;
    let db = host_with_report(server, "db-01").await;
    let pending = server.create_host("pending-01").await;
    let prod = group(server, "Production", &[web.id]).await;
    group(server, "Web Servers", &[web.id, db.id]).await;
    (web, db, pending, prod)
}

#[tokio::test]
async fn integration_api_shapes_and_filters() {
    let server = TestServer::start().await;
    let admin = setup_admin(&server).await;
    let (web, db, pending, prod) = fleet(&server).await;
    let (_, key, secret) = create_token(
        &server,
        &admin,
        json!({"token_name": "ansible", "metadata": {"integration_type": "api"}, "scopes": {"host": ["get"]}}),
    )
    .await;

    let (s, b) = get_basic(&server, "/api/v1/api/hosts", &key, &secret).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["total"], 3);
    assert!(b.get("filtered_by_groups").is_none());
    let hosts = b["hosts"].as_array().unwrap();
    let w = hosts.iter().find(|h| h["id"] == json!(web.id)).unwrap();
    assert_eq!(w["friendly_name"], "web-server-01");
    assert!(w["hostname"].as_str().is_some_and(|h| !h.is_empty()), "{w}");
    assert!(w["ip"].as_str().is_some_and(|h| !h.is_empty()), "{w}");
    let names: Vec<&str> = w["host_groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Production", "Web Servers"]);
    assert!(w.get("updates_count").is_none());
    let mut keys: Vec<&str> = w.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["friendly_name", "host_groups", "hostname", "id", "ip"],
        "no stats without include=stats"
    );
    let p = hosts.iter().find(|h| h["id"] == json!(pending.id)).unwrap();
    assert_eq!(p["hostname"], "");
    assert_eq!(p["host_groups"], json!([]));

    // hostgroup filter: names or ids, comma-separated OR, names URL-encoded.
    let (_, b) = get_basic(
        &server,
        "/api/v1/api/hosts?hostgroup=Production",
        &key,
        &secret,
    )
    .await;
    assert_eq!(b["total"], 1);
    assert_eq!(b["filtered_by_groups"], json!(["Production"]));
    let (_, b) = get_basic(
        &server,
        "/api/v1/api/hosts?hostgroup=Web%20Servers",
        &key,
        &secret,
    )
    .await;
    assert_eq!(b["total"], 2);
    let (_, b) = get_basic(
        &server,
        &format!("/api/v1/api/hosts?hostgroup=Nope,{prod}"),
        &key,
        &secret,
    )
    .await;
    assert_eq!(b["total"], 1);
    assert_eq!(b["hosts"][0]["id"], json!(web.id));

    // include=stats
    let (_, b) = get_basic(
        &server,
        "/api/v1/api/hosts?include=stats&hostgroup=Production",
        &key,
        &secret,
    )
    .await;
    let h = &b["hosts"][0];
    for f in [
        "os_type",
        "os_version",
        "last_update",
        "status",
        "effective_status",
        "reporting_state",
        "update_state",
    ] {
        assert!(h[f].is_string(), "{f}: {h}");
    }
    assert_eq!(h["status"], "active");
    assert!(h["needs_reboot"].is_boolean());
    let (total, updates, security) = (
        h["total_packages"].as_i64().unwrap(),
        h["updates_count"].as_i64().unwrap(),
        h["security_updates_count"].as_i64().unwrap(),
    );
    assert_eq!(total, server.host_package_count(&web.api_id).await);
    assert!(updates > 0 && security > 0 && security <= updates, "{h}");
    // A host that never reported: the stats fields are there, last_update null.
    let (_, b) = get_basic(&server, "/api/v1/api/hosts?include=stats", &key, &secret).await;
    let p = b["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["id"] == json!(pending.id))
        .unwrap();
    assert_eq!(
        (&p["status"], &p["last_update"], &p["total_packages"]),
        (&json!("pending"), &Value::Null, &json!(0)),
        "{p}"
    );
    assert!(p.as_object().unwrap().contains_key("last_update"), "{p}");

    // Per-host endpoints.
    let base = format!("/api/v1/api/hosts/{}", web.id);
    let (s, b) = get_basic(&server, &format!("{base}/stats"), &key, &secret).await;
    assert_eq!(s, 200);
    assert_eq!(b["host_id"], json!(web.id));
    assert_eq!(b["total_installed_packages"], total);
    assert_eq!(b["outdated_packages"], updates);
    assert_eq!(b["security_updates"], security);
    assert!(b["total_repos"].as_i64().unwrap() > 0);
    let (_, b) = get_basic(&server, &format!("{base}/info"), &key, &secret).await;
    assert_eq!(b["friendly_name"], "web-server-01");
    assert_eq!(b["host_groups"].as_array().unwrap().len(), 2);
    assert!(b["os_type"].is_string() && b.get("agent_version").is_some());
    let (_, b) = get_basic(&server, &format!("{base}/network"), &key, &secret).await;
    assert!(
        b["network_interfaces"].is_array() && b["dns_servers"].is_array(),
        "{b}"
    );
    let (_, b) = get_basic(&server, &format!("{base}/system"), &key, &secret).await;
    for f in [
        "architecture",
        "kernel_version",
        "needs_reboot",
        "disk_details",
        "load_average",
    ] {
        assert!(b.get(f).is_some(), "{f}: {b}");
    }
    let (_, b) = get_basic(&server, &format!("{base}/packages"), &key, &secret).await;
    assert_eq!(b["total"], total);
    assert_eq!(b["host"]["friendly_name"], "web-server-01");
    let pk = b["packages"].as_array().unwrap();
    assert_eq!(
        pk[0]["is_security_update"], true,
        "security first: {}",
        pk[0]
    );
    let first_plain = pk.iter().position(|p| p["needs_update"] == false).unwrap();
    assert!(pk[..first_plain].iter().all(|p| p["needs_update"] == true));
    assert!(pk[first_plain]["available_version"].is_null());
    let (_, b) = get_basic(
        &server,
        &format!("{base}/packages?updates_only=true"),
        &key,
        &secret,
    )
    .await;
    assert_eq!(b["total"], updates);
    let (_, b) = get_basic(
        &server,
        &format!("{base}/package_reports?limit=5"),
        &key,
        &secret,
    )
    .await;
    assert_eq!(b["reports"][0]["status"], "success");
    assert_eq!(b["reports"][0]["total_packages"], total);
    let (s, _) = get_basic(
        &server,
        &format!("{base}/package_reports?limit=abc"),
        &key,
        &secret,
    )
    .await;
    assert_eq!(s, 400);
    let (_, b) = get_basic(&server, &format!("{base}/agent_queue"), &key, &secret).await;
    assert_eq!(
        b["queue_status"],
        json!({"waiting": 0, "active": 0, "delayed": 0, "failed": 0})
    );
    assert_eq!(b["total_jobs"], 0);
    let (_, b) = get_basic(&server, &format!("{base}/notes"), &key, &secret).await;
    assert_eq!(b["host_id"], json!(web.id));
    let (_, b) = get_basic(&server, &format!("{base}/integrations"), &key, &secret).await;
    assert_eq!(b["integrations"]["docker"]["enabled"], false);

    let (s, b) = get_basic(&server, "/api/v1/api/hosts/not-a-uuid/info", &key, &secret).await;
    assert_eq!(
        (s.as_u16(), b["error"].as_str()),
        (400, Some("Invalid host ID format"))
    );
    let (s, b) = get_basic(
        &server,
        &format!("/api/v1/api/hosts/{}/info", Uuid::new_v4()),
        &key,
        &secret,
    )
    .await;
    assert_eq!(
        (s.as_u16(), b["error"].as_str()),
        (404, Some("Host not found"))
    );

    // DELETE needs host:delete.
    let r = client()
        .delete(format!("{}{base}", server.url()))
        .basic_auth(&key, Some(&secret))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["error"], "Access denied");
    assert_eq!(
        b["message"],
        "This API key does not have permission to delete host"
    );
    let (_, dkey, dsecret) = create_token(
        &server,
        &admin,
        json!({"token_name": "deleter", "metadata": {"integration_type": "api"}, "scopes": {"host": ["get", "delete"]}}),
    )
    .await;
    let r = client()
        .delete(format!("{}/api/v1/api/hosts/{}", server.url(), db.id))
        .basic_auth(&dkey, Some(&dsecret))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["message"], "Host deleted successfully");
    assert_eq!(b["deleted"]["friendly_name"], "db-01");
    assert!(server.host(&db.api_id).await.is_none());
    let r = client()
        .delete(format!("{}/api/v1/api/hosts/{}", server.url(), db.id))
        .basic_auth(&dkey, Some(&dsecret))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = client()
        .delete(format!("{}/api/v1/api/hosts/xyz", server.url()))
        .basic_auth(&dkey, Some(&dsecret))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn integration_api_auth_matrix() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let server = TestServer::start_with_clock(|_| {}, clock.clone()).await;
    let admin = setup_admin(&server).await;
    let api = |name: &str, extra: Value| {
        let mut b = json!({"token_name": name, "metadata": {"integration_type": "api"}, "scopes": {"host": ["get"]}});
        if let (Some(o), Value::Object(e)) = (b.as_object_mut(), extra) {
            o.extend(e);
        }
        b
    };
    let (_, key, secret) = create_token(
        &server,
        &admin,
        api(
            "ok",
            json!({"expires_at": (Utc::now() + Duration::days(1)).to_rfc3339()}),
        ),
    )
    .await;
    let (off_id, off_key, off_secret) = create_token(&server, &admin, api("off", json!({}))).await;
    let (s, _, _) = super::auth::call(
        &server,
        Method::PATCH,
        &format!("/api/v1/auto-enrollment/tokens/{off_id}"),
        Some(&admin),
        Some(json!({"is_active": false})),
    )
    .await;
    assert_eq!(s, 200);
    let (_, pve_key, pve_secret) =
        create_token(&server, &admin, json!({"token_name": "pve"})).await;
    let (_, ip_key, ip_secret) = create_token(
        &server,
        &admin,
        api("ip", json!({"allowed_ip_ranges": ["10.0.0.0/8"]})),
    )
    .await;
    let (_, lo_key, lo_secret) = create_token(
        &server,
        &admin,
        api("lo", json!({"allowed_ip_ranges": ["127.0.0.1", "::1"]})),
    )
    .await;
    let (_, noscope_key, noscope_secret) = create_token(
        &server,
        &admin,
        api("delete-only", json!({"scopes": {"host": ["delete"]}})),
    )
    .await;

    let url = format!("{}/api/v1/api/hosts", server.url());
    let raw = |auth: Option<&str>| {
        let mut r = client().get(&url);
        if let Some(a) = auth {
            r = r.header("Authorization", a);
        }
        r
    };
    let expect = |status: u16, msg: &'static str| (status, msg);
    let cases: Vec<(reqwest::RequestBuilder, (u16, &str))> = vec![
        (
            raw(None),
            expect(401, "Missing or invalid authorization header"),
        ),
        (
            raw(Some("Bearer abc")),
            expect(401, "Missing or invalid authorization header"),
        ),
        (
            raw(Some("Basic !!!")),
            expect(401, "Invalid credentials format"),
        ),
        (
            raw(Some("Basic bm9jb2xvbg==")),
            expect(401, "Invalid credentials format"),
        ),
        (
            client().get(&url).basic_auth("patchmon_ae_nope", Some("x")),
            expect(401, "Invalid API key"),
        ),
        (
            client().get(&url).basic_auth(&off_key, Some(&off_secret)),
            expect(401, "API key is disabled"),
        ),
        (
            client().get(&url).basic_auth(&pve_key, Some(&pve_secret)),
            expect(401, "Invalid API key type"),
        ),
        (
            client().get(&url).basic_auth(&key, Some("wrong")),
            expect(401, "Invalid API secret"),
        ),
        (
            client().get(&url).basic_auth(&ip_key, Some(&ip_secret)),
            expect(403, "IP address not allowed"),
        ),
        (
            client()
                .get(&url)
                .basic_auth(&noscope_key, Some(&noscope_secret)),
            expect(403, "Access denied"),
        ),
        (
            client().get(&url).basic_auth(&lo_key, Some(&lo_secret)),
            expect(200, ""),
        ),
        (
            client().get(&url).basic_auth(&key, Some(&secret)),
            expect(200, ""),
        ),
    ];
    for (req, (status, msg)) in cases {
        let r = req.send().await.unwrap();
        let s = r.status().as_u16();
        let b: Value = r.json().await.unwrap();
        assert_eq!(s, status, "{msg}: {b}");
        if status != 200 {
            assert_eq!(b["error"], msg, "{b}");
        }
    }
    let r = client()
        .get(&url)
        .basic_auth(&noscope_key, Some(&noscope_secret))
        .send()
        .await
        .unwrap();
    let b: Value = r.json().await.unwrap();
    assert_eq!(
        b["message"],
        "This API key does not have permission to get host"
    );

    clock.advance(Duration::days(2));
    let r = client()
        .get(&url)
        .basic_auth(&key, Some(&secret))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["error"], "API key has expired");
}

#[tokio::test]
async fn gethomepage_widget_fields() {
    let server = TestServer::start().await;
    let admin = setup_admin(&server).await;
    let (web, _db, _pending, _) = fleet(&server).await;
    let (_, key, secret) = create_token(
        &server,
        &admin,
        json!({"token_name": "homepage", "metadata": {"integration_type": "gethomepage"}}),
    )
    .await;
    let (_, api_key, api_secret) = create_token(
        &server,
        &admin,
        json!({"token_name": "api", "metadata": {"integration_type": "api"}, "scopes": {"host": ["get"]}}),
    )
    .await;
    let (s, b) = get_basic(&server, "/api/v1/gethomepage/stats", &api_key, &api_secret).await;
    assert_eq!(
        (s.as_u16(), b["error"].as_str()),
        (401, Some("Invalid API key type"))
    );
    let (s, b) = get_basic(&server, "/api/v1/gethomepage/stats", &key, &secret).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["total_hosts"], 3);
    assert_eq!(b["hosts_needing_updates"], 2);
    assert_eq!(b["up_to_date_hosts"], 0);
    assert_eq!(b["awaiting_data_hosts"], 1);
    assert_eq!(b["hosts_with_security_updates"], 2);
    let updates = server.host_packages(&web.api_id).await;
    let outdated = updates.iter().filter(|p| p.3).count() as i64;
    assert_eq!(b["total_outdated_packages"], outdated, "{b}");
    assert!(b["security_updates"].as_i64().unwrap() >= 1);
    assert!(b["total_repos"].as_i64().unwrap() >= 1);
    assert_eq!(b["recent_updates_24h"], 2);
    let os = b["os_distribution"].as_array().unwrap();
    assert_eq!(os[0]["count"], 2);
    assert_eq!(b["top_os_1_count"], 2);
    assert_eq!(b["top_os_1_name"], os[0]["name"]);
    assert_eq!(b["top_os_2_name"], "None");
    assert_eq!(b["top_os_3_count"], 0);
    assert!(b["last_updated"].as_str().unwrap().ends_with('Z'));
    for f in [
        "total_hosts",
        "hosts_needing_updates",
        "up_to_date_hosts",
        "security_updates",
        "total_outdated_packages",
        "total_repos",
        "recent_updates_24h",
        "top_os_1_count",
    ] {
        assert!(b[f].is_i64(), "{f} must be an integer: {b}");
    }
    let (s, b) = get_basic(&server, "/api/v1/gethomepage/health", &key, &secret).await;
    assert_eq!(s, 200);
    assert_eq!(b["status"], "ok");
    assert_eq!(b["api_key"], "homepage");
}

/// `ansible-inventory` from ansible-core (PyPI): `$PATCHMON_TEST_ANSIBLE_INVENTORY`,
/// else on PATH. scripts/test.sh installs it into a virtualenv.
fn ansible_inventory() -> String {
    std::env::var("PATCHMON_TEST_ANSIBLE_INVENTORY").unwrap_or_else(|_| "ansible-inventory".into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ansible_inventory_lists_groups_and_hosts() {
    let server = TestServer::start().await;
    let admin = setup_admin(&server).await;
    let (web, db, _pending, _) = fleet(&server).await;
    let (_, key, secret) = create_token(
        &server,
        &admin,
        json!({"token_name": "ansible", "metadata": {"integration_type": "api"}, "scopes": {"host": ["get"]}}),
    )
    .await;
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../integrations/ansible/patchmon_inventory.py"
    );
    let work = tempfile::tempdir().unwrap();
    let out = tokio::task::block_in_place(|| {
        std::process::Command::new(ansible_inventory())
            .args(["-i", script, "--list"])
            .env("PATCHMON_URL", server.url())
            .env("PATCHMON_API_KEY", &key)
            .env("PATCHMON_API_SECRET", &secret)
            .env("ANSIBLE_LOCAL_TEMP", work.path())
            .env("ANSIBLE_HOME", work.path())
            .env("ANSIBLE_INVENTORY_UNPARSED_FAILED", "true")
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "{} not runnable ({e}); run ./scripts/test.sh, which installs ansible-core",
                    ansible_inventory()
                )
            })
    });
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let inv: Value = serde_json::from_slice(&out.stdout).unwrap();
    let web_host = server.host(&web.api_id).await.unwrap();
    let hostname = web_host["hostname"].as_str().unwrap();
    let ip = web_host["ip"].as_str().unwrap();
    // Both test hosts report the same hostname: the second gets an id suffix.
    let vars = inv["_meta"]["hostvars"].as_object().unwrap();
    assert_eq!(vars.len(), 2, "{inv}");
    let (web_name, web_vars) = vars
        .iter()
        .find(|(_, v)| v["patchmon_id"] == json!(web.id))
        .unwrap();
    assert!(web_name.starts_with(hostname), "{web_name}");
    assert_eq!(web_vars["ansible_host"], ip, "{inv}");
    assert_eq!(web_vars["patchmon_friendly_name"], "web-server-01");
    assert_eq!(inv["production"]["hosts"], json!([web_name]), "{inv}");
    let web_servers: Vec<&str> = inv["web_servers"]["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap())
        .collect();
    assert_eq!(web_servers.len(), 2, "{inv}");
    assert!(
        inv["patchmon_security_updates"]["hosts"]
            .as_array()
            .unwrap()
            .len()
            == 2
    );
    // The pending host (no hostname yet) is not listed.
    assert!(inv["_meta"]["hostvars"].get("pending-01").is_none());
    let _ = db;

    // Wrong secret: a clear error, non-zero exit.
    let out = tokio::task::block_in_place(|| {
        std::process::Command::new("python3")
            .args([script, "--list"])
            .env("PATCHMON_URL", server.url())
            .env("PATCHMON_API_KEY", &key)
            .env("PATCHMON_API_SECRET", "wrong")
            .output()
            .unwrap()
    });
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("HTTP 401: Invalid API secret"));
}

/// Timing run (not an assertion): the integration API and the GetHomepage
/// stats over 10,000 seeded hosts. `cargo test -p patchmon-server --release
/// --test it integration_api_timings -- --ignored --nocapture`
#[tokio::test]
#[ignore = "timing run; seeds 10,000 hosts"]
async fn integration_api_timings_10k_hosts() {
    let hosts: i64 = std::env::var("FLEET_BENCH_HOSTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let server = TestServer::start().await;
    let admin = setup_admin(&server).await;
    super::fleet::seed_fleet(&server, hosts).await;
    let (_, key, secret) = create_token(
        &server,
        &admin,
        json!({"token_name": "bench", "metadata": {"integration_type": "api"}, "scopes": {"host": ["get"]}}),
    )
    .await;
    let (_, hkey, hsecret) = create_token(
        &server,
        &admin,
        json!({"token_name": "hp", "metadata": {"integration_type": "gethomepage"}}),
    )
    .await;
    let cases = [
        ("/api/v1/api/hosts", &key, &secret),
        ("/api/v1/api/hosts?include=stats", &key, &secret),
        (
            "/api/v1/api/hosts?hostgroup=group-3&include=stats",
            &key,
            &secret,
        ),
        ("/api/v1/gethomepage/stats", &hkey, &hsecret),
    ];
    for (path, k, s) in cases {
        let (status, b) = get_basic(&server, path, k, s).await;
        assert_eq!(status, 200, "{b}");
        let mut times = Vec::new();
        for _ in 0..7 {
            let t = std::time::Instant::now();
            let r = client()
                .get(format!("{}{path}", server.url()))
                .basic_auth(k, Some(s))
                .send()
                .await
                .unwrap();
            let bytes = r.bytes().await.unwrap();
            times.push((t.elapsed().as_secs_f64() * 1000.0, bytes.len()));
        }
        times.sort_by(|a, b| a.0.total_cmp(&b.0));
        println!(
            "{hosts} hosts {path}: median {:.1} ms, min {:.1} ms, {} KB",
            times[3].0,
            times[0].0,
            times[3].1 / 1024
        );
    }
}
