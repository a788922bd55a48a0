//! Per-user UI state: saved host-table views and the dashboard card layout.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::types::Json as SqlJson;
use uuid::Uuid;

use super::required_text;
use crate::error::{AppError, AppResult};
use crate::extract::{AppJson, AppPath};
use crate::rbac::{Access, ApiRouter, CurrentUser, Permission};
use crate::state::AppState;
use crate::with_db;

const VIEW: Access = Access::Requires(Permission::ViewHosts);

pub fn routes(api: ApiRouter) -> ApiRouter {
    api.get("/api/v1/hosts/views", VIEW, list_views)
        .post("/api/v1/hosts/views", VIEW, create_view)
        .put("/api/v1/hosts/views/{view_id}", VIEW, update_view)
        .delete("/api/v1/hosts/views/{view_id}", VIEW, delete_view)
        .get(
            "/api/v1/dashboard-preferences",
            Access::Authenticated,
            get_dashboard,
        )
        .put(
            "/api/v1/dashboard-preferences",
            Access::Authenticated,
            put_dashboard,
        )
}

#[derive(Serialize, utoipa::ToSchema)]
struct HostViewList {
    views: Vec<ViewRow>,
}

/// A saved host-table view, the caller's own.
#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[schema(as = HostView)]
struct ViewRow {
    id: Uuid,
    name: String,
    #[schema(value_type = Vec<String>)]
    columns: SqlJson<Value>,
    sort: Option<String>,
    /// `asc` or `desc`.
    #[serde(rename = "order")]
    sort_order: Option<String>,
    /// Host-list filter name → value.
    #[schema(value_type = std::collections::HashMap<String, String>)]
    filters: SqlJson<Value>,
    is_default: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

const VIEW_COLUMNS: &str =
    "id, name, columns, sort, sort_order, filters, is_default, created_at, updated_at";

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = HostViewBody)]
struct ViewBody {
    name: Option<String>,
    #[serde(default)]
    columns: Vec<String>,
    sort: Option<String>,
    order: Option<String>,
    #[serde(default)]
    filters: Option<Value>,
    #[serde(default)]
    is_default: bool,
}

struct ValidView {
    name: String,
    columns: Vec<String>,
    sort: Option<String>,
    order: Option<String>,
    filters: Value,
    is_default: bool,
}

fn validate(b: ViewBody) -> AppResult<ValidView> {
    let name = required_text("name", b.name.as_deref().unwrap_or(""), 100)?;
    if b.columns.len() > 50 || b.columns.iter().any(|c| c.is_empty() || c.len() > 64) {
        return Err(AppError::BadRequest(
            "columns must list at most 50 names of 1–64 characters".into(),
        ));
    }
    let sort = b.sort.filter(|s| !s.is_empty());
    if sort.as_ref().is_some_and(|s| s.len() > 64) {
        return Err(AppError::BadRequest(
            "sort must be at most 64 characters".into(),
        ));
    }
    let order = match b.order.as_deref() {
        None | Some("") => None,
        Some(o @ ("asc" | "desc")) => Some(o.to_owned()),
        Some(_) => return Err(AppError::BadRequest("order must be asc or desc".into())),
    };
    let filters = b.filters.unwrap_or_else(|| json!({}));
    if !filters.is_object() {
        return Err(AppError::BadRequest("filters must be a JSON object".into()));
    }
    if filters.to_string().len() > 8192 {
        return Err(AppError::PayloadTooLarge(
            "filters must be at most 8 KB".into(),
        ));
    }
    Ok(ValidView {
        name,
        columns: b.columns,
        sort,
        order,
        filters,
        is_default: b.is_default,
    })
}

const MAX_VIEWS: i64 = 100;

fn view_not_found() -> AppError {
    AppError::NotFound("View not found".into())
}

fn name_conflict(e: sqlx::Error) -> AppError {
    match AppError::from(e) {
        AppError::Conflict(_) => AppError::Conflict("A view with this name already exists".into()),
        other => other,
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/hosts/views",
    tag = "Fleet",
    responses(
        (status = 200, description = "Success", body = HostViewList),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn list_views(
    State(state): State<AppState>,
    user: CurrentUser,
) -> AppResult<Json<HostViewList>> {
    const SQL: &str = concat!(
        "SELECT id, name, columns, sort, sort_order, filters, is_default, created_at, updated_at ",
        "FROM host_views WHERE user_id = $1 ORDER BY LOWER(name), id"
    );
    let rows: Vec<ViewRow> =
        with_db!(state.db(), p => sqlx::query_as(SQL).bind(user.id()).fetch_all(p).await)?;
    Ok(Json(HostViewList { views: rows }))
}

async fn one_view(state: &AppState, user: Uuid, id: Uuid) -> AppResult<ViewRow> {
    let sql = format!("SELECT {VIEW_COLUMNS} FROM host_views WHERE id = $1 AND user_id = $2");
    let row: Option<ViewRow> = with_db!(state.db(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id).bind(user).fetch_optional(p).await)?;
    row.ok_or_else(view_not_found)
}

async fn save_view(
    state: &AppState,
    user: Uuid,
    id: Option<Uuid>,
    v: ValidView,
) -> AppResult<Uuid> {
    let now = state.now();
    let _guard = state.db().write_guard().await;
    let begin = state.db().begin_write_sql();
    let id = with_db!(state.db(), p => {
        let mut tx = p.begin_with(begin).await?;
        let id = match id {
            Some(id) => {
                let n = sqlx::query(
                    "UPDATE host_views SET name = $3, columns = $4, sort = $5, sort_order = $6, filters = $7, \
                     is_default = $8, updated_at = $9 WHERE id = $1 AND user_id = $2")
                    .bind(id).bind(user).bind(&v.name).bind(SqlJson(&v.columns)).bind(&v.sort)
                    .bind(&v.order).bind(SqlJson(&v.filters)).bind(v.is_default).bind(now)
                    .execute(&mut *tx).await.map_err(name_conflict)?.rows_affected();
                if n == 0 {
                    return Err(view_not_found());
                }
                id
            }
            None => {
                let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM host_views WHERE user_id = $1")
                    .bind(user).fetch_one(&mut *tx).await?;
                if count >= MAX_VIEWS {
                    return Err(AppError::BadRequest(format!("At most {MAX_VIEWS} views per user")));
                }
                let id = Uuid::new_v4();
                sqlx::query(
                    "INSERT INTO host_views (id, user_id, name, columns, sort, sort_order, filters, is_default, \
                     created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)")
                    .bind(id).bind(user).bind(&v.name).bind(SqlJson(&v.columns)).bind(&v.sort)
                    .bind(&v.order).bind(SqlJson(&v.filters)).bind(v.is_default).bind(now)
                    .execute(&mut *tx).await.map_err(name_conflict)?;
                id
            }
        };
        if v.is_default {
            sqlx::query("UPDATE host_views SET is_default = FALSE WHERE user_id = $1 AND id <> $2")
                .bind(user).bind(id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok::<_, AppError>(id)
    })?;
    Ok(id)
}

#[utoipa::path(
    post,
    path = "/api/v1/hosts/views",
    tag = "Fleet",
    request_body = ViewBody,
    responses(
        (status = 201, description = "Created", body = ViewRow),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn create_view(
    State(state): State<AppState>,
    user: CurrentUser,
    AppJson(body): AppJson<ViewBody>,
) -> AppResult<(StatusCode, Json<ViewRow>)> {
    let v = validate(body)?;
    let id = save_view(&state, user.id(), None, v).await?;
    Ok((
        StatusCode::CREATED,
        Json(one_view(&state, user.id(), id).await?),
    ))
}

#[utoipa::path(
    put,
    path = "/api/v1/hosts/views/{view_id}",
    tag = "Fleet",
    request_body = ViewBody,
    params(("view_id" = String, Path, description = "view id")),
    responses(
        (status = 200, description = "Success", body = ViewRow),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn update_view(
    State(state): State<AppState>,
    user: CurrentUser,
    AppPath(id): AppPath<Uuid>,
    AppJson(body): AppJson<ViewBody>,
) -> AppResult<Json<ViewRow>> {
    let v = validate(body)?;
    save_view(&state, user.id(), Some(id), v).await?;
    Ok(Json(one_view(&state, user.id(), id).await?))
}

#[utoipa::path(
    delete,
    path = "/api/v1/hosts/views/{view_id}",
    tag = "Fleet",
    params(("view_id" = String, Path, description = "view id")),
    responses(
        (status = 200, description = "Success", body = crate::openapi::Message),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn delete_view(
    State(state): State<AppState>,
    user: CurrentUser,
    AppPath(id): AppPath<Uuid>,
) -> AppResult<Json<crate::openapi::Message>> {
    let n = with_db!(state.db(), p => sqlx::query("DELETE FROM host_views WHERE id = $1 AND user_id = $2")
        .bind(id).bind(user.id()).execute(p).await.map(|r| r.rows_affected()))?;
    if n == 0 {
        return Err(view_not_found());
    }
    Ok(crate::openapi::Message::new("View deleted"))
}

// ---------------------------------------------------------------- dashboard layout

/// One card of the dashboard layout.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = DashboardCardPref)]
struct Card {
    card_id: String,
    enabled: bool,
    order: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    col_span: Option<i64>,
}

/// The caller's dashboard layout; empty until saved once.
#[derive(Serialize, utoipa::ToSchema)]
struct DashboardLayout {
    layout: Vec<Card>,
    updated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = DashboardLayoutBody)]
struct Layout {
    layout: Option<Vec<Card>>,
}

#[utoipa::path(
    get,
    path = "/api/v1/dashboard-preferences",
    tag = "Fleet",
    responses(
        (status = 200, description = "Success", body = DashboardLayout),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn get_dashboard(
    State(state): State<AppState>,
    user: CurrentUser,
) -> AppResult<Json<DashboardLayout>> {
    const SQL: &str = "SELECT layout, updated_at FROM dashboard_preferences WHERE user_id = $1";
    let row: Option<(SqlJson<Vec<Card>>, DateTime<Utc>)> =
        with_db!(state.db(), p => sqlx::query_as(SQL).bind(user.id()).fetch_optional(p).await)?;
    Ok(Json(match row {
        Some((layout, at)) => DashboardLayout {
            layout: layout.0,
            updated_at: Some(at),
        },
        None => DashboardLayout {
            layout: vec![],
            updated_at: None,
        },
    }))
}

#[utoipa::path(
    put,
    path = "/api/v1/dashboard-preferences",
    tag = "Fleet",
    request_body = Layout,
    responses(
        (status = 200, description = "Success", body = DashboardLayout),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn put_dashboard(
    State(state): State<AppState>,
    user: CurrentUser,
    AppJson(body): AppJson<Layout>,
) -> AppResult<Json<DashboardLayout>> {
    let cards = body
        .layout
        .ok_or_else(|| AppError::BadRequest("layout is required".into()))?;
    if cards.len() > 100 {
        return Err(AppError::BadRequest(
            "layout may hold at most 100 cards".into(),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for c in &cards {
        if c.card_id.is_empty() || c.card_id.chars().count() > 64 {
            return Err(AppError::BadRequest(
                "card_id must be 1–64 characters".into(),
            ));
        }
        if !seen.insert(c.card_id.as_str()) {
            return Err(AppError::BadRequest(format!(
                "card_id {} appears twice",
                c.card_id
            )));
        }
        if !(0..=1000).contains(&c.order) || c.col_span.is_some_and(|s| !(1..=4).contains(&s)) {
            return Err(AppError::BadRequest(
                "order must be 0–1000 and col_span 1–4".into(),
            ));
        }
    }
    let now = state.now();
    const SQL: &str = "INSERT INTO dashboard_preferences (user_id, layout, updated_at) VALUES ($1, $2, $3) \
        ON CONFLICT (user_id) DO UPDATE SET layout = excluded.layout, updated_at = excluded.updated_at";
    with_db!(state.db(), p => sqlx::query(SQL).bind(user.id()).bind(SqlJson(&cards)).bind(now).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(Json(DashboardLayout {
        layout: cards,
        updated_at: Some(now),
    }))
}

/// The OpenAPI description of this module's routes (`crate::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list_views,
    create_view,
    update_view,
    delete_view,
    get_dashboard,
    put_dashboard
))]
pub(crate) struct Api;
