//! Test harness: the real server in-process on an ephemeral port with a fresh
//! database — a temp SQLite file, or a uniquely named PostgreSQL database when
//! `TEST_DATABASE_URL` is a postgres URL. Used by this crate's integration
//! tests, the agent's end-to-end tests and the load generator.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use patchmon_protocol::ServerMessage;
use serde_json::{Value, json};
use sqlx::Connection;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::clock::{Clock, SystemClock};
use crate::config::{Config, DatabaseUrl};
use crate::db::Db;
use crate::hosts::{self, NewHostCredentials};
use crate::state::AppState;
use crate::with_db;

pub type HostCredentials = NewHostCredentials;

pub struct TestServer {
    pub state: AppState,
    addr: SocketAddr,
    database_url: DatabaseUrl,
    clock: Arc<dyn Clock>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    guard: Option<TestDatabase>,
}

/// Test databases are not dropped while tests run: PostgreSQL 15's `DROP
/// DATABASE` waits on a ProcSignalBarrier that other tests' idle pooled
/// connections did not absorb, and `CREATE DATABASE` queues behind it, which
/// stalled whole runs for minutes. Instead each test process drops the
/// `pmtest_*` databases left by earlier runs once, before creating its
/// first one (no connection of its own exists then); `scripts/test.sh` also
/// drops them after the PostgreSQL run.
static STALE_DROPPED: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();

async fn drop_stale_test_databases(admin: &mut sqlx::PgConnection) {
    if std::env::var_os("TEST_KEEP_DB").is_some() {
        return;
    }
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT datname FROM pg_database WHERE datname LIKE 'pmtest\\_%' ESCAPE '\\'",
    )
    .fetch_all(&mut *admin)
    .await
    .unwrap_or_default();
    for name in names {
        // Names come from pg_database and match pmtest_<hex>; quoted anyway.
        let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
        let _ = sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut *admin)
            .await;
    }
}

/// A throwaway database: SQLite files are deleted with this value;
/// PostgreSQL databases by the next test process (`drop_stale_test_databases`).
pub struct TestDatabase {
    pub url: DatabaseUrl,
    _dir: Option<tempfile::TempDir>,
}

/// A fresh database: temp SQLite, or a new PostgreSQL database when
/// `TEST_DATABASE_URL` is a postgres URL.
pub async fn fresh_database() -> TestDatabase {
    let (url, dir) = fresh_database_inner().await;
    TestDatabase { url, _dir: dir }
}

async fn fresh_database_inner() -> (DatabaseUrl, Option<tempfile::TempDir>) {
    match std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
    {
        Some(url) if url.starts_with("postgres") => {
            let name = format!("pmtest_{}", Uuid::new_v4().simple());
            let mut admin = sqlx::PgConnection::connect(&url)
                .await
                .unwrap_or_else(|e| panic!("TEST_DATABASE_URL unreachable: {e}"));
            STALE_DROPPED
                .get_or_init(|| drop_stale_test_databases(&mut admin))
                .await;
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut admin)
                .await
                .unwrap_or_else(|e| panic!("create test database: {e}"));
            let _ = admin.close().await;
            let base = match url.rsplit_once('/') {
                Some((base, _)) if !base.ends_with('/') => base.to_owned(),
                _ => url.trim_end_matches('/').to_owned(),
            };
            (DatabaseUrl::Postgres(format!("{base}/{name}")), None)
        }
        _ => {
            let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
            let url = format!("sqlite://{}/patchmon.db", dir.path().display());
            (DatabaseUrl::Sqlite(url), Some(dir))
        }
    }
}

impl TestServer {
    /// Starts a server with default test configuration.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Starts a server after letting the caller adjust the configuration.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Self {
        Self::start_with_clock(adjust, Arc::new(SystemClock)).await
    }

    /// Starts a server with the given clock (e.g. a `ManualClock`, to test
    /// expiry and lockout without sleeping).
    pub async fn start_with_clock(adjust: impl FnOnce(&mut Config), clock: Arc<dyn Clock>) -> Self {
        Self::start_at(|c, _| adjust(c), clock).await
    }

    /// Like `start_with_clock`, but the adjustment also sees the address the
    /// server will listen on (for configuration that names the server's own
    /// URL, such as an OIDC redirect URI).
    pub async fn start_at(
        adjust: impl FnOnce(&mut Config, SocketAddr),
        clock: Arc<dyn Clock>,
    ) -> Self {
        let guard = fresh_database().await;
        let url = guard.url.clone();
        let mut config = Config::for_test(url.clone());
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("bind: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("local_addr: {e}"));
        adjust(&mut config, addr);
        Self::launch(config, listener, clock, url, Some(guard)).await
    }

    async fn launch(
        config: Config,
        listener: TcpListener,
        clock: Arc<dyn Clock>,
        url: DatabaseUrl,
        guard: Option<TestDatabase>,
    ) -> Self {
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("local_addr: {e}"));
        let db = Db::connect(&config.database_url, config.db_connection_limit)
            .await
            .unwrap_or_else(|e| panic!("connect: {e}"));
        db.migrate()
            .await
            .unwrap_or_else(|e| panic!("migrate: {e}"));
        let state = AppState::new(config, db, clock.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let s = state.clone();
        let task = tokio::spawn(async move {
            if let Err(e) = crate::serve(listener, s, async move {
                let _ = rx.await;
            })
            .await
            {
                eprintln!("test server stopped with error: {e}");
            }
        });
        Self {
            state,
            addr,
            database_url: url,
            clock,
            shutdown: Some(tx),
            task: Some(task),
            guard,
        }
    }

    /// Starts a second server process-in-process on the same database (a
    /// replica), with its own configuration adjustments and clock.
    pub async fn start_replica(
        &self,
        adjust: impl FnOnce(&mut Config),
        clock: Arc<dyn Clock>,
    ) -> Self {
        let mut config = self.state.config().clone();
        adjust(&mut config);
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("bind: {e}"));
        Self::launch(config, listener, clock, self.database_url.clone(), None).await
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn database_url(&self) -> &DatabaseUrl {
        &self.database_url
    }

    pub fn db(&self) -> &Db {
        self.state.db()
    }

    /// Creates a pending host and returns its credentials.
    pub async fn create_host(&self, name: &str) -> HostCredentials {
        hosts::create_host(self.db(), self.state.now(), name, None)
            .await
            .unwrap_or_else(|e| panic!("create_host: {e}"))
    }

    /// Sends a command over the agent's live WebSocket; false when not connected.
    pub async fn send_command(&self, api_id: &str, msg: ServerMessage) -> bool {
        self.state.hub().send(api_id, &msg).is_ok()
    }

    pub async fn is_connected(&self, api_id: &str) -> bool {
        self.state.hub().is_connected(api_id)
    }

    /// Polls until `cond` holds or `timeout` passes; returns whether it held.
    pub async fn wait_for<F, Fut>(timeout: Duration, mut cond: F) -> bool
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let end = tokio::time::Instant::now() + timeout;
        loop {
            if cond().await {
                return true;
            }
            if tokio::time::Instant::now() >= end {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// The host row as JSON (null fields included), or None.
    pub async fn host(&self, api_id: &str) -> Option<Value> {
        #[derive(sqlx::FromRow)]
        struct Row {
            id: Uuid,
            friendly_name: String,
            hostname: Option<String>,
            ip: Option<String>,
            os_type: Option<String>,
            os_version: Option<String>,
            architecture: Option<String>,
            kernel_version: Option<String>,
            agent_version: Option<String>,
            machine_id: Option<String>,
            package_manager: Option<String>,
            status: String,
            needs_reboot: bool,
            reboot_reason: Option<String>,
            cpu_cores: Option<i64>,
            cpu_model: Option<String>,
            ram_installed: Option<f64>,
            swap_size: Option<f64>,
            disk_details: Option<sqlx::types::Json<Value>>,
            network_interfaces: Option<sqlx::types::Json<Value>>,
            system_uptime: Option<String>,
            packages_hash: Option<String>,
            repos_hash: Option<String>,
            interfaces_hash: Option<String>,
            hostname_hash: Option<String>,
            last_update: Option<DateTime<Utc>>,
            last_full_report_at: Option<DateTime<Utc>>,
        }
        const SQL: &str = "SELECT id, friendly_name, hostname, ip, os_type, os_version, architecture, \
            kernel_version, agent_version, machine_id, package_manager, status, needs_reboot, reboot_reason, \
            cpu_cores, cpu_model, ram_installed, swap_size, disk_details, network_interfaces, system_uptime, \
            packages_hash, repos_hash, interfaces_hash, hostname_hash, last_update, last_full_report_at \
            FROM hosts WHERE api_id = $1";
        let r: Option<Row> =
            with_db!(self.db(), p => sqlx::query_as(SQL).bind(api_id).fetch_optional(p).await)
                .unwrap_or_else(|e| panic!("host query: {e}"));
        r.map(|r| {
            json!({
                "id": r.id, "friendly_name": r.friendly_name, "hostname": r.hostname, "ip": r.ip,
                "os_type": r.os_type, "os_version": r.os_version, "architecture": r.architecture,
                "kernel_version": r.kernel_version, "agent_version": r.agent_version,
                "machine_id": r.machine_id, "package_manager": r.package_manager, "status": r.status,
                "needs_reboot": r.needs_reboot, "reboot_reason": r.reboot_reason, "cpu_cores": r.cpu_cores,
                "cpu_model": r.cpu_model, "ram_installed": r.ram_installed, "swap_size": r.swap_size,
                "disk_details": r.disk_details.map(|j| j.0), "network_interfaces": r.network_interfaces.map(|j| j.0),
                "system_uptime": r.system_uptime, "packages_hash": r.packages_hash, "repos_hash": r.repos_hash,
                "interfaces_hash": r.interfaces_hash, "hostname_hash": r.hostname_hash,
                "last_update": r.last_update, "last_full_report_at": r.last_full_report_at,
            })
        })
    }

    /// Rows in host_packages for this host.
    pub async fn host_package_count(&self, api_id: &str) -> i64 {
        const SQL: &str = "SELECT COUNT(*) FROM host_packages hp JOIN hosts h ON h.id = hp.host_id WHERE h.api_id = $1";
        with_db!(self.db(), p => sqlx::query_scalar(SQL).bind(api_id).fetch_one(p).await)
            .unwrap_or_else(|e| panic!("count: {e}"))
    }

    /// Successful full and partial reports recorded for this host.
    pub async fn report_count(&self, api_id: &str) -> i64 {
        const SQL: &str = "SELECT COUNT(*) FROM update_history u JOIN hosts h ON h.id = u.host_id \
            WHERE h.api_id = $1 AND u.status = 'success' AND u.report_type IN ('full', 'partial')";
        with_db!(self.db(), p => sqlx::query_scalar(SQL).bind(api_id).fetch_one(p).await)
            .unwrap_or_else(|e| panic!("count: {e}"))
    }

    /// `(name, current_version, available_version, needs_update, is_security_update, updated_at)` per package.
    pub async fn host_packages(
        &self,
        api_id: &str,
    ) -> Vec<(String, String, Option<String>, bool, bool, DateTime<Utc>)> {
        const SQL: &str = "SELECT p.name, hp.current_version, hp.available_version, hp.needs_update, \
            hp.is_security_update, hp.updated_at FROM host_packages hp JOIN packages p ON p.id = hp.package_id \
            JOIN hosts h ON h.id = hp.host_id WHERE h.api_id = $1 ORDER BY p.name";
        with_db!(self.db(), p => sqlx::query_as(SQL).bind(api_id).fetch_all(p).await)
            .unwrap_or_else(|e| panic!("host_packages: {e}"))
    }

    /// `(url, distribution, components, is_enabled)` per repository of the host.
    pub async fn host_repositories(&self, api_id: &str) -> Vec<(String, String, String, bool)> {
        const SQL: &str = "SELECT r.url, r.distribution, r.components, hr.is_enabled FROM host_repositories hr \
            JOIN repositories r ON r.id = hr.repository_id JOIN hosts h ON h.id = hr.host_id \
            WHERE h.api_id = $1 ORDER BY r.url, r.distribution, r.components";
        with_db!(self.db(), p => sqlx::query_as(SQL).bind(api_id).fetch_all(p).await)
            .unwrap_or_else(|e| panic!("host_repositories: {e}"))
    }

    /// `(report_type, status, error_message)` of the host's history, oldest first.
    pub async fn history(&self, api_id: &str) -> Vec<(String, String, Option<String>)> {
        const SQL: &str = "SELECT u.report_type, u.status, u.error_message FROM update_history u \
            JOIN hosts h ON h.id = u.host_id WHERE h.api_id = $1 ORDER BY u.timestamp, u.id";
        with_db!(self.db(), p => sqlx::query_as(SQL).bind(api_id).fetch_all(p).await)
            .unwrap_or_else(|e| panic!("history: {e}"))
    }

    /// A snapshot of everything a report may write (not history), for
    /// "nothing changed" assertions.
    pub async fn fingerprint(&self) -> Value {
        const COUNTS: &str = "SELECT (SELECT COUNT(*) FROM hosts), (SELECT COUNT(*) FROM packages), \
            (SELECT COUNT(*) FROM host_packages), (SELECT COUNT(*) FROM repositories), \
            (SELECT COUNT(*) FROM host_repositories)";
        const HOSTS: &str = "SELECT api_id, status, last_update, packages_hash, repos_hash, hostname, swap_size \
            FROM hosts ORDER BY api_id";
        const PKGS: &str = "SELECT package_id, current_version, updated_at FROM host_packages ORDER BY host_id, package_id";
        type HostFp = (
            String,
            String,
            Option<DateTime<Utc>>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<f64>,
        );
        type Fingerprint = (
            (i64, i64, i64, i64, i64),
            Vec<HostFp>,
            Vec<(Uuid, String, DateTime<Utc>)>,
        );
        let (counts, hosts, pkgs): Fingerprint = with_db!(self.db(), p => {
            let c = sqlx::query_as(COUNTS).fetch_one(p).await;
            let h = sqlx::query_as(HOSTS).fetch_all(p).await;
            let k = sqlx::query_as(PKGS).fetch_all(p).await;
            match (c, h, k) {
                (Ok(c), Ok(h), Ok(k)) => (c, h, k),
                (c, h, k) => panic!("fingerprint: {:?} {:?} {:?}", c.err(), h.err(), k.err()),
            }
        });
        json!({ "counts": [counts.0, counts.1, counts.2, counts.3, counts.4], "hosts": hosts, "packages": pkgs })
    }

    /// Shuts the server down (the port is remembered for `restart`). The
    /// database stays open, so the query helpers keep working while stopped.
    pub async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
    }

    /// Starts again on the same port with the same database.
    pub async fn restart(&mut self) {
        self.stop().await;
        let mut last_err = None;
        let mut listener = None;
        for _ in 0..100 {
            match TcpListener::bind(self.addr).await {
                Ok(l) => {
                    listener = Some(l);
                    break;
                }
                Err(e) => {
                    last_err = Some(e);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
        let listener = listener.unwrap_or_else(|| panic!("rebind {}: {last_err:?}", self.addr));
        let config = self.state.config().clone();
        let guard = self.guard.take();
        let next = Self::launch(
            config,
            listener,
            self.clock.clone(),
            self.database_url.clone(),
            guard,
        )
        .await;
        *self = next;
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        // The database stays until the next test process drops it (see STALE_DROPPED).
    }
}
