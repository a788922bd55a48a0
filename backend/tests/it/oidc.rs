//! OpenID Connect against a real provider: `oidc-provider` (npm, installed in
//! backend/tests/oidc by `npm ci`) started as a child process on an ephemeral
//! port and killed afterwards. The full code flow runs over HTTP: our server's
//! redirect, the provider's login and consent (automatic, account chosen by
//! `login_hint`), the callback with PKCE, state and nonce.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use chrono::{Duration, Utc};
use patchmon_server::auth::config::OidcConfig;
use patchmon_server::clock::{Clock, ManualClock, SystemClock};
use patchmon_server::config::Config;
use patchmon_server::with_db;
use reqwest::Method;

use super::auth::{ADMIN_PW, USER_PW, call, create_user, login, setup_admin};
use super::*;

struct Idp {
    child: Child,
    issuer: String,
    accounts: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Idp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Idp {
    /// Starts the provider; blocks until it prints its issuer.
    fn start(redirect_uri: &str, accounts: Value) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("accounts.json");
        std::fs::write(&file, accounts.to_string()).unwrap();
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oidc");
        assert!(
            root.join("node_modules/oidc-provider").exists(),
            "run `npm ci` in backend/tests/oidc first"
        );
        let cfg = json!({"client_id": "patchmon", "client_secret": "idp-test-secret",
                         "redirect_uri": redirect_uri, "accounts_file": file});
        let mut child = Command::new("node")
            .arg("idp.mjs")
            .current_dir(&root)
            .env("IDP_CONFIG", cfg.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node");
        let mut line = String::new();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        out.read_line(&mut line).unwrap();
        // Keep draining: the provider logs to stdout and dies on a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        let issuer = serde_json::from_str::<Value>(&line).expect("issuer line")["issuer"]
            .as_str()
            .unwrap()
            .to_owned();
        Self {
            child,
            issuer,
            accounts: file,
            _dir: dir,
        }
    }

    fn set_accounts(&self, accounts: Value) {
        std::fs::write(&self.accounts, accounts.to_string()).unwrap();
    }

    fn config(&self, addr: SocketAddr) -> OidcConfig {
        OidcConfig {
            issuer_url: self.issuer.clone(),
            client_id: "patchmon".into(),
            client_secret: "idp-test-secret".into(),
            redirect_uri: format!("http://{addr}/api/v1/auth/oidc/callback"),
            scopes: vec![
                "openid".into(),
                "email".into(),
                "profile".into(),
                "groups".into(),
            ],
            auto_create_users: true,
            default_role: "readonly".into(),
            disable_local_auth: false,
            button_text: "Login with Test IdP".into(),
            superadmin_group: Some("patchmon superadmins".into()),
            admin_group: Some("patchmon admins".into()),
            host_manager_group: Some("patchmon host managers".into()),
            user_group: Some("patchmon users".into()),
            readonly_group: None,
            sync_roles: true,
        }
    }
}

fn accounts() -> Value {
    json!({
        "alice": {"email": "alice@example.com", "email_verified": true, "given_name": "Alice", "family_name": "Admin",
                  "picture": "https://example.com/alice.png", "groups": ["PatchMon Admins"]},
        "alice-other": {"email": "alice@example.org", "email_verified": true, "groups": ["PatchMon Users"]},
        "bob-unverified": {"email": "bob@example.com", "email_verified": false, "groups": []},
        "bob-verified": {"email": "bob@example.com", "email_verified": true, "groups": []},
        "carol": {"email": "carol@example.com", "email_verified": true, "groups": ["patchmon admins", "PATCHMON SUPERADMINS"]},
    })
}

async fn start(clock: Arc<dyn Clock>, adjust: impl FnOnce(&mut OidcConfig)) -> (TestServer, Idp) {
    let mut idp = None;
    let server = TestServer::start_at(
        |c: &mut Config, addr| {
            let p = Idp::start(
                &format!("http://{addr}/api/v1/auth/oidc/callback"),
                accounts(),
            );
            let mut oc = p.config(addr);
            adjust(&mut oc);
            c.auth.oidc = Some(oc);
            idp = Some(p);
        },
        clock,
    )
    .await;
    (server, idp.unwrap())
}

fn no_redirects() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn set_cookies(r: &reqwest::Response, jar: &mut HashMap<String, String>) {
    for c in r.headers().get_all("set-cookie") {
        let c = c.to_str().unwrap();
        if let Some((k, v)) = c.split(';').next().unwrap().split_once('=') {
            jar.insert(k.to_owned(), v.to_owned());
        }
    }
}

fn cookie_header(jar: &HashMap<String, String>) -> String {
    jar.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Starts a login at our server and walks the provider's pages; returns the
/// callback URL and the browser's cookies for our server.
async fn to_callback(
    server: &TestServer,
    idp: &Idp,
    account: &str,
) -> (String, HashMap<String, String>) {
    let http = no_redirects();
    let r = http
        .get(format!("{}/api/v1/auth/oidc/login", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let mut ours = HashMap::new();
    set_cookies(&r, &mut ours);
    let mut url = format!(
        "{}&login_hint={account}",
        r.headers()["location"].to_str().unwrap()
    );
    assert!(url.starts_with(&idp.issuer), "{url}");
    assert!(
        url.contains("code_challenge_method=S256")
            && url.contains("nonce=")
            && url.contains("state="),
        "{url}"
    );
    let mut theirs = HashMap::new();
    for _ in 0..20 {
        if url.starts_with(&server.url()) {
            return (url, ours);
        }
        let r = http
            .get(&url)
            .header("Cookie", cookie_header(&theirs))
            .send()
            .await
            .unwrap();
        assert!(
            r.status().is_redirection(),
            "{} at {url}: {}",
            r.status(),
            r.text().await.unwrap()
        );
        set_cookies(&r, &mut theirs);
        let loc = r.headers()["location"].to_str().unwrap().to_owned();
        url = if loc.starts_with("http") {
            loc
        } else {
            format!("{}{loc}", idp.issuer)
        };
    }
    panic!("the provider never redirected back");
}

async fn finish(
    server: &TestServer,
    callback: &str,
    cookies: &HashMap<String, String>,
) -> (StatusCode, Value, HashMap<String, String>) {
    let r = no_redirects()
        .get(callback)
        .header("Cookie", cookie_header(cookies))
        .send()
        .await
        .unwrap();
    let status = r.status();
    let mut jar = HashMap::new();
    set_cookies(&r, &mut jar);
    if status == 302 {
        assert_eq!(r.headers()["location"], "/");
    }
    let body = r.json::<Value>().await.unwrap_or(Value::Null);
    let _ = server;
    (status, body, jar)
}

async fn sso(
    server: &TestServer,
    idp: &Idp,
    account: &str,
) -> (StatusCode, Value, HashMap<String, String>) {
    let (cb, cookies) = to_callback(server, idp, account).await;
    finish(server, &cb, &cookies).await
}

#[tokio::test]
async fn first_login_creates_the_user_and_later_logins_sync_the_role() {
    let (server, idp) = start(Arc::new(SystemClock), |_| {}).await;
    let (s, _, c) = call(&server, Method::GET, "/api/v1/auth/oidc/config", None, None).await;
    assert_eq!(s, 200);
    assert_eq!(
        c,
        json!({"enabled": true, "buttonText": "Login with Test IdP", "disableLocalAuth": false})
    );

    let (s, body, jar) = sso(&server, &idp, "alice").await;
    assert_eq!(s, 302, "{body}");
    let session = jar.get("patchmon_session").expect("session cookie").clone();
    let (s, _, p) = call(
        &server,
        Method::GET,
        "/api/v1/auth/profile",
        Some(&session),
        None,
    )
    .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["user"]["username"], "alice");
    assert_eq!(p["user"]["email"], "alice@example.com");
    assert_eq!(
        p["user"]["role"], "admin",
        "group mapping, case-insensitive"
    );
    assert_eq!(p["user"]["first_name"], "Alice");

    // A second person with the same email prefix gets a unique username.
    let (s, _, jar) = sso(&server, &idp, "alice-other").await;
    assert_eq!(s, 302);
    let (_, _, p) = call(
        &server,
        Method::GET,
        "/api/v1/auth/profile",
        Some(&jar["patchmon_session"]),
        None,
    )
    .await;
    assert_eq!(p["user"]["username"], "alice2");
    assert_eq!(p["user"]["role"], "user");

    // Both admin and superadmin groups: superadmin.
    let (_, _, jar) = sso(&server, &idp, "carol").await;
    let (_, _, p) = call(
        &server,
        Method::GET,
        "/api/v1/auth/profile",
        Some(&jar["patchmon_session"]),
        None,
    )
    .await;
    assert_eq!(p["user"]["role"], "superadmin");

    // The provider drops alice from the admin group: the next login syncs the role.
    let mut a = accounts();
    a["alice"]["groups"] = json!(["PatchMon Host Managers"]);
    a["alice"]["given_name"] = json!("Alicia");
    a["alice"]["email"] = json!("alicia@example.com");
    idp.set_accounts(a.clone());
    let (s, _, jar) = sso(&server, &idp, "alice").await;
    assert_eq!(s, 302);
    let (_, _, p) = call(
        &server,
        Method::GET,
        "/api/v1/auth/profile",
        Some(&jar["patchmon_session"]),
        None,
    )
    .await;
    assert_eq!(
        p["user"]["username"], "alice",
        "same account, found by subject"
    );
    assert_eq!(p["user"]["role"], "host_manager");
    assert_eq!(p["user"]["first_name"], "Alicia");
    assert_eq!(
        p["user"]["email"], "alicia@example.com",
        "verified email synced"
    );
    // No groups at all: OIDC_DEFAULT_ROLE.
    a["alice"]["groups"] = json!([]);
    idp.set_accounts(a);
    let (_, _, jar) = sso(&server, &idp, "alice").await;
    let (_, _, p) = call(
        &server,
        Method::GET,
        "/api/v1/auth/profile",
        Some(&jar["patchmon_session"]),
        None,
    )
    .await;
    assert_eq!(p["user"]["role"], "readonly");
    let n: i64 = with_db!(server.db(), p => sqlx::query_scalar("SELECT COUNT(*) FROM audit_logs WHERE event = 'sso_login'").fetch_one(p).await).unwrap();
    assert_eq!(n, 5);
}

#[tokio::test]
async fn existing_accounts_link_only_on_a_verified_email() {
    let (server, idp) = start(Arc::new(SystemClock), |_| {}).await;
    let admin = setup_admin(&server).await;
    let bob = create_user(&server, &admin, "bob", "user").await;

    let (s, body, _) = sso(&server, &idp, "bob-unverified").await;
    assert_eq!(s, 403, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("verified"),
        "{body}"
    );
    let linked: Option<String> = with_db!(server.db(), p =>
        sqlx::query_scalar("SELECT oidc_sub FROM users WHERE id = $1").bind(bob).fetch_one(p).await)
    .unwrap();
    assert_eq!(linked, None);

    let (s, body, jar) = sso(&server, &idp, "bob-verified").await;
    assert_eq!(s, 302, "{body}");
    let (_, _, p) = call(
        &server,
        Method::GET,
        "/api/v1/auth/profile",
        Some(&jar["patchmon_session"]),
        None,
    )
    .await;
    assert_eq!(
        p["user"]["id"],
        bob.to_string(),
        "linked to the existing account"
    );
    assert_eq!(
        p["user"]["role"], "readonly",
        "role synced from groups (none → default)"
    );
    let linked: Option<String> = with_db!(server.db(), p =>
        sqlx::query_scalar("SELECT oidc_sub FROM users WHERE id = $1").bind(bob).fetch_one(p).await)
    .unwrap();
    assert_eq!(linked.as_deref(), Some("bob-verified"));
    // The local password still works (local login is not disabled).
    assert_eq!(login(&server, "bob", USER_PW).await.0, 200);
}

#[tokio::test]
async fn pkce_state_and_expiry_are_enforced() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let (server, idp) = start(clock.clone(), |_| {}).await;

    // A PKCE verifier that does not match the challenge: the provider refuses the code.
    let (cb, cookies) = to_callback(&server, &idp, "alice").await;
    let wrong = "x".repeat(64);
    with_db!(server.db(), p => sqlx::query("UPDATE oidc_logins SET pkce_verifier = $1").bind(&wrong).execute(p).await.map(|_| ())).unwrap();
    let (s, body, jar) = finish(&server, &cb, &cookies).await;
    assert_eq!(s, 401, "{body}");
    assert!(!jar.contains_key("patchmon_session"));

    // The callback without the browser's state cookie is refused.
    let (cb, _) = to_callback(&server, &idp, "alice").await;
    let (s, _, _) = finish(&server, &cb, &HashMap::new()).await;
    assert_eq!(s, 401);
    // A completed callback cannot be replayed: the state is single-use.
    let (cb, cookies) = to_callback(&server, &idp, "alice").await;
    let (s, _, _) = finish(&server, &cb, &cookies).await;
    assert_eq!(s, 302);
    let (s, _, _) = finish(&server, &cb, &cookies).await;
    assert_eq!(s, 401, "replayed callback");

    // The 10-minute login window.
    let (cb, cookies) = to_callback(&server, &idp, "alice").await;
    clock.advance(Duration::minutes(11));
    let (s, body, _) = finish(&server, &cb, &cookies).await;
    assert_eq!(s, 401, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("expired"),
        "{body}"
    );
}

#[tokio::test]
async fn local_login_can_be_disabled_only_when_sso_works() {
    let (server, _idp) = start(Arc::new(SystemClock), |c| c.disable_local_auth = true).await;
    setup_admin(&server).await;
    let (s, _, b) = login(&server, "admin", ADMIN_PW).await;
    assert_eq!(s, 403, "{b}");
    let (_, _, c) = call(&server, Method::GET, "/api/v1/auth/oidc/config", None, None).await;
    assert_eq!(c["disableLocalAuth"], true);

    // A provider that cannot be reached never locks local users out.
    let server = TestServer::start_with(|c: &mut Config| {
        c.auth.oidc = Some(OidcConfig {
            disable_local_auth: true,
            issuer_url: "http://127.0.0.1:9".into(),
            ..Idp::config_for_unreachable()
        });
    })
    .await;
    setup_admin(&server).await;
    assert_eq!(login(&server, "admin", ADMIN_PW).await.0, 200);
    let (_, _, c) = call(&server, Method::GET, "/api/v1/auth/oidc/config", None, None).await;
    assert_eq!(c["disableLocalAuth"], false);
    let r = no_redirects()
        .get(format!("{}/api/v1/auth/oidc/login", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
}

impl Idp {
    fn config_for_unreachable() -> OidcConfig {
        OidcConfig {
            issuer_url: String::new(),
            client_id: "patchmon".into(),
            client_secret: "x".into(),
            redirect_uri: "http://127.0.0.1:1/api/v1/auth/oidc/callback".into(),
            scopes: vec!["openid".into()],
            auto_create_users: true,
            default_role: "user".into(),
            disable_local_auth: false,
            button_text: "SSO".into(),
            superadmin_group: None,
            admin_group: None,
            host_manager_group: None,
            user_group: None,
            readonly_group: None,
            sync_roles: true,
        }
    }
}
