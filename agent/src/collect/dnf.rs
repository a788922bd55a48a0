//! DNF (4 and 5) and YUM (RHEL, Fedora, Rocky, Alma, CentOS, Amazon Linux…).
//!
//! - installed: `rpm -qa` with an explicit tab-separated query format (exact,
//!   never localised, no repository metadata needed); `gpg-pubkey` pseudo
//!   packages are skipped; packages of a secondary architecture are named
//!   `name.arch` (e.g. `glibc.i686` beside `glibc`); for install-only packages
//!   such as `kernel` the newest installed version is kept;
//! - repository of each installed package: `<pm> list --installed` (third column);
//! - upgrades: `<pm> check-update` (exit 100 = updates available), DNF4 and DNF5
//!   layouts, wrapped long names, stopping at "Obsoleting Packages";
//! - security: `<pm> updateinfo list --security` (DNF4 `RHSA-… Important/Sec. nevra`,
//!   DNF5 `ID type severity nevra issued`), so RHEL-family advisories mark updates;
//! - repositories: `/etc/yum.repos.d/*.repo` and `/etc/dnf/repos.d/*.repo`.
//!
//! The index is not refreshed explicitly (dnf refreshes expired metadata itself).

use std::collections::{HashMap, HashSet};
use std::path::Path;

use patchmon_protocol::Repository;

use super::{CollectError, CollectOptions, Installed, Inventory, PackageManager, Upgrade};
use crate::util::{self, CMD_TIMEOUT, NET_CMD_TIMEOUT};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Dnf,
    Yum,
}

pub struct Dnf {
    flavor: Flavor,
}

impl Dnf {
    pub fn new(flavor: Flavor) -> Self {
        Self { flavor }
    }

    fn bin(&self) -> &'static str {
        match self.flavor {
            Flavor::Dnf if util::which("dnf").is_some() => "dnf",
            Flavor::Dnf => "dnf5",
            Flavor::Yum => "yum",
        }
    }
}

pub const RPM_QUERY_FORMAT: &str =
    "%{NAME}\\t%{EPOCH}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\t%{SUMMARY}\\n";

/// Architectures an rpm `name.arch` may end in.
const RPM_ARCHES: &[&str] = &[
    "x86_64", "noarch", "i686", "i586", "i386", "aarch64", "ppc64le", "ppc64", "s390x", "armv7hl",
    "armv7hnl", "armhfp", "riscv64", "src", "athlon", "ia32e",
];

impl PackageManager for Dnf {
    fn name(&self) -> &'static str {
        match self.flavor {
            Flavor::Dnf => "dnf",
            Flavor::Yum => "yum",
        }
    }

    fn collect(&self, _opts: &CollectOptions) -> Result<Inventory, CollectError> {
        let native = native_arch();
        let pm = self.bin();
        let list_args: &[&str] = match self.flavor {
            Flavor::Yum => &["-q", "list", "installed"],
            Flavor::Dnf => &["-q", "list", "--installed"],
        };
        let (rpm, listed, check, advisories) = std::thread::scope(|s| {
            let rpm = s.spawn(|| util::run("rpm", &["-qa", "--qf", RPM_QUERY_FORMAT], CMD_TIMEOUT));
            let listed = s.spawn(|| util::run(pm, list_args, NET_CMD_TIMEOUT));
            let check = s.spawn(|| util::run(pm, &["-q", "check-update"], NET_CMD_TIMEOUT));
            let adv = s.spawn(|| {
                let first = util::run(
                    pm,
                    &["-q", "updateinfo", "list", "--security"],
                    NET_CMD_TIMEOUT,
                );
                match first {
                    Ok(o) if o.success() => Ok(o),
                    _ => util::run(pm, &["-q", "updateinfo", "list", "sec"], NET_CMD_TIMEOUT),
                }
            });
            (rpm.join(), listed.join(), check.join(), adv.join())
        });
        let joined = |r: std::thread::Result<_>| {
            r.map_err(|_| CollectError::Failed("collector thread panicked".into()))
        };

        let rpm = joined(rpm)??;
        if !rpm.success() {
            return Err(CollectError::Failed(format!(
                "rpm -qa failed: {}",
                rpm.stderr.trim()
            )));
        }
        let mut installed = parse_rpm_query(&rpm.stdout, &native);
        super::require_packages(self.name(), &installed)?;

        if let Ok(Ok(o)) = listed {
            let repos: HashMap<String, String> = parse_package_list(&o.stdout, &native)
                .into_iter()
                .map(|u| (u.name, u.repo))
                .collect();
            for i in &mut installed {
                if let Some(r) = repos.get(&i.name) {
                    i.repo = clean_from_repo(r);
                }
            }
        }

        let check = joined(check)??;
        // 100: updates available, 0: none; anything else is a failure.
        let mut upgrades = match check.code {
            Some(0) => Vec::new(),
            Some(100) => parse_package_list(&check.stdout, &native),
            _ => {
                return Err(CollectError::Failed(format!(
                    "{pm} check-update failed: {}",
                    check.stderr.trim()
                )));
            }
        };
        let security: HashSet<String> = match joined(advisories)? {
            Ok(o) => parse_security_advisories(&o.stdout, &native),
            Err(e) => {
                tracing::warn!("{pm} updateinfo failed, no security flags this time: {e}");
                HashSet::new()
            }
        };
        for u in &mut upgrades {
            u.security = security.contains(&u.name);
        }
        let packages = super::merge(installed, upgrades);
        let mut repositories = Vec::new();
        for dir in ["/etc/yum.repos.d", "/etc/dnf/repos.d"] {
            repositories.extend(read_repo_dir(Path::new(dir)));
        }
        Ok(Inventory {
            packages,
            repositories,
        })
    }
}

fn native_arch() -> String {
    util::run("uname", &["-m"], CMD_TIMEOUT)
        .map(|o| o.stdout.trim().to_owned())
        .unwrap_or_else(|_| std::env::consts::ARCH.to_owned())
}

/// The repository id from `list --installed`'s third column: `@baseos` →
/// `baseos`; local files (`@commandline`), `@System` and `<unknown>` → none.
pub fn clean_from_repo(r: &str) -> String {
    let r = r.trim().trim_start_matches('@');
    match r {
        "commandline" | "System" | "<unknown>" | "" => String::new(),
        other => other.to_owned(),
    }
}

/// `name` for native/noarch packages, `name.arch` otherwise.
pub fn display_name(name: &str, arch: &str, native: &str) -> String {
    if arch.is_empty() || arch == "noarch" || arch == native || native.is_empty() {
        name.to_owned()
    } else {
        format!("{name}.{arch}")
    }
}

/// Parses `rpm -qa --qf` output in [`RPM_QUERY_FORMAT`]. Versions carry the
/// epoch as `epoch:version-release` when it is set.
pub fn parse_rpm_query(out: &str, native: &str) -> Vec<Installed> {
    let mut by_name: HashMap<String, Installed> = HashMap::new();
    for line in out.lines() {
        let f: Vec<&str> = line.splitn(6, '\t').collect();
        if f.len() < 5 {
            continue;
        }
        let (name, epoch, ver, rel, arch) = (
            f[0].trim(),
            f[1].trim(),
            f[2].trim(),
            f[3].trim(),
            f[4].trim(),
        );
        if name.is_empty() || name == "gpg-pubkey" || arch == "(none)" {
            continue;
        }
        let version = match epoch {
            "" | "(none)" | "0" => format!("{ver}-{rel}"),
            e => format!("{e}:{ver}-{rel}"),
        };
        let pkg = Installed {
            name: display_name(name, arch, native),
            version,
            description: f.get(5).map(|s| s.trim().to_owned()).unwrap_or_default(),
            repo: String::new(),
        };
        match by_name.get(&pkg.name) {
            // Install-only packages (kernel): keep the newest.
            Some(prev) if util::compare_versions(&prev.version, &pkg.version).is_ge() => {}
            _ => {
                by_name.insert(pkg.name.clone(), pkg);
            }
        }
    }
    let mut v: Vec<Installed> = by_name.into_values().collect();
    v.sort_by(|a, b| a.name.cmp(&b.name));
    v
}

/// Splits `name.arch` at the last dot when the suffix is a known architecture.
fn split_arch(s: &str) -> Option<(&str, &str)> {
    let (n, a) = s.rsplit_once('.')?;
    RPM_ARCHES.contains(&a).then_some((n, a))
}

/// Parses the three-column `name.arch version repo` listing printed by
/// `check-update` and `list --installed` (DNF4, DNF5 and YUM), including
/// long names wrapped onto their own line. Stops at "Obsoleting Packages".
pub fn parse_package_list(out: &str, native: &str) -> Vec<Upgrade> {
    let mut res = Vec::new();
    let mut pending: Option<String> = None;
    for line in out.lines() {
        let t = line.trim();
        if t.to_ascii_lowercase().starts_with("obsoleting") {
            break;
        }
        let tokens: Vec<&str> = t.split_whitespace().collect();
        let (first, version, repo) = match (tokens.as_slice(), pending.take()) {
            ([name], None) if split_arch(name).is_some() => {
                pending = Some((*name).to_owned());
                continue;
            }
            ([version, repo], Some(name)) => (name, *version, *repo),
            ([name, version, repo, ..], _) => ((*name).to_owned(), *version, *repo),
            _ => continue,
        };
        let Some((name, arch)) = split_arch(&first) else {
            continue;
        };
        if !version.chars().next().is_some_and(|c| c.is_ascii_digit()) {
            continue;
        }
        res.push(Upgrade {
            name: display_name(name, arch, native),
            current: String::new(),
            available: version.to_owned(),
            security: false,
            repo: repo.to_owned(),
        });
    }
    res
}

/// Whether `s` looks like an advisory id: `RHSA-2024:1234`, `ALSA-2024:0897`,
/// `FEDORA-2024-1a2b3c4d5e`, `ALAS2-2024-2489`, `ELSA-2024-12345`.
fn is_advisory_id(s: &str) -> bool {
    let Some((prefix, rest)) = s.split_once('-') else {
        return false;
    };
    if prefix.is_empty()
        || !prefix
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        || !prefix.starts_with(|c: char| c.is_ascii_uppercase())
    {
        return false;
    }
    // Optional further uppercase segments (FEDORA-EPEL-2024-…).
    let mut rest = rest;
    while let Some((seg, r)) = rest.split_once('-') {
        if seg.len() == 4 && seg.chars().all(|c| c.is_ascii_digit()) {
            return !r.is_empty();
        }
        if !seg
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        {
            return false;
        }
        rest = r;
    }
    // `RHSA-2024:1234`
    rest.split_once(':').is_some_and(|(y, n)| {
        y.len() == 4 && y.chars().all(|c| c.is_ascii_digit()) && !n.is_empty()
    })
}

/// Base package name of a NEVRA (`openssl-libs-1:3.0.7-25.el9_3.x86_64`).
fn nevra_name<'a>(nevra: &'a str, native: &str) -> Option<String> {
    let (nevr, arch) = split_arch(nevra)?;
    let mut parts = nevr.rsplitn(3, '-');
    let _release = parts.next()?;
    let _version = parts.next()?;
    let name: &'a str = parts.next()?;
    if name.is_empty() {
        return None;
    }
    Some(display_name(name, arch, native))
}

/// Names of packages with a pending security advisory, from
/// `updateinfo list --security` (DNF4/YUM and DNF5 layouts).
pub fn parse_security_advisories(out: &str, native: &str) -> HashSet<String> {
    let mut set = HashSet::new();
    for line in out.lines() {
        let tokens: Vec<&str> = line.split_whitespace().collect();
        let Some(first) = tokens.first() else {
            continue;
        };
        if !is_advisory_id(first) {
            continue;
        }
        // The type/severity column(s) sit between the id and the NEVRA.
        if let Some(name) = tokens.iter().skip(2).find_map(|t| nevra_name(t, native)) {
            set.insert(name);
        }
    }
    set
}

/// Reads every `*.repo` file of a directory.
pub fn read_repo_dir(dir: &Path) -> Vec<Repository> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    files
        .iter()
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("repo"))
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .flat_map(|t| parse_repo_file(&t))
        .collect()
}

/// Parses a yum/dnf `.repo` INI file: one repository per baseurl, mirrorlist
/// and metalink URL of every enabled section; `name` is the repo id and
/// `distribution` its `name=`. Variables such as `$releasever` are kept as written.
pub fn parse_repo_file(text: &str) -> Vec<Repository> {
    struct Section {
        id: String,
        name: String,
        urls: Vec<String>,
        enabled: bool,
    }
    let mut sections: Vec<Section> = Vec::new();
    let mut last_key = String::new();
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(id) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            sections.push(Section {
                id: id.trim().to_owned(),
                name: String::new(),
                urls: Vec::new(),
                enabled: true,
            });
            last_key.clear();
            continue;
        }
        let Some(sec) = sections.last_mut() else {
            continue;
        };
        if raw.starts_with(char::is_whitespace) && last_key == "baseurl" {
            // Continuation line of a multi-URL baseurl.
            sec.urls.extend(
                line.split([',', ' '])
                    .filter(|u| !u.is_empty())
                    .map(str::to_owned),
            );
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
        match k.as_str() {
            "name" => sec.name = v.to_owned(),
            "enabled" => sec.enabled = !matches!(v, "0" | "false" | "no" | "False"),
            "baseurl" | "mirrorlist" | "metalink" => sec.urls.extend(
                v.split([',', ' '])
                    .filter(|u| !u.is_empty())
                    .map(str::to_owned),
            ),
            _ => {}
        }
        last_key = k;
    }
    sections
        .into_iter()
        .filter(|s| s.enabled)
        .flat_map(|s| {
            let Section {
                id,
                name,
                urls,
                enabled,
            } = s;
            urls.into_iter().map(move |url| Repository {
                name: id.clone(),
                is_secure: url.starts_with("https://"),
                url,
                distribution: name.clone(),
                components: String::new(),
                repo_type: "rpm".into(),
                is_enabled: enabled,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advisory_ids() {
        for id in [
            "RHSA-2024:1234",
            "ALSA-2024:0897",
            "FEDORA-2024-1a2b3c4d5e",
            "ALAS2-2024-2489",
            "FEDORA-EPEL-2024-0f1e2d3c4b",
            "ELSA-2024-12345",
        ] {
            assert!(is_advisory_id(id), "{id}");
        }
        for no in ["Last", "bash.x86_64", "RHSA", "Name", "2024-1"] {
            assert!(!is_advisory_id(no), "{no}");
        }
    }

    #[test]
    fn nevra_names() {
        assert_eq!(
            nevra_name("openssl-libs-1:3.0.7-25.el9_3.x86_64", "x86_64").as_deref(),
            Some("openssl-libs")
        );
        assert_eq!(
            nevra_name("glibc-2.34-100.el9.i686", "x86_64").as_deref(),
            Some("glibc.i686")
        );
        assert_eq!(nevra_name("Important/Sec.", "x86_64"), None);
    }
}
