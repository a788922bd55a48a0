//! `GET /api/v1/hosts/export` and `/api/v1/packages/export` (CSV or JSON),
//! for roles with `can_export_data`.

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::hosts::{HostListParams, query_hosts};
use super::packages::{PackageListParams, query_packages};
use crate::error::{AppError, AppResult};
use crate::rbac::{Access, ApiRouter, CurrentUser, Permission};
use crate::state::AppState;

const EXPORT: Access = Access::Requires(Permission::ExportData);

pub fn routes(api: ApiRouter) -> ApiRouter {
    api.get("/api/v1/hosts/export", EXPORT, hosts)
        .get("/api/v1/packages/export", EXPORT, packages)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    Json,
}

fn format(v: Option<&str>) -> AppResult<Format> {
    match v.map(str::trim) {
        None | Some("") | Some("csv") => Ok(Format::Csv),
        Some("json") => Ok(Format::Json),
        Some(_) => Err(AppError::BadRequest("format must be csv or json".into())),
    }
}

/// One CSV field: quoted when needed, and a leading `= + - @` (or tab/CR)
/// prefixed with `'` so spreadsheets do not run it as a formula.
pub fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) || s.starts_with(' ') || s.ends_with(' ') {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn csv_line(fields: &[String]) -> String {
    let mut l = fields
        .iter()
        .map(|f| csv_field(f))
        .collect::<Vec<_>>()
        .join(",");
    l.push_str("\r\n");
    l
}

fn attachment(body: String, fmt: Format, stem: &str, state: &AppState) -> Response {
    let date = state.now().format("%Y-%m-%d");
    let (ctype, ext) = match fmt {
        Format::Csv => ("text/csv; charset=utf-8", "csv"),
        Format::Json => ("application/json", "json"),
    };
    (
        [
            (header::CONTENT_TYPE, ctype.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{stem}-{date}.{ext}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response()
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(ToString::to_string).unwrap_or_default()
}

fn snake<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

#[utoipa::path(
    get,
    path = "/api/v1/hosts/export",
    tag = "Fleet",
    responses(
        (status = "2XX", description = "Success"),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn hosts(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(p): Query<HostListParams>,
) -> AppResult<Response> {
    if !user.has(Permission::ViewHosts) {
        return Err(AppError::Forbidden("Insufficient permissions".into()));
    }
    let fmt = format(p.format.as_deref())?;
    let (rows, _) = query_hosts(&state, &user, &p, false).await?;
    let body = match fmt {
        Format::Json => json!({"hosts": rows, "exported_at": state.now()}).to_string(),
        Format::Csv => {
            let mut out = csv_line(
                &[
                    "id",
                    "friendly_name",
                    "hostname",
                    "ip",
                    "os_type",
                    "os_version",
                    "architecture",
                    "agent_version",
                    "status",
                    "effective_status",
                    "total_packages",
                    "updates_available",
                    "security_updates",
                    "needs_reboot",
                    "groups",
                    "last_update",
                    "created_at",
                ]
                .map(str::to_owned),
            );
            for h in &rows {
                out.push_str(&csv_line(&[
                    h.id.to_string(),
                    h.friendly_name.clone(),
                    opt(&h.hostname),
                    opt(&h.ip),
                    opt(&h.os_type),
                    opt(&h.os_version),
                    opt(&h.architecture),
                    opt(&h.agent_version),
                    h.status.clone(),
                    snake(&h.effective_status),
                    h.total_packages.to_string(),
                    h.updates_available.to_string(),
                    h.security_updates.to_string(),
                    h.needs_reboot.to_string(),
                    h.groups
                        .iter()
                        .map(|g| g.name.as_str())
                        .collect::<Vec<_>>()
                        .join(";"),
                    h.last_update.map(|t| t.to_rfc3339()).unwrap_or_default(),
                    h.created_at.to_rfc3339(),
                ]));
            }
            out
        }
    };
    Ok(attachment(body, fmt, "hosts", &state))
}

#[utoipa::path(
    get,
    path = "/api/v1/packages/export",
    tag = "Fleet",
    responses(
        (status = "2XX", description = "Success"),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn packages(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(p): Query<PackageListParams>,
) -> AppResult<Response> {
    if !user.has(Permission::ViewPackages) {
        return Err(AppError::Forbidden("Insufficient permissions".into()));
    }
    let fmt = format(p.format.as_deref())?;
    let (rows, _) = query_packages(&state, &user, &p, false).await?;
    let body = match fmt {
        Format::Json => json!({"packages": rows, "exported_at": state.now()}).to_string(),
        Format::Csv => {
            let mut out = csv_line(
                &[
                    "id",
                    "name",
                    "description",
                    "category",
                    "latest_version",
                    "hosts",
                    "outdated_hosts",
                    "security_hosts",
                    "is_security_update",
                ]
                .map(str::to_owned),
            );
            for r in &rows {
                out.push_str(&csv_line(&[
                    r.id.to_string(),
                    r.name.clone(),
                    opt(&r.description),
                    opt(&r.category),
                    opt(&r.latest_version),
                    r.hosts.to_string(),
                    r.outdated_hosts.to_string(),
                    r.security_hosts.to_string(),
                    r.is_security_update.to_string(),
                ]));
            }
            out
        }
    };
    Ok(attachment(body, fmt, "packages", &state))
}

/// The OpenAPI description of this module's routes (`crate::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(hosts, packages))]
pub(crate) struct Api;

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_quoting_and_formula_guard() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=cmd()"), "'=cmd()");
        assert_eq!(csv_field("-1,2"), "\"'-1,2\"");
        assert_eq!(csv_field("line\nbreak"), "\"line\nbreak\"");
    }
}
