//! The agent's REST payloads: reports, pings and their responses.
//!
//! Field names and omission rules follow PatchMon's Go agent exactly. Decoding
//! is lenient like Go's: unknown fields are ignored and `null` lists decode as
//! empty. Optional scalars are `Option` so the server can tell "not sent"
//! from "zero" and never overwrite stored data with a missing value.

use serde::{Deserialize, Serialize};

use crate::serde_util::{is_false, is_zero_i32, is_zero_i64, null_default};

/// One installed package.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Package {
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub description: String,
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub category: String,
    #[serde(deserialize_with = "null_default")]
    pub current_version: String,
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub available_version: String,
    #[serde(deserialize_with = "null_default")]
    pub needs_update: bool,
    #[serde(deserialize_with = "null_default")]
    pub is_security_update: bool,
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub source_repository: String,
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub wua_guid: String,
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub wua_kb: String,
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub wua_severity: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wua_categories: Option<Vec<String>>,
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub wua_support_url: String,
    #[serde(skip_serializing_if = "is_zero_i32", deserialize_with = "null_default")]
    pub wua_revision_number: i32,
}

/// One configured package repository.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Repository {
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    #[serde(deserialize_with = "null_default")]
    pub url: String,
    #[serde(deserialize_with = "null_default")]
    pub distribution: String,
    #[serde(deserialize_with = "null_default")]
    pub components: String,
    #[serde(deserialize_with = "null_default")]
    pub repo_type: String,
    #[serde(deserialize_with = "null_default")]
    pub is_enabled: bool,
    #[serde(deserialize_with = "null_default")]
    pub is_secure: bool,
}

/// A mounted filesystem. `size` is a display string, as PatchMon sends it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DiskDetail {
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    #[serde(deserialize_with = "null_default")]
    pub size: String,
    #[serde(deserialize_with = "null_default")]
    pub mountpoint: String,
}

/// One address of a network interface.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct InterfaceAddress {
    #[serde(deserialize_with = "null_default")]
    pub address: String,
    /// `inet` or `inet6`.
    #[serde(deserialize_with = "null_default")]
    pub family: String,
    /// Prefix length written as `/24`.
    #[serde(deserialize_with = "null_default")]
    pub netmask: String,
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub gateway: String,
}

/// One network interface. `addresses` is `null` on the wire when empty.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NetworkInterface {
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    /// `ethernet`, `wifi` or `bridge`.
    #[serde(rename = "type", deserialize_with = "null_default")]
    pub kind: String,
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub mac_address: String,
    #[serde(skip_serializing_if = "is_zero_i64", deserialize_with = "null_default")]
    pub mtu: i64,
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub status: String,
    /// Mbps; -1 or absent when unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link_speed: Option<i64>,
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub duplex: String,
    pub addresses: Option<Vec<InterfaceAddress>>,
}

/// Section hashes sent with partial reports. Empty values are omitted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SectionHashes {
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub packages_hash: String,
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub repos_hash: String,
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub interfaces_hash: String,
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub hostname_hash: String,
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub docker_hash: String,
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub compliance_hash: String,
}

/// `POST /hosts/update` body: a full report (no `sections`) or a partial one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ReportPayload {
    #[serde(deserialize_with = "null_default")]
    pub packages: Vec<Package>,
    #[serde(deserialize_with = "null_default")]
    pub repositories: Vec<Repository>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub architecture: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub machine_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub installed_kernel_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selinux_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_uptime: Option<String>,
    /// RFC 3339, UTC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boot_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load_average: Option<Vec<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_cores: Option<i64>,
    /// GiB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ram_installed: Option<f64>,
    /// GiB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub swap_size: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk_details: Option<Vec<DiskDetail>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway_ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns_servers: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_interfaces: Option<Vec<NetworkInterface>>,
    /// Seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_time: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub needs_reboot: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reboot_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package_manager: Option<String>,
    /// Present only on partial reports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sections: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hashes: Option<SectionHashes>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_execution_ms: Option<i64>,
}

/// `POST /hosts/update` success body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportResponse {
    pub message: String,
    pub packages_processed: i64,
    pub security_updates: i64,
    pub updates_available: i64,
}

/// Metrics carried by a hash-gated ping.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PingMetrics {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_cores: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ram_installed: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub swap_size: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk_details: Option<Vec<DiskDetail>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_uptime: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boot_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load_average: Option<Vec<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub needs_reboot: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reboot_reason: Option<String>,
}

/// `POST /hosts/ping` body. An empty body is the legacy heartbeat.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PingRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hashes: Option<SectionHashes>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics: Option<PingMetrics>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_execution_ms: Option<i64>,
}

/// Docker and compliance flags as the server reports them to the agent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct IntegrationFlags {
    pub compliance: bool,
    pub docker: bool,
}

/// `POST /hosts/ping` response. Field order is alphabetical, like Go's map output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PingResponse {
    #[serde(default)]
    pub agent_startup: bool,
    #[serde(default)]
    pub friendly_name: String,
    /// Capability marker of hash-gated servers (PatchMon ≥ 2.1). Absent means "send full reports".
    #[serde(default, skip_serializing_if = "is_false")]
    pub hash_gate: bool,
    #[serde(default)]
    pub integrations: IntegrationFlags,
    #[serde(default)]
    pub message: String,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_default"
    )]
    pub request_full: Vec<String>,
    #[serde(default)]
    pub timestamp: String,
}

/// `GET /settings/update-interval` response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateIntervalResponse {
    pub update_interval: i64,
}

/// `GET /hosts/integrations` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct IntegrationsResponse {
    pub compliance_docker_bench_enabled: bool,
    /// `disabled`, `on-demand` or `enabled`.
    pub compliance_mode: String,
    pub compliance_openscap_enabled: bool,
    pub integrations: IntegrationFlags,
    pub success: bool,
}

impl Default for IntegrationsResponse {
    fn default() -> Self {
        Self {
            compliance_docker_bench_enabled: false,
            compliance_mode: "on-demand".into(),
            compliance_openscap_enabled: true,
            integrations: IntegrationFlags::default(),
            success: true,
        }
    }
}

/// `GET /hosts/agent/version` response (keys sorted, like Go's map output).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AgentVersionResponse {
    pub agent_type: String,
    pub architecture: String,
    pub auto_update_disabled: bool,
    pub auto_update_disabled_reason: String,
    pub current_version: String,
    pub download_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub has_update: bool,
    pub hash: Option<String>,
    pub latest_version: Option<String>,
    pub min_server_version: Option<String>,
    pub release_notes: Option<String>,
}

/// Docker inventory (`POST /integrations/docker`), the fields that matter for
/// hashing and storage. Unknown fields are ignored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DockerPayload {
    #[serde(deserialize_with = "null_default")]
    pub containers: Vec<DockerContainer>,
    #[serde(deserialize_with = "null_default")]
    pub images: Vec<DockerImage>,
    #[serde(deserialize_with = "null_default")]
    pub volumes: Vec<DockerVolume>,
    #[serde(deserialize_with = "null_default")]
    pub networks: Vec<DockerNetwork>,
    #[serde(deserialize_with = "null_default")]
    pub updates: Vec<DockerUpdate>,
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub hostname: String,
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub machine_id: String,
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub agent_version: String,
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub docker_hash: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DockerContainer {
    #[serde(deserialize_with = "null_default")]
    pub container_id: String,
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    #[serde(deserialize_with = "null_default")]
    pub image_name: String,
    #[serde(deserialize_with = "null_default")]
    pub image_tag: String,
    #[serde(deserialize_with = "null_default")]
    pub image_repository: String,
    #[serde(deserialize_with = "null_default")]
    pub image_source: String,
    #[serde(deserialize_with = "null_default")]
    pub image_id: String,
    #[serde(deserialize_with = "null_default")]
    pub status: String,
    #[serde(deserialize_with = "null_default")]
    pub state: String,
    pub ports: Option<serde_json::Value>,
    pub created_at: Option<String>,
    pub started_at: Option<String>,
    pub labels: Option<serde_json::Value>,
    #[serde(deserialize_with = "null_default")]
    pub network_mode: String,
    #[serde(deserialize_with = "null_default")]
    pub restart_count: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DockerImage {
    #[serde(deserialize_with = "null_default")]
    pub repository: String,
    #[serde(deserialize_with = "null_default")]
    pub tag: String,
    #[serde(deserialize_with = "null_default")]
    pub image_id: String,
    #[serde(deserialize_with = "null_default")]
    pub source: String,
    #[serde(deserialize_with = "null_default")]
    pub size_bytes: i64,
    pub created_at: Option<String>,
    #[serde(deserialize_with = "null_default")]
    pub digest: String,
    pub labels: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DockerVolume {
    #[serde(deserialize_with = "null_default")]
    pub volume_id: String,
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    #[serde(deserialize_with = "null_default")]
    pub driver: String,
    #[serde(deserialize_with = "null_default")]
    pub mountpoint: String,
    #[serde(deserialize_with = "null_default")]
    pub scope: String,
    #[serde(deserialize_with = "null_default")]
    pub size_bytes: i64,
    #[serde(deserialize_with = "null_default")]
    pub ref_count: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DockerNetwork {
    #[serde(deserialize_with = "null_default")]
    pub network_id: String,
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    #[serde(deserialize_with = "null_default")]
    pub driver: String,
    #[serde(deserialize_with = "null_default")]
    pub scope: String,
    #[serde(deserialize_with = "null_default")]
    pub ipv6_enabled: bool,
    #[serde(deserialize_with = "null_default")]
    pub internal: bool,
    #[serde(deserialize_with = "null_default")]
    pub container_count: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DockerUpdate {
    #[serde(deserialize_with = "null_default")]
    pub repository: String,
    #[serde(deserialize_with = "null_default")]
    pub current_tag: String,
    #[serde(deserialize_with = "null_default")]
    pub available_tag: String,
    #[serde(deserialize_with = "null_default")]
    pub current_digest: String,
    #[serde(deserialize_with = "null_default")]
    pub available_digest: String,
    #[serde(deserialize_with = "null_default")]
    pub image_id: String,
}

/// Compliance upload (`POST /compliance/scans`), the fields used by hashing and storage.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CompliancePayload {
    #[serde(deserialize_with = "null_default")]
    pub scans: Vec<ComplianceScan>,
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub hostname: String,
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub machine_id: String,
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub agent_version: String,
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub scan_type: String,
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub compliance_hash: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ComplianceScan {
    #[serde(deserialize_with = "null_default")]
    pub profile_name: String,
    #[serde(deserialize_with = "null_default")]
    pub profile_type: String,
    #[serde(deserialize_with = "null_default")]
    pub status: String,
    #[serde(deserialize_with = "null_default")]
    pub score: f64,
    #[serde(deserialize_with = "null_default")]
    pub total_rules: i64,
    #[serde(deserialize_with = "null_default")]
    pub passed: i64,
    #[serde(deserialize_with = "null_default")]
    pub failed: i64,
    #[serde(deserialize_with = "null_default")]
    pub warnings: i64,
    #[serde(deserialize_with = "null_default")]
    pub skipped: i64,
    #[serde(deserialize_with = "null_default")]
    pub not_applicable: i64,
    pub started_at: Option<String>,
    pub completed_at: Option<String>,
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub error: String,
    #[serde(deserialize_with = "null_default")]
    pub remediation_applied: bool,
    #[serde(deserialize_with = "null_default")]
    pub remediation_count: i64,
    #[serde(deserialize_with = "null_default")]
    pub results: Vec<ComplianceResult>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ComplianceResult {
    /// PatchMon also accepts `rule_id` or `id` for this field.
    #[serde(alias = "rule_id", alias = "id", deserialize_with = "null_default")]
    pub rule_ref: String,
    #[serde(deserialize_with = "null_default")]
    pub title: String,
    #[serde(deserialize_with = "null_default")]
    pub status: String,
    #[serde(deserialize_with = "null_default")]
    pub finding: String,
    #[serde(deserialize_with = "null_default")]
    pub actual: String,
    #[serde(deserialize_with = "null_default")]
    pub expected: String,
    #[serde(deserialize_with = "null_default")]
    pub section: String,
    #[serde(deserialize_with = "null_default")]
    pub description: String,
    #[serde(deserialize_with = "null_default")]
    pub severity: String,
    #[serde(deserialize_with = "null_default")]
    pub remediation: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_agent_report_decodes_with_nulls_and_unknown_fields() {
        let body = r#"{"packages":[{"name":"curl","currentVersion":"7.88","needsUpdate":false,
            "isSecurityUpdate":false,"somethingNew":1}],"repositories":null,"osType":"Debian GNU/Linux",
            "networkInterfaces":[{"name":"eth0","type":"ethernet","addresses":null}],"diskDetails":null,
            "cpuCores":4,"needsReboot":false,"futureField":{"x":1}}"#;
        let r: ReportPayload = serde_json::from_str(body).unwrap();
        assert_eq!(r.packages.len(), 1);
        assert!(r.repositories.is_empty());
        assert_eq!(r.disk_details, None);
        assert_eq!(r.cpu_cores, Some(4));
        assert_eq!(r.swap_size, None);
        assert_eq!(r.network_interfaces.unwrap()[0].addresses, None);
    }

    #[test]
    fn package_serializes_with_go_omitempty_rules() {
        let p = Package {
            name: "curl".into(),
            current_version: "1".into(),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"{"name":"curl","currentVersion":"1","needsUpdate":false,"isSecurityUpdate":false}"#
        );
    }

    #[test]
    fn ping_response_matches_go_key_order() {
        let r = PingResponse {
            agent_startup: true,
            friendly_name: "web-01".into(),
            hash_gate: true,
            integrations: IntegrationFlags {
                compliance: false,
                docker: true,
            },
            message: "Ping successful".into(),
            request_full: vec!["packages".into()],
            timestamp: "2026-08-21T12:00:00Z".into(),
        };
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"agentStartup":true,"friendlyName":"web-01","hashGate":true,"integrations":{"compliance":false,"docker":true},"message":"Ping successful","requestFull":["packages"],"timestamp":"2026-08-21T12:00:00Z"}"#
        );
    }

    #[test]
    fn wrong_types_are_rejected() {
        assert!(serde_json::from_str::<ReportPayload>(r#"{"packages":"nope"}"#).is_err());
        assert!(serde_json::from_str::<ReportPayload>(r#"{"cpuCores":"four"}"#).is_err());
    }
}
