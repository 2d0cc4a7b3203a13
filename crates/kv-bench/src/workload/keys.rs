//! Keys and values of every workload.
//!
//! # Keys
//!
//! A key is `--key-size` bytes made from a key index `i`:
//!
//! ```text
//! | i as big-endian u64 (8) | filler: splitmix64 stream seeded by i (key_size - 8) |
//! ```
//!
//! The big-endian index first makes byte order equal index order, so
//! `fillseq` (indices `0, 1, 2, ...`) writes keys in ascending order and
//! `fillrandom` (a shuffled order) does not. The filler is a hash of the index,
//! so keys are not trivially compressible and two indices never share a key.
//!
//! A *missing* key (for `readmissing`) has the index and filler of key `i`
//! with the lowest bit of its last byte flipped: it sorts right next to key
//! `i`, so an engine has to consult its index or filters, not just a key-range
//! fence, to know it is absent. With `--key-size 8` there is no filler and a
//! missing key is the index with its top bit set instead (it sorts after every
//! real key).
//!
//! # Values
//!
//! Values are `--value-size` byte slices of a seeded pool built like
//! db_bench's: the pool is made of 100-byte pieces, each 50 random printable
//! bytes followed by the same 50 bytes again, so a value compresses to about
//! half its size with any LZ-style compressor. Value number `n` starts at a
//! pseudo-random offset derived from `n`, so the same seed gives the same
//! values and nothing is allocated per operation.

use kv_core::limits::{MAX_KEY_BYTES, MAX_VALUE_BYTES};
use kv_core::{Error, Result};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

/// Smallest key size in bytes: the big-endian index takes 8.
pub const MIN_KEY_BYTES: usize = 8;

/// Bytes of one pool piece: half random, half a copy of the random half.
const PIECE_BYTES: usize = 100;

/// Smallest value pool (1 MiB), as in db_bench.
const MIN_POOL_BYTES: usize = 1 << 20;

/// The splitmix64 finalizer: a cheap, well-mixed bijection on `u64`.
#[inline]
pub fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Makes the fixed-size keys of one benchmark run from key indices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyFormat {
    key_size: usize,
}

impl KeyFormat {
    /// Keys of `key_size` bytes.
    ///
    /// # Errors
    /// `InvalidArgument` unless `MIN_KEY_BYTES <= key_size <= MAX_KEY_BYTES`.
    pub fn new(key_size: usize) -> Result<Self> {
        if !(MIN_KEY_BYTES..=MAX_KEY_BYTES).contains(&key_size) {
            return Err(Error::InvalidArgument(format!(
                "key size {key_size} is out of range: use {MIN_KEY_BYTES}..={MAX_KEY_BYTES} bytes"
            )));
        }
        Ok(Self { key_size })
    }

    /// Bytes per key.
    #[inline]
    pub fn key_size(&self) -> usize {
        self.key_size
    }

    /// Writes the key of `index` into `out`. REQUIRES: `out.len() == key_size`
    /// and `index < 2^63` (indices at or above are the missing-key space of
    /// 8-byte keys).
    #[inline]
    pub fn write_key(&self, index: u64, out: &mut [u8]) {
        debug_assert_eq!(out.len(), self.key_size);
        let (head, filler) = out.split_at_mut(MIN_KEY_BYTES);
        head.copy_from_slice(&index.to_be_bytes());
        let mut state = index;
        for chunk in filler.chunks_mut(8) {
            state = splitmix64(state);
            let bytes = state.to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }

    /// Writes a key that no `write_key` index ever produces, sorting right
    /// after key `index` (or after every key, for 8-byte keys).
    #[inline]
    pub fn write_missing_key(&self, index: u64, out: &mut [u8]) {
        if self.key_size == MIN_KEY_BYTES {
            self.write_key(index | (1 << 63), out);
            return;
        }
        self.write_key(index, out);
        if let Some(last) = out.last_mut() {
            *last ^= 1;
        }
    }

    /// The key of `index`, allocated (for tests and setup, not the hot path).
    pub fn key(&self, index: u64) -> Vec<u8> {
        let mut out = vec![0; self.key_size];
        self.write_key(index, &mut out);
        out
    }

    /// The index a key was made from (its first 8 bytes), if it is long enough.
    pub fn index_of(key: &[u8]) -> Option<u64> {
        let head: [u8; 8] = key.get(..MIN_KEY_BYTES)?.try_into().ok()?;
        Some(u64::from_be_bytes(head))
    }
}

/// A seeded pool that values are sliced from (see the module docs).
#[derive(Debug, Clone)]
pub struct ValuePool {
    pool: Vec<u8>,
    value_size: usize,
}

impl ValuePool {
    /// A pool of values of `value_size` bytes, drawn from `seed`.
    ///
    /// # Errors
    /// `InvalidArgument` if `value_size` exceeds the engine value limit.
    pub fn new(seed: u64, value_size: usize) -> Result<Self> {
        if value_size > MAX_VALUE_BYTES {
            return Err(Error::InvalidArgument(format!(
                "value size {value_size} is over the limit of {MAX_VALUE_BYTES} bytes"
            )));
        }
        let pool_bytes = MIN_POOL_BYTES.max(value_size.saturating_mul(2));
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(splitmix64(seed ^ 0x7661_6c75_6573));
        let mut pool = Vec::with_capacity(pool_bytes + PIECE_BYTES);
        let mut half = [0u8; PIECE_BYTES / 2];
        while pool.len() < pool_bytes {
            for byte in half.iter_mut() {
                *byte = rng.random_range(b' '..=b'~');
            }
            pool.extend_from_slice(&half);
            pool.extend_from_slice(&half);
        }
        pool.truncate(pool_bytes);
        Ok(Self { pool, value_size })
    }

    /// Bytes per value.
    pub fn value_size(&self) -> usize {
        self.value_size
    }

    /// Value number `n`: a slice of the pool at an offset derived from `n`.
    #[inline]
    pub fn value(&self, n: u64) -> &[u8] {
        let starts = (self.pool.len() - self.value_size + 1) as u64;
        // Multiply-shift maps the hash onto 0..starts without a division.
        let start = ((u128::from(splitmix64(n)) * u128::from(starts)) >> 64) as usize;
        &self.pool[start..start + self.value_size]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_order_is_index_order_and_keys_are_distinct() {
        let keys = KeyFormat::new(16).unwrap();
        let all: Vec<_> = (0..2000).map(|i| keys.key(i)).collect();
        assert!(all.windows(2).all(|w| w[0] < w[1]));
        assert!(all.iter().all(|k| k.len() == 16));
        assert_eq!(KeyFormat::index_of(&all[1234]), Some(1234));
    }

    #[test]
    fn missing_keys_never_collide_with_real_keys() {
        for size in [8, 9, 16, 100] {
            let keys = KeyFormat::new(size).unwrap();
            let real: std::collections::HashSet<_> = (0..1000).map(|i| keys.key(i)).collect();
            let mut buf = vec![0; size];
            for i in 0..1000 {
                keys.write_missing_key(i, &mut buf);
                assert!(!real.contains(&buf), "size {size} index {i}");
            }
        }
    }

    #[test]
    fn key_size_is_checked() {
        assert!(KeyFormat::new(7).is_err());
        assert!(KeyFormat::new(MAX_KEY_BYTES + 1).is_err());
        assert!(KeyFormat::new(MAX_KEY_BYTES).is_ok());
    }

    #[test]
    fn values_are_seeded_and_half_compressible() {
        let a = ValuePool::new(7, 100).unwrap();
        let b = ValuePool::new(7, 100).unwrap();
        let c = ValuePool::new(8, 100).unwrap();
        assert_eq!(a.value(5), b.value(5));
        assert_ne!(a.value(5), c.value(5));
        assert_eq!(a.value(3).len(), 100);
        // Each piece repeats its first half.
        assert_eq!(a.pool[..50], a.pool[50..100]);
        let big = ValuePool::new(1, 3 << 20).unwrap();
        assert_eq!(big.value(9).len(), 3 << 20);
        let empty = ValuePool::new(1, 0).unwrap();
        assert!(empty.value(1).is_empty());
    }
}
