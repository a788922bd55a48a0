//! Logging to stderr (the journal under systemd) and to the log file with
//! built-in rotation: 10 MB per file, 5 compressed backups, none older than
//! 14 days — PatchMon's policy, without an external logrotate.

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use file_rotate::compression::Compression;
use file_rotate::suffix::AppendCount;
use file_rotate::{ContentLimit, FileRotate};
use tracing::level_filters::LevelFilter;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

pub const MAX_LOG_BYTES: usize = 10 * 1024 * 1024;
pub const MAX_BACKUPS: usize = 5;
pub const MAX_AGE: Duration = Duration::from_secs(14 * 24 * 3600);

/// Local time as PatchMon writes it: `2006-01-02T15:04:05`.
struct LocalTime;

impl FormatTime for LocalTime {
    fn format_time(&self, w: &mut Writer<'_>) -> std::fmt::Result {
        write!(w, "{}", chrono::Local::now().format("%Y-%m-%dT%H:%M:%S"))
    }
}

/// Our own events at `level`; libraries (HTTP, TLS, WebSocket) only from
/// warnings up, so debug logs stay readable.
fn targets(level: LevelFilter) -> Targets {
    Targets::new()
        .with_target("patchmon_agent", level)
        .with_default(level.min(LevelFilter::WARN))
}

pub fn parse_level(s: &str) -> LevelFilter {
    match s.trim().to_ascii_lowercase().as_str() {
        "trace" => LevelFilter::TRACE,
        "debug" => LevelFilter::DEBUG,
        "warn" | "warning" => LevelFilter::WARN,
        "error" | "fatal" | "panic" => LevelFilter::ERROR,
        _ => LevelFilter::INFO,
    }
}

/// Installs the subscriber. `stderr_level` may differ from the file level
/// (one-shot commands keep their terminal output clean). A log file that
/// cannot be opened is reported on stderr and skipped, never fatal.
pub fn init(level: LevelFilter, stderr_level: LevelFilter, log_file: Option<&Path>) {
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_timer(LocalTime)
        .with_target(false)
        .with_filter(targets(stderr_level));
    let file = log_file.and_then(|p| match open_rotating(p) {
        Ok(w) => Some(
            tracing_subscriber::fmt::layer()
                .with_writer(Mutex::new(w))
                .with_ansi(false)
                .with_timer(LocalTime)
                .with_target(false)
                .with_filter(targets(level)),
        ),
        Err(e) => {
            eprintln!("warning: cannot write the log file {}: {e}", p.display());
            None
        }
    });
    let _ = tracing_subscriber::registry()
        .with(stderr)
        .with(file)
        .try_init();
}

fn open_rotating(path: &Path) -> std::io::Result<FileRotate<AppendCount>> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    // Probe writability ourselves: FileRotate panics when it cannot open the file.
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    prune_old_logs(path, MAX_AGE);
    Ok(FileRotate::new(
        path,
        AppendCount::new(MAX_BACKUPS),
        ContentLimit::BytesSurpassed(MAX_LOG_BYTES),
        Compression::OnRotate(0),
        None,
    ))
}

/// Deletes rotated copies (`<name>.N`, `<name>.N.gz`) older than `max_age`.
pub fn prune_old_logs(path: &Path, max_age: Duration) {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str())) else {
        return;
    };
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let prefix = format!("{name}.");
    for e in rd.flatten() {
        let fname = e.file_name().to_string_lossy().into_owned();
        let Some(suffix) = fname.strip_prefix(&prefix) else {
            continue;
        };
        if !suffix
            .trim_end_matches(".gz")
            .chars()
            .all(|c| c.is_ascii_digit())
        {
            continue;
        }
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|m| SystemTime::now().duration_since(m).ok())
            .is_some_and(|age| age > max_age);
        if old {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// The last `n` lines of the log file (for `diagnostics`).
pub fn tail(path: &Path, n: usize) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels() {
        assert_eq!(parse_level("DEBUG"), LevelFilter::DEBUG);
        assert_eq!(parse_level("warn"), LevelFilter::WARN);
        assert_eq!(parse_level("nonsense"), LevelFilter::INFO);
    }

    #[test]
    fn prune_only_touches_old_rotated_copies() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("patchmon-agent.log");
        for f in [
            "patchmon-agent.log",
            "patchmon-agent.log.1.gz",
            "patchmon-agent.log.2",
            "other.log.1",
        ] {
            std::fs::write(dir.path().join(f), "x").unwrap();
        }
        prune_old_logs(&log, Duration::from_secs(3600));
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            4,
            "nothing is old yet"
        );
        std::thread::sleep(Duration::from_millis(20));
        prune_old_logs(&log, Duration::from_millis(1));
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, vec!["other.log.1", "patchmon-agent.log"]);
    }

    #[test]
    fn rotation_keeps_five_compressed_backups() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("a.log");
        let mut w = FileRotate::new(
            &log,
            AppendCount::new(MAX_BACKUPS),
            ContentLimit::BytesSurpassed(100),
            Compression::OnRotate(0),
            None,
        );
        for _ in 0..40 {
            w.write_all(&[b'x'; 60]).unwrap();
            w.write_all(b"\n").unwrap();
        }
        w.flush().unwrap();
        let gz = std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".gz")
            })
            .count();
        assert_eq!(gz, MAX_BACKUPS);
    }
}
