//! Hosts: creation, credentials, lookup, listing and deletion.

pub mod auth_cache;
pub mod credentials;
pub mod status;

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::db::Db;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::with_db;

/// Who an authenticated agent request is for.
#[derive(Debug, Clone)]
pub struct AgentIdentity {
    pub id: Uuid,
    pub api_id: String,
    pub api_key_hash: String,
}

/// Columns of [`AgentHost`] as a string literal, for `SELECT`/`RETURNING` lists
/// built with `concat!`.
#[macro_export]
macro_rules! agent_host_columns {
    () => {
        "id, api_id, api_key_hash, friendly_name, hostname, status, docker_enabled, \
         compliance_enabled, packages_hash, repos_hash, interfaces_hash, hostname_hash, docker_hash, \
         compliance_hash, primary_interface, last_update"
    };
}

/// What agent authentication loads: everything a ping or report needs about
/// the host, in one indexed query.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AgentHost {
    pub id: Uuid,
    pub api_id: String,
    pub api_key_hash: String,
    pub friendly_name: String,
    pub hostname: Option<String>,
    pub status: String,
    pub docker_enabled: bool,
    pub compliance_enabled: bool,
    pub packages_hash: Option<String>,
    pub repos_hash: Option<String>,
    pub interfaces_hash: Option<String>,
    pub hostname_hash: Option<String>,
    pub docker_hash: Option<String>,
    pub compliance_hash: Option<String>,
    pub primary_interface: Option<String>,
    pub last_update: Option<DateTime<Utc>>,
}

pub async fn find_by_api_id(db: &Db, api_id: &str) -> AppResult<Option<AgentHost>> {
    const SQL: &str = concat!(
        "SELECT ",
        agent_host_columns!(),
        " FROM hosts WHERE api_id = $1"
    );
    let row = with_db!(db, p => sqlx::query_as::<_, AgentHost>(SQL).bind(api_id).fetch_optional(p).await)?;
    Ok(row)
}

/// Credentials of a newly created host; the key is shown once and never stored.
#[derive(Debug, Clone, Serialize)]
pub struct NewHostCredentials {
    pub id: Uuid,
    pub api_id: String,
    pub api_key: String,
}

fn validate_name(name: &str) -> AppResult<String> {
    let n = name.trim();
    if n.is_empty() {
        return Err(AppError::BadRequest("Host name is required".into()));
    }
    if n.chars().count() > 255 {
        return Err(AppError::BadRequest(
            "Host name must be at most 255 characters".into(),
        ));
    }
    Ok(n.to_owned())
}

/// Creates a pending host (and its group, if named and missing) in one transaction.
pub async fn create_host(
    db: &Db,
    now: DateTime<Utc>,
    name: &str,
    group: Option<&str>,
) -> AppResult<NewHostCredentials> {
    let name = validate_name(name)?;
    let group = match group.map(str::trim) {
        Some("") => return Err(AppError::BadRequest("Group name must not be empty".into())),
        g => g.map(str::to_owned),
    };
    let (api_id, api_key) = credentials::generate()?;
    let key_hash = credentials::hash_secret(&api_key);
    let id = Uuid::new_v4();
    with_db!(db, p => {
        let mut tx = p.begin().await?;
        sqlx::query(
            "INSERT INTO hosts (id, api_id, api_key_hash, friendly_name, status, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 'pending', $5, $5)",
        )
        .bind(id)
        .bind(&api_id)
        .bind(&key_hash)
        .bind(&name)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if let Some(g) = &group {
            sqlx::query(
                "INSERT INTO host_groups (id, name, created_at, updated_at) VALUES ($1, $2, $3, $3) \
                 ON CONFLICT (name) DO NOTHING",
            )
            .bind(Uuid::new_v4())
            .bind(g)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO host_group_memberships (host_id, host_group_id, created_at) \
                 SELECT $1, id, $3 FROM host_groups WHERE name = $2",
            )
            .bind(id)
            .bind(g)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
    });
    Ok(NewHostCredentials {
        id,
        api_id,
        api_key,
    })
}

/// Deletes a host and everything that hangs off it, and closes its agent socket.
pub async fn delete_host(state: &AppState, id: Uuid) -> AppResult<()> {
    let api_id: Option<String> = with_db!(state.db(), p => {
        sqlx::query_scalar("DELETE FROM hosts WHERE id = $1 RETURNING api_id")
            .bind(id)
            .fetch_optional(p)
            .await
    })?;
    let api_id = api_id.ok_or_else(|| AppError::NotFound("Host not found".into()))?;
    state.auth_cache().remove(&api_id);
    state
        .hub()
        .close(&api_id, crate::agents::hub::CloseReason::HostDeleted);
    Ok(())
}

/// Issues a new api_id and api_key (PatchMon regenerates both) and closes the
/// agent's socket so the old credentials stop working at once.
pub async fn regenerate_credentials(state: &AppState, id: Uuid) -> AppResult<NewHostCredentials> {
    let (api_id, api_key) = credentials::generate()?;
    let key_hash = credentials::hash_secret(&api_key);
    let now = state.now();
    let old: Option<String> = with_db!(state.db(), p => {
        let mut tx = p.begin().await?;
        let old: Option<String> = sqlx::query_scalar("SELECT api_id FROM hosts WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        if old.is_some() {
            sqlx::query("UPDATE hosts SET api_id = $2, api_key_hash = $3, updated_at = $4 WHERE id = $1")
                .bind(id)
                .bind(&api_id)
                .bind(&key_hash)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(old)
    })?;
    let old = old.ok_or_else(|| AppError::NotFound("Host not found".into()))?;
    state.auth_cache().remove(&old);
    state
        .hub()
        .close(&old, crate::agents::hub::CloseReason::CredentialsRevoked);
    Ok(NewHostCredentials {
        id,
        api_id,
        api_key,
    })
}

/// One host as the CLI and (later) the UI list it.
#[derive(Debug, Clone, Serialize)]
pub struct HostSummary {
    pub id: Uuid,
    pub api_id: String,
    pub friendly_name: String,
    pub hostname: Option<String>,
    pub ip: Option<String>,
    pub os_type: Option<String>,
    pub os_version: Option<String>,
    pub agent_version: Option<String>,
    pub status: String,
    pub effective_status: status::EffectiveStatus,
    pub reporting_state: status::ReportingState,
    pub update_state: status::UpdateState,
    pub total_packages: i64,
    pub updates_available: i64,
    pub security_updates: i64,
    pub needs_reboot: bool,
    pub groups: Vec<String>,
    pub last_update: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct HostListRow {
    id: Uuid,
    api_id: String,
    friendly_name: String,
    hostname: Option<String>,
    ip: Option<String>,
    os_type: Option<String>,
    os_version: Option<String>,
    agent_version: Option<String>,
    status: String,
    needs_reboot: bool,
    last_update: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    total_packages: i64,
    updates_available: i64,
    security_updates: i64,
}

pub async fn list_hosts(db: &Db, now: DateTime<Utc>) -> AppResult<Vec<HostSummary>> {
    const SQL: &str = "SELECT h.id, h.api_id, h.friendly_name, h.hostname, h.ip, h.os_type, h.os_version, \
        h.agent_version, h.status, h.needs_reboot, h.last_update, h.created_at, \
        COALESCE(c.total, 0) AS total_packages, COALESCE(c.updates, 0) AS updates_available, \
        COALESCE(c.security, 0) AS security_updates \
        FROM hosts h LEFT JOIN ( \
            SELECT host_id, COUNT(*) AS total, \
                SUM(CASE WHEN needs_update THEN 1 ELSE 0 END) AS updates, \
                SUM(CASE WHEN needs_update AND is_security_update THEN 1 ELSE 0 END) AS security \
            FROM host_packages GROUP BY host_id) c ON c.host_id = h.id \
        ORDER BY h.friendly_name, h.id";
    const GROUPS: &str = "SELECT m.host_id, g.name FROM host_group_memberships m \
        JOIN host_groups g ON g.id = m.host_group_id ORDER BY g.name";
    let (rows, memberships) = with_db!(db, p => {
        let rows = sqlx::query_as::<_, HostListRow>(SQL).fetch_all(p).await?;
        let m: Vec<(Uuid, String)> = sqlx::query_as(GROUPS).fetch_all(p).await?;
        Ok::<_, sqlx::Error>((rows, m))
    })?;
    let interval = crate::settings::agent_settings(db).await?.update_interval;
    let mut groups: std::collections::HashMap<Uuid, Vec<String>> = Default::default();
    for (h, g) in memberships {
        groups.entry(h).or_default().push(g);
    }
    Ok(rows
        .into_iter()
        .map(|r| HostSummary {
            effective_status: status::effective_status(&r.status, r.last_update, interval, now),
            reporting_state: status::reporting_state(r.last_update, interval, now),
            update_state: status::update_state(r.updates_available, r.security_updates),
            groups: groups.remove(&r.id).unwrap_or_default(),
            id: r.id,
            api_id: r.api_id,
            friendly_name: r.friendly_name,
            hostname: r.hostname,
            ip: r.ip,
            os_type: r.os_type,
            os_version: r.os_version,
            agent_version: r.agent_version,
            status: r.status,
            total_packages: r.total_packages,
            updates_available: r.updates_available,
            security_updates: r.security_updates,
            needs_reboot: r.needs_reboot,
            last_update: r.last_update,
            created_at: r.created_at,
        })
        .collect())
}
