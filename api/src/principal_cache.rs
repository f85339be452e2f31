//! A short-lived in-process cache of authenticated principals: a request with an access
//! token or an API key costs no database round trip while the principal of its session
//! or key is fresh.
//!
//! Freshness has two bounds. An entry lives at most the TTL (`KONTOR_PRINCIPAL_CACHE_TTL`,
//! default 5 s; 0 switches the cache off). And every entry remembers the store's
//! credentials epoch ([`persistence::Store::credentials_epoch`]) it was read at: any change
//! of a user, session or API key committed through this node moves the epoch and so ends
//! every entry at once. Changes made through another node reach this node within the TTL.
//! Only successful authentications are cached; refusals always ask the database.

use crate::auth::Principal;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::RwLock;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// Most entries per map; a full map first drops its stale entries, then everything.
const MAX_ENTRIES: usize = 10_000;

/// A cached value, when it was read and at which credentials epoch.
#[derive(Clone)]
struct Entry<V> {
    value: V,
    read_at: Instant,
    epoch: u64,
}

/// One map of fresh entries.
struct Fresh<K, V> {
    entries: RwLock<HashMap<K, Entry<V>>>,
}

impl<K: Eq + Hash, V: Clone> Fresh<K, V> {
    fn new() -> Self {
        Fresh { entries: RwLock::new(HashMap::new()) }
    }

    fn get<Q>(&self, key: &Q, ttl: Duration, epoch: u64) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        entries.get(key).filter(|e| e.epoch == epoch && e.read_at.elapsed() < ttl).map(|e| e.value.clone())
    }

    fn put(&self, key: K, value: V, ttl: Duration, epoch: u64, read_at: Instant) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, e| e.epoch == epoch && e.read_at.elapsed() < ttl);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key, Entry { value, read_at, epoch });
    }

    fn update<Q>(&self, key: &Q, change: impl FnOnce(&mut V))
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = entries.get_mut(key) {
            change(&mut e.value);
        }
    }
}

/// The principal of an API key and when the key's use was last recorded.
#[derive(Clone)]
pub struct KeyPrincipal {
    pub principal: Principal,
    pub client_id: i64,
    pub last_used_at: Option<OffsetDateTime>,
}

/// Cached principals of sessions (access tokens) and API keys.
pub struct PrincipalCache {
    ttl: Duration,
    /// By session id (a random UUID per login), with the user the session belongs to.
    sessions: Fresh<String, (i64, Principal)>,
    keys: Fresh<String, KeyPrincipal>,
}

/// A read of the store started at this epoch and instant; what it finds is remembered
/// under them (so that a change committed meanwhile makes it stale at once).
#[derive(Clone, Copy)]
pub struct ReadMark {
    epoch: u64,
    at: Instant,
}

impl ReadMark {
    /// A mark for a read that starts now at `epoch`.
    pub fn new(epoch: u64) -> ReadMark {
        ReadMark { epoch, at: Instant::now() }
    }

    /// The credentials epoch the read starts at.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }
}

impl PrincipalCache {
    /// A cache whose entries live `ttl` (zero: nothing is cached).
    pub fn new(ttl: Duration) -> PrincipalCache {
        PrincipalCache { ttl, sessions: Fresh::new(), keys: Fresh::new() }
    }

    fn enabled(&self) -> bool {
        !self.ttl.is_zero()
    }

    /// The fresh principal of `user_id`'s live session `session`, if cached at `epoch`.
    pub fn session(&self, user_id: i64, session: &str, epoch: u64) -> Option<Principal> {
        if !self.enabled() {
            return None;
        }
        self.sessions.get(session, self.ttl, epoch).filter(|(owner, _)| *owner == user_id).map(|(_, p)| p)
    }

    /// Remembers the principal of a live session, read as `mark` says.
    pub fn remember_session(&self, user_id: i64, session: String, principal: Principal, mark: ReadMark) {
        if self.enabled() {
            self.sessions.put(session, (user_id, principal), self.ttl, mark.epoch, mark.at);
        }
    }

    /// The fresh principal of a verified API key, if cached at `epoch`.
    pub fn key(&self, key: &str, epoch: u64) -> Option<KeyPrincipal> {
        if !self.enabled() {
            return None;
        }
        self.keys.get(key, self.ttl, epoch)
    }

    /// Remembers the principal of a verified, unrevoked API key, read as `mark` says.
    pub fn remember_key(&self, key: String, principal: KeyPrincipal, mark: ReadMark) {
        if self.enabled() {
            self.keys.put(key, principal, self.ttl, mark.epoch, mark.at);
        }
    }

    /// Notes that the use of `key` was recorded at `at`.
    pub fn key_used(&self, key: &str, at: OffsetDateTime) {
        if self.enabled() {
            self.keys.update(key, |k| k.last_used_at = Some(at));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: i64) -> Principal {
        Principal::User { id, email: format!("u{id}@example.com"), name: "U".into(), roles: vec![] }
    }

    #[test]
    fn an_entry_is_fresh_until_the_epoch_moves_or_the_ttl_passes() {
        let cache = PrincipalCache::new(Duration::from_secs(60));
        cache.remember_session(1, "s".into(), user(1), ReadMark::new(7));
        assert!(cache.session(1, "s", 7).is_some());
        assert!(cache.session(1, "other", 7).is_none(), "another session of the same user");
        assert!(cache.session(2, "s", 7).is_none(), "the same session id of another user");
        assert!(cache.session(1, "s", 8).is_none(), "a change committed since");

        let short = PrincipalCache::new(Duration::from_millis(20));
        short.remember_session(1, "s".into(), user(1), ReadMark::new(0));
        assert!(short.session(1, "s", 0).is_some());
        std::thread::sleep(Duration::from_millis(30));
        assert!(short.session(1, "s", 0).is_none(), "older than the TTL");
    }

    #[test]
    fn a_read_that_started_before_a_change_is_stale_at_once() {
        let cache = PrincipalCache::new(Duration::from_secs(60));
        // The read starts at epoch 3; a change commits (epoch 4) before its result arrives.
        let mark = ReadMark::new(3);
        cache.remember_session(1, "s".into(), user(1), mark);
        assert!(cache.session(1, "s", 4).is_none());
    }

    #[test]
    fn a_zero_ttl_caches_nothing() {
        let cache = PrincipalCache::new(Duration::ZERO);
        cache.remember_session(1, "s".into(), user(1), ReadMark::new(0));
        assert!(cache.session(1, "s", 0).is_none());
        let key = KeyPrincipal { principal: user(1), client_id: 1, last_used_at: None };
        cache.remember_key("ktr_x".into(), key, ReadMark::new(0));
        assert!(cache.key("ktr_x", 0).is_none());
    }

    #[test]
    fn a_full_map_makes_room() {
        let cache = PrincipalCache::new(Duration::from_secs(60));
        for id in 0..(MAX_ENTRIES as i64 + 10) {
            cache.remember_session(id, format!("s{id}"), user(id), ReadMark::new(0));
        }
        let len = cache.sessions.entries.read().unwrap().len();
        assert!(len <= MAX_ENTRIES, "{len}");
        let newest = MAX_ENTRIES as i64 + 9;
        assert!(cache.session(newest, &format!("s{newest}"), 0).is_some(), "the newest entry is kept");
    }

    #[test]
    fn a_recorded_key_use_is_remembered() {
        let cache = PrincipalCache::new(Duration::from_secs(60));
        let key = KeyPrincipal { principal: user(1), client_id: 1, last_used_at: None };
        cache.remember_key("ktr_x".into(), key, ReadMark::new(0));
        let now = OffsetDateTime::now_utc();
        cache.key_used("ktr_x", now);
        assert_eq!(cache.key("ktr_x", 0).and_then(|k| k.last_used_at), Some(now));
    }
}
