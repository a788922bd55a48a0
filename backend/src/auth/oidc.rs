//! OpenID Connect single sign-on: authorization code flow with PKCE (S256),
//! state and nonce, a 10-minute login window, group → role mapping,
//! auto-creation, and account linking only on a verified email.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreGenderClaim, CoreProviderMetadata,
};
use openidconnect::{
    AdditionalClaims, AuthorizationCode, ClientId, ClientSecret, CsrfToken, HttpRequest,
    HttpResponse, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, Scope, TokenResponse, UserInfoClaims,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::RwLock;
use uuid::Uuid;

use super::audit::{self, Event};
use super::config::OidcConfig;
use super::session::{self, ClientInfo, SessionUser};
use crate::error::{AppError, AppResult};
use crate::hosts::credentials::hash_secret;
use crate::rbac::{Access, ApiRouter, CurrentUser};
use crate::state::AppState;
use crate::with_db;

const STATE_COOKIE: &str = "patchmon_oidc_state";
const LOGIN_WINDOW_MINUTES: i64 = 10;

pub fn routes(api: ApiRouter) -> ApiRouter {
    use Access::{Authenticated, Public};
    api.get("/api/v1/auth/oidc/config", Public, config)
        .get("/api/v1/auth/oidc/login", Public, login)
        .get("/api/v1/auth/oidc/callback", Public, callback)
        .post("/api/v1/auth/oidc/logout", Authenticated, logout)
}

/// Discovery result, cached once it succeeded.
#[derive(Default)]
pub struct OidcState {
    metadata: RwLock<Option<Arc<CoreProviderMetadata>>>,
}

/// Our reqwest client, handed to openidconnect (so it brings no HTTP stack of its own).
struct Http(reqwest::Client);

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HttpError(String);

impl<'c> openidconnect::AsyncHttpClient<'c> for Http {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let method = reqwest::Method::from_bytes(parts.method.as_str().as_bytes())
                .map_err(|e| HttpError(e.to_string()))?;
            let mut rb = self.0.request(method, parts.uri.to_string()).body(body);
            for (k, v) in &parts.headers {
                rb = rb.header(k.as_str(), v.as_bytes());
            }
            let r = rb.send().await.map_err(|e| HttpError(e.to_string()))?;
            let mut out = axum::http::Response::builder().status(r.status().as_u16());
            for (k, v) in r.headers() {
                out = out.header(k.as_str(), v.as_bytes());
            }
            let bytes = r.bytes().await.map_err(|e| HttpError(e.to_string()))?;
            out.body(bytes.to_vec())
                .map_err(|e| HttpError(e.to_string()))
        })
    }
}

fn http() -> AppResult<Http> {
    crate::install_crypto_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(15))
        .build()
        .map(Http)
        .map_err(AppError::internal)
}

fn cfg(state: &AppState) -> AppResult<&OidcConfig> {
    state
        .config()
        .auth
        .oidc
        .as_ref()
        .ok_or_else(|| AppError::NotFound("Single sign-on is not enabled".into()))
}

/// The provider's metadata (discovered once, then cached).
pub async fn metadata(state: &AppState) -> AppResult<Arc<CoreProviderMetadata>> {
    if let Some(m) = state.oidc().metadata.read().await.as_ref() {
        return Ok(m.clone());
    }
    let c = cfg(state)?;
    let issuer = IssuerUrl::new(c.issuer_url.clone()).map_err(AppError::internal)?;
    let m = CoreProviderMetadata::discover_async(issuer, &http()?)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "OIDC discovery failed");
            AppError::Unavailable("The identity provider cannot be reached".into())
        })?;
    let m = Arc::new(m);
    *state.oidc().metadata.write().await = Some(m.clone());
    Ok(m)
}

/// Whether local password login is switched off: only when SSO is enabled,
/// asked for, and the provider was reached (so a broken IdP never locks everyone out).
pub async fn local_login_disabled(state: &AppState) -> bool {
    match state.config().auth.oidc.as_ref() {
        Some(c) if c.disable_local_auth => metadata(state).await.is_ok(),
        _ => false,
    }
}

async fn client(
    state: &AppState,
) -> AppResult<(
    CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    >,
    &OidcConfig,
)> {
    let c = cfg(state)?;
    let m = metadata(state).await?;
    let client = CoreClient::from_provider_metadata(
        (*m).clone(),
        ClientId::new(c.client_id.clone()),
        Some(ClientSecret::new(c.client_secret.clone())),
    )
    .set_redirect_uri(RedirectUrl::new(c.redirect_uri.clone()).map_err(AppError::internal)?);
    Ok((client, c))
}

#[utoipa::path(
    get,
    path = "/api/v1/auth/oidc/config",
    tag = "Single sign-on",
    responses(
        (status = 200, description = "Success", body = OidcPublicConfig),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn config(State(state): State<AppState>) -> Json<OidcPublicConfig> {
    match state.config().auth.oidc.as_ref() {
        None => Json(OidcPublicConfig {
            enabled: false,
            button_text: None,
            disable_local_auth: None,
        }),
        Some(c) => Json(OidcPublicConfig {
            enabled: true,
            button_text: Some(c.button_text.clone()),
            disable_local_auth: Some(local_login_disabled(&state).await),
        }),
    }
}

/// Whether the sign-in page offers single sign-on; the other fields are
/// present only when it does.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[schema(as = OidcConfig)]
pub struct OidcPublicConfig {
    pub enabled: bool,
    #[serde(rename = "buttonText", skip_serializing_if = "Option::is_none")]
    #[schema(rename = "buttonText", nullable = false)]
    pub button_text: Option<String>,
    #[serde(rename = "disableLocalAuth", skip_serializing_if = "Option::is_none")]
    #[schema(rename = "disableLocalAuth", nullable = false)]
    pub disable_local_auth: Option<bool>,
}

/// Starts a login: stores state, PKCE verifier and nonce, redirects to the provider.
#[utoipa::path(
    get,
    path = "/api/v1/auth/oidc/login",
    tag = "Single sign-on",
    responses(
        (status = "2XX", description = "Success"),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn login(State(state): State<AppState>) -> AppResult<Response> {
    let (client, c) = client(&state).await?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut req = client.authorize_url(
        CoreAuthenticationFlow::AuthorizationCode,
        CsrfToken::new_random,
        Nonce::new_random,
    );
    for s in c.scopes.iter().filter(|s| s.as_str() != "openid") {
        req = req.add_scope(Scope::new(s.clone()));
    }
    let (url, csrf, nonce) = req.set_pkce_challenge(challenge).url();
    let now = state.now();
    const SQL: &str = "INSERT INTO oidc_logins (state_hash, pkce_verifier, nonce, created_at, expires_at) \
        VALUES ($1, $2, $3, $4, $5)";
    with_db!(state.db(), p => sqlx::query(SQL)
        .bind(hash_secret(csrf.secret()))
        .bind(verifier.secret())
        .bind(nonce.secret())
        .bind(now)
        .bind(now + Duration::minutes(LOGIN_WINDOW_MINUTES))
        .execute(p).await.map(|_| ()))?;
    let secure = if state.config().server_protocol == "https" {
        "; Secure"
    } else {
        ""
    };
    let mut headers = HeaderMap::new();
    headers.insert(
        LOCATION,
        HeaderValue::from_str(url.as_str()).map_err(AppError::internal)?,
    );
    // Binds the login to this browser: the callback must come with the same state.
    let cookie = format!(
        "{STATE_COOKIE}={}; Path=/api/v1/auth/oidc; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        csrf.secret(),
        LOGIN_WINDOW_MINUTES * 60
    );
    headers.insert(
        SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(AppError::internal)?,
    );
    Ok((StatusCode::FOUND, headers).into_response())
}

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// `groups` (most providers) or `ak_groups` (Authentik).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct GroupClaims {
    #[serde(default)]
    groups: Option<Vec<String>>,
    #[serde(default)]
    ak_groups: Option<Vec<String>>,
}

impl AdditionalClaims for GroupClaims {}

/// PatchMon's hierarchy: superadmin needs both the admin and superadmin
/// groups; then admin, host_manager, user, readonly; else the default role.
pub fn role_for_groups(c: &OidcConfig, groups: &[String]) -> String {
    let has = |g: &Option<String>| {
        g.as_ref()
            .is_some_and(|g| groups.iter().any(|x| x.to_lowercase() == *g))
    };
    if has(&c.admin_group) && has(&c.superadmin_group) {
        "superadmin"
    } else if has(&c.admin_group) {
        "admin"
    } else if has(&c.host_manager_group) {
        "host_manager"
    } else if has(&c.user_group) {
        "user"
    } else if has(&c.readonly_group) {
        "readonly"
    } else {
        c.default_role.as_str()
    }
    .to_owned()
}

struct Identity {
    sub: String,
    email: Option<String>,
    email_verified: bool,
    first_name: Option<String>,
    last_name: Option<String>,
    preferred_username: Option<String>,
    picture: Option<String>,
    groups: Vec<String>,
}

fn sso_error(msg: &str) -> AppError {
    AppError::Unauthorized(match msg {
        "state" => {
            "Single sign-on failed: the login expired or was not started here. Please try again."
        }
        _ => "Single sign-on failed",
    })
}

#[utoipa::path(
    get,
    path = "/api/v1/auth/oidc/callback",
    tag = "Single sign-on",
    responses(
        (status = "2XX", description = "Success"),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn callback(
    State(state): State<AppState>,
    client_info: ClientInfo,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> AppResult<Response> {
    if let Some(e) = q.error {
        tracing::info!(error = %e, "identity provider refused the login");
        return Err(AppError::Unauthorized(
            "Single sign-on was cancelled or refused",
        ));
    }
    let (Some(code), Some(st)) = (q.code, q.state) else {
        return Err(AppError::BadRequest("code and state are required".into()));
    };
    // The state must be ours, unexpired, unused, and come from the browser that started the login.
    if session::cookie(&headers, STATE_COOKIE) != Some(st.as_str()) {
        return Err(sso_error("state"));
    }
    let now = state.now();
    const TAKE: &str =
        "DELETE FROM oidc_logins WHERE state_hash = $1 RETURNING pkce_verifier, nonce, expires_at";
    let pending: Option<(String, String, DateTime<Utc>)> = with_db!(state.db(), p =>
        sqlx::query_as(TAKE).bind(hash_secret(&st)).fetch_optional(p).await)?;
    let Some((verifier, nonce, expires_at)) = pending.filter(|(_, _, exp)| *exp > now) else {
        return Err(sso_error("state"));
    };
    let _ = expires_at;
    let identity = exchange(&state, code, verifier, nonce).await?;
    let (su, created) = resolve_user(&state, &client_info, &identity).await?;
    audit::record(
        &state,
        &client_info,
        Event {
            event: "sso_login",
            success: true,
            user_id: Some(su.id),
            username: Some(&su.username),
            details: Some(json!({ "created": created, "role": su.role })),
            ..Default::default()
        },
    )
    .await;
    let mut res = super::complete_login(&state, &client_info, &su, "Login successful").await?;
    // A browser lands on the web app, signed in by the session cookie.
    *res.status_mut() = StatusCode::FOUND;
    res.headers_mut()
        .insert(LOCATION, HeaderValue::from_static("/"));
    res.headers_mut().append(
        SET_COOKIE,
        HeaderValue::from_static(
            "patchmon_oidc_state=; Path=/api/v1/auth/oidc; HttpOnly; SameSite=Lax; Max-Age=0",
        ),
    );
    Ok(res)
}

async fn exchange(
    state: &AppState,
    code: String,
    verifier: String,
    nonce: String,
) -> AppResult<Identity> {
    let (client, _) = client(state).await?;
    let http = http()?;
    let token = client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(AppError::internal)?
        .set_pkce_verifier(PkceCodeVerifier::new(verifier))
        .request_async(&http)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "OIDC code exchange failed");
            sso_error("exchange")
        })?;
    let id_token = token.id_token().ok_or_else(|| sso_error("no id token"))?;
    let clock = state.clock().clone();
    let verifier = client.id_token_verifier().set_time_fn(move || clock.now());
    let claims = id_token
        .claims(&verifier, &Nonce::new(nonce))
        .map_err(|e| {
            tracing::warn!(error = %e, "OIDC ID token rejected");
            sso_error("id token")
        })?;
    let sub = claims.subject().clone();
    let info: Option<UserInfoClaims<GroupClaims, CoreGenderClaim>> =
        match client.user_info(token.access_token().clone(), Some(sub.clone())) {
            Ok(req) => Some(req.request_async(&http).await.map_err(|e| {
                tracing::warn!(error = %e, "OIDC userinfo failed");
                sso_error("userinfo")
            })?),
            Err(_) => None,
        };
    let pick = |a: Option<String>, b: Option<String>| a.or(b);
    let email = pick(
        info.as_ref().and_then(|i| i.email()).map(|e| e.to_string()),
        claims.email().map(|e| e.to_string()),
    );
    let email_verified = info
        .as_ref()
        .and_then(|i| i.email_verified())
        .or(claims.email_verified())
        .unwrap_or(false);
    let first_name = pick(
        info.as_ref()
            .and_then(|i| i.given_name())
            .and_then(|n| n.get(None))
            .map(|n| n.to_string()),
        claims
            .given_name()
            .and_then(|n| n.get(None))
            .map(|n| n.to_string()),
    );
    let last_name = pick(
        info.as_ref()
            .and_then(|i| i.family_name())
            .and_then(|n| n.get(None))
            .map(|n| n.to_string()),
        claims
            .family_name()
            .and_then(|n| n.get(None))
            .map(|n| n.to_string()),
    );
    let picture = pick(
        info.as_ref()
            .and_then(|i| i.picture())
            .and_then(|n| n.get(None))
            .map(|n| n.to_string()),
        claims
            .picture()
            .and_then(|n| n.get(None))
            .map(|n| n.to_string()),
    );
    let preferred_username = pick(
        info.as_ref()
            .and_then(|i| i.preferred_username())
            .map(|n| n.to_string()),
        claims.preferred_username().map(|n| n.to_string()),
    );
    let groups = info
        .as_ref()
        .map(|i| i.additional_claims().clone())
        .map(|g| g.groups.or(g.ak_groups).unwrap_or_default())
        .unwrap_or_default();
    Ok(Identity {
        sub: sub.to_string(),
        email,
        email_verified,
        first_name,
        last_name,
        preferred_username,
        picture,
        groups,
    })
}

#[derive(sqlx::FromRow)]
struct Linked {
    id: Uuid,
    role: String,
    is_active: bool,
}

/// Finds the account for an identity: by (issuer, sub); else by verified email
/// (linking it); else creates one when allowed.
async fn resolve_user(
    state: &AppState,
    client: &ClientInfo,
    id: &Identity,
) -> AppResult<(SessionUser, bool)> {
    let c = cfg(state)?;
    let issuer = c.issuer_url.clone();
    let mapped = role_for_groups(c, &id.groups);
    let now = state.now();
    const BY_SUB: &str =
        "SELECT id, role, is_active FROM users WHERE oidc_provider = $1 AND oidc_sub = $2";
    let found: Option<Linked> = with_db!(state.db(), p =>
        sqlx::query_as(BY_SUB).bind(&issuer).bind(&id.sub).fetch_optional(p).await)?;
    let email = id.email.as_deref().map(str::trim).filter(|e| !e.is_empty());
    let (user_id, created) = match found {
        Some(u) => (u.id, false),
        None => {
            let by_email: Option<Linked> = match email {
                Some(e) => with_db!(state.db(), p =>
                    sqlx::query_as("SELECT id, role, is_active FROM users WHERE lower(email) = lower($1)")
                        .bind(e).fetch_optional(p).await)?,
                None => None,
            };
            match by_email {
                Some(u) if id.email_verified => {
                    with_db!(state.db(), p => sqlx::query(
                        "UPDATE users SET oidc_provider = $2, oidc_sub = $3, updated_at = $4 WHERE id = $1")
                        .bind(u.id).bind(&issuer).bind(&id.sub).bind(now).execute(p).await.map(|_| ()))?;
                    audit::record(
                        state,
                        client,
                        Event {
                            event: "sso_linked",
                            success: true,
                            user_id: Some(u.id),
                            details: Some(json!({ "issuer": issuer, "sub": id.sub })),
                            ..Default::default()
                        },
                    )
                    .await;
                    (u.id, false)
                }
                Some(u) => {
                    audit::record(
                        state,
                        client,
                        Event {
                            event: "sso_link_refused_unverified_email",
                            success: false,
                            user_id: Some(u.id),
                            ..Default::default()
                        },
                    )
                    .await;
                    return Err(AppError::Forbidden(
                        "An account with this email exists; it can be linked only when the identity provider has verified the email".into(),
                    ));
                }
                None if c.auto_create_users => {
                    let Some(email) = email else {
                        return Err(AppError::Forbidden(
                            "The identity provider sent no email address".into(),
                        ));
                    };
                    let new_id = create_user(state, c, id, email, &issuer, &mapped).await?;
                    (new_id, true)
                }
                None => {
                    return Err(AppError::Forbidden(
                        "No account exists for this identity".into(),
                    ));
                }
            }
        }
    };
    sync_profile(state, c, user_id, id, &mapped, created, client).await?;
    const LOAD: &str = "SELECT id, username, email, first_name, last_name, role, is_active, tfa_enabled FROM users WHERE id = $1";
    let su: SessionUser =
        with_db!(state.db(), p => sqlx::query_as(LOAD).bind(user_id).fetch_one(p).await)?;
    if !su.is_active {
        return Err(AppError::Forbidden("This account is disabled".into()));
    }
    Ok((su, created))
}

/// `alice` from `alice@example.com`, made valid and unique (`alice2`, `alice3`, …).
async fn unique_username(state: &AppState, id: &Identity, email: &str) -> AppResult<String> {
    let base: String = email
        .split('@')
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .take(56)
        .collect::<String>()
        .to_lowercase();
    let base = if base.len() >= 3 {
        base
    } else {
        format!(
            "{base}{}",
            id.preferred_username
                .as_deref()
                .map_or("user".to_owned(), |p| p
                    .chars()
                    .filter(char::is_ascii_alphanumeric)
                    .take(20)
                    .collect())
        )
    };
    let base = if base.len() < 3 {
        format!("{base}usr")
    } else {
        base
    };
    for n in 1..1000 {
        let candidate = if n == 1 {
            base.clone()
        } else {
            format!("{base}{n}")
        };
        let taken: i64 = with_db!(state.db(), p =>
            sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE lower(username) = $1").bind(&candidate).fetch_one(p).await)?;
        if taken == 0 {
            return Ok(candidate);
        }
    }
    Err(AppError::Conflict("Cannot find a free username".into()))
}

async fn create_user(
    state: &AppState,
    _c: &OidcConfig,
    id: &Identity,
    email: &str,
    issuer: &str,
    role: &str,
) -> AppResult<Uuid> {
    let username = unique_username(state, id, email).await?;
    let new_id = Uuid::new_v4();
    let now = state.now();
    const SQL: &str = "INSERT INTO users (id, username, email, password_hash, first_name, last_name, role, is_active, \
        oidc_sub, oidc_provider, avatar_url, created_at, updated_at) \
        VALUES ($1, $2, $3, NULL, $4, $5, $6, TRUE, $7, $8, $9, $10, $10)";
    with_db!(state.db(), p => sqlx::query(SQL)
        .bind(new_id).bind(&username).bind(email).bind(&id.first_name).bind(&id.last_name).bind(role)
        .bind(&id.sub).bind(issuer).bind(&id.picture).bind(now)
        .execute(p).await.map(|_| ()))?;
    Ok(new_id)
}

/// Names, picture and verified email always; the role when `OIDC_SYNC_ROLES` (never demoting the last superadmin).
async fn sync_profile(
    state: &AppState,
    c: &OidcConfig,
    user_id: Uuid,
    id: &Identity,
    mapped: &str,
    created: bool,
    client: &ClientInfo,
) -> AppResult<()> {
    let now = state.now();
    const NAMES: &str = "UPDATE users SET first_name = COALESCE($2, first_name), last_name = COALESCE($3, last_name), \
        avatar_url = COALESCE($4, avatar_url), updated_at = $5 WHERE id = $1";
    with_db!(state.db(), p => sqlx::query(NAMES).bind(user_id).bind(&id.first_name).bind(&id.last_name)
        .bind(&id.picture).bind(now).execute(p).await.map(|_| ()))?;
    // A verified email follows the provider, unless another account holds it.
    if let Some(email) = id
        .email
        .as_deref()
        .filter(|e| id.email_verified && !e.trim().is_empty())
    {
        const EMAIL: &str = "UPDATE users SET email = $2 WHERE id = $1 AND lower(email) <> lower($2) \
            AND NOT EXISTS (SELECT 1 FROM users o WHERE lower(o.email) = lower($2) AND o.id <> $1)";
        with_db!(state.db(), p => sqlx::query(EMAIL).bind(user_id).bind(email.trim())
            .execute(p).await.map(|_| ()))?;
    }
    if created || !c.sync_roles {
        return Ok(());
    }
    let current: Linked = with_db!(state.db(), p =>
        sqlx::query_as("SELECT id, role, is_active FROM users WHERE id = $1").bind(user_id).fetch_one(p).await)?;
    if current.role == mapped {
        return Ok(());
    }
    if current.role == "superadmin" && current.is_active {
        let others: i64 = with_db!(state.db(), p => sqlx::query_scalar(
            "SELECT COUNT(*) FROM users WHERE role = 'superadmin' AND is_active = TRUE AND id <> $1")
            .bind(user_id).fetch_one(p).await)?;
        if others == 0 {
            tracing::warn!(%user_id, "OIDC role sync would demote the last superadmin; role kept");
            return Ok(());
        }
    }
    with_db!(state.db(), p => sqlx::query("UPDATE users SET role = $2, updated_at = $3 WHERE id = $1")
        .bind(user_id).bind(mapped).bind(now).execute(p).await.map(|_| ()))?;
    audit::record(
        state,
        client,
        Event {
            event: "role_changed",
            success: true,
            user_id: Some(user_id),
            details: Some(json!({ "from": current.role, "to": mapped, "source": "oidc" })),
            ..Default::default()
        },
    )
    .await;
    Ok(())
}

#[utoipa::path(
    post,
    path = "/api/v1/auth/oidc/logout",
    tag = "Single sign-on",
    responses(
        (status = "2XX", description = "Success"),
        (status = "4XX", description = "Refused; `{\"error\": …, \"code\": …}`", body = crate::openapi::ErrorBody)
    )
)]
async fn logout(State(state): State<AppState>, me: CurrentUser) -> AppResult<Response> {
    session::revoke(&state, me.id(), me.session.session_id).await?;
    let mut headers = HeaderMap::new();
    for c in session::clear_cookies() {
        headers.append(SET_COOKIE, c);
    }
    Ok((headers, Json(json!({ "message": "Logout successful" }))).into_response())
}

/// The OpenAPI description of this module's routes (`crate::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(config, login, callback, logout))]
pub(crate) struct Api;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_hierarchy() {
        let c = OidcConfig {
            issuer_url: String::new(),
            client_id: String::new(),
            client_secret: String::new(),
            redirect_uri: String::new(),
            scopes: vec![],
            auto_create_users: true,
            default_role: "readonly".into(),
            disable_local_auth: false,
            button_text: String::new(),
            superadmin_group: Some("pm super".into()),
            admin_group: Some("pm admins".into()),
            host_manager_group: Some("pm hosts".into()),
            user_group: Some("pm users".into()),
            readonly_group: None,
            sync_roles: true,
        };
        let g = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            role_for_groups(&c, &g(&["PM Admins", "PM Super"])),
            "superadmin"
        );
        assert_eq!(
            role_for_groups(&c, &g(&["pm super"])),
            "readonly",
            "superadmin group alone is not enough"
        );
        assert_eq!(role_for_groups(&c, &g(&["pm users", "PM ADMINS"])), "admin");
        assert_eq!(
            role_for_groups(&c, &g(&["pm hosts", "pm users"])),
            "host_manager"
        );
        assert_eq!(role_for_groups(&c, &g(&["pm users"])), "user");
        assert_eq!(role_for_groups(&c, &g(&["other"])), "readonly");
    }
}
