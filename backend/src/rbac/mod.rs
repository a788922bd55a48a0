//! Role-based access control: PatchMon 2.x's permission flags, roles stored in
//! `role_permissions`, and the one mechanism that guards every user route.
//!
//! User routes are registered only through [`ApiRouter`], whose methods take
//! an [`Access`]: a route cannot be added without declaring who may call it.
//! Handlers read the caller through [`CurrentUser`], which exists only when
//! the guard let the request through. [`route_table`] lists every guarded
//! route; the permission-matrix test walks it for every role.

pub mod handlers;
pub mod scope;

use axum::Router;
use axum::extract::{FromRequestParts, Request, State};
use axum::handler::Handler;
use axum::http::Method;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, on};
use serde::{Deserialize, Serialize};

use crate::auth::session::{self, AuthedSession, ClientInfo};
use crate::error::AppError;
use crate::state::AppState;

macro_rules! permissions {
    ($($variant:ident => $col:ident),+ $(,)?) => {
        /// One permission flag (a boolean column of `role_permissions`).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Permission { $($variant),+ }

        impl Permission {
            pub const ALL: &'static [Permission] = &[$(Permission::$variant),+];

            /// The column / JSON name, e.g. `can_view_hosts`.
            pub fn column(self) -> &'static str {
                match self { $(Permission::$variant => stringify!($col)),+ }
            }
        }

        /// A role and its flags, as stored and as PatchMon's API shows it.
        #[derive(Clone, Debug, Serialize, Deserialize, sqlx::FromRow, utoipa::ToSchema)]
        pub struct RolePermissions {
            pub role: String,
            pub description: Option<String>,
            pub is_builtin: bool,
            $(pub $col: bool),+
        }

        impl RolePermissions {
            /// A custom role with no permission.
            pub fn empty(role: &str) -> Self {
                Self { role: role.to_owned(), description: None, is_builtin: false, $($col: false),+ }
            }

            pub fn has(&self, p: Permission) -> bool {
                match p { $(Permission::$variant => self.$col),+ }
            }

            pub fn set(&mut self, p: Permission, value: bool) {
                match p { $(Permission::$variant => self.$col = value),+ }
            }

            /// `role, description, is_builtin, can_…` for SELECT lists.
            pub const COLUMNS: &'static str = concat!("role, description, is_builtin", $(", ", stringify!($col)),+);
        }
    };
}

permissions! {
    ViewDashboard => can_view_dashboard,
    ViewHosts => can_view_hosts,
    ManageHosts => can_manage_hosts,
    ViewPackages => can_view_packages,
    ManagePackages => can_manage_packages,
    ViewUsers => can_view_users,
    ManageUsers => can_manage_users,
    ManageSuperusers => can_manage_superusers,
    ViewReports => can_view_reports,
    ExportData => can_export_data,
    ManageSettings => can_manage_settings,
    ManageNotifications => can_manage_notifications,
    ViewNotificationLogs => can_view_notification_logs,
    ManagePatching => can_manage_patching,
    ManageCompliance => can_manage_compliance,
    ManageDocker => can_manage_docker,
    ManageAlerts => can_manage_alerts,
    ManageAutomation => can_manage_automation,
    UseRemoteAccess => can_use_remote_access,
    ManageBilling => can_manage_billing,
}

/// The seeded roles (migration 0002), highest first.
pub const BUILTIN_ROLES: &[&str] = &["superadmin", "admin", "host_manager", "user", "readonly"];

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// No session needed (login, first-run setup, token refresh). Rate limited.
    Public,
    /// Any signed-in user (own profile, own sessions, logout).
    Authenticated,
    /// A signed-in user whose role has this flag.
    Requires(Permission),
}

/// One registered user route, for the permission-matrix test and docs.
#[derive(Clone, Debug)]
pub struct RouteSpec {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
}

/// The signed-in caller, inserted by the guard.
#[derive(Clone, Debug)]
pub struct CurrentUser {
    pub session: AuthedSession,
    pub permissions: RolePermissions,
}

impl CurrentUser {
    pub fn id(&self) -> uuid::Uuid {
        self.session.user.id
    }

    pub fn has(&self, p: Permission) -> bool {
        self.permissions.has(p)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        // Present only when the route was registered through ApiRouter with a
        // non-public Access; anything else is refused.
        parts
            .extensions
            .get::<CurrentUser>()
            .cloned()
            .ok_or(AppError::Unauthorized("Authentication required"))
    }
}

#[derive(Clone)]
struct Guard {
    state: AppState,
    access: Access,
}

async fn guard(State(g): State<Guard>, req: Request, next: Next) -> Response {
    if g.access == Access::Public {
        // Public routes are the auth endpoints: rate limited per client IP.
        let client = ClientInfo::from_parts(&g.state, req.headers(), req.extensions());
        let a = &g.state.config().auth;
        let key = client
            .ip
            .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
        let d = g.state.limiters().auth.check(
            &key,
            a.auth_rate_limit_max,
            a.auth_rate_limit_window,
            g.state.now(),
        );
        let mut res = if d.allowed {
            next.run(req).await
        } else {
            AppError::TooManyRequests {
                message: "Too many requests, please try again later.".into(),
                retry_after: d.reset_secs,
            }
            .into_response()
        };
        d.apply(res.headers_mut());
        return res;
    }
    let (mut parts, body) = req.into_parts();
    let user = match authorize(&g, &parts).await {
        Ok(u) => u,
        Err(e) => return e.into_response(),
    };
    parts.extensions.insert(user);
    next.run(Request::from_parts(parts, body)).await
}

async fn authorize(g: &Guard, parts: &Parts) -> Result<CurrentUser, AppError> {
    let session = session::authenticate(&g.state, &parts.method, &parts.headers).await?;
    let permissions = load_role(&g.state, &session.user.role)
        .await?
        .ok_or_else(|| AppError::Forbidden("Access denied".into()))?;
    if let Access::Requires(p) = g.access
        && !permissions.has(p)
    {
        return Err(AppError::Forbidden("Insufficient permissions".into()));
    }
    Ok(CurrentUser {
        session,
        permissions,
    })
}

/// The role row, or None.
pub async fn load_role(state: &AppState, role: &str) -> Result<Option<RolePermissions>, AppError> {
    const SQL: &str = concat!(
        "SELECT role, description, is_builtin, can_view_dashboard, can_view_hosts, can_manage_hosts, ",
        "can_view_packages, can_manage_packages, can_view_users, can_manage_users, can_manage_superusers, ",
        "can_view_reports, can_export_data, can_manage_settings, can_manage_notifications, ",
        "can_view_notification_logs, can_manage_patching, can_manage_compliance, can_manage_docker, ",
        "can_manage_alerts, can_manage_automation, can_use_remote_access, can_manage_billing ",
        "FROM role_permissions WHERE role = $1"
    );
    Ok(crate::with_db!(state.db(), p => sqlx::query_as(SQL).bind(role).fetch_optional(p).await)?)
}

/// Builds the user-facing API. Every route needs an [`Access`].
pub struct ApiRouter {
    state: AppState,
    router: Router<AppState>,
    table: Vec<RouteSpec>,
}

impl ApiRouter {
    pub fn new(state: &AppState) -> Self {
        Self {
            state: state.clone(),
            router: Router::new(),
            table: Vec::new(),
        }
    }

    /// Registers `handler` for `method path`, guarded by `access`.
    pub fn route<H, T>(
        mut self,
        method: Method,
        path: &'static str,
        access: Access,
        handler: H,
    ) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone())
            .unwrap_or_else(|_| panic!("unsupported method {method} for {path}"));
        let guard_state = Guard {
            state: self.state.clone(),
            access,
        };
        let mr =
            on(filter, handler).layer(axum::middleware::from_fn_with_state(guard_state, guard));
        self.router = self.router.route(path, mr);
        self.table.push(RouteSpec {
            method,
            path,
            access,
        });
        self
    }

    pub fn get<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &'static str,
        access: Access,
        h: H,
    ) -> Self {
        self.route(Method::GET, path, access, h)
    }

    pub fn post<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &'static str,
        access: Access,
        h: H,
    ) -> Self {
        self.route(Method::POST, path, access, h)
    }

    pub fn put<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &'static str,
        access: Access,
        h: H,
    ) -> Self {
        self.route(Method::PUT, path, access, h)
    }

    pub fn patch<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &'static str,
        access: Access,
        h: H,
    ) -> Self {
        self.route(Method::PATCH, path, access, h)
    }

    pub fn delete<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &'static str,
        access: Access,
        h: H,
    ) -> Self {
        self.route(Method::DELETE, path, access, h)
    }

    pub fn into_parts(self) -> (Router<AppState>, Vec<RouteSpec>) {
        (self.router, self.table)
    }
}

/// Every user-facing route of the server, guarded.
pub fn user_api(state: &AppState) -> ApiRouter {
    let api = ApiRouter::new(state);
    let api = crate::auth::routes(api);
    let api = crate::auth::tfa::routes(api);
    let api = crate::auth::oidc::routes(api);
    let api = crate::users::routes(api);
    let api = crate::auth::audit::routes(api);
    let api = crate::agents::user_routes(api);
    let api = crate::queue::api::routes(api);
    let api = crate::alerts::routes(api);
    let api = crate::notify::routes(api);
    let api = crate::tokens::handlers::routes(api);
    let api = crate::fleet::routes(api);
    handlers::routes(api)
}

/// The guarded routes with their declared access (for tests and docs).
pub fn route_table(state: &AppState) -> Vec<RouteSpec> {
    user_api(state).into_parts().1
}
