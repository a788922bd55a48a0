//! The web app. `frontend/dist` is embedded at build time when it exists
//! (`build.rs` sets `cfg(ui_embedded)`), so one binary serves everything:
//! hashed assets with long-lived caching, `index.html` for every other
//! browser route (client-side routing), JSON 404s under `/api`. When the UI
//! has not been built, `/` serves a small page saying how to build it.

use axum::extract::State;
use axum::http::{HeaderValue, Method, Uri, header};
use axum::response::{IntoResponse, Response};

use crate::error::AppError;
use crate::state::AppState;

/// Router fallback: API 404s, embedded files, SPA routes.
pub async fn fallback(State(state): State<AppState>, method: Method, uri: Uri) -> Response {
    let path = uri.path();
    let browser_route = matches!(method, Method::GET | Method::HEAD)
        && !path.starts_with("/api/")
        && path != "/api"
        && path != "/health";
    if !browser_route {
        return AppError::NotFound("Not found".into()).into_response();
    }
    if let Some(dir) = state.config().ui_dir.as_deref() {
        return serve_dir(dir, path).await;
    }
    serve_ui(&state, path)
}

/// `UI_DIR`: the same answers as the embedded copy, read from disk on each
/// request. Paths with `..`, backslashes or NULs never leave the directory.
async fn serve_dir(dir: &std::path::Path, path: &str) -> Response {
    let file = path.trim_start_matches('/');
    let safe =
        !file.contains(['\\', '\0']) && file.split('/').all(|part| part != ".." && part != ".");
    if !safe {
        return not_found();
    }
    if !file.is_empty()
        && let Ok(data) = tokio::fs::read(dir.join(file)).await
    {
        let mime = mime_guess::from_path(file).first_or_octet_stream();
        return asset_response(file, data, mime.as_ref());
    }
    if !is_client_route(file) {
        return not_found();
    }
    match tokio::fs::read(dir.join("index.html")).await {
        Ok(index) => shell_response(index),
        Err(_) => not_found(),
    }
}

// The rules both copies of the web app follow.

/// A file that exists; hashed `assets/` are cached for good.
fn asset_response(file: &str, body: Vec<u8>, mime: &str) -> Response {
    file_response(body, mime, file.starts_with("assets/"))
}

/// A missing file with an extension is a real 404; any other path is a
/// client-side route and gets the app shell.
fn is_client_route(file: &str) -> bool {
    !file.rsplit('/').next().unwrap_or("").contains('.')
}

/// `index.html`, never cached without revalidation.
fn shell_response(index: Vec<u8>) -> Response {
    file_response(index, "text/html; charset=utf-8", false)
}

fn not_found() -> Response {
    AppError::NotFound("Not found".into()).into_response()
}

#[cfg(ui_embedded)]
#[derive(rust_embed::Embed)]
#[folder = "../frontend/dist"]
struct Assets;

#[cfg(ui_embedded)]
fn serve_ui(_state: &AppState, path: &str) -> Response {
    let file = path.trim_start_matches('/');
    if let Some(asset) = Assets::get(file).filter(|_| !file.is_empty()) {
        return asset_response(file, asset.data.into_owned(), asset.metadata.mimetype());
    }
    if !is_client_route(file) {
        return not_found();
    }
    match Assets::get("index.html") {
        Some(index) => shell_response(index.data.into_owned()),
        None => not_found(),
    }
}

fn file_response(body: Vec<u8>, mime: &str, immutable: bool) -> Response {
    let cache = if immutable {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mut r = Response::new(axum::body::Body::from(body));
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(mime) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

#[cfg(not(ui_embedded))]
fn serve_ui(state: &AppState, path: &str) -> Response {
    if path != "/" {
        return AppError::NotFound("Not found".into()).into_response();
    }
    let page = format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>PatchMon</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;max-width:42rem;margin:3rem auto;padding:0 1rem;line-height:1.5;color:#1f2937}}
code{{background:#f3f4f6;padding:.1rem .3rem;border-radius:.25rem}}</style></head>
<body><h1>PatchMon server {version}</h1>
<p>The server is running on {dialect} and accepts agents at <code>{url}</code>
({agents} connected now).</p>
<p>This binary was built without the web interface. Build it with
<code>npm --prefix frontend ci &amp;&amp; npm --prefix frontend run build</code>, then rebuild the
server (or use <code>./scripts/run.sh</code>, which does both).</p>
<p>Health: <a href="/health">/health</a></p></body></html>"#,
        version = env!("CARGO_PKG_VERSION"),
        dialect = state.db().dialect(),
        url = state.config().public_url(),
        agents = state.hub().connected_count(),
    );
    let mut r = axum::response::Html(page).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}
