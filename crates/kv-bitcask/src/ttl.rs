//! Time to live: how an expiring put is stored, and the clock it is measured
//! against.
//!
//! # Encoding
//!
//! The shared record codec has no field for an expiry, and a marker inside
//! the value would be ambiguous (any user value may start with any bytes). So
//! the marker lives where no user data can reach: the top bit of the record's
//! 64-bit sequence number, which is covered by the record checksum. Sequence
//! numbers of this store stay below 2^62, so a plain put never has the bit
//! set, and a record with the bit set is always a TTL put:
//!
//! ```text
//! TTL put = codec Put { seq: (sequence | TTL_SEQ_FLAG), key, value: expiry_unix_ms (8, LE) ++ user value }
//! ```
//!
//! A plain put stays a plain codec `Put` whose value is the user's value,
//! byte for byte. The expiry costs 8 bytes in the record and nothing in the
//! keydir: the flag rides along in the keydir entry's sequence number, and
//! the expiry is checked when the record is read (every `get` and `scan`
//! reads it anyway). Because the 8 bytes count against the codec's value
//! limit, `put_with_ttl` accepts values up to `MAX_VALUE_BYTES - 8`. So that
//! `stats()` can leave expired keys out without reading records, the
//! expiries of live TTL puts are also kept in [`crate::expiry_index`].

use std::fmt::Debug;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Bit of the stored sequence number that marks a TTL put.
pub const TTL_SEQ_FLAG: u64 = 1 << 63;

/// Sequence numbers stay below this; the store refuses writes past it
/// (after 4.6 * 10^18 writes, so never in practice).
pub const MAX_SEQUENCE: u64 = 1 << 62;

/// Bytes of the expiry prefix of a TTL put's stored value.
pub const EXPIRY_PREFIX_BYTES: usize = 8;

/// The sequence number without the TTL flag.
pub fn plain_seq(stored_seq: u64) -> u64 {
    stored_seq & !TTL_SEQ_FLAG
}

/// True if a stored sequence number marks a TTL put.
pub fn is_ttl_seq(stored_seq: u64) -> bool {
    stored_seq & TTL_SEQ_FLAG != 0
}

/// Splits a TTL put's stored value into its expiry (Unix milliseconds) and
/// the user value; `None` if the stored value is shorter than the prefix.
pub fn split_expiry(stored_value: &[u8]) -> Option<(u64, &[u8])> {
    let (prefix, value) = stored_value.split_at_checked(EXPIRY_PREFIX_BYTES)?;
    let mut bytes = [0; EXPIRY_PREFIX_BYTES];
    bytes.copy_from_slice(prefix);
    Some((u64::from_le_bytes(bytes), value))
}

/// Unix milliseconds `ttl` after `now_unix_ms`, saturating.
pub fn expiry_after(now_unix_ms: u64, ttl: Duration) -> u64 {
    let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
    now_unix_ms.saturating_add(ttl_ms)
}

/// A source of wall-clock time for TTL expiry.
pub trait Clock: Send + Sync + Debug {
    /// Milliseconds since the Unix epoch.
    fn now_unix_ms(&self) -> u64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix_ms(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0)
    }
}

/// A clock that moves only when told to, for deterministic TTL tests.
#[derive(Debug, Default)]
pub struct ManualClock {
    now_unix_ms: AtomicU64,
}

impl ManualClock {
    /// A clock reading `now_unix_ms`.
    pub fn new(now_unix_ms: u64) -> Self {
        Self {
            now_unix_ms: AtomicU64::new(now_unix_ms),
        }
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let by_ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        let _ = self
            .now_unix_ms
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |now| {
                Some(now.saturating_add(by_ms))
            });
    }
}

impl Clock for ManualClock {
    fn now_unix_ms(&self) -> u64 {
        self.now_unix_ms.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_round_trips_and_plain_sequences_never_carry_it() {
        let seq = MAX_SEQUENCE - 1;
        assert!(!is_ttl_seq(seq));
        assert!(is_ttl_seq(seq | TTL_SEQ_FLAG));
        assert_eq!(plain_seq(seq | TTL_SEQ_FLAG), seq);
    }

    #[test]
    fn expiry_prefix_splits() {
        let mut stored = 1234u64.to_le_bytes().to_vec();
        stored.extend_from_slice(b"value");
        assert_eq!(split_expiry(&stored), Some((1234, &b"value"[..])));
        assert_eq!(split_expiry(b"short"), None);
    }

    #[test]
    fn manual_clock_advances() {
        let clock = ManualClock::new(10);
        clock.advance(Duration::from_millis(5));
        assert_eq!(clock.now_unix_ms(), 15);
        assert_eq!(expiry_after(u64::MAX - 1, Duration::from_secs(1)), u64::MAX);
    }
}
