//! Job queue (issue 6). `job_history` is the record of every job; on
//! database storage it is also the queue, on Redis storage a sorted set of
//! due job ids is the queue and `job_history` the record. Workers, retries,
//! leases and expiry are the same code for both (see docs/queue.md).
//!
//! Delivery is at least once, completion exactly once: a job is claimed by
//! setting `status = 'active'` with a fresh `lease_token`; only the holder of
//! that token can complete or fail it. A worker that dies mid-job (SIGKILL)
//! leaves an expired lease, which the maintenance loop hands back to the queue.

pub mod api;
pub mod config;
pub mod redis;
pub mod scheduler;
pub mod tasks;

use std::sync::OnceLock;
use std::time::Duration;

use chrono::{DateTime, Utc};
use patchmon_protocol::ServerMessage;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::types::Json;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::agents::hub::SendError;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::with_db;

pub const AGENT_COMMANDS: &str = "agent-commands";

/// Commands of the agent-commands queue (PatchMon's task type names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    ReportNow,
    UpdateAgent,
    RefreshIntegrationStatus,
    DockerInventoryRefresh,
}

impl Command {
    pub fn name(self) -> &'static str {
        match self {
            Self::ReportNow => "report_now",
            Self::UpdateAgent => "update_agent",
            Self::RefreshIntegrationStatus => "refresh_integration_status",
            Self::DockerInventoryRefresh => "docker_inventory_refresh",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        [
            Self::ReportNow,
            Self::UpdateAgent,
            Self::RefreshIntegrationStatus,
            Self::DockerInventoryRefresh,
        ]
        .into_iter()
        .find(|c| c.name() == s)
    }

    pub fn message(self) -> ServerMessage {
        match self {
            Self::ReportNow => ServerMessage::ReportNow,
            Self::UpdateAgent => ServerMessage::UpdateAgent,
            Self::RefreshIntegrationStatus => ServerMessage::RefreshIntegrationStatus,
            Self::DockerInventoryRefresh => ServerMessage::DockerInventoryRefresh,
        }
    }
}

/// Per-replica queue runtime, owned by `AppState`.
pub struct Queue {
    /// Identifies this process among replicas (Redis routing, host_connections).
    pub replica_id: String,
    wake: Notify,
    redis: OnceLock<redis::RedisBroker>,
    pub scheduler: scheduler::Stats,
}

impl Default for Queue {
    fn default() -> Self {
        Self {
            replica_id: Uuid::new_v4().simple().to_string(),
            wake: Notify::new(),
            redis: OnceLock::new(),
            scheduler: Default::default(),
        }
    }
}

impl Queue {
    pub fn redis(&self) -> Option<&redis::RedisBroker> {
        self.redis.get()
    }

    pub fn storage(&self) -> &'static str {
        if self.redis.get().is_some() {
            "redis"
        } else {
            "database"
        }
    }
}

/// A claimed job.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Claimed {
    pub id: Uuid,
    pub job_name: String,
    pub host_id: Option<Uuid>,
    pub api_id: Option<String>,
    pub attempt_number: i64,
    pub max_attempts: i64,
    pub expires_at: Option<DateTime<Utc>>,
    pub lease_token: Option<String>,
}

fn internal(e: impl std::fmt::Display) -> AppError {
    AppError::internal(e.to_string())
}

/// Background tasks of one server process; aborted on drop of the handle set.
pub struct Workers(Vec<JoinHandle<()>>);

impl Workers {
    pub fn stop(self) {
        for h in self.0 {
            h.abort();
        }
    }
}

/// Connects Redis (when configured) and spawns the workers, the maintenance
/// loop, the Redis router and the scheduler.
pub async fn start(state: &AppState) -> Result<Workers, String> {
    let cfg = &state.config().queue;
    if let Some(url) = &cfg.redis_url {
        let broker = redis::RedisBroker::connect(url, &cfg.redis_prefix)
            .await
            .map_err(|e| format!("cannot connect to Redis at {url}: {e}"))?;
        let _ = state.queue().redis.set(broker);
    }
    if state.queue().redis().is_none() {
        // Single replica: sockets recorded by an earlier process are gone.
        mark_dead_replicas_disconnected(state, None)
            .await
            .map_err(|e| format!("cannot reset host connections: {e}"))?;
    }
    let mut handles = Vec::new();
    for n in 0..cfg.workers {
        let s = state.clone();
        handles.push(tokio::spawn(async move { worker_loop(s, n).await }));
    }
    let s = state.clone();
    handles.push(tokio::spawn(async move { maintenance_loop(s).await }));
    if state.queue().redis().is_some() {
        let s = state.clone();
        handles.push(tokio::spawn(async move { redis::router_loop(s).await }));
    }
    if cfg.scheduler_enabled {
        let s = state.clone();
        handles.push(tokio::spawn(async move { scheduler::run(s).await }));
    }
    tracing::info!(
        storage = state.queue().storage(),
        replica = %state.queue().replica_id,
        "job queue started"
    );
    Ok(Workers(handles))
}

/// Enqueues an agent command for a host. Returns the job id.
pub async fn enqueue_command(
    state: &AppState,
    host_id: Uuid,
    api_id: &str,
    cmd: Command,
    delay: Duration,
) -> AppResult<Uuid> {
    let now = state.now();
    let cfg = &state.config().queue;
    let run_at = now + chrono::Duration::from_std(delay).map_err(internal)?;
    let expires_at = now + chrono::Duration::from_std(cfg.command_ttl).map_err(internal)?;
    let id = Uuid::new_v4();
    let status = if delay.is_zero() { "queued" } else { "delayed" };
    const SQL: &str = "INSERT INTO job_history (id, job_id, queue_name, job_name, host_id, api_id, status, \
        attempt_number, payload, max_attempts, run_at, expires_at, created_at, updated_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9, $10, $11, $12, $12)";
    let payload = Json(json!({ "command": cmd.name() }));
    with_db!(state.db(), p => sqlx::query(SQL)
        .bind(id).bind(id.to_string()).bind(AGENT_COMMANDS).bind(cmd.name()).bind(host_id)
        .bind(api_id).bind(status).bind(&payload).bind(cfg.max_attempts).bind(run_at)
        .bind(expires_at).bind(now)
        .execute(p).await.map(|r| r.rows_affected()))?;
    make_due(state, id, run_at).await;
    Ok(id)
}

/// Tells the storage that a job is (again) waiting to run at `run_at`.
async fn make_due(state: &AppState, id: Uuid, run_at: DateTime<Utc>) {
    if let Some(r) = state.queue().redis()
        && let Err(e) = r.push_ready(id, run_at).await
    {
        // The maintenance loop re-adds queued rows missing from Redis.
        tracing::warn!(error = %e, job = %id, "redis push failed; job will be re-added by maintenance");
    }
    state.queue().wake.notify_waiters();
}

async fn worker_loop(state: AppState, n: usize) {
    let poll = state.config().queue.poll_interval;
    loop {
        let notified = state.queue().wake.notified();
        match claim_next(&state).await {
            Ok(Some(job)) => {
                process(&state, job).await;
                continue;
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(worker = n, error = %e, "queue claim failed"),
        }
        tokio::select! {
            _ = notified => {}
            _ = tokio::time::sleep(poll) => {}
        }
    }
}

const CLAIM_SQL: &str = "UPDATE job_history SET status = 'active', attempt_number = attempt_number + 1, \
    lease_token = $2, lease_until = $3, started_at = $4, updated_at = $4 \
    WHERE id = $1 AND status IN ('queued', 'delayed') \
    RETURNING id, job_name, host_id, api_id, attempt_number, max_attempts, expires_at, lease_token";

/// Claims one due job of agent-commands, or None.
pub async fn claim_next(state: &AppState) -> AppResult<Option<Claimed>> {
    let now = state.now();
    let candidates: Vec<Uuid> = match state.queue().redis() {
        Some(r) => r
            .pop_due(now)
            .await
            .map_err(internal)?
            .into_iter()
            .collect(),
        None => {
            const SQL: &str = "SELECT id FROM job_history WHERE queue_name = $1 \
                AND status IN ('queued', 'delayed') AND run_at <= $2 ORDER BY run_at LIMIT 8";
            with_db!(state.db(), p => sqlx::query_scalar(SQL).bind(AGENT_COMMANDS).bind(now).fetch_all(p).await)?
        }
    };
    let lease = chrono::Duration::from_std(state.config().queue.lease).map_err(internal)?;
    for id in candidates {
        let token = Uuid::new_v4().simple().to_string();
        let row: Option<Claimed> = with_db!(state.db(), p => sqlx::query_as(CLAIM_SQL)
            .bind(id).bind(&token).bind(now + lease).bind(now).fetch_optional(p).await)?;
        if row.is_some() {
            return Ok(row);
        }
    }
    Ok(None)
}

/// Delivers one claimed job. A panic is caught so the worker lives on; the
/// job stays leased and is retried (or failed) when the lease runs out.
async fn process(state: &AppState, job: Claimed) {
    match crate::catch_panic(process_inner(state, &job)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::warn!(job = %job.id, error = %e, "job processing failed; lease expiry will retry it");
        }
        Err(panic) => {
            tracing::error!(job = %job.id, %panic, "job processing panicked; lease expiry will retry it");
        }
    }
}

async fn process_inner(state: &AppState, job: &Claimed) -> AppResult<()> {
    let hold = state.config().queue.debug_hold;
    if !hold.is_zero() {
        tokio::time::sleep(hold).await;
    }
    let now = state.now();
    if job.expires_at.is_some_and(|t| t <= now) {
        let msg = "Expired before it could be delivered";
        return finish_failed(state, job, msg).await.map(|_| ());
    }
    let Some(cmd) = Command::from_name(&job.job_name) else {
        let msg = format!("Unknown command {}", job.job_name);
        return finish_failed(state, job, &msg).await.map(|_| ());
    };
    let Some(api_id) = job.api_id.clone() else {
        return finish_failed(state, job, "Host no longer exists")
            .await
            .map(|_| ());
    };
    if state.hub().is_connected(&api_id) {
        return deliver_local(state, job, &api_id, cmd, None).await;
    }
    if let Some(r) = state.queue().redis()
        && let Some(owner) = r.owner_of(&api_id).await.map_err(internal)?
        && owner != state.queue().replica_id
    {
        let handed = r
            .route(&owner, job, &api_id, cmd, &state.queue().replica_id)
            .await
            .map_err(internal)?;
        if handed {
            // The owning replica completes (or fails) it with our lease token.
            return Ok(());
        }
        r.forget_owner(&api_id, &owner).await.map_err(internal)?;
    }
    park_waiting(state, job).await
}

/// Sends over this replica's socket and records the outcome.
pub async fn deliver_local(
    state: &AppState,
    job: &Claimed,
    api_id: &str,
    cmd: Command,
    routed_from: Option<&str>,
) -> AppResult<()> {
    match state.hub().send(api_id, &cmd.message()) {
        Ok(()) => {
            let mut out = json!({
                "delivered_via": "websocket",
                "replica": state.queue().replica_id,
            });
            if let Some(from) = routed_from {
                out["routed_from"] = json!(from);
            }
            complete(state, job, out).await.map(|_| ())
        }
        Err(SendError::TooLarge(_)) => {
            finish_failed(state, job, "Message too large").await?;
            Ok(())
        }
        Err(SendError::NotConnected) => park_waiting(state, job).await,
        Err(e @ SendError::Backlogged) => retry_or_fail(state, job, &e.to_string()).await,
    }
}

/// Marks the job completed if this worker still holds its lease.
pub async fn complete(state: &AppState, job: &Claimed, output: Value) -> AppResult<bool> {
    let now = state.now();
    const SQL: &str = "UPDATE job_history SET status = 'completed', output = $3, completed_at = $4, \
        updated_at = $4, error_message = NULL, lease_token = NULL, lease_until = NULL \
        WHERE id = $1 AND status = 'active' AND lease_token = $2";
    let n = with_db!(state.db(), p => sqlx::query(SQL).bind(job.id).bind(&job.lease_token)
        .bind(Json(&output)).bind(now).execute(p).await.map(|r| r.rows_affected()))?;
    if n == 0 {
        tracing::warn!(job = %job.id, "lease lost before completion; not completing twice");
    }
    Ok(n == 1)
}

async fn finish_failed(state: &AppState, job: &Claimed, error: &str) -> AppResult<bool> {
    let now = state.now();
    const SQL: &str = "UPDATE job_history SET status = 'failed', error_message = $3, completed_at = $4, \
        updated_at = $4, lease_token = NULL, lease_until = NULL \
        WHERE id = $1 AND status = 'active' AND lease_token = $2";
    let n = with_db!(state.db(), p => sqlx::query(SQL).bind(job.id).bind(&job.lease_token)
        .bind(error).bind(now).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Exponential backoff: base × 2^(attempt−1), at most five minutes.
pub fn backoff(base: Duration, attempt: i64) -> Duration {
    let exp = attempt.clamp(1, 20) - 1;
    base.saturating_mul(1u32 << exp)
        .min(Duration::from_secs(300))
}

pub async fn retry_or_fail(state: &AppState, job: &Claimed, error: &str) -> AppResult<()> {
    if job.attempt_number >= job.max_attempts {
        let msg = format!("{error} (gave up after {} attempts)", job.attempt_number);
        finish_failed(state, job, &msg).await?;
        return Ok(());
    }
    let now = state.now();
    let delay = backoff(state.config().queue.retry_base, job.attempt_number);
    let run_at = now + chrono::Duration::from_std(delay).map_err(internal)?;
    const SQL: &str = "UPDATE job_history SET status = 'delayed', run_at = $3, error_message = $4, \
        updated_at = $5, lease_token = NULL, lease_until = NULL \
        WHERE id = $1 AND status = 'active' AND lease_token = $2";
    let n = with_db!(state.db(), p => sqlx::query(SQL).bind(job.id).bind(&job.lease_token)
        .bind(run_at).bind(error).bind(now).execute(p).await.map(|r| r.rows_affected()))?;
    if n == 1 {
        make_due(state, job.id, run_at).await;
    }
    Ok(())
}

/// The agent is offline everywhere: wait for it to reconnect (or expire).
/// Waiting does not use up an attempt.
async fn park_waiting(state: &AppState, job: &Claimed) -> AppResult<()> {
    let now = state.now();
    let until = job
        .expires_at
        .map_or_else(|| "it expires".to_owned(), |t| t.to_rfc3339());
    let msg = format!("Agent not connected; waiting for it to reconnect (expires {until})");
    const SQL: &str = "UPDATE job_history SET status = 'waiting', attempt_number = attempt_number - 1, \
        run_at = NULL, error_message = $3, updated_at = $4, lease_token = NULL, lease_until = NULL \
        WHERE id = $1 AND status = 'active' AND lease_token = $2";
    with_db!(state.db(), p => sqlx::query(SQL).bind(job.id).bind(&job.lease_token)
        .bind(&msg).bind(now).execute(p).await.map(|r| r.rows_affected()))?;
    // The agent may have connected between our check and the update.
    if let Some(host_id) = job.host_id
        && agent_online_anywhere(state, host_id, job.api_id.as_deref()).await?
    {
        release_waiting(state, host_id).await?;
    }
    Ok(())
}

async fn agent_online_anywhere(
    state: &AppState,
    host_id: Uuid,
    api_id: Option<&str>,
) -> AppResult<bool> {
    if api_id.is_some_and(|a| state.hub().is_connected(a)) {
        return Ok(true);
    }
    const SQL: &str = "SELECT connected FROM host_connections WHERE host_id = $1";
    let c: Option<bool> =
        with_db!(state.db(), p => sqlx::query_scalar(SQL).bind(host_id).fetch_optional(p).await)?;
    Ok(c == Some(true) && state.queue().redis().is_some())
}

/// Makes the host's waiting jobs due now.
async fn release_waiting(state: &AppState, host_id: Uuid) -> AppResult<usize> {
    let now = state.now();
    const SQL: &str = "UPDATE job_history SET status = 'queued', run_at = $2, error_message = NULL, \
        updated_at = $2 WHERE host_id = $1 AND status = 'waiting' RETURNING id";
    let ids: Vec<Uuid> = with_db!(state.db(), p => sqlx::query_scalar(SQL).bind(host_id).bind(now).fetch_all(p).await)?;
    for id in &ids {
        make_due(state, *id, now).await;
    }
    Ok(ids.len())
}

/// Called by the WebSocket handler once an agent's socket is registered.
pub async fn on_agent_connected(state: AppState, host_id: Uuid, api_id: String, conn_id: u64) {
    if let Err(e) = on_connected_inner(&state, host_id, &api_id, conn_id).await {
        tracing::warn!(%api_id, error = %e, "queue hook on connect failed");
    }
}

async fn on_connected_inner(
    state: &AppState,
    host_id: Uuid,
    api_id: &str,
    conn_id: u64,
) -> AppResult<()> {
    let now = state.now();
    let sql = if state.db().is_postgres() {
        "INSERT INTO host_connections (host_id, connected, replica_id, conn_id, connected_at, disconnected_at) \
         VALUES ($1, TRUE, $2, $3, $4, NULL) ON CONFLICT (host_id) DO UPDATE SET connected = TRUE, \
         replica_id = $2, conn_id = $3, connected_at = $4, disconnected_at = NULL"
    } else {
        "INSERT INTO host_connections (host_id, connected, replica_id, conn_id, connected_at, disconnected_at) \
         VALUES ($1, 1, $2, $3, $4, NULL) ON CONFLICT (host_id) DO UPDATE SET connected = 1, \
         replica_id = $2, conn_id = $3, connected_at = $4, disconnected_at = NULL"
    };
    with_db!(state.db(), p => sqlx::query(sql).bind(host_id).bind(&state.queue().replica_id)
        .bind(conn_id as i64).bind(now).execute(p).await.map(|r| r.rows_affected()))?;
    if let Some(r) = state.queue().redis() {
        r.set_owner(api_id, &state.queue().replica_id)
            .await
            .map_err(internal)?;
    }
    release_waiting(state, host_id).await?;
    // An overdue agent gets a catch-up report, spread over the jitter window.
    const LAST: &str = "SELECT last_update FROM hosts WHERE id = $1";
    let last: Option<Option<DateTime<Utc>>> =
        with_db!(state.db(), p => sqlx::query_scalar(LAST).bind(host_id).fetch_optional(p).await)?;
    let interval = crate::settings::agent_settings(state.db())
        .await?
        .update_interval;
    let overdue = match last {
        Some(Some(t)) => t < now - chrono::Duration::minutes(interval),
        _ => false,
    };
    if overdue && !has_pending(state, host_id, Command::ReportNow).await? {
        let jitter = reconnect_jitter(api_id, state.config().queue.reconnect_jitter_secs);
        enqueue_command(state, host_id, api_id, Command::ReportNow, jitter).await?;
        tracing::info!(%api_id, jitter_secs = jitter.as_secs(), "overdue agent reconnected; catch-up report queued");
    }
    tasks::evaluate_host(state, host_id).await?;
    Ok(())
}

/// Whether an unfinished job of this command exists for the host.
async fn has_pending(state: &AppState, host_id: Uuid, cmd: Command) -> AppResult<bool> {
    const SQL: &str = "SELECT COUNT(*) FROM job_history WHERE host_id = $1 AND job_name = $2 \
        AND status IN ('queued', 'delayed', 'waiting', 'active')";
    let n: i64 = with_db!(state.db(), p => sqlx::query_scalar(SQL).bind(host_id).bind(cmd.name()).fetch_one(p).await)?;
    Ok(n > 0)
}

/// FNV-1a (32-bit) of the api_id modulo the window: a stable per-host delay.
pub fn reconnect_jitter(api_id: &str, window_secs: u64) -> Duration {
    if window_secs == 0 {
        return Duration::ZERO;
    }
    let mut h: u32 = 0x811c_9dc5;
    for b in api_id.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    Duration::from_secs(u64::from(h) % window_secs)
}

/// Called by the WebSocket handler after an agent's socket went away.
pub async fn on_agent_disconnected(state: AppState, host_id: Uuid, api_id: String, conn_id: u64) {
    let now = state.now();
    let sql = if state.db().is_postgres() {
        "UPDATE host_connections SET connected = FALSE, disconnected_at = $4 \
         WHERE host_id = $1 AND replica_id = $2 AND conn_id = $3"
    } else {
        "UPDATE host_connections SET connected = 0, disconnected_at = $4 \
         WHERE host_id = $1 AND replica_id = $2 AND conn_id = $3"
    };
    let res = with_db!(state.db(), p => sqlx::query(sql).bind(host_id).bind(&state.queue().replica_id)
        .bind(conn_id as i64).bind(now).execute(p).await.map(|r| r.rows_affected()));
    if let Err(e) = res {
        tracing::warn!(%api_id, error = %e, "recording disconnect failed");
    }
    if let Some(r) = state.queue().redis()
        && let Err(e) = r.forget_owner(&api_id, &state.queue().replica_id).await
    {
        tracing::warn!(%api_id, error = %e, "clearing redis owner failed");
    }
}

/// Expired leases back to the queue, expired jobs failed, Redis index repaired.
async fn maintenance_loop(state: AppState) {
    let every = state
        .config()
        .queue
        .poll_interval
        .max(Duration::from_millis(100))
        * 2;
    loop {
        if let Err(e) = maintenance(&state).await {
            tracing::warn!(error = %e, "queue maintenance failed");
        }
        tokio::time::sleep(every).await;
    }
}

/// Marks sockets recorded by other replicas as disconnected: all of them
/// (`alive = None`, single replica at start-up) or those of replicas whose
/// Redis heartbeat has lapsed.
async fn mark_dead_replicas_disconnected(
    state: &AppState,
    alive: Option<&redis::RedisBroker>,
) -> AppResult<()> {
    let me = &state.queue().replica_id;
    let (list_sql, mark_sql) = if state.db().is_postgres() {
        (
            "SELECT DISTINCT replica_id FROM host_connections WHERE connected = TRUE AND replica_id <> $1",
            "UPDATE host_connections SET connected = FALSE, disconnected_at = $2 WHERE connected = TRUE AND replica_id = $1",
        )
    } else {
        (
            "SELECT DISTINCT replica_id FROM host_connections WHERE connected = 1 AND replica_id <> $1",
            "UPDATE host_connections SET connected = 0, disconnected_at = $2 WHERE connected = 1 AND replica_id = $1",
        )
    };
    let others: Vec<String> =
        with_db!(state.db(), p => sqlx::query_scalar(list_sql).bind(me).fetch_all(p).await)?;
    for r in others {
        if let Some(b) = alive
            && b.replica_alive(&r).await.map_err(internal)?
        {
            continue;
        }
        let n = with_db!(state.db(), p => sqlx::query(mark_sql).bind(&r).bind(state.now())
            .execute(p).await.map(|r| r.rows_affected()))?;
        tracing::info!(replica = %r, sockets = n, "sockets of a stopped server marked disconnected");
    }
    Ok(())
}

pub async fn maintenance(state: &AppState) -> AppResult<()> {
    if let Some(r) = state.queue().redis() {
        r.heartbeat(&state.queue().replica_id)
            .await
            .map_err(internal)?;
        mark_dead_replicas_disconnected(state, Some(r)).await?;
    }
    let now = state.now();
    // Lease expired on the last allowed attempt: failed.
    const GIVE_UP: &str = "UPDATE job_history SET status = 'failed', completed_at = $1, updated_at = $1, \
        error_message = 'Worker stopped mid-job on the last attempt', lease_token = NULL, lease_until = NULL \
        WHERE status = 'active' AND lease_until < $1 AND attempt_number >= max_attempts";
    const REQUEUE: &str = "UPDATE job_history SET status = 'queued', run_at = $1, updated_at = $1, \
        error_message = 'Worker stopped mid-job; retrying', lease_token = NULL, lease_until = NULL \
        WHERE status = 'active' AND lease_until < $1 RETURNING id";
    const EXPIRE: &str = "UPDATE job_history SET status = 'failed', completed_at = $1, updated_at = $1, \
        error_message = 'Expired: the agent did not connect before the job expired', \
        lease_token = NULL, lease_until = NULL \
        WHERE status IN ('waiting', 'queued', 'delayed') AND expires_at < $1";
    let requeued: Vec<Uuid> = with_db!(state.db(), p => {
        sqlx::query(GIVE_UP).bind(now).execute(p).await?;
        let ids = sqlx::query_scalar(REQUEUE).bind(now).fetch_all(p).await?;
        sqlx::query(EXPIRE).bind(now).execute(p).await?;
        ids
    });
    for id in &requeued {
        tracing::info!(job = %id, "lease expired; job requeued");
        make_due(state, *id, now).await;
    }
    if let Some(r) = state.queue().redis() {
        const DUE: &str = "SELECT id, run_at FROM job_history WHERE queue_name = $1 \
            AND status IN ('queued', 'delayed') AND run_at IS NOT NULL ORDER BY run_at LIMIT 1000";
        let rows: Vec<(Uuid, DateTime<Utc>)> =
            with_db!(state.db(), p => sqlx::query_as(DUE).bind(AGENT_COMMANDS).fetch_all(p).await)?;
        r.ensure_ready(&rows).await.map_err(internal)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let b = Duration::from_secs(2);
        assert_eq!(backoff(b, 1), Duration::from_secs(2));
        assert_eq!(backoff(b, 2), Duration::from_secs(4));
        assert_eq!(backoff(b, 4), Duration::from_secs(16));
        assert_eq!(backoff(b, 30), Duration::from_secs(300));
    }

    #[test]
    fn jitter_is_stable_and_bounded() {
        let a = reconnect_jitter("patchmon_abc", 60);
        assert_eq!(a, reconnect_jitter("patchmon_abc", 60));
        assert!(a < Duration::from_secs(60));
        assert_eq!(reconnect_jitter("x", 0), Duration::ZERO);
        // FNV-1a 32 of "a" is 0xe40c292c.
        assert_eq!(
            reconnect_jitter("a", 60),
            Duration::from_secs(0xe40c_292c_u64 % 60)
        );
    }
}
