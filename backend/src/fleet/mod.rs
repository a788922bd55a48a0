//! The web app's fleet API: hosts, host groups, packages, repositories, the
//! dashboard, settings and exports (docs/api.md, "Web app API").
//!
//! Every query that touches hosts applies the caller's host-group scope
//! ([`crate::rbac::scope`]): list queries add [`HOST_SCOPE_FILTER`] with the
//! role bound as `$1`; single-host routes answer 404 outside the scope.

pub mod dashboard;
pub mod export;
pub mod groups;
pub mod hosts;
pub mod packages;
pub mod prefs;
pub mod repos;
pub mod settings_api;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::db::Db;
use crate::error::{AppError, AppResult};
use crate::rbac::scope::{HOST_SCOPE_FILTER, HostScope};
use crate::rbac::{ApiRouter, CurrentUser};
use crate::state::AppState;
use crate::with_db;

/// Registers every fleet route.
pub fn routes(api: ApiRouter) -> ApiRouter {
    let api = hosts::routes(api);
    let api = groups::routes(api);
    let api = packages::routes(api);
    let api = repos::routes(api);
    let api = dashboard::routes(api);
    let api = prefs::routes(api);
    let api = export::routes(api);
    settings_api::routes(api)
}

/// A value bound to a run-time assembled query.
#[derive(Debug, Clone)]
pub enum Bind {
    Str(String),
    I64(i64),
    Bool(bool),
    Uuid(Uuid),
    Time(DateTime<Utc>),
}

/// A query assembled at run time: `$1` is always the caller's role (for
/// [`HOST_SCOPE_FILTER`]); [`Sql::arg`] adds the next placeholder.
#[derive(Debug, Clone)]
pub struct Sql {
    pub text: String,
    pub binds: Vec<Bind>,
}

impl Sql {
    pub fn new(role: &str) -> Self {
        Self {
            text: String::new(),
            binds: vec![Bind::Str(role.to_owned())],
        }
    }

    /// A query without the role parameter (no scope filter in it).
    pub fn plain() -> Self {
        Self {
            text: String::new(),
            binds: Vec::new(),
        }
    }

    /// Adds a bound value; returns its placeholder.
    pub fn arg(&mut self, b: Bind) -> String {
        self.binds.push(b);
        format!("${}", self.binds.len())
    }

    pub fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }
}

macro_rules! bind_all {
    ($q:expr, $binds:expr) => {{
        let mut q = $q;
        for b in $binds {
            q = match b {
                Bind::Str(s) => q.bind(s.clone()),
                Bind::I64(v) => q.bind(*v),
                Bind::Bool(v) => q.bind(*v),
                Bind::Uuid(v) => q.bind(*v),
                Bind::Time(v) => q.bind(*v),
            };
        }
        q
    }};
}

/// Rows of a run-time query.
pub async fn fetch_all<T>(db: &Db, sql: &Sql) -> AppResult<Vec<T>>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
        + Send
        + Unpin,
{
    Ok(with_db!(db, p => {
        let q = sqlx::query_as::<_, T>(sqlx::AssertSqlSafe(sql.text.clone()));
        bind_all!(q, &sql.binds).fetch_all(p).await
    })?)
}

/// A single scalar of a run-time query.
pub async fn fetch_scalar<T>(db: &Db, sql: &Sql) -> AppResult<T>
where
    T: for<'r> sqlx::Decode<'r, sqlx::Sqlite>
        + sqlx::Type<sqlx::Sqlite>
        + for<'r> sqlx::Decode<'r, sqlx::Postgres>
        + sqlx::Type<sqlx::Postgres>
        + Send
        + Unpin,
{
    Ok(with_db!(db, p => {
        let q = sqlx::query_scalar::<_, T>(sqlx::AssertSqlSafe(sql.text.clone()));
        bind_all!(q, &sql.binds).fetch_one(p).await
    })?)
}

/// The caller's scope as SQL: whether list queries must join hosts and apply
/// [`HOST_SCOPE_FILTER`] (unscoped roles skip it, which keeps fleet-wide
/// aggregates off the hosts table).
#[derive(Debug, Clone)]
pub struct Scope {
    pub role: String,
    pub scope: HostScope,
}

impl Scope {
    pub async fn of(state: &AppState, user: &CurrentUser) -> AppResult<Self> {
        Ok(Self {
            role: user.session.user.role.clone(),
            scope: user.host_scope(state).await?,
        })
    }

    pub fn is_scoped(&self) -> bool {
        matches!(self.scope, HostScope::Groups(_))
    }

    /// `HOST_SCOPE_FILTER` (referring to the `hosts` table), or `TRUE`.
    pub fn filter(&self) -> &'static str {
        if self.is_scoped() {
            HOST_SCOPE_FILTER
        } else {
            "1 = 1"
        }
    }

    /// A new query: with the role as `$1` when scoped (for [`Self::filter`]),
    /// without parameters otherwise.
    pub fn sql(&self) -> Sql {
        if self.is_scoped() {
            Sql::new(&self.role)
        } else {
            Sql::plain()
        }
    }

    /// For a scoped caller: SQL listing the ids of the hosts it may see (the
    /// members of its groups; same set as [`HOST_SCOPE_FILTER`], cheaper in
    /// `host_id IN (…)` over large tables). `$1` is the role.
    pub const SCOPED_HOST_IDS: &'static str = "SELECT sm.host_id FROM host_group_memberships sm \
        WHERE sm.host_group_id IN (SELECT s.host_group_id FROM role_host_groups s WHERE s.role = $1)";

    /// ` AND <col> IN (visible hosts)` for a scoped caller, else nothing.
    pub fn host_in(&self, col: &str) -> String {
        if self.is_scoped() {
            format!(" AND {col} IN ({})", Self::SCOPED_HOST_IDS)
        } else {
            String::new()
        }
    }

    /// The groups a scoped role may see (None: all).
    pub fn groups(&self) -> Option<&[Uuid]> {
        match &self.scope {
            HostScope::All => None,
            HostScope::Groups(g) => Some(g),
        }
    }
}

/// `page`/`limit`/`offset` as the list routes take them.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PageParams {
    pub page: Option<String>,
    pub limit: Option<String>,
    pub offset: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
pub struct Pagination {
    pub page: i64,
    pub limit: i64,
    pub offset: i64,
    pub total: i64,
    pub total_pages: i64,
}

#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub limit: i64,
    pub offset: i64,
}

pub const MAX_LIMIT: i64 = 1000;

impl PageParams {
    pub fn resolve(&self, default_limit: i64) -> AppResult<Page> {
        let limit = match &self.limit {
            None => default_limit,
            Some(v) => parse_int("limit", v, 1, MAX_LIMIT)?,
        };
        let offset = match (&self.offset, &self.page) {
            (Some(o), _) => parse_int("offset", o, 0, i64::from(i32::MAX))?,
            (None, Some(p)) => (parse_int("page", p, 1, 1_000_000)? - 1) * limit,
            (None, None) => 0,
        };
        Ok(Page { limit, offset })
    }
}

impl Page {
    pub fn pagination(&self, total: i64) -> Pagination {
        Pagination {
            page: self.offset / self.limit + 1,
            limit: self.limit,
            offset: self.offset,
            total,
            total_pages: (total + self.limit - 1) / self.limit,
        }
    }

    pub fn sql(&self, sql: &mut Sql) {
        let l = sql.arg(Bind::I64(self.limit));
        let o = sql.arg(Bind::I64(self.offset));
        sql.push(&format!(" LIMIT {l} OFFSET {o}"));
    }
}

pub fn parse_int(name: &str, v: &str, min: i64, max: i64) -> AppResult<i64> {
    match v.trim().parse::<i64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(AppError::BadRequest(format!(
            "{name} must be an integer from {min} to {max}"
        ))),
    }
}

/// `true`/`false` (also `1`/`0`); anything else is a 400.
pub fn parse_bool(name: &str, v: Option<&str>) -> AppResult<Option<bool>> {
    match v.map(str::trim) {
        None | Some("") => Ok(None),
        Some("true" | "1") => Ok(Some(true)),
        Some("false" | "0") => Ok(Some(false)),
        Some(_) => Err(AppError::BadRequest(format!(
            "{name} must be true or false"
        ))),
    }
}

/// `asc` (default) or `desc`.
pub fn parse_order(v: Option<&str>) -> AppResult<&'static str> {
    match v.map(str::trim) {
        None | Some("") | Some("asc") => Ok("ASC"),
        Some("desc") => Ok("DESC"),
        Some(_) => Err(AppError::BadRequest("order must be asc or desc".into())),
    }
}

/// A case-insensitive substring pattern for `LOWER(col) LIKE $n ESCAPE '\'`.
pub fn like_pattern(term: &str) -> AppResult<Option<String>> {
    let t = term.trim();
    if t.is_empty() {
        return Ok(None);
    }
    if t.chars().count() > 200 {
        return Err(AppError::BadRequest(
            "search must be at most 200 characters".into(),
        ));
    }
    let mut out = String::with_capacity(t.len() + 2);
    out.push('%');
    for c in t.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    Ok(Some(out))
}

/// `NULL`s last in both dialects: `(col IS NULL), col <dir>`.
pub fn nulls_last(expr: &str, dir: &str) -> String {
    format!("CASE WHEN {expr} IS NULL THEN 1 ELSE 0 END, {expr} {dir}")
}

/// A group as hosts show it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct GroupRef {
    pub id: Uuid,
    pub name: String,
    pub color: String,
}

/// `#rrggbb`.
pub fn valid_color(c: &str) -> bool {
    c.len() == 7 && c.starts_with('#') && c[1..].chars().all(|ch| ch.is_ascii_hexdigit())
}

/// Trims and checks a required text field's length.
pub fn required_text(field: &str, v: &str, max: usize) -> AppResult<String> {
    let t = v.trim();
    if t.is_empty() {
        return Err(AppError::BadRequest(format!("{field} is required")));
    }
    if t.chars().count() > max {
        return Err(AppError::BadRequest(format!(
            "{field} must be at most {max} characters"
        )));
    }
    Ok(t.to_owned())
}

/// The "not found" every out-of-scope host answers.
pub fn host_not_found() -> AppError {
    AppError::NotFound("Host not found".into())
}
