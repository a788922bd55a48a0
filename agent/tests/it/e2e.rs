//! End to end: the real agent binary against the real server.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use patchmon_protocol::ServerMessage;
use patchmon_server::testkit::TestServer;

use crate::{HEAVY, dpkg_installed_count};

/// The agent binary under test: this build's, or `PATCHMON_AGENT_BIN`
/// (e.g. the size-optimised release build, to measure its memory).
fn bin() -> PathBuf {
    std::env::var_os("PATCHMON_AGENT_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_patchmon-agent")))
}

/// `VmRSS` and `VmHWM` (peak) of a process, in kB.
fn memory_kb(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    for l in status
        .lines()
        .filter(|l| l.starts_with("Rss") || l.starts_with("Threads"))
    {
        eprintln!("  {l}");
    }
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// An agent installation in a temp directory (config, credentials, logs, spool).
pub(crate) struct AgentDir {
    _dir: tempfile::TempDir,
    pub(crate) root: PathBuf,
}

impl AgentDir {
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().to_path_buf();
        // Never refresh apt's index in tests; keep debug logs for the assertions.
        std::fs::write(
            root.join("config.yml"),
            "package_cache_refresh_mode: never\nlog_level: debug\nsome_future_key: kept\n",
        )
        .expect("write config");
        Self { _dir: dir, root }
    }

    fn config(&self) -> PathBuf {
        self.root.join("config.yml")
    }

    pub(crate) fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(bin());
        c.arg("--config").arg(self.config()).args(args);
        c.env_remove("HTTPS_PROXY")
            .env_remove("HTTP_PROXY")
            .env_remove("https_proxy")
            .env_remove("http_proxy");
        c
    }

    pub(crate) async fn run(&self, args: &[&str]) -> Output {
        let mut c = self.cmd(args);
        tokio::task::spawn_blocking(move || c.output().expect("run agent"))
            .await
            .expect("join")
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.root.join("logs/patchmon-agent.log")).unwrap_or_default()
    }

    fn spool(&self) -> PathBuf {
        self.root.join("spool/report.json")
    }
}

/// A running `serve`, killed if the test ends early.
pub(crate) struct Serve(pub(crate) Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

pub(crate) async fn eventually<F, Fut>(timeout: Duration, cond: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    TestServer::wait_for(timeout, cond).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_api_ping_and_report_store_this_machines_packages() {
    let _serial = HEAVY.lock().await;
    let server = TestServer::start().await;
    let host = server.create_host("e2e-report").await;
    let agent = AgentDir::new();

    let out = agent
        .run(&[
            "config",
            "set-api",
            &host.api_id,
            &host.api_key,
            &server.url(),
        ])
        .await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("✅ API credentials are valid"),
        "{}",
        text(&out)
    );
    for f in ["config.yml", "credentials.yml"] {
        let mode = std::fs::metadata(agent.root.join(f))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{f}");
    }
    let cfg = std::fs::read_to_string(agent.config()).unwrap();
    assert!(
        cfg.contains(&server.url()) && cfg.contains("some_future_key: kept"),
        "{cfg}"
    );
    assert!(
        !cfg.contains(&host.api_key),
        "the key lives only in credentials.yml"
    );

    let out = agent.run(&["ping"]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("✅ Connectivity test successful"));

    let out = agent.run(&["config", "show"]).await;
    assert!(out.status.success(), "{}", text(&out));
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.contains(&host.api_id) && shown.contains("API Key: Set ✅"));
    assert!(
        !shown.contains(&host.api_key),
        "config show never prints the key"
    );

    let out = agent.run(&["check-version"]).await;
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("Current version: {}", env!("CARGO_PKG_VERSION"))),
        "{stdout}"
    );
    assert!(stdout.contains("No update available"), "{stdout}");

    let started = Instant::now();
    let out = agent.run(&["report"]).await;
    assert!(out.status.success(), "{}", text(&out));
    eprintln!("`report` took {:?}", started.elapsed());

    let expected = dpkg_installed_count() as i64;
    assert_eq!(server.host_package_count(&host.api_id).await, expected);
    assert_eq!(server.report_count(&host.api_id).await, 1);
    let row = server.host(&host.api_id).await.expect("host row");
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_eq!(row["hostname"], hostname.trim());
    assert_eq!(row["os_type"], "Debian GNU/Linux");
    assert_eq!(row["package_manager"], "apt");
    assert_eq!(row["status"], "active");
    assert!(!server.host_repositories(&host.api_id).await.is_empty());

    // `report --json` needs no credentials and sends nothing.
    let bare = AgentDir::new();
    let started = Instant::now();
    let out = bare.run(&["report", "--json"]).await;
    let took = started.elapsed();
    assert!(out.status.success(), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(
        v["packages"].as_array().map(Vec::len),
        Some(expected as usize)
    );
    eprintln!("`report --json`: {expected} packages in {took:?}");
    assert_eq!(
        server.report_count(&host.api_id).await,
        1,
        "report --json sends nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_obeys_report_now_and_delivers_the_spool_after_a_server_restart() {
    let _serial = HEAVY.lock().await;
    let mut server = TestServer::start().await;
    let host = server.create_host("e2e-serve").await;
    let agent = AgentDir::new();
    let out = agent
        .run(&[
            "config",
            "set-api",
            &host.api_id,
            &host.api_key,
            &server.url(),
        ])
        .await;
    assert!(out.status.success(), "{}", text(&out));

    let child = agent
        .cmd(&["serve"])
        .env("PATCHMON_AGENT_INTERVAL_SECS", "4")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn serve");
    let mut serve = Serve(child);
    let id = host.api_id.clone();

    assert!(
        eventually(Duration::from_secs(60), || async {
            server.is_connected(&id).await && server.report_count(&id).await >= 1
        })
        .await,
        "agent did not connect and send its startup report; log:\n{}",
        agent.log()
    );
    let cfg = std::fs::read_to_string(agent.config()).unwrap();
    assert!(cfg.contains("report_offset"), "offset persisted: {cfg}");

    let (rss, peak) = memory_kb(serve.0.id());
    eprintln!("serve after the startup report: VmRSS {rss} kB, VmHWM (peak) {peak} kB");

    // Commands this version cannot run (or this server cannot serve: it has
    // no agent builds) are answered, never fatal.
    assert!(server.send_command(&id, ServerMessage::UpdateAgent).await);
    assert!(
        server
            .send_command(&id, ServerMessage::DockerInventoryRefresh)
            .await
    );

    // report_now over the WebSocket: a new report within 2 s. Send it right
    // after a check-in finished, so it does not queue behind the next one
    // (4 s ticks in this test; hourly in real life).
    let checkins = agent.log().matches("check-in: nothing changed").count();
    assert!(
        eventually(Duration::from_secs(30), || async {
            agent.log().matches("check-in: nothing changed").count() > checkins
        })
        .await,
        "no hash-gated check-in; log:\n{}",
        agent.log()
    );
    let before = server.report_count(&id).await;
    let sent = Instant::now();
    assert!(server.send_command(&id, ServerMessage::ReportNow).await);
    let landed = eventually(Duration::from_secs(2), || async {
        server.report_count(&id).await > before
    })
    .await;
    eprintln!("report_now → stored report after {:?}", sent.elapsed());
    assert!(
        landed,
        "no report within 2 s of report_now; log:\n{}",
        agent.log()
    );
    assert!(server.is_connected(&id).await);
    let log = agent.log();
    assert!(
        log.contains("update failed: the server has no agent build for this platform")
            && log.contains("server command docker_inventory_refresh: not supported"),
        "{log}"
    );

    // A hand edit made while the agent runs survives its later rewrites.
    let edited = std::fs::read_to_string(agent.config())
        .unwrap()
        .replace("ssh-proxy-enabled: false", "ssh-proxy-enabled: true");
    assert!(edited.contains("ssh-proxy-enabled: true"));
    std::fs::write(agent.config(), edited).unwrap();

    // settings_update is saved to config.yml (the schedule itself is pinned
    // by PATCHMON_AGENT_INTERVAL_SECS in this test).
    assert!(
        server
            .send_command(
                &id,
                ServerMessage::SettingsUpdate {
                    update_interval: Some(30),
                    compliance_scan_interval: None,
                    package_cache_refresh_mode: Some("never".into()),
                    package_cache_refresh_max_age: None,
                },
            )
            .await
    );
    assert!(
        eventually(Duration::from_secs(5), || async {
            std::fs::read_to_string(agent.config())
                .unwrap_or_default()
                .contains("update_interval: 30")
        })
        .await,
        "settings_update not saved; log:\n{}",
        agent.log()
    );

    // apply_config: saved (never touching ssh-proxy-enabled), then the agent
    // restarts in place and reconnects.
    let pid = serve.0.id();
    let starts = agent.log().matches("starting; server").count();
    assert!(
        server
            .send_command(
                &id,
                ServerMessage::ApplyConfig {
                    config: patchmon_protocol::messages::ApplyConfig {
                        docker: Some(true),
                        ..Default::default()
                    },
                },
            )
            .await
    );
    assert!(
        eventually(Duration::from_secs(60), || async {
            agent.log().matches("starting; server").count() > starts
                && server.is_connected(&id).await
        })
        .await,
        "agent did not restart and reconnect after apply_config; log:\n{}",
        agent.log()
    );
    assert_eq!(serve.0.id(), pid);
    assert!(
        serve.0.try_wait().expect("wait").is_none(),
        "restarted in place, same process"
    );
    let cfg = std::fs::read_to_string(agent.config()).unwrap();
    let yaml: serde_json::Value =
        serde_norway::from_str(&cfg).expect("config.yml stays valid YAML");
    // (integrations.docker itself is re-synced from the server's state at start-up.)
    assert!(
        agent
            .log()
            .contains("configuration applied by the server; restarting")
    );
    assert_eq!(
        yaml["integrations"]["ssh-proxy-enabled"], true,
        "the hand-set value is kept: {cfg}"
    );
    assert_eq!(yaml["some_future_key"], "kept", "{cfg}");

    // Steady state: a few hash-gated check-ins later.
    assert!(
        eventually(Duration::from_secs(30), || async {
            agent.log().matches("check-in: nothing changed").count() >= 2
        })
        .await,
        "hash-gated check-ins with unchanged hashes send nothing; log:\n{}",
        agent.log()
    );
    let (rss, peak) = memory_kb(serve.0.id());
    eprintln!("serve steady (after check-ins): VmRSS {rss} kB, VmHWM (peak) {peak} kB");

    // Server goes away: the next check-in spools a full report.
    let before = server.report_count(&id).await;
    server.stop().await;
    assert!(
        eventually(Duration::from_secs(60), || async { agent.spool().exists() }).await,
        "no spool while the server was down; log:\n{}",
        agent.log()
    );
    assert!(
        serve.0.try_wait().expect("wait").is_none(),
        "agent must keep running"
    );
    let spooled: serde_json::Value =
        serde_json::from_slice(&std::fs::read(agent.spool()).unwrap()).unwrap();
    assert_eq!(
        spooled["packages"].as_array().map(Vec::len),
        Some(dpkg_installed_count())
    );

    // Server is back: the agent reconnects and the spooled report arrives.
    server.restart().await;
    assert!(
        eventually(Duration::from_secs(90), || async {
            server.is_connected(&id).await
                && server.report_count(&id).await > before
                && !agent.spool().exists()
        })
        .await,
        "spooled report not delivered after restart; log:\n{}",
        agent.log()
    );
    let log = agent.log();
    assert!(
        log.contains("spooled report delivered") || log.contains("server back after an outage"),
        "{log}"
    );
    let dial_warnings = log
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("WebSocket"))
        .count();
    assert_eq!(
        dial_warnings, 1,
        "one warning per outage, not one per failed dial:\n{log}"
    );

    // Clean shutdown on SIGTERM.
    let pid = serve.0.id().to_string();
    let st = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(st.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = serve.0.try_wait().expect("wait") {
            break s;
        }
        assert!(Instant::now() < deadline, "agent did not stop on SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status:?}");
    assert!(agent.log().contains("SIGTERM received"));
    assert!(
        eventually(Duration::from_secs(5), || async {
            !server.is_connected(&id).await
        })
        .await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_url_and_bad_credentials_fail_clearly() {
    let _serial = HEAVY.lock().await;
    let server = TestServer::start().await;
    let host = server.create_host("e2e-bad").await;

    let agent = AgentDir::new();
    let out = agent
        .run(&[
            "config",
            "set-api",
            &host.api_id,
            &host.api_key,
            "not-a-url",
        ])
        .await;
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("must start with http:// or https://"),
        "{}",
        text(&out)
    );

    // Nothing listens on port 1.
    let out = agent
        .run(&[
            "config",
            "set-api",
            &host.api_id,
            &host.api_key,
            "http://127.0.0.1:1",
        ])
        .await;
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot reach the server"),
        "{}",
        text(&out)
    );
    let out = agent.run(&["ping"]).await;
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("❌"),
        "{}",
        text(&out)
    );
    // An unreachable server: `report` fails but keeps the report for `serve`.
    let out = agent.run(&["report"]).await;
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("was saved to"),
        "{}",
        text(&out)
    );
    assert!(agent.spool().exists());

    let wrong_key = "0".repeat(64);
    let out = agent
        .run(&["config", "set-api", &host.api_id, &wrong_key, &server.url()])
        .await;
    assert!(!out.status.success(), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("401"), "{}", text(&out));
    let out = agent.run(&["report"]).await;
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("401"),
        "{}",
        text(&out)
    );
    assert_eq!(server.report_count(&host.api_id).await, 0);

    let missing = agent.root.join("nowhere/config.yml");
    let out = Command::new(bin())
        .arg("--config")
        .arg(&missing)
        .arg("ping")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("config set-api"),
        "{}",
        text(&out)
    );

    let out = Command::new(bin()).arg("--version").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("patchmon-agent version {}", env!("CARGO_PKG_VERSION"))
    );
    // Without a configuration, update-agent explains how to create one
    // (tests/it/update.rs covers real self-updates).
    let missing = std::env::temp_dir().join("patchmon-no-such-dir/config.yml");
    let out = Command::new(bin())
        .arg("--config")
        .arg(&missing)
        .arg("update-agent")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("config set-api"));
}

/// The hash-gated check-in against the real server, through the library:
/// a fresh host is asked for every section, our partial report passes the
/// server's canonical hash check, and afterwards nothing is requested.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hash_gated_check_in_and_partial_report_pass_the_servers_hash_check() {
    let _serial = HEAVY.lock().await;
    use patchmon_agent::client::Api;
    use patchmon_agent::collect::CollectOptions;
    use patchmon_agent::config::{CacheRefresh, Config, Credentials};

    let server = TestServer::start().await;
    let host = server.create_host("e2e-hashgate").await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yml");
    std::fs::write(&path, format!("patchmon_server: {}\n", server.url())).unwrap();
    let settings = Config::load(&path).unwrap().settings();
    let creds = Credentials {
        api_id: host.api_id.clone(),
        api_key: host.api_key.clone(),
    };
    let api = Api::new(&settings, &creds, 0).unwrap();

    let opts = CollectOptions {
        cache_refresh: CacheRefresh::Never,
        cache_max_age_minutes: 60,
    };
    let snap = tokio::task::spawn_blocking(move || patchmon_agent::report::collect_full(&opts))
        .await
        .unwrap()
        .unwrap();

    let r = api.ping(Some(&snap.ping_body())).await.unwrap();
    assert!(r.hash_gate, "our server announces hash-gated check-ins");
    for s in ["packages", "repos", "interfaces", "hostname"] {
        assert!(
            r.request_full.iter().any(|x| x == s),
            "{s} not requested: {:?}",
            r.request_full
        );
    }
    let sections: Vec<String> = r
        .request_full
        .iter()
        .filter(|s| patchmon_agent::report::PARTIAL_SECTIONS.contains(&s.as_str()))
        .cloned()
        .collect();
    let resp = api
        .send_report(&snap.partial(&sections))
        .await
        .expect("partial report accepted");
    assert_eq!(resp.packages_processed, dpkg_installed_count() as i64);
    assert_eq!(
        server.host_package_count(&host.api_id).await,
        dpkg_installed_count() as i64
    );

    let r = api.ping(Some(&snap.ping_body())).await.unwrap();
    assert!(
        r.request_full.is_empty(),
        "hashes match now: {:?}",
        r.request_full
    );
}

/// `version` and `report --json` work without root; the others refuse.
#[test]
fn only_version_config_show_and_report_json_run_without_root() {
    let _serial = HEAVY.blocking_lock();
    let as_nobody = |args: &[&str]| {
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(bin())
            .args(args)
            .output()
            .expect("setpriv")
    };
    let out = as_nobody(&["version"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = as_nobody(&["report", "--json", "--config", "/nonexistent/config.yml"]);
    assert!(out.status.success(), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        v["packages"].as_array().map(Vec::len),
        Some(dpkg_installed_count())
    );
    // config show, with a config a non-root user can read.
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let cfg = dir.path().join("config.yml");
    std::fs::write(&cfg, "patchmon_server: https://pm.example.com\n").unwrap();
    std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = as_nobody(&["config", "show", "--config", cfg.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Server: https://pm.example.com"),
        "{}",
        text(&out)
    );

    for cmd in [
        &["ping"][..],
        &["serve"],
        &["report"],
        &["config", "set-api", "a", "b", "http://x"],
    ] {
        let out = as_nobody(cmd);
        assert!(!out.status.success(), "{cmd:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("must be run as root"),
            "{}",
            text(&out)
        );
    }
}

/// `skip_ssl_verify` is refused in production.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skip_ssl_verify_is_refused_when_patchmon_env_is_production() {
    let server = TestServer::start().await;
    let host = server.create_host("e2e-tls").await;
    let agent = AgentDir::new();
    let out = agent
        .run(&[
            "config",
            "set-api",
            &host.api_id,
            &host.api_key,
            &server.url(),
        ])
        .await;
    assert!(out.status.success(), "{}", text(&out));
    let cfg = std::fs::read_to_string(agent.config())
        .unwrap()
        .replace("skip_ssl_verify: false", "skip_ssl_verify: true");
    std::fs::write(agent.config(), cfg).unwrap();

    let mut c = agent.cmd(&["ping"]);
    c.env("PATCHMON_ENV", "production");
    let out = tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("refused because PATCHMON_ENV=production"),
        "{}",
        text(&out)
    );

    let out = agent.run(&["ping"]).await;
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("verification is disabled"),
        "{}",
        text(&out)
    );
}

/// A minimal HTTP proxy: tunnels `CONNECT host:port` and passes plain
/// requests through to `upstream`. Returns its address and the CONNECT targets seen.
async fn fake_proxy(
    upstream: std::net::SocketAddr,
) -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::Mutex<Vec<String>>>,
) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let mut reader = BufReader::new(client);
                let mut head = String::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    head.push_str(&line);
                    if line == "\r\n" {
                        break;
                    }
                }
                let buffered = reader.buffer().to_vec();
                let mut client = reader.into_inner();
                let target = head
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or_default()
                    .to_owned();
                let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await else {
                    return;
                };
                if head.starts_with("CONNECT ") {
                    log.lock().unwrap().push(target);
                    let _ = client
                        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                        .await;
                } else {
                    let _ = server.write_all(head.as_bytes()).await;
                }
                let _ = server.write_all(&buffered).await;
                let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
            });
        }
    });
    (addr, seen)
}

/// The WebSocket goes through `HTTP_PROXY` (`HTTPS_PROXY` for wss) with CONNECT.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_honours_the_proxy_environment() {
    let _serial = HEAVY.lock().await;
    let server = TestServer::start().await;
    let host = server.create_host("e2e-proxy").await;
    let agent = AgentDir::new();
    let out = agent
        .run(&[
            "config",
            "set-api",
            &host.api_id,
            &host.api_key,
            &server.url(),
        ])
        .await;
    assert!(out.status.success(), "{}", text(&out));
    let (proxy, seen) = fake_proxy(server.addr()).await;

    let child = agent
        .cmd(&["serve"])
        .env("HTTP_PROXY", format!("http://{proxy}"))
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn serve");
    let _serve = Serve(child);
    let id = host.api_id.clone();
    assert!(
        eventually(Duration::from_secs(60), || async {
            server.is_connected(&id).await
        })
        .await,
        "no WebSocket through the proxy; log:\n{}",
        agent.log()
    );
    let targets = seen.lock().unwrap().clone();
    assert!(
        targets.contains(&server.addr().to_string()),
        "CONNECT targets: {targets:?}"
    );
}
