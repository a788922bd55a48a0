//! Outbound notification requests (webhook, ntfy, Gotify) never reach an
//! address in `NOTIFY_DENY_NETWORKS` (default: link-local and the cloud
//! metadata addresses, which no notification service lives on). Checked on
//! the address actually connected to — after DNS, for every redirect — so a
//! name that resolves (or re-resolves) to a denied address is refused too.
//! Private LAN and loopback addresses stay allowed: ntfy or Gotify on the
//! same network is the common self-hosted setup; add them to the list to
//! refuse them.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::redirect;

/// The default deny list: IPv4 and IPv6 link-local (169.254.169.254 is the
/// metadata service of AWS, GCP, Azure and OpenStack), AWS's IPv6 metadata
/// address and Alibaba Cloud's.
pub const DEFAULT_DENY: &str = "169.254.0.0/16,fe80::/10,fd00:ec2::254/128,100.100.100.200/32";

/// Parses a comma-separated list of addresses and CIDR ranges; `none` is the empty list.
pub fn parse_list(s: &str) -> Result<Vec<IpNet>, String> {
    if s.trim().eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    s.split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|e| {
            crate::tokens::ipallow::parse_entry(e)
                .ok_or_else(|| format!("{e:?} is not an IP address or CIDR range"))
        })
        .collect()
}

fn denied(deny: &[IpNet], ip: IpAddr) -> bool {
    crate::tokens::ipallow::contains(deny, ip)
}

fn refusal(ip: IpAddr) -> String {
    format!("{ip} is in NOTIFY_DENY_NETWORKS; refusing to send there")
}

/// A DNS resolver that drops denied addresses (and fails when none is left).
struct Guarded(Arc<Vec<IpNet>>);

impl Resolve for Guarded {
    fn resolve(&self, name: Name) -> Resolving {
        let deny = self.0.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|a| !denied(&deny, a.ip()))
                .collect();
            match (allowed.is_empty(), found.first()) {
                (true, Some(first)) => Err(format!("{host}: {}", refusal(first.ip())).into()),
                _ => Ok(Box::new(allowed.into_iter()) as Addrs),
            }
        })
    }
}

/// Refuses a URL whose host is a literal denied address (literals skip DNS).
fn check_url(deny: &[IpNet], url: &reqwest::Url) -> Result<(), String> {
    let host = url.host_str().unwrap_or("");
    let Ok(ip) = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    else {
        return Ok(());
    };
    if denied(deny, ip) {
        Err(refusal(ip))
    } else {
        Ok(())
    }
}

/// The HTTP client of notification sends, built once per server: 10 s
/// timeout, the guarded resolver, and at most 5 redirects, each checked like
/// the first URL.
pub struct Sender {
    http: reqwest::Client,
    deny: Arc<Vec<IpNet>>,
}

impl Sender {
    pub fn new(deny: &[IpNet]) -> Result<Self, String> {
        let deny = Arc::new(deny.to_vec());
        let for_redirects = deny.clone();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .dns_resolver(Arc::new(Guarded(deny.clone())))
            .redirect(redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() >= 5 {
                    return attempt.error("too many redirects");
                }
                match check_url(&for_redirects, attempt.url()) {
                    Ok(()) => attempt.follow(),
                    Err(e) => attempt.error(e),
                }
            }))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self { http, deny })
    }

    /// A POST to `url`; refused here when its host is a literal denied
    /// address (the resolver sees names only).
    pub fn post(&self, url: &str) -> Result<reqwest::RequestBuilder, String> {
        let parsed = reqwest::Url::parse(url).map_err(|e| format!("invalid URL {url:?}: {e}"))?;
        check_url(&self.deny, &parsed)?;
        Ok(self.http.post(parsed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_list_and_literals() {
        let deny = parse_list(DEFAULT_DENY).unwrap();
        let url = |s: &str| reqwest::Url::parse(s).unwrap();
        assert!(check_url(&deny, &url("http://169.254.169.254/latest/meta-data")).is_err());
        assert!(check_url(&deny, &url("http://[fe80::1]/x")).is_err());
        assert!(check_url(&deny, &url("http://[::ffff:169.254.169.254]/x")).is_err());
        assert!(check_url(&deny, &url("http://[fd00:ec2::254]/")).is_err());
        for ok in [
            "http://127.0.0.1:8080/",
            "http://192.168.1.10/",
            "https://ntfy.sh/t",
            "http://[::1]/",
        ] {
            assert!(check_url(&deny, &url(ok)).is_ok(), "{ok}");
        }
        assert!(parse_list("none").unwrap().is_empty());
        assert!(parse_list("10.0.0.0/8, ::1").unwrap().len() == 2);
        assert!(parse_list("10.0.0.0/8,bogus").is_err());
    }
}
