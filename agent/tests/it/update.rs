//! Self-update against the real server: `update-agent` and the `update_agent`
//! WebSocket command replace a copy of the real agent binary with the build
//! the server offers, after checking its SHA-256 and its `--version`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use patchmon_protocol::ServerMessage;
use patchmon_server::testkit::{HostCredentials, TestServer};
use sha2::{Digest, Sha256};

use crate::HEAVY;
use crate::e2e::{Serve, eventually, text};

fn go_arch() -> &'static str {
    patchmon_agent::client::go_arch()
}

fn sha256_hex(b: &[u8]) -> String {
    Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

/// A stand-in "new release": a script that answers `--version` like an agent.
fn fake_release(version: &str) -> Vec<u8> {
    format!("#!/bin/sh\necho \"patchmon-agent version {version}\"\n").into_bytes()
}

/// A binaries directory offering `bytes` as `version`, with `sha` in the manifest.
fn publish(dir: &Path, bytes: &[u8], version: &str, sha: &str) {
    let name = format!("patchmon-agent-linux-{}", go_arch());
    std::fs::write(dir.join(&name), bytes).unwrap();
    let manifest = serde_json::json!({"agents": [{"os": "linux", "arch": go_arch(), "file": name,
        "version": version, "sha256": sha, "size": bytes.len()}]});
    std::fs::write(dir.join("manifest.json"), manifest.to_string()).unwrap();
}

/// An installed agent: a copy of this build's binary, config and credentials.
struct Installed {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Installed {
    fn new(server: &TestServer, host: &HostCredentials) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        std::fs::create_dir_all(root.join("bin")).unwrap();
        std::fs::copy(
            env!("CARGO_BIN_EXE_patchmon-agent"),
            root.join("bin/patchmon-agent"),
        )
        .unwrap();
        std::fs::write(
            root.join("config.yml"),
            format!(
                "patchmon_server: {}\ncredentials_file: credentials.yml\nlog_file: logs/patchmon-agent.log\n\
                 log_level: debug\npackage_cache_refresh_mode: never\n",
                server.url()
            ),
        )
        .unwrap();
        std::fs::write(
            root.join("credentials.yml"),
            format!("api_id: {}\napi_key: {}\n", host.api_id, host.api_key),
        )
        .unwrap();
        Self { _dir: dir, root }
    }

    fn exe(&self) -> PathBuf {
        self.root.join("bin/patchmon-agent")
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(self.exe());
        c.arg("--config")
            .arg(self.root.join("config.yml"))
            .args(args);
        c.env_remove("HTTP_PROXY").env_remove("http_proxy");
        c
    }

    async fn run(&self, args: &[&str]) -> std::process::Output {
        let mut c = self.cmd(args);
        tokio::task::spawn_blocking(move || c.output().unwrap())
            .await
            .unwrap()
    }

    fn backups(&self) -> Vec<PathBuf> {
        std::fs::read_dir(self.root.join("bin"))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.to_string_lossy().contains("patchmon-agent.backup."))
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_agent_installs_a_verified_build_and_refuses_bad_ones() {
    let agents = tempfile::tempdir().unwrap();
    let dir = agents.path().to_path_buf();
    let server = TestServer::start_with(move |c| c.agent_binaries_dir = dir).await;
    let host = server.create_host("self-update").await;
    let agent = Installed::new(&server, &host);
    let original = std::fs::read(agent.exe()).unwrap();

    // Nothing offered: check-version and update-agent say so and succeed.
    let out = agent.run(&["check-version"]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("No update available"));

    // A build whose bytes do not match the manifest is refused.
    let release = fake_release("99.0.0");
    publish(agents.path(), &release, "99.0.0", &"0".repeat(64));
    let out = agent.run(&["update-agent"]).await;
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("SHA-256 mismatch"),
        "{}",
        text(&out)
    );
    assert_eq!(std::fs::read(agent.exe()).unwrap(), original);
    assert!(agent.backups().is_empty());

    // A build that does not report the announced version is refused.
    let wrong = fake_release("98.0.0");
    publish(agents.path(), &wrong, "99.0.0", &sha256_hex(&wrong));
    let out = agent.run(&["update-agent"]).await;
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("does not work here"),
        "{}",
        text(&out)
    );
    assert_eq!(std::fs::read(agent.exe()).unwrap(), original);
    assert!(!agent.root.join("bin/patchmon-agent.new").exists());

    // check-version sees the newer build (auto-update is off on the server).
    publish(agents.path(), &release, "99.0.0", &sha256_hex(&release));
    let out = agent.run(&["check-version"]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Latest version:  99.0.0"), "{}", text(&out));
    assert!(stdout.contains("update-agent"), "{stdout}");

    // The verified build is installed; the old binary is backed up.
    let out = agent.run(&["update-agent"]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("updated from"),
        "{}",
        text(&out)
    );
    assert_eq!(std::fs::read(agent.exe()).unwrap(), release);
    assert_eq!(
        std::fs::metadata(agent.exe()).unwrap().permissions().mode() & 0o777,
        0o755
    );
    let backups = agent.backups();
    assert_eq!(backups.len(), 1);
    assert_eq!(std::fs::read(&backups[0]).unwrap(), original);
    assert!(agent.root.join(".last_update_timestamp").exists());
    let out = agent.run(&["--version"]).await;
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "patchmon-agent version 99.0.0"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_agent_command_replaces_the_binary_and_restarts_into_it() {
    let _serial = HEAVY.lock().await;
    let agents = tempfile::tempdir().unwrap();
    let dir = agents.path().to_path_buf();
    let server = TestServer::start_with(move |c| c.agent_binaries_dir = dir).await;
    let host = server.create_host("ws-update").await;
    let agent = Installed::new(&server, &host);
    let original = std::fs::read(agent.exe()).unwrap();
    let release = fake_release("99.0.0");
    publish(agents.path(), &release, "99.0.0", &sha256_hex(&release));

    let mut cmd = agent.cmd(&["serve"]);
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    let mut serve = Serve(cmd.spawn().unwrap());
    let id = host.api_id.clone();
    assert!(
        eventually(Duration::from_secs(60), || server.is_connected(&id)).await,
        "agent did not connect"
    );
    // Auto-update is off server-wide, so the startup report changed nothing.
    assert_eq!(std::fs::read(agent.exe()).unwrap(), original);

    assert!(server.send_command(&id, ServerMessage::UpdateAgent).await);
    let exe = agent.exe();
    assert!(
        eventually(Duration::from_secs(60), || {
            let exe = exe.clone();
            let release = release.clone();
            async move { std::fs::read(&exe).is_ok_and(|b| b == release) }
        })
        .await,
        "binary not replaced; log:\n{}",
        std::fs::read_to_string(agent.root.join("logs/patchmon-agent.log")).unwrap_or_default()
    );
    assert_eq!(agent.backups().len(), 1);
    // The service re-executed itself into the new build (the stand-in prints
    // its version and exits 0).
    let mut exited = None;
    for _ in 0..200 {
        if let Some(st) = serve.0.try_wait().unwrap() {
            exited = Some(st);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let st = exited.expect("serve did not restart into the new binary");
    assert!(st.success(), "{st:?}");
    let log =
        std::fs::read_to_string(agent.root.join("logs/patchmon-agent.log")).unwrap_or_default();
    assert!(log.contains("updated from"), "{log}");
}
