//! Report ingest end to end: first report, unchanged re-report, changes,
//! removals, repositories, and the hash-gated check-in cycle.

use patchmon_protocol::hashing::{hostname_hash, interfaces_hash, packages_hash, repos_hash};
use patchmon_protocol::{NetworkInterface, Package, Repository};
use serde_json::{Value, json};

use super::*;

fn hashes_of(report: &Value) -> Value {
    let pkgs: Vec<Package> = serde_json::from_value(report["packages"].clone()).unwrap();
    let repos: Vec<Repository> = serde_json::from_value(report["repositories"].clone()).unwrap();
    let ifs: Vec<NetworkInterface> =
        serde_json::from_value(report["networkInterfaces"].clone()).unwrap();
    json!({
        "packagesHash": packages_hash(&pkgs),
        "reposHash": repos_hash(&repos),
        "interfacesHash": interfaces_hash(&ifs),
        "hostnameHash": hostname_hash(report["hostname"].as_str().unwrap()),
    })
}

#[tokio::test]
async fn first_report_stores_everything_and_response_is_compact() {
    let server = TestServer::start().await;
    let h = server.create_host("web-01").await;
    assert_eq!(server.host(&h.api_id).await.unwrap()["status"], "pending");

    let report = full_report(standard_packages(), standard_repos());
    let (status, text, body) = post_raw(
        &server,
        &h,
        "/hosts/update",
        serde_json::to_vec(&report).unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(
        text,
        r#"{"message":"Host updated successfully","packagesProcessed":5,"securityUpdates":2,"updatesAvailable":3}"#
    );
    assert_eq!(body["packagesProcessed"], 5);

    let host = server.host(&h.api_id).await.unwrap();
    assert_eq!(host["status"], "active");
    assert_eq!(host["hostname"], "web-01.example.com");
    assert_eq!(host["os_type"], "Debian GNU/Linux");
    assert_eq!(host["cpu_cores"], 4);
    assert_eq!(host["swap_size"], 2.0);
    assert_eq!(host["ip"], "10.0.0.5");
    assert_eq!(host["package_manager"], "apt");
    assert_eq!(host["disk_details"][0]["mountpoint"], "/");
    assert!(host["last_full_report_at"].is_string());
    let expected = hashes_of(&report);
    assert_eq!(host["packages_hash"], expected["packagesHash"]);
    assert_eq!(host["repos_hash"], expected["reposHash"]);
    assert_eq!(host["interfaces_hash"], expected["interfacesHash"]);
    assert_eq!(host["hostname_hash"], expected["hostnameHash"]);

    let pkgs = server.host_packages(&h.api_id).await;
    assert_eq!(pkgs.len(), 5);
    let curl = pkgs.iter().find(|p| p.0 == "curl").unwrap();
    assert_eq!(curl.1, "7.88.1-10+deb12u4");
    assert_eq!(curl.2.as_deref(), Some("7.88.1-10+deb12u5"));
    assert!(curl.3 && curl.4);
    assert_eq!(server.host_repositories(&h.api_id).await.len(), 2);
    assert_eq!(
        server.history(&h.api_id).await,
        vec![("full".into(), "success".into(), None)]
    );
}

#[tokio::test]
async fn identical_report_rewrites_no_package_rows() {
    let server = TestServer::start().await;
    let h = server.create_host("web-01").await;
    let report = full_report(standard_packages(), standard_repos());
    assert_eq!(
        post_json(&server, &h, "/hosts/update", &report).await.0,
        200
    );
    let before = server.fingerprint().await;

    // Same packages in a different order, with duplicates: canonically identical.
    let mut shuffled = report.clone();
    let mut list = standard_packages();
    list.reverse();
    list.push(package("bash", "5.2.15-2+b2", None, false));
    shuffled["packages"] = json!(list);
    let (status, body) = post_json(&server, &h, "/hosts/update", &shuffled).await;
    assert_eq!(status, 200);
    assert_eq!(body["packagesProcessed"], 5);

    let after = server.fingerprint().await;
    assert_eq!(
        before["packages"], after["packages"],
        "package rows were rewritten"
    );
    assert_eq!(before["counts"], after["counts"]);
    assert_eq!(server.report_count(&h.api_id).await, 2);
}

#[tokio::test]
async fn one_changed_package_touches_one_row() {
    let server = TestServer::start().await;
    let h = host_with_report(&server, "web-01").await;
    let before = server.host_packages(&h.api_id).await;

    let mut pkgs = standard_packages();
    pkgs[1] = package("curl", "7.88.1-10+deb12u5", None, false); // curl upgraded
    let (status, body) = post_json(
        &server,
        &h,
        "/hosts/update",
        &full_report(pkgs, standard_repos()),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["updatesAvailable"], 2);
    assert_eq!(body["securityUpdates"], 1);

    let after = server.host_packages(&h.api_id).await;
    assert_eq!(after.len(), 5);
    for (b, a) in before.iter().zip(after.iter()) {
        assert_eq!(a.0, b.0);
        if a.0 == "curl" {
            assert_eq!(a.1, "7.88.1-10+deb12u5");
            assert_eq!(a.2, None);
            assert!(!a.3 && !a.4);
        } else {
            assert_eq!(a, b, "{} should not have been rewritten", a.0);
        }
    }
}

#[tokio::test]
async fn removed_packages_are_deleted_and_new_ones_added() {
    let server = TestServer::start().await;
    let h = host_with_report(&server, "web-01").await;

    let mut pkgs = standard_packages();
    pkgs.retain(|p| p["name"] != "vim" && p["name"] != "bash");
    pkgs.push(package("htop", "3.2.2-2", None, false));
    let (status, body) = post_json(
        &server,
        &h,
        "/hosts/update",
        &full_report(pkgs, standard_repos()),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["packagesProcessed"], 4);
    let names: Vec<String> = server
        .host_packages(&h.api_id)
        .await
        .into_iter()
        .map(|p| p.0)
        .collect();
    assert_eq!(names, vec!["curl", "htop", "openssl", "zlib1g"]);

    // The global package catalogue is shared: a second host reuses rows.
    let h2 = server.create_host("web-02").await;
    assert_eq!(
        post_json(
            &server,
            &h2,
            "/hosts/update",
            &full_report(standard_packages(), vec![])
        )
        .await
        .0,
        200
    );
    assert_eq!(
        server.fingerprint().await["counts"][1],
        6,
        "packages table holds each name once"
    );
}

#[tokio::test]
async fn repositories_are_reconciled() {
    let server = TestServer::start().await;
    let h = host_with_report(&server, "web-01").await;

    let repos = vec![
        repo("http://deb.debian.org/debian", "bookworm", false), // disabled now
        repo("https://download.docker.com/linux/debian", "bookworm", true), // new
    ]; // security repo removed
    assert_eq!(
        post_json(
            &server,
            &h,
            "/hosts/update",
            &full_report(standard_packages(), repos)
        )
        .await
        .0,
        200
    );
    let stored = server.host_repositories(&h.api_id).await;
    assert_eq!(
        stored,
        vec![
            (
                "http://deb.debian.org/debian".into(),
                "bookworm".into(),
                "main".into(),
                false
            ),
            (
                "https://download.docker.com/linux/debian".into(),
                "bookworm".into(),
                "main".into(),
                true
            ),
        ]
    );

    // A full report with no repositories keeps the stored ones.
    assert_eq!(
        post_json(
            &server,
            &h,
            "/hosts/update",
            &full_report(standard_packages(), vec![])
        )
        .await
        .0,
        200
    );
    assert_eq!(server.host_repositories(&h.api_id).await.len(), 2);
}

#[tokio::test]
async fn hash_gated_check_in_cycle() {
    let server = TestServer::start().await;
    let h = server.create_host("web-01").await;

    // Empty-body heartbeat: activates the host, no requestFull.
    let (status, text, body) = post_raw(&server, &h, "/hosts/ping", Vec::new()).await;
    assert_eq!(status, 200);
    assert!(text.contains(r#""hashGate":true"#), "{text}");
    assert!(body.get("requestFull").is_none());
    assert_eq!(body["friendlyName"], "web-01");
    assert_eq!(server.host(&h.api_id).await.unwrap()["status"], "active");

    // A hash-gated ping before any report: every section is stale.
    let report = full_report(standard_packages(), standard_repos());
    let hashes = hashes_of(&report);
    let ping = json!({"hashes": hashes, "metrics": {"cpuCores": 8, "needsReboot": false}, "agentVersion": "2.1.3"});
    let (status, body) = post_json(&server, &h, "/hosts/ping", &ping).await;
    assert_eq!(status, 200);
    assert_eq!(
        body["requestFull"],
        json!(["packages", "repos", "interfaces", "hostname"])
    );

    // Full report, then the same hashes: nothing requested.
    assert_eq!(
        post_json(&server, &h, "/hosts/update", &report).await.0,
        200
    );
    let (_, body) = post_json(&server, &h, "/hosts/ping", &ping).await;
    assert!(body.get("requestFull").is_none(), "{body}");

    // A package changes on the host: the ping names only packages.
    let mut pkgs = standard_packages();
    pkgs.push(package("htop", "3.2.2-2", None, false));
    let mut changed = report.clone();
    changed["packages"] = json!(pkgs);
    let new_hashes = hashes_of(&changed);
    let ping2 = json!({"hashes": new_hashes, "metrics": {"needsReboot": false}});
    let (_, body) = post_json(&server, &h, "/hosts/ping", &ping2).await;
    assert_eq!(body["requestFull"], json!(["packages"]));

    // The partial report, shaped like the Go agent's: zero swap, null disks.
    let partial = json!({
        "packages": pkgs, "repositories": [], "sections": ["packages"],
        "hashes": {"packagesHash": new_hashes["packagesHash"]},
        "swapSize": 0, "diskDetails": null, "cpuCores": 0, "agentVersion": "2.1.3"
    });
    let (status, body) = post_json(&server, &h, "/hosts/update", &partial).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["packagesProcessed"], 6);
    assert_eq!(server.host_package_count(&h.api_id).await, 6);
    let host = server.host(&h.api_id).await.unwrap();
    assert_eq!(host["swap_size"], 2.0, "partial report must not blank swap");
    assert_eq!(
        host["disk_details"][0]["name"], "/dev/sda1",
        "partial report must not blank disks"
    );
    assert_eq!(host["cpu_cores"], 8, "ping metrics stay");

    let (_, body) = post_json(&server, &h, "/hosts/ping", &ping2).await;
    assert!(body.get("requestFull").is_none(), "{body}");
    let kinds: Vec<String> = server
        .history(&h.api_id)
        .await
        .into_iter()
        .map(|r| r.0)
        .collect();
    assert_eq!(
        kinds,
        vec!["ping", "full", "ping", "ping", "partial", "ping"]
    );
}

#[tokio::test]
async fn ping_metrics_do_not_clobber_missing_fields() {
    let server = TestServer::start().await;
    let h = server.create_host("web-01").await;
    assert_eq!(
        post_json(
            &server,
            &h,
            "/hosts/update",
            &full_report(standard_packages(), vec![])
        )
        .await
        .0,
        200
    );
    let ping = json!({"hashes": {}, "metrics": {"ramInstalled": 15.5, "needsReboot": true, "rebootReason": "kernel update"}});
    assert_eq!(post_json(&server, &h, "/hosts/ping", &ping).await.0, 200);
    let host = server.host(&h.api_id).await.unwrap();
    assert_eq!(host["ram_installed"], 15.5);
    assert_eq!(host["swap_size"], 2.0);
    assert_eq!(host["cpu_cores"], 4);
    assert_eq!(host["needs_reboot"], true);
    assert_eq!(host["reboot_reason"], "kernel update");
    // A later full report saying no reboot clears the reason.
    assert_eq!(
        post_json(
            &server,
            &h,
            "/hosts/update",
            &full_report(standard_packages(), vec![])
        )
        .await
        .0,
        200
    );
    let host = server.host(&h.api_id).await.unwrap();
    assert_eq!(host["needs_reboot"], false);
    assert_eq!(host["reboot_reason"], Value::Null);
}

#[tokio::test]
async fn agent_settings_endpoints() {
    let server = TestServer::start().await;
    let h = server.create_host("web-01").await;
    let get = |path: &'static str| {
        let url = format!("{}/api/v1{path}", server.url());
        let (id, key) = (h.api_id.clone(), h.api_key.clone());
        async move {
            let r = client()
                .get(url)
                .header("X-API-ID", id)
                .header("X-API-KEY", key)
                .send()
                .await
                .unwrap();
            (r.status(), r.text().await.unwrap())
        }
    };
    assert_eq!(
        get("/settings/update-interval").await,
        (StatusCode::OK, r#"{"updateInterval":60}"#.into())
    );
    let (s, t) = get("/hosts/integrations").await;
    assert_eq!(s, 200);
    assert_eq!(
        t,
        r#"{"compliance_docker_bench_enabled":false,"compliance_mode":"on-demand","compliance_openscap_enabled":true,"integrations":{"compliance":false,"docker":false},"success":true}"#
    );
    // No agent binaries in the test configuration: 404 with the version fields
    // (tests/it/install.rs covers a server with binaries).
    let (s, t) = get("/hosts/agent/version?arch=amd64&os=linux&type=go&currentVersion=2.1.3").await;
    assert_eq!(s, 404);
    let v: Value = serde_json::from_str(&t).unwrap();
    assert_eq!(v["hasUpdate"], false);
    assert_eq!(v["currentVersion"], "2.1.3");
    assert_eq!(v["latestVersion"], Value::Null);
    let (s, _) = get("/hosts/agent/version?arch=sparc&os=linux").await;
    assert_eq!(s, 400);

    let status = json!({"integration": "docker", "enabled": true, "status": "ready", "message": "ok",
                        "install_events": [{"step": "detect", "status": "done"}]});
    let (s, body) = post_json(&server, &h, "/hosts/integration-status", &status).await;
    assert_eq!(s, 200);
    assert_eq!(
        body,
        json!({"message": "Integration status received", "success": true})
    );
    let (s, _) = post_json(
        &server,
        &h,
        "/hosts/integration-status",
        &json!({"integration": "teleport"}),
    )
    .await;
    assert_eq!(s, 400);
}
