//! Server configuration from the environment (and an optional `.env`), using
//! PatchMon's variable names where they exist. Every value is validated at
//! start-up; a bad value stops the server with a message naming the variable.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;

/// Which database the server uses, chosen by `DATABASE_URL`'s scheme.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(String),
    Postgres(String),
}

impl DatabaseUrl {
    /// Parses a URL; any scheme but `sqlite:` and `postgres(ql)://` is an error,
    /// so a typo never silently creates an empty database.
    pub fn parse(url: &str) -> Result<Self, String> {
        let url = url.trim();
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite(url.to_owned()))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres(url.to_owned()))
        } else {
            Err("must start with sqlite: or postgres://".into())
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Sqlite(u) | Self::Postgres(u) => u,
        }
    }

    pub fn dialect(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }
}

/// Shows the URL with any password replaced by `***`.
impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact_url(self.as_str()))
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

fn redact_url(url: &str) -> String {
    // scheme://user:password@host/...
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (auth, tail) = match rest.split_once('@') {
        Some(p) => p,
        None => return url.to_owned(),
    };
    match auth.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{tail}"),
        None => url.to_owned(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub bind_address: IpAddr,
    pub port: u16,
    pub database_url: DatabaseUrl,
    /// Maximum pooled database connections (default: 6 on SQLite, 16 on PostgreSQL).
    pub db_connection_limit: u32,
    pub log_level: String,
    pub log_format: LogFormat,
    /// Body limit of `POST /hosts/update`, bytes.
    pub agent_update_body_limit: usize,
    /// Body limit of `POST /hosts/ping`, bytes.
    pub agent_ping_body_limit: usize,
    /// Body limit of other JSON requests, bytes.
    pub json_body_limit: usize,
    /// Public URL parts agents use to reach the server (generated scripts).
    pub server_protocol: String,
    pub server_host: String,
    pub server_port: u16,
    /// Directory holding agent binaries for download.
    pub agent_binaries_dir: PathBuf,
    /// Serve the web app from this directory instead of the copy embedded
    /// at build time (`UI_DIR`; development, or a UI rebuilt without
    /// recompiling the server).
    pub ui_dir: Option<PathBuf>,
    /// Enrollment / enrollment-script requests per client IP per minute.
    pub token_rate_limit_max: u32,
    /// Sessions, passwords, lockout, auth rate limits (`crate::auth::config`).
    pub auth: crate::auth::config::AuthConfig,
    /// Job queue, scheduler, retention (`crate::queue::config`).
    pub queue: crate::queue::config::QueueConfig,
}

/// A configuration error naming the variable.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {var}={value:?}: {reason}")]
pub struct ConfigError {
    pub var: String,
    pub value: String,
    pub reason: String,
}

/// Typed access to the environment map; every failure names the variable.
pub(crate) struct Vars<'a>(pub(crate) &'a HashMap<String, String>);

pub(crate) fn config_error(var: &str, value: &str, reason: &str) -> ConfigError {
    ConfigError {
        var: var.into(),
        value: value.into(),
        reason: reason.into(),
    }
}

impl Vars<'_> {
    /// The trimmed value, or None when unset or blank.
    pub(crate) fn get(&self, k: &str) -> Option<String> {
        self.0
            .get(k)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// A whole number within `min..=max`, or `default` when unset.
    pub(crate) fn num<T>(&self, var: &str, default: T, min: T, max: T) -> Result<T, ConfigError>
    where
        T: std::str::FromStr + PartialOrd + fmt::Display + Copy,
    {
        match self.get(var) {
            None => Ok(default),
            Some(v) => match v.parse::<T>() {
                Ok(n) if n >= min && n <= max => Ok(n),
                Ok(_) => Err(config_error(
                    var,
                    &v,
                    &format!("must be between {min} and {max}"),
                )),
                Err(_) => Err(config_error(var, &v, "must be a whole number")),
            },
        }
    }

    /// `true`/`1`/`yes` or `false`/`0`/`no`, or `default` when unset.
    pub(crate) fn flag(&self, var: &str, default: bool) -> Result<bool, ConfigError> {
        match self.get(var).map(|v| v.to_ascii_lowercase()).as_deref() {
            None => Ok(default),
            Some("true" | "1" | "yes") => Ok(true),
            Some("false" | "0" | "no") => Ok(false),
            Some(v) => Err(config_error(var, v, "must be true or false")),
        }
    }
}

pub const DEFAULT_SQLITE_URL: &str = "sqlite://./data/patchmon.db";

/// Every variable we read, for the misspelling check.
const KNOWN: &[&str] = &[
    "PORT",
    "BIND_ADDRESS",
    "DATABASE_URL",
    "DB_CONNECTION_LIMIT",
    "LOG_LEVEL",
    "LOG_FORMAT",
    "AGENT_UPDATE_BODY_LIMIT",
    "AGENT_PING_BODY_LIMIT",
    "JSON_BODY_LIMIT",
    "SERVER_PROTOCOL",
    "SERVER_HOST",
    "SERVER_PORT",
    "AGENT_BINARIES_DIR",
    "AGENTS_DIR",
    "ENROLLMENT_RATE_LIMIT_MAX",
];

impl Config {
    /// Reads the process environment (after loading `.env` if present).
    pub fn from_env() -> Result<Self, ConfigError> {
        let _ = dotenvy::dotenv();
        let vars: HashMap<String, String> = std::env::vars().collect();
        Self::from_map(&vars)
    }

    /// Builds the configuration from a map of variables (tests use this).
    pub fn from_map(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let v = Vars(vars);
        let get = |k: &str| v.get(k);
        let err = config_error;
        let parse_num = |var: &str, default: u64, min: u64, max: u64| v.num(var, default, min, max);
        let parse_size = |var: &str, default: usize| -> Result<usize, ConfigError> {
            match get(var) {
                None => Ok(default),
                Some(v) => parse_byte_size(&v)
                    .ok_or_else(|| err(var, &v, "must be a size such as 5mb, 512kb or 1048576")),
            }
        };

        let port = parse_num("PORT", 3000, 1, 65535)? as u16;
        let bind_address = match get("BIND_ADDRESS") {
            None => IpAddr::from([0, 0, 0, 0]),
            Some(v) => v
                .parse()
                .map_err(|_| err("BIND_ADDRESS", &v, "must be an IP address"))?,
        };
        let database_url = match get("DATABASE_URL") {
            None => DatabaseUrl::Sqlite(DEFAULT_SQLITE_URL.into()),
            Some(v) => DatabaseUrl::parse(&v).map_err(|r| ConfigError {
                var: "DATABASE_URL".into(),
                value: redact_url(&v),
                reason: r,
            })?,
        };
        let default_connections = if database_url.dialect() == "sqlite" {
            6
        } else {
            16
        };
        let log_format = match get("LOG_FORMAT").as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(v) => return Err(err("LOG_FORMAT", v, "must be text or json")),
        };
        let log_level = match get("LOG_LEVEL") {
            None => "info".to_owned(),
            Some(v) => {
                let l = v.to_ascii_lowercase();
                if !["trace", "debug", "info", "warn", "error"].contains(&l.as_str()) {
                    return Err(err(
                        "LOG_LEVEL",
                        &v,
                        "must be trace, debug, info, warn or error",
                    ));
                }
                l
            }
        };
        let server_protocol = match get("SERVER_PROTOCOL") {
            None => "http".to_owned(),
            Some(v) if v == "http" || v == "https" => v,
            Some(v) => return Err(err("SERVER_PROTOCOL", &v, "must be http or https")),
        };
        let server_host = get("SERVER_HOST").unwrap_or_else(|| "localhost".into());
        let server_port = parse_num("SERVER_PORT", u64::from(port), 1, 65535)? as u16;
        let agent_binaries_dir = get("AGENT_BINARIES_DIR")
            .or_else(|| get("AGENTS_DIR"))
            .unwrap_or_else(|| "./agents".into())
            .into();

        Ok(Self {
            bind_address,
            port,
            database_url,
            db_connection_limit: parse_num("DB_CONNECTION_LIMIT", default_connections, 1, 1000)?
                as u32,
            log_level,
            log_format,
            agent_update_body_limit: parse_size("AGENT_UPDATE_BODY_LIMIT", 5 * 1024 * 1024)?,
            agent_ping_body_limit: parse_size("AGENT_PING_BODY_LIMIT", 64 * 1024)?,
            json_body_limit: parse_size("JSON_BODY_LIMIT", 5 * 1024 * 1024)?,
            server_protocol,
            server_host,
            server_port,
            agent_binaries_dir,
            ui_dir: get("UI_DIR").map(PathBuf::from),
            token_rate_limit_max: parse_num("ENROLLMENT_RATE_LIMIT_MAX", 300, 1, 1_000_000)? as u32,
            auth: crate::auth::config::AuthConfig::from_map(vars)?,
            queue: crate::queue::config::QueueConfig::from_map(vars)?,
        })
    }

    /// Variables that look like a misspelling of one we know (same family or
    /// one edit away), so the operator hears about `DATABSE_URL`.
    pub fn suspicious_vars(vars: &HashMap<String, String>) -> Vec<(String, &'static str)> {
        let mut out = Vec::new();
        for k in vars.keys() {
            let mut known_vars = KNOWN
                .iter()
                .chain(crate::auth::config::KNOWN)
                .chain(crate::queue::config::KNOWN);
            if known_vars.clone().any(|v| *v == k.as_str()) {
                continue;
            }
            if let Some(known) =
                known_vars.find(|known| edit_distance(k, known) <= 2 && k.len() > 4)
            {
                out.push((k.clone(), *known));
            }
        }
        out.sort();
        out
    }

    /// The public base URL agents use, e.g. `https://patchmon.example.com`.
    pub fn public_url(&self) -> String {
        let default_port = matches!(
            (self.server_protocol.as_str(), self.server_port),
            ("http", 80) | ("https", 443)
        );
        if default_port {
            format!("{}://{}", self.server_protocol, self.server_host)
        } else {
            format!(
                "{}://{}:{}",
                self.server_protocol, self.server_host, self.server_port
            )
        }
    }

    /// Configuration for tests: everything default, the given database.
    pub fn for_test(database_url: DatabaseUrl) -> Self {
        let mut c = Self::from_map(&HashMap::new()).unwrap_or_else(|e| panic!("{e}"));
        c.database_url = database_url;
        c.bind_address = IpAddr::from([127, 0, 0, 1]);
        c.port = 0;
        c.db_connection_limit = 8;
        // No agent binaries unless a test provides a directory.
        c.agent_binaries_dir = std::env::temp_dir().join("patchmon-test-no-agents");
        // No scheduled jobs unless a test asks for them: a test that moves a
        // ManualClock by hours or days would otherwise race the jobs that
        // become due (session-cleanup pruning the very rows it then counts).
        c.queue.scheduler_enabled = false;
        c
    }
}

/// Parses `5mb`, `512kb`, `1gb`, `100b` or a plain number of bytes.
pub fn parse_byte_size(s: &str) -> Option<usize> {
    let s = s.trim().to_ascii_lowercase();
    let (num, mult) = if let Some(n) = s.strip_suffix("gb") {
        (n, 1024 * 1024 * 1024)
    } else if let Some(n) = s.strip_suffix("mb") {
        (n, 1024 * 1024)
    } else if let Some(n) = s.strip_suffix("kb") {
        (n, 1024)
    } else if let Some(n) = s.strip_suffix('b') {
        (n, 1)
    } else {
        (s.as_str(), 1)
    };
    let n: usize = num.trim().parse().ok()?;
    let v = n.checked_mul(mult)?;
    (v > 0).then_some(v)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
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
    fn defaults() {
        let c = Config::from_map(&HashMap::new()).unwrap();
        assert_eq!(c.port, 3000);
        assert_eq!(
            c.database_url,
            DatabaseUrl::Sqlite(DEFAULT_SQLITE_URL.into())
        );
        assert_eq!(c.agent_update_body_limit, 5 * 1024 * 1024);
        assert_eq!(c.public_url(), "http://localhost:3000");
    }

    #[test]
    fn bad_values_name_the_variable() {
        let e = Config::from_map(&map(&[("PORT", "70000")])).unwrap_err();
        assert_eq!(e.var, "PORT");
        let e = Config::from_map(&map(&[("DATABASE_URL", "mysql://u:pw@h/db")])).unwrap_err();
        assert_eq!(e.var, "DATABASE_URL");
        assert!(!e.to_string().contains("pw@"), "password leaked: {e}");
        let e = Config::from_map(&map(&[("AGENT_UPDATE_BODY_LIMIT", "lots")])).unwrap_err();
        assert_eq!(e.var, "AGENT_UPDATE_BODY_LIMIT");
        let e = Config::from_map(&map(&[("LOG_LEVEL", "loud")])).unwrap_err();
        assert_eq!(e.var, "LOG_LEVEL");
    }

    #[test]
    fn postgres_url_is_redacted() {
        let u = DatabaseUrl::parse("postgres://patchmon:s3cret@db:5432/patchmon").unwrap();
        assert_eq!(u.to_string(), "postgres://patchmon:***@db:5432/patchmon");
        assert!(!format!("{u:?}").contains("s3cret"));
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_byte_size("5mb"), Some(5 * 1024 * 1024));
        assert_eq!(parse_byte_size("512KB"), Some(512 * 1024));
        assert_eq!(parse_byte_size("1048576"), Some(1048576));
        assert_eq!(parse_byte_size("0"), None);
        assert_eq!(parse_byte_size("x"), None);
    }

    #[test]
    fn misspellings_are_noticed() {
        let s = Config::suspicious_vars(&map(&[("DATABSE_URL", "x"), ("HOME", "/root")]));
        assert_eq!(s, vec![("DATABSE_URL".to_string(), "DATABASE_URL")]);
    }

    #[test]
    fn public_url_omits_default_port() {
        let c = Config::from_map(&map(&[
            ("SERVER_PROTOCOL", "https"),
            ("SERVER_HOST", "pm.example.com"),
            ("SERVER_PORT", "443"),
        ]))
        .unwrap();
        assert_eq!(c.public_url(), "https://pm.example.com");
    }
}
