//! Bloom filters: `bits_per_key` bits per key, `k = bits_per_key * ln 2`
//! probes by double hashing (Kirsch-Mitzenmacher) of a 64-bit FNV-1a hash.
//!
//! ```text
//! | bit array (m/8 bytes) | k (u8) | crc32 (4, seal_block) |
//! ```
//!
//! A key that was added always tests positive (no false negatives); about 1%
//! of absent keys test positive at 10 bits per key.

use kv_core::codec::seal_block;
use kv_core::CorruptionKind;

/// Most probes accepted when decoding a filter.
pub const MAX_PROBES: u8 = 30;

/// A 64-bit FNV-1a hash with a final avalanche (stable across builds: it is
/// part of the on-disk format).
pub fn hash(key: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in key {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h
}

/// Builds a filter from the hashes of the keys of one table.
pub fn build(hashes: &[u64], bits_per_key: usize) -> Vec<u8> {
    let k = ((bits_per_key as f64) * std::f64::consts::LN_2).round() as u8;
    let k = k.clamp(1, MAX_PROBES);
    let bits = (hashes.len() * bits_per_key).max(64);
    let bytes = bits.div_ceil(8);
    let bits = bytes * 8;
    let mut out = vec![0u8; bytes];
    for &h in hashes {
        let (mut a, b) = (h, (h >> 32) | 1);
        for _ in 0..k {
            let bit = (a % bits as u64) as usize;
            out[bit / 8] |= 1 << (bit % 8);
            a = a.wrapping_add(b);
        }
    }
    out.push(k);
    seal_block(&mut out);
    out
}

/// A decoded filter.
#[derive(Debug, Clone)]
pub struct Bloom {
    bits: Vec<u8>,
    k: u8,
}

impl Bloom {
    /// Parses a filter payload (trailer verified and removed).
    ///
    /// # Errors
    /// `BadLength` for an empty array or a probe count out of range.
    pub fn decode(payload: &[u8]) -> Result<Self, CorruptionKind> {
        let (&k, bits) = payload
            .split_last()
            .ok_or(CorruptionKind::BadLength { got: 0, max: 0 })?;
        if bits.is_empty() || k == 0 || k > MAX_PROBES {
            return Err(CorruptionKind::Invariant(format!(
                "bloom filter with {} bytes and {k} probes",
                bits.len()
            )));
        }
        Ok(Self {
            bits: bits.to_vec(),
            k,
        })
    }

    /// False when the key is certainly absent.
    pub fn may_contain(&self, h: u64) -> bool {
        let bits = self.bits.len() as u64 * 8;
        let (mut a, b) = (h, (h >> 32) | 1);
        for _ in 0..self.k {
            let bit = (a % bits) as usize;
            if self
                .bits
                .get(bit / 8)
                .is_none_or(|byte| byte & (1 << (bit % 8)) == 0)
            {
                return false;
            }
            a = a.wrapping_add(b);
        }
        true
    }

    /// Bytes held.
    pub fn size_bytes(&self) -> usize {
        self.bits.len()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn false_positive_rate_is_about_one_percent() {
        let hashes: Vec<u64> = (0..10_000u32).map(|i| hash(&i.to_le_bytes())).collect();
        let sealed = build(&hashes, 10);
        let bloom = Bloom::decode(&sealed[..sealed.len() - 4]).unwrap();
        assert!(hashes.iter().all(|&h| bloom.may_contain(h)));
        let fp = (10_000..110_000u32)
            .filter(|i| bloom.may_contain(hash(&i.to_le_bytes())))
            .count();
        assert!(fp < 2_000, "{fp} false positives in 100000");
    }

    #[test]
    fn decoder_rejects_nonsense() {
        assert!(Bloom::decode(&[]).is_err());
        assert!(Bloom::decode(&[7]).is_err());
        assert!(Bloom::decode(&[0xff, 0]).is_err());
        assert!(Bloom::decode(&[0xff, 200]).is_err());
    }
}
