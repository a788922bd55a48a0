//! TOTP two-factor authentication with codes computed from the enrolled
//! secret at the server's (manual) clock: enrolment, the login ticket, replay
//! protection, single-use backup codes, remember-device and the TFA lockout.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use patchmon_server::clock::ManualClock;
use patchmon_server::config::Config;
use reqwest::Method;
use totp_rs::{Algorithm, Builder, Secret};

use super::auth::{ADMIN_PW, call, login, setup_admin};
use super::*;

fn code(secret: &str, at: DateTime<Utc>) -> String {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(30)
        .with_secret(Secret::try_from_base32(secret).unwrap())
        .with_account_name("admin")
        .build()
        .unwrap()
        .generate(at.timestamp() as u64)
        .to_string()
}

async fn enrol(server: &TestServer, token: &str, clock: &ManualClock) -> (String, Vec<String>) {
    let (s, _, b) = call(server, Method::GET, "/api/v1/tfa/setup", Some(token), None).await;
    assert_eq!(s, 200, "{b}");
    let secret = b["secret"].as_str().unwrap().to_owned();
    let url = b["otpauth_url"].as_str().unwrap();
    assert!(url.starts_with("otpauth://totp/PatchMon:admin?"), "{url}");
    assert!(url.contains(&format!("secret={secret}")), "{url}");
    let (s, _, _) = call(
        server,
        Method::POST,
        "/api/v1/tfa/verify-setup",
        Some(token),
        Some(json!({"token": "000000"})),
    )
    .await;
    assert_eq!(s, 400);
    let (s, _, b) = call(
        server,
        Method::POST,
        "/api/v1/tfa/verify-setup",
        Some(token),
        Some(json!({"token": code(&secret, clock_now(clock))})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let codes: Vec<String> = b["backupCodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10);
    (secret, codes)
}

fn clock_now(clock: &ManualClock) -> DateTime<Utc> {
    use patchmon_server::clock::Clock;
    clock.now()
}

/// Password step of a TFA account: returns the ticket.
async fn ticket(server: &TestServer) -> String {
    let (s, _, b) = login(server, "admin", ADMIN_PW).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["requiresTfa"], true, "{b}");
    assert!(
        b.get("token").is_none(),
        "no session before the second factor: {b}"
    );
    b["tfa_ticket"].as_str().unwrap().to_owned()
}

async fn verify(
    server: &TestServer,
    ticket: &str,
    token: &str,
    remember: bool,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    call(
        server,
        Method::POST,
        "/api/v1/auth/verify-tfa",
        None,
        Some(json!({"tfa_ticket": ticket, "token": token, "remember_me": remember})),
    )
    .await
}

fn start_clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(
        DateTime::parse_from_rfc3339("2026-11-25T12:00:05Z")
            .unwrap()
            .with_timezone(&Utc),
    ))
}

#[tokio::test]
async fn enrol_login_replay_backup_codes_and_disable() {
    let clock = start_clock();
    let server = TestServer::start_with_clock(|_| {}, clock.clone()).await;
    let admin = setup_admin(&server).await;
    let (secret, backup) = enrol(&server, &admin, &clock).await;
    let (_, _, st) = call(
        &server,
        Method::GET,
        "/api/v1/tfa/status",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(st, json!({"enabled": true, "backupCodesRemaining": 10}));

    // The code used for enrolment cannot be replayed in the same step.
    let t = ticket(&server).await;
    let (s, _, _) = verify(&server, &t, &code(&secret, clock_now(&clock)), false).await;
    assert_eq!(s, 400, "replayed step");
    clock.advance(Duration::seconds(30));
    let (s, _, b) = verify(&server, &t, "123 456", false).await;
    assert_eq!(s, 400, "{b}");
    let (s, _, b) = verify(&server, &t, &code(&secret, clock_now(&clock)), false).await;
    assert_eq!(s, 200, "{b}");
    let token = b["token"].as_str().unwrap().to_owned();
    assert_eq!(b["user"]["tfa_enabled"], true);
    assert_eq!(
        call(
            &server,
            Method::GET,
            "/api/v1/auth/profile",
            Some(&token),
            None
        )
        .await
        .0,
        200
    );
    // A ticket works once.
    let (s, _, _) = verify(
        &server,
        &t,
        &code(&secret, clock_now(&clock) + Duration::seconds(30)),
        false,
    )
    .await;
    assert_eq!(s, 401);

    // A backup code works once, whatever its case or dashes.
    let t = ticket(&server).await;
    let (s, _, b) = verify(
        &server,
        &t,
        &backup[0].to_uppercase().replace('-', ""),
        false,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let t = ticket(&server).await;
    let (s, _, _) = verify(&server, &t, &backup[0], false).await;
    assert_eq!(s, 400, "used backup code");
    let (_, _, st) = call(
        &server,
        Method::GET,
        "/api/v1/tfa/status",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(st["backupCodesRemaining"], 9);

    // Tickets expire after five minutes.
    let t = ticket(&server).await;
    clock.advance(Duration::minutes(6));
    let (s, _, _) = verify(&server, &t, &code(&secret, clock_now(&clock)), false).await;
    assert_eq!(s, 401);

    // Regenerating needs the password and invalidates the old codes.
    let path = "/api/v1/tfa/regenerate-backup-codes";
    assert_eq!(
        call(
            &server,
            Method::POST,
            path,
            Some(&token),
            Some(json!({"password": "nope"}))
        )
        .await
        .0,
        400
    );
    let (s, _, b) = call(
        &server,
        Method::POST,
        path,
        Some(&token),
        Some(json!({"password": ADMIN_PW})),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(b["backupCodes"].as_array().unwrap().len(), 10);
    let t = ticket(&server).await;
    assert_eq!(verify(&server, &t, &backup[1], false).await.0, 400);

    // Disabling needs the password; afterwards login is one step again.
    assert_eq!(
        call(
            &server,
            Method::POST,
            "/api/v1/tfa/disable",
            Some(&token),
            Some(json!({"password": "nope"}))
        )
        .await
        .0,
        400
    );
    assert_eq!(
        call(
            &server,
            Method::POST,
            "/api/v1/tfa/disable",
            Some(&token),
            Some(json!({"password": ADMIN_PW}))
        )
        .await
        .0,
        200
    );
    let (s, _, b) = login(&server, "admin", ADMIN_PW).await;
    assert_eq!(s, 200);
    assert!(b["token"].is_string(), "{b}");
}

#[tokio::test]
async fn remember_device_skips_the_second_factor_until_it_expires() {
    let clock = start_clock();
    let server = TestServer::start_with_clock(
        |c: &mut Config| c.auth.tfa_max_remember_sessions = 2,
        clock.clone(),
    )
    .await;
    let admin = setup_admin(&server).await;
    let (secret, _) = enrol(&server, &admin, &clock).await;
    let mut device_tokens = Vec::new();
    for _ in 0..3 {
        clock.advance(Duration::seconds(30));
        let t = ticket(&server).await;
        let (s, h, b) = verify(&server, &t, &code(&secret, clock_now(&clock)), true).await;
        assert_eq!(s, 200, "{b}");
        assert!(b["token"].is_string());
        let cookie = h
            .get_all("set-cookie")
            .iter()
            .map(|c| c.to_str().unwrap().to_owned())
            .find(|c| c.starts_with("patchmon_trusted_device="))
            .expect("device cookie");
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        device_tokens.push(b["trusted_device_token"].as_str().unwrap().to_owned());
    }
    // Only the newest TFA_MAX_REMEMBER_SESSIONS (2 here) are kept.
    let (_, _, list) = call(
        &server,
        Method::GET,
        "/api/v1/auth/trusted-devices",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(list["devices"].as_array().unwrap().len(), 2, "{list}");
    let with_device = |tok: String| {
        let url = format!("{}/api/v1/auth/login", server.url());
        async move {
            let r = client().post(url).json(&json!({"username": "admin", "password": ADMIN_PW, "trusted_device_token": tok}))
                .send().await.unwrap();
            r.json::<Value>().await.unwrap()
        }
    };
    assert_eq!(
        with_device(device_tokens[0].clone()).await["requiresTfa"],
        true,
        "pruned device"
    );
    assert!(with_device(device_tokens[2].clone()).await["token"].is_string());
    // The browser cookie works the same way.
    let r = client()
        .post(format!("{}/api/v1/auth/login", server.url()))
        .header(
            "Cookie",
            format!("patchmon_trusted_device={}", device_tokens[1]),
        )
        .json(&json!({"username": "admin", "password": ADMIN_PW}))
        .send()
        .await
        .unwrap();
    assert!(r.json::<Value>().await.unwrap()["token"].is_string());
    // The password is still required.
    let r = client().post(format!("{}/api/v1/auth/login", server.url()))
        .json(&json!({"username": "admin", "password": "Wrong-Passw0rd!", "trusted_device_token": device_tokens[2]}))
        .send().await.unwrap();
    assert_eq!(r.status(), 401);

    // Revoking a device brings the second factor back.
    let (_, _, list) = call(
        &server,
        Method::GET,
        "/api/v1/auth/trusted-devices",
        Some(&admin),
        None,
    )
    .await;
    let newest = list["devices"][0]["id"].as_str().unwrap().to_owned();
    let (s, _, _) = call(
        &server,
        Method::DELETE,
        &format!("/api/v1/auth/trusted-devices/{newest}"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        with_device(device_tokens[2].clone()).await["requiresTfa"],
        true
    );
    // TFA_REMEMBER_ME_EXPIRES_IN (30d) ends the other one.
    clock.advance(Duration::days(31));
    assert_eq!(
        with_device(device_tokens[1].clone()).await["requiresTfa"],
        true
    );
    // Forget every device (a new session: the first one expired meanwhile):
    // the one row left (expired, not yet pruned) is removed.
    let t = ticket(&server).await;
    let (s, _, b) = verify(&server, &t, &code(&secret, clock_now(&clock)), false).await;
    assert_eq!(s, 200, "{b}");
    let fresh = b["token"].as_str().unwrap().to_owned();
    let (s, _, b) = call(
        &server,
        Method::DELETE,
        "/api/v1/auth/trusted-devices",
        Some(&fresh),
        None,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["removed"], 1, "{b}");
}

#[tokio::test]
async fn wrong_codes_lock_the_second_factor() {
    let clock = start_clock();
    let server = TestServer::start_with_clock(|_| {}, clock.clone()).await;
    let admin = setup_admin(&server).await;
    let (secret, _) = enrol(&server, &admin, &clock).await;
    clock.advance(Duration::seconds(30));
    let t = ticket(&server).await;
    for _ in 0..5 {
        assert_eq!(verify(&server, &t, "000000", false).await.0, 400);
    }
    // The ticket died with the lock, and a new one meets the lock (30 minutes).
    assert_eq!(
        verify(&server, &t, &code(&secret, clock_now(&clock)), false)
            .await
            .0,
        401
    );
    let t = ticket(&server).await;
    let (s, _, b) = verify(&server, &t, &code(&secret, clock_now(&clock)), false).await;
    assert_eq!(s, 429, "{b}");
    assert_eq!(b["retryAfter"], 1800);
    clock.advance(Duration::minutes(30));
    let t = ticket(&server).await;
    let (s, _, b) = verify(&server, &t, &code(&secret, clock_now(&clock)), false).await;
    assert_eq!(s, 200, "{b}");
    let events: Vec<String> = patchmon_server::with_db!(server.db(), p =>
        sqlx::query_scalar("SELECT event FROM audit_logs").fetch_all(p).await)
    .unwrap();
    for e in [
        "tfa_enabled",
        "tfa_challenge",
        "tfa_failed",
        "tfa_suspicious_activity",
        "tfa_locked",
        "tfa_verified",
    ] {
        assert!(events.iter().any(|x| x == e), "missing {e}");
    }
}
