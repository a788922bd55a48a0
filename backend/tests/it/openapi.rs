//! The OpenAPI document and Swagger UI: signed-in only, every route
//! described with the security the server enforces, and docs/openapi.json
//! kept current (`UPDATE_OPENAPI=1 cargo test -p patchmon-server --test it openapi`).

use patchmon_server::rbac::{Access, route_table};
use reqwest::Method;

use super::auth::{call, setup_admin};
use super::*;

/// Routes outside the RBAC table (agent, token and public routes): method and path.
const OTHER_ROUTES: &[(&str, &str)] = &[
    ("post", "/api/v1/hosts/ping"),
    ("post", "/api/v1/hosts/update"),
    ("get", "/api/v1/settings/update-interval"),
    ("get", "/api/v1/hosts/integrations"),
    ("post", "/api/v1/hosts/integration-status"),
    ("get", "/api/v1/hosts/agent/version"),
    ("get", "/api/v1/agents/ws"),
    ("get", "/health"),
    ("post", "/api/v1/auto-enrollment/enroll"),
    ("post", "/api/v1/auto-enrollment/enroll/bulk"),
    ("get", "/api/v1/auto-enrollment/script"),
    ("get", "/api/v1/api/hosts"),
    ("delete", "/api/v1/api/hosts/{id}"),
    ("get", "/api/v1/api/hosts/{id}/stats"),
    ("get", "/api/v1/api/hosts/{id}/info"),
    ("get", "/api/v1/api/hosts/{id}/network"),
    ("get", "/api/v1/api/hosts/{id}/system"),
    ("get", "/api/v1/api/hosts/{id}/packages"),
    ("get", "/api/v1/api/hosts/{id}/package_reports"),
    ("get", "/api/v1/api/hosts/{id}/agent_queue"),
    ("get", "/api/v1/api/hosts/{id}/notes"),
    ("get", "/api/v1/api/hosts/{id}/integrations"),
    ("get", "/api/v1/gethomepage/stats"),
    ("get", "/api/v1/gethomepage/health"),
];

#[tokio::test]
async fn openapi_document_and_swagger_ui() {
    let server = TestServer::start().await;

    // Signed-out: JSON 401 for API clients, a redirect to sign-in for browsers.
    let (s, _, b) = call(&server, Method::GET, "/api/v1/openapi.json", None, None).await;
    assert_eq!(s, 401, "{b}");
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{}/api/v1/api-docs/", server.url()))
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login")
    );

    let admin = setup_admin(&server).await;
    let (s, _, doc) = call(
        &server,
        Method::GET,
        "/api/v1/openapi.json",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3."),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().unwrap();

    for r in route_table(&server.state) {
        let op = &paths
            .get(r.path)
            .unwrap_or_else(|| panic!("{} {} missing from the OpenAPI document", r.method, r.path))
            [r.method.as_str().to_lowercase()];
        assert!(op.is_object(), "{} {} missing", r.method, r.path);
        match r.access {
            Access::Public => assert_eq!(op["security"], json!([]), "{}", r.path),
            Access::Authenticated => {
                assert_eq!(op["security"][0], json!({"bearerAuth": []}), "{}", r.path)
            }
            Access::Requires(p) => {
                assert_eq!(op["x-permission"], p.column(), "{}", r.path);
                assert!(op["description"].as_str().unwrap().contains(p.column()));
            }
        }
        assert!(op["tags"][0].is_string(), "{} has no tag", r.path);
        // Path parameters are declared.
        for param in r
            .path
            .split('{')
            .skip(1)
            .filter_map(|s| s.split('}').next())
        {
            assert!(
                op["parameters"]
                    .as_array()
                    .is_some_and(|ps| ps.iter().any(|p| p["name"] == param && p["in"] == "path")),
                "{} {}: parameter {param} undeclared",
                r.method,
                r.path
            );
        }
    }
    for (method, path) in OTHER_ROUTES {
        let op = &paths.get(*path).unwrap_or_else(|| panic!("{path} missing"))[*method];
        assert!(op.is_object(), "{method} {path} missing");
    }
    assert_eq!(
        paths["/api/v1/hosts/ping"]["post"]["security"],
        json!([{"agentId": [], "agentKey": []}])
    );
    assert_eq!(
        paths["/api/v1/api/hosts"]["get"]["security"],
        json!([{"integrationBasic": []}])
    );
    assert_eq!(
        paths["/api/v1/auto-enrollment/enroll"]["post"]["security"],
        json!([{"enrollmentKey": [], "enrollmentSecret": []}])
    );
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
    let mut ids: Vec<&str> = paths
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .filter_map(|op| op["operationId"].as_str())
        .collect();
    ids.sort_unstable();
    let dups: Vec<&&str> = ids
        .windows(2)
        .filter(|w| w[0] == w[1])
        .map(|w| &w[0])
        .collect();
    assert!(dups.is_empty(), "operation ids must be unique: {dups:?}");

    // Swagger UI, served from the binary (no CDN).
    let c = client();
    let get = |path: &str| {
        c.get(format!("{}{path}", server.url()))
            .bearer_auth(&admin)
            .send()
    };
    let r = get("/api/v1/api-docs/").await.unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    assert!(!html.contains("cdn."), "{html}");
    let r = get("/api/v1/api-docs/swagger-ui.css").await.unwrap();
    assert_eq!(r.status(), 200);
    let r = get("/api/v1/api-docs/swagger-initializer.js")
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("/api/v1/openapi.json"));

    // The committed contract is current.
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json");
    let generated = format!("{}\n", serde_json::to_string_pretty(&doc).unwrap());
    if std::env::var("UPDATE_OPENAPI").is_ok_and(|v| v == "1") {
        std::fs::write(file, &generated).unwrap();
    } else {
        let committed = std::fs::read_to_string(file).unwrap_or_default();
        assert!(
            committed == generated,
            "docs/openapi.json is out of date: run UPDATE_OPENAPI=1 cargo test -p patchmon-server --test it openapi"
        );
    }
}
