//! System facts: OS, kernel, reboot state, hardware, disks, network, uptime.
//! Each fact has a pure parser (unit-tested) and a reader of `/proc`, `/sys`,
//! `/etc` or a small command. On FreeBSD the `/proc`-based facts are read
//! through `sysctl` where that is cheap, and left out otherwise.

use std::collections::BTreeMap;
use std::path::Path;

use patchmon_protocol::{DiskDetail, InterfaceAddress, NetworkInterface};

use crate::util::{self, CMD_TIMEOUT, compare_versions, read_trimmed};

/// `/etc/os-release` → (`NAME`, `VERSION`), PatchMon's `osType`/`osVersion`.
pub fn parse_os_release(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.trim().split_once('=')?;
            if k.starts_with('#') {
                return None;
            }
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|s| s.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')))
                .unwrap_or(v);
            Some((k.trim().to_owned(), v.replace("\\\"", "\"")))
        })
        .collect()
}

pub fn os_type_version() -> (String, String) {
    let text = std::fs::read_to_string("/etc/os-release")
        .or_else(|_| std::fs::read_to_string("/usr/lib/os-release"))
        .unwrap_or_default();
    let m = parse_os_release(&text);
    if cfg!(target_os = "freebsd") && m.is_empty() {
        let v = util::run("freebsd-version", &[], CMD_TIMEOUT)
            .map(|o| o.stdout.trim().to_owned())
            .unwrap_or_default();
        return (
            "FreeBSD".into(),
            if v.is_empty() { "Unknown".into() } else { v },
        );
    }
    let name = m
        .get("NAME")
        .cloned()
        .unwrap_or_else(|| std::env::consts::OS.to_owned());
    let version = m
        .get("VERSION")
        .or_else(|| m.get("VERSION_ID"))
        .cloned()
        .unwrap_or_else(|| "Unknown".into());
    (name, version)
}

pub fn hostname() -> String {
    read_trimmed("/proc/sys/kernel/hostname")
        .or_else(|| read_trimmed("/etc/hostname"))
        .or_else(|| {
            util::run("hostname", &[], CMD_TIMEOUT)
                .ok()
                .map(|o| o.stdout.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into())
}

/// Kernel architecture (`x86_64`, `aarch64`), not the Go/Rust target name.
pub fn architecture() -> String {
    read_trimmed("/proc/sys/kernel/arch")
        .or_else(|| {
            util::run("uname", &["-m"], CMD_TIMEOUT)
                .ok()
                .map(|o| o.stdout.trim().to_owned())
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| std::env::consts::ARCH.to_owned())
}

pub fn kernel_release() -> String {
    read_trimmed("/proc/sys/kernel/osrelease")
        .or_else(|| {
            util::run("uname", &["-r"], CMD_TIMEOUT)
                .ok()
                .map(|o| o.stdout.trim().to_owned())
        })
        .unwrap_or_default()
}

/// The flavour of a kernel release, so that only kernels of the same flavour
/// are compared: `6.1.0-18-cloud-amd64` → `cloud-amd`, `5.15.0-91-generic` →
/// `generic`, `6.6.8-arch1-1` → `arch`, `5.14.0-362.el9.x86_64+debug` → `+debug`.
/// Trailing digits of alphabetic parts are dropped (`arch1`/`arch2`, `amd64`).
pub fn kernel_flavour(release: &str) -> String {
    let (main, plus) = match release.split_once('+') {
        Some((m, p)) => (m, format!("+{p}")),
        None => (release, String::new()),
    };
    let parts: Vec<String> = main
        .split('-')
        .skip(1)
        .filter(|p| !p.starts_with(|c: char| c.is_ascii_digit()))
        .map(|p| p.trim_end_matches(|c: char| c.is_ascii_digit()).to_owned())
        .filter(|p| !p.is_empty())
        .collect();
    format!("{}{}", parts.join("-"), plus)
}

/// Kernel releases installed on disk: `/boot/vmlinuz-*` and `/lib/modules/*`
/// directories that hold a kernel (`modules.dep` or `vmlinuz`).
pub fn installed_kernels() -> Vec<String> {
    let mut v = Vec::new();
    if let Ok(rd) = std::fs::read_dir("/boot") {
        for e in rd.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if let Some(r) = n.strip_prefix("vmlinuz-") {
                v.push(r.to_owned());
            }
        }
    }
    for dir in ["/lib/modules", "/usr/lib/modules"] {
        if let Ok(rd) = std::fs::read_dir(dir) {
            for e in rd.flatten() {
                let p = e.path();
                if p.join("modules.dep").exists() || p.join("vmlinuz").exists() {
                    v.push(e.file_name().to_string_lossy().into_owned());
                }
            }
        }
    }
    v.sort();
    v.dedup();
    v
}

/// The newest installed kernel of the running kernel's flavour.
pub fn newest_kernel_of_flavour(running: &str, installed: &[String]) -> Option<String> {
    let flavour = kernel_flavour(running);
    installed
        .iter()
        .filter(|k| kernel_flavour(k) == flavour)
        .max_by(|a, b| compare_versions(a, b))
        .cloned()
}

/// Reboot state: `(needed, reason)`.
pub fn reboot_state(running: &str, newest: Option<&str>) -> (bool, String) {
    let mut reasons = Vec::new();
    if Path::new("/var/run/reboot-required").exists() || Path::new("/run/reboot-required").exists()
    {
        let pkgs = read_trimmed("/var/run/reboot-required.pkgs")
            .map(|p| format!(" ({})", p.split_whitespace().collect::<Vec<_>>().join(", ")))
            .unwrap_or_default();
        reasons.push(format!("/var/run/reboot-required exists{pkgs}"));
    }
    if util::which("needs-restarting").is_some()
        && let Ok(o) = util::run("needs-restarting", &["-r"], CMD_TIMEOUT)
        && o.code == Some(1)
    {
        reasons.push("needs-restarting -r reports a reboot is required".into());
    }
    if let Some(newest) = newest
        && compare_versions(newest, running).is_gt()
    {
        reasons.push(format!(
            "Running kernel: {running}, Installed kernel: {newest}"
        ));
    }
    (!reasons.is_empty(), reasons.join(" | "))
}

/// `(model, logical cores)` from `/proc/cpuinfo`.
pub fn parse_cpuinfo(text: &str) -> (String, i64) {
    let mut model = String::new();
    let mut cores = 0;
    for line in text.lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        match k.trim() {
            "processor" => cores += 1,
            "model name" | "Model" | "cpu model" if model.is_empty() => model = v.trim().to_owned(),
            _ => {}
        }
    }
    (model, cores)
}

pub fn cpu() -> (String, i64) {
    let (mut model, mut cores) =
        parse_cpuinfo(&std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default());
    if cores == 0 {
        cores = std::thread::available_parallelism()
            .map(|n| n.get() as i64)
            .unwrap_or(0);
    }
    if model.is_empty() && cfg!(target_os = "freebsd") {
        model = util::run("sysctl", &["-n", "hw.model"], CMD_TIMEOUT)
            .map(|o| o.stdout.trim().to_owned())
            .unwrap_or_default();
    }
    (model, cores)
}

/// `(RAM GiB, swap GiB)` from `/proc/meminfo`.
pub fn parse_meminfo(text: &str) -> (f64, f64) {
    let kb = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let gib = |k: f64| round2(k * 1024.0 / 1024f64.powi(3));
    (gib(kb("MemTotal:")), gib(kb("SwapTotal:")))
}

pub fn memory() -> (f64, f64) {
    parse_meminfo(&std::fs::read_to_string("/proc/meminfo").unwrap_or_default())
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Filesystems PatchMon leaves out of `diskDetails`.
const SKIP_FS: &[&str] = &[
    "tmpfs",
    "devtmpfs",
    "proc",
    "sysfs",
    "devpts",
    "squashfs",
    "cgroup",
    "cgroup2",
    "overlay_tmp",
    "mqueue",
    "debugfs",
    "tracefs",
    "securityfs",
    "pstore",
    "bpf",
    "autofs",
    "hugetlbfs",
    "fusectl",
    "configfs",
    "binfmt_misc",
    "nsfs",
    "rpc_pipefs",
    "efivarfs",
    "devfs",
    "fdescfs",
    "procfs",
    "linprocfs",
    "linsysfs",
    "ramfs",
];

/// Parses `df -kPT` (Linux) or `df -kT` output into PatchMon's disk rows.
pub fn parse_df(out: &str) -> Vec<DiskDetail> {
    let gb = |kb: f64| kb / 1024.0 / 1024.0;
    let mut seen = std::collections::HashSet::new();
    out.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() < 7 {
                return None;
            }
            let (name, fstype) = (f[0], f[1]);
            let total: f64 = f[2].parse().ok()?;
            let used: f64 = f[3].parse().ok()?;
            let avail: f64 = f[4].parse().ok()?;
            let mount = f[6..].join(" ");
            if SKIP_FS.contains(&fstype) || total <= 0.0 || !seen.insert(mount.clone()) {
                return None;
            }
            let pct = if used + avail > 0.0 {
                used / (used + avail) * 100.0
            } else {
                0.0
            };
            Some(DiskDetail {
                name: name.to_owned(),
                size: format!(
                    "{:.2}GB ({:.2}GB used, {:.2}GB free, {:.1}% used)",
                    gb(total),
                    gb(used),
                    gb(avail),
                    pct
                ),
                mountpoint: mount,
            })
        })
        .collect()
}

pub fn disks() -> Vec<DiskDetail> {
    let args: &[&str] = if cfg!(target_os = "linux") {
        &["-kPT"]
    } else {
        &["-kT"]
    };
    util::run("df", args, CMD_TIMEOUT)
        .map(|o| parse_df(&o.stdout))
        .unwrap_or_default()
}

/// Default IPv4 gateway and its interface from `/proc/net/route`.
pub fn parse_proc_route(text: &str) -> Option<(String, String)> {
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 3 || f[1] != "00000000" {
            continue;
        }
        let g = u32::from_str_radix(f[2], 16).ok()?;
        let b = g.to_le_bytes();
        return Some((
            f[0].to_owned(),
            format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3]),
        ));
    }
    None
}

pub fn default_gateway() -> Option<(String, String)> {
    parse_proc_route(&std::fs::read_to_string("/proc/net/route").ok()?)
}

/// `nameserver` entries of `/etc/resolv.conf`.
pub fn parse_resolv_conf(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            (it.next()? == "nameserver")
                .then(|| it.next().map(str::to_owned))
                .flatten()
        })
        .collect()
}

pub fn dns_servers() -> Vec<String> {
    parse_resolv_conf(&std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default())
}

/// Parses `ip -o addr show`: interface name → addresses.
pub fn parse_ip_addr(out: &str) -> BTreeMap<String, Vec<InterfaceAddress>> {
    let mut map: BTreeMap<String, Vec<InterfaceAddress>> = BTreeMap::new();
    for line in out.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        // "2: eth0    inet 10.0.0.5/24 brd 10.0.0.255 scope global eth0\ ..."
        if f.len() < 4 {
            continue;
        }
        let name = f[1].split('@').next().unwrap_or(f[1]).trim_end_matches(':');
        let family = f[2];
        if family != "inet" && family != "inet6" {
            continue;
        }
        let (addr, prefix) = f[3].split_once('/').unwrap_or((f[3], ""));
        map.entry(name.to_owned())
            .or_default()
            .push(InterfaceAddress {
                address: addr.to_owned(),
                family: family.to_owned(),
                netmask: if prefix.is_empty() {
                    String::new()
                } else {
                    format!("/{prefix}")
                },
                gateway: String::new(),
            });
    }
    map
}

/// Parses `/proc/net/if_inet6` (used when `ip` is missing).
pub fn parse_if_inet6(text: &str) -> BTreeMap<String, Vec<InterfaceAddress>> {
    let mut map: BTreeMap<String, Vec<InterfaceAddress>> = BTreeMap::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 6 || f[0].len() != 32 {
            continue;
        }
        let groups: Vec<String> = (0..8)
            .map(|i| {
                let g = &f[0][i * 4..i * 4 + 4];
                format!("{:x}", u16::from_str_radix(g, 16).unwrap_or(0))
            })
            .collect();
        let addr: std::net::Ipv6Addr = match groups.join(":").parse() {
            Ok(a) => a,
            Err(_) => continue,
        };
        let prefix = u8::from_str_radix(f[2], 16).unwrap_or(0);
        map.entry(f[5].to_owned())
            .or_default()
            .push(InterfaceAddress {
                address: addr.to_string(),
                family: "inet6".into(),
                netmask: format!("/{prefix}"),
                gateway: String::new(),
            });
    }
    map
}

fn interface_kind(name: &str) -> &'static str {
    if name.starts_with("wl") || name.starts_with("wifi") {
        "wifi"
    } else if name.starts_with("docker")
        || name.starts_with("br-")
        || (name.starts_with("br") && Path::new(&format!("/sys/class/net/{name}/bridge")).exists())
    {
        "bridge"
    } else {
        "ethernet"
    }
}

/// Network interfaces from `/sys/class/net` plus addresses from `ip -o addr`
/// (or `/proc/net/if_inet6`). Loopback is skipped, and so are interfaces that
/// are down and have no address.
pub fn network_interfaces(gateway: Option<&(String, String)>) -> Vec<NetworkInterface> {
    let mut addrs = util::run("ip", &["-o", "addr", "show"], CMD_TIMEOUT)
        .ok()
        .filter(|o| o.success())
        .map(|o| parse_ip_addr(&o.stdout))
        .unwrap_or_else(|| {
            parse_if_inet6(&std::fs::read_to_string("/proc/net/if_inet6").unwrap_or_default())
        });
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir("/sys/class/net") else {
        return out;
    };
    let mut names: Vec<String> = rd
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in names {
        let base = Path::new("/sys/class/net").join(&name);
        // Type 772 is loopback.
        if name == "lo" || read_trimmed(base.join("type")).as_deref() == Some("772") {
            continue;
        }
        let oper = read_trimmed(base.join("operstate")).unwrap_or_default();
        let flags = read_trimmed(base.join("flags"))
            .and_then(|f| u32::from_str_radix(f.trim_start_matches("0x"), 16).ok())
            .unwrap_or(0);
        let up = oper == "up" || (oper == "unknown" && flags & 1 == 1);
        let mut a = addrs.remove(&name).unwrap_or_default();
        if !up && a.is_empty() {
            continue;
        }
        if let Some((gw_if, gw)) = gateway
            && *gw_if == name
        {
            for addr in a.iter_mut().filter(|x| x.family == "inet") {
                addr.gateway = gw.clone();
            }
        }
        let speed = read_trimmed(base.join("speed"))
            .and_then(|s| s.parse::<i64>().ok())
            .filter(|s| *s > 0);
        let duplex = read_trimmed(base.join("duplex"))
            .filter(|d| d == "full" || d == "half")
            .unwrap_or_default();
        out.push(NetworkInterface {
            kind: interface_kind(&name).to_owned(),
            mac_address: read_trimmed(base.join("address"))
                .filter(|m| m != "00:00:00:00:00:00")
                .unwrap_or_default(),
            mtu: read_trimmed(base.join("mtu"))
                .and_then(|m| m.parse().ok())
                .unwrap_or(0),
            status: if up { "up".into() } else { "down".into() },
            link_speed: speed,
            duplex,
            addresses: if a.is_empty() { None } else { Some(a) },
            name,
        });
    }
    out
}

/// The primary IPv4: the default-route interface's first address, else the
/// first IPv4 of any interface that is up.
pub fn primary_ip(ifaces: &[NetworkInterface], gateway: Option<&(String, String)>) -> String {
    let first_v4 = |i: &NetworkInterface| {
        i.addresses
            .as_ref()?
            .iter()
            .find(|a| a.family == "inet")
            .map(|a| a.address.clone())
    };
    if let Some((gw_if, _)) = gateway
        && let Some(ip) = ifaces.iter().find(|i| &i.name == gw_if).and_then(first_v4)
    {
        return ip;
    }
    ifaces
        .iter()
        .filter(|i| i.status == "up")
        .find_map(first_v4)
        .unwrap_or_default()
}

/// Uptime in seconds from `/proc/uptime`.
pub fn uptime_secs() -> Option<f64> {
    read_trimmed("/proc/uptime")?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// PatchMon's uptime text: "N days, N hours, N minutes", "N hours, N minutes" or "N minutes".
pub fn format_uptime(secs: u64) -> String {
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    if d > 0 {
        format!("{d} days, {h} hours, {m} minutes")
    } else if h > 0 {
        format!("{h} hours, {m} minutes")
    } else {
        format!("{m} minutes")
    }
}

pub fn load_average() -> Option<Vec<f64>> {
    let s = read_trimmed("/proc/loadavg")?;
    let v: Vec<f64> = s
        .split_whitespace()
        .take(3)
        .filter_map(|x| x.parse().ok())
        .collect();
    (v.len() == 3).then_some(v)
}

/// Formats `/etc/machine-id` (32 hex) as a dashed UUID.
pub fn dashed_uuid(hex: &str) -> Option<String> {
    let h = hex.trim();
    if h.len() != 32 || !h.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    Some(
        format!(
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..]
        )
        .to_ascii_lowercase(),
    )
}

/// PatchMon's `machineId`: DMI product UUID, else the dashed machine-id,
/// else the boot id, else the hostname.
pub fn machine_id(hostname: &str) -> String {
    read_trimmed("/sys/class/dmi/id/product_uuid")
        .map(|s| s.to_ascii_lowercase())
        .or_else(|| read_trimmed("/etc/machine-id").and_then(|m| dashed_uuid(&m)))
        .or_else(|| read_trimmed("/var/lib/dbus/machine-id").and_then(|m| dashed_uuid(&m)))
        .or_else(|| read_trimmed("/proc/sys/kernel/random/boot_id"))
        .unwrap_or_else(|| hostname.to_owned())
}

/// `enabled` / `permissive` / `disabled` (PatchMon reports enforcing as enabled).
pub fn selinux_status() -> String {
    let map = |s: &str| match s.trim().to_ascii_lowercase().as_str() {
        "enforcing" | "enabled" => "enabled".to_owned(),
        "permissive" => "permissive".to_owned(),
        _ => "disabled".to_owned(),
    };
    if util::which("getenforce").is_some()
        && let Ok(o) = util::run("getenforce", &[], CMD_TIMEOUT)
        && o.success()
    {
        return map(&o.stdout);
    }
    if let Some(v) = read_trimmed("/sys/fs/selinux/enforce") {
        return if v == "1" {
            "enabled".into()
        } else {
            "permissive".into()
        };
    }
    std::fs::read_to_string("/etc/selinux/config")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.trim().strip_prefix("SELINUX=").map(map))
        })
        .unwrap_or_else(|| "disabled".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_release_quotes() {
        let m = parse_os_release(
            "NAME=\"Debian GNU/Linux\"\nVERSION_ID='12'\nVERSION=\"12 (bookworm)\"\n# c=1\nID=debian\n",
        );
        assert_eq!(m["NAME"], "Debian GNU/Linux");
        assert_eq!(m["VERSION_ID"], "12");
        assert_eq!(m["ID"], "debian");
    }

    #[test]
    fn kernel_flavours_and_mismatch() {
        assert_eq!(kernel_flavour("6.1.0-18-amd64"), "amd");
        assert_eq!(kernel_flavour("6.1.0-18-cloud-amd64"), "cloud-amd");
        assert_eq!(kernel_flavour("5.15.0-91-generic"), "generic");
        assert_eq!(kernel_flavour("6.6.8-arch1-1"), "arch");
        assert_eq!(kernel_flavour("5.14.0-362.8.1.el9_3.x86_64"), "");
        assert_eq!(kernel_flavour("5.14.0-362.el9.x86_64+debug"), "+debug");
        let installed: Vec<String> = [
            "6.1.0-18-amd64",
            "6.1.0-20-amd64",
            "6.1.0-25-cloud-amd64",
            "6.1.0-9-amd64",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // A cloud kernel is not an upgrade of the generic flavour and vice versa.
        assert_eq!(
            newest_kernel_of_flavour("6.1.0-18-amd64", &installed).as_deref(),
            Some("6.1.0-20-amd64")
        );
        assert_eq!(
            newest_kernel_of_flavour("6.1.0-25-cloud-amd64", &installed).as_deref(),
            Some("6.1.0-25-cloud-amd64")
        );
        assert_eq!(
            newest_kernel_of_flavour("6.18.44-fc-v669", &installed),
            None
        );
        let el = vec![
            "5.14.0-362.8.1.el9_3.x86_64".to_string(),
            "5.14.0-362.18.1.el9_3.x86_64".to_string(),
        ];
        assert_eq!(
            newest_kernel_of_flavour("5.14.0-362.8.1.el9_3.x86_64", &el).as_deref(),
            Some("5.14.0-362.18.1.el9_3.x86_64")
        );
    }

    #[test]
    fn cpu_and_memory() {
        let (m, c) = parse_cpuinfo(
            "processor\t: 0\nmodel name\t: AMD EPYC 7B13\nprocessor\t: 1\nmodel name\t: AMD EPYC 7B13\n",
        );
        assert_eq!((m.as_str(), c), ("AMD EPYC 7B13", 2));
        let (ram, swap) = parse_meminfo("MemTotal:       8029460 kB\nSwapTotal:      2097148 kB\n");
        assert_eq!(ram, 7.66);
        assert_eq!(swap, 2.0);
    }

    #[test]
    fn df_rows() {
        let out = "Filesystem     Type     1024-blocks    Used Available Capacity Mounted on\n\
/dev/vda1      ext4        20466256 8123456  11278216      42% /\n\
tmpfs          tmpfs        4014728       0   4014728       0% /dev/shm\n\
/dev/vdb1      xfs        104806400 1048064 103758336       1% /srv/data dir\n";
        let d = parse_df(out);
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].mountpoint, "/");
        assert_eq!(d[0].size, "19.52GB (7.75GB used, 10.76GB free, 41.9% used)");
        assert_eq!(d[1].mountpoint, "/srv/data dir");
    }

    #[test]
    fn route_resolv_ip() {
        let route = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\n\
eth0\t0000FEA9\t00000000\t0001\t0\t0\t0\t0000FFFF\n\
eth0\t00000000\t0100000A\t0003\t0\t0\t0\t00000000\n";
        assert_eq!(
            parse_proc_route(route),
            Some(("eth0".into(), "10.0.0.1".into()))
        );
        assert_eq!(
            parse_resolv_conf("# x\nnameserver 1.1.1.1\nsearch lan\nnameserver fe80::1%eth0\n"),
            vec!["1.1.1.1", "fe80::1%eth0"]
        );
        let ip = "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever\n\
2: eth0    inet 10.0.0.5/24 brd 10.0.0.255 scope global eth0\\       valid_lft forever\n\
2: eth0    inet6 fe80::1/64 scope link \\       valid_lft forever\n\
5: veth1@if4    inet 172.17.0.1/16 scope global veth1\n";
        let m = parse_ip_addr(ip);
        assert_eq!(m["eth0"].len(), 2);
        assert_eq!(m["eth0"][0].netmask, "/24");
        assert_eq!(m["eth0"][1].family, "inet6");
        assert!(m.contains_key("veth1"));
        let v6 = parse_if_inet6("fe800000000000000000000000000001 02 40 20 80     eth0\n");
        assert_eq!(v6["eth0"][0].address, "fe80::1");
        assert_eq!(v6["eth0"][0].netmask, "/64");
    }

    #[test]
    fn uptime_text_and_ids() {
        assert_eq!(
            format_uptime(3 * 86_400 + 4 * 3600 + 5 * 60 + 7),
            "3 days, 4 hours, 5 minutes"
        );
        assert_eq!(format_uptime(3600), "1 hours, 0 minutes");
        assert_eq!(format_uptime(59), "0 minutes");
        assert_eq!(
            dashed_uuid("0123456789ABCDEF0123456789abcdef").as_deref(),
            Some("01234567-89ab-cdef-0123-456789abcdef")
        );
        assert_eq!(dashed_uuid("short"), None);
    }
}
