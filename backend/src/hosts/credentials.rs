//! Agent credentials: PatchMon's formats (`api_id` = `patchmon_` + 16 hex,
//! `api_key` = 64 hex), stored as SHA-256 and compared in constant time. The
//! key carries 256 bits of entropy, so a slow password hash would only burn CPU.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::{AppError, AppResult};

pub fn random_hex(bytes: usize) -> AppResult<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| AppError::internal(format!("random source: {e}")))?;
    Ok(hex(&buf))
}

pub fn hex(bytes: &[u8]) -> String {
    const H: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(H[usize::from(b >> 4)]));
        s.push(char::from(H[usize::from(b & 0xf)]));
    }
    s
}

/// A fresh `(api_id, api_key)` pair.
pub fn generate() -> AppResult<(String, String)> {
    Ok((format!("patchmon_{}", random_hex(8)?), random_hex(32)?))
}

/// SHA-256 of a secret, lowercase hex; what the database stores.
pub fn hash_secret(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// Constant-time comparison of a presented secret with a stored hash.
pub fn verify_secret(presented: &str, stored_hash: &str) -> bool {
    if presented.is_empty() {
        return false;
    }
    let h = hash_secret(presented);
    h.as_bytes().ct_eq(stored_hash.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let (id, key) = generate().unwrap();
        assert!(id.starts_with("patchmon_"));
        assert_eq!(id.len(), "patchmon_".len() + 16);
        assert_eq!(key.len(), 64);
        assert!(
            key.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        let (id2, key2) = generate().unwrap();
        assert_ne!(id, id2);
        assert_ne!(key, key2);
    }

    #[test]
    fn verify() {
        let h = hash_secret("abc");
        assert_eq!(
            h,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(verify_secret("abc", &h));
        assert!(!verify_secret("abd", &h));
        assert!(!verify_secret("", &hash_secret("")));
    }
}
