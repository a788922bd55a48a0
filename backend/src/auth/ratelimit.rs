//! A small fixed-window rate limiter keyed by a string (client IP, user id),
//! with time from the injected clock. Answers carry `RateLimit-*` headers.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::http::{HeaderMap, HeaderValue};
use chrono::{DateTime, Duration, Utc};

/// How a request fared against a limit.
#[derive(Debug, Clone, Copy)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the window resets.
    pub reset_secs: i64,
}

impl Decision {
    /// Adds `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (and
    /// `Retry-After` when refused).
    pub fn apply(&self, headers: &mut HeaderMap) {
        headers.insert("ratelimit-limit", HeaderValue::from(self.limit));
        headers.insert("ratelimit-remaining", HeaderValue::from(self.remaining));
        headers.insert("ratelimit-reset", HeaderValue::from(self.reset_secs));
        if !self.allowed {
            headers.insert("retry-after", HeaderValue::from(self.reset_secs));
        }
    }
}

#[derive(Default)]
pub struct Limiter {
    windows: Mutex<HashMap<String, (DateTime<Utc>, u32)>>,
}

impl Limiter {
    /// Counts one request for `key` and decides.
    pub fn check(&self, key: &str, max: u32, window: Duration, now: DateTime<Utc>) -> Decision {
        let mut map = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 100_000 {
            map.retain(|_, (start, _)| now - *start < window);
        }
        let entry = map.entry(key.to_owned()).or_insert((now, 0));
        if now - entry.0 >= window {
            *entry = (now, 0);
        }
        let allowed = entry.1 < max;
        if allowed {
            entry.1 += 1;
        }
        let reset = (entry.0 + window - now).num_milliseconds();
        Decision {
            allowed,
            limit: max,
            remaining: max - entry.1,
            reset_secs: (reset + 999) / 1000,
        }
    }
}

/// The limiters the auth endpoints use, kept in `AppState`.
#[derive(Default)]
pub struct Limiters {
    /// Public auth endpoints, per client IP (`AUTH_RATE_LIMIT_*`).
    pub auth: Limiter,
    /// Password changes, per user (`PASSWORD_RATE_LIMIT_*`).
    pub password: Limiter,
    /// Enrollment and enrollment-script requests, per client IP
    /// (`ENROLLMENT_RATE_LIMIT_MAX` per minute).
    pub tokens: Limiter,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_counts_and_resets() {
        let l = Limiter::default();
        let t0 = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap();
        let w = Duration::seconds(60);
        assert_eq!(l.check("a", 2, w, t0).remaining, 1);
        assert!(l.check("a", 2, w, t0).allowed);
        let d = l.check("a", 2, w, t0 + Duration::seconds(10));
        assert!(!d.allowed);
        assert_eq!(d.reset_secs, 50);
        assert!(l.check("b", 2, w, t0).allowed, "keys are independent");
        assert!(l.check("a", 2, w, t0 + Duration::seconds(60)).allowed);
    }
}
