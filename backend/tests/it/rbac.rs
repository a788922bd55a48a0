//! Roles and permissions: the seeded matrix, the permission matrix over every
//! registered route and role, custom roles, user administration and the
//! last-superadmin rule.

use patchmon_server::rbac::{Access, BUILTIN_ROLES, Permission, route_table};
use reqwest::Method;

use super::auth::{ADMIN_PW, USER_PW, call, create_user, setup_admin, token_of};
use super::*;

fn concrete(path: &str) -> String {
    path.replace("{user_id}", &Uuid::new_v4().to_string())
        .replace("{session_id}", &Uuid::new_v4().to_string())
        .replace("{device_id}", &Uuid::new_v4().to_string())
        .replace("{role}", "matrix_probe")
        .replace("{api_id}", "patchmon_0000000000000000")
        .replace("{token_id}", &Uuid::new_v4().to_string())
        .replace("{host_id}", &Uuid::new_v4().to_string())
        .replace("{group_id}", &Uuid::new_v4().to_string())
        .replace("{package_id}", &Uuid::new_v4().to_string())
        .replace("{repository_id}", &Uuid::new_v4().to_string())
        .replace("{view_id}", &Uuid::new_v4().to_string())
}

fn method(m: &axum::http::Method) -> Method {
    Method::from_bytes(m.as_str().as_bytes()).unwrap()
}

#[tokio::test]
async fn permission_matrix_every_route_every_role() {
    let server = TestServer::start().await;
    let admin = setup_admin(&server).await;
    let table = route_table(&server.state);
    assert!(table.len() >= 20, "{} routes", table.len());

    // Without credentials, every non-public route is refused before its handler runs.
    for r in &table {
        let (s, _, b) = call(
            &server,
            method(&r.method),
            &concrete(r.path),
            None,
            Some(json!({})),
        )
        .await;
        match r.access {
            Access::Public => assert_ne!(
                b["error"], "Authentication required",
                "{} {}",
                r.method, r.path
            ),
            _ => assert_eq!(
                (s.as_u16(), b["error"].as_str()),
                (401, Some("Authentication required")),
                "{} {}",
                r.method,
                r.path
            ),
        }
    }

    let ordered: Vec<_> = table.iter().collect();

    for role in BUILTIN_ROLES {
        let name = format!("matrix_{role}");
        create_user(&server, &admin, &name, role).await;
        let token = token_of(&server, &name, USER_PW).await;
        let (_, _, perms) = call(
            &server,
            Method::GET,
            "/api/v1/permissions/user-permissions",
            Some(&token),
            None,
        )
        .await;
        for r in &ordered {
            // Logging out ends the session it is called with: use a spare one.
            let spare;
            let token = if r.path.ends_with("/logout") {
                spare = token_of(&server, &name, USER_PW).await;
                &spare
            } else {
                &token
            };
            let (s, _, b) = call(
                &server,
                method(&r.method),
                &concrete(r.path),
                Some(token),
                Some(json!({})),
            )
            .await;
            let what = format!("{role}: {} {} -> {s} {b}", r.method, r.path);
            match r.access {
                Access::Public => {}
                Access::Authenticated => assert!(s != 401 && s != 403, "{what}"),
                Access::Requires(p) => {
                    if perms[p.column()] == true {
                        assert!(s != 401 && s != 403, "allowed: {what}");
                    } else {
                        assert_eq!(s, 403, "denied: {what}");
                        assert_eq!(b["error"], "Insufficient permissions", "{what}");
                    }
                }
            }
        }
    }
}

#[tokio::test]
async fn seeded_roles_match_patchmon() {
    let server = TestServer::start().await;
    let admin = setup_admin(&server).await;
    let (s, _, roles) = call(
        &server,
        Method::GET,
        "/api/v1/permissions/roles",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(s, 200, "{roles}");
    let names: Vec<&str> = roles
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["role"].as_str().unwrap())
        .collect();
    assert_eq!(names, BUILTIN_ROLES);
    let granted = |role: &str| -> Vec<&'static str> {
        let r = roles
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["role"] == role)
            .unwrap();
        Permission::ALL
            .iter()
            .map(|p| p.column())
            .filter(|c| r[*c] == true)
            .collect()
    };
    assert_eq!(granted("superadmin").len(), Permission::ALL.len());
    let admin_perms = granted("admin");
    assert_eq!(admin_perms.len(), Permission::ALL.len() - 1);
    assert!(!admin_perms.contains(&"can_manage_superusers"));
    assert!(admin_perms.contains(&"can_manage_billing"));
    assert_eq!(
        granted("readonly"),
        [
            "can_view_dashboard",
            "can_view_hosts",
            "can_view_packages",
            "can_view_reports"
        ]
    );
    assert_eq!(
        granted("user"),
        [
            "can_view_dashboard",
            "can_view_hosts",
            "can_view_packages",
            "can_view_reports",
            "can_export_data"
        ]
    );
    let hm = granted("host_manager");
    for p in [
        "can_manage_hosts",
        "can_manage_packages",
        "can_export_data",
        "can_manage_patching",
        "can_manage_compliance",
        "can_manage_docker",
        "can_manage_alerts",
        "can_manage_automation",
        "can_use_remote_access",
    ] {
        assert!(hm.contains(&p), "{p}");
    }
    for p in [
        "can_view_users",
        "can_manage_users",
        "can_manage_settings",
        "can_manage_superusers",
    ] {
        assert!(!hm.contains(&p), "{p}");
    }
}

#[tokio::test]
async fn custom_roles_are_stored_and_enforced() {
    let server = TestServer::start().await;
    let sa = setup_admin(&server).await;
    let (s, _, b) = call(&server, Method::PUT, "/api/v1/permissions/roles/auditor", Some(&sa),
        Some(json!({"description": "Reads users", "can_view_users": true, "can_view_dashboard": true}))).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["role"]["can_view_users"], true);
    assert_eq!(b["role"]["can_manage_users"], false);
    assert_eq!(b["role"]["is_builtin"], false);
    let id = create_user(&server, &sa, "carol", "auditor").await;
    let carol = token_of(&server, "carol", USER_PW).await;
    assert_eq!(
        call(
            &server,
            Method::GET,
            "/api/v1/auth/admin/users",
            Some(&carol),
            None
        )
        .await
        .0,
        200
    );
    assert_eq!(
        call(
            &server,
            Method::DELETE,
            &format!("/api/v1/auth/admin/users/{id}"),
            Some(&carol),
            None
        )
        .await
        .0,
        403
    );
    // Revoking the flag takes effect on the next request of a live session.
    let (s, _, _) = call(
        &server,
        Method::PUT,
        "/api/v1/permissions/roles/auditor",
        Some(&sa),
        Some(json!({"can_view_users": false})),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        call(
            &server,
            Method::GET,
            "/api/v1/auth/admin/users",
            Some(&carol),
            None
        )
        .await
        .0,
        403
    );

    // Bad input and protected roles.
    let bad = [
        ("auditor", json!({"can_fly": true}), 400),
        ("auditor", json!({"can_view_hosts": "yes"}), 400),
        ("superadmin", json!({"can_view_hosts": false}), 400),
        ("Bad Name", json!({}), 400),
    ];
    for (role, body, status) in bad {
        let (s, _, b) = call(
            &server,
            Method::PUT,
            &format!("/api/v1/permissions/roles/{}", role.replace(' ', "%20")),
            Some(&sa),
            Some(body),
        )
        .await;
        assert_eq!(s, status, "{role}: {b}");
    }
    let (s, _, _) = call(
        &server,
        Method::DELETE,
        "/api/v1/permissions/roles/auditor",
        Some(&sa),
        None,
    )
    .await;
    assert_eq!(s, 409, "still assigned");
    let (s, _, _) = call(
        &server,
        Method::DELETE,
        "/api/v1/permissions/roles/admin",
        Some(&sa),
        None,
    )
    .await;
    assert_eq!(s, 400, "built-in");
    // An admin cannot mint a role that manages superadmins.
    create_user(&server, &sa, "adam", "admin").await;
    let adam = token_of(&server, "adam", USER_PW).await;
    let (s, _, _) = call(
        &server,
        Method::PUT,
        "/api/v1/permissions/roles/shadow",
        Some(&adam),
        Some(json!({"can_manage_superusers": true})),
    )
    .await;
    assert_eq!(s, 403);
    let (s, _, _) = call(
        &server,
        Method::DELETE,
        &format!("/api/v1/auth/admin/users/{id}"),
        Some(&sa),
        None,
    )
    .await;
    assert_eq!(s, 200);
    let (s, _, _) = call(
        &server,
        Method::DELETE,
        "/api/v1/permissions/roles/auditor",
        Some(&sa),
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        call(
            &server,
            Method::GET,
            "/api/v1/permissions/roles/auditor",
            Some(&sa),
            None
        )
        .await
        .0,
        404
    );
}

#[tokio::test]
async fn user_administration() {
    let server = TestServer::start().await;
    let sa = setup_admin(&server).await;
    let users = "/api/v1/auth/admin/users";
    let (s, _, b) = call(&server, Method::POST, users, Some(&sa),
        Some(json!({"username": "dave", "email": "dave@example.com", "password": "weak", "role": "user"}))).await;
    assert_eq!(s, 400, "{b}");
    let (s, _, b) = call(&server, Method::POST, users, Some(&sa),
        Some(json!({"username": "dave", "email": "dave@example.com", "password": USER_PW, "role": "nope"}))).await;
    assert_eq!(s, 400, "{b}");
    let dave = create_user(&server, &sa, "dave", "user").await;
    let (s, _, b) = call(
        &server,
        Method::POST,
        users,
        Some(&sa),
        Some(json!({"username": "DAVE", "email": "other@example.com", "password": USER_PW})),
    )
    .await;
    assert_eq!(s, 409, "usernames are unique regardless of case: {b}");
    // An account created disabled exists but cannot sign in.
    let (s, _, b) = call(&server, Method::POST, users, Some(&sa),
        Some(json!({"username": "erin", "email": "erin@example.com", "password": USER_PW, "is_active": false}))).await;
    assert_eq!(
        (s.as_u16(), &b["user"]["is_active"]),
        (201, &json!(false)),
        "{b}"
    );
    let (s, _, _) = super::auth::login(&server, "erin", USER_PW).await;
    assert_eq!(s, 401);
    let erin = b["user"]["id"].as_str().unwrap().to_owned();
    let (s, _, _) = call(
        &server,
        Method::DELETE,
        &format!("{users}/{erin}"),
        Some(&sa),
        None,
    )
    .await;
    assert_eq!(s, 200);

    let (s, _, list) = call(&server, Method::GET, users, Some(&sa), None).await;
    assert_eq!(s, 200);
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert!(list[0].get("password_hash").is_none());

    // Role change, then disable: the disabled user's sessions end and login fails generically.
    let dave_token = token_of(&server, "dave", USER_PW).await;
    let (s, _, b) = call(
        &server,
        Method::PUT,
        &format!("{users}/{dave}"),
        Some(&sa),
        Some(json!({"role": "host_manager"})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["user"]["role"], "host_manager");
    let (_, _, p) = call(
        &server,
        Method::GET,
        "/api/v1/permissions/user-permissions",
        Some(&dave_token),
        None,
    )
    .await;
    assert_eq!(p["role"], "host_manager");
    let (s, _, _) = call(
        &server,
        Method::PUT,
        &format!("{users}/{dave}"),
        Some(&sa),
        Some(json!({"is_active": false})),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        call(
            &server,
            Method::GET,
            "/api/v1/auth/profile",
            Some(&dave_token),
            None
        )
        .await
        .0,
        401
    );
    let (s, _, b) = super::auth::login(&server, "dave", USER_PW).await;
    assert_eq!(
        (s.as_u16(), b["error"].as_str()),
        (401, Some("Invalid credentials"))
    );
    let (s, _, _) = call(
        &server,
        Method::PUT,
        &format!("{users}/{dave}"),
        Some(&sa),
        Some(json!({"is_active": true})),
    )
    .await;
    assert_eq!(s, 200);

    // Reset password ends the user's sessions.
    let dave_token = token_of(&server, "dave", USER_PW).await;
    let (s, _, _) = call(
        &server,
        Method::POST,
        &format!("{users}/{dave}/reset-password"),
        Some(&sa),
        Some(json!({"newPassword": "Res3t-Passw0rd!"})),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        call(
            &server,
            Method::GET,
            "/api/v1/auth/profile",
            Some(&dave_token),
            None
        )
        .await
        .0,
        401
    );
    token_of(&server, "dave", "Res3t-Passw0rd!").await;

    // Admins cannot create or touch superadmins.
    create_user(&server, &sa, "adam", "admin").await;
    let adam = token_of(&server, "adam", USER_PW).await;
    let (s, _, _) = call(&server, Method::POST, users, Some(&adam),
        Some(json!({"username": "evil", "email": "evil@example.com", "password": USER_PW, "role": "superadmin"}))).await;
    assert_eq!(s, 403);
    let (_, _, me) = call(
        &server,
        Method::GET,
        "/api/v1/auth/profile",
        Some(&sa),
        None,
    )
    .await;
    let sa_id = me["user"]["id"].as_str().unwrap();
    for (m, path, body) in [
        (
            Method::PUT,
            format!("{users}/{sa_id}"),
            json!({"role": "readonly"}),
        ),
        (Method::DELETE, format!("{users}/{sa_id}"), json!({})),
        (
            Method::POST,
            format!("{users}/{sa_id}/reset-password"),
            json!({"newPassword": "Hijack-Passw0rd!"}),
        ),
    ] {
        assert_eq!(
            call(&server, m, &path, Some(&adam), Some(body)).await.0,
            403,
            "{path}"
        );
    }
    let (s, _, _) = call(
        &server,
        Method::PUT,
        &format!("{users}/{dave}"),
        Some(&adam),
        Some(json!({"role": "readonly"})),
    )
    .await;
    assert_eq!(s, 200, "admins manage non-superadmins");
    let (s, _, _) = call(
        &server,
        Method::DELETE,
        &format!("{users}/{}", Uuid::new_v4()),
        Some(&sa),
        None,
    )
    .await;
    assert_eq!(s, 404);
    let (s, _, b) = call(
        &server,
        Method::DELETE,
        &format!("{users}/not-a-uuid"),
        Some(&sa),
        None,
    )
    .await;
    assert_eq!((s.as_u16(), b["code"].as_str()), (400, Some("bad_request")));
}

#[tokio::test]
async fn the_last_superadmin_stays() {
    let server = TestServer::start().await;
    let sa = setup_admin(&server).await;
    let users = "/api/v1/auth/admin/users";
    let (_, _, me) = call(
        &server,
        Method::GET,
        "/api/v1/auth/profile",
        Some(&sa),
        None,
    )
    .await;
    let sa_id = me["user"]["id"].as_str().unwrap().to_owned();
    // Nobody changes their own role or deletes themselves.
    assert_eq!(
        call(
            &server,
            Method::PUT,
            &format!("{users}/{sa_id}"),
            Some(&sa),
            Some(json!({"role": "admin"}))
        )
        .await
        .0,
        400
    );
    assert_eq!(
        call(
            &server,
            Method::DELETE,
            &format!("{users}/{sa_id}"),
            Some(&sa),
            None
        )
        .await
        .0,
        400
    );

    // A custom role that may manage superadmins still cannot remove the last one.
    let (s, _, _) = call(&server, Method::PUT, "/api/v1/permissions/roles/security_officer", Some(&sa),
        Some(json!({"can_view_users": true, "can_manage_users": true, "can_manage_superusers": true}))).await;
    assert_eq!(s, 200);
    create_user(&server, &sa, "olga", "security_officer").await;
    let olga = token_of(&server, "olga", USER_PW).await;
    for body in [json!({"role": "admin"}), json!({"is_active": false})] {
        let (s, _, b) = call(
            &server,
            Method::PUT,
            &format!("{users}/{sa_id}"),
            Some(&olga),
            Some(body),
        )
        .await;
        assert_eq!(s, 409, "{b}");
        assert!(
            b["error"]
                .as_str()
                .unwrap()
                .contains("last active superadmin")
        );
    }
    assert_eq!(
        call(
            &server,
            Method::DELETE,
            &format!("{users}/{sa_id}"),
            Some(&olga),
            None
        )
        .await
        .0,
        409
    );

    // With a second superadmin, the first can be demoted.
    let second = create_user(&server, &sa, "root2", "superadmin").await;
    let (s, _, b) = call(
        &server,
        Method::PUT,
        &format!("{users}/{sa_id}"),
        Some(&olga),
        Some(json!({"role": "admin"})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    // Now root2 is the last one.
    assert_eq!(
        call(
            &server,
            Method::DELETE,
            &format!("{users}/{second}"),
            Some(&olga),
            None
        )
        .await
        .0,
        409
    );
    let n: i64 = patchmon_server::with_db!(server.db(), p =>
        sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE role = 'superadmin' AND is_active = TRUE").fetch_one(p).await)
    .unwrap();
    assert_eq!(n, 1);
    let _ = ADMIN_PW;
}

#[tokio::test]
async fn roles_can_be_scoped_to_host_groups() {
    use patchmon_server::rbac::scope::{HOST_SCOPE_FILTER, HostScope};
    let server = TestServer::start().await;
    let sa = setup_admin(&server).await;
    let web =
        patchmon_server::hosts::create_host(server.db(), server.state.now(), "web-1", Some("web"))
            .await
            .unwrap();
    let db = patchmon_server::hosts::create_host(
        server.db(),
        server.state.now(),
        "db-1",
        Some("databases"),
    )
    .await
    .unwrap();
    let loose = server.create_host("loose-1").await;
    let srv = &server;
    let group_id = |name: &'static str| async move {
        let id: Uuid = patchmon_server::with_db!(srv.db(), p =>
            sqlx::query_scalar("SELECT id FROM host_groups WHERE name = $1").bind(name).fetch_one(p).await).unwrap();
        id
    };
    let web_group = group_id("web").await;

    let path = "/api/v1/permissions/roles/web_team";
    let (s, _, b) = call(
        &server,
        Method::PUT,
        path,
        Some(&sa),
        Some(json!({"can_view_hosts": true, "host_group_ids": [web_group]})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["role"]["host_group_ids"], json!([web_group]));
    let (_, _, b) = call(&server, Method::GET, path, Some(&sa), None).await;
    assert_eq!(b["host_group_ids"], json!([web_group]));
    let (_, _, all) = call(
        &server,
        Method::GET,
        "/api/v1/permissions/roles",
        Some(&sa),
        None,
    )
    .await;
    assert_eq!(
        all[0]["host_group_ids"],
        json!([]),
        "superadmin is unscoped"
    );
    let (s, _, _) = call(
        &server,
        Method::PUT,
        path,
        Some(&sa),
        Some(json!({"host_group_ids": [Uuid::new_v4()]})),
    )
    .await;
    assert_eq!(s, 400, "unknown group");
    let (s, _, _) = call(
        &server,
        Method::PUT,
        path,
        Some(&sa),
        Some(json!({"host_group_ids": "web"})),
    )
    .await;
    assert_eq!(s, 400);

    // The scope as host routes apply it: one host, and a list filter.
    let scope = HostScope::for_role(&server.state, "web_team")
        .await
        .unwrap();
    assert_eq!(scope, HostScope::Groups(vec![web_group]));
    assert!(scope.allows_host(&server.state, web.id).await.unwrap());
    assert!(!scope.allows_host(&server.state, db.id).await.unwrap());
    assert!(
        !scope.allows_host(&server.state, loose.id).await.unwrap(),
        "a host in no group is outside every scope"
    );
    let admin = HostScope::for_role(&server.state, "admin").await.unwrap();
    assert_eq!(admin, HostScope::All);
    assert!(admin.allows_host(&server.state, loose.id).await.unwrap());
    const LIST: &str = "SELECT friendly_name FROM hosts WHERE ";
    let sql: &'static str =
        Box::leak(format!("{LIST}{HOST_SCOPE_FILTER} ORDER BY friendly_name").into_boxed_str());
    let names = |role: &'static str| async move {
        let v: Vec<String> = patchmon_server::with_db!(srv.db(), p =>
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(role).fetch_all(p).await)
        .unwrap();
        v
    };
    assert_eq!(names("web_team").await, ["web-1"]);
    assert_eq!(names("admin").await, ["db-1", "loose-1", "web-1"]);

    // An empty list removes the scope; deleting a group drops it from scopes.
    let (s, _, b) = call(
        &server,
        Method::PUT,
        path,
        Some(&sa),
        Some(json!({"host_group_ids": []})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        HostScope::for_role(&server.state, "web_team")
            .await
            .unwrap(),
        HostScope::All
    );
    call(
        &server,
        Method::PUT,
        path,
        Some(&sa),
        Some(json!({"host_group_ids": [web_group]})),
    )
    .await;
    patchmon_server::with_db!(server.db(), p =>
        sqlx::query("DELETE FROM host_groups WHERE id = $1").bind(web_group).execute(p).await.map(|_| ())).unwrap();
    assert_eq!(
        HostScope::for_role(&server.state, "web_team")
            .await
            .unwrap(),
        HostScope::All
    );
    let _ = ADMIN_PW;
}
