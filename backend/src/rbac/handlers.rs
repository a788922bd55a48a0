//! `/api/v1/permissions/…`: the caller's permissions and role administration.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::{Access, ApiRouter, CurrentUser, Permission, RolePermissions, load_role};
use crate::auth::audit::{self, Event};
use crate::auth::session::ClientInfo;
use crate::error::{AppError, AppResult};
use crate::extract::{AppJson, AppPath};
use crate::state::AppState;
use crate::with_db;

pub fn routes(api: ApiRouter) -> ApiRouter {
    use Permission::ManageSettings;
    api.get(
        "/api/v1/permissions/user-permissions",
        Access::Authenticated,
        user_permissions,
    )
    .get(
        "/api/v1/permissions/roles",
        Access::Requires(ManageSettings),
        list_roles,
    )
    .get(
        "/api/v1/permissions/roles/{role}",
        Access::Requires(ManageSettings),
        get_role,
    )
    .put(
        "/api/v1/permissions/roles/{role}",
        Access::Requires(ManageSettings),
        put_role,
    )
    .delete(
        "/api/v1/permissions/roles/{role}",
        Access::Requires(ManageSettings),
        delete_role,
    )
}

#[utoipa::path(
    get,
    path = "/api/v1/permissions/user-permissions",
    tag = "Roles and permissions",
    responses(
        (status = 200, description = "Success", body = RolePermissions),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn user_permissions(me: CurrentUser) -> Json<RolePermissions> {
    Json(me.permissions)
}

#[utoipa::path(
    get,
    path = "/api/v1/permissions/roles",
    tag = "Roles and permissions",
    responses(
        (status = 200, description = "Success", body = Vec<RoleWithScope>),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn list_roles(
    State(state): State<AppState>,
    _me: CurrentUser,
) -> AppResult<Json<Vec<RoleWithScope>>> {
    const SQL: &str = concat!(
        "SELECT role, description, is_builtin, can_view_dashboard, can_view_hosts, can_manage_hosts, ",
        "can_view_packages, can_manage_packages, can_view_users, can_manage_users, can_manage_superusers, ",
        "can_view_reports, can_export_data, can_manage_settings, can_manage_notifications, ",
        "can_view_notification_logs, can_manage_patching, can_manage_compliance, can_manage_docker, ",
        "can_manage_alerts, can_manage_automation, can_use_remote_access, can_manage_billing ",
        "FROM role_permissions ORDER BY is_builtin DESC, role"
    );
    let mut roles: Vec<RolePermissions> =
        with_db!(state.db(), p => sqlx::query_as(SQL).fetch_all(p).await)?;
    // Built-in roles in hierarchy order, then custom ones by name.
    roles.sort_by_key(|r| {
        (
            super::BUILTIN_ROLES
                .iter()
                .position(|b| *b == r.role)
                .unwrap_or(usize::MAX),
            r.role.clone(),
        )
    });
    let mut out = Vec::with_capacity(roles.len());
    for r in &roles {
        out.push(with_scope(&state, r).await?);
    }
    Ok(Json(out))
}

#[utoipa::path(
    get,
    path = "/api/v1/permissions/roles/{role}",
    tag = "Roles and permissions",
    params(("role" = String, Path, description = "role")),
    responses(
        (status = 200, description = "Success", body = RoleWithScope),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn get_role(
    State(state): State<AppState>,
    _me: CurrentUser,
    AppPath(role): AppPath<String>,
) -> AppResult<Json<RoleWithScope>> {
    let r = load_role(&state, &role)
        .await?
        .ok_or_else(|| AppError::NotFound("Role not found".into()))?;
    Ok(Json(with_scope(&state, &r).await?))
}

/// A role's flags and the host groups it is limited to.
#[derive(Serialize, utoipa::ToSchema)]
pub struct RoleWithScope {
    #[serde(flatten)]
    pub role: RolePermissions,
    /// Host groups the role sees; empty: every host.
    pub host_group_ids: Vec<uuid::Uuid>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RoleSaved {
    pub message: String,
    pub role: RoleWithScope,
}

/// The role plus `host_group_ids` (empty: sees every host).
async fn with_scope(state: &AppState, r: &RolePermissions) -> AppResult<RoleWithScope> {
    Ok(RoleWithScope {
        role: r.clone(),
        host_group_ids: super::scope::group_ids(state, &r.role).await?,
    })
}

fn valid_role_name(r: &str) -> bool {
    (2..=50).contains(&r.len())
        && r.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && r.starts_with(|c: char| c.is_ascii_lowercase())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = RolePermissionsBody)]
struct PutRoleBody {
    description: Option<String>,
    #[serde(flatten)]
    flags: Map<String, Value>,
}

/// Creates a custom role or changes a role's flags. Flags not mentioned keep
/// their value (false for a new role). `superadmin` is fixed; only callers
/// who hold `can_manage_superusers` may grant it.
#[utoipa::path(
    put,
    path = "/api/v1/permissions/roles/{role}",
    tag = "Roles and permissions",
    request_body = PutRoleBody,
    params(("role" = String, Path, description = "role")),
    responses(
        (status = 200, description = "Success", body = RoleSaved),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn put_role(
    State(state): State<AppState>,
    me: CurrentUser,
    client: ClientInfo,
    AppPath(role): AppPath<String>,
    AppJson(b): AppJson<PutRoleBody>,
) -> AppResult<Json<RoleSaved>> {
    if role == "superadmin" {
        return Err(AppError::BadRequest(
            "The superadmin role cannot be changed".into(),
        ));
    }
    if !valid_role_name(&role) {
        return Err(AppError::BadRequest(
            "Role names are 2-50 characters: lowercase letters, digits and '_', starting with a letter".into(),
        ));
    }
    let existing = load_role(&state, &role).await?;
    let created = existing.is_none();
    let mut r = existing.unwrap_or_else(|| RolePermissions::empty(&role));
    let mut scope: Option<Vec<uuid::Uuid>> = None;
    for (k, v) in &b.flags {
        if k == "host_group_ids" {
            let ids = serde_json::from_value::<Vec<uuid::Uuid>>(v.clone()).map_err(|_| {
                AppError::BadRequest("host_group_ids must be a list of host group ids".into())
            })?;
            scope = Some(ids);
            continue;
        }
        let Some(p) = Permission::ALL.iter().find(|p| p.column() == k) else {
            return Err(AppError::BadRequest(format!("Unknown permission '{k}'")));
        };
        let Some(v) = v.as_bool() else {
            return Err(AppError::BadRequest(format!("'{k}' must be true or false")));
        };
        r.set(*p, v);
    }
    if let Some(d) = b.description {
        r.description =
            Some(d.trim().chars().take(200).collect()).filter(|d: &String| !d.is_empty());
    }
    if r.has(Permission::ManageSuperusers) && !me.has(Permission::ManageSuperusers) {
        return Err(AppError::Forbidden("Insufficient permissions".into()));
    }
    if let Some(ids) = &scope
        && !super::scope::groups_exist(&state, ids).await?
    {
        return Err(AppError::BadRequest(
            "Unknown host group in host_group_ids".into(),
        ));
    }
    save_role(&state, &r).await?;
    if let Some(ids) = &scope {
        super::scope::set_group_ids(&state, &r.role, ids).await?;
    }
    audit::record(
        &state,
        &client,
        Event {
            event: if created {
                "role_created"
            } else {
                "role_permissions_updated"
            },
            success: true,
            actor_id: Some(me.id()),
            username: Some(&me.session.user.username),
            details: Some(serde_json::to_value(&r).map_err(AppError::internal)?),
            ..Default::default()
        },
    )
    .await;
    Ok(Json(RoleSaved {
        message: if created {
            "Role created successfully"
        } else {
            "Role permissions updated successfully"
        }
        .into(),
        role: with_scope(&state, &r).await?,
    }))
}

async fn save_role(state: &AppState, r: &RolePermissions) -> AppResult<()> {
    const SQL: &str = "INSERT INTO role_permissions (role, description, is_builtin, can_view_dashboard, \
        can_view_hosts, can_manage_hosts, can_view_packages, can_manage_packages, can_view_users, can_manage_users, \
        can_manage_superusers, can_view_reports, can_export_data, can_manage_settings, can_manage_notifications, \
        can_view_notification_logs, can_manage_patching, can_manage_compliance, can_manage_docker, can_manage_alerts, \
        can_manage_automation, can_use_remote_access, can_manage_billing) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
        $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23) \
        ON CONFLICT (role) DO UPDATE SET description = excluded.description, \
        can_view_dashboard = excluded.can_view_dashboard, can_view_hosts = excluded.can_view_hosts, \
        can_manage_hosts = excluded.can_manage_hosts, can_view_packages = excluded.can_view_packages, \
        can_manage_packages = excluded.can_manage_packages, can_view_users = excluded.can_view_users, \
        can_manage_users = excluded.can_manage_users, can_manage_superusers = excluded.can_manage_superusers, \
        can_view_reports = excluded.can_view_reports, can_export_data = excluded.can_export_data, \
        can_manage_settings = excluded.can_manage_settings, can_manage_notifications = excluded.can_manage_notifications, \
        can_view_notification_logs = excluded.can_view_notification_logs, can_manage_patching = excluded.can_manage_patching, \
        can_manage_compliance = excluded.can_manage_compliance, can_manage_docker = excluded.can_manage_docker, \
        can_manage_alerts = excluded.can_manage_alerts, can_manage_automation = excluded.can_manage_automation, \
        can_use_remote_access = excluded.can_use_remote_access, can_manage_billing = excluded.can_manage_billing";
    with_db!(state.db(), p => {
        let mut q = sqlx::query(SQL).bind(&r.role).bind(&r.description).bind(r.is_builtin);
        for perm in Permission::ALL {
            q = q.bind(r.has(*perm));
        }
        q.execute(p).await.map(|_| ())
    })?;
    Ok(())
}

/// Deletes a custom role; built-in roles and roles still assigned are refused.
#[utoipa::path(
    delete,
    path = "/api/v1/permissions/roles/{role}",
    tag = "Roles and permissions",
    params(("role" = String, Path, description = "role")),
    responses(
        (status = 200, description = "Success", body = crate::openapi::Message),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn delete_role(
    State(state): State<AppState>,
    me: CurrentUser,
    client: ClientInfo,
    AppPath(role): AppPath<String>,
) -> AppResult<Json<crate::openapi::Message>> {
    let r = load_role(&state, &role)
        .await?
        .ok_or_else(|| AppError::NotFound("Role not found".into()))?;
    if r.is_builtin {
        return Err(AppError::BadRequest(
            "Built-in roles cannot be deleted".into(),
        ));
    }
    let in_use: i64 = with_db!(state.db(), p =>
        sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE role = $1").bind(&role).fetch_one(p).await)?;
    if in_use > 0 {
        return Err(AppError::Conflict(format!(
            "Role is assigned to {in_use} user(s)"
        )));
    }
    with_db!(state.db(), p => sqlx::query("DELETE FROM role_permissions WHERE role = $1").bind(&role).execute(p).await.map(|_| ()))?;
    audit::record(
        &state,
        &client,
        Event {
            event: "role_deleted",
            success: true,
            actor_id: Some(me.id()),
            username: Some(&me.session.user.username),
            details: Some(json!({ "role": role })),
            ..Default::default()
        },
    )
    .await;
    Ok(crate::openapi::Message::new("Role deleted successfully"))
}

/// The OpenAPI description of this module's routes (`crate::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(user_permissions, list_roles, get_role, put_role, delete_role))]
pub(crate) struct Api;
