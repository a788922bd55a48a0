//! Self-update (PatchMon's sequence, §2.5 of the protocol notes):
//!
//! 1. one update at a time; none within 5 minutes of the last one
//!    (`<config dir>/.last_update_timestamp`);
//! 2. ask `/hosts/agent/version`; an automatic update needs `hasUpdate`
//!    (newer, and auto-update on at the server and for the host), a requested
//!    one (`update-agent`, the `update_agent` command) only a newer version;
//! 3. download (100 MB at most) and verify the SHA-256 against `hash`;
//!    no hash, no update;
//! 4. write `<exe>.new` (0755) and check that it runs and reports the version
//!    the server announced;
//! 5. back up the running binary to `<exe>.backup.YYYYMMDD_HHMMSS`, keeping 3;
//! 6. rename the new binary over the old one and touch the marker.
//!
//! The caller then restarts: `serve` re-executes itself in place (same PID,
//! so systemd, OpenRC and the @reboot fallback all keep tracking it).

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use patchmon_protocol::version::is_newer;
use sha2::{Digest, Sha256};

use crate::client::{Api, ApiError};
use crate::report::AGENT_VERSION;

pub const MARKER_FILE: &str = ".last_update_timestamp";
pub const MIN_INTERVAL: Duration = Duration::from_secs(5 * 60);
pub const MAX_BINARY_BYTES: usize = 100 * 1024 * 1024;
pub const KEEP_BACKUPS: usize = 3;

static RUNNING: AtomicBool = AtomicBool::new(false);

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing newer (or, for an automatic update, not allowed).
    UpToDate {
        latest: Option<String>,
        reason: String,
    },
    /// The binary at `exe` is now `to`.
    Updated { from: String, to: String },
}

#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error("an update is already running")]
    Busy,
    #[error("the agent was updated less than 5 minutes ago; try again in {0} s")]
    TooSoon(u64),
    #[error("the server has no agent build for this platform ({0})")]
    NoBinary(String),
    #[error("version check failed: {0}")]
    Api(#[from] ApiError),
    #[error("the server did not send the binary's SHA-256; refusing to update")]
    NoHash,
    #[error(
        "SHA-256 mismatch: expected {expected}, downloaded {actual}; the binary was not installed"
    )]
    HashMismatch { expected: String, actual: String },
    #[error("the new binary does not work here: {0}")]
    BadBinary(String),
    #[error("{0}")]
    Io(String),
}

struct Running;

impl Running {
    fn acquire() -> Result<Self, UpdateError> {
        RUNNING
            .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
            .map(|_| Self)
            .map_err(|_| UpdateError::Busy)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        RUNNING.store(false, Ordering::SeqCst);
    }
}

/// The running executable's path (without Linux's " (deleted)" suffix, which
/// it gets once the file has been replaced).
pub fn current_exe() -> std::io::Result<PathBuf> {
    let p = std::env::current_exe()?;
    let s = p.to_string_lossy();
    Ok(match s.strip_suffix(" (deleted)") {
        Some(stripped) => PathBuf::from(stripped),
        None => p,
    })
}

fn sha256_hex(b: &[u8]) -> String {
    Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

fn io(what: &str, path: &Path, e: std::io::Error) -> UpdateError {
    UpdateError::Io(format!("{what} {}: {e}", path.display()))
}

fn sibling(exe: &Path, suffix: &str) -> PathBuf {
    let mut s = exe.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Updates the binary at `exe`. `automatic`: only when the server says
/// `hasUpdate`. `state_dir` holds the marker file (the config directory).
pub async fn update(
    api: &Api,
    exe: &Path,
    state_dir: &Path,
    automatic: bool,
) -> Result<Outcome, UpdateError> {
    let _running = Running::acquire()?;
    let marker = state_dir.join(MARKER_FILE);
    if let Some(age) = std::fs::metadata(&marker)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        && age < MIN_INTERVAL
    {
        return Err(UpdateError::TooSoon((MIN_INTERVAL - age).as_secs().max(1)));
    }

    let v = match api.agent_version().await {
        Ok(v) => v,
        Err(ApiError::Status {
            status: 404,
            message,
        }) => return Err(UpdateError::NoBinary(message)),
        Err(e) => return Err(e.into()),
    };
    let latest = v.latest_version.clone().unwrap_or_default();
    let newer = is_newer(&latest, AGENT_VERSION);
    if !newer {
        return Ok(Outcome::UpToDate {
            latest: v.latest_version,
            reason: format!("{AGENT_VERSION} is the newest version the server offers"),
        });
    }
    if automatic && !v.has_update {
        let reason = if v.auto_update_disabled_reason.is_empty() {
            "the server does not offer it to this host".to_owned()
        } else {
            v.auto_update_disabled_reason.clone()
        };
        return Ok(Outcome::UpToDate {
            latest: v.latest_version,
            reason,
        });
    }
    let expected = v
        .hash
        .as_deref()
        .map(str::to_ascii_lowercase)
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or(UpdateError::NoHash)?;
    let url = match v.download_url.as_deref().filter(|u| !u.is_empty()) {
        Some(u) if u.starts_with('/') => format!("{}{u}", api.server()),
        Some(u) if u.starts_with("http://") || u.starts_with("https://") => u.to_owned(),
        _ => format!(
            "{}/api/v1/hosts/agent/download?arch={}&os={}",
            api.server(),
            crate::client::go_arch(),
            std::env::consts::OS
        ),
    };
    tracing::info!("downloading patchmon-agent {latest}");
    let bytes = api.download(&url, MAX_BINARY_BYTES).await?;
    let actual = sha256_hex(&bytes);
    if actual != expected {
        return Err(UpdateError::HashMismatch { expected, actual });
    }

    let new = sibling(exe, ".new");
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o755)
            .open(&new)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        std::fs::set_permissions(&new, std::fs::Permissions::from_mode(0o755))
    };
    write().map_err(|e| io("cannot write", &new, e))?;
    if let Err(e) = check_version(&new, &latest).await {
        let _ = std::fs::remove_file(&new);
        return Err(e);
    }
    backup(exe).map_err(|e| io("cannot back up", exe, e))?;
    std::fs::rename(&new, exe).map_err(|e| io("cannot replace", exe, e))?;
    if let Some(dir) = exe.parent()
        && let Ok(d) = std::fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
    let _ = std::fs::create_dir_all(state_dir);
    if let Err(e) = std::fs::write(&marker, chrono::Utc::now().to_rfc3339()) {
        tracing::warn!("cannot write {}: {e}", marker.display());
    }
    tracing::info!("patchmon-agent updated from {AGENT_VERSION} to {latest}");
    Ok(Outcome::Updated {
        from: AGENT_VERSION.into(),
        to: latest,
    })
}

/// Runs `<new> --version` (10 s limit) and checks it names `expected`.
async fn check_version(new: &Path, expected: &str) -> Result<(), UpdateError> {
    let new = new.to_owned();
    let run = move || -> Result<(bool, String), String> {
        let mut child = std::process::Command::new(&new)
            .arg("--version")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run it: {e}"))?;
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let status = loop {
            match child.try_wait() {
                Ok(Some(st)) => break st,
                Ok(None) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err("--version did not finish within 10 s".into());
                }
            }
        };
        let mut out = String::new();
        if let Some(mut o) = child.stdout.take() {
            use std::io::Read;
            let _ = o.read_to_string(&mut out);
        }
        Ok((status.success(), out))
    };
    let (ok, text) = tokio::task::spawn_blocking(run)
        .await
        .map_err(|e| UpdateError::BadBinary(e.to_string()))?
        .map_err(UpdateError::BadBinary)?;
    let found = text
        .split_whitespace()
        .any(|w| w.trim_start_matches('v') == expected);
    if !ok || !found {
        return Err(UpdateError::BadBinary(format!(
            "`--version` printed {:?}, expected version {expected}",
            text.trim()
        )));
    }
    Ok(())
}

/// Copies `exe` to `<exe>.backup.YYYYMMDD_HHMMSS` and keeps the newest 3.
fn backup(exe: &Path) -> std::io::Result<()> {
    let stamp = chrono::Local::now().format("%Y%m%d_%H%M%S");
    let dest = sibling(exe, &format!(".backup.{stamp}"));
    std::fs::copy(exe, &dest)?;
    let (Some(dir), Some(name)) = (exe.parent(), exe.file_name()) else {
        return Ok(());
    };
    let prefix = format!("{}.backup.", name.to_string_lossy());
    let mut backups: Vec<String> = std::fs::read_dir(dir)?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&prefix))
        .collect();
    backups.sort();
    let excess = backups.len().saturating_sub(KEEP_BACKUPS);
    for old in &backups[..excess] {
        let _ = std::fs::remove_file(dir.join(old));
    }
    Ok(())
}
