//! Wire types shared by `patchmon-agent` and `patchmon-server`.
//!
//! Everything here mirrors the JSON that PatchMon's agents and server exchange
//! (field names, casing and omission rules), so PatchMon's own Go agent can talk
//! to our server and our agent can talk to a PatchMon server. The module also
//! holds the canonical section hashing used by the hash-gated check-in; both
//! sides must compute byte-identical hashes.
//!
//! No I/O lives here.

pub mod gojson;
pub mod hashing;
pub mod messages;
pub mod report;
mod serde_util;
pub mod version;

pub use messages::{AgentMessage, ServerMessage};
pub use report::*;

/// Version of our own protocol extensions (hello/welcome, command results).
/// PatchMon's Go agent sends none of them; that is the baseline, never an error.
pub const PROTOCOL_VERSION: u32 = 1;

/// Report sections that a partial `/hosts/update` may carry.
pub const REPORT_SECTIONS: [&str; 4] = ["packages", "repos", "interfaces", "hostname"];

/// Maximum packages accepted in one report (PatchMon's limit).
pub const MAX_PACKAGES: usize = 10_000;

/// Maximum size of a WebSocket message the server sends to an agent.
pub const MAX_MESSAGE_TO_AGENT: usize = 64 * 1024;
/// Maximum size of a WebSocket message an agent may send to the server.
pub const MAX_MESSAGE_FROM_AGENT: usize = 512 * 1024;

/// Interval between WebSocket pings, both directions.
pub const WS_PING_INTERVAL_SECS: u64 = 30;
/// A WebSocket with no frame for this long is considered dead.
pub const WS_READ_DEADLINE_SECS: u64 = 90;

/// FNV-1a 64-bit hash, used for the agent's `report_offset`.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// FNV-1a 32-bit hash, used by the server for the reconnect jitter.
pub fn fnv1a32(bytes: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in bytes {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// The agent's report offset in seconds (PatchMon §5.3): minutes within the
/// hour for hourly-or-slower intervals, seconds within the interval otherwise.
pub fn report_offset_secs(api_id: &str, update_interval_minutes: u64) -> u64 {
    let h = fnv1a64(api_id.as_bytes());
    if update_interval_minutes >= 60 {
        (h % 60) * 60
    } else {
        let secs = update_interval_minutes.max(1) * 60;
        h % secs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_reference_values() {
        // Published FNV-1a test vectors.
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a32(b"a"), 0xe40c_292c);
        assert_eq!(fnv1a32(b"foobar"), 0xbf9c_f968);
    }

    #[test]
    fn report_offset_ranges() {
        let id = "patchmon_1a2b3c4d5e6f7a8b";
        let hourly = report_offset_secs(id, 60);
        assert_eq!(hourly % 60, 0);
        assert!(hourly < 3600);
        let short = report_offset_secs(id, 5);
        assert!(short < 300);
        assert_eq!(report_offset_secs(id, 0), fnv1a64(id.as_bytes()) % 60);
    }
}
