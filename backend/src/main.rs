//! patchmon-server command line: `serve` (default), host administration, health check.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use patchmon_server::config::{Config, LogFormat};
use patchmon_server::{hosts, init_state, serve};
use tracing_subscriber::EnvFilter;
use uuid::Uuid;

#[derive(Parser)]
#[command(
    name = "patchmon-server",
    version,
    about = "PatchMon server: agent API, WebSocket hub and web app"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default). Configuration comes from the environment and ./.env.
    Serve,
    /// Manage hosts from the command line.
    Hosts {
        #[command(subcommand)]
        command: HostsCommand,
    },
    /// Manage user accounts from the command line.
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// Exit 0 when the server at --url answers /health (for container health checks).
    Healthcheck {
        #[arg(long, default_value = "http://127.0.0.1:3000")]
        url: String,
    },
}

#[derive(Subcommand)]
enum UsersCommand {
    /// Create the first superadmin (headless first-run setup; refused once any user exists).
    /// The password is read from the first line of standard input, or from
    /// PATCHMON_ADMIN_PASSWORD, never from the command line.
    CreateAdmin {
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        first_name: Option<String>,
        #[arg(long)]
        last_name: Option<String>,
    },
}

#[derive(Subcommand)]
enum HostsCommand {
    /// Create a host; prints {"id","api_id","api_key"} as JSON. The key is shown only once.
    Add {
        #[arg(long)]
        name: String,
        /// Host group to put the host in (created if missing).
        #[arg(long)]
        group: Option<String>,
    },
    /// List hosts with their derived status.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Delete a host and all its data.
    Delete { id: Uuid },
    /// Issue new credentials for a host (the old ones stop working).
    RegenerateCredentials { id: Uuid },
}

fn init_tracing(config: &Config, quiet: bool) {
    let default = if quiet {
        "warn".to_owned()
    } else {
        format!("{},tower_http=info", config.log_level)
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match config.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    patchmon_server::install_crypto_provider();
    let cli = Cli::parse();
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("patchmon-server: {e}");
            return ExitCode::from(2);
        }
    };
    let command = cli.command.unwrap_or(Command::Serve);
    init_tracing(&config, !matches!(command, Command::Serve));
    let vars: HashMap<String, String> = std::env::vars().collect();
    for (var, known) in Config::suspicious_vars(&vars) {
        tracing::warn!("environment variable {var} is not used; did you mean {known}?");
    }
    match run(command, config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("patchmon-server: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config) -> Result<(), Box<dyn std::error::Error>> {
    match command {
        Command::Serve => {
            let addr = SocketAddr::new(config.bind_address, config.port);
            tracing::info!(
                database = %config.database_url,
                public_url = %config.public_url(),
                "starting patchmon-server {}",
                env!("CARGO_PKG_VERSION")
            );
            let state = init_state(config.clone()).await?;
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
            let shown = if config.bind_address.is_unspecified() {
                format!("http://localhost:{}", config.port)
            } else {
                format!("http://{addr}")
            };
            eprintln!(
                "PatchMon server is running: open {shown} (agents use {})",
                config.public_url()
            );
            serve(listener, state.clone(), shutdown_signal()).await?;
            state.db().close().await;
            tracing::info!("stopped");
            Ok(())
        }
        Command::Hosts { command } => {
            let state = init_state(config).await?;
            let result = hosts_command(&state, command).await;
            state.db().close().await;
            result
        }
        Command::Users { command } => {
            let state = init_state(config).await?;
            let result = users_command(&state, command).await;
            state.db().close().await;
            result
        }
        Command::Healthcheck { url } => {
            let url = format!("{}/health", url.trim_end_matches('/'));
            healthcheck(&url).await
        }
    }
}

async fn hosts_command(
    state: &patchmon_server::state::AppState,
    command: HostsCommand,
) -> Result<(), Box<dyn std::error::Error>> {
    match command {
        HostsCommand::Add { name, group } => {
            let creds =
                hosts::create_host(state.db(), state.now(), &name, group.as_deref()).await?;
            println!("{}", serde_json::to_string(&creds)?);
        }
        HostsCommand::List { json } => {
            let list = hosts::list_hosts(state.db(), state.now()).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                println!(
                    "{:<36}  {:<26}  {:<24}  {:<8}  {:>8}  {:>8}",
                    "ID", "API ID", "NAME", "STATUS", "UPDATES", "SECURITY"
                );
                for h in list {
                    println!(
                        "{:<36}  {:<26}  {:<24}  {:<8}  {:>8}  {:>8}",
                        h.id,
                        h.api_id,
                        h.friendly_name,
                        serde_json::to_value(h.effective_status)?
                            .as_str()
                            .unwrap_or(""),
                        h.updates_available,
                        h.security_updates
                    );
                }
            }
        }
        HostsCommand::Delete { id } => {
            hosts::delete_host(state, id).await?;
            eprintln!("host {id} deleted");
        }
        HostsCommand::RegenerateCredentials { id } => {
            let creds = hosts::regenerate_credentials(state, id).await?;
            println!("{}", serde_json::to_string(&creds)?);
        }
    }
    Ok(())
}

async fn users_command(
    state: &patchmon_server::state::AppState,
    command: UsersCommand,
) -> Result<(), Box<dyn std::error::Error>> {
    match command {
        UsersCommand::CreateAdmin {
            username,
            email,
            first_name,
            last_name,
        } => {
            let password = match std::env::var("PATCHMON_ADMIN_PASSWORD") {
                Ok(p) if !p.is_empty() => p,
                _ => {
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line)?;
                    line.trim_end_matches(['\r', '\n']).to_owned()
                }
            };
            let user = patchmon_server::users::create_first_admin(
                state,
                patchmon_server::users::NewUser {
                    username,
                    email,
                    password,
                    first_name,
                    last_name,
                    role: "superadmin".into(),
                    is_active: true,
                },
            )
            .await?;
            println!(
                "{}",
                serde_json::json!({ "id": user.id, "username": user.username, "email": user.email, "role": user.role })
            );
        }
    }
    Ok(())
}

/// A minimal HTTP/1.1 GET without pulling an HTTP client into the server.
async fn healthcheck(url: &str) -> Result<(), Box<dyn std::error::Error>> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url
        .strip_prefix("http://")
        .ok_or("only http:// URLs are supported")?;
    let (hostport, path) = rest.split_once('/').map_or((rest, "/"), |(h, p)| (h, p));
    let mut stream = tokio::net::TcpStream::connect(hostport).await?;
    let req = format!(
        "GET /{} HTTP/1.1\r\nHost: {hostport}\r\nConnection: close\r\n\r\n",
        path.trim_start_matches('/')
    );
    stream.write_all(req.as_bytes()).await?;
    let mut buf = Vec::new();
    stream.read_to_end(&mut buf).await?;
    let text = String::from_utf8_lossy(&buf);
    if text.starts_with("HTTP/1.1 200") {
        println!("healthy");
        Ok(())
    } else {
        Err(format!(
            "unhealthy: {}",
            text.lines().next().unwrap_or("no response")
        )
        .into())
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown requested");
}
