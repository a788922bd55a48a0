#![allow(clippy::unwrap_used, clippy::expect_used)]

//! Integration tests: the real server on an ephemeral port, over real HTTP and
//! WebSockets, against SQLite (default) or PostgreSQL (`TEST_DATABASE_URL`).

mod alerts;
mod auth;
mod bad_input;
mod cli;
mod enroll;
mod fleet;
mod install;
mod integration_api;
mod notify;
mod oidc;
mod openapi;
mod queue;
mod rbac;
mod reports;
mod tfa;
mod ws;

use patchmon_server::testkit::{HostCredentials, TestServer};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

pub fn client() -> reqwest::Client {
    patchmon_server::install_crypto_provider();
    reqwest::Client::builder().build().expect("client")
}

/// Posts raw bytes with agent headers; returns status, raw body text and JSON.
pub async fn post_raw(
    server: &TestServer,
    creds: &HostCredentials,
    path: &str,
    body: impl Into<reqwest::Body>,
) -> (StatusCode, String, Value) {
    let r = client()
        .post(format!("{}/api/v1{path}", server.url()))
        .header("X-API-ID", &creds.api_id)
        .header("X-API-KEY", &creds.api_key)
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .expect("request");
    let status = r.status();
    let text = r.text().await.expect("body");
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    (status, text, json)
}

pub async fn post_json(
    server: &TestServer,
    creds: &HostCredentials,
    path: &str,
    body: &Value,
) -> (StatusCode, Value) {
    let (s, _, j) = post_raw(server, creds, path, serde_json::to_vec(body).expect("json")).await;
    (s, j)
}

/// Creates a host and stores the standard full report for it.
pub async fn host_with_report(server: &TestServer, name: &str) -> HostCredentials {
    let h = server.create_host(name).await;
    let report = full_report(standard_packages(), standard_repos());
    let (status, body) = post_json(server, &h, "/hosts/update", &report).await;
    assert_eq!(status, 200, "{body}");
    h
}

pub fn package(name: &str, version: &str, available: Option<&str>, security: bool) -> Value {
    let mut p = json!({
        "name": name, "description": format!("{name} package"), "currentVersion": version,
        "needsUpdate": available.is_some(), "isSecurityUpdate": security,
        "sourceRepository": "http://deb.debian.org/debian bookworm/main",
    });
    if let Some(a) = available {
        p["availableVersion"] = json!(a);
    }
    p
}

pub fn repo(url: &str, dist: &str, enabled: bool) -> Value {
    json!({"name": format!("{dist}-repo"), "url": url, "distribution": dist, "components": "main",
           "repoType": "deb", "isEnabled": enabled, "isSecure": url.starts_with("https://")})
}

/// A realistic full report as PatchMon's Go agent sends it.
pub fn full_report(packages: Vec<Value>, repos: Vec<Value>) -> Value {
    json!({
        "packages": packages,
        "repositories": repos,
        "osType": "Debian GNU/Linux", "osVersion": "12 (bookworm)", "hostname": "web-01.example.com",
        "ip": "10.0.0.5", "architecture": "x86_64", "agentVersion": "2.1.3",
        "machineId": "6f1c2d3e-4b5a-6978-8a9b-0c1d2e3f4a5b", "kernelVersion": "6.1.0-18-amd64",
        "selinuxStatus": "disabled", "systemUptime": "3 days, 4 hours, 5 minutes",
        "bootTime": "2026-11-22T10:00:00Z", "loadAverage": [0.1, 0.2, 0.3],
        "cpuModel": "Intel(R) Xeon(R)", "cpuCores": 4, "ramInstalled": 7.66, "swapSize": 2.0,
        "diskDetails": [{"name": "/dev/sda1", "size": "40.00GB (10.00GB used, 30.00GB free, 25.0% used)", "mountpoint": "/"}],
        "gatewayIp": "10.0.0.1", "dnsServers": ["10.0.0.1"],
        "networkInterfaces": [{"name": "eth0", "type": "ethernet", "macAddress": "AA:BB:CC:DD:EE:FF", "mtu": 1500,
            "status": "up", "addresses": [{"address": "10.0.0.5", "family": "inet", "netmask": "/24", "gateway": "10.0.0.1"}]}],
        "executionTime": 1.2, "needsReboot": false, "packageManager": "apt", "agentExecutionMs": 1200
    })
}

pub fn standard_packages() -> Vec<Value> {
    vec![
        package("bash", "5.2.15-2+b2", None, false),
        package("curl", "7.88.1-10+deb12u4", Some("7.88.1-10+deb12u5"), true),
        package(
            "openssl",
            "3.0.11-1~deb12u1",
            Some("3.0.11-1~deb12u2"),
            true,
        ),
        package("vim", "2:9.0.1378-2", Some("2:9.0.1378-3"), false),
        package("zlib1g", "1:1.2.13.dfsg-1", None, false),
    ]
}

pub fn standard_repos() -> Vec<Value> {
    vec![
        repo("http://deb.debian.org/debian", "bookworm", true),
        repo(
            "http://security.debian.org/debian-security",
            "bookworm-security",
            true,
        ),
    ]
}
