//! APT / dpkg (Debian, Ubuntu and derivatives).
//!
//! - installed: `dpkg-query -W` with the status fields, so only packages whose
//!   dpkg status is `installed` count (not `rc` leftovers or half-installed ones);
//!   foreign-architecture packages are named `name:arch`, exactly as apt prints them;
//! - upgrades and repositories: one `apt-cache policy <all installed names>`.
//!   A package is upgradable when apt's candidate is newer than the installed
//!   version (Debian version ordering), as in apt's own upgrade simulation:
//!   packages on hold (`dpkg --set-selections … hold`) and phased updates
//!   that apt defers are left out. The candidate is a security update when one
//!   of its origins is a `*-security` archive. PatchMon runs `apt -s upgrade`
//!   instead; it costs about 2 s of CPU on a 700-package host, against 0.5 s
//!   for the policy lookup, and the tests check both give the same set;
//! - repository of each package: the origin of its installed version in the
//!   same policy output, else of its candidate; none for local `.deb` files;
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
pub const DPKG_QUERY_FORMAT: &str = "${db:Status-Want}\\t${db:Status-Status}\\t${Package}\\t${Architecture}\\t${Version}\\t${binary:Summary}\\n";

/// One line of `dpkg-query` output.
#[derive(Debug, Clone, PartialEq)]
pub struct DpkgEntry {
    pub package: Installed,
    /// Selection state `hold`: apt never upgrades it.
    pub held: bool,
}

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
        let entries = parse_dpkg_query(&q.stdout, &native);
        let names: Vec<String> = entries.iter().map(|e| e.package.name.clone()).collect();
        let policy = policy_for(&names)?;
        let (installed, upgrades) = combine(entries, &policy);
        super::require_packages("apt", &installed)?;
        let packages = super::merge(installed, upgrades);
        Ok(Inventory {
            packages,
            repositories: read_repositories(Path::new("/etc/apt")),
        })
    }
}

/// Installed packages with their repository, and the upgrades apt would make.
pub fn combine(
    entries: Vec<DpkgEntry>,
    policy: &HashMap<String, Policy>,
) -> (Vec<Installed>, Vec<Upgrade>) {
    let mut installed = Vec::with_capacity(entries.len());
    let mut upgrades = Vec::new();
    for DpkgEntry { mut package, held } in entries {
        if let Some(p) = policy.get(&package.name) {
            package.repo = p.installed_origin.clone();
            let newer = !p.candidate.is_empty()
                && compare_debian_versions(&p.candidate, &package.version).is_gt();
            if newer && !held && !p.candidate_phased {
                upgrades.push(Upgrade {
                    name: package.name.clone(),
                    current: package.version.clone(),
                    available: p.candidate.clone(),
                    security: p.candidate_is_security,
                    repo: p.candidate_origin.clone(),
                });
            }
        }
        installed.push(package);
    }
    (installed, upgrades)
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
pub fn parse_dpkg_query(out: &str, native_arch: &str) -> Vec<DpkgEntry> {
    out.lines()
        .filter_map(|line| {
            let mut f = line.splitn(6, '\t');
            let want = f.next()?.trim();
            let status = f.next()?.trim();
            let name = f.next()?.trim();
            let arch = f.next()?.trim();
            let version = f.next()?.trim();
            let summary = f.next().unwrap_or_default().trim();
            if status != "installed" || name.is_empty() || version.is_empty() {
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
            Some(DpkgEntry {
                package: Installed {
                    name,
                    version: version.to_owned(),
                    description: summary.to_owned(),
                    repo: String::new(),
                },
                held: want == "hold",
            })
        })
        .collect()
}

/// Debian version ordering (`epoch:upstream-revision`, `~` before everything,
/// letters before other characters), as `dpkg --compare-versions` does it.
pub fn compare_debian_versions(a: &str, b: &str) -> std::cmp::Ordering {
    fn split(v: &str) -> (u64, &str, &str) {
        let (epoch, rest) = match v.split_once(':') {
            Some((e, r)) if e.chars().all(|c| c.is_ascii_digit()) => (e.parse().unwrap_or(0), r),
            _ => (0, v),
        };
        match rest.rsplit_once('-') {
            Some((up, rev)) => (epoch, up, rev),
            None => (epoch, rest, ""),
        }
    }
    fn order(c: Option<u8>) -> i32 {
        match c {
            None => 0,
            Some(b'~') => -1,
            Some(c) if c.is_ascii_alphabetic() => i32::from(c),
            Some(c) => i32::from(c) + 256,
        }
    }
    fn verrevcmp(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
        let (mut i, mut j) = (0, 0);
        while i < a.len() || j < b.len() {
            // Non-digit prefix.
            while (i < a.len() && !a[i].is_ascii_digit()) || (j < b.len() && !b[j].is_ascii_digit())
            {
                let ac = if i < a.len() && !a[i].is_ascii_digit() {
                    order(Some(a[i]))
                } else {
                    order(None)
                };
                let bc = if j < b.len() && !b[j].is_ascii_digit() {
                    order(Some(b[j]))
                } else {
                    order(None)
                };
                if ac != bc {
                    return ac.cmp(&bc);
                }
                if i < a.len() && !a[i].is_ascii_digit() {
                    i += 1;
                }
                if j < b.len() && !b[j].is_ascii_digit() {
                    j += 1;
                }
            }
            while i < a.len() && a[i] == b'0' {
                i += 1;
            }
            while j < b.len() && b[j] == b'0' {
                j += 1;
            }
            let mut first_diff = std::cmp::Ordering::Equal;
            while i < a.len() && a[i].is_ascii_digit() && j < b.len() && b[j].is_ascii_digit() {
                if first_diff == std::cmp::Ordering::Equal {
                    first_diff = a[i].cmp(&b[j]);
                }
                i += 1;
                j += 1;
            }
            if i < a.len() && a[i].is_ascii_digit() {
                return std::cmp::Ordering::Greater;
            }
            if j < b.len() && b[j].is_ascii_digit() {
                return std::cmp::Ordering::Less;
            }
            if first_diff != std::cmp::Ordering::Equal {
                return first_diff;
            }
        }
        std::cmp::Ordering::Equal
    }
    let (ea, ua, ra) = split(a);
    let (eb, ub, rb) = split(b);
    ea.cmp(&eb)
        .then_with(|| verrevcmp(ua.as_bytes(), ub.as_bytes()))
        .then_with(|| verrevcmp(ra.as_bytes(), rb.as_bytes()))
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
    /// The candidate is a phased update that apt currently defers.
    pub candidate_phased: bool,
}

fn policy_for(names: &[String]) -> Result<HashMap<String, Policy>, CollectError> {
    let chunks: Vec<&[String]> = names.chunks(1500).collect();
    let outputs = std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .iter()
            .map(|chunk| {
                s.spawn(move || {
                    let mut args = vec!["policy"];
                    args.extend(chunk.iter().map(String::as_str));
                    util::run("apt-cache", &args, CMD_TIMEOUT)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join()).collect::<Vec<_>>()
    });
    let mut all = HashMap::new();
    for out in outputs {
        let out = out.map_err(|_| CollectError::Failed("apt-cache thread panicked".into()))??;
        if !out.success() {
            return Err(CollectError::Failed(format!(
                "apt-cache policy failed: {}",
                out.stderr.trim()
            )));
        }
        all.extend(parse_policy(&out.stdout));
    }
    Ok(all)
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
        let phased = t.contains("(phased");
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
        if tokens.len() >= 2 && is_number(tokens[1]) {
            in_version = Some(tokens[0].to_owned());
            if phased && tokens[0] == cur.candidate {
                cur.candidate_phased = true;
            }
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
    use std::cmp::Ordering::*;

    #[test]
    fn debian_version_order() {
        for (a, b, o) in [
            ("1.0", "1.0", Equal),
            ("1:1.0", "2.0", Greater),
            ("1.0~rc1", "1.0", Less),
            ("1.0-1", "1.0-1ubuntu1", Less),
            ("2.35-0ubuntu3.7", "2.35-0ubuntu3.6", Greater),
            ("5.2.15-2+b13", "5.2.15-2+b8", Greater),
            ("3.0.22-1~deb12u2", "3.0.19-1~deb12u2", Greater),
            ("1.0a", "1.0+", Less),
            ("1.2.10", "1.2.9", Greater),
            ("20230311+deb12u1", "20250419~deb12u2", Less),
            ("1.0", "1.0-0", Equal),
        ] {
            assert_eq!(compare_debian_versions(a, b), o, "{a} vs {b}");
        }
    }
}
