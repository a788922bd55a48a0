//! Alerts API: list and filter, acknowledge / silence / assign / resolve /
//! reopen with history, per-type configuration, the reporting summary.

use std::sync::Arc;

use patchmon_server::alerts;
use patchmon_server::clock::SystemClock;
use reqwest::Method;

use super::auth::{call, setup_admin};
use super::queue::{Storage, start};
use super::*;

#[tokio::test]
async fn alerts_lifecycle_history_config_and_summary() {
    let server = start(Storage::Db, Arc::new(SystemClock), |_| {}).await;
    let token = setup_admin(&server).await;
    let h = host_with_report(&server, "a-01").await;
    let hid: Uuid = server.host(&h.api_id).await.unwrap()["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let st = &server.state;
    let a = alerts::raise(
        st,
        "security_updates_available",
        Some(hid),
        "3 security updates",
        "apply them",
        json!({"count": 3}),
    )
    .await
    .unwrap()
    .expect("raised");
    assert_eq!(a.severity, "error", "default severity of the type");
    // One unresolved alert per (type, host).
    assert!(
        alerts::raise(
            st,
            "security_updates_available",
            Some(hid),
            "dup",
            "dup",
            json!({})
        )
        .await
        .unwrap()
        .is_none()
    );
    alerts::raise(
        st,
        "updates_available",
        Some(hid),
        "12 updates",
        "",
        json!({}),
    )
    .await
    .unwrap()
    .expect("raised");

    let get = |q: &'static str| {
        let server = &server;
        let token = token.clone();
        async move {
            let (s, _, b) = call(
                server,
                Method::GET,
                &format!("/api/v1/alerts{q}"),
                Some(&token),
                None,
            )
            .await;
            assert_eq!(s, 200, "{b}");
            b
        }
    };
    assert_eq!(get("").await["total"], 2);
    assert_eq!(get("?severity=error").await["total"], 1);
    assert_eq!(get("?type=updates_available").await["total"], 1);
    assert_eq!(get("?status=resolved").await["total"], 0);
    let (s, _, _) = call(
        &server,
        Method::GET,
        "/api/v1/alerts?limit=abc",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(s, 400);

    let act = |body: Value| {
        let server = &server;
        let token = token.clone();
        async move {
            call(
                server,
                Method::POST,
                &format!("/api/v1/alerts/{}/actions", a.id),
                Some(&token),
                Some(body),
            )
            .await
        }
    };
    let (s, _, b) = act(json!({"action": "acknowledge", "note": "looking"})).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["alert"]["status"], "acknowledged");
    let (s, _, _) = act(json!({"action": "silence"})).await;
    assert_eq!(s, 400, "silence needs until");
    let until = (chrono::Utc::now() + chrono::Duration::hours(2)).to_rfc3339();
    let (s, _, b) = act(json!({"action": "silence", "until": until})).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["alert"]["status"], "silenced");
    const ME: &str = "SELECT id FROM users WHERE username = 'admin'";
    let me: Uuid =
        patchmon_server::with_db!(server.db(), p => sqlx::query_scalar(ME).fetch_one(p).await)
            .unwrap();
    assert!(b["alert"]["silenced_until"].is_string(), "{b}");
    // Acknowledging ends the silence: no stale "silenced until" on an acknowledged alert.
    let (s, _, b) = act(json!({"action": "acknowledge"})).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["alert"]["status"], "acknowledged");
    assert!(b["alert"]["silenced_until"].is_null(), "{b}");
    let (s, _, b) = act(json!({"action": "assign", "user_id": me})).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(get(&*format!("?assigned_to={me}").leak()).await["total"], 1);
    let (s, _, _) = act(json!({"action": "assign", "user_id": Uuid::new_v4()})).await;
    assert_eq!(s, 400);
    let (s, _, b) = act(json!({"action": "resolve"})).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["alert"]["resolved_by"], me.to_string());
    let (s, _, _) = act(json!({"action": "acknowledge"})).await;
    assert_eq!(s, 409);
    let (s, _, _) = act(json!({"action": "explode"})).await;
    assert_eq!(s, 400);
    let (s, _, b) = act(json!({"action": "reopen"})).await;
    assert_eq!(s, 200, "{b}");

    let (s, _, b) = call(
        &server,
        Method::GET,
        &format!("/api/v1/alerts/{}", a.id),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(s, 200);
    let actions: Vec<&str> = b["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "created",
            "acknowledged",
            "silenced",
            "acknowledged",
            "assigned",
            "resolved",
            "reopened"
        ]
    );
    let (s, _, _) = call(
        &server,
        Method::GET,
        &format!("/api/v1/alerts/{}", Uuid::new_v4()),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(s, 404);

    // Per-type config: disabled types raise nothing; validation.
    let (s, _, b) = call(
        &server,
        Method::PUT,
        "/api/v1/alerts/config/reboot_required",
        Some(&token),
        Some(json!({"enabled": false, "default_severity": "critical", "retention_days": 7})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert!(
        alerts::raise(st, "reboot_required", Some(hid), "r", "r", json!({}))
            .await
            .unwrap()
            .is_none()
    );
    let (s, _, _) = call(
        &server,
        Method::PUT,
        "/api/v1/alerts/config/reboot_required",
        Some(&token),
        Some(json!({"default_severity": "meh"})),
    )
    .await;
    assert_eq!(s, 400);
    let (s, _, _) = call(
        &server,
        Method::PUT,
        "/api/v1/alerts/config/nope",
        Some(&token),
        Some(json!({})),
    )
    .await;
    assert_eq!(s, 404);
    let (s, _, b) = call(
        &server,
        Method::PUT,
        "/api/v1/alerts/config/host_down",
        Some(&token),
        Some(json!({"metadata": {"threshold_seconds": 120}})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(alerts::host_down_threshold(st).await.unwrap(), 120);
    // Auto-assign: set, left alone when absent, cleared with null.
    let (_, _, me) = call(
        &server,
        Method::GET,
        "/api/v1/auth/profile",
        Some(&token),
        None,
    )
    .await;
    let me_id = me["user"]["id"].clone();
    let put = |body: Value| {
        call(
            &server,
            Method::PUT,
            "/api/v1/alerts/config/host_down",
            Some(&token),
            Some(body),
        )
    };
    let (s, _, b) = put(json!({"auto_assign_user_id": me_id})).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["config"]["auto_assign_user_id"], me_id);
    let (_, _, b) = put(json!({"auto_resolve": true})).await;
    assert_eq!(b["config"]["auto_assign_user_id"], me_id, "absent keeps it");
    let (s, _, b) = put(json!({"auto_assign_user_id": null})).await;
    assert_eq!(s, 200, "{b}");
    assert!(b["config"]["auto_assign_user_id"].is_null(), "{b}");
    assert!(
        alerts::config_of(st, "host_down")
            .await
            .unwrap()
            .unwrap()
            .auto_assign_user_id
            .is_none()
    );
    let (_, _, b) = call(
        &server,
        Method::GET,
        "/api/v1/alerts/config",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(b["config"].as_array().unwrap().len(), alerts::TYPES.len());

    let (s, _, b) = call(
        &server,
        Method::GET,
        "/api/v1/alerts/summary?days=7",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["total"], 2);
    assert_eq!(b["by_type"]["security_updates_available"], 1);
    assert_eq!(b["by_severity"]["info"], 1);
    assert_eq!(b["by_status"]["open"], 2);
    assert_eq!(b["per_day"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn host_status_monitor_raises_and_resolves_condition_alerts() {
    let server = start(Storage::Db, Arc::new(SystemClock), |_| {}).await;
    let token = setup_admin(&server).await;
    let h = host_with_report(&server, "c-01").await;
    let run = || async {
        let (s, _, b) = call(
            &server,
            Method::POST,
            "/api/v1/queues/host-status-monitor/run",
            Some(&token),
            None,
        )
        .await;
        assert_eq!(s, 200, "{b}");
        b["job"]["output"]["condition_alerts"].clone()
    };
    let open = |t: &'static str| {
        let server = &server;
        let token = token.clone();
        async move {
            let (_, _, b) = call(
                server,
                Method::GET,
                &format!("/api/v1/alerts?type={t}&status=open"),
                Some(&token),
                None,
            )
            .await;
            b["total"].as_i64().unwrap()
        }
    };
    let out = run().await;
    assert_eq!(out["raised"], 2, "{out}");
    assert_eq!(open("security_updates_available").await, 1);
    assert_eq!(open("updates_available").await, 1);
    assert_eq!(open("reboot_required").await, 0);
    assert_eq!(run().await["raised"], 0, "nothing new on the next run");

    // Everything patched, reboot pending.
    let mut report = full_report(
        vec![package("bash", "5.2.15-2+b2", None, false)],
        standard_repos(),
    );
    report["needsReboot"] = json!(true);
    let (s, b) = post_json(&server, &h, "/hosts/update", &report).await;
    assert_eq!(s, 200, "{b}");
    let out = run().await;
    assert_eq!(out, json!({"raised": 1, "resolved": 2}));
    assert_eq!(open("security_updates_available").await, 0);
    assert_eq!(open("reboot_required").await, 1);
}

#[tokio::test]
async fn alerts_respect_host_group_scope() {
    use super::auth::{USER_PW, create_user, token_of};
    use patchmon_server::hosts;
    let server = start(Storage::Db, Arc::new(SystemClock), |_| {}).await;
    let admin = setup_admin(&server).await;
    let web = hosts::create_host(server.db(), server.state.now(), "web-1", Some("web"))
        .await
        .unwrap();
    let db = hosts::create_host(server.db(), server.state.now(), "db-1", Some("databases"))
        .await
        .unwrap();
    let web_group: Uuid = patchmon_server::with_db!(server.db(), p =>
        sqlx::query_scalar("SELECT id FROM host_groups WHERE name = 'web'").fetch_one(p).await)
    .unwrap();
    let (s, _, b) = call(
        &server,
        Method::PUT,
        "/api/v1/permissions/roles/web_alerts",
        Some(&admin),
        Some(json!({"can_manage_alerts": true, "host_group_ids": [web_group]})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    create_user(&server, &admin, "webby", "web_alerts").await;
    let token = token_of(&server, "webby", USER_PW).await;
    let st = &server.state;
    let a_web = alerts::raise(st, "reboot_required", Some(web.id), "web", "", json!({}))
        .await
        .unwrap()
        .unwrap();
    let a_db = alerts::raise(st, "reboot_required", Some(db.id), "db", "", json!({}))
        .await
        .unwrap()
        .unwrap();
    alerts::raise(st, "server_update", None, "server", "", json!({}))
        .await
        .unwrap()
        .unwrap();

    let (_, _, b) = call(&server, Method::GET, "/api/v1/alerts", Some(&token), None).await;
    assert_eq!(
        b["total"], 2,
        "own group's host and the server-wide alert: {b}"
    );
    let (_, _, b) = call(&server, Method::GET, "/api/v1/alerts", Some(&admin), None).await;
    assert_eq!(b["total"], 3);
    let (s, _, _) = call(
        &server,
        Method::GET,
        &format!("/api/v1/alerts/{}", a_web.id),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(s, 200);
    let (s, _, _) = call(
        &server,
        Method::GET,
        &format!("/api/v1/alerts/{}", a_db.id),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(s, 404);
    let (s, _, _) = call(
        &server,
        Method::POST,
        &format!("/api/v1/alerts/{}/actions", a_db.id),
        Some(&token),
        Some(json!({"action": "resolve"})),
    )
    .await;
    assert_eq!(s, 404);
    let (_, _, b) = call(
        &server,
        Method::GET,
        "/api/v1/alerts/summary",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(b["total"], 2, "{b}");
}
