//! The skiplist's key: one version of one user key, with its value in the
//! same allocation, and what one entry costs in heap.

use std::cmp::Ordering;
use std::mem::size_of;

/// A key of the skiplist: ordered by user key, then sequence number
/// descending. It also carries the version's value, so an entry costs two
/// heap allocations (the skiplist node and `bytes`), not three.
///
/// The first 8 bytes of the user key are kept inline as a big-endian `u64`
/// (zero-padded), compared first: most comparisons of a skiplist search
/// then never touch the heap-allocated key (the search was dominated by
/// those cache misses). Zero padding keeps the order: the prefixes order
/// keys as the keys do, ties are broken by the whole key.
///
/// Equality and order look at the user key and the sequence number only.
#[derive(Debug, Clone)]
pub struct MemKey {
    prefix: u64,
    seq: u64,
    /// The user key, then the value (nothing after the key for a tombstone
    /// or a search key).
    bytes: Box<[u8]>,
    key_len: u32,
    tombstone: bool,
}

impl MemKey {
    /// The search key of version `seq` of `user` (it carries no value).
    pub fn new(user: &[u8], seq: u64) -> Self {
        Self::version(user, seq, None)
    }

    /// Version `seq` of `user` with `value` (`None`: a tombstone). `user`
    /// is at most the 4 KiB key limit, which every write checks first, so
    /// its length fits the `u32` kept.
    pub fn version(user: &[u8], seq: u64, value: Option<&[u8]>) -> Self {
        let value_bytes = value.unwrap_or_default();
        let mut bytes = Vec::with_capacity(user.len() + value_bytes.len());
        bytes.extend_from_slice(user);
        bytes.extend_from_slice(value_bytes);
        Self {
            prefix: crate::table::reader::key_prefix(user),
            seq,
            bytes: bytes.into_boxed_slice(),
            key_len: user.len() as u32,
            tombstone: value.is_none(),
        }
    }

    /// The user key.
    pub fn user(&self) -> &[u8] {
        &self.bytes[..self.key_len as usize]
    }

    /// The sequence number of the write.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The value written (`None` for a tombstone; empty for a search key).
    pub fn value(&self) -> Option<&[u8]> {
        (!self.tombstone).then(|| &self.bytes[self.key_len as usize..])
    }

    /// The search key of this version: the same order, no value.
    pub fn search_key(&self) -> MemKey {
        MemKey::new(self.user(), self.seq)
    }

    /// True when `other` is a version of the same user key.
    pub fn same_user(&self, other: &MemKey) -> bool {
        self.prefix == other.prefix && self.user() == other.user()
    }
}

impl Ord for MemKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.prefix
            .cmp(&other.prefix)
            .then_with(|| self.user().cmp(other.user()))
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

impl PartialOrd for MemKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for MemKey {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for MemKey {}

/// Heap bytes one memtable entry takes with `key_len` key bytes and
/// `value_len` value bytes: its skiplist node and its one allocation, each
/// rounded as glibc's allocator rounds it. This is what `write_buffer_bytes`
/// counts, so a memtable counted at 64 MiB holds about 64 MiB of heap.
pub fn entry_heap_bytes(key_len: usize, value_len: usize) -> usize {
    NODE_HEAP_BYTES + allocation_bytes(key_len + value_len)
}

/// A skiplist node holding a [`MemKey`] and a `()` value: the key, the
/// reference count and height word, and a tower of two pointers on average
/// (crossbeam's heights are geometric with p = 1/2).
const NODE_HEAP_BYTES: usize =
    allocation_bytes(size_of::<MemKey>() + size_of::<usize>() + 2 * size_of::<usize>());

/// What an allocation of `requested` bytes takes from glibc's allocator:
/// an 8-byte chunk header, rounded up to 16 bytes, 32 bytes at least.
const fn allocation_bytes(requested: usize) -> usize {
    let chunk = (requested + 8 + 15) & !15;
    if chunk < 32 {
        32
    } else {
        chunk
    }
}

/// A skiplist key seen through its parts, so a `get` probes the skiplist
/// with a key it borrows ([`Probe`]) instead of copying the user key into
/// a [`MemKey`] per memtable probed. Ordered exactly as [`MemKey`].
pub trait KeyView {
    /// The first 8 bytes of the user key, zero-padded, big-endian.
    fn prefix(&self) -> u64;
    /// The user key.
    fn user(&self) -> &[u8];
    /// The sequence number.
    fn seq(&self) -> u64;
}

impl KeyView for MemKey {
    fn prefix(&self) -> u64 {
        self.prefix
    }
    fn user(&self) -> &[u8] {
        MemKey::user(self)
    }
    fn seq(&self) -> u64 {
        self.seq
    }
}

/// A borrowed probe key: `user` at `seq`.
#[derive(Debug, Clone, Copy)]
pub struct Probe<'a> {
    prefix: u64,
    user: &'a [u8],
    seq: u64,
}

impl<'a> Probe<'a> {
    /// The probe for version `seq` of `user`.
    pub fn new(user: &'a [u8], seq: u64) -> Self {
        Self {
            prefix: crate::table::reader::key_prefix(user),
            user,
            seq,
        }
    }
}

impl KeyView for Probe<'_> {
    fn prefix(&self) -> u64 {
        self.prefix
    }
    fn user(&self) -> &[u8] {
        self.user
    }
    fn seq(&self) -> u64 {
        self.seq
    }
}

impl<'a> std::borrow::Borrow<dyn KeyView + 'a> for MemKey {
    fn borrow(&self) -> &(dyn KeyView + 'a) {
        self
    }
}

impl Ord for dyn KeyView + '_ {
    fn cmp(&self, other: &Self) -> Ordering {
        self.prefix()
            .cmp(&other.prefix())
            .then_with(|| self.user().cmp(other.user()))
            .then_with(|| other.seq().cmp(&self.seq()))
    }
}

impl PartialOrd for dyn KeyView + '_ {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for dyn KeyView + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for dyn KeyView + '_ {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_prefixes_keep_the_key_order() {
        let keys: [&[u8]; 9] = [
            b"",
            b"\x00",
            b"a",
            b"a\x00",
            b"a\x00\x01",
            b"abcdefgh",
            b"abcdefgh\x00",
            b"abcdefghi",
            b"\xff\xff\xff\xff\xff\xff\xff\xff\xff",
        ];
        for a in keys {
            for b in keys {
                assert_eq!(
                    MemKey::new(a, 1).cmp(&MemKey::new(b, 1)),
                    a.cmp(b),
                    "{a:?} {b:?}"
                );
            }
        }
        assert!(MemKey::new(b"k", 2) < MemKey::new(b"k", 1));
    }

    #[test]
    fn a_version_keeps_its_key_and_value_apart() {
        let put = MemKey::version(b"key", 7, Some(b"value"));
        assert_eq!(
            (put.user(), put.seq(), put.value()),
            (&b"key"[..], 7, Some(&b"value"[..]))
        );
        let tombstone = MemKey::version(b"key", 8, None);
        assert_eq!(tombstone.value(), None);
        let empty = MemKey::version(b"key", 9, Some(b""));
        assert_eq!(empty.value(), Some(&b""[..]));
        assert_eq!(
            put,
            MemKey::new(b"key", 7),
            "order and equality ignore the value"
        );
    }

    #[test]
    fn allocations_round_as_glibc_does() {
        assert_eq!(allocation_bytes(0), 32);
        assert_eq!(allocation_bytes(24), 32);
        assert_eq!(allocation_bytes(25), 48);
        assert_eq!(allocation_bytes(116), 128);
    }
}
