//! apk (Alpine Linux).
//!
//! - index refresh: `apk update -q` unless `package_cache_refresh_mode: never`;
//! - installed: `apk list --installed` (`name-ver-rN arch {origin} (license) [installed]`);
//! - upgrades: `apk list --upgradable` (`… [upgradable from: name-oldver-rN]`);
//! - repository of each package: `apk policy <names…>`;
//! - repositories: `/etc/apk/repositories` (`@tag` pinned entries included).
//!
//! Alpine publishes no machine-readable security flag through apk, so
//! `isSecurityUpdate` is always false (as in PatchMon).

use std::collections::HashMap;

use patchmon_protocol::Repository;

use super::{CollectError, CollectOptions, Installed, Inventory, PackageManager, Upgrade};
use crate::config::CacheRefresh;
use crate::util::{self, CMD_TIMEOUT, NET_CMD_TIMEOUT};

pub struct Apk;

impl PackageManager for Apk {
    fn name(&self) -> &'static str {
        "apk"
    }

    fn collect(&self, opts: &CollectOptions) -> Result<Inventory, CollectError> {
        if opts.cache_refresh != CacheRefresh::Never
            && let Err(e) = util::run("apk", &["update", "-q"], NET_CMD_TIMEOUT)
        {
            tracing::warn!("apk update failed (continuing with the current index): {e}");
        }
        let inst = util::run("apk", &["list", "--installed"], CMD_TIMEOUT)?;
        let mut installed = parse_installed(&inst.stdout);
        super::require_packages("apk", &installed)?;
        let ups = util::run("apk", &["list", "--upgradable"], CMD_TIMEOUT)?;
        let upgrades = parse_upgradable(&ups.stdout);

        let names: Vec<&str> = installed.iter().map(|p| p.name.as_str()).collect();
        let mut repos = HashMap::new();
        for chunk in names.chunks(200) {
            let mut args = vec!["policy"];
            args.extend(chunk);
            if let Ok(o) = util::run("apk", &args, CMD_TIMEOUT) {
                repos.extend(parse_policy(&o.stdout));
            }
        }
        for i in &mut installed {
            if let Some((_, repo)) = repos
                .get(&i.name)
                .and_then(|vs| vs.iter().find(|(v, _)| *v == i.version))
            {
                i.repo = repo.clone();
            }
        }
        let text = std::fs::read_to_string("/etc/apk/repositories").unwrap_or_default();
        Ok(Inventory {
            packages: super::merge(installed, upgrades),
            repositories: parse_repositories(&text),
        })
    }
}

/// Splits `name-version-rN` (apk versions never contain `-`, the release is `rN`).
pub fn split_apk(s: &str) -> Option<(&str, String)> {
    let mut it = s.rsplitn(3, '-');
    let rel = it.next()?;
    let ver = it.next()?;
    let name = it.next()?;
    if !rel.starts_with('r') || name.is_empty() || !ver.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    Some((name, format!("{ver}-{rel}")))
}

/// Parses `apk list --installed`.
pub fn parse_installed(out: &str) -> Vec<Installed> {
    out.lines()
        .filter(|l| l.contains("[installed]"))
        .filter_map(|l| {
            let first = l.split_whitespace().next()?;
            let (name, version) = split_apk(first)?;
            Some(Installed {
                name: name.to_owned(),
                version,
                ..Default::default()
            })
        })
        .collect()
}

/// Parses `apk list --upgradable` / `apk -u list`.
pub fn parse_upgradable(out: &str) -> Vec<Upgrade> {
    out.lines()
        .filter_map(|l| {
            let first = l.split_whitespace().next()?;
            let (name, available) = split_apk(first)?;
            let from = l
                .split("upgradable from:")
                .nth(1)?
                .trim()
                .trim_end_matches(']')
                .trim();
            let current = split_apk(from).map(|(_, v)| v).unwrap_or_default();
            Some(Upgrade {
                name: name.to_owned(),
                current,
                available,
                ..Default::default()
            })
        })
        .collect()
}

/// Parses `apk policy <names…>`: for each package, its versions and the
/// repositories offering each (`lib/apk/db/installed` is not a repository).
pub fn parse_policy(out: &str) -> HashMap<String, Vec<(String, String)>> {
    let mut map: HashMap<String, Vec<(String, String)>> = HashMap::new();
    let mut name = String::new();
    let mut version = String::new();
    for line in out.lines() {
        if let Some(n) = line.strip_suffix(" policy:") {
            name = n.trim().to_owned();
            version.clear();
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let t = line.trim();
        if indent == 2 && t.ends_with(':') {
            version = t.trim_end_matches(':').to_owned();
            continue;
        }
        if indent >= 4
            && !name.is_empty()
            && !version.is_empty()
            && !t.starts_with("lib/apk/db/installed")
        {
            let repo = t.split_whitespace().next_back().unwrap_or(t);
            let entry = map.entry(name.clone()).or_default();
            if !entry.iter().any(|(v, _)| *v == version) {
                entry.push((version.clone(), repo.to_owned()));
            }
        }
    }
    map
}

/// Parses `/etc/apk/repositories`.
pub fn parse_repositories(text: &str) -> Vec<Repository> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            // "@edge https://…" pins a tagged repository.
            let url = l
                .split_whitespace()
                .find(|t| !t.starts_with('@'))
                .unwrap_or(l);
            let parts: Vec<&str> = url.trim_end_matches('/').rsplit('/').collect();
            let component = parts.first().copied().unwrap_or_default();
            let release = parts.get(1).copied().unwrap_or_default();
            Repository {
                name: super::repo_display_name(url, &format!("{release}-{component}")),
                url: url.to_owned(),
                distribution: release.to_owned(),
                components: component.to_owned(),
                repo_type: "apk".into(),
                is_enabled: true,
                is_secure: url.starts_with("https://"),
            }
        })
        .collect()
}
