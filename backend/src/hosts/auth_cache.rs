//! A short-lived cache of agent credentials (`api_id` → host id and key hash),
//! so authenticating an agent request costs a hash and a comparison instead of
//! a database round trip.
//!
//! Entries live `TTL` at most. Deleting a host or regenerating its credentials
//! in this process evicts at once; a change made by another process or
//! replica is seen within `TTL`, and handlers that find the host gone answer
//! 401 and evict. A presented key that does not match the cached hash always
//! falls through to the database, so freshly issued credentials work at once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use uuid::Uuid;

pub const TTL: Duration = Duration::from_secs(30);
/// Beyond this many entries the cache starts over (bounded memory).
const MAX_ENTRIES: usize = 200_000;

#[derive(Default)]
pub struct AuthCache {
    map: Mutex<HashMap<String, (Uuid, String, Instant)>>,
}

impl AuthCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Uuid, String, Instant)>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The cached `(host id, key hash)` if still fresh.
    pub fn get(&self, api_id: &str) -> Option<(Uuid, String)> {
        let g = self.lock();
        let (id, hash, at) = g.get(api_id)?;
        (at.elapsed() < TTL).then(|| (*id, hash.clone()))
    }

    pub fn put(&self, api_id: &str, id: Uuid, key_hash: &str) {
        let mut g = self.lock();
        if g.len() >= MAX_ENTRIES {
            g.clear();
        }
        g.insert(api_id.to_owned(), (id, key_hash.to_owned(), Instant::now()));
    }

    pub fn remove(&self, api_id: &str) {
        self.lock().remove(api_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_get_remove() {
        let c = AuthCache::default();
        assert!(c.get("a").is_none());
        let id = Uuid::new_v4();
        c.put("a", id, "h");
        assert_eq!(c.get("a"), Some((id, "h".to_owned())));
        c.remove("a");
        assert!(c.get("a").is_none());
    }
}
