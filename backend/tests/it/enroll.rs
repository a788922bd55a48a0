//! Auto-enrollment tokens, enrollment (single, bulk, quota, duplicates,
//! concurrency) and the served enrollment scripts, run for real by `sh`.

use std::path::Path;
use std::sync::Arc;

use chrono::{Duration, Utc};
use patchmon_server::clock::ManualClock;
use patchmon_server::with_db;
use reqwest::Method;

use super::auth::{call, setup_admin};
use super::*;

/// Creates a token through the admin API; returns (id, key, secret, body).
pub async fn create_token(server: &TestServer, admin: &str, body: Value) -> (Uuid, String, String) {
    let (s, _, b) = call(
        server,
        Method::POST,
        "/api/v1/auto-enrollment/tokens",
        Some(admin),
        Some(body),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let t = &b["token"];
    (
        t["id"].as_str().unwrap().parse().unwrap(),
        t["token_key"].as_str().unwrap().to_owned(),
        t["token_secret"].as_str().unwrap().to_owned(),
    )
}

async fn enroll(
    server: &TestServer,
    key: &str,
    secret: &str,
    body: Value,
) -> (StatusCode, String, Value) {
    let r = client()
        .post(format!("{}/api/v1/auto-enrollment/enroll", server.url()))
        .header("X-Auto-Enrollment-Key", key)
        .header("X-Auto-Enrollment-Secret", secret)
        .json(&body)
        .send()
        .await
        .unwrap();
    let s = r.status();
    let text = r.text().await.unwrap();
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    (s, text, json)
}

async fn host_count(server: &TestServer) -> i64 {
    with_db!(server.db(), p => sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM hosts").fetch_one(p).await)
        .unwrap()
}

async fn set_server_url(server: &TestServer) {
    with_db!(server.db(), p => sqlx::query("UPDATE settings SET server_url = $1 WHERE id = 1")
        .bind(server.url()).execute(p).await.map(|_| ()))
    .unwrap();
}

async fn create_group(server: &TestServer, name: &str) -> Uuid {
    let id = Uuid::new_v4();
    with_db!(server.db(), p => sqlx::query(
        "INSERT INTO host_groups (id, name, color, created_at, updated_at) VALUES ($1, $2, '#10B981', $3, $3)")
        .bind(id).bind(name).bind(Utc::now()).execute(p).await.map(|_| ())).unwrap();
    id
}

#[tokio::test]
async fn token_administration_and_validation() {
    let server = TestServer::start().await;
    let admin = setup_admin(&server).await;
    let group = create_group(&server, "Proxmox LXC").await;
    let (s, _, b) = call(
        &server,
        Method::POST,
        "/api/v1/auto-enrollment/tokens",
        Some(&admin),
        Some(json!({
            "token_name": "Proxmox Production",
            "max_hosts_per_day": 100,
            "default_host_group_id": group,
            "allowed_ip_ranges": ["192.168.1.10", "10.0.0.0/24"],
            "expires_at": "2099-12-31T23:59:59Z",
            "metadata": {"integration_type": "proxmox-lxc", "environment": "production"}
        })),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let t = &b["token"];
    let key = t["token_key"].as_str().unwrap();
    let secret = t["token_secret"].as_str().unwrap();
    assert!(
        key.starts_with("patchmon_ae_") && key.len() == 12 + 32,
        "{key}"
    );
    assert_eq!(secret.len(), 64);
    assert_eq!(t["default_host_group"]["name"], "Proxmox LXC");
    assert_eq!(t["created_by"]["username"], "admin");
    assert_eq!(t["metadata"]["environment"], "production");
    assert!(b["warning"].as_str().unwrap().contains("token_secret"));
    let id = t["id"].as_str().unwrap();

    // Only the hash is stored.
    let stored: String = with_db!(server.db(), p => sqlx::query_scalar(
        "SELECT secret_hash FROM auto_enrollment_tokens WHERE token_key = $1").bind(key).fetch_one(p).await).unwrap();
    assert_ne!(stored, secret);
    assert_eq!(stored.len(), 64);

    let (s, _, list) = call(
        &server,
        Method::GET,
        "/api/v1/auto-enrollment/tokens",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(list[0].get("token_secret").is_none());
    assert_eq!(list[0]["host_groups"]["color"], "#10B981");
    assert_eq!(
        list[0]["allowed_ip_ranges"],
        json!(["192.168.1.10", "10.0.0.0/24"])
    );
    assert_eq!(list[0]["hosts_created_today"], 0);

    let (s, _, b) = call(
        &server,
        Method::PATCH,
        &format!("/api/v1/auto-enrollment/tokens/{id}"),
        Some(&admin),
        Some(json!({"is_active": false, "max_hosts_per_day": 200, "allowed_ip_ranges": ["192.168.1.0/24"], "default_host_group_id": ""})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["message"], "Token updated successfully");
    assert_eq!(b["token"]["is_active"], false);
    assert_eq!(b["token"]["max_hosts_per_day"], 200);
    assert_eq!(b["token"]["host_groups"], Value::Null);
    assert_eq!(
        b["token"]["expires_at"].as_str().map(|s| &s[..4]),
        Some("2099")
    );

    // Validation: each refused with a JSON error and nothing stored.
    let bad = [
        json!({"max_hosts_per_day": 5}),
        json!({"token_name": "x", "max_hosts_per_day": 0}),
        json!({"token_name": "x", "max_hosts_per_day": 1001}),
        json!({"token_name": "x", "allowed_ip_ranges": ["10.0.0.0/33"]}),
        json!({"token_name": "x", "allowed_ip_ranges": ["not-an-ip"]}),
        json!({"token_name": "x", "metadata": {"integration_type": "api"}}),
        json!({"token_name": "x", "metadata": {"integration_type": "api"}, "scopes": {"host": ["read"]}}),
        json!({"token_name": "x", "metadata": {"integration_type": "api"}, "scopes": {"hosts": ["get"]}}),
        json!({"token_name": "x", "scopes": {"host": ["get"]}}),
        json!({"token_name": "x", "metadata": {"integration_type": "nope"}}),
        json!({"token_name": "x", "expires_at": "2001-01-01T00:00"}),
        json!({"token_name": "x", "expires_at": "tomorrow"}),
        json!({"token_name": "x", "default_host_group_id": Uuid::new_v4()}),
        json!({"token_name": "x".repeat(256)}),
    ];
    for body in bad {
        let (s, _, b) = call(
            &server,
            Method::POST,
            "/api/v1/auto-enrollment/tokens",
            Some(&admin),
            Some(body.clone()),
        )
        .await;
        assert_eq!(s, 400, "{body} → {b}");
        assert!(b["error"].as_str().is_some_and(|e| !e.is_empty()), "{b}");
    }
    let (s, _, b) = call(
        &server,
        Method::PATCH,
        &format!("/api/v1/auto-enrollment/tokens/{id}"),
        Some(&admin),
        Some(json!({"scopes": {"host": ["get"]}})),
    )
    .await;
    assert_eq!(
        (s.as_u16(), b["error"].as_str().is_some()),
        (400, true),
        "{b}"
    );
    let (_, _, list) = call(
        &server,
        Method::GET,
        "/api/v1/auto-enrollment/tokens",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(list.as_array().unwrap().len(), 1);

    let (s, _, b) = call(
        &server,
        Method::DELETE,
        &format!("/api/v1/auto-enrollment/tokens/{id}"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(b["deleted_token"]["token_name"], "Proxmox Production");
    let (s, _, _) = call(
        &server,
        Method::GET,
        &format!("/api/v1/auto-enrollment/tokens/{id}"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(s, 404);
    let (s, _, _) = call(
        &server,
        Method::DELETE,
        &format!("/api/v1/auto-enrollment/tokens/{id}"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(s, 404);
    let (s, _, _) = call(
        &server,
        Method::GET,
        "/api/v1/auto-enrollment/tokens/not-a-uuid",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn enrollment_checks_quota_duplicates_and_token_type() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let server = TestServer::start_with_clock(|_| {}, clock.clone()).await;
    let admin = setup_admin(&server).await;
    let group = create_group(&server, "Proxmox LXC").await;
    let (token_id, key, secret) = create_token(
        &server,
        &admin,
        json!({"token_name": "pve", "max_hosts_per_day": 2, "default_host_group_id": group,
               "expires_at": (Utc::now() + Duration::days(3)).to_rfc3339()}),
    )
    .await;

    // Credential checks, in the documented order and words.
    let body = json!({"friendly_name": "web", "machine_id": "m-1"});
    let cases = [
        ("", "", 401, "Auto-enrollment credentials required"),
        (
            "patchmon_ae_00000000000000000000000000000000",
            &secret[..],
            401,
            "Invalid or inactive token",
        ),
        (&key[..], "0000", 401, "Invalid token secret"),
    ];
    for (k, s_, status, msg) in cases {
        let (s, _, b) = enroll(&server, k, s_, body.clone()).await;
        assert_eq!(
            (s.as_u16(), b["error"].as_str()),
            (status, Some(msg)),
            "{b}"
        );
    }
    assert_eq!(host_count(&server).await, 0);

    // Validation of the body.
    for bad in [
        json!({}),
        json!({"friendly_name": ""}),
        json!({"friendly_name": "x".repeat(256)}),
        json!({"friendly_name": "a", "machine_id": "m".repeat(256)}),
        json!([1]),
    ] {
        let (s, _, b) = enroll(&server, &key, &secret, bad.clone()).await;
        assert_eq!(s, 400, "{bad} → {b}");
    }

    // Success: compact JSON the scripts grep, group assigned, notes written.
    let (s, text, b) = enroll(
        &server,
        &key,
        &secret,
        json!({"friendly_name": "web", "machine_id": "m-1",
        "metadata": {"vmid": "100", "ip_address": "10.0.0.10", "os_info": "Debian 12"}}),
    )
    .await;
    assert_eq!(s, 201, "{text}");
    assert!(text.contains("\"api_id\":\"patchmon_"), "{text}");
    assert_eq!(b["message"], "Host enrolled successfully");
    assert_eq!(b["host"]["status"], "pending");
    assert_eq!(b["host"]["host_group"]["name"], "Proxmox LXC");
    let creds = HostCredentials {
        id: b["host"]["id"].as_str().unwrap().parse().unwrap(),
        api_id: b["host"]["api_id"].as_str().unwrap().into(),
        api_key: b["host"]["api_key"].as_str().unwrap().into(),
    };
    let (notes, ip, members): (Option<String>, Option<String>, i64) = with_db!(server.db(), p => sqlx::query_as(
        "SELECT notes, ip, (SELECT COUNT(*) FROM host_group_memberships WHERE host_id = h.id) FROM hosts h WHERE id = $1")
        .bind(creds.id).fetch_one(p).await).unwrap();
    assert!(notes.unwrap().starts_with("Auto-enrolled via pve on "));
    assert_eq!(ip.as_deref(), Some("10.0.0.10"));
    assert_eq!(members, 1);
    // The new credentials work for the agent API.
    let (s, b) = post_json(&server, &creds, "/hosts/ping", &json!({})).await;
    assert_eq!(s, 200, "{b}");

    // Same machine again: 409, nothing created, quota not consumed.
    let (s, _, b) = enroll(
        &server,
        &key,
        &secret,
        json!({"friendly_name": "web-again", "machine_id": "m-1"}),
    )
    .await;
    assert_eq!(s, 409, "{b}");
    assert_eq!(b["host_id"], json!(creds.id));
    assert_eq!(host_count(&server).await, 1);

    // Quota of 2 per day: second fits, third is refused.
    let (s, _, _) = enroll(
        &server,
        &key,
        &secret,
        json!({"friendly_name": "db", "machine_id": "m-2"}),
    )
    .await;
    assert_eq!(s, 201);
    let (s, _, b) = enroll(
        &server,
        &key,
        &secret,
        json!({"friendly_name": "cache", "machine_id": "m-3"}),
    )
    .await;
    assert_eq!(s, 429, "{b}");
    assert_eq!(b["error"], "Rate limit exceeded");
    assert_eq!(b["message"], "Maximum hosts per day allowed for this token");
    assert_eq!(host_count(&server).await, 2);
    let (_, _, t) = call(
        &server,
        Method::GET,
        &format!("/api/v1/auto-enrollment/tokens/{token_id}"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(t["hosts_created_today"], 2);
    assert!(t["last_used_at"].is_string());

    // A new day resets the quota; the bulk endpoint refuses a request larger
    // than what remains, whole.
    clock.advance(Duration::days(1));
    let hosts: Vec<Value> = (0..3)
        .map(|i| json!({"friendly_name": format!("b{i}"), "machine_id": format!("b-{i}")}))
        .collect();
    let r = client()
        .post(format!(
            "{}/api/v1/auto-enrollment/enroll/bulk",
            server.url()
        ))
        .header("X-Auto-Enrollment-Key", &key)
        .header("X-Auto-Enrollment-Secret", &secret)
        .json(&json!({"hosts": hosts}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    let b: Value = r.json().await.unwrap();
    assert_eq!(
        b["message"],
        "Only 2 hosts remaining in daily quota (requested 3)"
    );
    assert_eq!(host_count(&server).await, 2);
    // Two hosts, one of them already enrolled: one created, one skipped.
    let r = client()
        .post(format!("{}/api/v1/auto-enrollment/enroll/bulk", server.url()))
        .header("X-Auto-Enrollment-Key", &key)
        .header("X-Auto-Enrollment-Secret", &secret)
        .json(&json!({"hosts": [{"friendly_name": "n1", "machine_id": "n-1"}, {"friendly_name": "dup", "machine_id": "m-2"}, {"friendly_name": ""}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let b: Value = r.json().await.unwrap();
    assert_eq!(
        b["message"], "Bulk enrollment completed: 1 succeeded, 1 failed, 1 skipped",
        "{b}"
    );
    assert!(b["results"]["success"][0]["api_key"].is_string());
    assert_eq!(b["results"]["skipped"][0]["machine_id"], "m-2");
    assert_eq!(host_count(&server).await, 3);
    for n in [0usize, 51] {
        let hosts: Vec<Value> = (0..n)
            .map(|i| json!({"friendly_name": format!("x{i}")}))
            .collect();
        let r = client()
            .post(format!(
                "{}/api/v1/auto-enrollment/enroll/bulk",
                server.url()
            ))
            .header("X-Auto-Enrollment-Key", &key)
            .header("X-Auto-Enrollment-Secret", &secret)
            .json(&json!({"hosts": hosts}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{n} hosts");
    }

    // Expiry.
    clock.advance(Duration::days(3));
    let (s, _, b) = enroll(&server, &key, &secret, json!({"friendly_name": "late"})).await;
    assert_eq!(
        (s.as_u16(), b["error"].as_str()),
        (401, Some("Token expired"))
    );

    // Disabled token (a fresh login: the admin session idled out over the days).
    let admin = super::auth::token_of(&server, "admin", super::auth::ADMIN_PW).await;
    let (_, key2, secret2) = create_token(
        &server,
        &admin,
        json!({"token_name": "off", "metadata": {"integration_type": "direct-host"}}),
    )
    .await;
    with_db!(server.db(), p => sqlx::query("UPDATE auto_enrollment_tokens SET is_active = FALSE WHERE token_key = $1")
        .bind(&key2).execute(p).await.map(|_| ())).unwrap();
    let (s, _, b) = enroll(&server, &key2, &secret2, json!({"friendly_name": "x"})).await;
    assert_eq!(
        (s.as_u16(), b["error"].as_str()),
        (401, Some("Invalid or inactive token"))
    );

    // IP allowlist (we come from 127.0.0.1).
    let (_, key3, secret3) = create_token(
        &server,
        &admin,
        json!({"token_name": "ip", "allowed_ip_ranges": "10.0.0.0/8, 192.168.0.1"}),
    )
    .await;
    let (s, _, b) = enroll(&server, &key3, &secret3, json!({"friendly_name": "x"})).await;
    assert_eq!(
        (s.as_u16(), b["error"].as_str()),
        (403, Some("IP address not authorized for this token"))
    );
    let (_, key4, secret4) = create_token(
        &server,
        &admin,
        json!({"token_name": "ip-ok", "allowed_ip_ranges": ["::ffff:127.0.0.0/104"]}),
    )
    .await;
    let (s, _, b) = enroll(
        &server,
        &key4,
        &secret4,
        json!({"friendly_name": "from-localhost"}),
    )
    .await;
    assert_eq!(s, 201, "{b}");

    // Read-only integration keys cannot create hosts (PatchMon let them).
    for (name, kind, scopes) in [
        ("api", "api", json!({"host": ["get"]})),
        ("hp", "gethomepage", Value::Null),
    ] {
        let (_, k, sec) = create_token(
            &server,
            &admin,
            json!({"token_name": name, "metadata": {"integration_type": kind}, "scopes": scopes}),
        )
        .await;
        let before = host_count(&server).await;
        let (s, _, b) = enroll(&server, &k, &sec, json!({"friendly_name": "sneaky"})).await;
        assert_eq!(
            (s.as_u16(), b["error"].as_str()),
            (403, Some("Token cannot enroll hosts")),
            "{b}"
        );
        assert_eq!(host_count(&server).await, before);
    }
}

#[tokio::test]
async fn concurrent_enrollments_never_exceed_the_quota() {
    let server = TestServer::start().await;
    let admin = setup_admin(&server).await;
    let (_, key, secret) = create_token(
        &server,
        &admin,
        json!({"token_name": "race", "max_hosts_per_day": 5}),
    )
    .await;
    let mut tasks = Vec::new();
    for i in 0..12 {
        let (url, key, secret) = (server.url(), key.clone(), secret.clone());
        tasks.push(tokio::spawn(async move {
            client()
                .post(format!("{url}/api/v1/auto-enrollment/enroll"))
                .header("X-Auto-Enrollment-Key", key)
                .header("X-Auto-Enrollment-Secret", secret)
                .json(&json!({"friendly_name": format!("h{i}"), "machine_id": format!("race-{i}")}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    statuses.sort_unstable();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        7,
        "{statuses:?}"
    );
    assert_eq!(host_count(&server).await, 5);
}

async fn fetch_script(
    server: &TestServer,
    query: &str,
) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let r = client()
        .get(format!(
            "{}/api/v1/auto-enrollment/script?{query}",
            server.url()
        ))
        .send()
        .await
        .unwrap();
    (r.status(), r.headers().clone(), r.text().await.unwrap())
}

#[tokio::test]
async fn scripts_are_served_with_credentials_injected() {
    let server = TestServer::start().await;
    let admin = setup_admin(&server).await;
    set_server_url(&server).await;
    let (_, key, secret) = create_token(&server, &admin, json!({"token_name": "pve"})).await;
    let (s, _, b) = fetch_script(&server, &format!("token_key={key}&token_secret={secret}")).await;
    assert_eq!(s, 400, "{b}");
    let (s, _, b) = fetch_script(
        &server,
        &format!("type=windows&token_key={key}&token_secret={secret}"),
    )
    .await;
    assert_eq!(s, 400, "{b}");
    let (s, _, b) = fetch_script(&server, "type=proxmox-lxc").await;
    assert_eq!(s, 401, "{b}");
    let (s, _, b) = fetch_script(
        &server,
        &format!("type=proxmox-lxc&token_key={key}&token_secret=wrong"),
    )
    .await;
    assert_eq!(s, 401, "{b}");
    assert!(b.contains("Invalid token secret"));

    for kind in ["proxmox-lxc", "direct-host"] {
        let (s, h, script) = fetch_script(
            &server,
            &format!("type={kind}&token_key={key}&token_secret={secret}&force=true"),
        )
        .await;
        assert_eq!(s, 200);
        assert_eq!(h["cache-control"], "no-store");
        assert!(
            h["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain")
        );
        assert!(script.starts_with("#!/bin/sh\n"), "{kind}");
        assert!(
            script.contains(&format!("PATCHMON_URL='{}'", server.url())),
            "{kind}"
        );
        assert!(script.contains(&format!("AUTO_ENROLLMENT_KEY='{key}'")));
        assert!(script.contains(&format!("AUTO_ENROLLMENT_SECRET='{secret}'")));
        assert!(script.contains("FORCE_INSTALL='true'"));
        assert!(script.contains("CURL_FLAGS='-s'"));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sh");
        std::fs::write(&path, &script).unwrap();
        let out = std::process::Command::new("sh")
            .arg("-n")
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{kind}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Credentials in headers (kept out of URLs and logs) work too.
    let r = client()
        .get(format!(
            "{}/api/v1/auto-enrollment/script?type=direct-host",
            server.url()
        ))
        .header("X-Auto-Enrollment-Key", &key)
        .header("X-Auto-Enrollment-Secret", &secret)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // The self-signed setting switches curl to -k.
    with_db!(server.db(), p => sqlx::query("UPDATE settings SET ignore_ssl_self_signed = TRUE WHERE id = 1")
        .execute(p).await.map(|_| ())).unwrap();
    let (_, _, script) = fetch_script(
        &server,
        &format!("type=direct-host&token_key={key}&token_secret={secret}"),
    )
    .await;
    assert!(script.contains("CURL_FLAGS='-sk'"));
    assert!(script.contains("FORCE_INSTALL='false'"));
}

/// A fake `pct` driven by files: `<dir>/list` is what `pct list` prints;
/// `<dir>/<vmid>/facts` answers the facts probe; install commands are
/// logged to `<dir>/<vmid>/install.log` and then run for real with `sh -c`
/// (they download the installer from the server with the enrolled
/// credentials), with `PATCHMON_TEST_INSTALL` deciding what happens next.
const FAKE_PCT: &str = r##"#!/bin/sh
dir="$FAKE_PCT_DIR"
case "$1" in
  list) cat "$dir/list"; exit 0 ;;
  exec)
    vmid=$2; shift 3
    if [ "$1" = "sh" ] && [ "$2" = "-c" ]; then cmd=$3; else cmd="$*"; fi
    case "$cmd" in
      "# patchmon-facts"*) cat "$dir/$vmid/facts" ;;
      "# patchmon-ensure-curl"*) exit 0 ;;
      "# patchmon-install"*)
        printf '%s\n' "$cmd" >> "$dir/$vmid/install.log"
        # Run the installer download for real, but not the installer itself.
        cmd=$(printf '%s' "$cmd" | sed 's/ && FORCE_INSTALL=.*$//')
        sh -c "$cmd" || exit $?
        grep -q '^#!' /tmp/patchmon-install.sh || exit 3
        echo "PatchMon Agent installation completed successfully"
        ;;
      *) echo "fake pct: unexpected command: $cmd" >&2; exit 2 ;;
    esac
    ;;
  *) echo "fake pct: unsupported $1" >&2; exit 2 ;;
esac
"##;

struct FakePve {
    dir: tempfile::TempDir,
    bin: tempfile::TempDir,
}

impl FakePve {
    fn new(containers: &[(&str, &str, &str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let bin = tempfile::tempdir().unwrap();
        let mut list = String::from("VMID       Status     Lock         Name\n");
        for (vmid, status, name, agent) in containers {
            list.push_str(&format!("{vmid:<10} {status:<10} {:<12} {name}\n", ""));
            let d = dir.path().join(vmid);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(
                d.join("facts"),
                format!(
                    "hostname={name}\nip=10.0.0.{vmid}\nos=Debian GNU/Linux 12 (bookworm)\narch=x86_64\nmachine_id=mid-{vmid}-{name}\nagent={agent}\n"
                ),
            )
            .unwrap();
        }
        std::fs::write(dir.path().join("list"), list).unwrap();
        let pct = bin.path().join("pct");
        std::fs::write(&pct, FAKE_PCT).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&pct, std::fs::Permissions::from_mode(0o755)).unwrap();
        Self { dir, bin }
    }

    fn run(&self, script: &Path, env: &[(&str, &str)]) -> (bool, String) {
        let path = format!(
            "{}:{}",
            self.bin.path().display(),
            std::env::var("PATH").unwrap()
        );
        let mut cmd = std::process::Command::new("sh");
        cmd.arg(script)
            .env("PATH", path)
            .env("FAKE_PCT_DIR", self.dir.path())
            .env("TMPDIR", self.dir.path());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }

    fn install_log(&self, vmid: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(vmid).join("install.log")).unwrap_or_default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxmox_script_runs_against_the_server() {
    let server = TestServer::start().await;
    let admin = setup_admin(&server).await;
    set_server_url(&server).await;
    let (_, key, secret) = create_token(
        &server,
        &admin,
        json!({"token_name": "pve", "max_hosts_per_day": 3}),
    )
    .await;
    let (s, _, script) = fetch_script(
        &server,
        &format!("type=proxmox-lxc&token_key={key}&token_secret={secret}"),
    )
    .await;
    assert_eq!(s, 200);
    let work = tempfile::tempdir().unwrap();
    let script_path = work.path().join("proxmox_auto_enroll.sh");
    std::fs::write(&script_path, &script).unwrap();

    let pve = FakePve::new(&[
        ("100", "running", "web", "not_configured"),
        ("101", "running", "db", "ping_success"),
        ("102", "stopped", "old", "not_configured"),
        ("103", "running", "cache", "ping_failed"),
    ]);

    // Dry run: reports, creates nothing.
    let (ok, out) = tokio::task::block_in_place(|| {
        pve.run(
            &script_path,
            &[("DRY_RUN", "true"), ("HOST_PREFIX", "prod-")],
        )
    });
    assert!(ok, "{out}");
    assert!(out.contains("[INFO] Found 4 LXC container(s)"), "{out}");
    assert!(out.contains("[DRY RUN] Would enroll: prod-web"), "{out}");
    assert!(out.contains("[DRY RUN] Would enroll: prod-cache"), "{out}");
    assert!(!out.contains("Would enroll: prod-db"), "{out}");
    assert!(out.contains("Successfully Enrolled: 2 (dry run)"), "{out}");
    assert_eq!(host_count(&server).await, 0);

    // The real run: 100 and 103 enrolled and installed, 101 (agent pings)
    // and 102 (stopped) skipped.
    let (ok, out) =
        tokio::task::block_in_place(|| pve.run(&script_path, &[("HOST_PREFIX", "prod-")]));
    assert!(ok, "{out}");
    assert!(
        out.contains("[SUCCESS] LXC 100 (prod-web): agent installed"),
        "{out}"
    );
    assert!(
        out.contains("LXC 101 (prod-db): skipped (agent already installed and reporting)"),
        "{out}"
    );
    assert!(out.contains("LXC 102: skipped (not running)"), "{out}");
    assert!(out.contains("Successfully Enrolled: 2\n"), "{out}");
    assert!(out.contains("Skipped: 2"), "{out}");
    assert_eq!(host_count(&server).await, 2);
    let names: Vec<(String, Option<String>, Option<String>)> = with_db!(server.db(), p => sqlx::query_as(
        "SELECT friendly_name, enrollment_machine_id, ip FROM hosts ORDER BY friendly_name").fetch_all(p).await).unwrap();
    assert_eq!(
        names[0],
        (
            "prod-cache".into(),
            Some("mid-103-cache".into()),
            Some("10.0.0.103".into())
        )
    );
    assert_eq!(names[1].0, "prod-web");
    let log = pve.install_log("100");
    assert!(log.contains("/api/v1/hosts/install?arch=amd64"), "{log}");
    let api_id: String = with_db!(server.db(), p => sqlx::query_scalar(
        "SELECT api_id FROM hosts WHERE friendly_name = 'prod-web'").fetch_one(p).await)
    .unwrap();
    assert!(log.contains(&api_id), "{log}");

    // Rerun (cron): already-enrolled machines are skipped by the server (409).
    let (ok, out) =
        tokio::task::block_in_place(|| pve.run(&script_path, &[("HOST_PREFIX", "prod-")]));
    assert!(ok, "{out}");
    assert!(
        out.contains("LXC 100 (prod-web): skipped (already enrolled on the server)"),
        "{out}"
    );
    assert!(out.contains("Successfully Enrolled: 0\n"), "{out}");
    assert_eq!(host_count(&server).await, 2);

    // Quota: one left today; two new containers → one enrolled, one failed
    // with the quota named, exit status 1.
    let pve2 = FakePve::new(&[
        ("200", "running", "a", "not_configured"),
        ("201", "running", "b", "not_configured"),
    ]);
    let (ok, out) = tokio::task::block_in_place(|| pve2.run(&script_path, &[]));
    assert!(!ok, "{out}");
    assert!(out.contains("Successfully Enrolled: 1\n"), "{out}");
    assert!(out.contains("Failed: 1"), "{out}");
    assert!(out.contains("daily quota exhausted"), "{out}");
    assert_eq!(host_count(&server).await, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_host_script_dry_run_and_duplicate() {
    let server = TestServer::start().await;
    let admin = setup_admin(&server).await;
    set_server_url(&server).await;
    let (_, key, secret) = create_token(
        &server,
        &admin,
        json!({"token_name": "direct", "metadata": {"integration_type": "direct-host"}}),
    )
    .await;
    let (_, _, script) = fetch_script(
        &server,
        &format!("type=direct-host&token_key={key}&token_secret={secret}"),
    )
    .await;
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("enroll.sh");
    std::fs::write(&path, &script).unwrap();
    let run = |env: &[(&str, &str)]| {
        let mut c = std::process::Command::new("sh");
        c.arg(&path).env("TMPDIR", work.path());
        for (k, v) in env {
            c.env(k, v);
        }
        let o = c.output().unwrap();
        (
            o.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
        )
    };
    let (ok, out) = tokio::task::block_in_place(|| {
        run(&[("DRY_RUN", "true"), ("FRIENDLY_NAME", "my \"quoted\" host")])
    });
    assert!(ok, "{out}");
    assert!(
        out.contains(r#""friendly_name":"my \"quoted\" host""#),
        "{out}"
    );
    assert_eq!(host_count(&server).await, 0);

    // This machine enrolled already (same machine id): the script says so
    // and exits 0 without creating anything.
    let mid = std::fs::read_to_string("/etc/machine-id")
        .unwrap_or_default()
        .trim()
        .to_owned();
    if !mid.is_empty() {
        let (s, _, _) = enroll(
            &server,
            &key,
            &secret,
            json!({"friendly_name": "me", "machine_id": mid}),
        )
        .await;
        assert_eq!(s, 201);
        let (ok, out) = tokio::task::block_in_place(|| run(&[]));
        assert!(ok, "{out}");
        assert!(out.contains("already enrolled"), "{out}");
        assert_eq!(host_count(&server).await, 1);
    }
}
