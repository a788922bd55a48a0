//! HTTP API of the queue: agent commands for a host, a host's jobs and
//! timeline, and the queue monitor (Bull-Board equivalent).

use std::time::Duration;

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::types::Json as SqlJson;
use uuid::Uuid;

use super::{AGENT_COMMANDS, Command, scheduler};
use crate::error::{AppError, AppResult};
use crate::extract::AppPath;
use crate::rbac::{Access, ApiRouter, CurrentUser, Permission};
use crate::state::AppState;
use crate::with_db;

/// Query-string extractor whose rejection is our JSON 400.
pub struct AppQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for AppQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, s: &S) -> Result<Self, AppError> {
        axum::extract::Query::<T>::from_request_parts(parts, s)
            .await
            .map(|q| Self(q.0))
            .map_err(|e| AppError::BadRequest(format!("invalid query string: {}", e.body_text())))
    }
}

pub fn routes(api: ApiRouter) -> ApiRouter {
    let manage_hosts = Access::Requires(Permission::ManageHosts);
    let view_hosts = Access::Requires(Permission::ViewHosts);
    let settings = Access::Requires(Permission::ManageSettings);
    api.post(
        "/api/v1/hosts/{host_id}/report-now",
        manage_hosts,
        report_now,
    )
    .post(
        "/api/v1/hosts/{host_id}/update-agent",
        manage_hosts,
        update_agent,
    )
    .post(
        "/api/v1/hosts/{host_id}/refresh-integrations",
        manage_hosts,
        refresh_integrations,
    )
    .post(
        "/api/v1/hosts/{host_id}/docker-refresh",
        manage_hosts,
        docker_refresh,
    )
    .get("/api/v1/hosts/{host_id}/jobs", view_hosts, host_jobs)
    .get(
        "/api/v1/hosts/{host_id}/timeline",
        view_hosts,
        host_timeline,
    )
    .get("/api/v1/queues", settings, queues)
    .get("/api/v1/queues/jobs", settings, jobs)
    .get("/api/v1/queues/jobs/{id}", settings, job_detail)
    .post("/api/v1/queues/jobs/{id}/retry", settings, retry_job)
    .delete("/api/v1/queues/jobs/{id}", settings, remove_job)
    .post("/api/v1/queues/{name}/run", settings, run_task)
}

/// The host's api_id, if the caller may see the host (else 404).
async fn scoped_host(state: &AppState, user: &CurrentUser, host_id: Uuid) -> AppResult<String> {
    let not_found = || AppError::NotFound("Host not found".into());
    const SQL: &str = "SELECT api_id FROM hosts WHERE id = $1";
    let api_id: String =
        with_db!(state.db(), p => sqlx::query_scalar(SQL).bind(host_id).fetch_optional(p).await)?
            .ok_or_else(not_found)?;
    if !user
        .host_scope(state)
        .await?
        .allows_host(state, host_id)
        .await?
    {
        return Err(not_found());
    }
    Ok(api_id)
}

async fn enqueue_for(
    state: AppState,
    user: CurrentUser,
    host_id: Uuid,
    cmd: Command,
) -> AppResult<(StatusCode, Json<CommandQueued>)> {
    let api_id = scoped_host(&state, &user, host_id).await?;
    let id = super::enqueue_command(&state, host_id, &api_id, cmd, Duration::ZERO).await?;
    let online = state.hub().is_connected(&api_id)
        || state.queue().redis().is_some()
            && super::agent_online_anywhere(&state, host_id, None).await?;
    let message = if online {
        format!("{} queued", cmd.name())
    } else {
        let ttl = state.config().queue.command_ttl.as_secs();
        format!(
            "{} queued; the agent is not connected, so it will be delivered when the agent reconnects (the job expires after {ttl} s)",
            cmd.name()
        )
    };
    Ok((
        StatusCode::ACCEPTED,
        Json(CommandQueued {
            job_id: id,
            status: "queued".into(),
            agent_connected: online,
            message,
        }),
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/hosts/{host_id}/report-now",
    tag = "Queue",
    params(("host_id" = String, Path, description = "host id")),
    responses(
        (status = 202, description = "Queued for delivery", body = CommandQueued),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn report_now(
    State(s): State<AppState>,
    u: CurrentUser,
    AppPath(h): AppPath<Uuid>,
) -> AppResult<(StatusCode, Json<CommandQueued>)> {
    enqueue_for(s, u, h, Command::ReportNow).await
}

#[utoipa::path(
    post,
    path = "/api/v1/hosts/{host_id}/update-agent",
    tag = "Queue",
    params(("host_id" = String, Path, description = "host id")),
    responses(
        (status = 202, description = "Queued for delivery", body = CommandQueued),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn update_agent(
    State(s): State<AppState>,
    u: CurrentUser,
    AppPath(h): AppPath<Uuid>,
) -> AppResult<(StatusCode, Json<CommandQueued>)> {
    enqueue_for(s, u, h, Command::UpdateAgent).await
}

#[utoipa::path(
    post,
    path = "/api/v1/hosts/{host_id}/refresh-integrations",
    tag = "Queue",
    params(("host_id" = String, Path, description = "host id")),
    responses(
        (status = 202, description = "Queued for delivery", body = CommandQueued),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn refresh_integrations(
    State(s): State<AppState>,
    u: CurrentUser,
    AppPath(h): AppPath<Uuid>,
) -> AppResult<(StatusCode, Json<CommandQueued>)> {
    enqueue_for(s, u, h, Command::RefreshIntegrationStatus).await
}

#[utoipa::path(
    post,
    path = "/api/v1/hosts/{host_id}/docker-refresh",
    tag = "Queue",
    params(("host_id" = String, Path, description = "host id")),
    responses(
        (status = 202, description = "Queued for delivery", body = CommandQueued),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn docker_refresh(
    State(s): State<AppState>,
    u: CurrentUser,
    AppPath(h): AppPath<Uuid>,
) -> AppResult<(StatusCode, Json<CommandQueued>)> {
    enqueue_for(s, u, h, Command::DockerInventoryRefresh).await
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct JobRow {
    id: Uuid,
    job_id: String,
    queue_name: String,
    job_name: String,
    host_id: Option<Uuid>,
    api_id: Option<String>,
    status: String,
    attempt_number: i64,
    max_attempts: i64,
    error_message: Option<String>,
    payload: Option<SqlJson<Value>>,
    output: Option<SqlJson<Value>>,
    run_at: Option<DateTime<Utc>>,
    expires_at: Option<DateTime<Utc>>,
    started_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    completed_at: Option<DateTime<Utc>>,
}

/// The values of a job's `status`, for the API description.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Queued,
    Delayed,
    Waiting,
    Active,
    Completed,
    Failed,
}

/// Agent commands run on demand; the rest on a schedule.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QueueKind {
    OnDemand,
    Scheduled,
}

/// Where jobs are kept.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QueueStorage {
    Database,
    Redis,
}

/// One job as the queue monitor shows it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Job {
    pub id: Uuid,
    /// Unique per queue (a schedule occurrence, or a command id).
    pub job_id: String,
    pub queue_name: String,
    pub job_name: String,
    pub host_id: Option<Uuid>,
    pub api_id: Option<String>,
    /// `waiting`: for the agent to connect.
    #[schema(value_type = JobStatus)]
    pub status: String,
    pub attempt: i64,
    pub max_attempts: i64,
    pub error_message: Option<String>,
    /// What the job was asked to do (agent commands: `{"command": …}`).
    #[schema(value_type = Option<Object>)]
    pub payload: Option<Value>,
    /// What the job reported when it finished.
    #[schema(value_type = Option<Object>)]
    pub output: Option<Value>,
    pub run_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

impl JobRow {
    fn into_job(self) -> Job {
        Job {
            id: self.id,
            job_id: self.job_id,
            queue_name: self.queue_name,
            job_name: self.job_name,
            host_id: self.host_id,
            api_id: self.api_id,
            status: self.status,
            attempt: self.attempt_number,
            max_attempts: self.max_attempts,
            error_message: self.error_message,
            payload: self.payload.map(|j| j.0),
            output: self.output.map(|j| j.0),
            run_at: self.run_at,
            expires_at: self.expires_at,
            started_at: self.started_at,
            created_at: self.created_at,
            updated_at: self.updated_at,
            completed_at: self.completed_at,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct JobAnswer {
    pub job: Job,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct JobList {
    pub jobs: Vec<Job>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

/// A command accepted for delivery to an agent.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CommandQueued {
    pub job_id: Uuid,
    /// Always `queued`.
    pub status: String,
    /// Whether the agent holds a socket to some replica right now.
    pub agent_connected: bool,
    pub message: String,
}

/// Job counts of one queue (or one host's commands) by state.
#[derive(Serialize, utoipa::ToSchema)]
pub struct QueueCounts {
    /// Queued plus waiting for the agent.
    pub waiting: i64,
    pub waiting_for_agent: i64,
    pub active: i64,
    pub delayed: i64,
    pub failed: i64,
    pub completed: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct QueueInfo {
    pub name: String,
    #[schema(value_type = QueueKind)]
    pub kind: String,
    #[serde(flatten)]
    pub counts: QueueCounts,
    /// Jobs ready in Redis' due index (Redis storage only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub redis_ready: Option<i64>,
    /// Cron expression (scheduled queues).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub schedule: Option<String>,
    /// What this replica's scheduler last did (scheduled queues it has run).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub scheduler: Option<scheduler::TaskStat>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct QueueOverview {
    #[schema(value_type = QueueStorage)]
    pub storage: String,
    pub replica_id: String,
    pub queues: Vec<QueueInfo>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct HostQueue {
    pub host_id: Uuid,
    pub queue_status: QueueCounts,
    pub job_history: Vec<Job>,
    pub total_jobs: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct HostTimeline {
    pub host_id: Uuid,
    /// Last status the monitor recorded (`up`, `stale`, `down`), if any.
    pub state: Option<String>,
    pub state_since: Option<DateTime<Utc>>,
    pub events: Vec<HostEvent>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct HostEvent {
    pub id: Uuid,
    pub event_type: String,
    pub message: String,
    pub created_at: DateTime<Utc>,
}

macro_rules! job_select {
    ($tail:literal) => {
        concat!(
            "SELECT id, job_id, queue_name, job_name, host_id, api_id, status, attempt_number, max_attempts, ",
            "error_message, payload, output, run_at, expires_at, started_at, created_at, updated_at, completed_at ",
            "FROM job_history ",
            $tail
        )
    };
}

/// Waiting/active/delayed/failed/completed counts for one queue (or one host).
async fn counts(state: &AppState, queue: &str, host: Option<Uuid>) -> AppResult<QueueCounts> {
    const SQL: &str = "SELECT status, COUNT(*) FROM job_history WHERE queue_name = $1 \
        AND ($2 IS NULL OR host_id = $2) GROUP BY status";
    let rows: Vec<(String, i64)> = with_db!(state.db(), p => sqlx::query_as(SQL).bind(queue)
        .bind(host).fetch_all(p).await)?;
    let get = |s: &str| rows.iter().find(|r| r.0 == s).map_or(0, |r| r.1);
    Ok(QueueCounts {
        waiting: get("queued") + get("waiting"),
        waiting_for_agent: get("waiting"),
        active: get("active"),
        delayed: get("delayed"),
        failed: get("failed"),
        completed: get("completed"),
    })
}

/// The per-host queue view (same shape as the integration API's agent_queue).
pub async fn host_queue(state: &AppState, host_id: Uuid, limit: i64) -> AppResult<HostQueue> {
    const SQL: &str = job_select!("WHERE host_id = $1 ORDER BY created_at DESC, id LIMIT $2");
    const TOTAL: &str = "SELECT COUNT(*) FROM job_history WHERE host_id = $1";
    let (rows, total): (Vec<JobRow>, i64) = with_db!(state.db(), p => {
        let r = sqlx::query_as(SQL).bind(host_id).bind(limit).fetch_all(p).await?;
        let t = sqlx::query_scalar(TOTAL).bind(host_id).fetch_one(p).await?;
        (r, t)
    });
    let c = counts(state, AGENT_COMMANDS, Some(host_id)).await?;
    Ok(HostQueue {
        host_id,
        queue_status: c,
        job_history: rows.into_iter().map(JobRow::into_job).collect(),
        total_jobs: total,
    })
}

#[derive(Debug, Deserialize)]
struct LimitQuery {
    limit: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/api/v1/hosts/{host_id}/jobs",
    tag = "Queue",
    params(("host_id" = String, Path, description = "host id")),
    responses(
        (status = 200, description = "Success", body = HostQueue),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn host_jobs(
    State(state): State<AppState>,
    u: CurrentUser,
    AppPath(host_id): AppPath<Uuid>,
    AppQuery(q): AppQuery<LimitQuery>,
) -> AppResult<Json<HostQueue>> {
    scoped_host(&state, &u, host_id).await?;
    let limit = q.limit.unwrap_or(10).clamp(1, 500);
    Ok(Json(host_queue(&state, host_id, limit).await?))
}

#[utoipa::path(
    get,
    path = "/api/v1/hosts/{host_id}/timeline",
    tag = "Queue",
    params(("host_id" = String, Path, description = "host id")),
    responses(
        (status = 200, description = "Success", body = HostTimeline),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn host_timeline(
    State(state): State<AppState>,
    u: CurrentUser,
    AppPath(host_id): AppPath<Uuid>,
    AppQuery(q): AppQuery<LimitQuery>,
) -> AppResult<Json<HostTimeline>> {
    scoped_host(&state, &u, host_id).await?;
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    const SQL: &str = "SELECT id, event_type, message, created_at FROM host_events WHERE host_id = $1 \
        ORDER BY created_at DESC, id LIMIT $2";
    const ST: &str = "SELECT state, changed_at FROM host_status_state WHERE host_id = $1";
    type Row = (Uuid, String, String, DateTime<Utc>);
    let (rows, cur): (Vec<Row>, Option<(String, DateTime<Utc>)>) = with_db!(state.db(), p => {
        let r = sqlx::query_as(SQL).bind(host_id).bind(limit).fetch_all(p).await?;
        let c = sqlx::query_as(ST).bind(host_id).fetch_optional(p).await?;
        (r, c)
    });
    let events = rows
        .into_iter()
        .map(|(id, event_type, message, created_at)| HostEvent {
            id,
            event_type,
            message,
            created_at,
        })
        .collect();
    Ok(Json(HostTimeline {
        host_id,
        state: cur.as_ref().map(|c| c.0.clone()),
        state_since: cur.map(|c| c.1),
        events,
    }))
}

#[utoipa::path(
    get,
    path = "/api/v1/queues",
    tag = "Queue",
    responses(
        (status = 200, description = "Success", body = QueueOverview),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn queues(State(state): State<AppState>, _u: CurrentUser) -> AppResult<Json<QueueOverview>> {
    let mut out = Vec::new();
    let redis_ready = match state.queue().redis() {
        Some(r) => Some(r.ready_len().await.unwrap_or(-1)),
        None => None,
    };
    out.push(QueueInfo {
        name: AGENT_COMMANDS.into(),
        kind: "on_demand".into(),
        counts: counts(&state, AGENT_COMMANDS, None).await?,
        redis_ready,
        schedule: None,
        scheduler: None,
    });
    for (name, expr) in scheduler::TASKS {
        out.push(QueueInfo {
            name: (*name).into(),
            kind: "scheduled".into(),
            counts: counts(&state, name, None).await?,
            redis_ready: None,
            schedule: Some(
                scheduler::effective(&state, name).unwrap_or_else(|| (*expr).to_owned()),
            ),
            scheduler: state.queue().scheduler.get(name),
        });
    }
    Ok(Json(QueueOverview {
        storage: state.queue().storage().into(),
        replica_id: state.queue().replica_id.clone(),
        queues: out,
    }))
}

#[derive(Debug, Deserialize)]
struct JobsQuery {
    queue: Option<String>,
    status: Option<String>,
    host_id: Option<Uuid>,
    job_name: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/api/v1/queues/jobs",
    tag = "Queue",
    responses(
        (status = 200, description = "Success", body = JobList),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn jobs(
    State(state): State<AppState>,
    _u: CurrentUser,
    AppQuery(q): AppQuery<JobsQuery>,
) -> AppResult<Json<JobList>> {
    const SQL: &str = job_select!(
        "WHERE ($1 IS NULL OR queue_name = $1) AND ($2 IS NULL OR status = $2) AND ($3 IS NULL OR host_id = $3) \
         AND ($4 IS NULL OR job_name = $4) ORDER BY created_at DESC, id LIMIT $5 OFFSET $6"
    );
    const COUNT: &str = "SELECT COUNT(*) FROM job_history WHERE ($1 IS NULL OR queue_name = $1) \
        AND ($2 IS NULL OR status = $2) AND ($3 IS NULL OR host_id = $3) AND ($4 IS NULL OR job_name = $4)";
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    let offset = q.offset.unwrap_or(0).max(0);
    let (rows, total): (Vec<JobRow>, i64) = with_db!(state.db(), p => {
        let r = sqlx::query_as(SQL).bind(&q.queue).bind(&q.status).bind(q.host_id).bind(&q.job_name)
            .bind(limit).bind(offset).fetch_all(p).await?;
        let t = sqlx::query_scalar(COUNT).bind(&q.queue).bind(&q.status).bind(q.host_id).bind(&q.job_name)
            .fetch_one(p).await?;
        (r, t)
    });
    Ok(Json(JobList {
        jobs: rows.into_iter().map(JobRow::into_job).collect(),
        total,
        limit,
        offset,
    }))
}

async fn load_job(state: &AppState, id: Uuid) -> AppResult<JobRow> {
    const SQL: &str = job_select!("WHERE id = $1");
    with_db!(state.db(), p => sqlx::query_as(SQL).bind(id).fetch_optional(p).await)?
        .ok_or_else(|| AppError::NotFound("Job not found".into()))
}

#[utoipa::path(
    get,
    path = "/api/v1/queues/jobs/{id}",
    tag = "Queue",
    params(("id" = String, Path, description = "id")),
    responses(
        (status = 200, description = "Success", body = JobAnswer),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn job_detail(
    State(state): State<AppState>,
    _u: CurrentUser,
    AppPath(id): AppPath<Uuid>,
) -> AppResult<Json<JobAnswer>> {
    Ok(Json(JobAnswer {
        job: load_job(&state, id).await?.into_job(),
    }))
}

/// Puts a failed agent command back in the queue with fresh attempts.
#[utoipa::path(
    post,
    path = "/api/v1/queues/jobs/{id}/retry",
    tag = "Queue",
    params(("id" = String, Path, description = "id")),
    responses(
        (status = 200, description = "Success", body = JobAnswer),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn retry_job(
    State(state): State<AppState>,
    _u: CurrentUser,
    AppPath(id): AppPath<Uuid>,
) -> AppResult<Json<JobAnswer>> {
    let job = load_job(&state, id).await?;
    if job.queue_name != AGENT_COMMANDS {
        return Err(AppError::Conflict(
            "Scheduled jobs are re-run with POST /api/v1/queues/{name}/run".into(),
        ));
    }
    let now = state.now();
    let expires = now
        + chrono::Duration::from_std(state.config().queue.command_ttl)
            .map_err(|e| AppError::internal(e.to_string()))?;
    const SQL: &str = "UPDATE job_history SET status = 'queued', attempt_number = 0, run_at = $2, \
        expires_at = $3, error_message = NULL, completed_at = NULL, updated_at = $2 \
        WHERE id = $1 AND status = 'failed'";
    let n = with_db!(state.db(), p => sqlx::query(SQL).bind(id).bind(now).bind(expires).execute(p).await.map(|r| r.rows_affected()))?;
    if n == 0 {
        return Err(AppError::Conflict("Only failed jobs can be retried".into()));
    }
    super::make_due(&state, id, now).await;
    Ok(Json(JobAnswer {
        job: load_job(&state, id).await?.into_job(),
    }))
}

/// Removes a job that is not running.
#[utoipa::path(
    delete,
    path = "/api/v1/queues/jobs/{id}",
    tag = "Queue",
    params(("id" = String, Path, description = "id")),
    responses(
        (status = 200, description = "Success", body = crate::openapi::Message),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn remove_job(
    State(state): State<AppState>,
    _u: CurrentUser,
    AppPath(id): AppPath<Uuid>,
) -> AppResult<Json<crate::openapi::Message>> {
    let job = load_job(&state, id).await?;
    if job.status == "active" {
        return Err(AppError::Conflict("An active job cannot be removed".into()));
    }
    const SQL: &str = "DELETE FROM job_history WHERE id = $1 AND status <> 'active'";
    let n = with_db!(state.db(), p => sqlx::query(SQL).bind(id).execute(p).await.map(|r| r.rows_affected()))?;
    if n == 0 {
        return Err(AppError::Conflict("An active job cannot be removed".into()));
    }
    if let Some(r) = state.queue().redis() {
        r.remove_ready(id)
            .await
            .map_err(|e| AppError::internal(e.to_string()))?;
    }
    Ok(crate::openapi::Message::new("Job removed"))
}

/// Runs a scheduled task now (recorded like a scheduled occurrence).
#[utoipa::path(
    post,
    path = "/api/v1/queues/{name}/run",
    tag = "Queue",
    params(("name" = String, Path, description = "name")),
    responses(
        (status = 200, description = "Success", body = JobAnswer),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn run_task(
    State(state): State<AppState>,
    _u: CurrentUser,
    AppPath(name): AppPath<String>,
) -> AppResult<(StatusCode, Json<JobAnswer>)> {
    let Some(&(name, _)) = scheduler::TASKS.iter().find(|(n, _)| *n == name) else {
        return Err(AppError::NotFound("Unknown scheduled queue".into()));
    };
    let occurrence = format!("manual:{}", Uuid::new_v4());
    let id = scheduler::run_occurrence(&state, name, &occurrence, None)
        .await?
        .ok_or_else(|| AppError::Conflict("Already running".into()))?;
    Ok((
        StatusCode::OK,
        Json(JobAnswer {
            job: load_job(&state, id).await?.into_job(),
        }),
    ))
}

/// The OpenAPI description of this module's routes (`crate::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    report_now,
    update_agent,
    refresh_integrations,
    docker_refresh,
    host_jobs,
    host_timeline,
    queues,
    jobs,
    job_detail,
    retry_job,
    remove_job,
    run_task
))]
pub(crate) struct Api;
