//! Password hashing (argon2id, OWASP parameters) and the password policy.

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};

use super::config::PasswordPolicy;
use crate::error::{AppError, AppResult};

/// OWASP's argon2id recommendation: 19 MiB, 2 iterations, 1 lane.
fn hasher() -> AppResult<Argon2<'static>> {
    let params = Params::new(19 * 1024, 2, 1, None)
        .map_err(|e| AppError::internal(format!("argon2 params: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Longest password we hash; beyond this is a client bug or an attack.
pub const MAX_PASSWORD_LEN: usize = 1024;

/// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`). CPU-heavy: runs on the blocking pool.
pub async fn hash(password: &str) -> AppResult<String> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|e| AppError::internal(format!("random: {e}")))?;
        hasher()?
            .hash_password_with_salt(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| AppError::internal(format!("argon2: {e}")))
    })
    .await
    .map_err(AppError::internal)?
}

/// Checks a password against a stored hash. With no hash (unknown user, SSO-only
/// account) the same work is done against a dummy, so timing reveals nothing.
pub async fn verify(password: &str, stored: Option<&str>) -> bool {
    let password = password.to_owned();
    let stored = stored.map(str::to_owned);
    tokio::task::spawn_blocking(move || {
        let Ok(h) = hasher() else { return false };
        match stored {
            Some(s) => h.verify_password(password.as_bytes(), s.as_str()).is_ok(),
            None => {
                let _ = h.hash_password_with_salt(password.as_bytes(), b"timing-equaliser");
                false
            }
        }
    })
    .await
    .unwrap_or(false)
}

/// Applies `PASSWORD_MIN_LENGTH` and `PASSWORD_REQUIRE_*`; the error lists every unmet rule.
pub fn check_policy(policy: &PasswordPolicy, password: &str) -> AppResult<()> {
    let mut unmet = Vec::new();
    if password.chars().count() < policy.min_length {
        unmet.push(format!("at least {} characters", policy.min_length));
    }
    if password.len() > MAX_PASSWORD_LEN {
        unmet.push(format!("at most {MAX_PASSWORD_LEN} bytes"));
    }
    if policy.require_uppercase && !password.chars().any(char::is_uppercase) {
        unmet.push("an uppercase letter".into());
    }
    if policy.require_lowercase && !password.chars().any(char::is_lowercase) {
        unmet.push("a lowercase letter".into());
    }
    if policy.require_number && !password.chars().any(|c| c.is_ascii_digit()) {
        unmet.push("a number".into());
    }
    if policy.require_special
        && !password
            .chars()
            .any(|c| !c.is_alphanumeric() && !c.is_whitespace())
    {
        unmet.push("a special character".into());
    }
    if unmet.is_empty() {
        Ok(())
    } else {
        Err(AppError::BadRequest(format!(
            "Password must contain {}",
            unmet.join(", ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> PasswordPolicy {
        PasswordPolicy {
            min_length: 8,
            require_uppercase: true,
            require_lowercase: true,
            require_number: true,
            require_special: true,
        }
    }

    #[tokio::test]
    async fn hash_and_verify() {
        let h = hash("Correct-Horse-1").await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify("Correct-Horse-1", Some(&h)).await);
        assert!(!verify("Correct-Horse-2", Some(&h)).await);
        assert!(!verify("Correct-Horse-1", None).await);
        assert!(!verify("x", Some("not a phc string")).await);
        assert_ne!(h, hash("Correct-Horse-1").await.unwrap(), "salted");
    }

    #[test]
    fn policy_rules() {
        let p = policy();
        assert!(check_policy(&p, "Abcdef1!").is_ok());
        let e = check_policy(&p, "abc").unwrap_err().to_string();
        for part in ["8 characters", "uppercase", "number", "special"] {
            assert!(e.contains(part), "{e}");
        }
        assert!(!e.contains("lowercase"), "{e}");
        let relaxed = PasswordPolicy {
            min_length: 4,
            require_uppercase: false,
            require_lowercase: false,
            require_number: false,
            require_special: false,
        };
        assert!(check_policy(&relaxed, "abcd").is_ok());
        assert!(check_policy(&relaxed, &"a".repeat(2000)).is_err());
    }
}
