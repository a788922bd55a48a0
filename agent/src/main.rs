use std::process::ExitCode;

use clap::Parser;
use patchmon_agent::cli::{Cli, run};

fn main() -> ExitCode {
    // ring is the only rustls provider in the agent; install it before any TLS use.
    let _ = rustls::crypto::ring::default_provider().install_default();
    run(Cli::parse())
}
