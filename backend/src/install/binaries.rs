//! Agent binaries served for download and self-update.
//!
//! The directory (`AGENT_BINARIES_DIR`, else `AGENTS_DIR`, else `./agents`)
//! holds files named `patchmon-agent-<os>-<arch>[.exe]` and, optionally, a
//! `manifest.json` written by the build step (`scripts/build-agents.sh`):
//!
//! ```json
//! {"agents":[{"os":"linux","arch":"amd64","file":"patchmon-agent-linux-amd64",
//!             "version":"0.1.0","sha256":"<64 hex>","size":1234}]}
//! ```
//!
//! A manifest entry is the release record: its `sha256` is what clients are
//! told to expect, so a binary replaced on disk after the build is refused by
//! the installer and by self-update (and logged here). A file without an entry
//! is described from the file itself: SHA-256 of its bytes, and the version
//! from a `<file>.version` sidecar or, when the binary runs on this machine,
//! from its `--version` output. Results are cached per file and recomputed
//! when the file's size or modification time changes.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{AppError, AppResult};
use crate::hosts::credentials::hex;

pub const OSES: &[&str] = &["linux", "freebsd", "windows"];
pub const ARCHES: &[&str] = &["amd64", "386", "arm64", "arm"];
pub const MANIFEST_FILE: &str = "manifest.json";

/// Validates an `os`/`arch` pair against the allowlists (Windows: amd64 and arm64 only).
pub fn validate_platform(os: &str, arch: &str) -> AppResult<()> {
    if !OSES.contains(&os) {
        return Err(AppError::BadRequest(
            "Unsupported os: use linux, freebsd or windows".into(),
        ));
    }
    if !ARCHES.contains(&arch) || (os == "windows" && !matches!(arch, "amd64" | "arm64")) {
        return Err(AppError::BadRequest(format!(
            "Unsupported arch for {os}: use amd64, 386, arm64 or arm"
        )));
    }
    Ok(())
}

/// The on-disk name of the binary for a validated platform.
pub fn file_name(os: &str, arch: &str) -> String {
    let ext = if os == "windows" { ".exe" } else { "" };
    format!("patchmon-agent-{os}-{arch}{ext}")
}

/// One binary as the server describes it to clients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentBinary {
    pub os: String,
    pub arch: String,
    pub file: String,
    /// Semantic version, when known.
    #[serde(default)]
    pub version: Option<String>,
    /// SHA-256 clients must verify, lowercase hex.
    pub sha256: String,
    pub size: u64,
}

#[derive(Debug, Default, Deserialize, Serialize)]
pub struct Manifest {
    #[serde(default)]
    pub agents: Vec<AgentBinary>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileKey {
    len: u64,
    modified: Option<SystemTime>,
}

impl FileKey {
    fn of(meta: &std::fs::Metadata) -> Self {
        Self {
            len: meta.len(),
            modified: meta.modified().ok(),
        }
    }
}

/// Cache of file descriptions and of the parsed manifest.
#[derive(Default)]
pub struct BinaryCache {
    files: Mutex<HashMap<PathBuf, (FileKey, FileFacts)>>,
    manifest: Mutex<Option<(PathBuf, FileKey, Manifest)>>,
}

#[derive(Debug, Clone)]
struct FileFacts {
    sha256: String,
    version: Option<String>,
}

impl BinaryCache {
    /// Describes the binary for `os`/`arch` in `dir`, or None when the file is
    /// missing. Blocking (hashes files): call from `spawn_blocking`.
    pub fn describe(
        &self,
        dir: &Path,
        os: &str,
        arch: &str,
    ) -> std::io::Result<Option<AgentBinary>> {
        let name = file_name(os, arch);
        let path = dir.join(&name);
        let meta = match std::fs::metadata(&path) {
            Ok(m) if m.is_file() => m,
            Ok(_) => return Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let key = FileKey::of(&meta);
        let facts = self.facts(&path, key, os, arch)?;
        let entry = self
            .manifest_entry(dir, &name)
            .filter(|e| e.os == os && e.arch == arch);
        Ok(Some(match entry {
            Some(e) => {
                if !e.sha256.eq_ignore_ascii_case(&facts.sha256) {
                    tracing::error!(
                        file = %path.display(),
                        manifest = %e.sha256,
                        actual = %facts.sha256,
                        "agent binary does not match manifest.json: clients will refuse it until the build step is re-run"
                    );
                }
                AgentBinary {
                    os: os.into(),
                    arch: arch.into(),
                    file: name,
                    version: e.version.clone().or(facts.version),
                    sha256: e.sha256.to_ascii_lowercase(),
                    size: key.len,
                }
            }
            None => AgentBinary {
                os: os.into(),
                arch: arch.into(),
                file: name,
                version: facts.version,
                sha256: facts.sha256,
                size: key.len,
            },
        }))
    }

    fn facts(&self, path: &Path, key: FileKey, os: &str, arch: &str) -> std::io::Result<FileFacts> {
        if let Some((k, f)) = self
            .files
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(path)
            && *k == key
        {
            return Ok(f.clone());
        }
        let sha256 = sha256_file(path)?;
        let version = sidecar_version(path).or_else(|| {
            (os == std::env::consts::OS && arch == native_arch())
                .then(|| probe_version(path))
                .flatten()
        });
        let facts = FileFacts { sha256, version };
        let mut files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        if files.len() > 64 {
            files.clear();
        }
        files.insert(path.to_owned(), (key, facts.clone()));
        Ok(facts)
    }

    fn manifest_entry(&self, dir: &Path, file: &str) -> Option<AgentBinary> {
        let path = dir.join(MANIFEST_FILE);
        let meta = std::fs::metadata(&path).ok()?;
        let key = FileKey::of(&meta);
        let mut cached = self.manifest.lock().unwrap_or_else(|e| e.into_inner());
        let fresh = matches!(&*cached, Some((p, k, _)) if *p == path && *k == key);
        if !fresh {
            let manifest = std::fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|b| serde_json::from_slice::<Manifest>(&b).map_err(|e| e.to_string()))
                .unwrap_or_else(|e| {
                    tracing::error!(path = %path.display(), "ignoring unreadable agent manifest: {e}");
                    Manifest::default()
                });
            *cached = Some((path, key, manifest));
        }
        cached
            .as_ref()
            .and_then(|(_, _, m)| m.agents.iter().find(|a| a.file == file).cloned())
    }
}

/// The Go architecture name of the machine the server runs on.
pub fn native_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "arm" => "arm",
        other => other,
    }
}

pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

fn sidecar_version(path: &Path) -> Option<String> {
    let mut p = path.as_os_str().to_owned();
    p.push(".version");
    let text = std::fs::read_to_string(PathBuf::from(p)).ok()?;
    parse_version_output(&text)
        .or_else(|| Version::parse(text.trim()).map(|_| text.trim().to_owned()))
}

/// Runs `<binary> --version` (5 s limit) and parses the version it prints.
fn probe_version(path: &Path) -> Option<String> {
    let mut child = std::process::Command::new(path)
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                tracing::warn!(file = %path.display(), "agent binary did not answer --version within 5 s");
                return None;
            }
        }
    }
    let mut out = String::new();
    child
        .stdout
        .take()?
        .take(4096)
        .read_to_string(&mut out)
        .ok()?;
    let v = parse_version_output(&out);
    if v.is_none() {
        tracing::warn!(file = %path.display(), "cannot read a version from the agent's --version output");
    }
    v
}

/// Finds the version in `patchmon-agent version X.Y.Z`, `PatchMon Agent vX.Y.Z`
/// or `version X.Y.Z` output.
pub fn parse_version_output(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    for marker in ["patchmon agent v", "patchmon-agent v", "version "] {
        if let Some(i) = lower.find(marker) {
            let rest = &text[i + marker.len()..];
            let word: String = rest
                .trim_start_matches(['v', 'V'])
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'))
                .collect();
            if Version::parse(&word).is_some() {
                return Some(word);
            }
        }
    }
    None
}

pub use patchmon_protocol::version::{Version, is_newer};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_output() {
        assert_eq!(
            parse_version_output("patchmon-agent version 0.1.0\n").as_deref(),
            Some("0.1.0")
        );
        assert_eq!(
            parse_version_output("PatchMon Agent v2.1.3 (go)").as_deref(),
            Some("2.1.3")
        );
        assert_eq!(parse_version_output("hello"), None);
        assert_eq!(parse_version_output("version x.y"), None);
    }

    #[test]
    fn platforms() {
        assert!(validate_platform("linux", "amd64").is_ok());
        assert!(validate_platform("windows", "arm").is_err());
        assert!(validate_platform("linux", "x86_64").is_err());
        assert!(validate_platform("linux;id", "amd64").is_err());
        assert_eq!(
            file_name("windows", "amd64"),
            "patchmon-agent-windows-amd64.exe"
        );
    }

    #[test]
    fn manifest_hash_wins_and_changes_are_noticed() {
        let dir = tempfile_dir();
        let bin = dir.join("patchmon-agent-linux-arm");
        std::fs::write(&bin, b"one").unwrap();
        std::fs::write(dir.join("patchmon-agent-linux-arm.version"), "1.2.3\n").unwrap();
        let cache = BinaryCache::default();
        let d = cache.describe(&dir, "linux", "arm").unwrap().unwrap();
        assert_eq!(d.sha256, hex(&Sha256::digest(b"one")));
        assert_eq!(d.version.as_deref(), Some("1.2.3"));
        assert_eq!(d.size, 3);
        // A different file is noticed (size changes).
        std::fs::write(&bin, b"three").unwrap();
        let d = cache.describe(&dir, "linux", "arm").unwrap().unwrap();
        assert_eq!(d.sha256, hex(&Sha256::digest(b"three")));
        // The manifest is the release record.
        let m = serde_json::json!({"agents": [{"os": "linux", "arch": "arm", "file": "patchmon-agent-linux-arm",
            "version": "9.9.9", "sha256": "AB".repeat(32), "size": 5}]});
        std::fs::write(dir.join(MANIFEST_FILE), m.to_string()).unwrap();
        let d = cache.describe(&dir, "linux", "arm").unwrap().unwrap();
        assert_eq!(d.sha256, "ab".repeat(32));
        assert_eq!(d.version.as_deref(), Some("9.9.9"));
        assert!(cache.describe(&dir, "linux", "386").unwrap().is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn tempfile_dir() -> PathBuf {
        let mut b = [0u8; 8];
        getrandom::fill(&mut b).unwrap();
        let d = std::env::temp_dir().join(format!("pm-bin-test-{}", hex(&b)));
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}
