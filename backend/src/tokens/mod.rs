//! Auto-enrollment tokens, scoped integration-API keys and GetHomepage keys.
//!
//! One table holds all three, as in PatchMon; `integration_type` decides what
//! a token may do, and unlike PatchMon we enforce it: only `proxmox-lxc` and
//! `direct-host` tokens enroll hosts, only `api` tokens use the integration
//! API (with their scopes), only `gethomepage` tokens read the widget stats.
//! Key `patchmon_ae_` + 32 hex, secret 64 hex stored as SHA-256, shown once.

pub mod auth;
pub mod handlers;
pub mod ipallow;

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::types::Json as DbJson;
use uuid::Uuid;

use crate::db::Db;
use crate::error::{AppError, AppResult};
use crate::with_db;

/// What a token is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum IntegrationType {
    #[serde(rename = "proxmox-lxc")]
    ProxmoxLxc,
    #[serde(rename = "direct-host")]
    DirectHost,
    #[serde(rename = "api")]
    Api,
    #[serde(rename = "gethomepage")]
    GetHomepage,
}

impl IntegrationType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ProxmoxLxc => "proxmox-lxc",
            Self::DirectHost => "direct-host",
            Self::Api => "api",
            Self::GetHomepage => "gethomepage",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "proxmox-lxc" => Self::ProxmoxLxc,
            "direct-host" => Self::DirectHost,
            "api" => Self::Api,
            "gethomepage" => Self::GetHomepage,
            _ => return None,
        })
    }

    /// Whether tokens of this type may create hosts.
    pub fn can_enroll(self) -> bool {
        matches!(self, Self::ProxmoxLxc | Self::DirectHost)
    }
}

/// Resource → actions. Explicit: no wildcards, no implied actions.
pub type Scopes = BTreeMap<String, Vec<String>>;

/// The resources and actions a scope may name.
pub const SCOPE_RESOURCES: &[(&str, &[&str])] =
    &[("host", &["get", "put", "patch", "update", "delete"])];

/// Validates scopes: known resources and actions only, at least one action.
pub fn validate_scopes(scopes: &Scopes) -> AppResult<Scopes> {
    let mut out = Scopes::new();
    for (resource, actions) in scopes {
        let Some((_, allowed)) = SCOPE_RESOURCES.iter().find(|(r, _)| r == resource) else {
            return Err(AppError::BadRequest(format!(
                "Unknown scope resource {resource:?} (known: host)"
            )));
        };
        let mut acts: Vec<String> = Vec::new();
        for a in actions {
            if !allowed.contains(&a.as_str()) {
                return Err(AppError::BadRequest(format!(
                    "Unknown action {a:?} for {resource} (known: {})",
                    allowed.join(", ")
                )));
            }
            if !acts.contains(a) {
                acts.push(a.clone());
            }
        }
        if !acts.is_empty() {
            out.insert(resource.clone(), acts);
        }
    }
    if out.is_empty() {
        return Err(AppError::BadRequest(
            "API credentials need at least one scope, e.g. {\"host\": [\"get\"]}".into(),
        ));
    }
    Ok(out)
}

/// Columns of [`Token`] for SELECT / RETURNING lists.
#[macro_export]
macro_rules! token_columns {
    () => {
        "id, token_name, token_key, secret_hash, integration_type, is_active, allowed_ip_ranges, \
         max_hosts_per_day, hosts_created_today, quota_day, default_host_group_id, metadata, scopes, \
         expires_at, last_used_at, created_by_user_id, created_at, updated_at"
    };
}

/// A token row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Token {
    pub id: Uuid,
    pub token_name: String,
    pub token_key: String,
    pub secret_hash: String,
    pub integration_type: String,
    pub is_active: bool,
    pub allowed_ip_ranges: DbJson<Vec<String>>,
    pub max_hosts_per_day: i64,
    pub hosts_created_today: i64,
    pub quota_day: Option<String>,
    pub default_host_group_id: Option<Uuid>,
    pub metadata: DbJson<serde_json::Value>,
    pub scopes: Option<DbJson<Scopes>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub created_by_user_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Token {
    pub fn kind(&self) -> Option<IntegrationType> {
        IntegrationType::parse(&self.integration_type)
    }

    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|e| e <= now)
    }

    /// Hosts created on the current UTC day (the stored count belongs to
    /// `quota_day`; any other day means nothing used yet).
    pub fn used_today(&self, now: DateTime<Utc>) -> i64 {
        if self.quota_day.as_deref() == Some(quota_day(now).as_str()) {
            self.hosts_created_today
        } else {
            0
        }
    }

    /// Whether the scopes grant `action` on `resource`:
    /// `Err(false)` when the resource is absent, `Err(true)` when only the action is.
    pub fn scope_check(&self, resource: &str, action: &str) -> Result<(), bool> {
        let Some(DbJson(scopes)) = &self.scopes else {
            return Err(false);
        };
        match scopes.get(resource) {
            None => Err(false),
            Some(actions) if actions.iter().any(|a| a == action) => Ok(()),
            Some(_) => Err(true),
        }
    }
}

/// The UTC day a quota count belongs to.
pub fn quota_day(now: DateTime<Utc>) -> String {
    now.format("%Y-%m-%d").to_string()
}

/// A fresh `(token_key, token_secret)`.
pub fn generate() -> AppResult<(String, String)> {
    use crate::hosts::credentials::random_hex;
    Ok((format!("patchmon_ae_{}", random_hex(16)?), random_hex(32)?))
}

/// Parses an expiry as the UI and PatchMon's docs send it: RFC 3339,
/// `YYYY-MM-DDTHH:MM[:SS]` (UTC) or a bare date (end of that day, UTC).
pub fn parse_expiry(s: &str) -> AppResult<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    for f in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Ok(t.and_utc());
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d")
        && let Some(t) = d.and_hms_opt(23, 59, 59)
    {
        return Ok(t.and_utc());
    }
    Err(AppError::BadRequest(format!(
        "Invalid expires_at {s:?}: use ISO 8601, e.g. 2026-12-31T23:59:59Z"
    )))
}

pub async fn find_by_key(db: &Db, key: &str) -> AppResult<Option<Token>> {
    const SQL: &str = concat!(
        "SELECT ",
        token_columns!(),
        " FROM auto_enrollment_tokens WHERE token_key = $1"
    );
    Ok(with_db!(db, p => sqlx::query_as::<_, Token>(SQL).bind(key).fetch_optional(p).await)?)
}

pub async fn find_by_id(db: &Db, id: Uuid) -> AppResult<Option<Token>> {
    const SQL: &str = concat!(
        "SELECT ",
        token_columns!(),
        " FROM auto_enrollment_tokens WHERE id = $1"
    );
    Ok(with_db!(db, p => sqlx::query_as::<_, Token>(SQL).bind(id).fetch_optional(p).await)?)
}

/// Records use, at most once a minute per token (a write per API call would
/// serialise readers on SQLite for a timestamp nobody reads to the second).
pub async fn touch(db: &Db, token: &Token, now: DateTime<Utc>) {
    if token
        .last_used_at
        .is_some_and(|t| now - t < chrono::Duration::seconds(60))
    {
        return;
    }
    let _w = db.write_guard().await;
    let res = with_db!(db, p => sqlx::query(
        "UPDATE auto_enrollment_tokens SET last_used_at = $2 WHERE id = $1")
        .bind(token.id)
        .bind(now)
        .execute(p)
        .await
        .map(|_| ()));
    if let Err(e) = res {
        tracing::warn!(error = %e, "could not record token use");
    }
}
