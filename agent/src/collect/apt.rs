//! APT / dpkg (Debian, Ubuntu and derivatives).
//!
//! - installed: `dpkg-query -W` with the status field, so only packages whose
//!   dpkg status is `installed` count (not `rc` leftovers or half-installed ones);
//!   foreign-architecture packages are named `name:arch`, exactly as apt prints them;
//! - upgrades: apt's own simulation, `apt -s upgrade` (`Inst name [cur] (new origins)`);
//!   a candidate is a security update when an origin of it is a `*-security` archive;
//! - repository of each package: `apt-cache policy`, run while the simulation runs;
//! - repositories: `sources.list`, `sources.list.d/*.list` and DEB822 `*.sources`.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, SystemTime};

use patchmon_protocol::Repository;

use super::{CollectError, CollectOptions, Installed, Inventory, PackageManager, Upgrade};
use crate::config::CacheRefresh;
use crate::util::{self, CMD_TIMEOUT, NET_CMD_TIMEOUT};

pub struct Apt;

/// Output format handed to `dpkg-query -W -f`.
pub const DPKG_QUERY_FORMAT: &str =
    "${db:Status-Status}\\t${Package}\\t${Architecture}\\t${Version}\\t${binary:Summary}\\n";

impl PackageManager for Apt {
    fn name(&self) -> &'static str {
        "apt"
    }

    fn collect(&self, opts: &CollectOptions) -> Result<Inventory, CollectError> {
        refresh_cache(opts);
        let native = util::run("dpkg", &["--print-architecture"], CMD_TIMEOUT)
            .ok()
            .map(|o| o.stdout.trim().to_owned())
            .unwrap_or_default();
        let q = util::run("dpkg-query", &["-W", "-f", DPKG_QUERY_FORMAT], CMD_TIMEOUT)?;
        if !q.success() {
            return Err(CollectError::Failed(format!(
                "dpkg-query failed: {}",
                q.stderr.trim()
            )));
        }
        let mut installed = parse_dpkg_query(&q.stdout, &native);
        super::require_packages("apt", &installed)?;

        // The simulation and the policy lookup are independent: run them together.
        let names: Vec<String> = installed.iter().map(|p| p.name.clone()).collect();
        let (sim, policy) = std::thread::scope(|s| {
            let sim = s.spawn(simulate_upgrade);
            let policy = s.spawn(|| policy_for(&names));
            (sim.join(), policy.join())
        });
        let upgrades = match sim {
            Ok(r) => r?,
            Err(_) => {
                return Err(CollectError::Failed(
                    "apt simulation thread panicked".into(),
                ));
            }
        };
        let policy = policy.unwrap_or_default();

        let mut ups = upgrades;
        for u in &mut ups {
            if let Some(p) = policy.get(&u.name) {
                u.security |= p.candidate_is_security;
                if u.repo.is_empty() {
                    u.repo = p.candidate_origin.clone();
                }
            }
        }
        for i in &mut installed {
            if let Some(p) = policy.get(&i.name) {
                i.repo = p.installed_origin.clone();
            }
        }
        let packages = super::merge(installed, ups);
        Ok(Inventory {
            packages,
            repositories: read_repositories(Path::new("/etc/apt")),
        })
    }
}

/// Runs `apt-get update` when the refresh mode asks for it.
fn refresh_cache(opts: &CollectOptions) {
    let run = match opts.cache_refresh {
        CacheRefresh::Never => false,
        CacheRefresh::Always => true,
        CacheRefresh::IfStale => {
            let age = index_age();
            let max = Duration::from_secs(opts.cache_max_age_minutes.max(1) as u64 * 60);
            age.is_none_or(|a| a > max)
        }
    };
    if !run {
        return;
    }
    let bin = if util::which("apt-get").is_some() {
        "apt-get"
    } else {
        "apt"
    };
    match util::run(bin, &["update", "-qq"], NET_CMD_TIMEOUT) {
        Ok(o) if o.success() => tracing::debug!("apt index refreshed"),
        Ok(o) => tracing::warn!(
            "{bin} update failed (continuing with the current index): {}",
            o.stderr.trim()
        ),
        Err(e) => tracing::warn!("{bin} update failed (continuing with the current index): {e}"),
    }
}

/// Age of apt's package index: `pkgcache.bin`, else the lists directory.
fn index_age() -> Option<Duration> {
    let m = std::fs::metadata("/var/cache/apt/pkgcache.bin")
        .or_else(|_| std::fs::metadata("/var/lib/apt/lists"))
        .ok()?;
    SystemTime::now().duration_since(m.modified().ok()?).ok()
}

/// Parses `dpkg-query -W -f` output in [`DPKG_QUERY_FORMAT`]. Only status
/// `installed` counts. Packages of a foreign architecture (not `native`, not
/// `all`) are named `name:arch`.
pub fn parse_dpkg_query(out: &str, native_arch: &str) -> Vec<Installed> {
    out.lines()
        .filter_map(|line| {
            let mut f = line.splitn(5, '\t');
            let status = f.next()?;
            let name = f.next()?.trim();
            let arch = f.next()?.trim();
            let version = f.next()?.trim();
            let summary = f.next().unwrap_or_default().trim();
            if status.trim() != "installed" || name.is_empty() || version.is_empty() {
                return None;
            }
            let name = if arch.is_empty()
                || arch == "all"
                || arch == native_arch
                || native_arch.is_empty()
            {
                name.to_owned()
            } else {
                format!("{name}:{arch}")
            };
            Some(Installed {
                name,
                version: version.to_owned(),
                description: summary.to_owned(),
                repo: String::new(),
            })
        })
        .collect()
}

fn simulate_upgrade() -> Result<Vec<Upgrade>, CollectError> {
    let bin = if util::which("apt").is_some() {
        "apt"
    } else {
        "apt-get"
    };
    let out = util::run(
        bin,
        &["-s", "-o", "Debug::NoLocking=1", "upgrade"],
        CMD_TIMEOUT,
    )?;
    if !out.success() {
        return Err(CollectError::Failed(format!(
            "{bin} -s upgrade failed: {}",
            out.stderr.trim()
        )));
    }
    Ok(parse_simulation(&out.stdout))
}

/// Parses `Inst name [current] (new origins… [arch])` lines of an apt
/// simulation. Lines without `[current]` install new packages and are skipped.
pub fn parse_simulation(out: &str) -> Vec<Upgrade> {
    out.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("Inst ")?;
            let (name, rest) = rest.split_once(' ')?;
            let rest = rest.trim_start();
            let rest = rest.strip_prefix('[')?;
            let (current, rest) = rest.split_once(']')?;
            let rest = rest.trim_start().strip_prefix('(')?;
            let close = rest.find(')')?;
            let inner = &rest[..close];
            let (available, origins) = inner.split_once(' ').unwrap_or((inner, ""));
            Some(Upgrade {
                name: name.to_owned(),
                current: current.to_owned(),
                available: available.to_owned(),
                security: origins.to_ascii_lowercase().contains("security"),
                repo: String::new(),
            })
        })
        .collect()
}

/// What `apt-cache policy` says about one package.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Policy {
    pub installed: String,
    pub candidate: String,
    /// `URL suite/component` of the installed version, empty when it comes
    /// from no repository (a locally installed `.deb`).
    pub installed_origin: String,
    pub candidate_origin: String,
    pub candidate_is_security: bool,
}

fn policy_for(names: &[String]) -> HashMap<String, Policy> {
    let mut all = HashMap::new();
    for chunk in names.chunks(1000) {
        let mut args = vec!["policy"];
        args.extend(chunk.iter().map(String::as_str));
        match util::run("apt-cache", &args, CMD_TIMEOUT) {
            Ok(o) => all.extend(parse_policy(&o.stdout)),
            Err(e) => {
                tracing::warn!("apt-cache policy failed, packages will have no repository: {e}")
            }
        }
    }
    all
}

/// Parses `apt-cache policy <names…>` output.
pub fn parse_policy(out: &str) -> HashMap<String, Policy> {
    let mut map = HashMap::new();
    let mut name: Option<String> = None;
    let mut cur = Policy::default();
    // Which version the origin lines currently belong to.
    let mut in_version: Option<String> = None;
    let mut flush = |name: &mut Option<String>, cur: &mut Policy| {
        if let Some(n) = name.take() {
            map.insert(n, std::mem::take(cur));
        }
    };
    for line in out.lines() {
        if line.is_empty() {
            continue;
        }
        if !line.starts_with(' ') {
            if let Some(n) = line.strip_suffix(':') {
                flush(&mut name, &mut cur);
                name = Some(n.to_owned());
                in_version = None;
            }
            continue;
        }
        let t = line.trim();
        if let Some(v) = t.strip_prefix("Installed:") {
            cur.installed = none_to_empty(v);
            continue;
        }
        if let Some(v) = t.strip_prefix("Candidate:") {
            cur.candidate = none_to_empty(v);
            continue;
        }
        if t.starts_with("Version table:") || t.starts_with("Package pin:") {
            continue;
        }
        let tokens: Vec<&str> = t.split_whitespace().collect();
        let is_number = |s: &str| {
            s.trim_start_matches('-')
                .chars()
                .all(|c| c.is_ascii_digit())
                && !s.is_empty()
        };
        if tokens.first() == Some(&"***") && tokens.len() >= 2 {
            in_version = Some(tokens[1].to_owned());
            continue;
        }
        if tokens.len() >= 2
            && is_number(tokens[0])
            && (tokens[1].contains("://") || tokens[1].starts_with('/'))
        {
            // Origin line: "<prio> <url> <suite/component> <arch> Packages".
            let Some(v) = in_version.as_deref() else {
                continue;
            };
            if tokens[1].starts_with("/var/lib/dpkg/status") {
                continue;
            }
            let origin = match tokens.get(2) {
                Some(suite) => format!("{} {}", tokens[1], suite),
                None => tokens[1].to_owned(),
            };
            let suite = tokens.get(2).copied().unwrap_or_default();
            if v == cur.installed && cur.installed_origin.is_empty() {
                cur.installed_origin = origin.clone();
            }
            if v == cur.candidate {
                if cur.candidate_origin.is_empty() {
                    cur.candidate_origin = origin.clone();
                }
                if is_security_suite(tokens[1], suite) {
                    cur.candidate_is_security = true;
                }
            }
            continue;
        }
        if tokens.len() == 2 && is_number(tokens[1]) {
            in_version = Some(tokens[0].to_owned());
        }
    }
    flush(&mut name, &mut cur);
    map
}

fn none_to_empty(v: &str) -> String {
    let v = v.trim();
    if v == "(none)" {
        String::new()
    } else {
        v.to_owned()
    }
}

/// `bookworm-security/main`, `jammy-security/universe`, or the pre-bullseye
/// Debian layout `buster/updates/main` on a security host.
fn is_security_suite(url: &str, suite: &str) -> bool {
    let archive = suite.split('/').next().unwrap_or_default();
    archive.ends_with("-security") || (url.contains("security") && suite.contains("/updates"))
}

/// Reads `<dir>/sources.list`, `<dir>/sources.list.d/*.list` and `*.sources`.
pub fn read_repositories(dir: &Path) -> Vec<Repository> {
    let mut repos = Vec::new();
    if let Ok(text) = std::fs::read_to_string(dir.join("sources.list")) {
        repos.extend(parse_sources_list(&text));
    }
    let mut files: Vec<_> = std::fs::read_dir(dir.join("sources.list.d"))
        .map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    for f in files {
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        match f.extension().and_then(|e| e.to_str()) {
            Some("list") => repos.extend(parse_sources_list(&text)),
            Some("sources") => repos.extend(parse_deb822(&text)),
            _ => {}
        }
    }
    repos
}

fn make_repo(kind: &str, url: &str, suite: &str, components: &[&str], enabled: bool) -> Repository {
    let mut name = super::repo_display_name(url, suite);
    if let [single] = components
        && *single != "main"
    {
        name = format!("{name}-{single}");
    }
    Repository {
        name,
        url: url.to_owned(),
        distribution: suite.to_owned(),
        components: components.join(" "),
        repo_type: kind.to_owned(),
        is_enabled: enabled,
        is_secure: url.starts_with("https://"),
    }
}

/// One-line format: `deb [options] URL suite [components…]`. Commented lines are skipped.
pub fn parse_sources_list(text: &str) -> Vec<Repository> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or_default().trim();
        let Some((kind, rest)) = line.split_once(char::is_whitespace) else {
            continue;
        };
        if kind != "deb" && kind != "deb-src" {
            continue;
        }
        let mut rest = rest.trim_start();
        if rest.starts_with('[') {
            match rest.find(']') {
                Some(i) => rest = rest[i + 1..].trim_start(),
                None => continue,
            }
        }
        let f: Vec<&str> = rest.split_whitespace().collect();
        if f.len() < 2 {
            continue;
        }
        out.push(make_repo(kind, f[0], f[1], &f[2..], true));
    }
    out
}

/// DEB822 format (`*.sources`): paragraphs with `Types`, `URIs`, `Suites`,
/// `Components` and `Enabled` (default yes). One repository per type, URI and suite.
pub fn parse_deb822(text: &str) -> Vec<Repository> {
    let mut out = Vec::new();
    for para in split_paragraphs(text) {
        let get = |k: &str| {
            para.iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(k))
                .map(|(_, v)| v.as_str())
                .unwrap_or_default()
        };
        let enabled = !matches!(
            get("Enabled").trim().to_ascii_lowercase().as_str(),
            "no" | "false" | "0"
        );
        let components: Vec<&str> = get("Components").split_whitespace().collect();
        for kind in get("Types").split_whitespace() {
            if kind != "deb" && kind != "deb-src" {
                continue;
            }
            for uri in get("URIs").split_whitespace() {
                for suite in get("Suites").split_whitespace() {
                    out.push(make_repo(kind, uri, suite, &components, enabled));
                }
            }
        }
    }
    out
}

fn split_paragraphs(text: &str) -> Vec<Vec<(String, String)>> {
    let mut paras = Vec::new();
    let mut cur: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !cur.is_empty() {
                paras.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if line.starts_with('#') || line.starts_with(' ') || line.starts_with('\t') {
            // Comments and continuation lines (e.g. an inline Signed-By key).
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            cur.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    if !cur.is_empty() {
        paras.push(cur);
    }
    paras
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simulation_line_shapes() {
        let out = "NOTE: This is only a simulation!\n\
Inst base-files [12.4+deb12u11] (12.4+deb12u14 Debian:12.14/oldstable [amd64])\n\
Inst libssl3 [3.0.19-1~deb12u2] (3.0.20-1~deb12u1 Debian:12.14/oldstable, Debian-Security:12/oldstable-security [amd64]) []\n\
Inst linux-image-6.1.0-40-amd64 (6.1.153-1 Debian-Security:12/oldstable-security [amd64])\n\
Inst libc6:i386 [2.36-9+deb12u9] (2.36-9+deb12u13 Debian:12.14/oldstable [i386])\n\
Conf base-files (12.4+deb12u14 Debian:12.14/oldstable [amd64])\n";
        let u = parse_simulation(out);
        assert_eq!(u.len(), 3, "{u:?}");
        assert_eq!(u[0].name, "base-files");
        assert_eq!(u[0].current, "12.4+deb12u11");
        assert_eq!(u[0].available, "12.4+deb12u14");
        assert!(!u[0].security);
        assert!(u[1].security);
        assert_eq!(u[2].name, "libc6:i386");
    }
}
