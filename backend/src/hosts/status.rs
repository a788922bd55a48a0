//! Host status as PatchMon defines it (§9.1), each rule defined once.
//!
//! Stored `status` is only `pending` or `active`; everything else is derived
//! from `last_update` and the update interval at read time.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EffectiveStatus {
    Pending,
    Active,
    Inactive,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportingState {
    Reporting,
    Overdue,
    Stale,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UpdateState {
    SecurityRequired,
    UpdatesPending,
    UpToDate,
}

fn interval(minutes: i64) -> Duration {
    Duration::minutes(minutes.max(1))
}

/// `inactive` when an active host has not been heard from for 2× the interval.
pub fn effective_status(
    stored: &str,
    last_update: Option<DateTime<Utc>>,
    interval_minutes: i64,
    now: DateTime<Utc>,
) -> EffectiveStatus {
    match stored {
        "active" => match last_update {
            Some(t) if t >= now - interval(interval_minutes) * 2 => EffectiveStatus::Active,
            _ => EffectiveStatus::Inactive,
        },
        _ => EffectiveStatus::Pending,
    }
}

/// `reporting` within 1× the interval, `overdue` within 2×, else `stale`.
pub fn reporting_state(
    last_update: Option<DateTime<Utc>>,
    interval_minutes: i64,
    now: DateTime<Utc>,
) -> ReportingState {
    let i = interval(interval_minutes);
    match last_update {
        Some(t) if t >= now - i => ReportingState::Reporting,
        Some(t) if t >= now - i * 2 => ReportingState::Overdue,
        _ => ReportingState::Stale,
    }
}

pub fn update_state(updates: i64, security: i64) -> UpdateState {
    if security > 0 {
        UpdateState::SecurityRequired
    } else if updates > 0 {
        UpdateState::UpdatesPending
    } else {
        UpdateState::UpToDate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_rules() {
        let now = Utc::now();
        let m = |n| Some(now - Duration::minutes(n));
        assert_eq!(
            effective_status("pending", None, 60, now),
            EffectiveStatus::Pending
        );
        assert_eq!(
            effective_status("pending", m(500), 60, now),
            EffectiveStatus::Pending
        );
        assert_eq!(
            effective_status("active", m(119), 60, now),
            EffectiveStatus::Active
        );
        assert_eq!(
            effective_status("active", m(121), 60, now),
            EffectiveStatus::Inactive
        );
        assert_eq!(
            effective_status("active", None, 60, now),
            EffectiveStatus::Inactive
        );
        assert_eq!(reporting_state(m(59), 60, now), ReportingState::Reporting);
        assert_eq!(reporting_state(m(61), 60, now), ReportingState::Overdue);
        assert_eq!(reporting_state(m(121), 60, now), ReportingState::Stale);
        assert_eq!(reporting_state(None, 60, now), ReportingState::Stale);
        assert_eq!(update_state(3, 1), UpdateState::SecurityRequired);
        assert_eq!(update_state(3, 0), UpdateState::UpdatesPending);
        assert_eq!(update_state(0, 0), UpdateState::UpToDate);
    }
}
