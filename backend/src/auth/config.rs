//! Authentication settings, with PatchMon's variable names and defaults.

use std::collections::HashMap;

use chrono::Duration;

use crate::config::{ConfigError, Vars, config_error};

/// Every auth variable we read (for the misspelling check).
pub const KNOWN: &[&str] = &[
    "JWT_EXPIRES_IN",
    "JWT_REFRESH_EXPIRES_IN",
    "SESSION_INACTIVITY_TIMEOUT_MINUTES",
    "PASSWORD_MIN_LENGTH",
    "PASSWORD_REQUIRE_UPPERCASE",
    "PASSWORD_REQUIRE_LOWERCASE",
    "PASSWORD_REQUIRE_NUMBER",
    "PASSWORD_REQUIRE_SPECIAL",
    "PASSWORD_RATE_LIMIT_WINDOW_MS",
    "PASSWORD_RATE_LIMIT_MAX",
    "MAX_LOGIN_ATTEMPTS",
    "LOCKOUT_DURATION_MINUTES",
    "AUTH_RATE_LIMIT_WINDOW_MS",
    "AUTH_RATE_LIMIT_MAX",
    "TRUST_PROXY",
    "MAX_TFA_ATTEMPTS",
    "TFA_LOCKOUT_DURATION_MINUTES",
    "TFA_REMEMBER_ME_EXPIRES_IN",
    "TFA_MAX_REMEMBER_SESSIONS",
    "TFA_SUSPICIOUS_ACTIVITY_THRESHOLD",
    "OIDC_ENABLED",
    "OIDC_ISSUER_URL",
    "OIDC_CLIENT_ID",
    "OIDC_CLIENT_SECRET",
    "OIDC_REDIRECT_URI",
    "OIDC_SCOPES",
    "OIDC_AUTO_CREATE_USERS",
    "OIDC_DEFAULT_ROLE",
    "OIDC_DISABLE_LOCAL_AUTH",
    "OIDC_BUTTON_TEXT",
    "OIDC_SUPERADMIN_GROUP",
    "OIDC_ADMIN_GROUP",
    "OIDC_HOST_MANAGER_GROUP",
    "OIDC_USER_GROUP",
    "OIDC_READONLY_GROUP",
    "OIDC_SYNC_ROLES",
];

/// OpenID Connect single sign-on (`OIDC_*`), present when `OIDC_ENABLED=true`.
#[derive(Clone)]
pub struct OidcConfig {
    pub issuer_url: String,
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub auto_create_users: bool,
    pub default_role: String,
    pub disable_local_auth: bool,
    pub button_text: String,
    pub superadmin_group: Option<String>,
    pub admin_group: Option<String>,
    pub host_manager_group: Option<String>,
    pub user_group: Option<String>,
    pub readonly_group: Option<String>,
    pub sync_roles: bool,
}

impl std::fmt::Debug for OidcConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcConfig")
            .field("issuer_url", &self.issuer_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &"***")
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

/// https, or http to a loopback address (development and tests only).
fn secure_url(u: &str) -> bool {
    if u.starts_with("https://") {
        return true;
    }
    let Some(rest) = u.strip_prefix("http://") else {
        return false;
    };
    let host = rest.split(['/', '?']).next().unwrap_or("");
    let host = host.rsplit_once(':').map_or(host, |(h, p)| {
        if p.chars().all(|c| c.is_ascii_digit()) {
            h
        } else {
            host
        }
    });
    matches!(host, "localhost" | "127.0.0.1" | "[::1]")
}

#[derive(Debug, Clone)]
pub struct PasswordPolicy {
    pub min_length: usize,
    pub require_uppercase: bool,
    pub require_lowercase: bool,
    pub require_number: bool,
    pub require_special: bool,
}

#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Lifetime of an access token (`JWT_EXPIRES_IN`, default 1h).
    pub access_lifetime: Duration,
    /// Absolute lifetime of a session; refreshing never extends it
    /// (`JWT_REFRESH_EXPIRES_IN`, default 7d).
    pub session_lifetime: Duration,
    /// A session unused for this long is dead (`SESSION_INACTIVITY_TIMEOUT_MINUTES`, 30).
    pub inactivity_timeout: Duration,
    pub password: PasswordPolicy,
    /// Password changes per user per window (`PASSWORD_RATE_LIMIT_*`, 5 per 15 min).
    pub password_rate_limit_window: Duration,
    pub password_rate_limit_max: u32,
    /// Failed logins before a lock (`MAX_LOGIN_ATTEMPTS`, 5) within a 15-minute window.
    pub max_login_attempts: u32,
    /// `LOCKOUT_DURATION_MINUTES` (15).
    pub lockout_duration: Duration,
    /// Auth endpoint requests per client IP per window (`AUTH_RATE_LIMIT_*`, 500 per 10 min).
    pub auth_rate_limit_window: Duration,
    pub auth_rate_limit_max: u32,
    /// Take the client address from `X-Forwarded-For` (`TRUST_PROXY`, default false).
    pub trust_proxy: bool,
    /// Wrong TFA codes before a TFA lock (`MAX_TFA_ATTEMPTS`, 5).
    pub max_tfa_attempts: u32,
    /// `TFA_LOCKOUT_DURATION_MINUTES` (30).
    pub tfa_lockout_duration: Duration,
    /// Lifetime of a remembered device (`TFA_REMEMBER_ME_EXPIRES_IN`, 30d).
    pub tfa_remember_lifetime: Duration,
    /// Remembered devices kept per user (`TFA_MAX_REMEMBER_SESSIONS`, 5).
    pub tfa_max_remember_sessions: u32,
    /// Wrong TFA codes that mark activity as suspicious (`TFA_SUSPICIOUS_ACTIVITY_THRESHOLD`, 3).
    pub tfa_suspicious_threshold: u32,
    /// Single sign-on; None unless `OIDC_ENABLED=true`.
    pub oidc: Option<OidcConfig>,
}

/// Parses `30s`, `15m`, `2h`, `7d` (PatchMon's time format).
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = num.parse().ok()?;
    if n <= 0 {
        return None;
    }
    match unit {
        "s" => Duration::try_seconds(n),
        "m" => Duration::try_minutes(n),
        "h" => Duration::try_hours(n),
        "d" => Duration::try_days(n),
        _ => None,
    }
}

impl AuthConfig {
    pub fn from_map(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let v = Vars(vars);
        let get = |k: &str| v.get(k);
        let err = config_error;
        let num = |var: &str, default: i64, min: i64, max: i64| v.num(var, default, min, max);
        let flag = |var: &str, default: bool| v.flag(var, default);
        let dur = |var: &str, default: &str| -> Result<Duration, ConfigError> {
            let v = get(var).unwrap_or_else(|| default.to_owned());
            parse_duration(&v)
                .ok_or_else(|| err(var, &v, "must be a duration such as 30m, 1h or 7d"))
        };
        let c = Self {
            access_lifetime: dur("JWT_EXPIRES_IN", "1h")?,
            session_lifetime: dur("JWT_REFRESH_EXPIRES_IN", "7d")?,
            inactivity_timeout: Duration::minutes(num(
                "SESSION_INACTIVITY_TIMEOUT_MINUTES",
                30,
                1,
                525_600,
            )?),
            password: PasswordPolicy {
                min_length: num("PASSWORD_MIN_LENGTH", 8, 1, 256)? as usize,
                require_uppercase: flag("PASSWORD_REQUIRE_UPPERCASE", true)?,
                require_lowercase: flag("PASSWORD_REQUIRE_LOWERCASE", true)?,
                require_number: flag("PASSWORD_REQUIRE_NUMBER", true)?,
                require_special: flag("PASSWORD_REQUIRE_SPECIAL", true)?,
            },
            password_rate_limit_window: Duration::milliseconds(num(
                "PASSWORD_RATE_LIMIT_WINDOW_MS",
                900_000,
                1_000,
                86_400_000,
            )?),
            password_rate_limit_max: num("PASSWORD_RATE_LIMIT_MAX", 5, 1, 1_000_000)? as u32,
            max_login_attempts: num("MAX_LOGIN_ATTEMPTS", 5, 1, 1000)? as u32,
            lockout_duration: Duration::minutes(num("LOCKOUT_DURATION_MINUTES", 15, 1, 525_600)?),
            auth_rate_limit_window: Duration::milliseconds(num(
                "AUTH_RATE_LIMIT_WINDOW_MS",
                600_000,
                1_000,
                86_400_000,
            )?),
            auth_rate_limit_max: num("AUTH_RATE_LIMIT_MAX", 500, 1, 1_000_000)? as u32,
            trust_proxy: flag("TRUST_PROXY", false)?,
            max_tfa_attempts: num("MAX_TFA_ATTEMPTS", 5, 1, 1000)? as u32,
            tfa_lockout_duration: Duration::minutes(num(
                "TFA_LOCKOUT_DURATION_MINUTES",
                30,
                1,
                525_600,
            )?),
            tfa_remember_lifetime: dur("TFA_REMEMBER_ME_EXPIRES_IN", "30d")?,
            tfa_max_remember_sessions: num("TFA_MAX_REMEMBER_SESSIONS", 5, 0, 1000)? as u32,
            tfa_suspicious_threshold: num("TFA_SUSPICIOUS_ACTIVITY_THRESHOLD", 3, 1, 1000)? as u32,
            oidc: None,
        };
        let mut c = c;
        if flag("OIDC_ENABLED", false)? {
            let required = |var: &str| {
                get(var).ok_or_else(|| err(var, "", "is required when OIDC_ENABLED=true"))
            };
            let url = |var: &str| -> Result<String, ConfigError> {
                let v = required(var)?;
                if secure_url(&v) {
                    Ok(v)
                } else {
                    Err(err(
                        var,
                        &v,
                        "must be an https:// URL (http only for localhost)",
                    ))
                }
            };
            let group = |var: &str| get(var).map(|g| g.to_lowercase());
            let default_role = get("OIDC_DEFAULT_ROLE").unwrap_or_else(|| "user".into());
            c.oidc = Some(OidcConfig {
                issuer_url: url("OIDC_ISSUER_URL")?,
                client_id: required("OIDC_CLIENT_ID")?,
                client_secret: required("OIDC_CLIENT_SECRET")?,
                redirect_uri: url("OIDC_REDIRECT_URI")?,
                scopes: get("OIDC_SCOPES")
                    .unwrap_or_else(|| "openid email profile groups".into())
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect(),
                auto_create_users: flag("OIDC_AUTO_CREATE_USERS", true)?,
                default_role,
                disable_local_auth: flag("OIDC_DISABLE_LOCAL_AUTH", false)?,
                button_text: get("OIDC_BUTTON_TEXT").unwrap_or_else(|| "Login with SSO".into()),
                superadmin_group: group("OIDC_SUPERADMIN_GROUP"),
                admin_group: group("OIDC_ADMIN_GROUP"),
                host_manager_group: group("OIDC_HOST_MANAGER_GROUP"),
                user_group: group("OIDC_USER_GROUP"),
                readonly_group: group("OIDC_READONLY_GROUP"),
                sync_roles: flag("OIDC_SYNC_ROLES", true)?,
            });
        }
        if c.access_lifetime > c.session_lifetime {
            return Err(err(
                "JWT_EXPIRES_IN",
                &get("JWT_EXPIRES_IN").unwrap_or_default(),
                "must not be longer than JWT_REFRESH_EXPIRES_IN",
            ));
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn patchmon_defaults() {
        let c = AuthConfig::from_map(&HashMap::new()).unwrap();
        assert_eq!(c.access_lifetime, Duration::hours(1));
        assert_eq!(c.session_lifetime, Duration::days(7));
        assert_eq!(c.inactivity_timeout, Duration::minutes(30));
        assert_eq!(c.password.min_length, 8);
        assert!(c.password.require_special);
        assert_eq!(c.max_login_attempts, 5);
        assert_eq!(c.lockout_duration, Duration::minutes(15));
        assert_eq!(c.auth_rate_limit_max, 500);
        assert_eq!(c.auth_rate_limit_window, Duration::minutes(10));
        assert_eq!(c.password_rate_limit_max, 5);
        assert!(!c.trust_proxy);
        assert_eq!(c.max_tfa_attempts, 5);
        assert_eq!(c.tfa_lockout_duration, Duration::minutes(30));
        assert_eq!(c.tfa_remember_lifetime, Duration::days(30));
        assert_eq!(c.tfa_max_remember_sessions, 5);
        assert_eq!(c.tfa_suspicious_threshold, 3);
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (k, v) in [
            ("JWT_EXPIRES_IN", "soon"),
            ("MAX_LOGIN_ATTEMPTS", "0"),
            ("PASSWORD_REQUIRE_SPECIAL", "maybe"),
            ("TRUST_PROXY", "sometimes"),
        ] {
            let e = AuthConfig::from_map(&map(&[(k, v)])).unwrap_err();
            assert_eq!(e.var, k);
        }
        let e = AuthConfig::from_map(&map(&[("JWT_EXPIRES_IN", "30d")])).unwrap_err();
        assert_eq!(e.var, "JWT_EXPIRES_IN");
    }

    #[test]
    fn oidc_settings() {
        assert!(
            AuthConfig::from_map(&HashMap::new())
                .unwrap()
                .oidc
                .is_none()
        );
        let e = AuthConfig::from_map(&map(&[("OIDC_ENABLED", "true")])).unwrap_err();
        assert_eq!(e.var, "OIDC_ISSUER_URL");
        let base = [
            ("OIDC_ENABLED", "true"),
            (
                "OIDC_ISSUER_URL",
                "https://auth.example.com/application/o/patchmon/",
            ),
            ("OIDC_CLIENT_ID", "patchmon"),
            ("OIDC_CLIENT_SECRET", "s3cret"),
            (
                "OIDC_REDIRECT_URI",
                "https://pm.example.com/api/v1/auth/oidc/callback",
            ),
            ("OIDC_ADMIN_GROUP", "PatchMon Admins"),
        ];
        let c = AuthConfig::from_map(&map(&base)).unwrap().oidc.unwrap();
        assert_eq!(c.scopes, ["openid", "email", "profile", "groups"]);
        assert_eq!(c.default_role, "user");
        assert!(c.auto_create_users && c.sync_roles && !c.disable_local_auth);
        assert_eq!(c.button_text, "Login with SSO");
        assert_eq!(c.admin_group.as_deref(), Some("patchmon admins"));
        assert!(!format!("{c:?}").contains("s3cret"));
        let mut plain = base.to_vec();
        plain[1] = ("OIDC_ISSUER_URL", "http://auth.example.com");
        assert_eq!(
            AuthConfig::from_map(&map(&plain)).unwrap_err().var,
            "OIDC_ISSUER_URL"
        );
        plain[1] = ("OIDC_ISSUER_URL", "http://127.0.0.1:8080");
        assert!(AuthConfig::from_map(&map(&plain)).is_ok());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Some(Duration::seconds(30)));
        assert_eq!(parse_duration("15m"), Some(Duration::minutes(15)));
        assert_eq!(parse_duration("7d"), Some(Duration::days(7)));
        assert_eq!(parse_duration("0h"), None);
        assert_eq!(parse_duration("h"), None);
        assert_eq!(parse_duration("5w"), None);
    }
}
