//! Host-group scoping of roles (beyond PatchMon, its issue #385): a role may be
//! limited to some host groups, so its users see and act on only those groups'
//! hosts. A role without scope rows sees every host.
//!
//! Host routes apply it with [`HostScope::allows_host`] for one host, or with
//! [`HOST_SCOPE_FILTER`] in list queries.

use uuid::Uuid;

use super::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::with_db;

/// SQL condition for host lists: bind the caller's role as `$1` and refer to
/// the host table as `hosts`. True for every host when the role is unscoped.
pub const HOST_SCOPE_FILTER: &str = "(NOT EXISTS (SELECT 1 FROM role_host_groups s WHERE s.role = $1) \
    OR EXISTS (SELECT 1 FROM role_host_groups s JOIN host_group_memberships m ON m.host_group_id = s.host_group_id \
    WHERE s.role = $1 AND m.host_id = hosts.id))";

/// Which hosts a role may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostScope {
    All,
    Groups(Vec<Uuid>),
}

impl HostScope {
    pub async fn for_role(state: &AppState, role: &str) -> AppResult<Self> {
        let groups = group_ids(state, role).await?;
        Ok(if groups.is_empty() {
            Self::All
        } else {
            Self::Groups(groups)
        })
    }

    /// Whether a host is inside the scope (a host in no allowed group is not).
    pub async fn allows_host(&self, state: &AppState, host_id: Uuid) -> AppResult<bool> {
        let Self::Groups(groups) = self else {
            return Ok(true);
        };
        const SQL: &str = "SELECT host_group_id FROM host_group_memberships WHERE host_id = $1";
        let of_host: Vec<Uuid> =
            with_db!(state.db(), p => sqlx::query_scalar(SQL).bind(host_id).fetch_all(p).await)?;
        Ok(of_host.iter().any(|g| groups.contains(g)))
    }

    pub fn allows_group(&self, group_id: Uuid) -> bool {
        match self {
            Self::All => true,
            Self::Groups(g) => g.contains(&group_id),
        }
    }
}

impl CurrentUser {
    /// The caller's host scope (one query; ask only on host routes).
    pub async fn host_scope(&self, state: &AppState) -> AppResult<HostScope> {
        HostScope::for_role(state, &self.session.user.role).await
    }
}

/// The groups a role is scoped to (empty: unscoped), sorted.
pub async fn group_ids(state: &AppState, role: &str) -> AppResult<Vec<Uuid>> {
    const SQL: &str = "SELECT host_group_id FROM role_host_groups WHERE role = $1";
    let mut ids: Vec<Uuid> =
        with_db!(state.db(), p => sqlx::query_scalar(SQL).bind(role).fetch_all(p).await)?;
    ids.sort();
    Ok(ids)
}

/// Replaces a role's scope; an empty list removes it. Unknown groups are a 400.
pub async fn set_group_ids(state: &AppState, role: &str, ids: &[Uuid]) -> AppResult<()> {
    let _guard = state.db().write_guard().await;
    let res: Result<(), sqlx::Error> = with_db!(state.db(), p => async {
        let mut tx = p.begin().await?;
        sqlx::query("DELETE FROM role_host_groups WHERE role = $1").bind(role).execute(&mut *tx).await?;
        for id in ids {
            sqlx::query("INSERT INTO role_host_groups (role, host_group_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(role).bind(id).execute(&mut *tx).await?;
        }
        tx.commit().await
    }.await);
    res.map_err(|e| match AppError::from(e) {
        AppError::Conflict(_) => {
            AppError::BadRequest("Unknown host group in host_group_ids".into())
        }
        other => other,
    })
}

/// Whether every id names an existing host group.
pub async fn groups_exist(state: &AppState, ids: &[Uuid]) -> AppResult<bool> {
    for id in ids {
        let n: i64 = with_db!(state.db(), p =>
            sqlx::query_scalar("SELECT COUNT(*) FROM host_groups WHERE id = $1").bind(id).fetch_one(p).await)?;
        if n == 0 {
            return Ok(false);
        }
    }
    Ok(true)
}
