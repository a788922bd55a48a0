//! What a browser sees at `/`. The web app is not built yet; until it is,
//! `/` serves a small status page instead of a bare 404, so the quick-start
//! URL shows something useful.

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/", get(index))
}

async fn index(State(state): State<AppState>) -> impl IntoResponse {
    let page = format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>PatchMon</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;max-width:42rem;margin:3rem auto;padding:0 1rem;line-height:1.5;color:#1f2937}}
code{{background:#f3f4f6;padding:.1rem .3rem;border-radius:.25rem}}</style></head>
<body><h1>PatchMon server {version}</h1>
<p>The server is running on {dialect} and accepts agents at <code>{url}</code>
({agents} connected now).</p>
<p>The web interface is not part of this build yet. Add hosts with
<code>patchmon-server hosts add --name NAME</code> and point agents at this server with
<code>patchmon-agent config set-api API_ID API_KEY {url}</code>.</p>
<p>Health: <a href="/health">/health</a></p></body></html>"#,
        version = env!("CARGO_PKG_VERSION"),
        dialect = state.db().dialect(),
        url = state.config().public_url(),
        agents = state.hub().connected_count(),
    );
    ([(header::CACHE_CONTROL, "no-cache")], Html(page))
}
