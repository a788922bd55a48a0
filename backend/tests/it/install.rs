//! Agent installation and removal: the real install script run with `sh`
//! into a temporary root, downloading and verifying the real agent binary,
//! whose `ping` must then reach this server; bootstrap tokens (single use,
//! expiry, concurrency); the version endpoint fed by the binaries directory;
//! and the removal script.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use chrono::{Duration, Utc};
use patchmon_server::clock::ManualClock;
use patchmon_server::testkit::{HostCredentials, TestServer};
use patchmon_server::with_db;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::client;

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Newest modification time of the files under `p`.
fn newest_mtime(p: &Path) -> Option<SystemTime> {
    let meta = std::fs::metadata(p).ok()?;
    if meta.is_file() {
        return meta.modified().ok();
    }
    std::fs::read_dir(p)
        .ok()?
        .flatten()
        .filter_map(|e| newest_mtime(&e.path()))
        .max()
}

/// The real agent binary of this workspace: `PATCHMON_AGENT_BIN`, or
/// `<target>/<profile>/patchmon-agent` next to this test binary, built with
/// cargo first when it is missing or older than the agent's sources. (Under
/// `cargo test --workspace` cargo has already built it for the agent's tests.)
fn agent_binary() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(p) = std::env::var_os("PATCHMON_AGENT_BIN") {
            return PathBuf::from(p);
        }
        let exe = std::env::current_exe().expect("current_exe");
        // <target>/<profile>/deps/it-<hash>
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("profile dir")
            .to_path_buf();
        let bin = profile_dir.join("patchmon-agent");
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("workspace root");
        let sources = [
            "agent/src",
            "agent/Cargo.toml",
            "protocol/src",
            "protocol/Cargo.toml",
            "Cargo.lock",
        ]
        .iter()
        .filter_map(|p| newest_mtime(&root.join(p)))
        .max();
        let built = std::fs::metadata(&bin).and_then(|m| m.modified()).ok();
        let fresh = matches!((built, sources), (Some(b), Some(s)) if b >= s);
        if !fresh {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let target_dir = profile_dir.parent().expect("target dir");
            let mut cmd = std::process::Command::new(cargo);
            cmd.current_dir(root)
                .args(["build", "-p", "patchmon-agent", "--bin", "patchmon-agent"])
                .arg("--target-dir")
                .arg(target_dir);
            match profile_dir.file_name().and_then(|n| n.to_str()) {
                Some("debug") | None => {}
                Some(p) => {
                    cmd.args(["--profile", p]);
                }
            }
            let status = cmd.status().expect("run cargo build for the agent");
            assert!(status.success(), "building patchmon-agent failed");
        }
        assert!(bin.is_file(), "no agent binary at {}", bin.display());
        bin
    })
    .clone()
}

fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        _ => "arm",
    }
}

fn sha256_hex(b: &[u8]) -> String {
    Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

/// A binaries directory with the real agent for this machine and a manifest
/// (`version`, and the SHA-256 of `manifest_bytes`, default the binary itself).
struct AgentsDir {
    dir: tempfile::TempDir,
}

impl AgentsDir {
    fn new(version: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let name = format!("patchmon-agent-linux-{}", go_arch());
        let dest = dir.path().join(&name);
        std::fs::copy(agent_binary(), &dest).expect("copy agent");
        let bytes = std::fs::read(&dest).unwrap();
        let manifest = json!({"agents": [{
            "os": "linux", "arch": go_arch(), "file": name, "version": version,
            "sha256": sha256_hex(&bytes), "size": bytes.len(),
        }]});
        std::fs::write(dir.path().join("manifest.json"), manifest.to_string()).unwrap();
        Self { dir }
    }

    fn path(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    fn binary(&self) -> PathBuf {
        self.dir
            .path()
            .join(format!("patchmon-agent-linux-{}", go_arch()))
    }
}

async fn server_with(agents: &Path) -> TestServer {
    let dir = agents.to_path_buf();
    TestServer::start_with(move |c| c.agent_binaries_dir = dir).await
}

async fn get_text(
    server: &TestServer,
    creds: Option<&HostCredentials>,
    path_and_query: &str,
) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let mut req = client().get(format!("{}/api/v1{path_and_query}", server.url()));
    if let Some(c) = creds {
        req = req
            .header("X-API-ID", &c.api_id)
            .header("X-API-KEY", &c.api_key);
    }
    let r = req.send().await.expect("request");
    let status = r.status();
    let headers = r.headers().clone();
    (status, headers, r.text().await.expect("body"))
}

async fn installer(server: &TestServer, creds: &HostCredentials, query: &str) -> String {
    let (s, h, body) = get_text(server, Some(creds), &format!("/hosts/install{query}")).await;
    assert_eq!(s, 200, "{body}");
    assert!(
        h["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain"),
        "{h:?}"
    );
    assert_eq!(h["cache-control"], "no-store");
    body
}

fn exported(script: &str, var: &str) -> Option<String> {
    let prefix = format!("export {var}='");
    script.lines().find_map(|l| {
        l.strip_prefix(&prefix)
            .and_then(|r| r.strip_suffix('\''))
            .map(str::to_owned)
    })
}

async fn exchange(server: &TestServer, body: &Value) -> (StatusCode, String) {
    let r = client()
        .post(format!("{}/api/v1/hosts/bootstrap/exchange", server.url()))
        .json(body)
        .send()
        .await
        .expect("request");
    let s = r.status();
    (s, r.text().await.unwrap())
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs a script with `sh` under `root` (PATCHMON_ROOT), no service.
async fn run_sh(script: &str, root: &Path, env: &[(&str, &str)]) -> Run {
    let file = root.join("script.sh");
    std::fs::write(&file, script).unwrap();
    let mut cmd = tokio::process::Command::new("sh");
    cmd.arg(&file)
        .env("PATCHMON_ROOT", root.join("root"))
        .env("PATCHMON_SERVICE", "none");
    for v in [
        "http_proxy",
        "HTTP_PROXY",
        "https_proxy",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "all_proxy",
        "FORCE_INSTALL",
        "REMOVE_BACKUPS",
        "SILENT",
    ] {
        cmd.env_remove(v);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().await.expect("run sh");
    let _ = std::fs::remove_file(&file);
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn backups(dir: &Path, prefix: &str) -> usize {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .filter(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .starts_with(&format!("{prefix}.backup."))
                })
                .count()
        })
        .unwrap_or(0)
}

async fn set_settings(server: &TestServer, auto_update: bool, server_url: Option<&str>) {
    with_db!(server.db(), p => sqlx::query("UPDATE settings SET auto_update = $1, server_url = $2 WHERE id = 1")
        .bind(auto_update).bind(server_url).execute(p).await.map(|_| ()))
    .unwrap();
}

#[tokio::test]
async fn install_script_installs_the_agent_end_to_end() {
    let agents = AgentsDir::new(VERSION);
    let server = server_with(&agents.path()).await;
    let h = server.create_host("web-01").await;
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");

    let script = installer(&server, &h, "").await;
    assert!(script.starts_with("#!/bin/sh\n"));
    assert!(
        !script.contains(&h.api_key),
        "the API key must never be in the script"
    );
    assert_eq!(exported(&script, "PATCHMON_URL").unwrap(), server.url());
    assert_eq!(exported(&script, "PATCHMON_OS").as_deref(), Some("linux"));
    assert_eq!(exported(&script, "CURL_FLAGS").as_deref(), Some("-s"));
    assert_eq!(
        exported(&script, "SKIP_SSL_VERIFY").as_deref(),
        Some("false")
    );
    assert_eq!(exported(&script, "FORCE_INSTALL").as_deref(), Some("false"));
    assert_eq!(exported(&script, "ARCHITECTURE"), None);
    let token = exported(&script, "BOOTSTRAP_TOKEN").unwrap();
    assert_eq!(token.len(), 64);
    if let Ok(out) = std::process::Command::new("shellcheck")
        .args(["-s", "sh", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(script.as_bytes())?;
            c.wait_with_output()
        })
    {
        assert!(
            out.status.success(),
            "shellcheck: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }

    // 1. A fresh install, for real: token exchange, download, SHA-256, ping.
    let started = std::time::Instant::now();
    let run = run_sh(&script, tmp.path(), &[]).await;
    eprintln!("fresh install took {:?}\n{run}", started.elapsed());
    assert_eq!(run.code, Some(0), "{run}");
    assert!(
        run.stdout
            .contains("PatchMon Agent installation completed successfully"),
        "{run}"
    );
    assert!(run.stdout.contains("agent binary verified"), "{run}");
    let etc = root.join("etc/patchmon");
    let bin = root.join("usr/local/bin/patchmon-agent");
    assert_eq!(
        std::fs::read(&bin).unwrap(),
        std::fs::read(agents.binary()).unwrap()
    );
    assert_eq!(mode(&bin), 0o755);
    assert_eq!(mode(&etc.join("config.yml")), 0o600);
    assert_eq!(mode(&etc.join("credentials.yml")), 0o600);
    let creds = std::fs::read_to_string(etc.join("credentials.yml")).unwrap();
    assert!(
        creds.contains(&format!("api_id: \"{}\"", h.api_id)),
        "{creds}"
    );
    assert!(creds.contains(&format!("api_key: \"{}\"", h.api_key)));
    let config = std::fs::read_to_string(etc.join("config.yml")).unwrap();
    assert!(
        config.contains(&format!("patchmon_server: \"{}\"", server.url())),
        "{config}"
    );
    assert!(config.contains("skip_ssl_verify: false"));
    // The agent's ping reached the server with those credentials.
    assert_eq!(server.host(&h.api_id).await.unwrap()["status"], "active");
    // The agent can read what the installer wrote.
    let show = std::process::Command::new(&bin)
        .arg("--config")
        .arg(etc.join("config.yml"))
        .args(["config", "show"])
        .output()
        .unwrap();
    let show = String::from_utf8_lossy(&show.stdout);
    assert!(show.contains(&h.api_id), "{show}");
    assert!(show.contains(&server.url()), "{show}");

    // 2. The token was single use.
    let (s, body) = exchange(&server, &json!({"token": token})).await;
    assert_eq!(s, 401);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["error"],
        "Invalid or expired bootstrap token"
    );

    // 3. Again, without force: already configured, nothing touched.
    let before_cfg = std::fs::read(etc.join("config.yml")).unwrap();
    let before_mtime = std::fs::metadata(etc.join("config.yml"))
        .unwrap()
        .modified()
        .unwrap();
    let run = run_sh(&installer(&server, &h, "").await, tmp.path(), &[]).await;
    assert_eq!(run.code, Some(0), "{run}");
    assert!(run.stdout.contains("already configured"), "{run}");
    assert_eq!(std::fs::read(etc.join("config.yml")).unwrap(), before_cfg);
    assert_eq!(
        std::fs::metadata(etc.join("config.yml"))
            .unwrap()
            .modified()
            .unwrap(),
        before_mtime
    );
    assert_eq!(backups(&etc, "config.yml"), 0);

    // 4. force=true reinstalls and keeps backups.
    let forced = installer(&server, &h, "?force=1").await;
    assert_eq!(exported(&forced, "FORCE_INSTALL").as_deref(), Some("true"));
    let run = run_sh(&forced, tmp.path(), &[]).await;
    assert_eq!(run.code, Some(0), "{run}");
    assert!(
        run.stdout
            .contains("PatchMon Agent installation completed successfully")
    );
    assert_eq!(backups(&etc, "config.yml"), 1);
    assert_eq!(backups(&etc, "credentials.yml"), 1);
    assert_eq!(backups(&root.join("usr/local/bin"), "patchmon-agent"), 1);

    // 5. A systemd unit is written under the root (no service manager is called there).
    let run = run_sh(
        &installer(&server, &h, "?force=true").await,
        tmp.path(),
        &[("PATCHMON_SERVICE", "systemd")],
    )
    .await;
    assert_eq!(run.code, Some(0), "{run}");
    let unit =
        std::fs::read_to_string(root.join("etc/systemd/system/patchmon-agent.service")).unwrap();
    assert!(unit.contains("ExecStart=/usr/local/bin/patchmon-agent serve"));

    // 6. Removal: files go, backups stay; then with REMOVE_BACKUPS=1 everything goes.
    let (s, hdrs, remove) = get_text(&server, None, "/hosts/remove").await;
    assert_eq!(s, 200);
    assert!(
        hdrs["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert!(remove.starts_with("#!/bin/sh\n"));
    let run = run_sh(&remove, tmp.path(), &[]).await;
    assert_eq!(run.code, Some(0), "{run}");
    assert!(run.stdout.contains("delete it in the web UI"), "{run}");
    assert!(!bin.exists());
    assert!(!etc.join("config.yml").exists());
    assert!(!etc.join("credentials.yml").exists());
    assert!(!etc.join("logs").exists());
    assert!(
        !root
            .join("etc/systemd/system/patchmon-agent.service")
            .exists()
    );
    assert!(backups(&etc, "config.yml") >= 1);
    assert!(backups(&root.join("usr/local/bin"), "patchmon-agent") >= 1);
    let run = run_sh(
        &remove,
        tmp.path(),
        &[("REMOVE_BACKUPS", "1"), ("SILENT", "1")],
    )
    .await;
    assert_eq!(run.code, Some(0), "{run}");
    assert_eq!(run.stdout, "", "SILENT=1 prints nothing");
    assert!(!etc.exists());
    assert_eq!(backups(&root.join("usr/local/bin"), "patchmon-agent"), 0);
    // The host record stays on the server.
    assert!(server.host(&h.api_id).await.is_some());
}

#[tokio::test]
async fn installer_refuses_a_binary_that_does_not_match_the_manifest() {
    let agents = AgentsDir::new(VERSION);
    // The binary on disk changes after the manifest was written.
    let mut bytes = std::fs::read(agents.binary()).unwrap();
    bytes.extend_from_slice(b"tampered");
    std::fs::write(agents.binary(), &bytes).unwrap();
    let server = server_with(&agents.path()).await;
    let h = server.create_host("web-02").await;
    let tmp = tempfile::tempdir().unwrap();
    let run = run_sh(&installer(&server, &h, "").await, tmp.path(), &[]).await;
    assert_eq!(run.code, Some(1), "{run}");
    assert!(run.stderr.contains("SHA-256 mismatch"), "{run}");
    assert!(
        !run.stdout
            .contains("PatchMon Agent installation completed successfully")
    );
    // Nothing was written.
    assert!(!tmp.path().join("root/etc/patchmon").exists());
    assert!(
        !tmp.path()
            .join("root/usr/local/bin/patchmon-agent")
            .exists()
    );
    assert_eq!(server.host(&h.api_id).await.unwrap()["status"], "pending");
}

#[tokio::test]
async fn installer_without_a_binary_fails_clearly() {
    let empty = tempfile::tempdir().unwrap();
    let server = server_with(empty.path()).await;
    let h = server.create_host("web-03").await;
    let tmp = tempfile::tempdir().unwrap();
    let run = run_sh(&installer(&server, &h, "").await, tmp.path(), &[]).await;
    assert_eq!(run.code, Some(1), "{run}");
    assert!(run.stderr.contains("has no agent binary"), "{run}");
    assert!(!tmp.path().join("root/etc/patchmon").exists());
}

#[tokio::test]
async fn bootstrap_tokens_expire_after_five_minutes() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let server = TestServer::start_with_clock(|_| {}, clock.clone()).await;
    let h = server.create_host("db-01").await;
    let t1 = exported(&installer(&server, &h, "").await, "BOOTSTRAP_TOKEN").unwrap();
    let t2 = exported(&installer(&server, &h, "").await, "BOOTSTRAP_TOKEN").unwrap();
    assert_ne!(t1, t2);
    clock.advance(Duration::seconds(299));
    let (s, body) = exchange(&server, &json!({"token": t1})).await;
    assert_eq!(s, 200, "{body}");
    // Compact JSON, as the scripts grep it.
    assert_eq!(
        body,
        format!(r#"{{"apiId":"{}","apiKey":"{}"}}"#, h.api_id, h.api_key)
    );
    clock.advance(Duration::seconds(2));
    let (s, body) = exchange(&server, &json!({"token": t2})).await;
    assert_eq!(s, 401, "{body}");
    // The expired one is gone: a later mint prunes it.
    let _ = installer(&server, &h, "").await;
    let left: i64 = with_db!(server.db(), p =>
        sqlx::query_scalar("SELECT COUNT(*) FROM bootstrap_tokens").fetch_one(p).await)
    .unwrap();
    assert_eq!(left, 1);
}

#[tokio::test]
async fn concurrent_exchanges_of_one_token_have_one_winner() {
    let server = TestServer::start().await;
    let h = server.create_host("db-02").await;
    for _ in 0..3 {
        let token = exported(&installer(&server, &h, "").await, "BOOTSTRAP_TOKEN").unwrap();
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let url = format!("{}/api/v1/hosts/bootstrap/exchange", server.url());
                let token = token.clone();
                tokio::spawn(async move {
                    client()
                        .post(url)
                        .json(&json!({ "token": token }))
                        .send()
                        .await
                        .unwrap()
                        .status()
                })
            })
            .collect();
        let mut ok = 0;
        let mut unauthorized = 0;
        for t in tasks {
            match t.await.unwrap() {
                StatusCode::OK => ok += 1,
                StatusCode::UNAUTHORIZED => unauthorized += 1,
                other => panic!("unexpected {other}"),
            }
        }
        assert_eq!((ok, unauthorized), (1, 7));
    }
}

#[tokio::test]
async fn install_and_exchange_reject_bad_input() {
    let server = TestServer::start().await;
    let h = server.create_host("edge-01").await;

    // Credentials are required for the installer, and must be right.
    let (s, _, _) = get_text(&server, None, "/hosts/install").await;
    assert_eq!(s, 401);
    let wrong = HostCredentials {
        api_key: "0".repeat(64),
        ..h.clone()
    };
    let (s, _, _) = get_text(&server, Some(&wrong), "/hosts/install").await;
    assert_eq!(s, 401);

    // Only allowlisted values reach the script.
    for q in [
        "?arch=amd64%27%3B%20id%3B%20%27",
        "?arch=x86_64",
        "?arch=$(id)",
        "?os=plan9",
        "?os=windows",
        "?os=linux%0Aid",
    ] {
        let (s, _, body) = get_text(&server, Some(&h), &format!("/hosts/install{q}")).await;
        assert_eq!(s, 400, "{q}: {body}");
        assert!(!body.contains("export"), "{q}");
    }
    let script = installer(&server, &h, "?arch=arm64&os=freebsd&force=yes").await;
    assert_eq!(exported(&script, "ARCHITECTURE").as_deref(), Some("arm64"));
    assert_eq!(exported(&script, "PATCHMON_OS").as_deref(), Some("freebsd"));
    assert_eq!(
        exported(&script, "FORCE_INSTALL").as_deref(),
        Some("false"),
        "only true|1 force"
    );

    // The configured server URL and the self-signed setting are honoured.
    set_settings(&server, false, Some("https://pm.example.com/")).await;
    with_db!(server.db(), p => sqlx::query("UPDATE settings SET ignore_ssl_self_signed = $1 WHERE id = 1")
        .bind(true).execute(p).await.map(|_| ()))
    .unwrap();
    let script = installer(&server, &h, "").await;
    assert_eq!(
        exported(&script, "PATCHMON_URL").as_deref(),
        Some("https://pm.example.com")
    );
    assert_eq!(exported(&script, "CURL_FLAGS").as_deref(), Some("-sk"));
    assert_eq!(
        exported(&script, "SKIP_SSL_VERIFY").as_deref(),
        Some("true")
    );

    // Exchange: missing token 400, malformed or unknown 401.
    for body in [json!({}), json!({"token": ""}), json!({"token": null})] {
        let (s, text) = exchange(&server, &body).await;
        assert_eq!(s, 400, "{body}");
        assert_eq!(
            serde_json::from_str::<Value>(&text).unwrap()["error"],
            "Bootstrap token required"
        );
    }
    for token in ["abc", &"z".repeat(64), &"0".repeat(64)] {
        let (s, _) = exchange(&server, &json!({ "token": token })).await;
        assert_eq!(s, 401, "{token}");
    }
    let r = client()
        .post(format!("{}/api/v1/hosts/bootstrap/exchange", server.url()))
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    // Minting is capped per host (10 live tokens; the earlier scripts count).
    let mut last = StatusCode::OK;
    for _ in 0..12 {
        let (s, _, _) = get_text(&server, Some(&h), "/hosts/install").await;
        last = s;
        if s != StatusCode::OK {
            break;
        }
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
    let live: i64 = with_db!(server.db(), p =>
        sqlx::query_scalar("SELECT COUNT(*) FROM bootstrap_tokens").fetch_one(p).await)
    .unwrap();
    assert_eq!(live, 10);

    // Exchanges are rate limited per IP (30 a minute; 9 were made above).
    let mut limited = None;
    for i in 0..40 {
        let (s, _) = exchange(&server, &json!({"token": "0".repeat(64)})).await;
        if s == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(i);
            break;
        }
    }
    assert!(limited.is_some(), "no 429 after 40 exchanges");

    // The removal script has no Windows variant.
    let (s, _, _) = get_text(&server, None, "/hosts/remove?os=windows").await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn version_and_download_follow_the_binaries_directory() {
    let agents = AgentsDir::new("99.0.0");
    let server = server_with(&agents.path()).await;
    let h = server.create_host("app-01").await;
    let arch = go_arch();
    let q = format!("/hosts/agent/version?arch={arch}&os=linux&type=rust&currentVersion=1.0.0");
    let sha = sha256_hex(&std::fs::read(agents.binary()).unwrap());

    // Server-wide auto-update is off by default.
    let (s, _, body) = get_text(&server, Some(&h), &q).await;
    assert_eq!(s, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["latestVersion"], "99.0.0");
    assert_eq!(v["currentVersion"], "1.0.0");
    assert_eq!(v["hash"], sha);
    assert_eq!(
        v["downloadUrl"],
        format!("/api/v1/hosts/agent/download?arch={arch}&os=linux")
    );
    assert_eq!(v["hasUpdate"], false);
    assert_eq!(v["autoUpdateDisabled"], true);
    assert_eq!(
        v["autoUpdateDisabledReason"],
        "Auto-update is disabled in the server settings"
    );
    assert!(
        body.starts_with(r#"{"agentType":"rust","architecture":"#),
        "{body}"
    );

    set_settings(&server, true, None).await;
    let (_, _, body) = get_text(&server, Some(&h), &q).await;
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["hasUpdate"], true, "{body}");
    assert_eq!(v["autoUpdateDisabled"], false);
    assert_eq!(v["autoUpdateDisabledReason"], "");
    assert_eq!(v["releaseNotes"], "PatchMon Agent v99.0.0");

    // Up to date, or newer than the server's build: no update.
    for current in ["99.0.0", "99.0.1"] {
        let (_, _, body) = get_text(
            &server,
            Some(&h),
            &format!("/hosts/agent/version?arch={arch}&os=linux&currentVersion={current}"),
        )
        .await;
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap()["hasUpdate"],
            false
        );
    }
    // Auto-update off for this host.
    with_db!(server.db(), p => sqlx::query("UPDATE hosts SET auto_update = $1 WHERE api_id = $2")
        .bind(false).bind(&h.api_id).execute(p).await.map(|_| ()))
    .unwrap();
    let (_, _, body) = get_text(&server, Some(&h), &q).await;
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["hasUpdate"], false);
    assert_eq!(
        v["autoUpdateDisabledReason"],
        "Auto-update is disabled for this host"
    );

    // No binary for a platform: 404 with latestVersion null; bad values 400.
    let other = if arch == "arm64" { "386" } else { "arm64" };
    let (s, _, body) = get_text(
        &server,
        Some(&h),
        &format!("/hosts/agent/version?arch={other}&os=linux"),
    )
    .await;
    assert_eq!(s, 404);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["latestVersion"], Value::Null);
    assert_eq!(v["hasUpdate"], false);
    assert!(v["error"].as_str().unwrap().contains("No agent binary"));
    for bad in [
        "arch=sparc&os=linux",
        "arch=amd64&os=haiku",
        "arch=arm&os=windows",
    ] {
        let (s, _, _) = get_text(&server, Some(&h), &format!("/hosts/agent/version?{bad}")).await;
        assert_eq!(s, 400, "{bad}");
        let (s, _, _) = get_text(&server, Some(&h), &format!("/hosts/agent/download?{bad}")).await;
        assert_eq!(s, 400, "{bad}");
    }

    // Download: the exact bytes, as an attachment; force=binary is ignored.
    let r = client()
        .get(format!(
            "{}/api/v1/hosts/agent/download?arch={arch}&os=linux&force=binary",
            server.url()
        ))
        .header("X-API-ID", &h.api_id)
        .header("X-API-KEY", &h.api_key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/octet-stream");
    assert_eq!(
        r.headers()["content-disposition"],
        format!("attachment; filename=\"patchmon-agent-linux-{arch}\"")
    );
    let bytes = r.bytes().await.unwrap();
    assert_eq!(sha256_hex(&bytes), sha);
    let (s, _, body) = get_text(
        &server,
        Some(&h),
        &format!("/hosts/agent/download?arch={other}&os=linux"),
    )
    .await;
    assert_eq!(s, 404);
    assert!(serde_json::from_str::<Value>(&body).unwrap()["error"].is_string());
    let (s, _, _) = get_text(&server, None, &format!("/hosts/agent/download?arch={arch}")).await;
    assert_eq!(s, 401);
}

#[tokio::test]
async fn version_is_read_from_the_binary_without_a_manifest() {
    let agents = AgentsDir::new("ignored");
    std::fs::remove_file(agents.path().join("manifest.json")).unwrap();
    let server = server_with(&agents.path()).await;
    let h = server.create_host("app-02").await;
    let (s, _, body) = get_text(
        &server,
        Some(&h),
        &format!(
            "/hosts/agent/version?arch={}&os=linux&currentVersion=0.0.1",
            go_arch()
        ),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    // `patchmon-agent --version` of the real binary.
    assert_eq!(v["latestVersion"], VERSION);
    assert_eq!(
        v["hash"],
        sha256_hex(&std::fs::read(agents.binary()).unwrap())
    );
}
