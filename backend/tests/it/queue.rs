//! The job queue: agent commands on database storage and on Redis, offline
//! agents, expiry, retry, the queue monitor, scheduled tasks on a manual
//! clock, host status transitions, cross-replica delivery, crash recovery.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use futures_util::StreamExt;
use patchmon_server::clock::{Clock, ManualClock, SystemClock};
use patchmon_server::config::Config;
use patchmon_server::queue::config::RedisUrl;
use patchmon_server::with_db;
use reqwest::Method;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::auth::{call, setup_admin};
use super::*;

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Storage {
    Db,
    Redis,
}

pub const STORAGES: [Storage; 2] = [Storage::Db, Storage::Redis];

pub fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "redis://127.0.0.1:6379".into())
}

/// Fast polling, no scheduler, no jitter; Redis with a per-test key prefix.
pub fn queue_config(c: &mut Config, st: Storage, prefix: &str) {
    c.queue.poll_interval = Duration::from_millis(50);
    c.queue.scheduler_enabled = false;
    c.queue.reconnect_jitter_secs = 0;
    c.queue.retry_base = Duration::from_millis(50);
    c.queue.notify_retry_base = Duration::from_millis(10);
    if st == Storage::Redis {
        c.queue.redis_url = Some(RedisUrl(redis_url()));
        c.queue.redis_prefix = prefix.to_owned();
    }
}

pub fn prefix() -> String {
    format!("pmtest:{}", Uuid::new_v4().simple())
}

pub async fn start(
    st: Storage,
    clock: Arc<dyn Clock>,
    adjust: impl FnOnce(&mut Config),
) -> TestServer {
    let p = prefix();
    TestServer::start_with_clock(
        move |c| {
            queue_config(c, st, &p);
            adjust(c);
        },
        clock,
    )
    .await
}

pub async fn agent_ws(addr: std::net::SocketAddr, h: &HostCredentials) -> Ws {
    let url = format!("ws://{addr}/api/v1/agents/ws");
    let mut req = url.into_client_request().unwrap();
    req.headers_mut()
        .insert("X-API-ID", h.api_id.parse().unwrap());
    req.headers_mut()
        .insert("X-API-KEY", h.api_key.parse().unwrap());
    tokio_tungstenite::connect_async(req).await.unwrap().0
}

/// The next text frame's `type`, or None within `within`.
pub async fn next_command(ws: &mut Ws, within: Duration) -> Option<String> {
    let end = tokio::time::Instant::now() + within;
    loop {
        let left = end.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => {
                let v: Value = serde_json::from_str(t.as_str()).unwrap();
                return v["type"].as_str().map(str::to_owned);
            }
            Ok(Some(Ok(_))) => continue,
            _ => return None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct JobState {
    pub status: String,
    pub attempts: i64,
    pub error: Option<String>,
    pub output: Option<Value>,
}

pub async fn job(server: &TestServer, id: &str) -> JobState {
    const SQL: &str =
        "SELECT status, attempt_number, error_message, output FROM job_history WHERE job_id = $1";
    type Row = (
        String,
        i64,
        Option<String>,
        Option<sqlx::types::Json<Value>>,
    );
    let r: Row =
        with_db!(server.db(), p => sqlx::query_as(SQL).bind(id).fetch_one(p).await).unwrap();
    JobState {
        status: r.0,
        attempts: r.1,
        error: r.2,
        output: r.3.map(|j| j.0),
    }
}

pub async fn wait_job(server: &TestServer, id: &str, status: &str) -> JobState {
    let ok = TestServer::wait_for(Duration::from_secs(30), || async {
        job(server, id).await.status == status
    })
    .await;
    let j = job(server, id).await;
    assert!(ok, "job {id} never became {status}: {j:?}");
    j
}

async fn host_id(server: &TestServer, api_id: &str) -> Uuid {
    server.host(api_id).await.unwrap()["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

async fn post_cmd(server: &TestServer, token: &str, host: Uuid, what: &str) -> Value {
    let (s, _, b) = call(
        server,
        Method::POST,
        &format!("/api/v1/hosts/{host}/{what}"),
        Some(token),
        None,
    )
    .await;
    assert_eq!(s, 202, "{b}");
    b
}

#[tokio::test]
async fn commands_are_delivered_over_the_socket_and_recorded() {
    for st in STORAGES {
        let server = start(st, Arc::new(SystemClock), |_| {}).await;
        let token = setup_admin(&server).await;
        let h = host_with_report(&server, "web-01").await;
        let hid = host_id(&server, &h.api_id).await;
        let mut ws = agent_ws(server.addr(), &h).await;
        assert!(
            TestServer::wait_for(Duration::from_secs(5), || async {
                server.is_connected(&h.api_id).await
            })
            .await
        );
        for (path, want) in [
            ("report-now", "report_now"),
            ("update-agent", "update_agent"),
            ("refresh-integrations", "refresh_integration_status"),
            ("docker-refresh", "docker_inventory_refresh"),
        ] {
            let b = post_cmd(&server, &token, hid, path).await;
            assert_eq!(b["agent_connected"], true, "{st:?} {b}");
            let id = b["job_id"].as_str().unwrap().to_owned();
            assert_eq!(
                next_command(&mut ws, Duration::from_secs(5))
                    .await
                    .as_deref(),
                Some(want),
                "{st:?}"
            );
            let j = wait_job(&server, &id, "completed").await;
            assert_eq!(j.attempts, 1);
            assert_eq!(j.output.unwrap()["delivered_via"], "websocket");
        }
        // The per-host view and the queue monitor agree.
        let (s, _, b) = call(
            &server,
            Method::GET,
            &format!("/api/v1/hosts/{hid}/jobs?limit=2"),
            Some(&token),
            None,
        )
        .await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["total_jobs"], 4);
        assert_eq!(b["job_history"].as_array().unwrap().len(), 2);
        let (s, _, b) = call(&server, Method::GET, "/api/v1/queues", Some(&token), None).await;
        assert_eq!(s, 200, "{b}");
        let storage = if st == Storage::Redis {
            "redis"
        } else {
            "database"
        };
        assert_eq!(b["storage"], storage);
        let ac = &b["queues"][0];
        assert_eq!(ac["name"], "agent-commands");
        assert_eq!(ac["completed"], 4, "{b}");
        // Unknown hosts are 404.
        let (s, _, _) = call(
            &server,
            Method::POST,
            &format!("/api/v1/hosts/{}/report-now", Uuid::new_v4()),
            Some(&token),
            None,
        )
        .await;
        assert_eq!(s, 404);
    }
}

#[tokio::test]
async fn a_command_for_an_offline_agent_waits_and_is_delivered_on_reconnect() {
    for st in STORAGES {
        let server = start(st, Arc::new(SystemClock), |_| {}).await;
        let token = setup_admin(&server).await;
        let h = host_with_report(&server, "db-01").await;
        let hid = host_id(&server, &h.api_id).await;
        let b = post_cmd(&server, &token, hid, "report-now").await;
        assert_eq!(b["agent_connected"], false);
        assert!(b["message"].as_str().unwrap().contains("reconnects"), "{b}");
        let id = b["job_id"].as_str().unwrap().to_owned();
        let j = wait_job(&server, &id, "waiting").await;
        assert!(j.error.unwrap().contains("waiting for it to reconnect"));
        assert_eq!(j.attempts, 0, "waiting does not use up attempts");
        let (_, _, b) = call(
            &server,
            Method::GET,
            &format!("/api/v1/hosts/{hid}/jobs"),
            Some(&token),
            None,
        )
        .await;
        assert_eq!(b["queue_status"]["waiting"], 1, "{b}");

        let mut ws = agent_ws(server.addr(), &h).await;
        assert_eq!(
            next_command(&mut ws, Duration::from_secs(5))
                .await
                .as_deref(),
            Some("report_now"),
            "{st:?}"
        );
        let j = wait_job(&server, &id, "completed").await;
        assert_eq!(j.attempts, 1);
        // Exactly once: nothing else arrives.
        assert_eq!(
            next_command(&mut ws, Duration::from_millis(300)).await,
            None
        );
    }
}

#[tokio::test]
async fn a_waiting_command_expires_and_a_failed_one_can_be_retried() {
    for st in STORAGES {
        let t0 = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
        let clock = Arc::new(ManualClock::new(t0));
        let server = start(st, clock.clone(), |c| {
            c.queue.command_ttl = Duration::from_secs(60);
        })
        .await;
        let token = setup_admin(&server).await;
        let h = host_with_report(&server, "edge-01").await;
        let hid = host_id(&server, &h.api_id).await;
        let b = post_cmd(&server, &token, hid, "update-agent").await;
        let id = b["job_id"].as_str().unwrap().to_owned();
        wait_job(&server, &id, "waiting").await;
        clock.advance(chrono::Duration::seconds(61));
        let j = wait_job(&server, &id, "failed").await;
        assert!(j.error.unwrap().starts_with("Expired"), "{st:?}");

        // Monitor: list failed, detail, retry, delivered after reconnect.
        let (s, _, b) = call(
            &server,
            Method::GET,
            "/api/v1/queues/jobs?queue=agent-commands&status=failed",
            Some(&token),
            None,
        )
        .await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["total"], 1);
        let row_id = b["jobs"][0]["id"].as_str().unwrap().to_owned();
        let (s, _, b) = call(
            &server,
            Method::GET,
            &format!("/api/v1/queues/jobs/{row_id}"),
            Some(&token),
            None,
        )
        .await;
        assert_eq!(s, 200);
        assert_eq!(b["job"]["job_name"], "update_agent");
        assert_eq!(b["job"]["payload"]["command"], "update_agent", "{b}");
        let (s, _, b) = call(
            &server,
            Method::POST,
            &format!("/api/v1/queues/jobs/{row_id}/retry"),
            Some(&token),
            None,
        )
        .await;
        assert_eq!(s, 200, "{b}");
        let (s, _, _) = call(
            &server,
            Method::POST,
            &format!("/api/v1/queues/jobs/{row_id}/retry"),
            Some(&token),
            None,
        )
        .await;
        assert_eq!(s, 409, "only failed jobs can be retried");
        let mut ws = agent_ws(server.addr(), &h).await;
        assert_eq!(
            next_command(&mut ws, Duration::from_secs(5))
                .await
                .as_deref(),
            Some("update_agent")
        );
        wait_job(&server, &id, "completed").await;
        // Remove.
        let (s, _, _) = call(
            &server,
            Method::DELETE,
            &format!("/api/v1/queues/jobs/{row_id}"),
            Some(&token),
            None,
        )
        .await;
        assert_eq!(s, 200);
        let (s, _, _) = call(
            &server,
            Method::GET,
            &format!("/api/v1/queues/jobs/{row_id}"),
            Some(&token),
            None,
        )
        .await;
        assert_eq!(s, 404);
    }
}

#[tokio::test]
async fn an_overdue_agent_gets_a_catch_up_report_on_reconnect() {
    let t0 = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
    let clock = Arc::new(ManualClock::new(t0));
    let server = start(Storage::Db, clock.clone(), |_| {}).await;
    let h = host_with_report(&server, "late-01").await;
    // Reported at t0; the interval is 60 min, so at t0+61 min it is overdue.
    clock.advance(chrono::Duration::minutes(61));
    let mut ws = agent_ws(server.addr(), &h).await;
    assert_eq!(
        next_command(&mut ws, Duration::from_secs(5))
            .await
            .as_deref(),
        Some("report_now")
    );
    // A host that is not overdue gets nothing.
    let h2 = host_with_report(&server, "fresh-01").await;
    let mut ws2 = agent_ws(server.addr(), &h2).await;
    assert_eq!(
        next_command(&mut ws2, Duration::from_millis(500)).await,
        None
    );
}

async fn events(server: &TestServer, token: &str, hid: Uuid) -> Vec<String> {
    let (s, _, b) = call(
        server,
        Method::GET,
        &format!("/api/v1/hosts/{hid}/timeline"),
        Some(token),
        None,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let mut v: Vec<String> = b["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].as_str().unwrap().to_owned())
        .collect();
    v.reverse();
    v
}

async fn run_task(server: &TestServer, token: &str, name: &str) -> Value {
    let (s, _, b) = call(
        server,
        Method::POST,
        &format!("/api/v1/queues/{name}/run"),
        Some(token),
        None,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["job"]["status"], "completed", "{b}");
    b["job"]["output"].clone()
}

#[tokio::test]
async fn host_down_and_recovery_are_reported_once_per_transition() {
    let t0 = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
    let clock = Arc::new(ManualClock::new(t0));
    let server = start(Storage::Db, clock.clone(), |_| {}).await;
    let token = setup_admin(&server).await;
    let h = host_with_report(&server, "app-01").await;
    let hid = host_id(&server, &h.api_id).await;

    let ws = agent_ws(server.addr(), &h).await;
    assert!(
        TestServer::wait_for(Duration::from_secs(5), || async {
            server.is_connected(&h.api_id).await
        })
        .await
    );
    run_task(&server, &token, "host-status-monitor").await;
    assert!(events(&server, &token, hid).await.is_empty());

    drop(ws);
    assert!(
        TestServer::wait_for(Duration::from_secs(5), || async {
            !server.is_connected(&h.api_id).await
        })
        .await
    );
    // Inside the 30 s threshold: still fine.
    clock.advance(chrono::Duration::seconds(20));
    run_task(&server, &token, "host-status-monitor").await;
    assert!(events(&server, &token, hid).await.is_empty());
    clock.advance(chrono::Duration::seconds(15));
    let out = run_task(&server, &token, "host-status-monitor").await;
    assert_eq!(out["transitions"], 1, "{out}");
    run_task(&server, &token, "host-status-monitor").await;
    assert_eq!(events(&server, &token, hid).await, ["host_down"]);
    let (_, _, b) = call(
        &server,
        Method::GET,
        "/api/v1/alerts?type=host_down&status=open",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(b["total"], 1, "{b}");

    // Reconnect: recovered at once, alert resolved, and only once.
    clock.advance(chrono::Duration::seconds(1));
    let _ws = agent_ws(server.addr(), &h).await;
    assert!(
        TestServer::wait_for(Duration::from_secs(5), || async {
            events(&server, &token, hid).await.len() == 2
        })
        .await
    );
    run_task(&server, &token, "host-status-monitor").await;
    assert_eq!(
        events(&server, &token, hid).await,
        ["host_down", "host_recovered"]
    );
    let (_, _, b) = call(
        &server,
        Method::GET,
        "/api/v1/alerts?type=host_down",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(b["alerts"][0]["status"], "resolved", "{b}");

    // A host never seen on a socket: stale after 2 intervals, down after 3.
    let h2 = host_with_report(&server, "quiet-01").await;
    let hid2 = host_id(&server, &h2.api_id).await;
    clock.advance(chrono::Duration::minutes(121));
    let token = super::auth::token_of(&server, "admin", super::auth::ADMIN_PW).await;
    run_task(&server, &token, "host-status-monitor").await;
    assert_eq!(events(&server, &token, hid2).await, ["host_stale"]);
    clock.advance(chrono::Duration::minutes(60));
    let token = super::auth::token_of(&server, "admin", super::auth::ADMIN_PW).await;
    run_task(&server, &token, "host-status-monitor").await;
    run_task(&server, &token, "host-status-monitor").await;
    assert_eq!(
        events(&server, &token, hid2).await,
        ["host_stale", "host_down"]
    );
}

async fn scheduled_runs(server: &TestServer, queue: &str) -> i64 {
    const SQL: &str =
        "SELECT COUNT(*) FROM job_history WHERE queue_name = $1 AND status = 'completed'";
    with_db!(server.db(), p => sqlx::query_scalar(SQL).bind(queue).fetch_one(p).await).unwrap()
}

#[tokio::test]
async fn scheduled_tasks_fire_on_their_schedules() {
    let t0: DateTime<Utc> = Utc.with_ymd_and_hms(2026, 3, 1, 9, 59, 0).unwrap();
    let clock = Arc::new(ManualClock::new(t0));
    let server = start(Storage::Db, clock.clone(), |c| {
        c.queue.scheduler_enabled = true;
        c.queue.scheduler_tick = Duration::from_millis(20);
    })
    .await;
    let _h = host_with_report(&server, "s-01").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(scheduled_runs(&server, "host-status-monitor").await, 0);
    // 10:00: host-status-monitor, session-cleanup and system-statistics are due.
    clock.advance(chrono::Duration::seconds(61));
    for q in [
        "host-status-monitor",
        "session-cleanup",
        "system-statistics",
    ] {
        assert!(
            TestServer::wait_for(Duration::from_secs(5), || async {
                scheduled_runs(&server, q).await == 1
            })
            .await,
            "{q} did not run"
        );
    }
    assert_eq!(scheduled_runs(&server, "orphaned-repo-cleanup").await, 0);
    // 10:05: only the monitor again.
    clock.advance(chrono::Duration::minutes(5));
    assert!(
        TestServer::wait_for(Duration::from_secs(5), || async {
            scheduled_runs(&server, "host-status-monitor").await == 2
        })
        .await
    );
    assert_eq!(scheduled_runs(&server, "session-cleanup").await, 1);
    const STATS: &str = "SELECT total_hosts FROM system_statistics";
    let rows: Vec<i64> =
        with_db!(server.db(), p => sqlx::query_scalar(STATS).fetch_all(p).await).unwrap();
    assert_eq!(rows, [1]);
    // 02:00 next day: the daily cleanups.
    clock.set(Utc.with_ymd_and_hms(2026, 3, 2, 3, 0, 1).unwrap());
    for q in [
        "orphaned-repo-cleanup",
        "orphaned-package-cleanup",
        "alert-cleanup",
    ] {
        assert!(
            TestServer::wait_for(Duration::from_secs(5), || async {
                scheduled_runs(&server, q).await == 1
            })
            .await,
            "{q} did not run"
        );
    }
}

#[tokio::test]
async fn retention_prune_and_orphan_cleanup_delete_old_rows() {
    let t0 = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
    let clock = Arc::new(ManualClock::new(t0));
    let server = start(Storage::Db, clock.clone(), |c| c.queue.retention_days = 10).await;
    let token = setup_admin(&server).await;
    let h = host_with_report(&server, "r-01").await;
    run_task(&server, &token, "system-statistics").await;
    let hid = host_id(&server, &h.api_id).await;
    post_cmd(&server, &token, hid, "report-now").await;
    clock.advance(chrono::Duration::days(11));
    let token = super::auth::token_of(&server, "admin", super::auth::ADMIN_PW).await;
    // Deleting the host orphans its packages and repositories.
    patchmon_server::hosts::delete_host(&server.state, hid)
        .await
        .unwrap();
    let out = run_task(&server, &token, "orphaned-package-cleanup").await;
    assert!(out["packages_deleted"].as_u64().unwrap() > 0, "{out}");
    let out = run_task(&server, &token, "orphaned-repo-cleanup").await;
    assert!(out["repositories_deleted"].as_u64().unwrap() > 0, "{out}");
    let out = run_task(&server, &token, "alert-cleanup").await;
    assert_eq!(out["system_statistics_deleted"], 1, "{out}");
    assert_eq!(out["retention_days"], 10);
}

/// Two replicas share the database and Redis; the agent's socket is on B,
/// B runs no workers, so A must claim the job and route it through Redis.
#[tokio::test]
async fn a_command_reaches_an_agent_connected_to_another_replica() {
    let p = prefix();
    let p2 = p.clone();
    let a = TestServer::start_with(move |c| queue_config(c, Storage::Redis, &p)).await;
    let b = a
        .start_replica(
            move |c| {
                queue_config(c, Storage::Redis, &p2);
                c.queue.workers = 0;
            },
            Arc::new(SystemClock),
        )
        .await;
    let token = setup_admin(&a).await;
    let h = host_with_report(&a, "far-01").await;
    let hid = host_id(&a, &h.api_id).await;
    let mut ws = agent_ws(b.addr(), &h).await;
    assert!(
        TestServer::wait_for(Duration::from_secs(5), || async {
            b.is_connected(&h.api_id).await
        })
        .await
    );
    // Let B publish its ownership.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let body = post_cmd(&a, &token, hid, "report-now").await;
    assert_eq!(body["agent_connected"], true, "{body}");
    let id = body["job_id"].as_str().unwrap().to_owned();
    assert_eq!(
        next_command(&mut ws, Duration::from_secs(5))
            .await
            .as_deref(),
        Some("report_now")
    );
    let j = wait_job(&a, &id, "completed").await;
    let out = j.output.unwrap();
    assert_eq!(out["replica"], b.state.queue().replica_id.as_str(), "{out}");
    assert_eq!(
        out["routed_from"],
        a.state.queue().replica_id.as_str(),
        "{out}"
    );
    assert_eq!(j.attempts, 1);
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Child(std::process::Child, std::path::PathBuf);

impl Child {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.1).unwrap_or_default()
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The real server binary on `port` against the test server's database.
fn spawn_server(server: &TestServer, port: u16, st: Storage, prefix: &str, hold_ms: u64) -> Child {
    use patchmon_server::config::DatabaseUrl;
    let url = match server.database_url() {
        DatabaseUrl::Sqlite(u) | DatabaseUrl::Postgres(u) => u.clone(),
    };
    let log = std::env::temp_dir().join(format!("pm-queue-{}.log", Uuid::new_v4().simple()));
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_patchmon-server"));
    cmd.env("DATABASE_URL", url)
        .env("PORT", port.to_string())
        .env("BIND_ADDRESS", "127.0.0.1")
        .env("QUEUE_DEBUG_HOLD_MS", hold_ms.to_string())
        .env("QUEUE_LEASE_SECONDS", "2")
        .env("QUEUE_POLL_INTERVAL_MS", "50")
        .env("SCHEDULER_ENABLED", "false")
        .env("RECONNECT_JITTER_SECONDS", "0")
        .env("LOG_LEVEL", "warn")
        .env("DB_CONNECTION_LIMIT", "4")
        .env_remove("REDIS_URL")
        .env_remove("REDIS_HOST")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap());
    if st == Storage::Redis {
        cmd.env("REDIS_URL", redis_url())
            .env("REDIS_KEY_PREFIX", prefix);
    }
    Child(cmd.spawn().expect("spawn patchmon-server"), log)
}

async fn wait_healthy(port: u16, child: &Child) {
    let ok = TestServer::wait_for(Duration::from_secs(60), || async {
        client()
            .get(format!("http://127.0.0.1:{port}/health"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    })
    .await;
    assert!(ok, "server on {port} never became healthy: {}", child.log());
}

/// A server process killed with SIGKILL while it holds a job: after a
/// restart the job is retried once its lease expires and completed once.
#[tokio::test]
async fn a_job_held_by_a_killed_server_is_retried_after_restart() {
    use patchmon_server::queue::{Command as Cmd, enqueue_command};
    for st in STORAGES {
        let mut server = TestServer::start_with(|c| queue_config(c, Storage::Db, "unused")).await;
        let h = host_with_report(&server, "crash-01").await;
        let hid = host_id(&server, &h.api_id).await;
        // Only the spawned binaries work the queue from here on.
        server.stop().await;
        let p = prefix();
        let id = enqueue_command(
            &server.state,
            hid,
            &h.api_id,
            Cmd::ReportNow,
            Duration::ZERO,
        )
        .await
        .unwrap()
        .to_string();

        let port = free_port();
        let mut first = spawn_server(&server, port, st, &p, 60_000);
        wait_healthy(port, &first).await;
        let j = wait_job(&server, &id, "active").await;
        assert_eq!(j.attempts, 1);
        first.0.kill().unwrap(); // SIGKILL
        first.0.wait().unwrap();
        assert_eq!(
            job(&server, &id).await.status,
            "active",
            "nothing ran it to completion"
        );

        let port2 = free_port();
        let second = spawn_server(&server, port2, st, &p, 0);
        wait_healthy(port2, &second).await;
        let mut ws = agent_ws(format!("127.0.0.1:{port2}").parse().unwrap(), &h).await;
        assert_eq!(
            next_command(&mut ws, Duration::from_secs(15))
                .await
                .as_deref(),
            Some("report_now"),
            "{st:?}"
        );
        let j = wait_job(&server, &id, "completed").await;
        assert_eq!(j.attempts, 2, "{st:?}: the killed attempt counts");
        assert_eq!(
            next_command(&mut ws, Duration::from_millis(500)).await,
            None,
            "delivered once"
        );
    }
}

/// Measurement, not a check (docs/performance.md):
/// `cargo test -p patchmon-server --test it queue::bench_ -- --ignored --nocapture`.
/// Agent-commands throughput: N jobs enqueued for one connected agent, time
/// until all are completed (the agent drains its socket as fast as it can).
#[tokio::test]
#[ignore]
async fn bench_agent_commands_throughput() {
    use patchmon_server::queue::{Command as Cmd, enqueue_command};
    const N: usize = 2000;
    const COMPLETED: &str =
        "SELECT COUNT(*) FROM job_history WHERE queue_name = 'agent-commands' AND status = $1";
    for st in STORAGES {
        let server = start(st, Arc::new(SystemClock), |_| {}).await;
        let h = host_with_report(&server, "bench-01").await;
        let hid = host_id(&server, &h.api_id).await;
        let count = |status: &'static str| {
            let server = &server;
            async move {
                let n: i64 = with_db!(server.db(), p => sqlx::query_scalar(COMPLETED).bind(status).fetch_one(p).await).unwrap();
                n as usize
            }
        };
        // Phase 1: the agent is offline; N commands queue up and park.
        let t0 = std::time::Instant::now();
        for _ in 0..N {
            enqueue_command(
                &server.state,
                hid,
                &h.api_id,
                Cmd::ReportNow,
                Duration::ZERO,
            )
            .await
            .unwrap();
        }
        let enq = t0.elapsed();
        assert!(
            TestServer::wait_for(Duration::from_secs(600), || async {
                count("waiting").await == N
            })
            .await
        );
        // Phase 2: the agent connects; time until every job is completed.
        let mut ws = agent_ws(server.addr(), &h).await;
        let t1 = std::time::Instant::now();
        let received = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let r = received.clone();
        tokio::spawn(async move {
            while let Some(Ok(m)) = ws.next().await {
                if matches!(m, Message::Text(_)) {
                    r.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
        });
        assert!(
            TestServer::wait_for(Duration::from_secs(600), || async {
                count("completed").await == N
            })
            .await
        );
        let drain = t1.elapsed();
        println!(
            "BENCH storage={st:?} db={} jobs={N} enqueue={:.0} jobs/s deliver={:.0} jobs/s ({:.2} s) received={}",
            server.db().dialect(),
            N as f64 / enq.as_secs_f64(),
            N as f64 / drain.as_secs_f64(),
            drain.as_secs_f64(),
            received.load(std::sync::atomic::Ordering::Relaxed)
        );
    }
}

/// Scheduling drift on the wall clock: system-statistics every second for
/// 20 s; drift = start time − due time of each occurrence.
#[tokio::test]
#[ignore]
async fn bench_scheduling_drift() {
    let server = start(Storage::Db, Arc::new(SystemClock), |c| {
        c.queue.scheduler_enabled = true;
        c.queue
            .schedules
            .insert("system-statistics".into(), "* * * * * *".into());
    })
    .await;
    tokio::time::sleep(Duration::from_secs(20)).await;
    const SQL: &str = "SELECT output FROM job_history WHERE queue_name = 'system-statistics' AND status = 'completed'";
    let rows: Vec<sqlx::types::Json<Value>> =
        with_db!(server.db(), p => sqlx::query_scalar(SQL).fetch_all(p).await).unwrap();
    let mut d: Vec<i64> = rows
        .iter()
        .filter_map(|r| r.0["drift_ms"].as_i64())
        .collect();
    d.sort_unstable();
    let n = d.len();
    let mean = d.iter().sum::<i64>() as f64 / n.max(1) as f64;
    println!(
        "BENCH drift db={} runs={n} min={} ms median={} ms mean={mean:.1} ms p95={} ms max={} ms",
        server.db().dialect(),
        d[0],
        d[n / 2],
        d[(n * 95 / 100).min(n - 1)],
        d[n - 1]
    );
}

/// Sockets recorded by a stopped server do not count as connected after a
/// restart, so a host that never comes back is reported down.
#[tokio::test]
async fn sockets_of_a_stopped_server_count_as_disconnected_after_restart() {
    for st in STORAGES {
        let mut server = start(st, Arc::new(SystemClock), |_| {}).await;
        let h = host_with_report(&server, "gone-01").await;
        let hid = host_id(&server, &h.api_id).await;
        let ws = agent_ws(server.addr(), &h).await;
        const SQL: &str = "SELECT connected FROM host_connections WHERE host_id = $1";
        async fn connected_in(server: &TestServer, hid: Uuid) -> Option<bool> {
            with_db!(server.db(), p => sqlx::query_scalar(SQL).bind(hid).fetch_optional(p).await)
                .unwrap()
        }
        let connected = || connected_in(&server, hid);
        assert!(
            TestServer::wait_for(Duration::from_secs(5), || async {
                connected().await == Some(true)
            })
            .await
        );
        // Simulate a crash: the process is gone but its row still says
        // "connected" (a graceful stop would have recorded the disconnect).
        drop(ws);
        server.stop().await;
        const CRASHED: &str = "UPDATE host_connections SET connected = TRUE, disconnected_at = NULL, \
            replica_id = 'crashed-replica' WHERE host_id = $1";
        with_db!(server.db(), p => sqlx::query(CRASHED).bind(hid).execute(p).await.map(|_| ()))
            .unwrap();
        assert_eq!(connected_in(&server, hid).await, Some(true));
        server.restart().await;
        let connected = || connected_in(&server, hid);
        assert!(
            TestServer::wait_for(Duration::from_secs(10), || async {
                connected().await == Some(false)
            })
            .await,
            "{st:?}"
        );
    }
}

/// The integration API's agent_queue reads the rows this queue writes
/// (completed jobs carry JSON output).
#[tokio::test]
async fn integration_api_agent_queue_shows_queue_jobs() {
    let server = start(Storage::Db, Arc::new(SystemClock), |_| {}).await;
    let token = setup_admin(&server).await;
    let h = host_with_report(&server, "iq-01").await;
    let hid = host_id(&server, &h.api_id).await;
    let mut ws = agent_ws(server.addr(), &h).await;
    assert!(
        TestServer::wait_for(Duration::from_secs(5), || async {
            server.is_connected(&h.api_id).await
        })
        .await
    );
    let id = post_cmd(&server, &token, hid, "report-now").await["job_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        next_command(&mut ws, Duration::from_secs(5))
            .await
            .as_deref(),
        Some("report_now")
    );
    wait_job(&server, &id, "completed").await;
    drop(ws);
    post_cmd(&server, &token, hid, "update-agent").await;
    let (_, key, secret) = super::enroll::create_token(
        &server,
        &token,
        json!({"token_name": "q", "metadata": {"integration_type": "api"}, "scopes": {"host": ["get"]}}),
    )
    .await;
    let ok = TestServer::wait_for(Duration::from_secs(10), || async {
        let r = client()
            .get(format!(
                "{}/api/v1/api/hosts/{hid}/agent_queue",
                server.url()
            ))
            .basic_auth(&key, Some(&secret))
            .send()
            .await
            .unwrap();
        let b: Value = r.json().await.unwrap();
        b["queue_status"]["waiting"] == 1 && b["total_jobs"] == 2
    })
    .await;
    let r = client()
        .get(format!(
            "{}/api/v1/api/hosts/{hid}/agent_queue",
            server.url()
        ))
        .basic_auth(&key, Some(&secret))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let b: Value = r.json().await.unwrap();
    assert!(ok, "{b}");
    let done = b["job_history"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["status"] == "completed")
        .unwrap();
    assert_eq!(done["output"]["delivered_via"], "websocket", "{b}");
}
