//! The admin CLI against the same database the server uses.

use std::process::Command;

use patchmon_server::config::DatabaseUrl;
use serde_json::Value;

use super::*;

fn cli(server: &TestServer, args: &[&str]) -> std::process::Output {
    let url = match server.database_url() {
        DatabaseUrl::Sqlite(u) | DatabaseUrl::Postgres(u) => u.clone(),
    };
    Command::new(env!("CARGO_BIN_EXE_patchmon-server"))
        .args(args)
        .env("DATABASE_URL", url)
        .env_remove("RUST_LOG")
        .output()
        .expect("run patchmon-server")
}

#[tokio::test]
async fn hosts_add_list_and_use_the_credentials() {
    let server = TestServer::start().await;
    let out = cli(
        &server,
        &["hosts", "add", "--name", "db-01", "--group", "databases"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    let api_id = created["api_id"].as_str().unwrap().to_owned();
    let api_key = created["api_key"].as_str().unwrap().to_owned();
    assert!(api_id.starts_with("patchmon_") && api_id.len() == 25);
    assert_eq!(api_key.len(), 64);
    assert!(
        created["id"]
            .as_str()
            .unwrap()
            .parse::<uuid::Uuid>()
            .is_ok()
    );

    // The credentials work against the running server.
    let creds = HostCredentials {
        id: created["id"].as_str().unwrap().parse().unwrap(),
        api_id: api_id.clone(),
        api_key,
    };
    assert_eq!(
        post_json(
            &server,
            &creds,
            "/hosts/update",
            &full_report(standard_packages(), vec![])
        )
        .await
        .0,
        200
    );

    let out = cli(&server, &["hosts", "list", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let host = list
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["api_id"] == api_id.as_str())
        .unwrap();
    assert_eq!(host["friendly_name"], "db-01");
    assert_eq!(host["groups"], serde_json::json!(["databases"]));
    assert_eq!(host["status"], "active");
    assert_eq!(host["effective_status"], "active");
    assert_eq!(host["reporting_state"], "reporting");
    assert_eq!(host["update_state"], "security_required");
    assert_eq!(host["total_packages"], 5);
    assert_eq!(host["updates_available"], 3);
    assert_eq!(host["security_updates"], 2);
    assert!(host.get("api_key").is_none() && host.get("api_key_hash").is_none());
}

#[tokio::test]
async fn invalid_configuration_names_the_variable() {
    let out = Command::new(env!("CARGO_BIN_EXE_patchmon-server"))
        .args(["hosts", "list"])
        .env("DATABASE_URL", "mysql://root:hunter2@db/patchmon")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("DATABASE_URL"), "{err}");
    assert!(!err.contains("hunter2"), "password leaked: {err}");
}

#[tokio::test]
async fn empty_name_is_refused() {
    let server = TestServer::start().await;
    let out = cli(&server, &["hosts", "add", "--name", "  "]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Host name is required"));
}
