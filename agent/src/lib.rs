//! `patchmon-agent`: a drop-in replacement for PatchMon's Go agent.
//!
//! The binary (`main.rs`) only installs the TLS provider and parses the
//! command line; everything else lives here so tests can call collectors and
//! parsers directly.

pub mod cli;
pub mod client;
pub mod collect;
pub mod config;
pub mod logging;
pub mod report;
pub mod serve;
pub mod system;
pub mod update;
pub mod util;
pub mod ws;
