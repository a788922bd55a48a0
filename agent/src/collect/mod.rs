//! Package collection. Every package manager sits behind [`PackageManager`];
//! [`detect`] picks the one this host uses at run time. Each manager module
//! is split into pure parsers (tested from recorded outputs under
//! `tests/fixtures/`) and a thin runner that executes the commands.

pub mod apk;
pub mod apt;
pub mod dnf;
pub mod pacman;
pub mod pkg;

use std::collections::BTreeMap;

use patchmon_protocol::{Package, Repository};

use crate::config::CacheRefresh;
use crate::util::{self, CmdError};

/// Knobs the collectors honour.
#[derive(Debug, Clone)]
pub struct CollectOptions {
    pub cache_refresh: CacheRefresh,
    /// Minutes after which `if_stale` refreshes the index.
    pub cache_max_age_minutes: i64,
}

impl Default for CollectOptions {
    fn default() -> Self {
        Self {
            cache_refresh: CacheRefresh::IfStale,
            cache_max_age_minutes: 60,
        }
    }
}

/// Packages and repositories of one host.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    pub packages: Vec<Package>,
    pub repositories: Vec<Repository>,
}

#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error(transparent)]
    Cmd(#[from] CmdError),
    #[error("{0}")]
    Failed(String),
}

/// One package manager.
pub trait PackageManager: Send + Sync {
    /// The `packageManager` value of the report (`apt`, `dnf`, `yum`, `apk`, `pacman`, `pkg`).
    fn name(&self) -> &'static str;
    /// Installed packages (with available updates merged in) and repositories.
    /// An empty installed list is an error: a report without packages is never sent.
    fn collect(&self, opts: &CollectOptions) -> Result<Inventory, CollectError>;
}

/// Picks the package manager of this host, in PatchMon's order: FreeBSD
/// `pkg`, `apk`, `apt`, `dnf`, `yum`, `pacman`.
pub fn detect() -> Option<Box<dyn PackageManager>> {
    if cfg!(target_os = "freebsd") && util::which("pkg").is_some() {
        return Some(Box::new(pkg::Pkg));
    }
    if util::which("apk").is_some() {
        return Some(Box::new(apk::Apk));
    }
    if util::which("dpkg-query").is_some()
        && (util::which("apt").is_some() || util::which("apt-get").is_some())
    {
        return Some(Box::new(apt::Apt));
    }
    if util::which("dnf").is_some() || util::which("dnf5").is_some() {
        return Some(Box::new(dnf::Dnf::new(dnf::Flavor::Dnf)));
    }
    if util::which("yum").is_some() {
        return Some(Box::new(dnf::Dnf::new(dnf::Flavor::Yum)));
    }
    if util::which("pacman").is_some() {
        return Some(Box::new(pacman::Pacman));
    }
    None
}

/// An installed package as a manager lists it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Installed {
    pub name: String,
    pub version: String,
    pub description: String,
    pub repo: String,
}

/// An available upgrade.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Upgrade {
    pub name: String,
    /// Installed version when the manager prints it (empty otherwise).
    pub current: String,
    pub available: String,
    pub security: bool,
    pub repo: String,
}

/// Merges installed packages with upgrades: one row per installed name,
/// upgrades deduplicated by name with security winning, sorted by name.
/// Upgrades for names that are not installed are dropped.
pub fn merge(installed: Vec<Installed>, upgrades: Vec<Upgrade>) -> Vec<Package> {
    let mut ups: BTreeMap<String, Upgrade> = BTreeMap::new();
    for u in upgrades {
        match ups.get_mut(&u.name) {
            Some(prev) => {
                let security = prev.security || u.security;
                *prev = Upgrade { security, ..u };
            }
            None => {
                ups.insert(u.name.clone(), u);
            }
        }
    }
    let mut out: BTreeMap<String, Package> = BTreeMap::new();
    for i in installed {
        let mut p = Package {
            name: i.name.clone(),
            description: i.description,
            current_version: i.version,
            source_repository: i.repo,
            ..Default::default()
        };
        if let Some(u) = ups.get(&i.name) {
            p.needs_update = true;
            p.available_version = u.available.clone();
            p.is_security_update = u.security;
            if p.current_version.is_empty() {
                p.current_version = u.current.clone();
            }
            if p.source_repository.is_empty() {
                p.source_repository = u.repo.clone();
            }
        }
        out.insert(i.name, p);
    }
    out.into_values().collect()
}

/// Rejects an empty installed list (PatchMon: a hard error, no report is sent).
pub fn require_packages(mgr: &str, installed: &[Installed]) -> Result<(), CollectError> {
    if installed.is_empty() {
        Err(CollectError::Failed(format!(
            "{mgr}: the installed package list is empty"
        )))
    } else {
        Ok(())
    }
}

/// Name of a repository derived from its URL: host without `www.` and the
/// common TLD, plus the suite (`deb.debian-bookworm-security`).
pub fn repo_display_name(url: &str, suite: &str) -> String {
    let host = url
        .split("://")
        .nth(1)
        .unwrap_or(url)
        .split('/')
        .next()
        .unwrap_or_default();
    let host = host.split('@').next_back().unwrap_or(host);
    let host = host.split(':').next().unwrap_or(host);
    let mut h = host.trim_start_matches("www.").to_owned();
    for tld in [".com", ".org", ".net"] {
        if let Some(s) = h.strip_suffix(tld) {
            h = s.to_owned();
            break;
        }
    }
    let suite = suite.trim_matches('/').replace('/', "-");
    match (h.is_empty(), suite.is_empty()) {
        (true, _) => suite,
        (false, true) => h,
        (false, false) => format!("{h}-{suite}"),
    }
}

/// Splits `name-version` where the version starts at the last `-` followed
/// by a digit (FreeBSD pkg and pacman style).
pub fn split_name_version(s: &str) -> (&str, &str) {
    let bytes = s.as_bytes();
    for (i, c) in s.char_indices().rev() {
        if c == '-' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
            return (&s[..i], &s[i + 1..]);
        }
    }
    (s, "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_dedupes_and_prefers_security() {
        let installed = vec![
            Installed {
                name: "b".into(),
                version: "1".into(),
                ..Default::default()
            },
            Installed {
                name: "a".into(),
                version: "1".into(),
                repo: "r".into(),
                ..Default::default()
            },
        ];
        let ups = vec![
            Upgrade {
                name: "a".into(),
                available: "2".into(),
                security: true,
                ..Default::default()
            },
            Upgrade {
                name: "a".into(),
                available: "2".into(),
                security: false,
                ..Default::default()
            },
            Upgrade {
                name: "ghost".into(),
                available: "9".into(),
                ..Default::default()
            },
        ];
        let m = merge(installed, ups);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].name, "a");
        assert!(m[0].needs_update && m[0].is_security_update);
        assert_eq!(m[0].available_version, "2");
        assert_eq!(m[0].source_repository, "r");
        assert!(!m[1].needs_update);
        assert!(m[1].available_version.is_empty());
    }

    #[test]
    fn repo_names() {
        assert_eq!(
            repo_display_name("http://deb.debian.org/debian", "bookworm"),
            "deb.debian-bookworm"
        );
        assert_eq!(
            repo_display_name("https://www.example.com:8443/repo", "stable/"),
            "example-stable"
        );
    }

    #[test]
    fn name_version_split() {
        assert_eq!(
            split_name_version("py311-setuptools-63.1.0_1"),
            ("py311-setuptools", "63.1.0_1")
        );
        assert_eq!(split_name_version("curl-8.5.0"), ("curl", "8.5.0"));
        assert_eq!(split_name_version("noversion"), ("noversion", ""));
    }
}
