//! Key comparison without a libc call or a pointer chase: the keydir's hot
//! loop compares keys tens of times per lookup.
//!
//! [`compare_keys`] is byte order (what `<[u8]>::cmp` gives) computed eight
//! bytes at a time, inline. [`LeafBound`] is an owned key for the leaf
//! index: its first eight bytes as a big-endian `u64` (one register compare
//! decides most comparisons) and the key itself stored inline when short, so
//! a search through the index touches no heap memory for short keys.

use std::cmp::Ordering;

/// Keys up to this long are stored inside a [`LeafBound`] (which is then
/// 32 bytes in all).
const INLINE_KEY_BYTES: usize = 22;

/// Byte-order comparison of two keys (same result as `a.cmp(b)`).
#[inline]
pub fn compare_keys(a: &[u8], b: &[u8]) -> Ordering {
    let mut a_chunks = a.chunks_exact(8);
    let mut b_chunks = b.chunks_exact(8);
    for (x, y) in a_chunks.by_ref().zip(b_chunks.by_ref()) {
        let (x, y) = (word(x), word(y));
        if x != y {
            return x.cmp(&y);
        }
    }
    let done = (a.len().min(b.len()) / 8) * 8;
    a[done..].cmp(&b[done..])
}

#[inline]
fn word(chunk: &[u8]) -> u64 {
    let mut w = [0; 8];
    w.copy_from_slice(chunk);
    u64::from_be_bytes(w)
}

/// The first eight bytes of `key`, zero-padded, as a big-endian number: if
/// `key_prefix(a) < key_prefix(b)` then `a < b`.
#[inline]
pub fn key_prefix(key: &[u8]) -> u64 {
    let mut w = [0; 8];
    let n = key.len().min(8);
    w[..n].copy_from_slice(&key[..n]);
    u64::from_be_bytes(w)
}

#[derive(Debug, Clone)]
enum KeyBytes {
    Inline {
        len: u8,
        bytes: [u8; INLINE_KEY_BYTES],
    },
    Heap(Box<[u8]>),
}

/// An owned key ordered like its bytes, cheap to compare.
#[derive(Debug, Clone)]
pub struct LeafBound {
    prefix: u64,
    bytes: KeyBytes,
}

impl LeafBound {
    /// A bound holding `key` (allocates only for keys over 22 bytes).
    pub fn new(key: &[u8]) -> Self {
        let bytes = if key.len() <= INLINE_KEY_BYTES {
            let mut bytes = [0; INLINE_KEY_BYTES];
            bytes[..key.len()].copy_from_slice(key);
            KeyBytes::Inline {
                len: key.len() as u8,
                bytes,
            }
        } else {
            KeyBytes::Heap(key.into())
        };
        Self {
            prefix: key_prefix(key),
            bytes,
        }
    }

    /// The empty key, the smallest key.
    pub fn empty() -> Self {
        Self::new(&[])
    }

    /// The key.
    pub fn key(&self) -> &[u8] {
        match &self.bytes {
            KeyBytes::Inline { len, bytes } => &bytes[..usize::from(*len)],
            KeyBytes::Heap(key) => key,
        }
    }

    /// Heap bytes it holds beyond its own size.
    pub fn heap_bytes(&self) -> usize {
        match &self.bytes {
            KeyBytes::Inline { .. } => 0,
            KeyBytes::Heap(key) => key.len(),
        }
    }
}

impl Ord for LeafBound {
    fn cmp(&self, other: &Self) -> Ordering {
        self.prefix
            .cmp(&other.prefix)
            .then_with(|| compare_keys(self.key(), other.key()))
    }
}

impl PartialOrd for LeafBound {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for LeafBound {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for LeafBound {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn orders_like_bytes(
            a in proptest::collection::vec(0u8..4, 0..40),
            b in proptest::collection::vec(0u8..4, 0..40),
        ) {
            prop_assert_eq!(compare_keys(&a, &b), a.cmp(&b));
            prop_assert_eq!(LeafBound::new(&a).cmp(&LeafBound::new(&b)), a.cmp(&b));
            let bound = LeafBound::new(&a);
            prop_assert_eq!(bound.key(), &a[..]);
        }
    }

    #[test]
    fn bound_is_32_bytes() {
        assert_eq!(std::mem::size_of::<LeafBound>(), 32);
    }

    #[test]
    fn zero_padding_ties_are_broken_by_the_bytes() {
        assert!(LeafBound::new(b"a") < LeafBound::new(b"a\0"));
        assert!(LeafBound::empty() < LeafBound::new(b"\0"));
    }
}
