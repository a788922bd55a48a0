//! Server-wide settings (single row).

use crate::db::Db;
use crate::error::AppResult;
use crate::with_db;

/// The settings agents care about.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AgentSettings {
    pub update_interval: i64,
    pub auto_update: bool,
    pub ignore_ssl_self_signed: bool,
    pub default_compliance_mode: String,
    pub compliance_scan_interval: i64,
    pub package_cache_refresh_mode: String,
    pub package_cache_refresh_max_age: i64,
}

pub async fn agent_settings(db: &Db) -> AppResult<AgentSettings> {
    const SQL: &str = "SELECT update_interval, auto_update, ignore_ssl_self_signed, default_compliance_mode, \
        compliance_scan_interval, package_cache_refresh_mode, package_cache_refresh_max_age \
        FROM settings WHERE id = 1";
    let mut s = with_db!(db, p => sqlx::query_as::<_, AgentSettings>(SQL).fetch_one(p).await)?;
    // PatchMon answers 60 when the stored value is not positive.
    if s.update_interval <= 0 {
        s.update_interval = 60;
    }
    Ok(s)
}
