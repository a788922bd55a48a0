//! Queue, scheduler and retention settings (environment variables).

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use crate::config::{ConfigError, Vars, config_error};

/// Variables read here (for the misspelling check).
pub const KNOWN: &[&str] = &[
    "REDIS_URL",
    "REDIS_HOST",
    "REDIS_PORT",
    "REDIS_USER",
    "REDIS_PASSWORD",
    "REDIS_DB",
    "REDIS_TLS",
    "REDIS_KEY_PREFIX",
    "RETENTION_DAYS",
    "QUEUE_POLL_INTERVAL_MS",
    "QUEUE_LEASE_SECONDS",
    "QUEUE_RETRY_BASE_MS",
    "QUEUE_MAX_ATTEMPTS",
    "QUEUE_WORKERS",
    "AGENT_COMMAND_TTL_SECONDS",
    "RECONNECT_JITTER_SECONDS",
    "SCHEDULER_TICK_MS",
    "SCHEDULER_ENABLED",
    "QUEUE_DEBUG_HOLD_MS",
    "NOTIFY_RETRY_BASE_MS",
    "NOTIFY_DENY_NETWORKS",
    "SCHEDULE_HOST_STATUS_MONITOR",
    "SCHEDULE_SESSION_CLEANUP",
    "SCHEDULE_ORPHANED_REPO_CLEANUP",
    "SCHEDULE_ORPHANED_PACKAGE_CLEANUP",
    "SCHEDULE_ALERT_CLEANUP",
    "SCHEDULE_SYSTEM_STATISTICS",
];

/// A Redis URL; Display hides the password.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisUrl(pub String);

impl fmt::Display for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.split_once('@') {
            Some((head, tail)) => match head.rsplit_once(':') {
                Some((user, _)) if user.contains("//") => write!(f, "{user}:***@{tail}"),
                _ => write!(f, "redis://***@{tail}"),
            },
            None => f.write_str(&self.0),
        }
    }
}

impl fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RedisUrl({self})")
    }
}

#[derive(Debug, Clone)]
pub struct QueueConfig {
    /// Redis storage and cross-replica delivery when set; database storage otherwise.
    pub redis_url: Option<RedisUrl>,
    /// Prefix of every Redis key and channel (lets several installs share a Redis).
    pub redis_prefix: String,
    /// Days kept of update_history, job_history, system_statistics and host events.
    pub retention_days: i64,
    /// How often an idle worker looks for due jobs (an in-process enqueue wakes it at once).
    pub poll_interval: Duration,
    /// How long a claimed job may run before another worker may take it over.
    pub lease: Duration,
    /// First retry delay; doubles per attempt, capped at five minutes.
    pub retry_base: Duration,
    pub max_attempts: i64,
    /// Concurrent agent-commands workers per replica (PatchMon's weight is 3).
    pub workers: usize,
    /// How long an agent command waits for an offline agent before it fails.
    pub command_ttl: Duration,
    /// Upper bound of the catch-up `report_now` delay for an overdue agent.
    pub reconnect_jitter_secs: u64,
    /// How often the scheduler wakes at most (it also wakes at the next due time).
    pub scheduler_tick: Duration,
    pub scheduler_enabled: bool,
    /// Testing aid: hold every claimed job this long before delivering it.
    pub debug_hold: Duration,
    /// First retry delay of a failed notification delivery.
    pub notify_retry_base: Duration,
    /// Addresses webhook, ntfy and Gotify sends never connect to
    /// (`crate::notify::guard`).
    pub notify_deny: Vec<ipnet::IpNet>,
    /// Cron overrides per scheduled queue (`SCHEDULE_<QUEUE_NAME>`), 5 fields
    /// or 6 with seconds first.
    pub schedules: HashMap<String, String>,
}

impl QueueConfig {
    pub fn from_map(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let v = Vars(vars);
        let redis_url = match v.get("REDIS_URL") {
            Some(u) if u.starts_with("redis://") || u.starts_with("rediss://") => Some(RedisUrl(u)),
            Some(u) => {
                return Err(config_error(
                    "REDIS_URL",
                    &RedisUrl(u).to_string(),
                    "must start with redis:// or rediss://",
                ));
            }
            None => match v.get("REDIS_HOST") {
                None => None,
                Some(host) => {
                    let port: u16 = v.num("REDIS_PORT", 6379, 1, 65535)?;
                    let db: u32 = v.num("REDIS_DB", 0, 0, 1000)?;
                    let scheme = if v.flag("REDIS_TLS", false)? {
                        "rediss"
                    } else {
                        "redis"
                    };
                    let auth = match (v.get("REDIS_USER"), v.get("REDIS_PASSWORD")) {
                        (Some(u), Some(p)) => format!("{}:{}@", enc(&u), enc(&p)),
                        (None, Some(p)) => format!(":{}@", enc(&p)),
                        (Some(u), None) => format!("{}@", enc(&u)),
                        (None, None) => String::new(),
                    };
                    Some(RedisUrl(format!("{scheme}://{auth}{host}:{port}/{db}")))
                }
            },
        };
        let ms = |var: &str, default: u64, min: u64, max: u64| -> Result<Duration, ConfigError> {
            Ok(Duration::from_millis(v.num(var, default, min, max)?))
        };
        Ok(Self {
            redis_url,
            redis_prefix: v
                .get("REDIS_KEY_PREFIX")
                .unwrap_or_else(|| "patchmon".into()),
            retention_days: v.num("RETENTION_DAYS", 90, 1, 36500)?,
            poll_interval: ms("QUEUE_POLL_INTERVAL_MS", 500, 10, 60_000)?,
            lease: Duration::from_secs(v.num("QUEUE_LEASE_SECONDS", 30, 1, 3600)?),
            retry_base: ms("QUEUE_RETRY_BASE_MS", 2000, 1, 600_000)?,
            max_attempts: v.num("QUEUE_MAX_ATTEMPTS", 5, 1, 100)?,
            workers: v.num("QUEUE_WORKERS", 3, 0, 64)?,
            command_ttl: Duration::from_secs(v.num(
                "AGENT_COMMAND_TTL_SECONDS",
                86_400,
                1,
                30 * 86_400,
            )?),
            reconnect_jitter_secs: v.num("RECONNECT_JITTER_SECONDS", 60, 0, 3600)?,
            scheduler_tick: ms("SCHEDULER_TICK_MS", 1000, 5, 60_000)?,
            scheduler_enabled: v.flag("SCHEDULER_ENABLED", true)?,
            debug_hold: ms("QUEUE_DEBUG_HOLD_MS", 0, 0, 600_000)?,
            notify_retry_base: ms("NOTIFY_RETRY_BASE_MS", 1000, 1, 600_000)?,
            notify_deny: {
                let raw = v
                    .get("NOTIFY_DENY_NETWORKS")
                    .unwrap_or_else(|| crate::notify::guard::DEFAULT_DENY.into());
                crate::notify::guard::parse_list(&raw)
                    .map_err(|e| config_error("NOTIFY_DENY_NETWORKS", &raw, &e))?
            },
            schedules: schedules(&v)?,
        })
    }
}

fn schedules(v: &Vars<'_>) -> Result<HashMap<String, String>, ConfigError> {
    let mut out = HashMap::new();
    for (name, _) in super::scheduler::TASKS {
        let var = format!("SCHEDULE_{}", name.to_ascii_uppercase().replace('-', "_"));
        if let Some(expr) = v.get(&var) {
            if super::scheduler::parse(&expr).is_none() {
                return Err(config_error(
                    &var,
                    &expr,
                    "must be a cron expression (minute hour day month weekday, optionally seconds first)",
                ));
            }
            out.insert((*name).to_owned(), expr);
        }
    }
    Ok(out)
}

/// Percent-encodes a URL userinfo part.
fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn redis_from_parts_and_redaction() {
        let c = QueueConfig::from_map(&map(&[
            ("REDIS_HOST", "cache"),
            ("REDIS_PASSWORD", "p@ss"),
            ("REDIS_DB", "2"),
        ]))
        .unwrap();
        let u = c.redis_url.unwrap();
        assert_eq!(u.0, "redis://:p%40ss@cache:6379/2");
        assert!(!u.to_string().contains("p%40ss"));
        let c = QueueConfig::from_map(&HashMap::new()).unwrap();
        assert!(c.redis_url.is_none());
        assert_eq!(c.retention_days, 90);
        let e = QueueConfig::from_map(&map(&[("REDIS_URL", "http://x")])).unwrap_err();
        assert_eq!(e.var, "REDIS_URL");
    }
}
