//! The agent's one integration-test binary: parsers against recorded outputs,
//! the live apt collector, and end-to-end runs of the real agent binary
//! against the real server (in-process, `patchmon_server::testkit`).

// Test code: panicking on a broken fixture or a failed spawn is the point.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod e2e;
mod live;
mod parsers;
mod tls;
mod update;

use std::collections::BTreeSet;
use std::process::Command;

/// Tests that collect packages or time the agent take this lock, so they do
/// not compete for the CPU (and skew the report_now timing) on small machines.
pub static HEAVY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// dpkg packages whose status is `installed` (the reference count).
pub fn dpkg_installed_count() -> usize {
    let out = Command::new("dpkg-query")
        .args(["-W", "-f", "${db:Status-Status}\n"])
        .output()
        .expect("dpkg-query");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| *l == "installed")
        .count()
}

/// Names upgraded by an apt simulation (`Inst name [current] …` lines),
/// parsed independently of the agent's code.
pub fn simulated_upgrades(sim: &str) -> BTreeSet<String> {
    sim.lines()
        .filter_map(|l| l.strip_prefix("Inst "))
        .filter(|rest| {
            rest.split_whitespace()
                .nth(1)
                .is_some_and(|t| t.starts_with('['))
        })
        .filter_map(|rest| rest.split_whitespace().next().map(str::to_owned))
        .collect()
}
