//! Bodies of the scheduled tasks, and host status transitions (§9.1).

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::alerts;
use crate::error::AppResult;
use crate::state::AppState;
use crate::with_db;

/// Runs a scheduled task by name; the output is stored in job_history.
pub async fn run(state: &AppState, name: &str) -> AppResult<Value> {
    match name {
        "host-status-monitor" => host_status_monitor(state).await,
        "session-cleanup" => Ok(json!(crate::auth::prune_expired(state).await?)),
        "orphaned-repo-cleanup" => orphaned_repos(state).await,
        "orphaned-package-cleanup" => orphaned_packages(state).await,
        "alert-cleanup" => alert_cleanup(state).await,
        "system-statistics" => system_statistics(state).await,
        other => Err(crate::error::AppError::NotFound(format!(
            "Unknown task {other}"
        ))),
    }
}

#[derive(Debug, sqlx::FromRow)]
struct HostRow {
    id: Uuid,
    friendly_name: String,
    last_update: Option<DateTime<Utc>>,
    connected: Option<bool>,
    disconnected_at: Option<DateTime<Utc>>,
    state: Option<String>,
}

const HOSTS_SQL: &str = concat!(
    "SELECT h.id, h.friendly_name, h.last_update, c.connected, c.disconnected_at, s.state ",
    "FROM hosts h LEFT JOIN host_connections c ON c.host_id = h.id ",
    "LEFT JOIN host_status_state s ON s.host_id = h.id WHERE h.status = 'active'"
);
const HOST_SQL: &str = concat!(
    "SELECT h.id, h.friendly_name, h.last_update, c.connected, c.disconnected_at, s.state ",
    "FROM hosts h LEFT JOIN host_connections c ON c.host_id = h.id ",
    "LEFT JOIN host_status_state s ON s.host_id = h.id WHERE h.status = 'active' AND h.id = $1"
);

/// ok / stale / down for one host, with the reason.
fn classify(
    h: &HostRow,
    now: DateTime<Utc>,
    interval_min: i64,
    threshold_s: i64,
) -> (&'static str, String) {
    let interval = Duration::minutes(interval_min.max(1));
    let silent_since = |mult: i32| h.last_update.is_none_or(|t| t < now - interval * mult);
    match (h.connected, h.disconnected_at) {
        (Some(false), Some(gone)) if gone < now - Duration::seconds(threshold_s) => {
            let secs = (now - gone).num_seconds();
            return (
                "down",
                format!("Agent WebSocket disconnected {secs} s ago (threshold {threshold_s} s)"),
            );
        }
        (None, _) if silent_since(3) => {
            return (
                "down",
                format!("No contact for more than 3 update intervals ({interval_min} min each)"),
            );
        }
        _ => {}
    }
    if silent_since(2) {
        return (
            "stale",
            format!("No report for more than 2 update intervals ({interval_min} min each)"),
        );
    }
    ("ok", "Reporting normally".into())
}

/// host-status-monitor: evaluates every active host.
pub async fn host_status_monitor(state: &AppState) -> AppResult<Value> {
    let rows: Vec<HostRow> =
        with_db!(state.db(), p => sqlx::query_as(HOSTS_SQL).fetch_all(p).await)?;
    let (interval, threshold) = thresholds(state).await?;
    let now = state.now();
    let mut transitions = 0;
    for h in &rows {
        if apply(state, h, now, interval, threshold).await? {
            transitions += 1;
        }
    }
    let conditions = host_conditions(state).await?;
    Ok(
        json!({ "hosts_checked": rows.len(), "transitions": transitions, "condition_alerts": conditions }),
    )
}

/// Raises or resolves the per-host condition alerts: security updates,
/// updates, reboot required. Only changes touch the alerts table.
async fn host_conditions(state: &AppState) -> AppResult<Value> {
    const HOSTS: &str = concat!(
        "SELECT h.id, h.friendly_name, h.needs_reboot, ",
        "(SELECT COUNT(*) FROM host_packages hp WHERE hp.host_id = h.id AND hp.needs_update = TRUE), ",
        "(SELECT COUNT(*) FROM host_packages hp WHERE hp.host_id = h.id AND hp.needs_update = TRUE ",
        "AND hp.is_security_update = TRUE) FROM hosts h WHERE h.status = 'active'"
    );
    const OPEN: &str = "SELECT alert_type, host_id FROM alerts WHERE status <> 'resolved' AND host_id IS NOT NULL \
        AND alert_type IN ('security_updates_available', 'updates_available', 'reboot_required')";
    type Row = (Uuid, String, bool, i64, i64);
    let (hosts, open): (Vec<Row>, Vec<(String, Uuid)>) = with_db!(state.db(), p => {
        let h = sqlx::query_as(HOSTS).fetch_all(p).await?;
        let o = sqlx::query_as(OPEN).fetch_all(p).await?;
        (h, o)
    });
    let open: std::collections::HashSet<(String, Uuid)> = open.into_iter().collect();
    let (mut raised, mut resolved) = (0, 0);
    for (id, name, reboot, updates, security) in hosts {
        let checks = [
            (
                "security_updates_available",
                security > 0,
                format!("{security} security update(s) on {name}"),
            ),
            (
                "updates_available",
                updates > 0,
                format!("{updates} update(s) on {name}"),
            ),
            ("reboot_required", reboot, format!("{name} needs a reboot")),
        ];
        for (t, active, title) in checks {
            let is_open = open.contains(&(t.to_owned(), id));
            if active && !is_open {
                let meta = json!({ "updates": updates, "security_updates": security });
                if alerts::raise(state, t, Some(id), &title, &title, meta)
                    .await?
                    .is_some()
                {
                    raised += 1;
                }
            } else if !active
                && is_open
                && alerts::auto_resolve(state, t, Some(id), "condition cleared")
                    .await?
                    .is_some()
            {
                resolved += 1;
            }
        }
    }
    Ok(json!({ "raised": raised, "resolved": resolved }))
}

/// Re-evaluates one host now (on connect), so recovery is not left to the next run.
pub async fn evaluate_host(state: &AppState, host_id: Uuid) -> AppResult<()> {
    let row: Option<HostRow> =
        with_db!(state.db(), p => sqlx::query_as(HOST_SQL).bind(host_id).fetch_optional(p).await)?;
    if let Some(h) = row {
        let (interval, threshold) = thresholds(state).await?;
        apply(state, &h, state.now(), interval, threshold).await?;
    }
    Ok(())
}

async fn thresholds(state: &AppState) -> AppResult<(i64, i64)> {
    let interval = crate::settings::agent_settings(state.db())
        .await?
        .update_interval;
    let threshold = alerts::host_down_threshold(state).await?;
    Ok((interval, threshold))
}

/// Stores a changed state and records the event; true when this call made the
/// transition (a conditional update, so two replicas never both report it).
async fn apply(
    state: &AppState,
    h: &HostRow,
    now: DateTime<Utc>,
    interval: i64,
    threshold: i64,
) -> AppResult<bool> {
    let (new, reason) = classify(h, now, interval, threshold);
    let prev = h.state.as_deref().unwrap_or("ok");
    if new == prev {
        if h.state.is_none() {
            const INIT: &str = "INSERT INTO host_status_state (host_id, state, changed_at) VALUES ($1, $2, $3) \
                ON CONFLICT (host_id) DO NOTHING";
            with_db!(state.db(), p => sqlx::query(INIT).bind(h.id).bind(new).bind(now).execute(p).await.map(|r| r.rows_affected()))?;
        }
        return Ok(false);
    }
    let event = match new {
        "down" => "host_down",
        "stale" => "host_stale",
        _ => "host_recovered",
    };
    const UPDATE: &str = "UPDATE host_status_state SET state = $2, changed_at = $3 WHERE host_id = $1 AND state = $4";
    const INSERT: &str = "INSERT INTO host_status_state (host_id, state, changed_at) VALUES ($1, $2, $3) \
        ON CONFLICT (host_id) DO NOTHING";
    const EVENT: &str = "INSERT INTO host_events (id, host_id, event_type, message, created_at) VALUES ($1, $2, $3, $4, $5)";
    let _w = state.db().write_guard().await;
    let begin = state.db().begin_write_sql();
    let made = with_db!(state.db(), p => {
        let mut tx = p.begin_with(begin).await?;
        let n = if h.state.is_some() {
            sqlx::query(UPDATE).bind(h.id).bind(new).bind(now).bind(prev).execute(&mut *tx).await?
        } else {
            sqlx::query(INSERT).bind(h.id).bind(new).bind(now).execute(&mut *tx).await?
        }
        .rows_affected();
        if n == 1 {
            sqlx::query(EVENT).bind(Uuid::new_v4()).bind(h.id).bind(event).bind(&reason).bind(now)
                .execute(&mut *tx).await?;
        }
        tx.commit().await?;
        n == 1
    });
    drop(_w);
    if !made {
        return Ok(false);
    }
    tracing::info!(host = %h.friendly_name, event, %reason, "host status changed");
    if new == "down" {
        let title = format!("Host {} is down", h.friendly_name);
        alerts::raise(state, "host_down", Some(h.id), &title, &reason, json!({})).await?;
    } else if prev == "down" {
        alerts::auto_resolve(state, "host_down", Some(h.id), "Host is back").await?;
    }
    Ok(true)
}

async fn orphaned_repos(state: &AppState) -> AppResult<Value> {
    const SQL: &str = "DELETE FROM repositories WHERE NOT EXISTS \
        (SELECT 1 FROM host_repositories hr WHERE hr.repository_id = repositories.id)";
    let n =
        with_db!(state.db(), p => sqlx::query(SQL).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(json!({ "repositories_deleted": n }))
}

async fn orphaned_packages(state: &AppState) -> AppResult<Value> {
    const SQL: &str = "DELETE FROM packages WHERE NOT EXISTS \
        (SELECT 1 FROM host_packages hp WHERE hp.package_id = packages.id)";
    let n =
        with_db!(state.db(), p => sqlx::query(SQL).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(json!({ "packages_deleted": n }))
}

/// alert-cleanup: ends silences that are over, deletes resolved alerts past
/// their type's retention, and prunes history tables past RETENTION_DAYS.
async fn alert_cleanup(state: &AppState) -> AppResult<Value> {
    let now = state.now();
    let alerts = alerts::cleanup(state).await?;
    let cutoff = now - Duration::days(state.config().queue.retention_days);
    const UH: &str = "DELETE FROM update_history WHERE timestamp < $1";
    const JH: &str =
        "DELETE FROM job_history WHERE status IN ('completed', 'failed') AND created_at < $1";
    const SS: &str = "DELETE FROM system_statistics WHERE timestamp < $1";
    const HE: &str = "DELETE FROM host_events WHERE created_at < $1";
    const ND: &str = "DELETE FROM notification_deliveries WHERE created_at < $1";
    let mut counts = Vec::new();
    for sql in [UH, JH, SS, HE, ND] {
        let n = with_db!(state.db(), p => sqlx::query(sql).bind(cutoff).execute(p).await.map(|r| r.rows_affected()))?;
        counts.push(n);
    }
    Ok(json!({
        "alerts": alerts,
        "retention_days": state.config().queue.retention_days,
        "update_history_deleted": counts[0],
        "job_history_deleted": counts[1],
        "system_statistics_deleted": counts[2],
        "host_events_deleted": counts[3],
        "notification_deliveries_deleted": counts[4],
    }))
}

/// system-statistics: one fleet snapshot row.
async fn system_statistics(state: &AppState) -> AppResult<Value> {
    let now = state.now();
    let interval = crate::settings::agent_settings(state.db())
        .await?
        .update_interval;
    let offline_cutoff = now - Duration::minutes(interval * 3);
    const SQL: &str = concat!(
        "SELECT (SELECT COUNT(*) FROM hosts), ",
        "(SELECT COUNT(DISTINCT host_id) FROM host_packages WHERE needs_update = TRUE), ",
        "(SELECT COUNT(*) FROM host_packages WHERE needs_update = TRUE AND is_security_update = TRUE), ",
        "(SELECT COUNT(DISTINCT package_id) FROM host_packages WHERE needs_update = TRUE), ",
        "(SELECT COUNT(*) FROM hosts WHERE status = 'active' AND (last_update IS NULL OR last_update < $1))"
    );
    let (total, needing, security, outdated, offline): (i64, i64, i64, i64, i64) =
        with_db!(state.db(), p => sqlx::query_as(SQL).bind(offline_cutoff).fetch_one(p).await)?;
    let up_to_date = (total - needing).max(0);
    const INS: &str = "INSERT INTO system_statistics (id, timestamp, total_hosts, hosts_needing_updates, \
        security_updates, total_outdated_packages, up_to_date_hosts, offline_hosts) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    with_db!(state.db(), p => sqlx::query(INS).bind(Uuid::new_v4()).bind(now).bind(total).bind(needing)
        .bind(security).bind(outdated).bind(up_to_date).bind(offline).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(json!({
        "total_hosts": total, "hosts_needing_updates": needing, "security_updates": security,
        "total_outdated_packages": outdated, "up_to_date_hosts": up_to_date, "offline_hosts": offline,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(
        connected: Option<bool>,
        gone: Option<i64>,
        last: Option<i64>,
    ) -> (HostRow, DateTime<Utc>) {
        let now = Utc::now();
        (
            HostRow {
                id: Uuid::nil(),
                friendly_name: "h".into(),
                last_update: last.map(|m| now - Duration::minutes(m)),
                connected,
                disconnected_at: gone.map(|s| now - Duration::seconds(s)),
                state: None,
            },
            now,
        )
    }

    #[test]
    fn classification() {
        let (h, now) = row(Some(true), None, Some(1));
        assert_eq!(classify(&h, now, 60, 30).0, "ok");
        let (h, now) = row(Some(false), Some(10), Some(1));
        assert_eq!(classify(&h, now, 60, 30).0, "ok", "inside the threshold");
        let (h, now) = row(Some(false), Some(31), Some(1));
        assert_eq!(classify(&h, now, 60, 30).0, "down");
        let (h, now) = row(None, None, Some(121));
        assert_eq!(classify(&h, now, 60, 30).0, "stale");
        let (h, now) = row(None, None, Some(181));
        assert_eq!(classify(&h, now, 60, 30).0, "down");
        let (h, now) = row(Some(true), None, Some(500));
        assert_eq!(
            classify(&h, now, 60, 30).0,
            "stale",
            "socket up, no reports"
        );
    }
}
