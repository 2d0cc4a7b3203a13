//! The one-byte key prefix for peers that refuse the empty key.
//!
//! kvlab allows the empty key; fjall (lsm-tree) and LMDB do not. Their
//! adapters store every user key `k` as `[KEY_PREFIX] ++ k`. Prepending the
//! same byte to every key keeps byte order, so scans need only their bounds
//! mapped the same way. The cost is one byte per stored key.

use std::ops::Bound;

use kv_core::KeyRange;

/// The byte in front of every stored key.
pub const KEY_PREFIX: u8 = 0;

/// The stored form of a user key.
pub fn encode(key: &[u8]) -> Vec<u8> {
    let mut stored = Vec::with_capacity(key.len() + 1);
    stored.push(KEY_PREFIX);
    stored.extend_from_slice(key);
    stored
}

/// The user key inside a stored key, or `None` if `stored` does not start
/// with [`KEY_PREFIX`] (which only a damaged or foreign store can hold).
pub fn decode(stored: &[u8]) -> Option<&[u8]> {
    match stored.split_first() {
        Some((&KEY_PREFIX, key)) => Some(key),
        _ => None,
    }
}

/// The bounds over stored keys that select exactly the user keys in
/// `range`. An unbounded end stays unbounded: every stored key carries the
/// prefix, so nothing else can match.
pub fn encode_range(range: &KeyRange) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    (encode_bound(&range.start), encode_bound(&range.end))
}

fn encode_bound(bound: &Bound<Vec<u8>>) -> Bound<Vec<u8>> {
    match bound {
        Bound::Included(key) => Bound::Included(encode(key)),
        Bound::Excluded(key) => Bound::Excluded(encode(key)),
        Bound::Unbounded => Bound::Unbounded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_round_trips_and_keeps_order() {
        let keys: [&[u8]; 5] = [b"", b"\x00", b"\x00\x00", b"a", b"\xff"];
        for pair in keys.windows(2) {
            assert!(encode(pair[0]) < encode(pair[1]), "{pair:?}");
        }
        for key in keys {
            assert_eq!(decode(&encode(key)), Some(key));
        }
        assert_eq!(decode(b""), None);
        assert_eq!(decode(b"\x01a"), None);
    }

    #[test]
    fn range_bounds_keep_their_kind() {
        let range = KeyRange::new(b"a".to_vec()..=b"c".to_vec());
        assert_eq!(
            encode_range(&range),
            (
                Bound::Included(b"\x00a".to_vec()),
                Bound::Included(b"\x00c".to_vec())
            )
        );
        assert_eq!(
            encode_range(&KeyRange::all()),
            (Bound::Unbounded, Bound::Unbounded)
        );
    }
}
