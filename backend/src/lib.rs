//! patchmon-server: the agent API, the agent WebSocket hub and (later) the web app.
//!
//! `app(state)` builds the router; `serve(listener, state, shutdown)` runs it.
//! `main.rs` only parses the command line, loads configuration and binds.

pub mod agents;
pub mod alerts;
pub mod auth;
pub mod clock;
pub mod config;
pub mod db;
pub mod enroll;
pub mod error;
pub mod extract;
pub mod fleet;
pub mod health;
pub mod hosts;
pub mod install;
pub mod notify;
pub mod openapi;
pub mod public_api;
pub mod queue;
pub mod rbac;
pub mod reports;
pub mod settings;
pub mod state;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod tokens;
pub mod users;
pub mod web;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::MatchedPath;
use axum::http::Request;
use axum::response::IntoResponse;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

use crate::agents::hub::CloseReason;
use crate::clock::SystemClock;
use crate::config::Config;
use crate::db::Db;
use crate::state::AppState;

/// The full HTTP application.
pub fn app(state: AppState) -> Router {
    let routes = Router::new()
        .merge(agents::router(&state))
        .merge(health::router())
        .merge(enroll::router())
        .merge(public_api::router())
        .merge(openapi::router(&state))
        .merge(fleet::settings_api::public_router())
        .merge(install::router(&state))
        .merge(rbac::user_api(&state).into_parts().0)
        .fallback(web::fallback);
    with_layers(routes).with_state(state)
}

/// The layers every request goes through: a panicking handler answers a
/// JSON 500 (and is logged) instead of taking the connection, or with
/// `panic = "abort"` the process, down; the trace span sees that 500.
pub fn with_layers(routes: Router<AppState>) -> Router<AppState> {
    routes.layer(CatchPanicLayer::custom(panic_response)).layer(
        TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
            let path = req
                .extensions()
                .get::<MatchedPath>()
                .map_or_else(|| req.uri().path().to_owned(), |p| p.as_str().to_owned());
            tracing::info_span!("request", method = %req.method(), path = %path)
        }),
    )
}

fn panic_response(payload: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    tracing::error!(panic = %panic_message(payload.as_ref()), "request handler panicked");
    error::AppError::internal("handler panicked").into_response()
}

/// Runs `fut`; a panic inside it becomes `Err(<panic message>)`, for the
/// long-lived loops (queue worker, scheduler, agent sessions) that log it and
/// carry on instead of losing their task.
pub async fn catch_panic<F: Future>(fut: F) -> Result<F::Output, String> {
    use futures_util::FutureExt;
    std::panic::AssertUnwindSafe(fut)
        .catch_unwind()
        .await
        .map_err(|p| panic_message(p.as_ref()).to_owned())
}

/// The text of a panic payload (`panic!` gives a `&str` or a `String`).
fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

/// Installs rustls' ring provider for the process (reqwest is built with
/// `rustls-no-provider`, so every outbound HTTPS/HTTP client — webhooks,
/// ntfy, Gotify, OIDC — needs one). Idempotent; called by `main` and by
/// `AppState::new`, so no way of starting a server can miss it.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Opens and migrates the database and builds the state with the system clock.
pub async fn init_state(config: Config) -> Result<AppState, db::DbInitError> {
    let db = Db::connect(&config.database_url, config.db_connection_limit).await?;
    db.migrate().await?;
    Ok(AppState::new(config, db, Arc::new(SystemClock)))
}

/// Serves until `shutdown` resolves, then closes agent sockets with a
/// "server restarting" close frame and drains in-flight requests.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let hub_state = state.clone();
    let workers = queue::start(&state).await.map_err(std::io::Error::other)?;
    let res = axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        hub_state.hub().close_all(CloseReason::ServerRestart);
    })
    .await;
    workers.stop();
    res
}
