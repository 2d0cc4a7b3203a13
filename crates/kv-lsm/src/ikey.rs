//! Internal keys: a user key with the sequence number and kind of the write.
//!
//! ```text
//! | user key (n bytes) | trailer: (seq << 8 | kind) as u64 little-endian (8) |
//! ```
//!
//! Order: user key ascending, then sequence number descending, so the newest
//! version of a key comes first. Sequence numbers have 56 bits.

use std::cmp::Ordering;

/// Bytes of the trailer after the user key.
pub const TRAILER_BYTES: usize = 8;
/// Largest sequence number (56 bits).
pub const MAX_SEQ: u64 = (1 << 56) - 1;
/// Kind tag of a tombstone.
pub const KIND_DELETE: u8 = 0;
/// Kind tag of a put.
pub const KIND_PUT: u8 = 1;

/// Appends the internal key of (`user`, `seq`, `kind`) to `out`.
pub fn encode_into(out: &mut Vec<u8>, user: &[u8], seq: u64, kind: u8) {
    out.extend_from_slice(user);
    out.extend_from_slice(&((seq << 8) | u64::from(kind)).to_le_bytes());
}

/// The internal key of (`user`, `seq`, `kind`).
pub fn encode(user: &[u8], seq: u64, kind: u8) -> Vec<u8> {
    let mut out = Vec::with_capacity(user.len() + TRAILER_BYTES);
    encode_into(&mut out, user, seq, kind);
    out
}

/// Splits an internal key into (user key, seq, kind); `None` if it is
/// shorter than a trailer or the kind is unknown.
pub fn decode(ikey: &[u8]) -> Option<(&[u8], u64, u8)> {
    let split = ikey.len().checked_sub(TRAILER_BYTES)?;
    let (user, trailer) = ikey.split_at(split);
    let mut t = [0u8; 8];
    t.copy_from_slice(trailer);
    let t = u64::from_le_bytes(t);
    let kind = (t & 0xff) as u8;
    (kind == KIND_DELETE || kind == KIND_PUT).then_some((user, t >> 8, kind))
}

/// The user key part (the whole slice if it is too short to hold a trailer).
pub fn user_key(ikey: &[u8]) -> &[u8] {
    ikey.get(..ikey.len().saturating_sub(TRAILER_BYTES))
        .unwrap_or(ikey)
}

fn seq_of(ikey: &[u8]) -> u64 {
    decode(ikey).map_or(0, |(_, seq, _)| seq)
}

/// Compares internal keys: user key ascending, sequence number descending.
pub fn compare(a: &[u8], b: &[u8]) -> Ordering {
    user_key(a)
        .cmp(user_key(b))
        .then_with(|| seq_of(b).cmp(&seq_of(a)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newer_versions_sort_first() {
        let old = encode(b"k", 1, KIND_PUT);
        let new = encode(b"k", 2, KIND_DELETE);
        assert_eq!(compare(&new, &old), Ordering::Less);
        assert_eq!(
            compare(&encode(b"a", 1, 1), &encode(b"b", 9, 1)),
            Ordering::Less
        );
        assert_eq!(decode(&new), Some((&b"k"[..], 2, KIND_DELETE)));
        assert_eq!(decode(b"short"), None);
    }
}
