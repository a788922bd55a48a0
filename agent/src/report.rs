//! Builds the report payload (`report --json` prints exactly this), the
//! section hashes and the ping metrics.

use std::time::Instant;

use patchmon_protocol::hashing::{hostname_hash, interfaces_hash, packages_hash, repos_hash};
use patchmon_protocol::{PingMetrics, ReportPayload, SectionHashes};

use crate::collect::{self, CollectError, CollectOptions};
use crate::system;

pub const AGENT_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Sections a partial report can carry, in PatchMon's order.
pub const PARTIAL_SECTIONS: [&str; 4] = ["packages", "repos", "interfaces", "hostname"];

/// A full collection: the payload plus its section hashes.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub payload: ReportPayload,
    pub hashes: SectionHashes,
}

/// Collects everything a full report contains. Blocking: run it on a
/// blocking thread from async code.
pub fn collect_full(opts: &CollectOptions) -> Result<Snapshot, CollectError> {
    let started = Instant::now();
    let mgr = collect::detect().ok_or_else(|| {
        CollectError::Failed(
            "no supported package manager found (apt, dnf, yum, apk, pacman or FreeBSD pkg)".into(),
        )
    })?;
    let inv = mgr.collect(opts)?;

    let (os_type, os_version) = system::os_type_version();
    let hostname = system::hostname();
    let kernel = system::kernel_release();
    let newest = system::newest_kernel_of_flavour(&kernel, &system::installed_kernels());
    let (needs_reboot, reboot_reason) = system::reboot_state(&kernel, newest.as_deref());
    let (cpu_model, cpu_cores) = system::cpu();
    let (ram, swap) = system::memory();
    let gateway = system::default_gateway();
    let interfaces = system::network_interfaces(gateway.as_ref());
    let ip = system::primary_ip(&interfaces, gateway.as_ref());
    let uptime = system::uptime_secs();
    let boot_time = uptime.map(|u| {
        let boot = chrono::Utc::now() - chrono::Duration::milliseconds((u * 1000.0) as i64);
        boot.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    });

    let hashes = SectionHashes {
        packages_hash: packages_hash(&inv.packages),
        repos_hash: repos_hash(&inv.repositories),
        interfaces_hash: interfaces_hash(&interfaces),
        hostname_hash: hostname_hash(&hostname),
        ..Default::default()
    };
    let elapsed = started.elapsed();
    let payload = ReportPayload {
        packages: inv.packages,
        repositories: inv.repositories,
        os_type: Some(os_type),
        os_version: Some(os_version),
        hostname: Some(hostname.clone()),
        ip: Some(ip),
        architecture: Some(system::architecture()),
        agent_version: Some(AGENT_VERSION.into()),
        machine_id: Some(system::machine_id(&hostname)),
        kernel_version: Some(kernel),
        installed_kernel_version: newest,
        selinux_status: Some(system::selinux_status()),
        system_uptime: uptime.map(|u| system::format_uptime(u as u64)),
        boot_time,
        load_average: system::load_average(),
        cpu_model: Some(cpu_model).filter(|s| !s.is_empty()),
        cpu_cores: Some(cpu_cores).filter(|c| *c > 0),
        ram_installed: Some(ram).filter(|r| *r > 0.0),
        swap_size: Some(swap),
        disk_details: Some(system::disks()),
        gateway_ip: gateway.map(|(_, g)| g),
        dns_servers: Some(system::dns_servers()),
        network_interfaces: Some(interfaces),
        execution_time: Some((elapsed.as_secs_f64() * 1000.0).round() / 1000.0),
        needs_reboot: Some(needs_reboot),
        reboot_reason: Some(reboot_reason).filter(|r| !r.is_empty()),
        package_manager: Some(mgr.name().into()),
        sections: None,
        hashes: None,
        agent_execution_ms: Some(elapsed.as_millis() as i64),
    };
    Ok(Snapshot { payload, hashes })
}

impl Snapshot {
    /// The hash-gated ping body: section hashes plus cheap metrics.
    pub fn ping_body(&self) -> patchmon_protocol::PingRequest {
        let p = &self.payload;
        patchmon_protocol::PingRequest {
            hashes: Some(self.hashes.clone()),
            metrics: Some(PingMetrics {
                cpu_cores: p.cpu_cores,
                cpu_model: p.cpu_model.clone(),
                ram_installed: p.ram_installed,
                swap_size: p.swap_size.filter(|s| *s > 0.0),
                disk_details: p.disk_details.clone(),
                system_uptime: p.system_uptime.clone(),
                boot_time: p.boot_time.clone(),
                load_average: p.load_average.clone(),
                needs_reboot: p.needs_reboot,
                reboot_reason: p.reboot_reason.clone(),
            }),
            agent_version: Some(AGENT_VERSION.into()),
            agent_execution_ms: p.agent_execution_ms,
        }
    }

    /// A partial report carrying only `sections` (a subset of
    /// [`PARTIAL_SECTIONS`]) and their hashes. Unclaimed lists are sent empty,
    /// and nothing else is sent, so the server never overwrites unrelated
    /// fields (PatchMon's partial reports zero the swap size and disks).
    pub fn partial(&self, sections: &[String]) -> ReportPayload {
        let has = |s: &str| sections.iter().any(|x| x == s);
        let p = &self.payload;
        let mut hashes = SectionHashes::default();
        let mut out = ReportPayload {
            agent_version: p.agent_version.clone(),
            package_manager: p.package_manager.clone(),
            agent_execution_ms: p.agent_execution_ms,
            ..Default::default()
        };
        if has("packages") {
            out.packages = p.packages.clone();
            hashes.packages_hash = self.hashes.packages_hash.clone();
        }
        if has("repos") {
            out.repositories = p.repositories.clone();
            hashes.repos_hash = self.hashes.repos_hash.clone();
        }
        if has("interfaces") {
            out.network_interfaces = p.network_interfaces.clone();
            out.ip = p.ip.clone();
            hashes.interfaces_hash = self.hashes.interfaces_hash.clone();
        }
        if has("hostname") {
            out.hostname = p.hostname.clone();
            hashes.hostname_hash = self.hashes.hostname_hash.clone();
        }
        out.sections = Some(
            PARTIAL_SECTIONS
                .iter()
                .filter(|s| has(s))
                .map(|s| (*s).to_owned())
                .collect(),
        );
        out.hashes = Some(hashes);
        out
    }
}
