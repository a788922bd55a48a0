//! Local authentication: first-run setup, login, lockout, sessions, CSRF,
//! password changes, auth rate limits, the audit log and `users create-admin`.

use std::sync::Arc;

use chrono::{Duration, Utc};
use patchmon_server::clock::ManualClock;
use patchmon_server::config::{Config, DatabaseUrl};
use patchmon_server::with_db;
use reqwest::Method;
use reqwest::header::HeaderMap;

use super::*;

pub const ADMIN_PW: &str = "Adm1n-Passw0rd!";

/// One API call; `token` is sent as a Bearer token.
pub async fn call(
    server: &TestServer,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, HeaderMap, Value) {
    let mut rb = client().request(method, format!("{}{path}", server.url()));
    if let Some(t) = token {
        rb = rb.bearer_auth(t);
    }
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let r = rb.send().await.expect("request");
    let status = r.status();
    let headers = r.headers().clone();
    let text = r.text().await.expect("body");
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

/// Creates the first superadmin through the setup endpoint; returns its token.
pub async fn setup_admin(server: &TestServer) -> String {
    let (s, _, b) = call(
        server,
        Method::POST,
        "/api/v1/auth/setup-admin",
        None,
        Some(
            json!({"firstName": "Ada", "lastName": "Admin", "username": "admin",
                    "email": "admin@example.com", "password": ADMIN_PW}),
        ),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    b["token"].as_str().unwrap().to_owned()
}

pub async fn login(
    server: &TestServer,
    username: &str,
    password: &str,
) -> (StatusCode, HeaderMap, Value) {
    call(
        server,
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(json!({"username": username, "password": password})),
    )
    .await
}

pub async fn token_of(server: &TestServer, username: &str, password: &str) -> String {
    let (s, _, b) = login(server, username, password).await;
    assert_eq!(s, 200, "{b}");
    b["token"].as_str().unwrap().to_owned()
}

/// Creates a user with `role` through the admin API.
pub async fn create_user(server: &TestServer, admin: &str, username: &str, role: &str) -> Uuid {
    let (s, _, b) = call(
        server,
        Method::POST,
        "/api/v1/auth/admin/users",
        Some(admin),
        Some(
            json!({"username": username, "email": format!("{username}@example.com"),
                    "password": "Us3r-Passw0rd!", "role": role}),
        ),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    b["user"]["id"].as_str().unwrap().parse().unwrap()
}

pub const USER_PW: &str = "Us3r-Passw0rd!";

async fn profile_status(server: &TestServer, token: &str) -> StatusCode {
    call(
        server,
        Method::GET,
        "/api/v1/auth/profile",
        Some(token),
        None,
    )
    .await
    .0
}

fn manual_clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(Utc::now()))
}

async fn audit_events(server: &TestServer) -> Vec<(String, bool)> {
    const SQL: &str = "SELECT event, success FROM audit_logs ORDER BY created_at, event";
    with_db!(server.db(), p => sqlx::query_as(SQL).fetch_all(p).await).unwrap()
}

#[tokio::test]
async fn setup_admin_runs_once_and_logs_in() {
    let server = TestServer::start().await;
    let (s, _, b) = call(
        &server,
        Method::GET,
        "/api/v1/auth/check-admin-users",
        None,
        None,
    )
    .await;
    assert_eq!(
        (s.as_u16(), b["hasAdminUsers"].clone()),
        (200, json!(false))
    );

    // Password policy applies to the first account too.
    let (s, _, b) = call(
        &server,
        Method::POST,
        "/api/v1/auth/setup-admin",
        None,
        Some(
            json!({"firstName": "A", "lastName": "B", "username": "admin",
                    "email": "admin@example.com", "password": "short"}),
        ),
    )
    .await;
    assert_eq!(s, 400);
    assert!(
        b["error"]
            .as_str()
            .unwrap()
            .contains("at least 8 characters"),
        "{b}"
    );

    let token = setup_admin(&server).await;
    let (s, _, b) = call(
        &server,
        Method::GET,
        "/api/v1/auth/profile",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["user"]["role"], "superadmin");
    assert_eq!(b["user"]["first_name"], "Ada");
    assert!(b["user"].get("password_hash").is_none());

    let (_, _, b) = call(
        &server,
        Method::GET,
        "/api/v1/auth/check-admin-users",
        None,
        None,
    )
    .await;
    assert_eq!(b["hasAdminUsers"], true);
    // Closed for good.
    let (s, _, b) = call(
        &server,
        Method::POST,
        "/api/v1/auth/setup-admin",
        None,
        Some(json!({"username": "second", "email": "second@example.com", "password": ADMIN_PW})),
    )
    .await;
    assert_eq!(s, 400, "{b}");
    let stored: String = with_db!(server.db(), p =>
        sqlx::query_scalar("SELECT password_hash FROM users WHERE username = 'admin'").fetch_one(p).await)
    .unwrap();
    assert!(
        stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{stored}"
    );
}

#[tokio::test]
async fn concurrent_setup_creates_one_admin() {
    let server = TestServer::start().await;
    let mut tasks = Vec::new();
    for i in 0..4 {
        let url = server.url();
        tasks.push(tokio::spawn(async move {
            client()
                .post(format!("{url}/api/v1/auth/setup-admin"))
                .json(&json!({"username": format!("admin{i}"), "email": format!("a{i}@example.com"), "password": ADMIN_PW}))
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    let mut created = 0;
    for t in tasks {
        if t.await.unwrap() == 201 {
            created += 1;
        }
    }
    assert_eq!(created, 1);
    let n: i64 = with_db!(server.db(), p => sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(p).await).unwrap();
    assert_eq!(n, 1);
}

#[tokio::test]
async fn login_answers_patchmon_shape_and_generic_errors() {
    let server = TestServer::start().await;
    setup_admin(&server).await;
    let (s, headers, b) = login(&server, "admin", ADMIN_PW).await;
    assert_eq!(s, 200, "{b}");
    for k in ["token", "refresh_token", "csrf_token"] {
        assert_eq!(b[k].as_str().unwrap().len(), 64, "{k}");
    }
    assert_eq!(b["expires_in"], 3600);
    assert_eq!(b["user"]["username"], "admin");
    assert_eq!(b["user"]["email"], "admin@example.com");
    assert_eq!(b["user"]["role"], "superadmin");
    assert!(b["user"]["id"].as_str().unwrap().parse::<Uuid>().is_ok());
    let cookies: Vec<&str> = headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    let session = cookies
        .iter()
        .find(|c| c.starts_with("patchmon_session="))
        .unwrap();
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Lax"),
        "{session}"
    );
    assert!(!session.contains("Secure"), "plain http test server");

    // Email and case-insensitive username work too.
    assert_eq!(login(&server, "ADMIN@example.com", ADMIN_PW).await.0, 200);
    assert_eq!(login(&server, "Admin", ADMIN_PW).await.0, 200);

    // Wrong password and unknown user look the same.
    let (s1, _, b1) = login(&server, "admin", "Wrong-Passw0rd!").await;
    let (s2, _, b2) = login(&server, "nobody", "Wrong-Passw0rd!").await;
    assert_eq!(
        (s1, s2),
        (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED)
    );
    assert_eq!(b1, b2);
    assert_eq!(b1["error"], "Invalid credentials");
    let (s, _, _) = login(&server, "", "").await;
    assert_eq!(s, 400);

    // The token is stored only as a hash.
    let raw = b["token"].as_str().unwrap();
    let found: i64 = with_db!(server.db(), p =>
        sqlx::query_scalar("SELECT COUNT(*) FROM user_sessions WHERE token_hash = $1 OR refresh_token_hash = $1")
            .bind(raw).fetch_one(p).await)
    .unwrap();
    assert_eq!(found, 0);
}

#[tokio::test]
async fn lockout_window_and_duration() {
    let clock = manual_clock();
    let server = TestServer::start_with_clock(|_| {}, clock.clone()).await;
    setup_admin(&server).await;
    let bad = "Wrong-Passw0rd!";
    // Four failures, then the 15-minute window passes: the count starts again.
    for _ in 0..4 {
        assert_eq!(login(&server, "admin", bad).await.0, 401);
    }
    clock.advance(Duration::minutes(16));
    for _ in 0..4 {
        assert_eq!(login(&server, "admin", bad).await.0, 401);
    }
    // A success clears the count.
    assert_eq!(login(&server, "admin", ADMIN_PW).await.0, 200);
    for _ in 0..4 {
        assert_eq!(login(&server, "admin", bad).await.0, 401);
    }
    assert_eq!(login(&server, "admin", ADMIN_PW).await.0, 200);

    // Five failures in the window lock the account, even for the right password.
    for _ in 0..5 {
        assert_eq!(login(&server, "admin", bad).await.0, 401);
    }
    let (s, h, b) = login(&server, "admin", ADMIN_PW).await;
    assert_eq!(s, 429, "{b}");
    assert_eq!(b["code"], "too_many_requests");
    assert_eq!(b["retryAfter"], 900);
    assert_eq!(h["retry-after"], "900");
    clock.advance(Duration::minutes(14));
    assert_eq!(login(&server, "admin", ADMIN_PW).await.0, 429);
    clock.advance(Duration::minutes(1));
    assert_eq!(login(&server, "admin", ADMIN_PW).await.0, 200);

    // Unknown names lock the same way, so lockout reveals nothing.
    for _ in 0..5 {
        assert_eq!(login(&server, "ghost", bad).await.0, 401);
    }
    let (s, _, b) = login(&server, "ghost", bad).await;
    assert_eq!(s, 429, "{b}");

    let events = audit_events(&server).await;
    for e in [
        "login_failed",
        "account_locked",
        "login_blocked_locked",
        "login_success",
        "setup_admin",
    ] {
        assert!(
            events.iter().any(|(n, _)| n == e),
            "missing {e}: {events:?}"
        );
    }
}

#[tokio::test]
async fn lockout_knobs_are_honoured() {
    let server = TestServer::start_with(|c: &mut Config| {
        c.auth.max_login_attempts = 2;
        c.auth.lockout_duration = Duration::minutes(60);
    })
    .await;
    setup_admin(&server).await;
    for _ in 0..2 {
        assert_eq!(login(&server, "admin", "Wrong-Passw0rd!").await.0, 401);
    }
    let (s, _, b) = login(&server, "admin", ADMIN_PW).await;
    assert_eq!(s, 429);
    assert!(b["retryAfter"].as_i64().unwrap() > 3500, "{b}");
}

#[tokio::test]
async fn cookie_sessions_need_the_csrf_token() {
    let server = TestServer::start().await;
    setup_admin(&server).await;
    let (_, _, b) = login(&server, "admin", ADMIN_PW).await;
    let token = b["token"].as_str().unwrap();
    let csrf = b["csrf_token"].as_str().unwrap();
    let cookie = format!("patchmon_session={token}; patchmon_csrf={csrf}");
    let url = format!("{}/api/v1/auth/profile", server.url());
    let body = json!({"first_name": "Changed"});

    let r = client()
        .get(&url)
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "reads need no CSRF token");
    let r = client()
        .put(&url)
        .header("Cookie", &cookie)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["error"], "Invalid or missing CSRF token");
    let r = client()
        .put(&url)
        .header("Cookie", &cookie)
        .header("X-CSRF-Token", "0".repeat(64))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = client()
        .put(&url)
        .header("Cookie", &cookie)
        .header("X-CSRF-Token", csrf)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Bearer clients (automation) are not subject to CSRF.
    let (s, _, b) = call(
        &server,
        Method::PUT,
        "/api/v1/auth/profile",
        Some(token),
        Some(json!({"last_name": "X"})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["user"]["first_name"], "Changed");
}

#[tokio::test]
async fn inactivity_access_expiry_refresh_and_absolute_lifetime() {
    let clock = manual_clock();
    let server = TestServer::start_with_clock(
        |c: &mut Config| c.auth.session_lifetime = Duration::hours(3),
        clock.clone(),
    )
    .await;
    setup_admin(&server).await;
    let (_, _, b) = login(&server, "admin", ADMIN_PW).await;
    let token = b["token"].as_str().unwrap().to_owned();
    let refresh = b["refresh_token"].as_str().unwrap().to_owned();

    // Activity keeps the session alive past the 30-minute inactivity timeout...
    clock.advance(Duration::minutes(29));
    assert_eq!(profile_status(&server, &token).await, 200);
    clock.advance(Duration::minutes(29));
    assert_eq!(
        call(
            &server,
            Method::POST,
            "/api/v1/auth/heartbeat",
            Some(&token),
            None
        )
        .await
        .0,
        200
    );
    // ...but the access token itself expires after JWT_EXPIRES_IN (1h).
    clock.advance(Duration::minutes(3));
    assert_eq!(profile_status(&server, &token).await, 401);
    // The refresh token swaps it for new tokens; the old ones stop working.
    let (s, _, b) = call(
        &server,
        Method::POST,
        "/api/v1/auth/refresh",
        None,
        Some(json!({"refresh_token": refresh})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let token2 = b["token"].as_str().unwrap().to_owned();
    let refresh2 = b["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(b["expires_in"], 3600);
    assert_eq!(profile_status(&server, &token2).await, 200);
    let (s, _, _) = call(
        &server,
        Method::POST,
        "/api/v1/auth/refresh",
        None,
        Some(json!({"refresh_token": refresh})),
    )
    .await;
    assert_eq!(s, 401, "a refresh token works once");

    // Idle for 31 minutes: the session is dead, refresh included.
    clock.advance(Duration::minutes(31));
    assert_eq!(profile_status(&server, &token2).await, 401);
    let (s, _, _) = call(
        &server,
        Method::POST,
        "/api/v1/auth/refresh",
        None,
        Some(json!({"refresh_token": refresh2})),
    )
    .await;
    assert_eq!(s, 401);

    // The absolute lifetime (3h here) caps a session however active it is.
    let (_, _, b) = login(&server, "admin", ADMIN_PW).await;
    let mut refresh = b["refresh_token"].as_str().unwrap().to_owned();
    let mut last = StatusCode::OK;
    let mut expires = Vec::new();
    for _ in 0..8 {
        clock.advance(Duration::minutes(25));
        let (s, _, b) = call(
            &server,
            Method::POST,
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": refresh})),
        )
        .await;
        last = s;
        if s != 200 {
            break;
        }
        expires.push(b["expires_in"].as_i64().unwrap());
        refresh = b["refresh_token"].as_str().unwrap().to_owned();
    }
    assert_eq!(last, 401, "refreshing must stop at the absolute expiry");
    assert_eq!(expires.len(), 7, "{expires:?}");
    assert!(
        expires.last().unwrap() < &3600,
        "last access token is capped: {expires:?}"
    );
}

#[tokio::test]
async fn sessions_list_revoke_and_logout() {
    let server = TestServer::start().await;
    let admin = setup_admin(&server).await;
    let a = token_of(&server, "admin", ADMIN_PW).await;
    let (s, _, b) = call(
        &server,
        Method::GET,
        "/api/v1/auth/sessions",
        Some(&a),
        None,
    )
    .await;
    assert_eq!(s, 200);
    let sessions = b["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2, "{b}");
    assert_eq!(
        sessions.iter().filter(|s| s["is_current"] == true).count(),
        1
    );
    let other = sessions.iter().find(|s| s["is_current"] == false).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let (s, _, _) = call(
        &server,
        Method::DELETE,
        &format!("/api/v1/auth/sessions/{other}"),
        Some(&a),
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        profile_status(&server, &admin).await,
        401,
        "revoked session"
    );
    let (s, _, _) = call(
        &server,
        Method::DELETE,
        &format!("/api/v1/auth/sessions/{other}"),
        Some(&a),
        None,
    )
    .await;
    assert_eq!(s, 404);

    // Another user's session cannot be revoked through the self-service route.
    let bob_id = create_user(&server, &a, "bob", "user").await;
    let bob = token_of(&server, "bob", USER_PW).await;
    let (_, _, b) = call(
        &server,
        Method::GET,
        "/api/v1/auth/sessions",
        Some(&bob),
        None,
    )
    .await;
    let bob_session = b["sessions"][0]["id"].as_str().unwrap().to_owned();
    let (s, _, _) = call(
        &server,
        Method::DELETE,
        &format!("/api/v1/auth/sessions/{bob_session}"),
        Some(&a),
        None,
    )
    .await;
    assert_eq!(s, 404);
    assert_eq!(profile_status(&server, &bob).await, 200);
    // An admin can end all of bob's sessions.
    let (s, _, b) = call(
        &server,
        Method::DELETE,
        &format!("/api/v1/auth/admin/users/{bob_id}/sessions"),
        Some(&a),
        None,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(profile_status(&server, &bob).await, 401);

    let (s, h, _) = call(&server, Method::POST, "/api/v1/auth/logout", Some(&a), None).await;
    assert_eq!(s, 200);
    assert!(
        h.get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("patchmon_session=;"))
    );
    assert_eq!(profile_status(&server, &a).await, 401);
    let (s, _, b) = call(&server, Method::GET, "/api/v1/auth/profile", None, None).await;
    assert_eq!(
        (s.as_u16(), b["code"].as_str()),
        (401, Some("unauthorized"))
    );
}

#[tokio::test]
async fn change_password_policy_revocation_and_rate_limit() {
    let server = TestServer::start_with(|c: &mut Config| c.auth.password_rate_limit_max = 4).await;
    let first = setup_admin(&server).await;
    let t = token_of(&server, "admin", ADMIN_PW).await;
    let path = "/api/v1/auth/change-password";
    let (s, _, b) = call(
        &server,
        Method::PUT,
        path,
        Some(&t),
        Some(json!({"currentPassword": "Wrong-Passw0rd!", "newPassword": "N3w-Passw0rd!"})),
    )
    .await;
    assert_eq!(s, 400, "{b}");
    let (s, _, b) = call(
        &server,
        Method::PUT,
        path,
        Some(&t),
        Some(json!({"currentPassword": ADMIN_PW, "newPassword": "alllowercase"})),
    )
    .await;
    assert_eq!(s, 400);
    assert!(b["error"].as_str().unwrap().contains("uppercase"), "{b}");
    let (s, _, b) = call(
        &server,
        Method::PUT,
        path,
        Some(&t),
        Some(json!({"currentPassword": ADMIN_PW, "newPassword": "N3w-Passw0rd!"})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(profile_status(&server, &t).await, 200, "this session stays");
    assert_eq!(
        profile_status(&server, &first).await,
        401,
        "other sessions end"
    );
    assert_eq!(login(&server, "admin", ADMIN_PW).await.0, 401);
    assert_eq!(login(&server, "admin", "N3w-Passw0rd!").await.0, 200);
    // Fifth attempt within the window: rate limited.
    let (s, _, b) = call(
        &server,
        Method::PUT,
        path,
        Some(&t),
        Some(json!({"currentPassword": "N3w-Passw0rd!", "newPassword": "N3w-Passw0rd!2"})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let (s, _, b) = call(
        &server,
        Method::PUT,
        path,
        Some(&t),
        Some(json!({"currentPassword": "x", "newPassword": "y"})),
    )
    .await;
    assert_eq!(s, 429, "{b}");
    assert!(b["retryAfter"].as_i64().unwrap() > 0);
    assert!(
        audit_events(&server)
            .await
            .iter()
            .any(|(e, _)| e == "password_changed")
    );
}

#[tokio::test]
async fn auth_endpoints_are_rate_limited_per_client_ip() {
    let server = TestServer::start_with(|c: &mut Config| {
        c.auth.auth_rate_limit_max = 3;
        c.auth.trust_proxy = true;
    })
    .await;
    let login_from = |ip: &'static str| {
        let url = format!("{}/api/v1/auth/login", server.url());
        async move {
            client()
                .post(url)
                .header("X-Forwarded-For", format!("203.0.113.9, {ip}"))
                .json(&json!({"username": "x", "password": "y"}))
                .send()
                .await
                .unwrap()
        }
    };
    for remaining in (0..3).rev() {
        let r = login_from("198.51.100.1").await;
        assert_eq!(r.status(), 401);
        assert_eq!(r.headers()["ratelimit-limit"], "3");
        assert_eq!(
            r.headers()["ratelimit-remaining"],
            remaining.to_string().as_str()
        );
        assert!(r.headers().contains_key("ratelimit-reset"));
    }
    let r = login_from("198.51.100.1").await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["code"], "too_many_requests");
    assert!(b["retryAfter"].as_i64().unwrap() > 0, "{b}");
    // The rightmost X-Forwarded-For entry is the client: another one has its own budget.
    assert_eq!(login_from("198.51.100.2").await.status(), 401);
}

#[tokio::test]
async fn forwarded_for_is_ignored_unless_trusted() {
    let server = TestServer::start_with(|c: &mut Config| c.auth.auth_rate_limit_max = 2).await;
    for ip in ["198.51.100.1", "198.51.100.2"] {
        let r = client()
            .post(format!("{}/api/v1/auth/login", server.url()))
            .header("X-Forwarded-For", ip)
            .json(&json!({"username": "x", "password": "y"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    let (s, _, _) = login(&server, "x", "y").await;
    assert_eq!(s, 429, "spoofed X-Forwarded-For must not buy a new budget");
}

#[tokio::test]
async fn cli_create_admin_reads_the_password_from_stdin() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let server = TestServer::start().await;
    let url = match server.database_url() {
        DatabaseUrl::Sqlite(u) | DatabaseUrl::Postgres(u) => u.clone(),
    };
    let run = |password: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_patchmon-server"))
            .args([
                "users",
                "create-admin",
                "--username",
                "root",
                "--email",
                "root@example.com",
            ])
            .env("DATABASE_URL", &url)
            .env_remove("PATCHMON_ADMIN_PASSWORD")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{password}\n").as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let out = run("weak");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Password must contain"));
    let out = run(ADMIN_PW);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(created["role"], "superadmin");
    assert_eq!(login(&server, "root", ADMIN_PW).await.0, 200);
    let out = run(ADMIN_PW);
    assert!(!out.status.success(), "closed once a user exists");
    assert!(String::from_utf8_lossy(&out.stderr).contains("already been completed"));
}

#[tokio::test]
async fn prune_deletes_only_dead_rows() {
    use patchmon_server::auth::{Pruned, prune_expired};
    let clock = manual_clock();
    let server = TestServer::start_with_clock(|_| {}, clock.clone()).await;
    setup_admin(&server).await;
    let idle = token_of(&server, "admin", ADMIN_PW).await;
    let revoked = token_of(&server, "admin", ADMIN_PW).await;
    call(
        &server,
        Method::POST,
        "/api/v1/auth/logout",
        Some(&revoked),
        None,
    )
    .await;
    assert_eq!(login(&server, "ghost", "Wrong-Passw0rd!").await.0, 401);
    assert_eq!(
        prune_expired(&server.state).await.unwrap(),
        Pruned::default(),
        "nothing is dead yet"
    );

    clock.advance(Duration::minutes(20));
    let active = token_of(&server, "admin", ADMIN_PW).await;
    clock.advance(Duration::minutes(15));
    // The setup session, `idle` and `revoked` are past the 30-minute
    // inactivity timeout; the failure window is over.
    let p = prune_expired(&server.state).await.unwrap();
    assert_eq!((p.sessions, p.login_failures), (3, 1), "{p:?}");
    assert_eq!(
        call(
            &server,
            Method::GET,
            "/api/v1/auth/profile",
            Some(&active),
            None
        )
        .await
        .0,
        200
    );
    assert_eq!(
        call(
            &server,
            Method::GET,
            "/api/v1/auth/profile",
            Some(&idle),
            None
        )
        .await
        .0,
        401
    );
    clock.advance(Duration::days(1));
    let p = prune_expired(&server.state).await.unwrap();
    assert_eq!(p.sessions, 1, "the now idle one: {p:?}");
    let left: i64 = with_db!(server.db(), p => sqlx::query_scalar("SELECT COUNT(*) FROM user_sessions").fetch_one(p).await).unwrap();
    assert_eq!(left, 0);
}

#[tokio::test]
async fn concurrent_failures_are_all_counted() {
    let server = TestServer::start().await;
    setup_admin(&server).await;
    let mut tasks = Vec::new();
    for _ in 0..5 {
        let url = format!("{}/api/v1/auth/login", server.url());
        tasks.push(tokio::spawn(async move {
            client()
                .post(url)
                .json(&json!({"username": "admin", "password": "Wrong-Passw0rd!"}))
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 401);
    }
    // Five failures at once still reach MAX_LOGIN_ATTEMPTS.
    assert_eq!(login(&server, "admin", ADMIN_PW).await.0, 429);
}

#[tokio::test]
async fn audit_log_is_readable_by_settings_managers() {
    let server = TestServer::start().await;
    let admin = setup_admin(&server).await;
    assert_eq!(login(&server, "admin", "Wrong-Passw0rd!").await.0, 401);
    let (_, _, me) = call(
        &server,
        Method::GET,
        "/api/v1/auth/profile",
        Some(&admin),
        None,
    )
    .await;
    let id = me["user"]["id"].as_str().unwrap().to_owned();
    let (s, _, b) = call(
        &server,
        Method::GET,
        "/api/v1/auth/admin/audit-log?event=login_failed",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let entries = b["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["success"], false);
    assert_eq!(entries[0]["details"]["reason"], "bad_password");
    assert_eq!(entries[0]["ip_address"], "127.0.0.1");
    let (_, _, b) = call(
        &server,
        Method::GET,
        &format!("/api/v1/auth/admin/audit-log?user_id={id}&limit=1"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(b["entries"].as_array().unwrap().len(), 1);
    assert_eq!(b["limit"], 1);
    let (s, _, _) = call(
        &server,
        Method::GET,
        "/api/v1/auth/admin/audit-log?user_id=nope",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(s, 400);
    create_user(&server, &admin, "reader", "readonly").await;
    let reader = token_of(&server, "reader", USER_PW).await;
    assert_eq!(
        call(
            &server,
            Method::GET,
            "/api/v1/auth/admin/audit-log",
            Some(&reader),
            None
        )
        .await
        .0,
        403
    );
}
