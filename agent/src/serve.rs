//! `patchmon-agent serve`: the long-running service.
//!
//! Start-up follows PatchMon (§5.4): sync the update interval and the
//! integration flags into `config.yml`, persist the report offset, send an
//! empty-body ping, connect the WebSocket, send a full report. Then every
//! `update_interval` minutes — the first tick delayed by the offset, so a
//! fleet really is spread over the interval — a hash-gated check-in. Every
//! 24th tick and every `report_now` sends a full report. A full report that
//! cannot be delivered is spooled to disk and sent when the server is back.

use std::path::{Path, PathBuf};
use std::time::Duration;

use patchmon_protocol::{AgentMessage, ServerMessage};
use serde_json::json;
use serde_norway::Value as Yaml;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::client::{Api, ApiError};
use crate::collect::CollectOptions;
use crate::config::{ComplianceMode, Config, Credentials};
use crate::report::{self, AGENT_VERSION, PARTIAL_SECTIONS, Snapshot};
use crate::ws::{self, WsEvent, WsTarget};

/// Every this many ticks a full report is sent even when the hashes match.
pub const FULL_REPORT_EVERY: u64 = 24;

/// Overrides the tick period in seconds (for tests and debugging only).
pub const INTERVAL_OVERRIDE_ENV: &str = "PATCHMON_AGENT_INTERVAL_SECS";

const UNSUPPORTED: &str = "not supported by this agent version";

/// What the service loop should do after handling an event.
enum Flow {
    Continue,
    Restart,
}

pub struct Service {
    config: Config,
    creds: Credentials,
    api: Api,
    opts: CollectOptions,
    spool: PathBuf,
    interval: Duration,
    offset: Duration,
    ticks: u64,
    /// Last known reachability, for logging once per change.
    reachable: Option<bool>,
    to_ws: mpsc::UnboundedSender<AgentMessage>,
    /// Set when the binary was replaced by a self-update: restart into it.
    updated: bool,
}

/// The spool file for an undelivered report, next to `config.yml`.
pub fn spool_path(config_path: &Path) -> PathBuf {
    config_path
        .parent()
        .unwrap_or(Path::new("."))
        .join("spool")
        .join("report.json")
}

/// `(interval, first-tick offset)` from the configured minutes, or from the
/// override in seconds.
pub fn schedule(api_id: &str, interval_minutes: i64) -> (Duration, Duration) {
    if let Some(secs) = std::env::var(INTERVAL_OVERRIDE_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|s| *s > 0)
    {
        let off = patchmon_protocol::fnv1a64(api_id.as_bytes()) % secs;
        return (Duration::from_secs(secs), Duration::from_secs(off));
    }
    let minutes = interval_minutes.max(1) as u64;
    let off = patchmon_protocol::report_offset_secs(api_id, minutes);
    (Duration::from_secs(minutes * 60), Duration::from_secs(off))
}

/// Runs the service until SIGTERM/SIGINT. Returns `Ok(true)` when the agent
/// should restart itself (after `apply_config`).
pub async fn run(config_path: &Path) -> Result<bool, String> {
    let config = Config::load(config_path).map_err(|e| e.to_string())?;
    let settings = config.settings();
    if settings.patchmon_server.is_empty() {
        return Err(format!(
            "patchmon_server is not set in {}. Set it with: sudo patchmon-agent config set-api <API_ID> <API_KEY> <SERVER_URL>",
            config_path.display()
        ));
    }
    let creds = Credentials::load(&settings.credentials_file).map_err(|e| e.to_string())?;
    let api = Api::new(&settings, &creds, 2).map_err(|e| e.to_string())?;
    tracing::info!(
        "patchmon-agent {AGENT_VERSION} starting; server {}",
        api.server()
    );

    // Signals first, so a SIGTERM during the start-up calls is a clean stop too.
    let mut signals = Signals::new()?;
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel();
    let (out_tx, out_rx) = mpsc::unbounded_channel();

    let (interval, offset) = schedule(&creds.api_id, settings.update_interval);
    let mut svc = Service {
        opts: CollectOptions {
            cache_refresh: settings.package_cache_refresh_mode,
            cache_max_age_minutes: settings.package_cache_refresh_max_age,
        },
        spool: spool_path(config_path),
        config,
        creds,
        api,
        interval,
        offset,
        ticks: 0,
        reachable: None,
        to_ws: out_tx,
        updated: false,
    };
    tokio::select! {
        () = svc.startup_sync() => {}
        why = signals.recv() => {
            tracing::info!("{why} received during start-up, stopping");
            return Ok(false);
        }
    }

    let target = WsTarget {
        url: svc.api.ws_url(),
        api_id: svc.api.api_id().to_owned(),
        api_key: svc.api.api_key().to_owned(),
        tls: svc.api.tls.clone(),
    };
    let ws_task = tokio::spawn(ws::run(target, ev_tx, out_rx, shutdown_rx));

    // The initial full report; it also delivers (and so clears) any spool.
    let mut restart = false;
    let started = tokio::select! {
        _ = svc.full_report("startup") => true,
        why = signals.recv() => {
            tracing::info!("{why} received during the start-up report, shutting down");
            false
        }
    };
    let mut next_tick = Instant::now() + svc.offset;
    if svc.updated {
        restart = true;
    }
    if started && !restart {
        tracing::info!(
            "check-ins every {} s; first one in {} s (report offset)",
            svc.interval.as_secs(),
            svc.offset.as_secs()
        );
        loop {
            let flow = tokio::select! {
                why = signals.recv() => {
                    tracing::info!("{why} received, shutting down");
                    break;
                }
                () = tokio::time::sleep_until(next_tick) => {
                    next_tick = Instant::now() + svc.interval;
                    tokio::select! {
                        () = svc.check_in() => Flow::Continue,
                        why = signals.recv() => {
                            tracing::info!("{why} received during a check-in, shutting down");
                            break;
                        }
                    }
                }
                ev = ev_rx.recv() => {
                    let Some(ev) = ev else { break };
                    let before = svc.interval;
                    let flow = tokio::select! {
                        f = svc.handle(ev) => f,
                        why = signals.recv() => {
                            tracing::info!("{why} received, shutting down");
                            break;
                        }
                    };
                    if svc.interval != before {
                        next_tick = Instant::now() + svc.offset;
                    }
                    flow
                }
            };
            if matches!(flow, Flow::Restart) || svc.updated {
                restart = true;
                break;
            }
        }
    }
    let _ = shutdown_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(5), ws_task).await;
    tracing::info!("patchmon-agent stopped");
    Ok(restart)
}

/// SIGTERM and SIGINT.
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> Result<Self, String> {
        use tokio::signal::unix::{SignalKind, signal};
        let err = |e: std::io::Error| format!("cannot install signal handler: {e}");
        Ok(Self {
            term: signal(SignalKind::terminate()).map_err(err)?,
            int: signal(SignalKind::interrupt()).map_err(err)?,
        })
    }

    /// Waits for either; returns its name.
    async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.int.recv() => "SIGINT",
        }
    }
}

impl Service {
    /// Steps 2–5 of PatchMon's start-up. Failures are logged, never fatal:
    /// the agent keeps running and retries through the normal loop.
    async fn startup_sync(&mut self) {
        let mut changed = false;
        match self.api.update_interval().await {
            Ok(v) if v > 0 => {
                if self.config.file.set("update_interval", Yaml::from(v)) {
                    tracing::info!("update interval set to {v} minutes by the server");
                    changed = true;
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!("could not fetch the update interval: {e}"),
        }
        match self.api.integrations().await {
            Ok(r) if r.success => {
                changed |= self.config.file.set_nested(
                    "integrations",
                    "docker",
                    Yaml::Bool(r.integrations.docker),
                );
                let mode = ComplianceMode::parse(&r.compliance_mode);
                let current = self.config.settings().compliance;
                let want = if r.integrations.compliance {
                    mode
                } else {
                    ComplianceMode::Disabled
                };
                if current != want {
                    changed |= self.config.set_compliance(
                        Some(want),
                        Some(r.compliance_openscap_enabled),
                        Some(r.compliance_docker_bench_enabled),
                    );
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!("could not fetch the integration states: {e}"),
        }
        let s = self.config.settings();
        let (interval, offset) = schedule(&self.creds.api_id, s.update_interval);
        self.interval = interval;
        self.offset = offset;
        changed |= self
            .config
            .file
            .set("report_offset", Yaml::from(offset.as_secs() as i64));
        if changed {
            self.save_config();
        }
        match self.api.ping(None).await {
            Ok(_) => self.set_reachable(true, None),
            Err(e) => self.set_reachable(false, Some(&e)),
        }
        // PatchMon reports the integrations' state at start-up; ours can only
        // say that the enabled ones cannot run in this version.
        self.post_integration_status().await;
    }

    /// Re-reads config.yml before changing it, so edits made by hand since
    /// start-up (say `ssh-proxy-enabled`) are never reverted by a server message.
    fn reload_config(&mut self) {
        match Config::load(self.config.path()) {
            Ok(c) => self.config = c,
            Err(e) => tracing::warn!("{e}; keeping the configuration loaded at start-up"),
        }
    }

    fn save_config(&self) {
        if let Err(e) = self.config.save() {
            tracing::error!("{e}");
        }
    }

    fn set_reachable(&mut self, ok: bool, err: Option<&ApiError>) {
        match (self.reachable, ok) {
            (Some(false), true) => {
                tracing::info!("server {} is reachable again", self.api.server())
            }
            (_, false) if self.reachable != Some(false) => {
                let why = err.map(|e| e.to_string()).unwrap_or_default();
                tracing::warn!(
                    "server unreachable: {why} (further failures are logged at debug level until it recovers)"
                );
            }
            (_, false) => tracing::debug!(
                "server still unreachable: {}",
                err.map(|e| e.to_string()).unwrap_or_default()
            ),
            _ => {}
        }
        self.reachable = Some(ok);
    }

    async fn collect(&self) -> Option<Snapshot> {
        let opts = self.opts.clone();
        match tokio::task::spawn_blocking(move || report::collect_full(&opts)).await {
            Ok(Ok(s)) => Some(s),
            Ok(Err(e)) => {
                tracing::error!("collection failed, no report sent: {e}");
                None
            }
            Err(e) => {
                tracing::error!("collection task failed: {e}");
                None
            }
        }
    }

    /// Collects and sends a full report; spools it when the server is unreachable.
    async fn full_report(&mut self, why: &str) -> Result<(), String> {
        let Some(snap) = self.collect().await else {
            return Err("collection failed".into());
        };
        self.send_full(&snap, why).await
    }

    async fn send_full(&mut self, snap: &Snapshot, why: &str) -> Result<(), String> {
        match self.api.send_report(&snap.payload).await {
            Ok(r) => {
                self.set_reachable(true, None);
                tracing::info!(
                    "full report sent ({why}): {} packages, {} updates, {} security",
                    r.packages_processed,
                    r.updates_available,
                    r.security_updates
                );
                self.clear_spool();
                self.after_full_report().await;
                Ok(())
            }
            Err(e) if e.is_transient() => {
                self.set_reachable(false, Some(&e));
                self.write_spool(snap);
                Err(e.to_string())
            }
            Err(e) => {
                tracing::error!("the server rejected the report ({why}): {e}");
                Err(e.to_string())
            }
        }
    }

    /// PatchMon checks for a new agent version after each full report and
    /// installs it when the server says `hasUpdate` (auto-update on at the
    /// server and for this host).
    async fn after_full_report(&mut self) {
        let _ = self.self_update(true).await;
    }

    /// Runs a self-update; true when the binary was replaced (the service
    /// then restarts into it).
    async fn self_update(&mut self, automatic: bool) -> Result<bool, String> {
        let exe = crate::update::current_exe()
            .map_err(|e| format!("cannot find this program's path: {e}"))?;
        let state_dir = self
            .config
            .path()
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        match crate::update::update(&self.api, &exe, &state_dir, automatic).await {
            Ok(crate::update::Outcome::Updated { from, to }) => {
                tracing::info!("updated from {from} to {to}; restarting into the new binary");
                self.updated = true;
                Ok(true)
            }
            Ok(crate::update::Outcome::UpToDate { reason, .. }) => {
                tracing::debug!("no agent update: {reason}");
                Ok(false)
            }
            Err(crate::update::UpdateError::NoBinary(_)) if automatic => Ok(false),
            Err(e) => {
                if automatic {
                    tracing::warn!("automatic update failed: {e}");
                } else {
                    tracing::error!("update failed: {e}");
                }
                Err(e.to_string())
            }
        }
    }

    fn write_spool(&self, snap: &Snapshot) {
        let data = match serde_json::to_vec(&snap.payload) {
            Ok(d) => d,
            Err(e) => return tracing::error!("cannot encode the report for the spool: {e}"),
        };
        match crate::config::write_atomic(&self.spool, &data) {
            Ok(()) => tracing::info!(
                "report spooled to {}; it will be sent when the server is reachable",
                self.spool.display()
            ),
            Err(e) => tracing::error!("cannot spool the report to {}: {e}", self.spool.display()),
        }
    }

    fn clear_spool(&self) {
        match std::fs::remove_file(&self.spool) {
            Ok(()) => tracing::debug!("spool cleared"),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!("cannot remove {}: {e}", self.spool.display()),
        }
    }

    /// Sends the spooled report, if any.
    async fn flush_spool(&mut self) {
        let Ok(bytes) = std::fs::read(&self.spool) else {
            return;
        };
        let json: serde_json::Value = match serde_json::from_slice(&bytes) {
            Ok(j) => j,
            Err(e) => {
                tracing::warn!("discarding an unreadable spool file: {e}");
                self.clear_spool();
                return;
            }
        };
        match self.api.send_report_raw(&json).await {
            Ok(r) => {
                self.set_reachable(true, None);
                tracing::info!(
                    "spooled report delivered: {} packages",
                    r.packages_processed
                );
                self.clear_spool();
            }
            Err(e) if e.is_transient() => self.set_reachable(false, Some(&e)),
            Err(e) => {
                tracing::error!("the server rejected the spooled report, discarding it: {e}");
                self.clear_spool();
            }
        }
    }

    /// The periodic hash-gated check-in.
    async fn check_in(&mut self) {
        self.ticks += 1;
        let Some(snap) = self.collect().await else {
            return;
        };
        if self.ticks.is_multiple_of(FULL_REPORT_EVERY) {
            let _ = self.send_full(&snap, "every 24th check-in").await;
            return;
        }
        let resp = match self.api.ping(Some(&snap.ping_body())).await {
            Ok(r) => r,
            Err(e) if e.is_transient() => {
                self.set_reachable(false, Some(&e));
                self.write_spool(&snap);
                return;
            }
            Err(e) => {
                tracing::error!("check-in rejected: {e}");
                return;
            }
        };
        self.set_reachable(true, None);
        if self.spool.exists() {
            // The server missed a full report while it was away: send a fresh one.
            let _ = self.send_full(&snap, "server back after an outage").await;
            return;
        }
        if !resp.hash_gate {
            let _ = self
                .send_full(&snap, "server without hash-gated check-in")
                .await;
            return;
        }
        let sections: Vec<String> = resp
            .request_full
            .iter()
            .filter(|s| PARTIAL_SECTIONS.contains(&s.as_str()))
            .cloned()
            .collect();
        for other in resp
            .request_full
            .iter()
            .filter(|s| !PARTIAL_SECTIONS.contains(&s.as_str()))
        {
            tracing::debug!("server asked for the {other} section: {UNSUPPORTED}");
        }
        if sections.is_empty() {
            tracing::debug!("check-in: nothing changed");
            return;
        }
        match self.api.send_report(&snap.partial(&sections)).await {
            Ok(_) => tracing::info!("partial report sent: {}", sections.join(", ")),
            Err(e) => {
                tracing::warn!("partial report failed ({e}); sending a full report instead");
                let _ = self.send_full(&snap, "partial report failed").await;
            }
        }
    }

    fn reply(&self, command: &str, status: &str, message: impl Into<String>) {
        let _ = self.to_ws.send(AgentMessage::CommandResult {
            command: command.to_owned(),
            status: status.to_owned(),
            message: message.into(),
        });
    }

    fn unsupported(&self, command: &str) {
        tracing::info!("server command {command}: {UNSUPPORTED}");
        self.reply(
            command,
            "unsupported",
            format!("{command} is {UNSUPPORTED} (patchmon-agent {AGENT_VERSION})"),
        );
    }

    async fn handle(&mut self, ev: WsEvent) -> Flow {
        let msg = match ev {
            WsEvent::Connected => {
                self.flush_spool().await;
                return Flow::Continue;
            }
            WsEvent::Disconnected => return Flow::Continue,
            WsEvent::Message(m) => m,
        };
        let kind = msg.kind();
        tracing::debug!("server command: {kind}");
        match msg {
            ServerMessage::ReportNow => match self.full_report("report_now").await {
                Ok(()) => self.reply(&kind, "ok", "report sent"),
                Err(e) => self.reply(&kind, "error", e),
            },
            ServerMessage::SettingsUpdate {
                update_interval,
                package_cache_refresh_mode,
                package_cache_refresh_max_age,
                compliance_scan_interval,
            } => {
                self.reload_config();
                let mut changed = false;
                if let Some(v) = update_interval.filter(|v| *v > 0) {
                    changed |= self.config.file.set("update_interval", Yaml::from(v));
                    let (interval, offset) = schedule(&self.creds.api_id, v);
                    self.interval = interval;
                    self.offset = offset;
                    changed |= self
                        .config
                        .file
                        .set("report_offset", Yaml::from(offset.as_secs() as i64));
                }
                if let Some(m) = package_cache_refresh_mode {
                    changed |= self
                        .config
                        .file
                        .set("package_cache_refresh_mode", Yaml::String(m.clone()));
                    self.opts.cache_refresh = crate::config::CacheRefresh::parse(&m);
                }
                if let Some(v) = package_cache_refresh_max_age.filter(|v| *v > 0) {
                    changed |= self
                        .config
                        .file
                        .set("package_cache_refresh_max_age", Yaml::from(v));
                    self.opts.cache_max_age_minutes = v;
                }
                if let Some(v) = compliance_scan_interval.filter(|v| *v > 0)
                    && self
                        .config
                        .file
                        .get("integrations")
                        .and_then(|i| i.get("compliance"))
                        .is_some_and(Yaml::is_mapping)
                {
                    let mut c = self
                        .config
                        .file
                        .get("integrations")
                        .and_then(|i| i.get("compliance"))
                        .cloned()
                        .unwrap_or(Yaml::Null);
                    if let Yaml::Mapping(m) = &mut c {
                        m.insert("scan_interval".into(), Yaml::from(v));
                    }
                    changed |= self.config.file.set_nested("integrations", "compliance", c);
                }
                if changed {
                    self.save_config();
                    tracing::info!(
                        "settings updated by the server (interval {} s)",
                        self.interval.as_secs()
                    );
                }
                self.reply(&kind, "ok", "settings saved");
            }
            ServerMessage::RefreshIntegrationStatus => {
                self.post_integration_status().await;
                self.reply(&kind, "ok", "integration status sent");
            }
            ServerMessage::ApplyConfig { config } => {
                self.reload_config();
                if let Some(d) = config.docker {
                    self.config
                        .file
                        .set_nested("integrations", "docker", Yaml::Bool(d));
                }
                let mode = config
                    .compliance
                    .as_ref()
                    .and_then(|c| c.enabled.as_ref())
                    .map(|e| match e {
                        patchmon_protocol::messages::ComplianceEnabled::Bool(true) => {
                            ComplianceMode::Enabled
                        }
                        patchmon_protocol::messages::ComplianceEnabled::Bool(false) => {
                            ComplianceMode::Disabled
                        }
                        patchmon_protocol::messages::ComplianceEnabled::Mode(m) => {
                            ComplianceMode::parse(m)
                        }
                    });
                let openscap = config
                    .compliance
                    .as_ref()
                    .and_then(|c| c.openscap_enabled)
                    .or(config.compliance_openscap_enabled);
                let bench = config
                    .compliance
                    .as_ref()
                    .and_then(|c| c.docker_bench_enabled)
                    .or(config.compliance_docker_bench_enabled);
                if mode.is_some() || openscap.is_some() || bench.is_some() {
                    self.config.set_compliance(mode, openscap, bench);
                }
                match self.config.save() {
                    Ok(()) => {
                        self.reply(&kind, "ok", "configuration saved; restarting");
                        tracing::info!("configuration applied by the server; restarting");
                        // Give the WebSocket task a moment to send the reply.
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        return Flow::Restart;
                    }
                    Err(e) => {
                        tracing::error!("{e}");
                        self.reply(&kind, "error", e.to_string());
                    }
                }
            }
            ServerMessage::IntegrationToggle {
                integration,
                enabled,
            } => {
                self.reload_config();
                match integration.as_str() {
                    "docker" => {
                        self.config
                            .file
                            .set_nested("integrations", "docker", Yaml::Bool(enabled));
                    }
                    "compliance" => {
                        self.config.set_compliance(
                            Some(if enabled {
                                ComplianceMode::Enabled
                            } else {
                                ComplianceMode::Disabled
                            }),
                            None,
                            None,
                        );
                    }
                    other => {
                        // Never let the server switch ssh-proxy-enabled (or anything else).
                        tracing::warn!("ignoring integration_toggle for {other:?}");
                        self.reply(
                            &kind,
                            "error",
                            format!("integration {other:?} cannot be toggled by the server"),
                        );
                        return Flow::Continue;
                    }
                }
                self.save_config();
                self.reply(&kind, "ok", "saved");
            }
            ServerMessage::SetComplianceMode { mode } => {
                self.reload_config();
                self.config
                    .set_compliance(Some(ComplianceMode::parse(&mode)), None, None);
                self.save_config();
                self.reply(&kind, "ok", "saved");
            }
            ServerMessage::UpdateNotification { version, force, .. } => {
                tracing::info!("server announces agent version {version}");
                if force {
                    self.unsupported("update_notification");
                }
            }
            ServerMessage::SshProxy { session_id, .. } => {
                let text = format!("SSH proxy is {UNSUPPORTED} (patchmon-agent {AGENT_VERSION})");
                let _ = self.to_ws.send(AgentMessage::SshProxyError {
                    session_id,
                    data: text.clone(),
                    message: text,
                });
                self.unsupported(&kind);
            }
            ServerMessage::RdpProxy { session_id, .. } => {
                let message =
                    format!("RDP proxy is {UNSUPPORTED} (patchmon-agent {AGENT_VERSION})");
                let _ = self.to_ws.send(AgentMessage::RdpProxyError {
                    session_id,
                    message,
                });
                self.unsupported(&kind);
            }
            // Follow-ups of a session we never opened: nothing to answer.
            ServerMessage::SshProxyInput { .. }
            | ServerMessage::SshProxyResize { .. }
            | ServerMessage::SshProxyDisconnect { .. }
            | ServerMessage::RdpProxyInput { .. }
            | ServerMessage::RdpProxyDisconnect { .. } => {}
            ServerMessage::RunPatch { patch_run_id, .. } => {
                if !patch_run_id.is_empty() {
                    let body = json!({"stage": "failed", "error_message": format!("patching is {UNSUPPORTED} (patchmon-agent {AGENT_VERSION})")});
                    if let Err(e) = self.api.patch_output(&patch_run_id, &body).await {
                        tracing::debug!("could not report the patch run as failed: {e}");
                    }
                }
                self.unsupported(&kind);
            }
            ServerMessage::UpdateAgent => match self.self_update(false).await {
                Ok(true) => {
                    self.reply(&kind, "ok", "agent updated; restarting");
                    // Give the WebSocket task a moment to send the reply.
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    return Flow::Restart;
                }
                Ok(false) => self.reply(&kind, "ok", "already up to date"),
                Err(e) => self.reply(&kind, "error", e),
            },
            ServerMessage::DockerInventoryRefresh
            | ServerMessage::ComplianceScan { .. }
            | ServerMessage::ComplianceScanCancel
            | ServerMessage::RemediateRule { .. }
            | ServerMessage::InstallScanner
            | ServerMessage::UpgradeSsg { .. }
            | ServerMessage::PatchRunStop { .. }
            | ServerMessage::DockerImageScan { .. } => self.unsupported(&kind),
            ServerMessage::Connected => tracing::debug!("server greeting received"),
            ServerMessage::Welcome {
                protocol_version,
                server_version,
                capabilities,
            } => {
                tracing::debug!(
                    "server {server_version}, protocol {protocol_version}, capabilities {capabilities:?}"
                );
            }
            ServerMessage::Unknown { kind } => {
                tracing::warn!("ignoring unknown server message type {kind:?}")
            }
        }
        Flow::Continue
    }

    /// Tells the server the state of the integrations this agent is asked to
    /// run: enabled ones cannot run in this version.
    async fn post_integration_status(&mut self) {
        self.reload_config();
        let s = self.config.settings();
        let wanted = [
            ("docker", s.docker),
            ("compliance", s.compliance != ComplianceMode::Disabled),
        ];
        for (name, enabled) in wanted {
            if !enabled {
                continue;
            }
            let body = json!({
                "integration": name,
                "enabled": enabled,
                "status": "error",
                "message": format!("the {name} integration is {UNSUPPORTED} (patchmon-agent {AGENT_VERSION})"),
            });
            if let Err(e) = self.api.integration_status(&body).await {
                tracing::debug!("integration status for {name} not delivered: {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_applies_patchmons_offset_and_spool_sits_next_to_the_config() {
        // The override variable is not set in unit tests.
        assert!(std::env::var(INTERVAL_OVERRIDE_ENV).is_err());
        let id = "patchmon_1a2b3c4d5e6f7a8b";
        let (interval, offset) = schedule(id, 60);
        assert_eq!(interval, Duration::from_secs(3600));
        assert_eq!(
            offset.as_secs(),
            patchmon_protocol::report_offset_secs(id, 60)
        );
        assert!(offset < interval);
        let (interval, offset) = schedule(id, 5);
        assert_eq!(interval, Duration::from_secs(300));
        assert!(offset < interval);
        // Nonsense intervals fall back to one minute instead of a busy loop.
        assert_eq!(schedule(id, 0).0, Duration::from_secs(60));
        assert_eq!(
            spool_path(Path::new("/etc/patchmon/config.yml")),
            PathBuf::from("/etc/patchmon/spool/report.json")
        );
    }
}
