//! WebSocket messages, both directions. Text frames, one JSON object each,
//! discriminated by `type`.
//!
//! Parsing never fails on an unknown `type`: it yields `Unknown` carrying the
//! type name, so either side can log and ignore it. A known type with a
//! malformed body is an error.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::serde_util::null_default;

/// Why a frame could not be understood.
#[derive(Debug)]
pub enum ParseError {
    /// Not a JSON object with a string `type`.
    NotAMessage(String),
    /// A known message type whose fields do not decode.
    Malformed { kind: String, error: String },
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotAMessage(e) => write!(f, "not a message: {e}"),
            Self::Malformed { kind, error } => write!(f, "malformed {kind} message: {error}"),
        }
    }
}

impl std::error::Error for ParseError {}

/// `compliance.enabled` in `apply_config`: a bool or the string `on-demand`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ComplianceEnabled {
    Bool(bool),
    Mode(String),
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ComplianceConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<ComplianceEnabled>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub openscap_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub docker_bench_enabled: Option<bool>,
}

/// Body of `apply_config`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ApplyConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub docker: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compliance: Option<ComplianceConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compliance_openscap_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compliance_docker_bench_enabled: Option<bool>,
}

/// Server → agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    SettingsUpdate {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        update_interval: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        compliance_scan_interval: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        package_cache_refresh_mode: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        package_cache_refresh_max_age: Option<i64>,
    },
    ReportNow,
    UpdateAgent,
    RefreshIntegrationStatus,
    DockerInventoryRefresh,
    ApplyConfig {
        #[serde(default)]
        config: ApplyConfig,
    },
    ComplianceScan {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        profile_type: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        profile_id: Option<String>,
        #[serde(default)]
        enable_remediation: bool,
        #[serde(default)]
        fetch_remote_resources: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        openscap_enabled: Option<bool>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        docker_bench_enabled: Option<bool>,
    },
    ComplianceScanCancel,
    RemediateRule {
        #[serde(default, deserialize_with = "null_default")]
        rule_id: String,
    },
    InstallScanner,
    UpgradeSsg {
        #[serde(default, deserialize_with = "null_default")]
        version: String,
    },
    RunPatch {
        #[serde(default, deserialize_with = "null_default")]
        patch_run_id: String,
        #[serde(default, deserialize_with = "null_default")]
        patch_type: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        package_name: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        package_names: Option<Vec<String>>,
        #[serde(default)]
        dry_run: bool,
    },
    PatchRunStop {
        #[serde(default, deserialize_with = "null_default")]
        patch_run_id: String,
    },
    DockerImageScan {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        image_name: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        container_name: Option<String>,
        #[serde(default)]
        scan_all_images: bool,
    },
    SshProxy {
        #[serde(default, deserialize_with = "null_default")]
        session_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        host: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        port: Option<u16>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        username: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        password: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        private_key: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        passphrase: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        terminal: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cols: Option<u16>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rows: Option<u16>,
    },
    SshProxyInput {
        #[serde(default, deserialize_with = "null_default")]
        session_id: String,
        #[serde(default, deserialize_with = "null_default")]
        data: String,
    },
    SshProxyResize {
        #[serde(default, deserialize_with = "null_default")]
        session_id: String,
        #[serde(default)]
        cols: u16,
        #[serde(default)]
        rows: u16,
    },
    SshProxyDisconnect {
        #[serde(default, deserialize_with = "null_default")]
        session_id: String,
    },
    RdpProxy {
        #[serde(default, deserialize_with = "null_default")]
        session_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        host: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        port: Option<u16>,
    },
    RdpProxyInput {
        #[serde(default, deserialize_with = "null_default")]
        session_id: String,
        /// base64
        #[serde(default, deserialize_with = "null_default")]
        data: String,
    },
    RdpProxyDisconnect {
        #[serde(default, deserialize_with = "null_default")]
        session_id: String,
    },
    /// Legacy (PatchMon Node server, agents ≤ 2.0.2).
    IntegrationToggle {
        #[serde(default, deserialize_with = "null_default")]
        integration: String,
        #[serde(default)]
        enabled: bool,
    },
    /// Legacy.
    SetComplianceMode {
        #[serde(default, deserialize_with = "null_default")]
        mode: String,
    },
    /// Legacy.
    UpdateNotification {
        #[serde(default, deserialize_with = "null_default")]
        version: String,
        #[serde(default)]
        force: bool,
        #[serde(
            rename = "downloadUrl",
            default,
            skip_serializing_if = "Option::is_none"
        )]
        download_url: Option<String>,
        #[serde(default, deserialize_with = "null_default")]
        message: String,
    },
    /// Sent by PatchMon's Node server on connect; ignored.
    Connected,
    /// Our extension: the server's answer to an agent `hello`.
    Welcome {
        protocol_version: u32,
        server_version: String,
        #[serde(default)]
        capabilities: Vec<String>,
    },
    /// Any type this build does not know. Never serialised.
    #[serde(skip)]
    Unknown {
        kind: String,
    },
}

/// Agent → server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AgentMessage {
    DockerStatus {
        #[serde(default)]
        event: Value,
        #[serde(default, deserialize_with = "null_default")]
        container_id: String,
        #[serde(default, deserialize_with = "null_default")]
        name: String,
        #[serde(default, deserialize_with = "null_default")]
        status: String,
        #[serde(default)]
        timestamp: Value,
    },
    ComplianceScanProgress {
        #[serde(default, deserialize_with = "null_default")]
        phase: String,
        #[serde(default, deserialize_with = "null_default")]
        profile_name: String,
        #[serde(default, deserialize_with = "null_default")]
        message: String,
        #[serde(default)]
        progress: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        #[serde(default)]
        timestamp: Value,
    },
    SshProxyConnected {
        #[serde(default, deserialize_with = "null_default")]
        session_id: String,
    },
    SshProxyData {
        #[serde(default, deserialize_with = "null_default")]
        session_id: String,
        #[serde(default, deserialize_with = "null_default")]
        data: String,
    },
    SshProxyError {
        #[serde(default, deserialize_with = "null_default")]
        session_id: String,
        #[serde(default, deserialize_with = "null_default")]
        data: String,
        #[serde(default, deserialize_with = "null_default")]
        message: String,
    },
    SshProxyClosed {
        #[serde(default, deserialize_with = "null_default")]
        session_id: String,
    },
    RdpProxyConnected {
        #[serde(default, deserialize_with = "null_default")]
        session_id: String,
    },
    RdpProxyData {
        #[serde(default, deserialize_with = "null_default")]
        session_id: String,
        #[serde(default, deserialize_with = "null_default")]
        data: String,
    },
    RdpProxyError {
        #[serde(default, deserialize_with = "null_default")]
        session_id: String,
        #[serde(default, deserialize_with = "null_default")]
        message: String,
    },
    RdpProxyClosed {
        #[serde(default, deserialize_with = "null_default")]
        session_id: String,
    },
    /// Our extension: sent first by our agent; PatchMon's agent never sends it.
    Hello {
        protocol_version: u32,
        agent_version: String,
        #[serde(default)]
        capabilities: Vec<String>,
    },
    /// Our extension: the outcome of a server command.
    CommandResult {
        /// The `type` of the command this answers.
        command: String,
        /// `ok`, `error` or `unsupported`.
        status: String,
        #[serde(default, deserialize_with = "null_default")]
        message: String,
    },
    /// Any type this build does not know. Never serialised.
    #[serde(skip)]
    Unknown { kind: String },
}

/// Splits a frame into its `type` and the full object.
fn split(text: &str) -> Result<(String, Value), ParseError> {
    let v: Value =
        serde_json::from_str(text).map_err(|e| ParseError::NotAMessage(e.to_string()))?;
    let kind = v
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| ParseError::NotAMessage("missing string field \"type\"".into()))?
        .to_owned();
    Ok((kind, v))
}

macro_rules! parse_impl {
    ($ty:ident, [$($known:literal),* $(,)?]) => {
        impl $ty {
            /// Message types this build understands.
            pub const KNOWN_TYPES: &'static [&'static str] = &[$($known),*];

            /// Parses one text frame. Unknown types give `Unknown`, never an error.
            pub fn parse(text: &str) -> Result<Self, ParseError> {
                let (kind, value) = split(text)?;
                if !Self::KNOWN_TYPES.contains(&kind.as_str()) {
                    return Ok(Self::Unknown { kind });
                }
                serde_json::from_value(value).map_err(|e| ParseError::Malformed {
                    kind,
                    error: e.to_string(),
                })
            }

            /// The wire `type` of this message.
            pub fn kind(&self) -> String {
                match self {
                    Self::Unknown { kind } => kind.clone(),
                    other => serde_json::to_value(other)
                        .ok()
                        .and_then(|v| v.get("type").and_then(Value::as_str).map(str::to_owned))
                        .unwrap_or_default(),
                }
            }

            /// Serialises to one text frame.
            pub fn to_json(&self) -> String {
                serde_json::to_string(self).unwrap_or_default()
            }
        }
    };
}

parse_impl!(
    ServerMessage,
    [
        "settings_update",
        "report_now",
        "update_agent",
        "refresh_integration_status",
        "docker_inventory_refresh",
        "apply_config",
        "compliance_scan",
        "compliance_scan_cancel",
        "remediate_rule",
        "install_scanner",
        "upgrade_ssg",
        "run_patch",
        "patch_run_stop",
        "docker_image_scan",
        "ssh_proxy",
        "ssh_proxy_input",
        "ssh_proxy_resize",
        "ssh_proxy_disconnect",
        "rdp_proxy",
        "rdp_proxy_input",
        "rdp_proxy_disconnect",
        "integration_toggle",
        "set_compliance_mode",
        "update_notification",
        "connected",
        "welcome",
    ]
);

parse_impl!(
    AgentMessage,
    [
        "docker_status",
        "compliance_scan_progress",
        "ssh_proxy_connected",
        "ssh_proxy_data",
        "ssh_proxy_error",
        "ssh_proxy_closed",
        "rdp_proxy_connected",
        "rdp_proxy_data",
        "rdp_proxy_error",
        "rdp_proxy_closed",
        "hello",
        "command_result",
    ]
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_commands_round_trip() {
        assert_eq!(
            ServerMessage::ReportNow.to_json(),
            r#"{"type":"report_now"}"#
        );
        assert_eq!(
            ServerMessage::parse(r#"{"type":"report_now"}"#).unwrap(),
            ServerMessage::ReportNow
        );
    }

    #[test]
    fn settings_update_fields() {
        let m = ServerMessage::parse(
            r#"{"type":"settings_update","update_interval":30,"package_cache_refresh_mode":"if_stale"}"#,
        )
        .unwrap();
        assert_eq!(
            m,
            ServerMessage::SettingsUpdate {
                update_interval: Some(30),
                compliance_scan_interval: None,
                package_cache_refresh_mode: Some("if_stale".into()),
                package_cache_refresh_max_age: None,
            }
        );
        assert_eq!(m.kind(), "settings_update");
    }

    #[test]
    fn apply_config_accepts_bool_or_mode() {
        let m = ServerMessage::parse(
            r#"{"type":"apply_config","config":{"docker":true,"compliance":{"enabled":"on-demand","openscap_enabled":true}}}"#,
        )
        .unwrap();
        let ServerMessage::ApplyConfig { config } = m else {
            panic!("wrong variant")
        };
        assert_eq!(config.docker, Some(true));
        assert_eq!(
            config.compliance.unwrap().enabled,
            Some(ComplianceEnabled::Mode("on-demand".into()))
        );
    }

    #[test]
    fn unknown_types_are_values_not_errors() {
        let m = ServerMessage::parse(r#"{"type":"teleport","where":"mars"}"#).unwrap();
        assert_eq!(
            m,
            ServerMessage::Unknown {
                kind: "teleport".into()
            }
        );
        assert_eq!(m.kind(), "teleport");
        let a = AgentMessage::parse(r#"{"type":"brand_new","x":[1]}"#).unwrap();
        assert_eq!(
            a,
            AgentMessage::Unknown {
                kind: "brand_new".into()
            }
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(ServerMessage::parse("not json").is_err());
        assert!(ServerMessage::parse(r#"{"no_type":1}"#).is_err());
        assert!(ServerMessage::parse(r#"[1,2]"#).is_err());
        assert!(matches!(
            ServerMessage::parse(r#"{"type":"ssh_proxy_resize","cols":"wide"}"#),
            Err(ParseError::Malformed { .. })
        ));
    }

    #[test]
    fn ssh_proxy_data_is_raw_text() {
        let a =
            AgentMessage::parse(r#"{"type":"ssh_proxy_data","session_id":"ab","data":"ls\r\n"}"#)
                .unwrap();
        assert_eq!(
            a,
            AgentMessage::SshProxyData {
                session_id: "ab".into(),
                data: "ls\r\n".into()
            }
        );
    }
}
