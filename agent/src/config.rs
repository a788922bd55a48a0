//! `config.yml` and `credentials.yml`, with PatchMon's keys.
//!
//! Both files are kept as a YAML mapping so keys this agent does not know are
//! carried through every rewrite; the typed [`Settings`] view is derived from
//! the mapping. Writes are atomic (temp file in the same directory, fsync,
//! rename) and leave the file at mode 0600. Comments are not preserved.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_norway::{Mapping, Value};

pub const DEFAULT_CONFIG_PATH: &str = "/etc/patchmon/config.yml";
pub const DEFAULT_CREDENTIALS_PATH: &str = "/etc/patchmon/credentials.yml";
pub const DEFAULT_LOG_PATH: &str = "/etc/patchmon/logs/patchmon-agent.log";
pub const DEFAULT_UPDATE_INTERVAL: i64 = 60;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "config file {0} not found. Create it with: sudo patchmon-agent config set-api <API_ID> <API_KEY> <SERVER_URL> \
         (the values are shown in the PatchMon UI when you add the host)"
    )]
    Missing(PathBuf),
    #[error(
        "credentials file {0} not found. Create it with: sudo patchmon-agent config set-api <API_ID> <API_KEY> <SERVER_URL>"
    )]
    MissingCredentials(PathBuf),
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not valid YAML: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(String),
}

/// A YAML mapping backed by a file.
#[derive(Debug, Clone)]
pub struct YamlFile {
    pub path: PathBuf,
    pub doc: Mapping,
}

impl YamlFile {
    /// Reads the file; `Ok(None)` when it does not exist.
    pub fn read(path: &Path) -> Result<Option<Self>, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        let doc = if text.trim().is_empty() {
            Mapping::new()
        } else {
            match serde_norway::from_str::<Value>(&text) {
                Ok(Value::Mapping(m)) => m,
                Ok(Value::Null) => Mapping::new(),
                Ok(_) => {
                    return Err(ConfigError::Parse {
                        path: path.to_owned(),
                        message: "the top level must be a mapping of keys to values".into(),
                    });
                }
                Err(e) => {
                    return Err(ConfigError::Parse {
                        path: path.to_owned(),
                        message: e.to_string(),
                    });
                }
            }
        };
        Ok(Some(Self {
            path: path.to_owned(),
            doc,
        }))
    }

    pub fn empty(path: &Path) -> Self {
        Self {
            path: path.to_owned(),
            doc: Mapping::new(),
        }
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.doc.get(key)
    }

    pub fn get_str(&self, key: &str) -> Option<String> {
        value_str(self.doc.get(key)?)
    }

    /// Sets a top-level key; returns whether the value changed.
    pub fn set(&mut self, key: &str, value: Value) -> bool {
        if self.doc.get(key) == Some(&value) {
            return false;
        }
        self.doc.insert(Value::String(key.to_owned()), value);
        true
    }

    /// Sets `parent.key`, turning `parent` into a mapping if it is not one.
    pub fn set_nested(&mut self, parent: &str, key: &str, value: Value) -> bool {
        let entry = self
            .doc
            .entry(Value::String(parent.to_owned()))
            .or_insert_with(|| Value::Mapping(Mapping::new()));
        if !entry.is_mapping() {
            *entry = Value::Mapping(Mapping::new());
        }
        let Value::Mapping(m) = entry else {
            return false;
        };
        if m.get(key) == Some(&value) {
            return false;
        }
        m.insert(Value::String(key.to_owned()), value);
        true
    }

    /// Writes the mapping atomically with mode 0600.
    pub fn save(&self) -> Result<(), ConfigError> {
        let text = serde_norway::to_string(&Value::Mapping(self.doc.clone())).map_err(|e| {
            ConfigError::Invalid(format!("cannot encode {}: {e}", self.path.display()))
        })?;
        write_atomic(&self.path, text.as_bytes()).map_err(|source| ConfigError::Write {
            path: self.path.clone(),
            source,
        })
    }
}

fn value_str(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn value_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn value_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" | "on" => Some(true),
            "false" | "no" | "0" | "off" => Some(false),
            _ => None,
        },
        Value::Number(n) => n.as_i64().map(|i| i != 0),
        _ => None,
    }
}

/// Writes `bytes` to `path` through a temp file in the same directory, then
/// renames it into place. The result has mode 0600 and survives a crash at
/// any point (either the old or the new content is there).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp.{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        // An existing temp file keeps its mode; make sure it is 0600.
        std::fs::set_permissions(&tmp, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Compliance mode as written in `integrations.compliance`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ComplianceMode {
    Disabled,
    OnDemand,
    Enabled,
}

impl ComplianceMode {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Disabled => "disabled",
            Self::OnDemand => "on-demand",
            Self::Enabled => "enabled",
        }
    }

    fn from_value(v: &Value) -> Self {
        match v {
            Value::Bool(true) => Self::Enabled,
            Value::Bool(false) => Self::Disabled,
            Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "enabled" | "yes" => Self::Enabled,
                "false" | "disabled" | "no" => Self::Disabled,
                _ => Self::OnDemand,
            },
            Value::Mapping(m) => m
                .get("enabled")
                .map(Self::from_value)
                .unwrap_or(Self::OnDemand),
            _ => Self::OnDemand,
        }
    }

    /// The YAML value PatchMon writes for this mode.
    pub fn to_value(&self) -> Value {
        match self {
            Self::Disabled => Value::Bool(false),
            Self::OnDemand => Value::String("on-demand".into()),
            Self::Enabled => Value::Bool(true),
        }
    }

    pub fn parse(s: &str) -> Self {
        Self::from_value(&Value::String(s.to_owned()))
    }
}

/// How APT (and apk) refresh their package index before collecting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheRefresh {
    Always,
    IfStale,
    Never,
}

impl CacheRefresh {
    pub fn parse(s: &str) -> Self {
        match s.trim().to_ascii_lowercase().as_str() {
            "always" => Self::Always,
            "never" => Self::Never,
            _ => Self::IfStale,
        }
    }
}

/// Typed, defaulted view of `config.yml`.
#[derive(Debug, Clone)]
pub struct Settings {
    pub patchmon_server: String,
    pub api_version: String,
    pub credentials_file: PathBuf,
    pub log_file: PathBuf,
    pub log_level: String,
    pub skip_ssl_verify: bool,
    pub update_interval: i64,
    pub report_offset: i64,
    pub package_cache_refresh_mode: CacheRefresh,
    pub package_cache_refresh_max_age: i64,
    pub docker: bool,
    pub compliance: ComplianceMode,
    pub ssh_proxy_enabled: bool,
    pub rdp_proxy_enabled: bool,
}

/// `config.yml`.
#[derive(Debug, Clone)]
pub struct Config {
    pub file: YamlFile,
    /// False when the file did not exist (defaults only).
    pub exists: bool,
}

impl Config {
    /// Loads an existing config; a missing file is an error that says how to create it.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        match YamlFile::read(path)? {
            Some(file) => Ok(Self { file, exists: true }),
            None => Err(ConfigError::Missing(path.to_owned())),
        }
    }

    /// Loads the config, or starts from an empty one when it does not exist.
    pub fn load_or_default(path: &Path) -> Result<Self, ConfigError> {
        Ok(match YamlFile::read(path)? {
            Some(file) => Self { file, exists: true },
            None => Self {
                file: YamlFile::empty(path),
                exists: false,
            },
        })
    }

    pub fn path(&self) -> &Path {
        &self.file.path
    }

    pub fn settings(&self) -> Settings {
        let f = &self.file;
        let s = |k: &str| f.get_str(k).filter(|v| !v.trim().is_empty());
        let integ = f.get("integrations").and_then(Value::as_mapping);
        let ig = |k: &str| integ.and_then(|m| m.get(k));
        let dir = f.path.parent().map(Path::to_path_buf).unwrap_or_default();
        let resolve = |p: String| {
            let p = PathBuf::from(p);
            if p.is_relative() { dir.join(p) } else { p }
        };
        Settings {
            patchmon_server: s("patchmon_server").unwrap_or_default().trim().to_owned(),
            api_version: s("api_version").unwrap_or_else(|| "v1".into()),
            credentials_file: s("credentials_file")
                .map(resolve)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_CREDENTIALS_PATH)),
            log_file: s("log_file")
                .map(resolve)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_LOG_PATH)),
            log_level: s("log_level").unwrap_or_else(|| "info".into()),
            skip_ssl_verify: f
                .get("skip_ssl_verify")
                .and_then(value_bool)
                .unwrap_or(false),
            update_interval: f
                .get("update_interval")
                .and_then(value_i64)
                .filter(|v| *v > 0)
                .unwrap_or(DEFAULT_UPDATE_INTERVAL),
            report_offset: f.get("report_offset").and_then(value_i64).unwrap_or(0),
            package_cache_refresh_mode: s("package_cache_refresh_mode")
                .map(|v| CacheRefresh::parse(&v))
                .unwrap_or(CacheRefresh::IfStale),
            package_cache_refresh_max_age: f
                .get("package_cache_refresh_max_age")
                .and_then(value_i64)
                .filter(|v| *v > 0)
                .unwrap_or(60),
            docker: ig("docker").and_then(value_bool).unwrap_or(false),
            compliance: ig("compliance")
                .map(ComplianceMode::from_value)
                .unwrap_or(ComplianceMode::OnDemand),
            ssh_proxy_enabled: ig("ssh-proxy-enabled")
                .and_then(value_bool)
                .unwrap_or(false),
            rdp_proxy_enabled: ig("rdp-proxy-enabled")
                .and_then(value_bool)
                .unwrap_or(false),
        }
    }

    /// Sets `integrations.compliance`, keeping the map form (and its other
    /// keys such as `scan_interval`) when the file already uses it.
    pub fn set_compliance(
        &mut self,
        mode: Option<ComplianceMode>,
        openscap: Option<bool>,
        docker_bench: Option<bool>,
    ) -> bool {
        let current = self
            .file
            .get("integrations")
            .and_then(Value::as_mapping)
            .and_then(|m| m.get("compliance"))
            .cloned();
        let mut map = match current {
            Some(Value::Mapping(m)) => m,
            Some(other) => {
                // Migrate the older flat value into the map form.
                let mut m = Mapping::new();
                m.insert(
                    "enabled".into(),
                    ComplianceMode::from_value(&other).to_value(),
                );
                m
            }
            None => Mapping::new(),
        };
        if let Some(mode) = mode {
            map.insert("enabled".into(), mode.to_value());
        }
        if let Some(v) = openscap {
            map.insert("openscap_enabled".into(), Value::Bool(v));
        }
        if let Some(v) = docker_bench {
            map.insert("docker_bench_enabled".into(), Value::Bool(v));
        }
        self.file
            .set_nested("integrations", "compliance", Value::Mapping(map))
    }

    pub fn save(&self) -> Result<(), ConfigError> {
        self.file.save()
    }
}

/// Validates a server URL as `config set-api` accepts it.
pub fn validate_server_url(url: &str) -> Result<String, ConfigError> {
    let u = url.trim().trim_end_matches('/');
    let rest = u
        .strip_prefix("https://")
        .or_else(|| u.strip_prefix("http://"))
        .ok_or_else(|| {
            ConfigError::Invalid(format!(
                "server URL {url:?} must start with http:// or https://"
            ))
        })?;
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(ConfigError::Invalid(format!(
            "server URL {url:?} has no valid host"
        )));
    }
    Ok(u.to_owned())
}

/// `credentials.yml`.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub api_id: String,
    pub api_key: String,
}

impl Credentials {
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let file = YamlFile::read(path)?
            .ok_or_else(|| ConfigError::MissingCredentials(path.to_owned()))?;
        let api_id = file.get_str("api_id").unwrap_or_default().trim().to_owned();
        let api_key = file
            .get_str("api_key")
            .unwrap_or_default()
            .trim()
            .to_owned();
        if api_id.is_empty() || api_key.is_empty() {
            return Err(ConfigError::Invalid(format!(
                "{} must contain api_id and api_key. Set them with: sudo patchmon-agent config set-api <API_ID> <API_KEY> <SERVER_URL>",
                path.display()
            )));
        }
        Ok(Self { api_id, api_key })
    }

    /// Writes `api_id`/`api_key`, keeping any other keys in the file.
    pub fn save(&self, path: &Path) -> Result<(), ConfigError> {
        let mut file = YamlFile::read(path)?.unwrap_or_else(|| YamlFile::empty(path));
        file.set("api_id", Value::String(self.api_id.clone()));
        file.set("api_key", Value::String(self.api_key.clone()));
        file.save()
    }
}

/// Whether TLS verification should be skipped: `skip_ssl_verify` or
/// `PATCHMON_SKIP_SSL_VERIFY`, but never when `PATCHMON_ENV=production`.
/// Returns the decision and, when a request to skip was refused, why.
pub fn effective_skip_ssl_verify(configured: bool) -> (bool, Option<String>) {
    let env_skip = std::env::var("PATCHMON_SKIP_SSL_VERIFY")
        .map(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "true" | "1"))
        .unwrap_or(false);
    let wanted = configured || env_skip;
    let production = std::env::var("PATCHMON_ENV")
        .map(|v| v.trim().eq_ignore_ascii_case("production"))
        .unwrap_or(false);
    if wanted && production {
        (
            false,
            Some("skip_ssl_verify is refused because PATCHMON_ENV=production; TLS certificates are verified".into()),
        )
    } else {
        (wanted, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn defaults_and_unknown_keys_survive_rewrite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.yml");
        std::fs::write(
            &path,
            "patchmon_server: \"https://pm.example.com\"\nfuture_key:\n  nested: [1, 2]\nintegrations:\n  docker: true\n  ssh-proxy-enabled: true\n  compliance: \"on-demand\"\n",
        )
        .unwrap();
        let mut c = Config::load(&path).unwrap();
        let s = c.settings();
        assert_eq!(s.patchmon_server, "https://pm.example.com");
        assert_eq!(s.api_version, "v1");
        assert_eq!(s.update_interval, 60);
        assert!(s.docker && s.ssh_proxy_enabled);
        assert_eq!(s.compliance, ComplianceMode::OnDemand);
        assert_eq!(s.credentials_file, PathBuf::from(DEFAULT_CREDENTIALS_PATH));

        assert!(c.file.set("update_interval", Value::from(15)));
        assert!(!c.file.set("update_interval", Value::from(15)));
        c.set_compliance(Some(ComplianceMode::Enabled), Some(true), None);
        c.save().unwrap();

        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let again = Config::load(&path).unwrap();
        let s = again.settings();
        assert_eq!(s.update_interval, 15);
        assert_eq!(s.compliance, ComplianceMode::Enabled);
        assert!(s.ssh_proxy_enabled, "ssh-proxy-enabled must never be lost");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("future_key"), "{text}");
        assert!(text.contains("nested"), "{text}");
        // No temp files left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn missing_config_says_how_to_create_it() {
        let err = Config::load(Path::new("/nonexistent/dir/config.yml")).unwrap_err();
        assert!(err.to_string().contains("config set-api"), "{err}");
    }

    #[test]
    fn invalid_yaml_is_reported_with_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.yml");
        std::fs::write(&path, "patchmon_server: [unclosed\n").unwrap();
        let err = Config::load(&path).unwrap_err();
        assert!(err.to_string().contains("not valid YAML"), "{err}");
    }

    #[test]
    fn credentials_round_trip_and_validation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials.yml");
        std::fs::write(&path, "api_id: x\nextra: keep\n").unwrap();
        assert!(Credentials::load(&path).is_err());
        let c = Credentials {
            api_id: "patchmon_0123456789abcdef".into(),
            api_key: "k".repeat(64),
        };
        c.save(&path).unwrap();
        let back = Credentials::load(&path).unwrap();
        assert_eq!(back.api_id, c.api_id);
        assert!(
            std::fs::read_to_string(&path)
                .unwrap()
                .contains("extra: keep")
        );
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn url_validation() {
        assert_eq!(
            validate_server_url("https://pm.example.com/").unwrap(),
            "https://pm.example.com"
        );
        assert!(validate_server_url("pm.example.com").is_err());
        assert!(validate_server_url("http://").is_err());
        assert!(validate_server_url("ftp://x").is_err());
    }

    #[test]
    fn flat_compliance_is_migrated_to_a_map() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.yml");
        std::fs::write(
            &path,
            "integrations:\n  compliance: false\n  ssh-proxy-enabled: false\n",
        )
        .unwrap();
        let mut c = Config::load(&path).unwrap();
        assert_eq!(c.settings().compliance, ComplianceMode::Disabled);
        c.set_compliance(None, Some(false), Some(true));
        let m = c
            .file
            .get("integrations")
            .unwrap()
            .get("compliance")
            .unwrap();
        assert_eq!(m.get("enabled"), Some(&Value::Bool(false)));
        assert_eq!(m.get("docker_bench_enabled"), Some(&Value::Bool(true)));
    }
}
