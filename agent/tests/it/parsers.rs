//! Parsers against recorded outputs (see `tests/fixtures/README.md`).

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use patchmon_agent::collect::{self, apk, apt, dnf, pacman, pkg};
use patchmon_protocol::Package;

use crate::simulated_upgrades;

fn fixture(rel: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn by_name(pkgs: Vec<Package>) -> HashMap<String, Package> {
    pkgs.into_iter().map(|p| (p.name.clone(), p)).collect()
}

#[test]
fn apt_debian_live_capture_matches_apts_simulation() {
    let entries = apt::parse_dpkg_query(&fixture("apt/debian12-live/dpkg-query.txt"), "amd64");
    assert_eq!(entries.len(), 40);
    let policy = apt::parse_policy(&fixture("apt/debian12-live/apt-cache-policy.txt"));
    let names: BTreeSet<String> = entries.iter().map(|e| e.package.name.clone()).collect();
    let (installed, upgrades) = apt::combine(entries, &policy);
    let ours: BTreeSet<String> = upgrades.iter().map(|u| u.name.clone()).collect();
    let apts: BTreeSet<String> =
        simulated_upgrades(&fixture("apt/debian12-live/apt-s-upgrade.txt"))
            .into_iter()
            .filter(|n| names.contains(n))
            .collect();
    assert!(
        !apts.is_empty(),
        "the capture has upgrades among its first 40 packages"
    );
    assert_eq!(ours, apts);

    let p = by_name(collect::merge(installed, upgrades));
    assert_eq!(
        p["adduser"].source_repository,
        "http://deb.debian.org/debian bookworm/main"
    );
    assert!(!p["adduser"].needs_update);

    let gcloud = &policy["google-cloud-cli"];
    assert!(
        gcloud.installed_origin.is_empty(),
        "installed from a repository that is gone"
    );
    assert!(policy["libssl3"].candidate_is_security);
    assert!(policy["jq"].candidate_is_security);
    assert_eq!(
        policy["jq"].candidate_origin,
        "http://deb.debian.org/debian-security bookworm-security/main"
    );

    let repos = apt::parse_deb822(&fixture("apt/debian12-live/debian.sources"));
    let got: Vec<(&str, &str)> = repos
        .iter()
        .map(|r| (r.url.as_str(), r.distribution.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("http://deb.debian.org/debian", "bookworm"),
            ("http://deb.debian.org/debian", "bookworm-updates"),
            ("http://deb.debian.org/debian-security", "bookworm-security"),
        ]
    );
    assert!(
        repos
            .iter()
            .all(|r| r.is_enabled && !r.is_secure && r.components == "main")
    );
}

#[test]
fn apt_ubuntu_multiarch_epochs_holds_phasing_and_leftovers() {
    let entries =
        apt::parse_dpkg_query(&fixture("apt/ubuntu2204-multiarch/dpkg-query.txt"), "amd64");
    // rc and half-installed leftovers do not count.
    assert_eq!(entries.len(), 11);
    assert!(
        entries
            .iter()
            .all(|e| e.package.name != "oldapp" && e.package.name != "brokenpkg")
    );
    let policy = apt::parse_policy(&fixture("apt/ubuntu2204-multiarch/apt-cache-policy.txt"));
    let (installed, upgrades) = apt::combine(entries, &policy);
    let p = by_name(collect::merge(installed, upgrades));
    assert_eq!(p.len(), 11);

    // Multi-arch: both libc6 instances, named as apt names them.
    assert!(p["libc6"].needs_update);
    assert!(p["libc6:i386"].needs_update);
    assert_eq!(p["libc6:i386"].available_version, "2.35-0ubuntu3.7");
    assert!(!p["libc6:i386"].is_security_update);
    assert!(!p["libstdc++6:i386"].needs_update);

    // Security: a candidate also published in -security.
    assert!(p["openssl"].is_security_update && p["libssl3"].is_security_update);
    // Epochs are kept on both sides.
    assert_eq!(p["login"].current_version, "1:4.8.1-2ubuntu2.1");
    assert_eq!(p["login"].available_version, "1:4.8.1-2ubuntu2.2");
    assert!(p["login"].is_security_update);
    assert_eq!(
        p["login"].source_repository,
        "http://security.ubuntu.com/ubuntu jammy-security/main"
    );
    // Held and phased: apt would not upgrade them.
    assert!(!p["docker-ce"].needs_update);
    assert_eq!(
        p["docker-ce"].source_repository,
        "https://download.docker.com/linux/ubuntu jammy/stable"
    );
    assert!(!p["systemd"].needs_update);
    // No repository for a local .deb.
    assert_eq!(p["mylocal-tool"].source_repository, "");
    assert!(!p["tzdata"].is_security_update && p["tzdata"].needs_update);
    assert!(!p["nano"].needs_update && p["nano"].available_version.is_empty());

    let repos = apt::parse_sources_list(&fixture("apt/ubuntu2204-multiarch/sources.list"));
    assert_eq!(repos.len(), 6, "{repos:#?}");
    assert_eq!(repos[0].components, "main restricted");
    assert_eq!(repos[2].url, "http://security.ubuntu.com/ubuntu/");
    assert_eq!(repos[2].distribution, "jammy-security");
    assert_eq!(repos[3].repo_type, "deb-src");
    assert!(repos[4].is_secure);
    assert_eq!(
        repos[5].components, "main",
        "a trailing comment is not a component"
    );

    let d = apt::parse_deb822(&fixture("apt/ubuntu2204-multiarch/extra.sources"));
    assert_eq!(d.len(), 4);
    assert_eq!(d[1].distribution, "jammy-backports");
    assert_eq!(d[0].components, "main universe");
    assert!(d[0].is_enabled && d[0].is_secure);
    assert!(d[2..].iter().all(|r| !r.is_enabled));
    assert_eq!(d[3].repo_type, "deb-src");
}

#[test]
fn dnf4_rocky_epochs_kernels_multiarch_and_advisories() {
    let installed = dnf::parse_rpm_query(&fixture("dnf/rocky9/rpm-qa.txt"), "x86_64");
    let names: Vec<&str> = installed.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(installed.len(), 9, "{names:?}");
    assert!(!names.contains(&"gpg-pubkey"));
    let listed = dnf::parse_package_list(&fixture("dnf/rocky9/list-installed.txt"), "x86_64");
    let repos: HashMap<String, String> = listed
        .into_iter()
        .map(|u| (u.name, dnf::clean_from_repo(&u.repo)))
        .collect();
    let ups = dnf::parse_package_list(&fixture("dnf/rocky9/check-update.txt"), "x86_64");
    assert_eq!(ups.len(), 7, "obsoletes are not upgrades: {ups:#?}");
    let sec =
        dnf::parse_security_advisories(&fixture("dnf/rocky9/updateinfo-security.txt"), "x86_64");
    assert_eq!(
        sec,
        ["kernel", "openssl-libs", "glibc.i686"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    );

    let mut installed = installed;
    for i in &mut installed {
        i.repo = repos.get(&i.name).cloned().unwrap_or_default();
    }
    let ups = ups
        .into_iter()
        .map(|mut u| {
            u.security = sec.contains(&u.name);
            u
        })
        .collect();
    let p = by_name(collect::merge(installed, ups));
    assert_eq!(
        p["kernel"].current_version, "5.14.0-362.18.1.el9_3",
        "newest installed kernel"
    );
    assert_eq!(p["kernel"].available_version, "5.14.0-362.24.1.el9_3");
    assert!(p["kernel"].is_security_update);
    assert_eq!(p["openssl-libs"].current_version, "1:3.0.7-24.el9");
    assert_eq!(p["openssl-libs"].available_version, "1:3.0.7-25.el9_3");
    assert!(p["openssl-libs"].is_security_update);
    assert!(p["glibc.i686"].is_security_update);
    assert!(p["glibc"].needs_update && !p["glibc"].is_security_update);
    assert!(
        p["python3-dnf-plugin-post-transaction-actions"].needs_update,
        "wrapped line"
    );
    assert_eq!(
        p["python3-dnf-plugin-post-transaction-actions"].source_repository,
        "appstream"
    );
    assert_eq!(p["bash"].source_repository, "anaconda");
    assert!(!p["bash"].needs_update);
    assert_eq!(
        p["node_exporter"].source_repository, "",
        "local rpm: no repository"
    );
    assert!(!p.contains_key("grub2-tools"));

    let r = dnf::parse_repo_file(&fixture("dnf/rocky9/rocky.repo"));
    let ids: Vec<&str> = r.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        ids,
        vec!["baseos", "appstream", "appstream", "epel"],
        "crb is disabled"
    );
    assert_eq!(r[0].distribution, "Rocky Linux $releasever - BaseOS");
    assert_eq!(
        r[2].url,
        "https://mirror.example.org/rocky/$releasever/AppStream/$basearch/os/"
    );
    assert!(r[0].is_secure && !r[1].is_secure);
    assert!(r.iter().all(|r| r.repo_type == "rpm"));
}

#[test]
fn dnf5_fedora_layout() {
    let ups = dnf::parse_package_list(&fixture("dnf/fedora41-dnf5/check-update.txt"), "x86_64");
    assert_eq!(ups.len(), 4);
    assert_eq!(ups[3].name, "google-chrome-stable");
    assert_eq!(ups[3].repo, "google-chrome");
    let sec = dnf::parse_security_advisories(
        &fixture("dnf/fedora41-dnf5/advisory-security.txt"),
        "x86_64",
    );
    assert_eq!(
        sec,
        ["curl", "libcurl", "firefox"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    );
}

#[test]
fn yum_amazon_linux_layout_and_empty_lists() {
    let ups = dnf::parse_package_list(&fixture("dnf/amzn2-yum/check-update.txt"), "x86_64");
    assert_eq!(
        ups.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(),
        vec!["curl", "libcurl"]
    );
    let sec =
        dnf::parse_security_advisories(&fixture("dnf/amzn2-yum/updateinfo-security.txt"), "x86_64");
    assert_eq!(sec.len(), 2);
    // check-update exits 0 with no output when nothing is pending.
    assert!(dnf::parse_package_list("", "x86_64").is_empty());
    assert!(dnf::parse_security_advisories("", "x86_64").is_empty());
}

#[test]
fn apk_alpine() {
    let installed = apk::parse_installed(&fixture("apk/alpine319/list-installed.txt"));
    assert_eq!(installed.len(), 9);
    let musl = installed.iter().find(|i| i.name == "musl").unwrap();
    assert_eq!(musl.version, "1.2.4_git20230717-r4");
    let cab = installed
        .iter()
        .find(|i| i.name == "ca-certificates-bundle")
        .unwrap();
    assert_eq!(cab.version, "20240226-r0");
    let ups = apk::parse_upgradable(&fixture("apk/alpine319/list-upgradable.txt"));
    assert_eq!(ups.len(), 3);
    assert_eq!(ups[0].name, "busybox");
    assert_eq!(ups[0].current, "1.36.1-r15");
    assert_eq!(ups[0].available, "1.36.1-r19");
    assert!(apk::parse_upgradable("").is_empty());

    let policy = apk::parse_policy(&fixture("apk/alpine319/policy.txt"));
    assert_eq!(
        policy["zlib"],
        vec![(
            "1.3.1-r0".to_string(),
            "https://dl-cdn.alpinelinux.org/alpine/v3.19/main".to_string()
        )]
    );
    assert!(
        !policy.contains_key("mytool"),
        "installed only, no repository"
    );
    assert_eq!(
        policy["busybox"][0].0, "1.36.1-r19",
        "the installed version has no repository"
    );
    assert_eq!(
        policy["py3-setuptools"][0].1,
        "https://dl-cdn.alpinelinux.org/alpine/edge/community"
    );

    let p = by_name(collect::merge(installed, ups));
    assert!(p["libssl3"].needs_update && !p["libssl3"].is_security_update);
    assert!(!p["zlib"].needs_update);

    let repos = apk::parse_repositories(&fixture("apk/alpine319/repositories"));
    assert_eq!(repos.len(), 3);
    assert_eq!(repos[0].distribution, "v3.19");
    assert_eq!(repos[0].components, "main");
    assert_eq!(
        repos[2].url,
        "https://dl-cdn.alpinelinux.org/alpine/edge/community"
    );
    assert!(repos.iter().all(|r| r.repo_type == "apk" && r.is_secure));
}

#[test]
fn pacman_arch() {
    let installed = pacman::parse_query(&fixture("pacman/arch/Q.txt"));
    assert_eq!(installed.len(), 7);
    let sync = pacman::parse_sync_list(&fixture("pacman/arch/Sl.txt"));
    assert_eq!(sync["linux"], "core");
    assert!(!sync.contains_key("yay"), "AUR package: no repository");
    assert!(!sync.contains_key("zstd"), "not installed");
    let ups = pacman::parse_updates(&fixture("pacman/arch/checkupdates.txt"));
    assert_eq!(ups.len(), 2);
    let held = pacman::parse_updates(&fixture("pacman/arch/Qu-ignored.txt"));
    assert_eq!(
        held.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(),
        vec!["openssl"],
        "IgnorePkg is held"
    );
    assert!(pacman::parse_updates("").is_empty());

    let mut installed = installed;
    for i in &mut installed {
        i.repo = sync.get(&i.name).cloned().unwrap_or_default();
    }
    let p = by_name(collect::merge(installed, ups));
    assert_eq!(p["zlib"].current_version, "1:1.3.1-1");
    assert_eq!(p["linux"].available_version, "6.7.5.arch1-1");
    assert_eq!(p["yay"].source_repository, "");

    let mirror = fixture("pacman/arch/mirrorlist");
    let repos = pacman::parse_pacman_conf(&fixture("pacman/arch/pacman.conf"), "x86_64", |path| {
        (path == Path::new("/etc/pacman.d/mirrorlist")).then(|| mirror.clone())
    });
    let got: Vec<(&str, &str)> = repos
        .iter()
        .map(|r| (r.name.as_str(), r.url.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("core", "https://geo.mirror.pkgbuild.com/core/os/x86_64"),
            ("extra", "https://geo.mirror.pkgbuild.com/extra/os/x86_64"),
            ("custom", "file:///home/custompkgs"),
        ]
    );
}

#[test]
fn freebsd_pkg() {
    let installed = pkg::parse_query(&fixture("pkg/freebsd14/query.txt"));
    assert_eq!(installed.len(), 5);
    assert_eq!(
        installed.iter().find(|i| i.name == "mytool").unwrap().repo,
        ""
    );
    let mut ups = pkg::parse_upgrade_dry_run(&fixture("pkg/freebsd14/upgrade-n.txt"));
    assert_eq!(
        ups.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(),
        vec!["curl", "sqlite3"]
    );
    assert_eq!(ups[1].current, "3.43.1,1");
    assert_eq!(ups[1].available, "3.44.2,1");
    assert_eq!(ups[0].repo, "FreeBSD");
    let audit = pkg::parse_audit(&fixture("pkg/freebsd14/audit.txt"));
    assert_eq!(
        audit,
        ["curl", "py311-setuptools"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    );
    for u in &mut ups {
        u.security = audit.contains(&u.name);
    }
    let p = by_name(collect::merge(installed, ups));
    assert!(p["curl"].is_security_update);
    assert!(p["sqlite3"].needs_update && !p["sqlite3"].is_security_update);
    assert!(
        !p["py311-setuptools"].needs_update,
        "vulnerable but no upgrade pending"
    );
    assert!(pkg::parse_upgrade_dry_run("Your packages are up to date.\n").is_empty());

    let repos = pkg::parse_pkg_vv(&fixture("pkg/freebsd14/pkg-vv.txt"));
    assert_eq!(repos.len(), 2);
    assert_eq!(
        repos[0].url,
        "pkg+http://pkg.FreeBSD.org/FreeBSD:14:amd64/quarterly"
    );
    assert!(repos[0].is_enabled && !repos[0].is_secure);
    assert!(!repos[1].is_enabled && repos[1].is_secure);
}
