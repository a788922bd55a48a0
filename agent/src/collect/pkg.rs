//! FreeBSD `pkg` (FreeBSD, pfSense, OPNsense).
//!
//! - installed: `pkg query -a '%n\t%v\t%R\t%c'` (name, version, repository, comment);
//! - upgrades: `pkg upgrade -n` ("Installed packages to be UPGRADED:" section,
//!   `name: old -> new [repo]`);
//! - security: `pkg audit -F` (`name-version is vulnerable:`); a vulnerable
//!   package with an upgrade pending is a security update;
//! - base system: `freebsd-update updatesready` (exit 0 = fetched updates
//!   waiting to be installed) adds the synthetic package `freebsd-base`, as PatchMon does;
//! - repositories: `pkg -vv` ("Repositories:" block).

use std::collections::HashSet;

use patchmon_protocol::Repository;

use super::{CollectError, CollectOptions, Installed, Inventory, PackageManager, Upgrade};
use crate::util::{self, CMD_TIMEOUT, NET_CMD_TIMEOUT};

pub struct Pkg;

impl PackageManager for Pkg {
    fn name(&self) -> &'static str {
        "pkg"
    }

    fn collect(&self, _opts: &CollectOptions) -> Result<Inventory, CollectError> {
        let q = util::run("pkg", &["query", "-a", "%n\t%v\t%R\t%c"], CMD_TIMEOUT)?;
        let mut installed = parse_query(&q.stdout);
        super::require_packages("pkg", &installed)?;
        // `pkg upgrade -n` exits 1 when upgrades are pending: not an error.
        let up = util::run("pkg", &["upgrade", "-n"], NET_CMD_TIMEOUT)?;
        let mut upgrades = parse_upgrade_dry_run(&up.stdout);
        let audit = util::run("pkg", &["audit", "-F"], NET_CMD_TIMEOUT)
            .map(|o| parse_audit(&o.stdout))
            .unwrap_or_default();
        for u in &mut upgrades {
            u.security = audit.contains(&u.name);
        }
        if let Some(base) = base_system_update() {
            installed.push(Installed {
                name: "freebsd-base".into(),
                version: base.clone(),
                description: "FreeBSD base system".into(),
                repo: String::new(),
            });
            upgrades.push(Upgrade {
                name: "freebsd-base".into(),
                current: base,
                available: "Updates available".into(),
                security: true,
                repo: String::new(),
            });
        }
        let repositories = util::run("pkg", &["-vv"], CMD_TIMEOUT)
            .map(|o| parse_pkg_vv(&o.stdout))
            .unwrap_or_default();
        Ok(Inventory {
            packages: super::merge(installed, upgrades),
            repositories,
        })
    }
}

/// `Some(current base version)` when `freebsd-update` has updates ready.
fn base_system_update() -> Option<String> {
    util::which("freebsd-update")?;
    let ready = util::run("freebsd-update", &["updatesready"], CMD_TIMEOUT).ok()?;
    if !ready.success() {
        return None;
    }
    let v = util::run("freebsd-version", &[], CMD_TIMEOUT).ok()?;
    Some(v.stdout.trim().to_owned())
}

/// Parses `pkg query -a '%n\t%v\t%R\t%c'`.
pub fn parse_query(out: &str) -> Vec<Installed> {
    out.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.splitn(4, '\t').collect();
            let name = f.first()?.trim();
            let version = f.get(1)?.trim();
            if name.is_empty() || version.is_empty() {
                return None;
            }
            let repo = f.get(2).map(|s| s.trim()).unwrap_or_default();
            Some(Installed {
                name: name.to_owned(),
                version: version.to_owned(),
                // `unknown-repository` marks packages installed from a file.
                repo: if repo == "unknown-repository" {
                    String::new()
                } else {
                    repo.to_owned()
                },
                description: f.get(3).map(|s| s.trim().to_owned()).unwrap_or_default(),
            })
        })
        .collect()
}

/// Parses the "to be UPGRADED" section of `pkg upgrade -n`.
pub fn parse_upgrade_dry_run(out: &str) -> Vec<Upgrade> {
    let mut res = Vec::new();
    let mut in_section = false;
    for line in out.lines() {
        let t = line.trim();
        if t.is_empty() {
            in_section = false;
            continue;
        }
        if t.ends_with(':') && !line.starts_with(char::is_whitespace) {
            in_section = t.contains("UPGRADED");
            continue;
        }
        if !in_section {
            continue;
        }
        // "curl: 8.4.0 -> 8.5.0 [FreeBSD]"
        let Some((name, rest)) = t.split_once(": ") else {
            continue;
        };
        let tokens: Vec<&str> = rest.split_whitespace().collect();
        if let [old, "->", new, more @ ..] = tokens.as_slice() {
            let repo = more
                .first()
                .map(|r| r.trim_matches(['[', ']']).to_owned())
                .unwrap_or_default();
            res.push(Upgrade {
                name: name.to_owned(),
                current: (*old).to_owned(),
                available: (*new).to_owned(),
                security: false,
                repo,
            });
        }
    }
    res
}

/// Package names from `pkg audit` lines `name-version is vulnerable:`.
pub fn parse_audit(out: &str) -> HashSet<String> {
    out.lines()
        .filter_map(|l| l.trim().strip_suffix(" is vulnerable:"))
        .map(|nv| super::split_name_version(nv).0.to_owned())
        .collect()
}

/// Parses the `Repositories:` block of `pkg -vv`.
pub fn parse_pkg_vv(out: &str) -> Vec<Repository> {
    let mut res = Vec::new();
    let mut in_repos = false;
    let mut cur: Option<(String, String, bool)> = None;
    for line in out.lines() {
        let t = line.trim();
        if t == "Repositories:" {
            in_repos = true;
            continue;
        }
        if !in_repos {
            continue;
        }
        if let Some(name) = t.strip_suffix(": {") {
            cur = Some((
                name.trim().trim_matches('"').to_owned(),
                String::new(),
                true,
            ));
            continue;
        }
        if t == "}" {
            if let Some((name, url, enabled)) = cur.take() {
                let clean = url.strip_prefix("pkg+").unwrap_or(&url).to_owned();
                res.push(Repository {
                    name: name.clone(),
                    is_secure: clean.starts_with("https://"),
                    url,
                    distribution: name,
                    components: String::new(),
                    repo_type: "freebsd".into(),
                    is_enabled: enabled,
                });
            }
            continue;
        }
        if let Some((k, v)) = t.split_once(':')
            && let Some(c) = cur.as_mut()
        {
            let v = v.trim().trim_end_matches(',').trim_matches('"');
            match k.trim() {
                "url" => c.1 = v.to_owned(),
                "enabled" => c.2 = v == "yes" || v == "true",
                _ => {}
            }
        }
        if !line.starts_with(char::is_whitespace) && !t.is_empty() {
            in_repos = false;
        }
    }
    res
}
