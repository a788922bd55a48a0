//! Canonical section hashes (PatchMon §2.4).
//!
//! Each section is reduced to a canonical form — strings NFC-normalised and
//! trimmed, rows in a fixed field order, sorted byte-wise and deduplicated —
//! encoded the way Go's `encoding/json` encodes it, and hashed with SHA-256.
//! Agent and server both call these functions, and they reproduce PatchMon's
//! own cross-implementation vectors, so a PatchMon agent and our server (or
//! our agent and a PatchMon server) agree on every hash.

use sha2::{Digest, Sha256};
use unicode_normalization::UnicodeNormalization;

use crate::gojson::GoJson;
use crate::report::{
    CompliancePayload, DockerPayload, InterfaceAddress, NetworkInterface, Package, Repository,
};

/// NFC, then trim Unicode whitespace.
pub fn canon(s: &str) -> String {
    // ASCII (nearly every package field) is already in NFC.
    if s.is_ascii() {
        return s.trim().to_owned();
    }
    if unicode_normalization::is_nfc_quick(s.chars()) == unicode_normalization::IsNormalized::Yes {
        return s.trim().to_owned();
    }
    let n: String = s.nfc().collect();
    match (n.len(), n.trim()) {
        (len, t) if t.len() == len => n,
        (_, t) => t.to_owned(),
    }
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex_lower(&Sha256::digest(bytes))
}

fn hex_lower(digest: &[u8]) -> String {
    let mut out = String::with_capacity(64);
    for b in digest.iter() {
        out.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        out.push(char::from(b"0123456789abcdef"[usize::from(b & 0xf)]));
    }
    out
}

/// Stable-sorts with `cmp`, then keeps the last element of each run of equal rows.
fn sort_dedupe_last<T>(items: &mut Vec<T>, cmp: impl Fn(&T, &T) -> std::cmp::Ordering) {
    items.sort_by(&cmp);
    let mut out: Vec<T> = Vec::with_capacity(items.len());
    for item in items.drain(..) {
        if let Some(last) = out.last_mut()
            && cmp(last, &item) == std::cmp::Ordering::Equal
        {
            *last = item;
            continue;
        }
        out.push(item);
    }
    *items = out;
}

/// Canonicalises a string in place; allocates only when it must change.
fn canon_in_place(s: &mut String) {
    let needs = if s.is_ascii() {
        s.trim().len() != s.len()
    } else {
        true
    };
    if needs {
        *s = canon(s);
    }
}

/// The canonical form of the packages section: sorted by name, deduplicated
/// (last wins), every string canonicalised.
pub fn canonical_packages(packages: &[Package]) -> Vec<Package> {
    into_canonical_packages(packages.to_vec())
}

/// [`canonical_packages`] on an owned list, reusing its strings.
pub fn into_canonical_packages(mut rows: Vec<Package>) -> Vec<Package> {
    for p in &mut rows {
        for s in [
            &mut p.name,
            &mut p.description,
            &mut p.category,
            &mut p.current_version,
            &mut p.available_version,
            &mut p.source_repository,
            &mut p.wua_guid,
            &mut p.wua_kb,
            &mut p.wua_severity,
            &mut p.wua_support_url,
        ] {
            canon_in_place(s);
        }
        if let Some(c) = p.wua_categories.as_mut() {
            c.sort();
            c.iter_mut().for_each(canon_in_place);
        }
    }
    sort_dedupe_last(&mut rows, |a, b| a.name.cmp(&b.name));
    rows
}

/// Hash of the packages section.
pub fn packages_hash(packages: &[Package]) -> String {
    hash_canonical_packages(&canonical_packages(packages))
}

/// Hash of rows already produced by [`canonical_packages`]. The JSON is
/// streamed into the hasher in chunks instead of being built whole.
pub fn hash_canonical_packages(rows: &[Package]) -> String {
    let mut hasher = Sha256::new();
    let mut g = GoJson::new();
    g.begin_array();
    for p in rows {
        g.drain_into(|chunk| hasher.update(chunk.as_bytes()), 32 * 1024);
        g.begin_object()
            .field_str("name", &p.name)
            .field_str("description", &p.description)
            .field_str("category", &p.category)
            .field_str("currentVersion", &p.current_version)
            .field_str("availableVersion", &p.available_version)
            .field_bool("needsUpdate", p.needs_update)
            .field_bool("isSecurityUpdate", p.is_security_update)
            .field_str("sourceRepository", &p.source_repository)
            .field_str("wuaGuid", &p.wua_guid)
            .field_str("wuaKb", &p.wua_kb)
            .field_str("wuaSeverity", &p.wua_severity)
            .key("wuaCategories");
        match &p.wua_categories {
            None => {
                g.null();
            }
            Some(cats) => {
                g.begin_array();
                for c in cats {
                    g.string(c);
                }
                g.end_array();
            }
        }
        g.field_str("wuaSupportUrl", &p.wua_support_url)
            .field_int("wuaRevisionNumber", i64::from(p.wua_revision_number))
            .end_object();
    }
    g.end_array();
    hasher.update(g.finish().as_bytes());
    hex_lower(&hasher.finalize())
}

/// Canonical repositories: sorted by (url, distribution, components), deduplicated on it, last wins.
pub fn canonical_repos(repos: &[Repository]) -> Vec<Repository> {
    let mut rows: Vec<Repository> = repos
        .iter()
        .map(|r| Repository {
            name: canon(&r.name),
            url: canon(&r.url),
            distribution: canon(&r.distribution),
            components: canon(&r.components),
            repo_type: canon(&r.repo_type),
            is_enabled: r.is_enabled,
            is_secure: r.is_secure,
        })
        .collect();
    sort_dedupe_last(&mut rows, |a, b| {
        (&a.url, &a.distribution, &a.components).cmp(&(&b.url, &b.distribution, &b.components))
    });
    rows
}

/// Hash of the repositories section.
pub fn repos_hash(repos: &[Repository]) -> String {
    hash_canonical_repos(&canonical_repos(repos))
}

/// Hash of rows already produced by [`canonical_repos`].
pub fn hash_canonical_repos(rows: &[Repository]) -> String {
    let mut g = GoJson::new();
    g.begin_array();
    for r in rows {
        g.begin_object()
            .field_str("name", &r.name)
            .field_str("url", &r.url)
            .field_str("distribution", &r.distribution)
            .field_str("components", &r.components)
            .field_str("repoType", &r.repo_type)
            .field_bool("isEnabled", r.is_enabled)
            .field_bool("isSecure", r.is_secure)
            .end_object();
    }
    g.end_array();
    sha256_hex(g.finish().as_bytes())
}

/// Hash of the network interfaces section (mtu, status, speed and duplex excluded).
pub fn interfaces_hash(interfaces: &[NetworkInterface]) -> String {
    let mut rows: Vec<(String, String, String, Vec<InterfaceAddress>)> = interfaces
        .iter()
        .map(|i| {
            let mut addrs: Vec<InterfaceAddress> = i
                .addresses
                .iter()
                .flatten()
                .map(|a| InterfaceAddress {
                    address: canon(&a.address),
                    family: canon(&a.family),
                    netmask: canon(&a.netmask),
                    gateway: canon(&a.gateway),
                })
                .collect();
            addrs.sort_by(|a, b| (&a.family, &a.address).cmp(&(&b.family, &b.address)));
            (
                canon(&i.name),
                canon(&i.kind),
                canon(&i.mac_address).to_lowercase(),
                addrs,
            )
        })
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    let mut g = GoJson::new();
    g.begin_array();
    for (name, kind, mac, addrs) in &rows {
        g.begin_object()
            .field_str("name", name)
            .field_str("type", kind)
            .field_str("macAddress", mac)
            .key("addresses")
            .begin_array();
        for a in addrs {
            g.begin_object()
                .field_str("address", &a.address)
                .field_str("family", &a.family)
                .field_str("netmask", &a.netmask)
                .field_str("gateway", &a.gateway)
                .end_object();
        }
        g.end_array().end_object();
    }
    g.end_array();
    sha256_hex(g.finish().as_bytes())
}

/// Hash of the hostname section: SHA-256 of the canonical string itself.
pub fn hostname_hash(hostname: &str) -> String {
    sha256_hex(canon(hostname).as_bytes())
}

/// Hash of a Docker inventory.
pub fn docker_hash(d: &DockerPayload) -> String {
    let mut containers: Vec<[String; 7]> = d
        .containers
        .iter()
        .map(|c| {
            [
                canon(&c.container_id),
                canon(&c.name),
                canon(&c.image_repository),
                canon(&c.image_tag),
                canon(&c.image_id),
                canon(&c.status),
                canon(&c.state),
            ]
        })
        .collect();
    containers.sort_by(|a, b| a[0].cmp(&b[0]));
    let mut images: Vec<([String; 4], i64)> = d
        .images
        .iter()
        .map(|i| {
            (
                [
                    canon(&i.repository),
                    canon(&i.tag),
                    canon(&i.image_id),
                    canon(&i.digest),
                ],
                i.size_bytes,
            )
        })
        .collect();
    images.sort_by(|a, b| (&a.0[0], &a.0[1], &a.0[2]).cmp(&(&b.0[0], &b.0[1], &b.0[2])));
    let mut volumes: Vec<[String; 4]> = d
        .volumes
        .iter()
        .map(|v| {
            [
                canon(&v.volume_id),
                canon(&v.name),
                canon(&v.driver),
                canon(&v.scope),
            ]
        })
        .collect();
    volumes.sort_by(|a, b| a[0].cmp(&b[0]));
    let mut networks: Vec<[String; 4]> = d
        .networks
        .iter()
        .map(|n| {
            [
                canon(&n.network_id),
                canon(&n.name),
                canon(&n.driver),
                canon(&n.scope),
            ]
        })
        .collect();
    networks.sort_by(|a, b| a[0].cmp(&b[0]));
    let mut updates: Vec<[String; 6]> = d
        .updates
        .iter()
        .map(|u| {
            [
                canon(&u.repository),
                canon(&u.current_tag),
                canon(&u.available_tag),
                canon(&u.current_digest),
                canon(&u.available_digest),
                canon(&u.image_id),
            ]
        })
        .collect();
    updates.sort_by(|a, b| (&a[0], &a[1], &a[5]).cmp(&(&b[0], &b[1], &b[5])));

    fn rows<const N: usize>(g: &mut GoJson, key: &str, names: [&str; N], rows: &[[String; N]]) {
        g.key(key).begin_array();
        for r in rows {
            g.begin_object();
            for (k, v) in names.iter().zip(r.iter()) {
                g.field_str(k, v);
            }
            g.end_object();
        }
        g.end_array();
    }

    let mut g = GoJson::new();
    g.begin_object();
    rows(
        &mut g,
        "containers",
        [
            "containerId",
            "name",
            "imageRepository",
            "imageTag",
            "imageId",
            "status",
            "state",
        ],
        &containers,
    );
    g.key("images").begin_array();
    for (s, size) in &images {
        g.begin_object()
            .field_str("repository", &s[0])
            .field_str("tag", &s[1])
            .field_str("imageId", &s[2])
            .field_str("digest", &s[3])
            .field_int("sizeBytes", *size)
            .end_object();
    }
    g.end_array();
    rows(
        &mut g,
        "volumes",
        ["volumeId", "name", "driver", "scope"],
        &volumes,
    );
    rows(
        &mut g,
        "networks",
        ["networkId", "name", "driver", "scope"],
        &networks,
    );
    rows(
        &mut g,
        "updates",
        [
            "repository",
            "currentTag",
            "availableTag",
            "currentDigest",
            "availableDigest",
            "imageId",
        ],
        &updates,
    );
    g.end_object();
    sha256_hex(g.finish().as_bytes())
}

/// Hash of compliance results (timestamps excluded, score rounded to 4 places).
pub fn compliance_hash(c: &CompliancePayload) -> String {
    let mut scans: Vec<_> = c
        .scans
        .iter()
        .map(|s| {
            let mut results: Vec<[String; 10]> = s
                .results
                .iter()
                .map(|r| {
                    [
                        canon(&r.rule_ref),
                        canon(&r.status),
                        canon(&r.severity),
                        canon(&r.section),
                        canon(&r.title),
                        canon(&r.description),
                        canon(&r.finding),
                        canon(&r.actual),
                        canon(&r.expected),
                        canon(&r.remediation),
                    ]
                })
                .collect();
            results.sort_by(|a, b| (&a[0], &a[1]).cmp(&(&b[0], &b[1])));
            (
                canon(&s.profile_name),
                canon(&s.profile_type),
                canon(&s.status),
                s,
                results,
            )
        })
        .collect();
    scans.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));

    let mut g = GoJson::new();
    g.begin_object().key("scans").begin_array();
    for (name, ptype, status, s, results) in &scans {
        g.begin_object()
            .field_str("profileName", name)
            .field_str("profileType", ptype)
            .field_str("status", status)
            .key("score")
            .float((s.score * 10_000.0).round() / 10_000.0)
            .field_int("totalRules", s.total_rules)
            .field_int("passed", s.passed)
            .field_int("failed", s.failed)
            .field_int("warnings", s.warnings)
            .field_int("skipped", s.skipped)
            .field_int("notApplicable", s.not_applicable)
            .field_bool("remediationApplied", s.remediation_applied)
            .field_int("remediationCount", s.remediation_count)
            .key("results")
            .begin_array();
        for r in results {
            g.begin_object();
            for (k, v) in [
                "ruleRef",
                "status",
                "severity",
                "section",
                "title",
                "description",
                "finding",
                "actual",
                "expected",
                "remediation",
            ]
            .iter()
            .zip(r.iter())
            {
                g.field_str(k, v);
            }
            g.end_object();
        }
        g.end_array().end_object();
    }
    g.end_array().end_object();
    sha256_hex(g.finish().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const FIXTURES: &str = include_str!("../tests/canonical_fixtures.json");

    fn fixture(name: &str) -> Value {
        let all: Value = serde_json::from_str(FIXTURES).unwrap();
        all[name].clone()
    }

    fn expected(v: &Value) -> &str {
        v["expected_hash"].as_str().unwrap()
    }

    #[test]
    fn packages_fixture() {
        let f = fixture("packages");
        let pkgs: Vec<Package> = serde_json::from_value(f["input"].clone()).unwrap();
        assert_eq!(packages_hash(&pkgs), expected(&f));
        // Order of input does not matter.
        let mut rev = pkgs.clone();
        rev.swap(0, 1);
        assert_eq!(packages_hash(&rev), expected(&f));
    }

    #[test]
    fn repos_fixture() {
        let f = fixture("repos");
        let repos: Vec<Repository> = serde_json::from_value(f["input"].clone()).unwrap();
        assert_eq!(repos_hash(&repos), expected(&f));
        let rev: Vec<Repository> = repos.iter().rev().cloned().collect();
        assert_eq!(repos_hash(&rev), expected(&f));
    }

    #[test]
    fn interfaces_fixture() {
        let f = fixture("interfaces");
        let ifs: Vec<NetworkInterface> = serde_json::from_value(f["input"].clone()).unwrap();
        assert_eq!(interfaces_hash(&ifs), expected(&f));
        // MAC case, address order and interface order are canonicalised away.
        let mut shuffled = ifs.clone();
        shuffled.reverse();
        shuffled[1].mac_address = shuffled[1].mac_address.to_lowercase();
        if let Some(a) = shuffled[1].addresses.as_mut() {
            a.reverse();
        }
        assert_eq!(interfaces_hash(&shuffled), expected(&f));
    }

    #[test]
    fn hostname_fixtures() {
        let f = fixture("hostname");
        assert_eq!(hostname_hash(f["input"].as_str().unwrap()), expected(&f));
        assert_eq!(
            hostname_hash(&format!("  {}\n", f["input"].as_str().unwrap())),
            expected(&f)
        );
        let nfd = fixture("hostname_nfd");
        let a = nfd["input_nfc"].as_str().unwrap();
        let b = nfd["input_nfd"].as_str().unwrap();
        assert_eq!(hostname_hash(a), expected(&nfd));
        assert_eq!(hostname_hash(b), expected(&nfd));
        // Make sure the test really exercises a decomposed form.
        let decomposed: String = "café.host".nfd().collect();
        assert_eq!(hostname_hash(&decomposed), expected(&nfd));
    }

    #[test]
    fn docker_fixture() {
        let f = fixture("docker");
        let d: DockerPayload = serde_json::from_value(f["input"].clone()).unwrap();
        assert_eq!(docker_hash(&d), expected(&f));
    }

    #[test]
    fn compliance_fixture() {
        let f = fixture("compliance");
        let c: CompliancePayload = serde_json::from_value(f["input"].clone()).unwrap();
        assert_eq!(compliance_hash(&c), expected(&f));
    }

    #[test]
    fn padding_and_decomposed_text_do_not_change_the_hash() {
        let f = fixture("packages");
        let pkgs: Vec<Package> = serde_json::from_value(f["input"].clone()).unwrap();
        let mut messy = pkgs.clone();
        messy[0].name = format!("  {}\t", messy[0].name);
        messy[1].description = "HTTP client\u{00a0}".into();
        assert_eq!(packages_hash(&messy), expected(&f));
        let mut decomposed = pkgs.clone();
        decomposed[1].description = "caf\u{0065}\u{0301}".into();
        let mut composed = pkgs;
        composed[1].description = "caf\u{00e9}".into();
        assert_eq!(packages_hash(&decomposed), packages_hash(&composed));
    }

    #[test]
    fn any_change_changes_the_hash() {
        let f = fixture("packages");
        let mut pkgs: Vec<Package> = serde_json::from_value(f["input"].clone()).unwrap();
        pkgs[1].current_version = "7.81.1".into();
        assert_ne!(packages_hash(&pkgs), expected(&f));
    }
}
