//! Small helpers: running external commands with a timeout in the C locale,
//! finding binaries on `PATH`, comparing version strings, cheap randomness.

use std::cmp::Ordering;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Default timeout for local commands (PatchMon uses 2 minutes).
pub const CMD_TIMEOUT: Duration = Duration::from_secs(120);
/// Timeout for commands that may touch the network (cache refresh, `checkupdates`).
pub const NET_CMD_TIMEOUT: Duration = Duration::from_secs(300);

/// What a finished command produced.
#[derive(Debug, Clone)]
pub struct CmdOutput {
    /// Exit code; `None` when killed by a signal.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl CmdOutput {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }
}

/// Why a command could not be run to completion.
#[derive(Debug, thiserror::Error)]
pub enum CmdError {
    #[error("{program}: not found or not executable: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{program}: timed out after {secs} s")]
    Timeout { program: String, secs: u64 },
    #[error("{program}: {source}")]
    Io {
        program: String,
        #[source]
        source: std::io::Error,
    },
}

/// Runs `program args…` with `LC_ALL=C`/`LANG=C` (so output is never
/// localised), stdin closed, and a hard timeout after which the child is killed.
/// Output is decoded lossily and NUL bytes are removed.
pub fn run(program: &str, args: &[&str], timeout: Duration) -> Result<CmdOutput, CmdError> {
    let mut child = Command::new(program)
        .args(args)
        .env("LC_ALL", "C")
        .env("LANG", "C")
        .env("LANGUAGE", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| CmdError::Spawn {
            program: program.to_owned(),
            source,
        })?;

    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out_t = reader(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err_t = reader(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );

    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {
                if started.elapsed() >= timeout {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(CmdError::Timeout {
                        program: program.to_owned(),
                        secs: timeout.as_secs(),
                    });
                }
                // Short polls first so quick commands return quickly.
                let nap = if started.elapsed() < Duration::from_millis(100) {
                    2
                } else {
                    20
                };
                std::thread::sleep(Duration::from_millis(nap));
            }
            Err(source) => {
                return Err(CmdError::Io {
                    program: program.to_owned(),
                    source,
                });
            }
        }
    };
    let stdout = out_t.join().unwrap_or_default();
    let stderr = err_t.join().unwrap_or_default();
    Ok(CmdOutput {
        code: status.code(),
        stdout: clean_text(&stdout),
        stderr: clean_text(&stderr),
    })
}

/// Lossy UTF-8 with NUL bytes removed.
pub fn clean_text(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(bytes);
    if s.contains('\0') {
        s.replace('\0', "")
    } else {
        s.into_owned()
    }
}

/// Finds an executable on `PATH` (plus the usual sbin directories, which a
/// service's PATH sometimes lacks).
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let extra = [
        "/usr/local/sbin",
        "/usr/local/bin",
        "/usr/sbin",
        "/usr/bin",
        "/sbin",
        "/bin",
    ];
    std::env::split_paths(&path)
        .chain(extra.iter().map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Compares two version strings segment by segment: runs of digits compare
/// numerically, other runs byte-wise, `~` sorts before everything (Debian
/// style). Good enough to order kernels and fall back where no package
/// manager comparison is available.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        match (a.first(), b.first()) {
            (None, None) => return Ordering::Equal,
            (Some(b'~'), Some(b'~')) => {
                a = &a[1..];
                b = &b[1..];
                continue;
            }
            (Some(b'~'), _) => return Ordering::Less,
            (_, Some(b'~')) => return Ordering::Greater,
            (None, _) => return Ordering::Less,
            (_, None) => return Ordering::Greater,
            _ => {}
        }
        let a_digit = a[0].is_ascii_digit();
        let b_digit = b[0].is_ascii_digit();
        let take = |s: &[u8], digit: bool| {
            s.iter()
                .take_while(|c| c.is_ascii_digit() == digit && **c != b'~')
                .count()
        };
        let la = take(a, a_digit);
        let lb = take(b, b_digit);
        let (sa, sb) = (&a[..la], &b[..lb]);
        let ord = if a_digit && b_digit {
            let ta = trim_zeros(sa);
            let tb = trim_zeros(sb);
            ta.len().cmp(&tb.len()).then_with(|| ta.cmp(tb))
        } else if a_digit != b_digit {
            // Digits sort after letters, like rpmvercmp.
            if a_digit {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        } else {
            sa.cmp(sb)
        };
        if ord != Ordering::Equal {
            return ord;
        }
        a = &a[la..];
        b = &b[lb..];
    }
}

fn trim_zeros(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|c| **c == b'0').count();
    &s[n..]
}

/// A small xorshift generator seeded from the clock, the process id and a
/// caller-supplied value. Used only for backoff jitter, never for secrets.
#[derive(Debug, Clone)]
pub struct Jitter(u64);

impl Jitter {
    pub fn new(seed: u64) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let s = seed ^ nanos ^ (u64::from(std::process::id()) << 32) ^ 0x9e37_79b9_7f4a_7c15;
        Self(if s == 0 { 1 } else { s })
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A uniformly random duration in `[lo, hi]`.
    pub fn between(&mut self, lo: Duration, hi: Duration) -> Duration {
        if hi <= lo {
            return lo;
        }
        let span = (hi - lo).as_millis() as u64;
        lo + Duration::from_millis(self.next_u64() % (span + 1))
    }
}

/// Reads a small file to a trimmed string; `None` when missing or empty.
pub fn read_trimmed(path: impl AsRef<Path>) -> Option<String> {
    let s = std::fs::read_to_string(path).ok()?;
    let t = s.trim();
    if t.is_empty() {
        None
    } else {
        Some(t.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_ordering() {
        assert_eq!(
            compare_versions("6.1.0-18-amd64", "6.1.0-9-amd64"),
            Ordering::Greater
        );
        assert_eq!(
            compare_versions("5.14.0-362.8.1.el9_3", "5.14.0-362.18.1.el9_3"),
            Ordering::Less
        );
        assert_eq!(compare_versions("1.0~rc1", "1.0"), Ordering::Less);
        assert_eq!(compare_versions("1.02", "1.2"), Ordering::Equal);
        assert_eq!(compare_versions("2.0a", "2.0"), Ordering::Greater);
    }

    #[test]
    fn run_uses_c_locale_and_reports_exit_codes() {
        let out = run("sh", &["-c", "echo $LC_ALL; exit 3"], CMD_TIMEOUT).unwrap();
        assert_eq!(out.stdout.trim(), "C");
        assert_eq!(out.code, Some(3));
        assert!(!out.success());
    }

    #[test]
    fn run_times_out_and_kills() {
        let started = Instant::now();
        let err = run("sleep", &["5"], Duration::from_millis(200)).unwrap_err();
        assert!(matches!(err, CmdError::Timeout { .. }), "{err}");
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn missing_program_is_a_spawn_error() {
        let err = run("/nonexistent/patchmon-nothing", &[], CMD_TIMEOUT).unwrap_err();
        assert!(matches!(err, CmdError::Spawn { .. }));
    }

    #[test]
    fn jitter_stays_in_range() {
        let mut j = Jitter::new(42);
        for _ in 0..1000 {
            let d = j.between(Duration::from_millis(500), Duration::from_millis(1500));
            assert!(d >= Duration::from_millis(500) && d <= Duration::from_millis(1500));
        }
    }

    #[test]
    fn which_finds_sh() {
        assert!(which("sh").is_some());
        assert!(which("definitely-not-a-binary-xyz").is_none());
    }
}
