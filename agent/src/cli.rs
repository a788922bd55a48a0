//! The command line, compatible with PatchMon's agent.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::client::Api;
use crate::collect::CollectOptions;
use crate::config::{self, Config, Credentials};
use crate::report::{self, AGENT_VERSION};
use crate::{logging, serve, system};

#[derive(Debug, Parser)]
#[command(
    name = "patchmon-agent",
    about = "PatchMon agent: reports this host's packages and system facts to a PatchMon server",
    disable_version_flag = true
)]
pub struct Cli {
    /// Path to config.yml.
    #[arg(long, global = true, default_value = config::DEFAULT_CONFIG_PATH)]
    pub config: PathBuf,
    /// Log level: debug, info, warn or error (overrides log_level in config.yml).
    #[arg(long, global = true)]
    pub log_level: Option<String>,
    /// Print the version and exit.
    #[arg(long)]
    pub version: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run as a service: WebSocket, periodic check-ins, server commands.
    Serve,
    /// Collect and send a full report (or print it with --json).
    Report {
        /// Print the report as JSON instead of sending it (needs no credentials).
        #[arg(long)]
        json: bool,
    },
    /// Test connectivity and credentials.
    Ping,
    /// Show system, agent, configuration and connectivity diagnostics.
    Diagnostics,
    /// Show or change the configuration.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Ask the server whether a newer agent is available.
    CheckVersion,
    /// Download, verify (SHA-256) and install the newest agent the server offers.
    UpdateAgent,
    /// Print the version.
    Version,
}

#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Print the configuration (the API key is never shown).
    Show,
    /// Save the API credentials and server URL, then test them.
    SetApi {
        api_id: String,
        api_key: String,
        server_url: String,
    },
}

pub fn version_line() -> String {
    format!("patchmon-agent version {AGENT_VERSION}")
}

/// Effective uid from `/proc/self/status` (no libc needed), else `id -u`.
pub fn is_root() -> bool {
    if let Ok(s) = std::fs::read_to_string("/proc/self/status")
        && let Some(line) = s.lines().find(|l| l.starts_with("Uid:"))
    {
        return line.split_whitespace().nth(2) == Some("0");
    }
    crate::util::run("id", &["-u"], crate::util::CMD_TIMEOUT)
        .map(|o| o.stdout.trim() == "0")
        .unwrap_or(false)
}

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("Error: {msg}");
    ExitCode::FAILURE
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> ExitCode {
    if cli.version {
        println!("{}", version_line());
        return ExitCode::SUCCESS;
    }
    let Some(command) = cli.command else {
        // Like PatchMon's agent: no command prints the help.
        let _ = <Cli as clap::CommandFactory>::command().print_help();
        println!();
        return ExitCode::SUCCESS;
    };
    let needs_root = !matches!(
        command,
        Command::Version
            | Command::Config {
                action: ConfigAction::Show
            }
            | Command::Report { json: true }
    );
    if needs_root && !is_root() {
        return fail("this command must be run as root (try: sudo patchmon-agent ...)");
    }

    // Logging: the configured level to the file; one-shot commands print
    // only warnings on stderr so their own output stays readable.
    let cfg = Config::load_or_default(&cli.config).ok();
    let settings = cfg.as_ref().map(Config::settings);
    let level = logging::parse_level(
        cli.log_level
            .as_deref()
            .or(settings.as_ref().map(|s| s.log_level.as_str()))
            .unwrap_or("info"),
    );
    let stderr_level = match command {
        Command::Serve => level,
        _ => level.min(tracing::level_filters::LevelFilter::WARN),
    };
    let log_file = match command {
        Command::Serve
        | Command::Report { json: false }
        | Command::Ping
        | Command::Config {
            action: ConfigAction::SetApi { .. },
        } => settings
            .as_ref()
            .filter(|_| cfg.as_ref().is_some_and(|c| c.exists))
            .map(|s| s.log_file.clone()),
        _ => None,
    };
    logging::init(level, stderr_level, log_file.as_deref());

    match command {
        Command::Version => {
            println!("{}", version_line());
            ExitCode::SUCCESS
        }
        Command::Report { json: true } => report_json(cfg.as_ref()),
        Command::Config {
            action: ConfigAction::Show,
        } => config_show(&cli.config),
        other => block_on(async_command(other, &cli.config)),
    }
}

fn block_on(fut: impl std::future::Future<Output = ExitCode>) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(format!("cannot start the async runtime: {e}")),
    };
    let code = rt.block_on(fut);
    // Do not wait for a collection still running on a blocking thread.
    rt.shutdown_timeout(std::time::Duration::from_secs(2));
    code
}

fn collect_options(cfg: Option<&Config>) -> CollectOptions {
    let s = cfg.map(Config::settings);
    CollectOptions {
        cache_refresh: s
            .as_ref()
            .map(|s| s.package_cache_refresh_mode)
            .unwrap_or(config::CacheRefresh::IfStale),
        cache_max_age_minutes: s
            .as_ref()
            .map(|s| s.package_cache_refresh_max_age)
            .unwrap_or(60),
    }
}

fn report_json(cfg: Option<&Config>) -> ExitCode {
    match report::collect_full(&collect_options(cfg)) {
        Ok(snap) => match serde_json::to_string_pretty(&snap.payload) {
            Ok(s) => {
                println!("{s}");
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        },
        Err(e) => fail(format!("collection failed: {e}")),
    }
}

fn config_show(path: &Path) -> ExitCode {
    let cfg = match Config::load(path) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let s = cfg.settings();
    println!("Configuration:");
    println!(
        "  Server: {}",
        if s.patchmon_server.is_empty() {
            "(not set)"
        } else {
            &s.patchmon_server
        }
    );
    println!("  Agent Version: {AGENT_VERSION}");
    println!("  Config File: {}", path.display());
    println!("  Credentials File: {}", s.credentials_file.display());
    println!("  Log File: {}", s.log_file.display());
    println!("  Log Level: {}", s.log_level);
    println!("  Update Interval: {} minutes", s.update_interval);
    println!("  Report Offset: {} seconds", s.report_offset);
    println!("  Skip SSL Verify: {}", s.skip_ssl_verify);
    println!(
        "  Integrations: docker={}, compliance={}, ssh-proxy-enabled={}",
        s.docker,
        s.compliance.as_str(),
        s.ssh_proxy_enabled
    );
    println!();
    println!("Credentials:");
    match Credentials::load(&s.credentials_file) {
        Ok(c) => {
            println!("  API ID: {}", c.api_id);
            println!("  API Key: Set ✅");
        }
        Err(e) => println!("  ❌ {e}"),
    }
    ExitCode::SUCCESS
}

/// Loads config, credentials and an API client, with helpful errors.
fn load_api(path: &Path) -> Result<(Config, Api), String> {
    let cfg = Config::load(path).map_err(|e| e.to_string())?;
    let s = cfg.settings();
    if s.patchmon_server.is_empty() {
        return Err(format!(
            "patchmon_server is not set in {}. Set it with: sudo patchmon-agent config set-api <API_ID> <API_KEY> <SERVER_URL>",
            path.display()
        ));
    }
    let creds = Credentials::load(&s.credentials_file).map_err(|e| e.to_string())?;
    let api = Api::new(&s, &creds, 0).map_err(|e| e.to_string())?;
    Ok((cfg, api))
}

async fn async_command(command: Command, path: &Path) -> ExitCode {
    match command {
        Command::Serve => match serve::run(path).await {
            Ok(true) => restart_self(),
            Ok(false) => ExitCode::SUCCESS,
            Err(e) => fail(e),
        },
        Command::Report { .. } => {
            let (cfg, api) = match load_api(path) {
                Ok(x) => x,
                Err(e) => return fail(e),
            };
            let opts = collect_options(Some(&cfg));
            let snap = match tokio::task::spawn_blocking(move || report::collect_full(&opts)).await
            {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => return fail(format!("collection failed: {e}")),
                Err(e) => return fail(e),
            };
            match api.send_report(&snap.payload).await {
                Ok(r) => {
                    tracing::info!("report sent: {} packages", r.packages_processed);
                    println!(
                        "✅ Report sent successfully: {} packages ({} updates, {} security updates)",
                        r.packages_processed, r.updates_available, r.security_updates
                    );
                    ExitCode::SUCCESS
                }
                Err(e) if e.is_transient() => {
                    // Keep it for `serve`, which sends the spool when the server is back.
                    let spool = serve::spool_path(path);
                    match serde_json::to_vec(&snap.payload)
                        .map_err(|e| e.to_string())
                        .and_then(|d| config::write_atomic(&spool, &d).map_err(|e| e.to_string()))
                    {
                        Ok(()) => fail(format!(
                            "failed to send the report: {e}. It was saved to {} and the agent service will send it when the server is reachable",
                            spool.display()
                        )),
                        Err(w) => fail(format!(
                            "failed to send the report: {e} (and it could not be saved: {w})"
                        )),
                    }
                }
                Err(e) => fail(format!("failed to send the report: {e}")),
            }
        }
        Command::Ping => {
            let (_, api) = match load_api(path) {
                Ok(x) => x,
                Err(e) => return fail(e),
            };
            ping(&api).await
        }
        Command::Config {
            action:
                ConfigAction::SetApi {
                    api_id,
                    api_key,
                    server_url,
                },
        } => set_api(path, &api_id, &api_key, &server_url).await,
        Command::CheckVersion => {
            let (_, api) = match load_api(path) {
                Ok(x) => x,
                Err(e) => return fail(e),
            };
            match api.agent_version().await {
                Ok(v) => {
                    println!("Current version: {AGENT_VERSION}");
                    println!(
                        "Latest version:  {}",
                        v.latest_version.as_deref().unwrap_or("unknown")
                    );
                    let newer = v
                        .latest_version
                        .as_deref()
                        .is_some_and(|l| patchmon_protocol::version::is_newer(l, AGENT_VERSION));
                    if v.has_update {
                        println!(
                            "An update is available; the service installs it after its next full report, or run: patchmon-agent update-agent"
                        );
                    } else if newer {
                        println!(
                            "A newer version is available (automatic updates: {}); install it with: patchmon-agent update-agent",
                            if v.auto_update_disabled_reason.is_empty() {
                                "off"
                            } else {
                                &v.auto_update_disabled_reason
                            }
                        );
                    } else {
                        println!("No update available.");
                    }
                    ExitCode::SUCCESS
                }
                Err(crate::client::ApiError::Status { status: 404, .. }) => {
                    println!("Current version: {AGENT_VERSION}");
                    println!(
                        "No update available (the server has no agent build for this platform)."
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => fail(format!("version check failed: {e}")),
            }
        }
        Command::UpdateAgent => {
            let (_, api) = match load_api(path) {
                Ok(x) => x,
                Err(e) => return fail(e),
            };
            let exe = match crate::update::current_exe() {
                Ok(p) => p,
                Err(e) => return fail(format!("cannot find this program's path: {e}")),
            };
            let state_dir = path
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            match crate::update::update(&api, &exe, state_dir, false).await {
                Ok(crate::update::Outcome::Updated { from, to }) => {
                    println!(
                        "✅ patchmon-agent updated from {from} to {to} ({})",
                        exe.display()
                    );
                    println!(
                        "Restart the service to run it: systemctl restart patchmon-agent (or rc-service patchmon-agent restart)"
                    );
                    ExitCode::SUCCESS
                }
                Ok(crate::update::Outcome::UpToDate { reason, .. }) => {
                    println!("No update available: {reason}.");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(format!("update failed: {e}")),
            }
        }
        Command::Diagnostics => diagnostics(path).await,
        Command::Version
        | Command::Config {
            action: ConfigAction::Show,
        } => ExitCode::SUCCESS,
    }
}

async fn ping(api: &Api) -> ExitCode {
    match api.ping(None).await {
        Ok(_) => {
            println!("✅ API credentials are valid");
            println!("✅ Connectivity test successful");
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("❌ Connectivity test failed");
            fail(format!("connectivity test failed: {e}"))
        }
    }
}

async fn set_api(path: &Path, api_id: &str, api_key: &str, server_url: &str) -> ExitCode {
    let api_id = api_id.trim();
    let api_key = api_key.trim();
    if api_id.is_empty() || api_id.contains(char::is_whitespace) {
        return fail("API ID must be a non-empty value without spaces");
    }
    if api_key.is_empty() || api_key.contains(char::is_whitespace) {
        return fail("API key must be a non-empty value without spaces");
    }
    let url = match config::validate_server_url(server_url) {
        Ok(u) => u,
        Err(e) => return fail(e),
    };
    let mut cfg = match Config::load_or_default(path) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    use serde_norway::Value as Y;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    cfg.file.set("patchmon_server", Y::String(url));
    let defaults: [(&str, Y); 6] = [
        ("api_version", Y::String("v1".into())),
        (
            "credentials_file",
            Y::String(dir.join("credentials.yml").display().to_string()),
        ),
        (
            "log_file",
            Y::String(
                dir.join("logs")
                    .join("patchmon-agent.log")
                    .display()
                    .to_string(),
            ),
        ),
        ("log_level", Y::String("info".into())),
        ("skip_ssl_verify", Y::Bool(false)),
        ("update_interval", Y::from(config::DEFAULT_UPDATE_INTERVAL)),
    ];
    for (k, v) in defaults {
        if cfg.file.get(k).is_none() {
            cfg.file.set(k, v);
        }
    }
    if cfg.file.get("integrations").is_none() {
        cfg.file
            .set_nested("integrations", "docker", Y::Bool(false));
        cfg.file
            .set_nested("integrations", "compliance", Y::String("on-demand".into()));
        cfg.file
            .set_nested("integrations", "ssh-proxy-enabled", Y::Bool(false));
    }
    if let Err(e) = cfg.save() {
        return fail(e);
    }
    let s = cfg.settings();
    let creds = Credentials {
        api_id: api_id.to_owned(),
        api_key: api_key.to_owned(),
    };
    if let Err(e) = creds.save(&s.credentials_file) {
        return fail(e);
    }
    println!("✅ Configuration saved to {}", path.display());
    println!("✅ Credentials saved to {}", s.credentials_file.display());
    let api = match Api::new(&s, &creds, 0) {
        Ok(a) => a,
        Err(e) => return fail(e),
    };
    ping(&api).await
}

async fn diagnostics(path: &Path) -> ExitCode {
    let (os_type, os_version) = system::os_type_version();
    let host = system::hostname();
    println!("PatchMon Agent Diagnostics v{AGENT_VERSION}");
    println!();
    println!("System Information:");
    println!("  OS: {os_type} {os_version}");
    println!("  Architecture: {}", system::architecture());
    println!("  Kernel: {}", system::kernel_release());
    println!("  Hostname: {host}");
    println!("  Machine ID: {}", system::machine_id(&host));
    println!(
        "  Package manager: {}",
        crate::collect::detect()
            .map(|m| m.name())
            .unwrap_or("none found")
    );
    println!();
    let cfg = Config::load_or_default(path).ok();
    let s = cfg.as_ref().map(Config::settings);
    println!("Agent Information:");
    println!("  Version: {AGENT_VERSION}");
    println!("  Config File: {}", path.display());
    if let Some(s) = &s {
        println!("  Credentials File: {}", s.credentials_file.display());
        println!("  Log File: {}", s.log_file.display());
        println!("  Log Level: {}", s.log_level);
    }
    println!();
    println!("Configuration Status:");
    let mark = |ok: bool| if ok { "✅" } else { "❌" };
    let cfg_ok = cfg.as_ref().is_some_and(|c| c.exists);
    println!(
        "  {} Config file {}",
        mark(cfg_ok),
        if cfg_ok { "exists" } else { "missing" }
    );
    let creds_ok = s.as_ref().is_some_and(|s| s.credentials_file.exists());
    println!(
        "  {} Credentials file {}",
        mark(creds_ok),
        if creds_ok { "exists" } else { "missing" }
    );
    println!();
    println!("Network Connectivity & API Credentials:");
    let mut healthy = cfg_ok && creds_ok;
    match load_api(path) {
        Ok((_, api)) => {
            println!("  Server URL: {}", api.server());
            match api.ping(None).await {
                Ok(_) => {
                    println!("  ✅ Server is reachable");
                    println!("  ✅ API is reachable and credentials are valid");
                }
                Err(e @ crate::client::ApiError::Status { .. }) => {
                    println!("  ✅ Server is reachable");
                    println!("  ❌ API credentials rejected: {e}");
                    healthy = false;
                }
                Err(e) => {
                    println!("  ❌ Server is not reachable: {e}");
                    healthy = false;
                }
            }
        }
        Err(e) => {
            println!("  ❌ {e}");
            healthy = false;
        }
    }
    println!();
    if let Some(s) = &s {
        println!("Last 10 log entries:");
        let lines = logging::tail(&s.log_file, 10);
        if lines.is_empty() {
            println!("  (no log entries)");
        }
        for l in lines {
            println!("  {l}");
        }
    }
    if healthy {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Re-executes the agent with the same arguments (after `apply_config`).
fn restart_self() -> ExitCode {
    use std::os::unix::process::CommandExt;
    let exe = match crate::update::current_exe() {
        Ok(e) => e,
        Err(e) => return fail(format!("cannot restart: {e}")),
    };
    let err = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .exec();
    fail(format!("cannot restart: {err}"))
}
