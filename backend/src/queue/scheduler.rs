//! Cron scheduler for the periodic tasks (PatchMon's queue names and
//! schedules). Each occurrence runs once across replicas: the first replica
//! to insert the `(queue_name, job_id = "<due time>")` row into job_history
//! runs it. Times come from the app clock, so tests move a ManualClock
//! instead of sleeping.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use sqlx::types::Json;
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::with_db;

/// `(queue name, cron schedule as PatchMon writes it: min hour dom mon dow)`.
pub const TASKS: &[(&str, &str)] = &[
    ("host-status-monitor", "*/5 * * * *"),
    ("session-cleanup", "0 * * * *"),
    ("orphaned-repo-cleanup", "0 2 * * *"),
    ("orphaned-package-cleanup", "0 3 * * *"),
    ("alert-cleanup", "0 3 * * *"),
    ("system-statistics", "*/30 * * * *"),
];

pub fn schedule_of(name: &str) -> Option<&'static str> {
    TASKS.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

/// Parses a 5-field cron expression (seconds = 0) or a 6-field one with seconds.
pub fn parse(expr: &str) -> Option<cron::Schedule> {
    let fields = expr.split_whitespace().count();
    match fields {
        5 => cron::Schedule::from_str(&format!("0 {expr}")).ok(),
        6 => cron::Schedule::from_str(expr).ok(),
        _ => None,
    }
}

/// The schedule in effect for a task (override or PatchMon's default).
pub fn effective(state: &AppState, name: &str) -> Option<String> {
    state
        .config()
        .queue
        .schedules
        .get(name)
        .cloned()
        .or_else(|| schedule_of(name).map(str::to_owned))
}

/// What the scheduler last did per task (for the queue monitor).
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct TaskStat {
    pub next_due: Option<DateTime<Utc>>,
    pub last_due: Option<DateTime<Utc>>,
    pub last_started: Option<DateTime<Utc>>,
    /// How late the last run started after its due time, milliseconds.
    pub last_drift_ms: Option<i64>,
    pub max_drift_ms: i64,
    pub runs: u64,
}

#[derive(Default)]
pub struct Stats(Mutex<HashMap<&'static str, TaskStat>>);

impl Stats {
    fn with<R>(&self, f: impl FnOnce(&mut HashMap<&'static str, TaskStat>) -> R) -> R {
        f(&mut self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }

    pub fn get(&self, name: &str) -> Option<TaskStat> {
        self.with(|m| m.get(name).cloned())
    }
}

pub async fn run(state: AppState) {
    let tick = state.config().queue.scheduler_tick;
    let schedules: Vec<(&'static str, cron::Schedule)> = TASKS
        .iter()
        .filter_map(|(n, _)| {
            effective(&state, n)
                .and_then(|e| parse(&e))
                .map(|s| (*n, s))
        })
        .collect();
    let mut next: HashMap<&'static str, DateTime<Utc>> = HashMap::new();
    let now = state.now();
    for (name, s) in &schedules {
        if let Some(t) = s.after(&now).next() {
            next.insert(name, t);
            state
                .queue()
                .scheduler
                .with(|m| m.entry(name).or_default().next_due = Some(t));
        }
    }
    loop {
        let now = state.now();
        for (name, s) in &schedules {
            let Some(due) = next.get(name).copied() else {
                continue;
            };
            if now < due {
                continue;
            }
            let upcoming = s.after(&now).next();
            if let Some(t) = upcoming {
                next.insert(name, t);
            }
            let drift = (now - due).num_milliseconds();
            state.queue().scheduler.with(|m| {
                let st = m.entry(name).or_default();
                st.next_due = upcoming;
                st.last_due = Some(due);
                st.last_started = Some(now);
                st.last_drift_ms = Some(drift);
                st.max_drift_ms = st.max_drift_ms.max(drift);
                st.runs += 1;
            });
            let s2 = state.clone();
            let name: &'static str = name;
            tokio::spawn(async move {
                if let Err(e) = run_occurrence(&s2, name, &due.to_rfc3339(), Some(due)).await {
                    tracing::warn!(task = name, error = %e, "scheduled task failed to record");
                }
            });
        }
        // Sleep to the earliest due time (precise on the wall clock), at most one tick.
        let now = state.now();
        let wait = next
            .values()
            .map(|t| (*t - now).to_std().unwrap_or_default())
            .min()
            .unwrap_or(tick)
            .min(tick);
        tokio::time::sleep(wait.max(std::time::Duration::from_millis(1))).await;
    }
}

/// Runs one occurrence unless another replica already took it. Returns the
/// job_history id when this call ran it.
pub async fn run_occurrence(
    state: &AppState,
    name: &'static str,
    occurrence: &str,
    due: Option<DateTime<Utc>>,
) -> AppResult<Option<Uuid>> {
    let now = state.now();
    let id = Uuid::new_v4();
    const CLAIM: &str = "INSERT INTO job_history (id, job_id, queue_name, job_name, status, attempt_number, \
        max_attempts, run_at, started_at, created_at, updated_at) \
        VALUES ($1, $2, $3, $3, 'active', 1, 1, $4, $5, $5, $5) ON CONFLICT (queue_name, job_id) DO NOTHING";
    let n = with_db!(state.db(), p => sqlx::query(CLAIM).bind(id).bind(occurrence).bind(name)
        .bind(due.unwrap_or(now)).bind(now).execute(p).await.map(|r| r.rows_affected()))?;
    if n == 0 {
        return Ok(None);
    }
    let started = std::time::Instant::now();
    // A panicking task is recorded as failed, not left 'active' forever.
    let result = crate::catch_panic(super::tasks::run(state, name))
        .await
        .unwrap_or_else(|panic| {
            tracing::error!(task = name, %panic, "scheduled task panicked");
            Err(AppError::internal("task panicked"))
        });
    let elapsed_ms = started.elapsed().as_millis() as i64;
    let drift_ms = due.map(|d| (now - d).num_milliseconds());
    let done = state.now();
    match result {
        Ok(mut out) => {
            out["duration_ms"] = json!(elapsed_ms);
            out["drift_ms"] = json!(drift_ms);
            const OK: &str = "UPDATE job_history SET status = 'completed', output = $2, completed_at = $3, \
                updated_at = $3 WHERE id = $1";
            with_db!(state.db(), p => sqlx::query(OK).bind(id).bind(Json(&out)).bind(done).execute(p).await.map(|r| r.rows_affected()))?;
        }
        Err(e) => {
            tracing::warn!(task = name, error = %e, "scheduled task failed");
            let msg = match &e {
                AppError::Internal(_) => "Internal error (see server log)".to_owned(),
                other => other.to_string(),
            };
            const FAIL: &str = "UPDATE job_history SET status = 'failed', error_message = $2, completed_at = $3, \
                updated_at = $3 WHERE id = $1";
            with_db!(state.db(), p => sqlx::query(FAIL).bind(id).bind(&msg).bind(done).execute(p).await.map(|r| r.rows_affected()))?;
        }
    }
    Ok(Some(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schedule_parses() {
        for (name, expr) in TASKS {
            assert!(parse(expr).is_some(), "{name}: {expr}");
        }
        let s = parse("*/5 * * * *").unwrap();
        let t0: DateTime<Utc> = "2026-01-01T10:02:30Z".parse().unwrap();
        let next = s.after(&t0).next().unwrap();
        assert_eq!(next.to_rfc3339(), "2026-01-01T10:05:00+00:00");
    }
}
