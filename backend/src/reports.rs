//! Report ingest (`POST /hosts/update`): validation, hash verification and
//! reconciliation by diff, all in one transaction.
//!
//! A report rewrites only what changed. When a section's canonical hash equals
//! the stored one, the section is not even read back; otherwise the stored
//! rows are compared with the incoming ones and only differing rows are
//! written. Rejected reports change nothing but an `update_history` error row.

use std::collections::HashMap;
use std::time::Instant;

use chrono::{DateTime, Utc};
use patchmon_protocol::hashing::{
    canonical_repos, hash_canonical_packages, hash_canonical_repos, hostname_hash, interfaces_hash,
    into_canonical_packages,
};
use patchmon_protocol::{
    MAX_PACKAGES, NetworkInterface, Package, REPORT_SECTIONS, ReportPayload, ReportResponse,
    Repository,
};
use serde_json::{Value, json};
use sqlx::types::Json;
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::hosts::AgentIdentity;
use crate::state::AppState;
use crate::with_db;

/// Rows per multi-row statement (keeps bind counts far below both engines' limits).
const CHUNK: usize = 400;

/// What a validated report will write.
struct Plan {
    partial: bool,
    packages: Option<(Vec<Package>, String)>,
    repos: Option<(Vec<Repository>, String)>,
    interfaces: Option<(Vec<NetworkInterface>, String)>,
    hostname: Option<(String, String)>,
    sections_sent: Vec<&'static str>,
    meta: ReportPayload,
}

fn section_name(s: &str) -> Option<&'static str> {
    REPORT_SECTIONS.iter().copied().find(|k| *k == s)
}

/// A claimed hash must match the one computed from the section (empty = not claimed).
fn check(section: &str, supplied: &str, computed: &str) -> Result<(), String> {
    if !supplied.is_empty() && !supplied.eq_ignore_ascii_case(computed) {
        return Err(format!("{section} hash mismatch"));
    }
    Ok(())
}

/// Canonicalises and hashes a list section, verifying the agent's hash when
/// one was supplied (`supplied` is `Some` for partial reports).
fn canonical_section<T>(
    name: &'static str,
    supplied: Option<&str>,
    list: Option<Vec<T>>,
    canonical: impl FnOnce(Vec<T>) -> Vec<T>,
    hash: impl Fn(&[T]) -> String,
    sent: &mut Vec<&'static str>,
) -> Result<Option<(Vec<T>, String)>, String> {
    let Some(list) = list else { return Ok(None) };
    let rows = canonical(list);
    let h = hash(&rows);
    if let Some(supplied) = supplied {
        check(name, supplied, &h)?;
    }
    sent.push(name);
    Ok(Some((rows, h)))
}

/// Validates the payload and computes the canonical sections and hashes.
fn plan(mut p: ReportPayload) -> Result<Plan, String> {
    let partial = p.sections.is_some();
    if p.packages.len() > MAX_PACKAGES {
        return Err(format!(
            "Too many packages: {} sent, at most {MAX_PACKAGES} are accepted per report",
            p.packages.len()
        ));
    }
    if let Some(i) = p.packages.iter().position(|pk| pk.name.trim().is_empty()) {
        return Err(format!("Package at index {i} has no name"));
    }
    let claimed: Vec<&'static str> = match &p.sections {
        None => Vec::new(),
        Some(list) => {
            let mut v: Vec<&'static str> = list.iter().filter_map(|s| section_name(s)).collect();
            v.sort_unstable();
            v.dedup();
            if v.is_empty() {
                return Err(format!(
                    "sections must name at least one of: {}",
                    REPORT_SECTIONS.join(", ")
                ));
            }
            v
        }
    };
    let claims = |s: &str| claimed.contains(&s);
    let hashes = p.hashes.clone().unwrap_or_default();

    let packages_in = std::mem::take(&mut p.packages);
    let repos_in = std::mem::take(&mut p.repositories);
    let mut sections_sent = Vec::new();

    let packages = if partial {
        match (claims("packages"), packages_in.is_empty()) {
            (true, true) => {
                return Err("packages section claimed but packages array is empty".into());
            }
            (false, false) => return Err("packages sent but not listed in sections".into()),
            (false, true) => None,
            (true, false) => Some(packages_in),
        }
    } else {
        if packages_in.is_empty() {
            return Err("Packages array is required".into());
        }
        Some(packages_in)
    };
    let packages = canonical_section(
        "packages",
        partial.then_some(hashes.packages_hash.as_str()),
        packages,
        into_canonical_packages,
        hash_canonical_packages,
        &mut sections_sent,
    )?;

    let repos = if partial {
        match (claims("repos"), repos_in.is_empty()) {
            (false, false) => {
                return Err("repositories sent but repos not listed in sections".into());
            }
            (false, true) => None,
            (true, _) => Some(repos_in),
        }
    } else if repos_in.is_empty() {
        // A full report without repositories keeps the stored ones (the agent
        // may have failed to read them); it never wipes them.
        None
    } else {
        Some(repos_in)
    };
    let repos = canonical_section(
        "repos",
        partial.then_some(hashes.repos_hash.as_str()),
        repos,
        |r| canonical_repos(&r),
        hash_canonical_repos,
        &mut sections_sent,
    )?;

    let interfaces = if !partial || claims("interfaces") {
        match p.network_interfaces.take() {
            Some(list) => {
                let h = interfaces_hash(&list);
                if partial {
                    check("interfaces", &hashes.interfaces_hash, &h)?;
                }
                sections_sent.push("interfaces");
                Some((list, h))
            }
            None if partial => {
                return Err("interfaces section claimed but networkInterfaces is missing".into());
            }
            None => None,
        }
    } else {
        p.network_interfaces = None;
        None
    };

    let hostname = if !partial || claims("hostname") {
        // PatchMon silently drops a claimed-but-empty hostname.
        match p.hostname.take().filter(|h| !h.trim().is_empty()) {
            Some(h) => {
                let hh = hostname_hash(&h);
                if partial {
                    check("hostname", &hashes.hostname_hash, &hh)?;
                }
                sections_sent.push("hostname");
                Some((patchmon_protocol::hashing::canon(&h), hh))
            }
            None => None,
        }
    } else {
        p.hostname = None;
        None
    };

    Ok(Plan {
        partial,
        packages,
        repos,
        interfaces,
        hostname,
        sections_sent,
        meta: p,
    })
}

/// First IPv4 address of the named interface.
fn primary_ip(interfaces: &[NetworkInterface], name: &str) -> Option<String> {
    interfaces
        .iter()
        .find(|i| i.name == name)?
        .addresses
        .iter()
        .flatten()
        .find(|a| a.family == "inet")
        .map(|a| a.address.clone())
}

fn opt_str(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

/// Windows Update fields of a package as one JSON value, or None.
fn wua_of(p: &Package) -> Option<Value> {
    let any = !p.wua_guid.is_empty()
        || !p.wua_kb.is_empty()
        || !p.wua_severity.is_empty()
        || p.wua_categories.as_ref().is_some_and(|c| !c.is_empty())
        || !p.wua_support_url.is_empty()
        || p.wua_revision_number != 0;
    any.then(|| {
        json!({
            "guid": p.wua_guid, "kb": p.wua_kb, "severity": p.wua_severity,
            "categories": p.wua_categories, "supportUrl": p.wua_support_url,
            "revisionNumber": p.wua_revision_number,
        })
    })
}

/// A boolean as SQLite's JSON functions (0/1) or PostgreSQL's (true/false) give it.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum JsonBool {
    Bool(bool),
    Int(i64),
}

impl JsonBool {
    fn get(&self) -> bool {
        match self {
            Self::Bool(b) => *b,
            Self::Int(i) => *i != 0,
        }
    }
}

/// One stored host package, as a JSON array row:
/// `[package_id, name, current_version, available_version, needs_update,
///   is_security_update, source_repository, wua]`.
#[derive(serde::Deserialize)]
struct StoredPackage(
    String,
    String,
    String,
    Option<String>,
    JsonBool,
    JsonBool,
    Option<String>,
    Option<Value>,
);

impl StoredPackage {
    fn id(&self) -> AppResult<Uuid> {
        Uuid::parse_str(&self.0).map_err(AppError::internal)
    }

    fn name(&self) -> &str {
        &self.1
    }

    fn same_as(&self, p: &Package, wua: &Option<Value>) -> bool {
        self.2 == p.current_version
            && self.3.as_deref() == opt_str(&p.available_version)
            && self.4.get() == p.needs_update
            && self.5.get() == p.is_security_update
            && self.6.as_deref() == opt_str(&p.source_repository)
            && self.7.as_ref() == wua.as_ref()
    }
}

/// Loads a host's packages as one aggregated JSON value: one row crosses the
/// driver instead of thousands (per-row decoding dominated report cost).
const LOAD_PACKAGES_SQLITE: &str = "SELECT json_group_array(json_array(hex(hp.package_id), p.name, \
    hp.current_version, hp.available_version, hp.needs_update, hp.is_security_update, hp.source_repository, \
    json(hp.wua))) FROM host_packages hp JOIN packages p ON p.id = hp.package_id WHERE hp.host_id = $1";
const LOAD_PACKAGES_POSTGRES: &str = "SELECT COALESCE(json_agg(json_build_array(hp.package_id::text, p.name, \
    hp.current_version, hp.available_version, hp.needs_update, hp.is_security_update, hp.source_repository, \
    hp.wua)), '[]'::json)::text FROM host_packages hp JOIN packages p ON p.id = hp.package_id WHERE hp.host_id = $1";

#[derive(sqlx::FromRow)]
struct StoredRepo {
    repository_id: Uuid,
    url: String,
    distribution: String,
    components: String,
    is_enabled: bool,
}

/// The host's stored section hashes (packages, repos, interfaces, hostname)
/// and its primary interface.
type StoredHashes = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// Rows written by one report, for tests and the history row.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WriteStats {
    pub packages_inserted: usize,
    pub packages_updated: usize,
    pub packages_deleted: usize,
    pub repos_changed: usize,
}

/// Writes an `update_history` error row for a rejected report. Best effort:
/// failing to record the rejection must not hide the rejection itself.
pub async fn record_rejection(
    state: &AppState,
    host_id: Uuid,
    report_type: &str,
    message: &str,
    payload_bytes: usize,
) {
    let now = state.now();
    let _write = state.db().write_guard().await;
    let res = with_db!(state.db(), p => {
        sqlx::query(
            "INSERT INTO update_history (id, host_id, report_type, status, payload_size_kb, error_message, timestamp) \
             VALUES ($1, $2, $3, 'error', $4, $5, $6)",
        )
        .bind(Uuid::new_v4())
        .bind(host_id)
        .bind(report_type)
        .bind(payload_bytes as f64 / 1024.0)
        .bind(message)
        .bind(now)
        .execute(p)
        .await
        .map(|_| ())
    });
    if let Err(e) = res {
        tracing::warn!(error = %e, "could not record rejected report");
    }
}

/// Validates and stores one report.
pub async fn ingest(
    state: &AppState,
    host: &AgentIdentity,
    payload: ReportPayload,
    payload_bytes: usize,
) -> AppResult<(ReportResponse, WriteStats)> {
    let started = Instant::now();
    let report_type = if payload.sections.is_some() {
        "partial"
    } else {
        "full"
    };
    let plan = match plan(payload) {
        Ok(p) => p,
        Err(msg) => {
            record_rejection(state, host.id, report_type, &msg, payload_bytes).await;
            return Err(AppError::BadRequest(msg));
        }
    };
    let now = state.now();
    store(state, host, &plan, now, payload_bytes, started).await
}

async fn store(
    state: &AppState,
    host: &AgentIdentity,
    plan: &Plan,
    now: DateTime<Utc>,
    payload_bytes: usize,
    started: Instant,
) -> AppResult<(ReportResponse, WriteStats)> {
    let m = &plan.meta;
    let full = !plan.partial;
    let mut stats = WriteStats::default();
    // Only full reports (and pings) carry trustworthy metrics; a partial report
    // writes only its own sections (PatchMon's partials blank disks and swap).
    let report_ip = |primary: Option<&str>| -> Option<String> {
        match (&plan.interfaces, primary) {
            (Some((ifs, _)), Some(primary)) => primary_ip(ifs, primary).or_else(|| m.ip.clone()),
            (Some(_), None) => m.ip.clone(),
            (None, _) if full => m.ip.clone(),
            (None, _) => None,
        }
    };
    let boot_time = m
        .boot_time
        .as_deref()
        .filter(|_| full)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc));

    let (total, updates, security) = match &plan.packages {
        Some((rows, _)) => (
            rows.len() as i64,
            rows.iter().filter(|p| p.needs_update).count() as i64,
            rows.iter()
                .filter(|p| p.needs_update && p.is_security_update)
                .count() as i64,
        ),
        None => (-1, -1, -1),
    };

    // SQLite: our write lock serialises writers. PostgreSQL: lock the host row.
    let load_sql = if state.db().is_postgres() {
        LOAD_PACKAGES_POSTGRES
    } else {
        LOAD_PACKAGES_SQLITE
    };
    let lock_sql = if state.db().is_postgres() {
        "SELECT packages_hash, repos_hash, interfaces_hash, hostname_hash, primary_interface FROM hosts WHERE id = $1 FOR UPDATE"
    } else {
        "SELECT packages_hash, repos_hash, interfaces_hash, hostname_hash, primary_interface FROM hosts WHERE id = $1"
    };
    let _write = state.db().write_guard().await;
    let begin = state.db().begin_write_sql();
    let (_total, updates, security) = with_db!(state.db(), pool => {
        let mut tx = pool.begin_with(begin).await?;

        // Lock the host row (PostgreSQL) and read the hashes as they are now, not
        // as they were at authentication: a concurrent report may have moved them.
        let current: Option<StoredHashes> =
            sqlx::query_as(lock_sql).bind(host.id).fetch_optional(&mut *tx).await?;
        let Some((cur_packages, cur_repos, cur_interfaces, cur_hostname, primary_interface)) = current
        else {
            // Deleted since its credentials were cached.
            state.auth_cache().remove(&host.api_id);
            return Err(AppError::Unauthorized(crate::agents::auth::INVALID));
        };
        let same = |new: Option<&String>, stored: &Option<String>| {
            new.is_some_and(|h| stored.as_deref() == Some(h.as_str()))
        };
        let mut unchanged: Vec<&'static str> = Vec::new();
        if same(plan.packages.as_ref().map(|s| &s.1), &cur_packages) {
            unchanged.push("packages");
        }
        if same(plan.repos.as_ref().map(|s| &s.1), &cur_repos) {
            unchanged.push("repos");
        }
        if same(plan.interfaces.as_ref().map(|s| &s.1), &cur_interfaces) {
            unchanged.push("interfaces");
        }
        if same(plan.hostname.as_ref().map(|s| &s.1), &cur_hostname) {
            unchanged.push("hostname");
        }

        // ---- packages ----
        if let Some((rows, _)) = &plan.packages
            && !unchanged.contains(&"packages")
        {
            let reconcile_started = Instant::now();
            let stored: String = sqlx::query_scalar(load_sql).bind(host.id).fetch_one(&mut *tx).await?;
            let stored: Vec<StoredPackage> = serde_json::from_str(&stored).map_err(AppError::internal)?;
            let mut by_name: HashMap<&str, &StoredPackage> =
                stored.iter().map(|s| (s.name(), s)).collect();
            let mut to_write: Vec<(&Package, Option<Value>)> = Vec::new();
            let mut to_update: Vec<(Uuid, &Package, Option<Value>)> = Vec::new();
            let mut to_delete: Vec<Uuid> = Vec::new();
            let mut known_ids: HashMap<&str, Uuid> = HashMap::new();
            for p in rows {
                let wua = wua_of(p);
                match by_name.remove(p.name.as_str()) {
                    Some(s) if s.same_as(p, &wua) => {}
                    Some(s) => {
                        stats.packages_updated += 1;
                        to_update.push((s.id()?, p, wua));
                    }
                    None => {
                        stats.packages_inserted += 1;
                        to_write.push((p, wua));
                    }
                }
            }
            stats.packages_deleted = by_name.len();
            for s in by_name.values() {
                to_delete.push(s.id()?);
            }

            let load_time = reconcile_started.elapsed();
            for chunk in to_delete.chunks(CHUNK) {
                let mut qb = sqlx::QueryBuilder::new("DELETE FROM host_packages WHERE host_id = ");
                qb.push_bind(host.id).push(" AND package_id IN (");
                let mut sep = qb.separated(", ");
                for id in chunk {
                    sep.push_bind(*id);
                }
                qb.push(")");
                qb.build().execute(&mut *tx).await?;
            }

            // Resolve package ids for names this host did not have, creating missing packages.
            let missing: Vec<&Package> = to_write
                .iter()
                .map(|(p, _)| *p)
                .filter(|p| !known_ids.contains_key(p.name.as_str()))
                .collect();
            // Changed rows are updated in place, many per statement.
            for chunk in to_update.chunks(CHUNK) {
                let mut qb = sqlx::QueryBuilder::new(
                    "UPDATE host_packages SET current_version = v.column2, available_version = v.column3, \
                     needs_update = v.column4, is_security_update = v.column5, source_repository = v.column6, \
                     wua = v.column7, updated_at = v.column8 FROM (",
                );
                qb.push_values(chunk, |mut b, (id, p, wua)| {
                    b.push_bind(*id)
                        .push_bind(p.current_version.clone())
                        .push_bind(opt_str(&p.available_version).map(str::to_owned))
                        .push_bind(p.needs_update)
                        .push_bind(p.is_security_update)
                        .push_bind(opt_str(&p.source_repository).map(str::to_owned))
                        .push_bind(wua.clone().map(Json))
                        .push_bind(now);
                });
                qb.push(") AS v WHERE host_packages.host_id = ")
                    .push_bind(host.id)
                    .push(" AND host_packages.package_id = v.column1");
                qb.build().execute(&mut *tx).await?;
            }
            for chunk in missing.chunks(CHUNK) {
                let mut qb = sqlx::QueryBuilder::new(
                    "INSERT INTO packages (id, name, description, category, created_at, updated_at) ",
                );
                qb.push_values(chunk, |mut b, p| {
                    b.push_bind(Uuid::new_v4())
                        .push_bind(p.name.clone())
                        .push_bind(opt_str(&p.description).map(str::to_owned))
                        .push_bind(opt_str(&p.category).map(str::to_owned))
                        .push_bind(now)
                        .push_bind(now);
                });
                qb.push(" ON CONFLICT (name) DO NOTHING");
                qb.build().execute(&mut *tx).await?;

                let mut qb = sqlx::QueryBuilder::new("SELECT id, name FROM packages WHERE name IN (");
                let mut sep = qb.separated(", ");
                for p in chunk {
                    sep.push_bind(p.name.clone());
                }
                qb.push(")");
                let found: Vec<(Uuid, String)> = qb.build_query_as().fetch_all(&mut *tx).await?;
                let by: HashMap<String, Uuid> = found.into_iter().map(|(i, n)| (n, i)).collect();
                for p in chunk {
                    let id = by.get(&p.name).copied().ok_or_else(|| {
                        AppError::internal(format!("package {:?} vanished during insert", p.name))
                    })?;
                    known_ids.insert(p.name.as_str(), id);
                }
            }

            for chunk in to_write.chunks(CHUNK) {
                let mut qb = sqlx::QueryBuilder::new(
                    "INSERT INTO host_packages (host_id, package_id, current_version, available_version, \
                     needs_update, is_security_update, source_repository, wua, updated_at) ",
                );
                let mut err = None;
                qb.push_values(chunk, |mut b, (p, wua)| {
                    let id = known_ids.get(p.name.as_str()).copied();
                    if id.is_none() {
                        err = Some(p.name.clone());
                    }
                    b.push_bind(host.id)
                        .push_bind(id.unwrap_or_default())
                        .push_bind(p.current_version.clone())
                        .push_bind(opt_str(&p.available_version).map(str::to_owned))
                        .push_bind(p.needs_update)
                        .push_bind(p.is_security_update)
                        .push_bind(opt_str(&p.source_repository).map(str::to_owned))
                        .push_bind(wua.clone().map(Json))
                        .push_bind(now);
                });
                if let Some(name) = err {
                    return Err(AppError::internal(format!("no package id for {name:?}")));
                }
                qb.build().execute(&mut *tx).await?;
            }
            tracing::debug!(?load_time, total = ?reconcile_started.elapsed(), ?stats, "packages reconciled");
        }

        // ---- repositories ----
        if let Some((rows, _)) = &plan.repos
            && !unchanged.contains(&"repos")
        {
            let stored: Vec<StoredRepo> = sqlx::query_as(
                "SELECT hr.repository_id, r.url, r.distribution, r.components, hr.is_enabled \
                 FROM host_repositories hr JOIN repositories r ON r.id = hr.repository_id WHERE hr.host_id = $1",
            )
            .bind(host.id)
            .fetch_all(&mut *tx)
            .await?;
            let mut by_key: HashMap<(&str, &str, &str), &StoredRepo> = stored
                .iter()
                .map(|s| ((s.url.as_str(), s.distribution.as_str(), s.components.as_str()), s))
                .collect();
            for r in rows {
                let key = (r.url.as_str(), r.distribution.as_str(), r.components.as_str());
                match by_key.remove(&key) {
                    Some(s) if s.is_enabled == r.is_enabled => {}
                    Some(s) => {
                        stats.repos_changed += 1;
                        sqlx::query(
                            "UPDATE host_repositories SET is_enabled = $3, updated_at = $4 \
                             WHERE host_id = $1 AND repository_id = $2",
                        )
                        .bind(host.id)
                        .bind(s.repository_id)
                        .bind(r.is_enabled)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    }
                    None => {
                        stats.repos_changed += 1;
                        sqlx::query(
                            "INSERT INTO repositories (id, name, url, distribution, components, repo_type, \
                             is_secure, is_active, created_at, updated_at) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, TRUE, $8, $8) \
                             ON CONFLICT (url, distribution, components) DO NOTHING",
                        )
                        .bind(Uuid::new_v4())
                        .bind(&r.name)
                        .bind(&r.url)
                        .bind(&r.distribution)
                        .bind(&r.components)
                        .bind(&r.repo_type)
                        .bind(r.is_secure)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                        let repo_id: Uuid = sqlx::query_scalar(
                            "SELECT id FROM repositories WHERE url = $1 AND distribution = $2 AND components = $3",
                        )
                        .bind(&r.url)
                        .bind(&r.distribution)
                        .bind(&r.components)
                        .fetch_one(&mut *tx)
                        .await?;
                        sqlx::query(
                            "INSERT INTO host_repositories (host_id, repository_id, is_enabled, updated_at) \
                             VALUES ($1, $2, $3, $4)",
                        )
                        .bind(host.id)
                        .bind(repo_id)
                        .bind(r.is_enabled)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    }
                }
            }
            for s in by_key.values() {
                stats.repos_changed += 1;
                sqlx::query("DELETE FROM host_repositories WHERE host_id = $1 AND repository_id = $2")
                    .bind(host.id)
                    .bind(s.repository_id)
                    .execute(&mut *tx)
                    .await?;
            }
        }

        // ---- the host row ----
        sqlx::query(
            "UPDATE hosts SET status = 'active', last_update = $2, updated_at = $2, \
             last_full_report_at = CASE WHEN $3 THEN $2 ELSE last_full_report_at END, \
             os_type = COALESCE($4, os_type), os_version = COALESCE($5, os_version), \
             hostname = COALESCE($6, hostname), ip = COALESCE($7, ip), \
             architecture = COALESCE($8, architecture), agent_version = COALESCE($9, agent_version), \
             machine_id = COALESCE($10, machine_id), kernel_version = COALESCE($11, kernel_version), \
             installed_kernel_version = COALESCE($12, installed_kernel_version), \
             selinux_status = COALESCE($13, selinux_status), system_uptime = COALESCE($14, system_uptime), \
             boot_time = COALESCE($15, boot_time), load_average = COALESCE($16, load_average), \
             cpu_model = COALESCE($17, cpu_model), cpu_cores = COALESCE($18, cpu_cores), \
             ram_installed = COALESCE($19, ram_installed), swap_size = COALESCE($20, swap_size), \
             disk_details = COALESCE($21, disk_details), gateway_ip = COALESCE($22, gateway_ip), \
             dns_servers = COALESCE($23, dns_servers), network_interfaces = COALESCE($24, network_interfaces), \
             needs_reboot = COALESCE($25, needs_reboot), \
             reboot_reason = CASE WHEN $25 IS NULL THEN reboot_reason ELSE $26 END, \
             package_manager = COALESCE($27, package_manager), \
             packages_hash = COALESCE($28, packages_hash), repos_hash = COALESCE($29, repos_hash), \
             interfaces_hash = COALESCE($30, interfaces_hash), hostname_hash = COALESCE($31, hostname_hash), \
             pkg_total = COALESCE($32, pkg_total), pkg_outdated = COALESCE($33, pkg_outdated), \
             pkg_security = COALESCE($34, pkg_security) \
             WHERE id = $1",
        )
        .bind(host.id)
        .bind(now)
        .bind(full)
        .bind(m.os_type.clone().filter(|_| full))
        .bind(m.os_version.clone().filter(|_| full))
        .bind(plan.hostname.as_ref().map(|(h, _)| h.clone()))
        .bind(report_ip(primary_interface.as_deref()))
        .bind(m.architecture.clone().filter(|_| full))
        .bind(m.agent_version.clone())
        .bind(m.machine_id.clone().filter(|_| full))
        .bind(m.kernel_version.clone().filter(|_| full))
        .bind(m.installed_kernel_version.clone().filter(|_| full))
        .bind(m.selinux_status.clone().filter(|_| full))
        .bind(m.system_uptime.clone().filter(|_| full))
        .bind(boot_time)
        .bind(m.load_average.clone().filter(|_| full).map(Json))
        .bind(m.cpu_model.clone().filter(|_| full))
        .bind(m.cpu_cores.filter(|_| full))
        .bind(m.ram_installed.filter(|_| full))
        .bind(m.swap_size.filter(|_| full))
        .bind(m.disk_details.clone().filter(|_| full).map(Json))
        .bind(m.gateway_ip.clone().filter(|_| full))
        .bind(m.dns_servers.clone().filter(|_| full).map(Json))
        .bind(plan.interfaces.as_ref().map(|(i, _)| Json(i.clone())))
        .bind(m.needs_reboot.filter(|_| full))
        .bind(m.reboot_reason.clone().filter(|r| full && !r.is_empty()))
        .bind(m.package_manager.clone().filter(|_| full))
        .bind(plan.packages.as_ref().map(|(_, h)| h.clone()))
        .bind(plan.repos.as_ref().map(|(_, h)| h.clone()))
        .bind(plan.interfaces.as_ref().map(|(_, h)| h.clone()))
        .bind(plan.hostname.as_ref().map(|(_, h)| h.clone()))
        // Package counters for the host list (fleet module): the stored set
        // equals the reported one once this transaction commits.
        .bind((total >= 0).then_some(total))
        .bind((total >= 0).then_some(updates))
        .bind((total >= 0).then_some(security))
        .execute(&mut *tx)
        .await?;

        let (total, updates, security) = if total >= 0 {
            (total, updates, security)
        } else {
            sqlx::query_as::<_, (i64, i64, i64)>(
                "SELECT COUNT(*), COALESCE(SUM(CASE WHEN needs_update THEN 1 ELSE 0 END), 0), \
                 COALESCE(SUM(CASE WHEN needs_update AND is_security_update THEN 1 ELSE 0 END), 0) \
                 FROM host_packages WHERE host_id = $1",
            )
            .bind(host.id)
            .fetch_one(&mut *tx)
            .await?
        };

        sqlx::query(
            "INSERT INTO update_history (id, host_id, report_type, status, packages_count, security_count, \
             total_packages, payload_size_kb, execution_time, agent_execution_ms, sections_sent, \
             sections_unchanged, timestamp) VALUES ($1, $2, $3, 'success', $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(Uuid::new_v4())
        .bind(host.id)
        .bind(if full { "full" } else { "partial" })
        .bind(updates)
        .bind(security)
        .bind(total)
        .bind(payload_bytes as f64 / 1024.0)
        .bind(started.elapsed().as_secs_f64())
        .bind(m.agent_execution_ms)
        .bind(Json(&plan.sections_sent))
        .bind(Json(&unchanged))
        .bind(now)
        .execute(&mut *tx)
        .await?;

        tx.commit().await?;
        (total, updates, security)
    });

    Ok((
        ReportResponse {
            message: "Host updated successfully".into(),
            packages_processed: plan.packages.as_ref().map_or(0, |(r, _)| r.len() as i64),
            security_updates: security,
            updates_available: updates,
        },
        stats,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkg(name: &str) -> Package {
        Package {
            name: name.into(),
            current_version: "1".into(),
            ..Default::default()
        }
    }

    #[test]
    fn full_report_requires_packages() {
        let e = plan(ReportPayload::default()).err().unwrap();
        assert_eq!(e, "Packages array is required");
    }

    #[test]
    fn partial_rules() {
        let p = |sections: &[&str], pkgs: Vec<Package>| ReportPayload {
            sections: Some(sections.iter().map(|s| s.to_string()).collect()),
            packages: pkgs,
            ..Default::default()
        };
        assert!(
            plan(p(&["bogus"], vec![]))
                .err()
                .unwrap()
                .contains("at least one")
        );
        assert!(
            plan(p(&["packages"], vec![]))
                .err()
                .unwrap()
                .contains("empty")
        );
        assert!(
            plan(p(&["repos"], vec![pkg("a")]))
                .err()
                .unwrap()
                .contains("not listed")
        );
        let ok = plan(p(&["packages"], vec![pkg("a")])).unwrap();
        assert!(ok.partial && ok.packages.is_some() && ok.repos.is_none());
        // A claimed, empty hostname is dropped, not an error.
        let ok = plan(p(&["hostname", "packages"], vec![pkg("a")])).unwrap();
        assert!(ok.hostname.is_none());
    }

    #[test]
    fn claimed_hash_must_match() {
        let mut r = ReportPayload {
            sections: Some(vec!["packages".into()]),
            packages: vec![pkg("a")],
            ..Default::default()
        };
        r.hashes = Some(patchmon_protocol::SectionHashes {
            packages_hash: "00".repeat(32),
            ..Default::default()
        });
        assert_eq!(plan(r.clone()).err().unwrap(), "packages hash mismatch");
        r.hashes.as_mut().unwrap().packages_hash =
            patchmon_protocol::hashing::packages_hash(&r.packages);
        assert!(plan(r).is_ok());
    }

    #[test]
    fn too_many_packages() {
        let r = ReportPayload {
            packages: (0..=MAX_PACKAGES).map(|i| pkg(&format!("p{i}"))).collect(),
            ..Default::default()
        };
        assert!(plan(r).err().unwrap().starts_with("Too many packages"));
    }
}
