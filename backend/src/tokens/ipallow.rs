//! IP allowlists of tokens: exact addresses or CIDR ranges, IPv4 and IPv6,
//! with IPv4-mapped IPv6 (`::ffff:10.0.0.1`) treated as the IPv4 address on
//! both sides.

use std::net::IpAddr;

use ipnet::{IpNet, Ipv4Net};

/// Parses one allowlist entry (`10.0.0.5`, `10.0.0.0/24`, `2001:db8::/32`,
/// `::ffff:10.0.0.0/104`) into a normalised network.
pub fn parse_entry(s: &str) -> Option<IpNet> {
    let s = s.trim();
    let net = match s.parse::<IpNet>() {
        Ok(n) => n,
        Err(_) => IpNet::from(s.parse::<IpAddr>().ok()?),
    };
    Some(normalise(net))
}

fn normalise(net: IpNet) -> IpNet {
    match net {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.network().to_ipv4_mapped() {
            Some(v4) => Ipv4Net::new(v4, v6.prefix_len() - 96)
                .map(IpNet::V4)
                .unwrap_or(net),
            None => net,
        },
        other => other.trunc(),
    }
}

fn normalise_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Validates and normalises a list for storage; the error names the bad entry.
pub fn normalise_list(entries: &[String]) -> Result<Vec<String>, String> {
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        let t = e.trim();
        if t.is_empty() {
            continue;
        }
        let net =
            parse_entry(t).ok_or_else(|| format!("Invalid IP address or CIDR range: {t:?}"))?;
        // A single address is shown as written (without /32).
        let s = if net.prefix_len() == net.max_prefix_len() {
            net.addr().to_string()
        } else {
            net.to_string()
        };
        if !out.contains(&s) {
            out.push(s);
        }
    }
    Ok(out)
}

/// Whether `ip` (IPv4-mapped IPv6 read as IPv4) is in one of `nets`
/// (normalised by `parse_entry`).
pub fn contains(nets: &[IpNet], ip: IpAddr) -> bool {
    let ip = normalise_ip(ip);
    nets.iter().any(|n| n.contains(&ip))
}

/// Whether `ip` may use a token with these ranges (empty list: anyone).
/// Entries that no longer parse match nothing (deny by default).
pub fn allows(ranges: &[String], ip: Option<IpAddr>) -> bool {
    if ranges.is_empty() {
        return true;
    }
    let Some(ip) = ip.map(normalise_ip) else {
        return false;
    };
    ranges
        .iter()
        .filter_map(|r| parse_entry(r))
        .any(|net| net.contains(&ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn exact_cidr_and_mapped() {
        let r = normalise_list(&[
            "192.168.1.100".into(),
            " 10.0.0.0/24 ".into(),
            "::ffff:172.16.0.0/108".into(),
            "2001:db8::/32".into(),
        ])
        .unwrap();
        assert_eq!(
            r,
            [
                "192.168.1.100",
                "10.0.0.0/24",
                "172.16.0.0/12",
                "2001:db8::/32"
            ]
        );
        assert!(allows(&r, ip("192.168.1.100")));
        assert!(!allows(&r, ip("192.168.1.101")));
        assert!(allows(&r, ip("10.0.0.255")));
        assert!(allows(&r, ip("::ffff:10.0.0.7")));
        assert!(allows(&r, ip("172.31.255.1")));
        assert!(allows(&r, ip("2001:db8:1::1")));
        assert!(!allows(&r, ip("2001:db9::1")));
        assert!(!allows(&r, None));
        assert!(allows(&[], None));
    }

    #[test]
    fn rejects_garbage_and_truncates_host_bits() {
        assert!(normalise_list(&["10.0.0.0/33".into()]).is_err());
        assert!(normalise_list(&["example.com".into()]).is_err());
        assert_eq!(
            normalise_list(&["10.1.2.3/8".into(), "".into()]).unwrap(),
            ["10.0.0.0/8"]
        );
    }
}
