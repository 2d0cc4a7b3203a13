//! The expiry index: when each live TTL put expires, so `stats()` and
//! `check()` leave expired keys out of `live_keys` and `live_bytes` (they
//! are not visible: `get` and `scan` skip them) without reading a record.
//!
//! The keydir knows only *that* an entry is a TTL put (the flag in its
//! sequence number, see [`crate::ttl`]); the expiry itself lives in the
//! record. This index keeps it in memory for the live TTL puts only:
//!
//! ```text
//! by_key:    key -> (expiry_unix_ms, payload bytes)    (update and remove by key)
//! by_expiry: (expiry_unix_ms, key) -> payload bytes    (what expired by a time)
//! ```
//!
//! A plain put or delete over a plain put never touches it, so a store
//! without TTL puts pays nothing. A TTL put, a write over a TTL put and a
//! merge's removal of an expired put cost O(log t) for t live TTL puts.
//! Counting what expired by `now` costs O(log t + e) for e expired puts
//! (the merge drops them, so e stays small under automatic merges).

use std::collections::{BTreeMap, HashMap};

/// The expiry and payload bytes of every live TTL put, by key and by
/// expiry.
#[derive(Debug, Default, Clone)]
pub struct ExpiryIndex {
    by_key: HashMap<Vec<u8>, (u64, u64)>,
    by_expiry: BTreeMap<(u64, Vec<u8>), u64>,
}

/// Live TTL puts that have expired at some moment.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Expired {
    /// How many.
    pub keys: u64,
    /// Their key plus user value bytes.
    pub payload_bytes: u64,
}

impl ExpiryIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Live TTL puts indexed.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// True when no live put has a TTL.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// Notes that the live record of `key` is a TTL put expiring at
    /// `expiry_unix_ms` holding `payload_bytes` of key and user value
    /// (replacing what was noted for `key`).
    pub fn insert(&mut self, key: &[u8], expiry_unix_ms: u64, payload_bytes: u64) {
        self.remove(key);
        self.by_key
            .insert(key.to_vec(), (expiry_unix_ms, payload_bytes));
        self.by_expiry
            .insert((expiry_unix_ms, key.to_vec()), payload_bytes);
    }

    /// Forgets `key` (its live record is no longer a TTL put, or it is
    /// gone).
    pub fn remove(&mut self, key: &[u8]) {
        if let Some((expiry, _)) = self.by_key.remove(key) {
            self.by_expiry.remove(&(expiry, key.to_vec()));
        }
    }

    /// The indexed puts that have expired at `now_unix_ms` (expiry at or
    /// before it, the rule `get` applies).
    pub fn expired_at(&self, now_unix_ms: u64) -> Expired {
        let mut expired = Expired::default();
        for ((expiry, _), bytes) in &self.by_expiry {
            if *expiry > now_unix_ms {
                break;
            }
            expired.keys += 1;
            expired.payload_bytes += bytes;
        }
        expired
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_only_what_expired_by_the_time_asked() {
        let mut index = ExpiryIndex::new();
        index.insert(b"a", 10, 5);
        index.insert(b"b", 20, 7);
        index.insert(b"c", 20, 1);
        assert_eq!(index.expired_at(9), Expired::default());
        assert_eq!(
            index.expired_at(10),
            Expired {
                keys: 1,
                payload_bytes: 5
            }
        );
        assert_eq!(index.expired_at(u64::MAX).keys, 3);
        // A rewrite moves the key; a removal forgets it.
        index.insert(b"a", 30, 4);
        assert_eq!(index.expired_at(10).keys, 0);
        index.remove(b"b");
        assert_eq!(
            index.expired_at(25),
            Expired {
                keys: 1,
                payload_bytes: 1
            }
        );
        assert_eq!(index.len(), 2);
        index.remove(b"missing");
        assert_eq!(index.len(), 2);
    }
}
