//! pacman (Arch Linux, Manjaro, EndeavourOS).
//!
//! - installed: `pacman -Q` (`name version`);
//! - repository of each package: `pacman -Sl` (`repo name version [installed…]`);
//!   packages only in `pacman -Qm` (AUR, local builds) have no repository;
//! - upgrades: `checkupdates` (pacman-contrib, syncs a private copy of the
//!   databases) or else `pacman -Qu`; entries marked `[ignored]` (IgnorePkg,
//!   i.e. held) are not upgrades, as apt leaves held packages out of its simulation;
//! - repositories: `/etc/pacman.conf` sections with their `Server` or the first
//!   server of the `Include`d mirror list.
//!
//! Arch publishes no security flag through pacman: `isSecurityUpdate` is false.

use std::collections::HashMap;
use std::path::Path;

use patchmon_protocol::Repository;

use super::{CollectError, CollectOptions, Installed, Inventory, PackageManager, Upgrade};
use crate::util::{self, CMD_TIMEOUT, NET_CMD_TIMEOUT};

pub struct Pacman;

impl PackageManager for Pacman {
    fn name(&self) -> &'static str {
        "pacman"
    }

    fn collect(&self, _opts: &CollectOptions) -> Result<Inventory, CollectError> {
        let q = util::run("pacman", &["-Q"], CMD_TIMEOUT)?;
        let mut installed = parse_query(&q.stdout);
        super::require_packages("pacman", &installed)?;
        let repos = util::run("pacman", &["-Sl"], CMD_TIMEOUT)
            .map(|o| parse_sync_list(&o.stdout))
            .unwrap_or_default();
        for i in &mut installed {
            if let Some(r) = repos.get(&i.name) {
                i.repo = r.clone();
            }
        }
        // checkupdates exits 2 when there is nothing to update.
        let upgrades = match util::which("checkupdates") {
            Some(_) => {
                util::run("checkupdates", &[], NET_CMD_TIMEOUT).map(|o| parse_updates(&o.stdout))?
            }
            None => util::run("pacman", &["-Qu"], CMD_TIMEOUT).map(|o| parse_updates(&o.stdout))?,
        };
        let conf = std::fs::read_to_string("/etc/pacman.conf").unwrap_or_default();
        let arch = std::env::consts::ARCH;
        let repositories = parse_pacman_conf(&conf, arch, |p| std::fs::read_to_string(p).ok());
        Ok(Inventory {
            packages: super::merge(installed, upgrades),
            repositories,
        })
    }
}

/// Parses `pacman -Q`.
pub fn parse_query(out: &str) -> Vec<Installed> {
    out.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let name = it.next()?;
            let version = it.next()?;
            Some(Installed {
                name: name.to_owned(),
                version: version.to_owned(),
                ..Default::default()
            })
        })
        .collect()
}

/// Parses `pacman -Sl` into `name → repo` for installed packages.
pub fn parse_sync_list(out: &str) -> HashMap<String, String> {
    out.lines()
        .filter(|l| l.contains("[installed"))
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let repo = it.next()?;
            let name = it.next()?;
            Some((name.to_owned(), repo.to_owned()))
        })
        .collect()
}

/// Parses `checkupdates` / `pacman -Qu` lines `name old -> new [ignored]`.
pub fn parse_updates(out: &str) -> Vec<Upgrade> {
    out.lines()
        .filter(|l| !l.contains("[ignored]"))
        .filter_map(|l| {
            let t: Vec<&str> = l.split_whitespace().collect();
            match t.as_slice() {
                [name, old, "->", new, ..] => Some(Upgrade {
                    name: (*name).to_owned(),
                    current: (*old).to_owned(),
                    available: (*new).to_owned(),
                    ..Default::default()
                }),
                _ => None,
            }
        })
        .collect()
}

/// Parses `pacman.conf`: every repository section with its first server
/// (`Server =` directly or through an `Include =` mirror list, read with `read`).
pub fn parse_pacman_conf(
    text: &str,
    arch: &str,
    read: impl Fn(&Path) -> Option<String>,
) -> Vec<Repository> {
    let mut out: Vec<Repository> = Vec::new();
    let mut section = String::new();
    let mut server: Option<String> = None;
    let finish = |section: &str, server: Option<String>, out: &mut Vec<Repository>| {
        if section.is_empty() || section == "options" {
            return;
        }
        let url = server
            .unwrap_or_default()
            .replace("$repo", section)
            .replace("$arch", arch);
        out.push(Repository {
            name: section.to_owned(),
            is_secure: url.starts_with("https://"),
            url,
            distribution: section.to_owned(),
            components: String::new(),
            repo_type: "pacman".into(),
            is_enabled: true,
        });
    };
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            finish(&section, server.take(), &mut out);
            section = s.trim().to_owned();
            continue;
        }
        if section.is_empty() || section == "options" || server.is_some() {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        match k.trim() {
            "Server" => server = Some(v.trim().to_owned()),
            "Include" => {
                server = read(Path::new(v.trim())).and_then(|m| {
                    m.lines().find_map(|l| {
                        let l = l.trim();
                        let (k, v) = l.split_once('=')?;
                        (k.trim() == "Server").then(|| v.trim().to_owned())
                    })
                });
            }
            _ => {}
        }
    }
    finish(&section, server, &mut out);
    out
}
