//! The apt collector and the system facts against this (Debian) machine.

use std::collections::BTreeSet;
use std::process::Command;

use patchmon_agent::collect::{CollectOptions, PackageManager, apt::Apt};
use patchmon_agent::config::CacheRefresh;
use patchmon_protocol::hashing::packages_hash;

use crate::{HEAVY, dpkg_installed_count, simulated_upgrades};

fn never_refresh() -> CollectOptions {
    CollectOptions {
        cache_refresh: CacheRefresh::Never,
        cache_max_age_minutes: 60,
    }
}

#[test]
fn apt_collector_equals_dpkg_installed_set_and_apts_simulation() {
    let _serial = HEAVY.blocking_lock();
    let inv = Apt.collect(&never_refresh()).expect("apt collection");
    assert_eq!(
        inv.packages.len(),
        dpkg_installed_count(),
        "one row per dpkg package with status installed"
    );

    let sim = Command::new("apt")
        .args(["-s", "-o", "Debug::NoLocking=1", "upgrade"])
        .env("LC_ALL", "C")
        .output()
        .expect("apt -s upgrade");
    let apts = simulated_upgrades(&String::from_utf8_lossy(&sim.stdout));
    let ours: BTreeSet<String> = inv
        .packages
        .iter()
        .filter(|p| p.needs_update)
        .map(|p| p.name.clone())
        .collect();
    assert_eq!(ours, apts, "upgradable set must equal apt's own simulation");

    for p in inv.packages.iter().filter(|p| p.needs_update) {
        assert!(!p.available_version.is_empty(), "{}", p.name);
        assert_ne!(p.available_version, p.current_version, "{}", p.name);
    }
    for p in inv.packages.iter().filter(|p| p.is_security_update) {
        assert!(
            p.needs_update,
            "{} flagged security without an update",
            p.name
        );
    }
    assert!(
        inv.repositories
            .iter()
            .any(|r| r.url.contains("deb.debian.org"))
    );
    // Deterministic: two collections hash the same.
    let again = Apt.collect(&never_refresh()).expect("apt collection");
    assert_eq!(packages_hash(&inv.packages), packages_hash(&again.packages));
}

#[test]
fn full_snapshot_has_every_field_and_consistent_hashes() {
    let _serial = HEAVY.blocking_lock();
    let snap = patchmon_agent::report::collect_full(&never_refresh()).expect("collection");
    let p = &snap.payload;
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_eq!(p.hostname.as_deref(), Some(hostname.trim()));
    assert_eq!(p.os_type.as_deref(), Some("Debian GNU/Linux"));
    assert_eq!(p.package_manager.as_deref(), Some("apt"));
    assert_eq!(p.architecture.as_deref(), Some(std::env::consts::ARCH));
    assert!(p.kernel_version.as_deref().is_some_and(|k| !k.is_empty()));
    assert!(p.cpu_cores.unwrap_or(0) >= 1);
    assert!(p.ram_installed.unwrap_or(0.0) > 0.0);
    assert!(
        p.disk_details
            .as_ref()
            .is_some_and(|d| d.iter().any(|d| d.mountpoint == "/"))
    );
    assert!(p.network_interfaces.as_ref().is_some_and(|i| !i.is_empty()));
    assert!(p.load_average.as_ref().is_some_and(|l| l.len() == 3));
    assert!(p.machine_id.as_deref().is_some_and(|m| !m.is_empty()));
    assert!(p.needs_reboot.is_some() && p.execution_time.is_some());
    assert!(
        p.sections.is_none() && p.hashes.is_none(),
        "a full report carries neither"
    );
    assert_eq!(snap.hashes.packages_hash, packages_hash(&p.packages));
    assert_eq!(
        snap.hashes.hostname_hash,
        patchmon_protocol::hashing::hostname_hash(hostname.trim())
    );

    let partial = snap.partial(&["repos".to_string(), "hostname".to_string()]);
    assert_eq!(
        partial.sections.as_deref(),
        Some(&["repos".to_string(), "hostname".to_string()][..])
    );
    assert!(
        partial.packages.is_empty(),
        "unclaimed sections are sent empty"
    );
    assert_eq!(partial.repositories, p.repositories);
    assert!(
        partial.swap_size.is_none() && partial.disk_details.is_none(),
        "never clobber unrelated fields"
    );
    let h = partial.hashes.unwrap();
    assert!(h.packages_hash.is_empty() && !h.repos_hash.is_empty() && !h.hostname_hash.is_empty());

    let ping = snap.ping_body();
    assert_eq!(
        ping.hashes.as_ref().unwrap().interfaces_hash,
        snap.hashes.interfaces_hash
    );
    assert_eq!(ping.metrics.as_ref().unwrap().needs_reboot, p.needs_reboot);
}
