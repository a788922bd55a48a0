//! Load generator for report ingest (DESIGN §6 budgets).
//!
//! Enrolls hosts directly in the server's database, then posts realistic
//! 1,500-package reports over HTTP and prints throughput, latency percentiles
//! and (with --server-pid) the server's RSS. Figures go in closing notes and
//! docs, never in test assertions.
//!
//! Modes:
//! - `unchanged`: every measured report equals the host's previous one.
//! - `changed`:   every package's version differs from the previous report
//!   (all rows of the host rewritten).
//! - `new`:       every measured report is a fresh host's first report.
//! - `auth`:      in-process timing of agent authentication (lookup + SHA-256 check).
//! - `sockets`:   `--hosts` idle agent WebSockets held open at once (server RSS).
//! - `command`:   command delivery latency to a connected agent (in-process server).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use patchmon_server::config::DatabaseUrl;
use patchmon_server::db::Db;
use patchmon_server::hosts::{self, NewHostCredentials, credentials};
use serde_json::{Value, json};

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum, Debug)]
enum Mode {
    Unchanged,
    Changed,
    New,
    Auth,
    /// Hold `--hosts` idle agent WebSockets open and report the server's RSS.
    Sockets,
    /// Latency of a server command reaching a connected agent (in-process
    /// server from the testkit, `--reports` commands one after another).
    Command,
}

#[derive(Parser)]
#[command(about = "Report-ingest load generator for patchmon-server")]
struct Args {
    /// Base URL of a running server.
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    url: String,
    /// The server's database (hosts are created there directly).
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://./data/patchmon.db"
    )]
    database_url: String,
    #[arg(long, value_enum, default_value = "unchanged")]
    mode: Mode,
    /// Hosts to enroll (unchanged/changed modes).
    #[arg(long, default_value_t = 64)]
    hosts: usize,
    /// Packages per report.
    #[arg(long, default_value_t = 1500)]
    packages: usize,
    /// Measured reports.
    #[arg(long, default_value_t = 2000)]
    reports: usize,
    /// Requests in flight.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// PID of the server, to read its RSS from /proc.
    #[arg(long)]
    server_pid: Option<u32>,
}

fn rss(pid: Option<u32>) -> Option<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", pid?)).ok()?;
    let kb = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
    };
    Some((kb("VmRSS:")? / 1024.0, kb("VmHWM:")? / 1024.0))
}

/// A Debian-like package list; `round` changes every version.
fn report(packages: usize, round: usize) -> Vec<u8> {
    let words = [
        "lib", "python3-", "perl-", "node-", "golang-", "fonts-", "x11-", "gir1.2-",
    ];
    let pkgs: Vec<Value> = (0..packages)
        .map(|i| {
            let upgradable = i % 10 == 0;
            let security = i % 33 == 0;
            let mut p = json!({
                "name": format!("{}{}-{i}", words[i % words.len()], ["core", "utils", "common", "data"][i % 4]),
                "description": format!("Realistic description text for package number {i}"),
                "currentVersion": format!("{}.{}.{}-{}+deb12u{}", i % 7, i % 13, i % 29, 1 + i % 3, round),
                "needsUpdate": upgradable,
                "isSecurityUpdate": upgradable && security,
                "sourceRepository": "http://deb.debian.org/debian bookworm/main",
            });
            if upgradable {
                p["availableVersion"] = json!(format!("{}.{}.{}-{}+deb12u{}", i % 7, i % 13, i % 29, 2 + i % 3, round));
            }
            p
        })
        .collect();
    serde_json::to_vec(&json!({
        "packages": pkgs,
        "repositories": [
            {"name": "debian-bookworm", "url": "http://deb.debian.org/debian", "distribution": "bookworm",
             "components": "main", "repoType": "deb", "isEnabled": true, "isSecure": false},
            {"name": "debian-bookworm-security", "url": "http://security.debian.org/debian-security",
             "distribution": "bookworm-security", "components": "main", "repoType": "deb", "isEnabled": true, "isSecure": false}
        ],
        "osType": "Debian GNU/Linux", "osVersion": "12 (bookworm)", "hostname": "bench-host",
        "ip": "10.0.0.5", "architecture": "x86_64", "agentVersion": "2.1.3", "kernelVersion": "6.1.0-18-amd64",
        "cpuModel": "Xeon", "cpuCores": 4, "ramInstalled": 7.66, "swapSize": 2.0, "needsReboot": false,
        "diskDetails": [{"name": "/dev/sda1", "size": "40.00GB", "mountpoint": "/"}],
        "networkInterfaces": [{"name": "eth0", "type": "ethernet", "macAddress": "aa:bb:cc:dd:ee:ff",
            "addresses": [{"address": "10.0.0.5", "family": "inet", "netmask": "/24"}]}],
        "packageManager": "apt", "executionTime": 1.0
    }))
    .unwrap_or_default()
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    h: &NewHostCredentials,
    body: Vec<u8>,
) -> Result<Duration, String> {
    let t = Instant::now();
    let r = client
        .post(url)
        .header("X-API-ID", &h.api_id)
        .header("X-API-KEY", &h.api_key)
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = r.status();
    let text = r.text().await.map_err(|e| e.to_string())?;
    if status != 200 {
        return Err(format!("{status}: {text}"));
    }
    Ok(t.elapsed())
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// Opens one agent WebSocket with a plain HTTP/1.1 upgrade and keeps the
/// stream (no client library needed; idle sockets only see pings every 30 s).
async fn open_socket(addr: &str, h: &NewHostCredentials) -> Result<tokio::net::TcpStream, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let req = format!(
        "GET /api/v1/agents/ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         X-API-ID: {}\r\nX-API-KEY: {}\r\n\r\n",
        h.api_id, h.api_key
    );
    s.write_all(req.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut buf = [0u8; 512];
    let n = s.read(&mut buf).await.map_err(|e| e.to_string())?;
    let head = String::from_utf8_lossy(&buf[..n]);
    if !head.starts_with("HTTP/1.1 101") {
        return Err(head.lines().next().unwrap_or("no answer").to_owned());
    }
    Ok(s)
}

async fn sockets(args: &Args, db: &Db) -> Result<(), Box<dyn std::error::Error>> {
    let now = chrono::Utc::now();
    eprintln!("enrolling {} hosts…", args.hosts);
    let mut creds = Vec::with_capacity(args.hosts);
    for i in 0..args.hosts {
        creds.push(
            hosts::create_host(
                db,
                now,
                &format!("ws-{}-{i}", uuid::Uuid::new_v4().simple()),
                None,
            )
            .await?,
        );
    }
    let addr = args
        .url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let before = rss(args.server_pid);
    let started = Instant::now();
    let mut open = Vec::with_capacity(creds.len());
    let mut errors = 0usize;
    for chunk in creds.chunks(args.concurrency.max(1) * 16) {
        let results =
            futures_util::future::join_all(chunk.iter().map(|h| open_socket(&addr, h))).await;
        for r in results {
            match r {
                Ok(s) => open.push(s),
                Err(e) => {
                    if errors == 0 {
                        eprintln!("first error: {e}");
                    }
                    errors += 1;
                }
            }
        }
    }
    let took = started.elapsed();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let held = rss(args.server_pid);
    println!(
        "mode=Sockets db={} sockets={} errors={errors} connect_all={:.2}s",
        db.dialect(),
        open.len(),
        took.as_secs_f64()
    );
    if let (Some(b), Some(h)) = (before, held) {
        println!(
            "server RSS before={:.1}MB with_sockets={:.1}MB per_socket={:.1}KB",
            b.0,
            h.0,
            (h.0 - b.0) * 1024.0 / open.len().max(1) as f64
        );
    }
    drop(open);
    Ok(())
}

async fn command_latency(n: usize) -> Result<(), Box<dyn std::error::Error>> {
    use patchmon_protocol::ServerMessage;
    use tokio::io::AsyncReadExt;
    let server = patchmon_server::testkit::TestServer::start().await;
    let h = server.create_host("latency").await;
    let mut s = open_socket(&server.addr().to_string(), &h).await?;
    while !server.is_connected(&h.api_id).await {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let expected = ServerMessage::ReportNow.to_json();
    // An unmasked text frame from the server: 0x81, length, payload.
    let mut frame = vec![0u8; 2 + expected.len()];
    let mut lat = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        server
            .state
            .hub()
            .send(&h.api_id, &ServerMessage::ReportNow)?;
        s.read_exact(&mut frame).await?;
        lat.push(t.elapsed());
        if frame[0] != 0x81 || &frame[2..] != expected.as_bytes() {
            return Err(format!("unexpected frame {frame:?}").into());
        }
    }
    lat.sort();
    println!(
        "mode=Command commands={n} p50={:.3}ms p99={:.3}ms max={:.3}ms",
        pct(&lat, 0.5),
        pct(&lat, 0.99),
        pct(&lat, 1.0)
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    patchmon_server::install_crypto_provider();
    let args = Args::parse();
    let db_url = DatabaseUrl::parse(&args.database_url)?;
    let db = Db::connect(&db_url, 4).await?;
    db.migrate().await?;
    let now = chrono::Utc::now();

    if args.mode == Mode::Auth {
        let h = hosts::create_host(&db, now, "auth-bench", None).await?;
        let n = 20_000;
        let t = Instant::now();
        for _ in 0..n {
            let host = hosts::find_by_api_id(&db, &h.api_id)
                .await?
                .ok_or("host vanished")?;
            if !credentials::verify_secret(&h.api_key, &host.api_key_hash) {
                return Err("verification failed".into());
            }
        }
        let per = t.elapsed().as_secs_f64() / n as f64 * 1e6;
        let t = Instant::now();
        for _ in 0..n {
            std::hint::black_box(credentials::verify_secret(&h.api_key, &h.api_key));
        }
        let hash_only = t.elapsed().as_secs_f64() / n as f64 * 1e6;
        // The server's request path: credential cache hit, then hash and compare.
        let cache = hosts::auth_cache::AuthCache::default();
        let key_hash = credentials::hash_secret(&h.api_key);
        cache.put(&h.api_id, h.id, &key_hash);
        let t = Instant::now();
        for _ in 0..n {
            let (_, stored) = cache.get(&h.api_id).ok_or("cache miss")?;
            if !credentials::verify_secret(&h.api_key, &stored) {
                return Err("verification failed".into());
            }
        }
        let cached = t.elapsed().as_secs_f64() / n as f64 * 1e6;
        println!(
            "auth db={} requests={n} cached={cached:.2}us uncached(lookup+verify)={per:.1}us hash+compare={hash_only:.2}us",
            db.dialect()
        );
        return Ok(());
    }

    if args.mode == Mode::Sockets {
        return sockets(&args, &db).await;
    }
    if args.mode == Mode::Command {
        db.close().await;
        return command_latency(args.reports).await;
    }

    let host_count = if args.mode == Mode::New {
        args.reports
    } else {
        args.hosts.max(args.concurrency)
    };
    eprintln!("enrolling {host_count} hosts…");
    let mut creds = Vec::with_capacity(host_count);
    for i in 0..host_count {
        creds.push(
            hosts::create_host(
                &db,
                now,
                &format!("bench-{}-{i}", uuid::Uuid::new_v4().simple()),
                None,
            )
            .await?,
        );
    }
    db.close().await;

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()?;
    let url = format!("{}/api/v1/hosts/update", args.url.trim_end_matches('/'));
    let bodies = Arc::new([report(args.packages, 1), report(args.packages, 2)]);
    eprintln!(
        "payload {} KB, {} packages",
        bodies[0].len() / 1024,
        args.packages
    );

    if args.mode != Mode::New {
        eprintln!("priming {host_count} hosts with a first report…");
        for h in &creds {
            post(&client, &url, h, bodies[0].clone()).await?;
        }
    }
    let idle = rss(args.server_pid);

    let creds = Arc::new(creds);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..args.concurrency {
        let (client, url, creds, bodies, next) = (
            client.clone(),
            url.clone(),
            creds.clone(),
            bodies.clone(),
            next.clone(),
        );
        let (mode, total, conc) = (args.mode, args.reports, args.concurrency);
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = Vec::new();
            // Each worker owns hosts w, w+conc, … so one host never has two reports in flight.
            let mine: Vec<usize> = (w..creds.len()).step_by(conc).collect();
            let mut round = 0usize;
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    break;
                }
                let (host, body) = match mode {
                    Mode::New => (n, bodies[0].clone()),
                    Mode::Unchanged => (mine[round % mine.len()], bodies[0].clone()),
                    _ => {
                        // Alternate A/B per host: every report rewrites every row.
                        let body = bodies[(1 + round / mine.len()) % 2].clone();
                        (mine[round % mine.len()], body)
                    }
                };
                round += 1;
                match post(&client, &url, &creds[host], body).await {
                    Ok(d) => lat.push(d),
                    Err(e) => errors.push(e),
                }
            }
            (lat, errors)
        }));
    }
    let mut lat = Vec::new();
    let mut errors = Vec::new();
    for t in tasks {
        let (l, e) = t.await?;
        lat.extend(l);
        errors.extend(e);
    }
    let wall = started.elapsed();
    lat.sort();
    let loaded = rss(args.server_pid);
    println!(
        "mode={:?} db={} packages={} reports={} concurrency={} wall={:.2}s rate={:.1}/s p50={:.1}ms p99={:.1}ms errors={}",
        args.mode,
        db_url.dialect(),
        args.packages,
        lat.len(),
        args.concurrency,
        wall.as_secs_f64(),
        lat.len() as f64 / wall.as_secs_f64(),
        pct(&lat, 0.5),
        pct(&lat, 0.99),
        errors.len()
    );
    if let Some(e) = errors.first() {
        println!("first error: {e}");
    }
    if let (Some(i), Some(l)) = (idle, loaded) {
        println!(
            "server RSS before={:.1}MB after={:.1}MB peak={:.1}MB",
            i.0, l.0, l.1
        );
    }
    Ok(())
}
