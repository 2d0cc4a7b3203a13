//! [`LeReader`]: bounds-checked little-endian decoding of untrusted bytes, and
//! [`seal_block`] / [`open_block`]: the checksum trailer of a block or page.
//!
//! Every decoder of an on-disk structure (SSTable blocks, B-tree pages, hint
//! entries, manifests) reads through an `LeReader`, so a short or lying buffer
//! is an error, never a panic or an out-of-bounds index.

use std::path::Path;

use crate::error::{CorruptionKind, Error, Result};

/// A cursor over untrusted bytes. Every read checks the bounds; a read past
/// the end returns `None` and leaves the cursor where it was.
#[derive(Debug, Clone)]
pub struct LeReader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> LeReader<'a> {
    /// A cursor at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bytes left.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// True when every byte was consumed.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The next `n` bytes.
    pub fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let out = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(out)
    }

    /// The next `N` bytes as an array.
    pub fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.bytes(N)?.try_into().ok()
    }

    /// A `u8`.
    pub fn u8(&mut self) -> Option<u8> {
        Some(self.array::<1>()?[0])
    }

    /// A little-endian `u16`.
    pub fn u16(&mut self) -> Option<u16> {
        self.array().map(u16::from_le_bytes)
    }

    /// A little-endian `u32`.
    pub fn u32(&mut self) -> Option<u32> {
        self.array().map(u32::from_le_bytes)
    }

    /// A little-endian `u64`.
    pub fn u64(&mut self) -> Option<u64> {
        self.array().map(u64::from_le_bytes)
    }

    /// A LEB128 varint of at most 10 bytes (a `u64`).
    pub fn varint(&mut self) -> Option<u64> {
        let start = self.pos;
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let Some(byte) = self.u8() else {
                self.pos = start;
                return None;
            };
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(value);
            }
        }
        self.pos = start;
        None
    }

    /// A length field that must not exceed `max` nor the bytes left, as a
    /// `usize`: the way to read a length before allocating by it.
    pub fn len_u32(&mut self, max: usize) -> Option<usize> {
        let start = self.pos;
        let len = usize::try_from(self.u32()?).ok()?;
        if len > max || len > self.remaining() {
            self.pos = start;
            return None;
        }
        Some(len)
    }
}

/// Appends a LEB128 varint.
pub fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Bytes of the trailer [`seal_block`] appends.
pub const BLOCK_TRAILER_BYTES: usize = 4;

/// Appends the checksum trailer (crc32 of everything in `block`, little
/// endian) to a block or page.
pub fn seal_block(block: &mut Vec<u8>) {
    let crc = crc32fast::hash(block);
    block.extend_from_slice(&crc.to_le_bytes());
}

/// Verifies a block sealed by [`seal_block`] and returns its payload (the
/// bytes before the trailer). `file` and `offset` name the block in the
/// `Corruption` error.
///
/// # Errors
/// `Corruption` (`BadLength` if shorter than the trailer, `ChecksumMismatch`).
pub fn open_block<'a>(sealed: &'a [u8], file: &Path, offset: u64) -> Result<&'a [u8]> {
    let Some(split) = sealed.len().checked_sub(BLOCK_TRAILER_BYTES) else {
        return Err(Error::corruption(
            file,
            offset,
            CorruptionKind::BadLength {
                got: sealed.len() as u64,
                max: BLOCK_TRAILER_BYTES as u64,
            },
        ));
    };
    let (payload, trailer) = sealed.split_at(split);
    let mut stored = [0u8; BLOCK_TRAILER_BYTES];
    stored.copy_from_slice(trailer);
    let stored = u32::from_le_bytes(stored);
    let computed = crc32fast::hash(payload);
    if stored != computed {
        return Err(Error::corruption(
            file,
            offset,
            CorruptionKind::ChecksumMismatch {
                expected: stored,
                got: computed,
            },
        ));
    }
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_bounds_checked() {
        let mut r = LeReader::new(&[1, 0, 2, 0, 0, 0, 9]);
        assert_eq!(r.u16(), Some(1));
        assert_eq!(r.u32(), Some(2));
        assert_eq!(r.u32(), None);
        assert_eq!(r.position(), 6, "a failed read must not move the cursor");
        assert_eq!(r.u8(), Some(9));
        assert!(r.is_empty());
        assert_eq!(r.bytes(usize::MAX), None);
    }

    #[test]
    fn varints_round_trip_and_reject_overlong_input() {
        for v in [0, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            assert_eq!(LeReader::new(&out).varint(), Some(v));
        }
        assert_eq!(LeReader::new(&[0x80; 11]).varint(), None);
        assert_eq!(LeReader::new(&[0x80]).varint(), None);
    }

    #[test]
    fn lengths_never_exceed_the_buffer() {
        let mut buf = 1000u32.to_le_bytes().to_vec();
        buf.extend_from_slice(&[0; 10]);
        assert_eq!(LeReader::new(&buf).len_u32(usize::MAX), None);
        assert_eq!(LeReader::new(&buf[..]).len_u32(5), None);
        let mut ok = 3u32.to_le_bytes().to_vec();
        ok.extend_from_slice(b"abc");
        assert_eq!(LeReader::new(&ok).len_u32(10), Some(3));
    }

    #[test]
    fn sealed_blocks_detect_every_flip() {
        let mut block = b"some block payload".to_vec();
        seal_block(&mut block);
        assert_eq!(
            open_block(&block, Path::new("f"), 0).unwrap(),
            b"some block payload"
        );
        for i in 0..block.len() {
            let mut bad = block.clone();
            bad[i] ^= 0x10;
            assert!(open_block(&bad, Path::new("f"), 0)
                .unwrap_err()
                .is_corruption());
        }
        assert!(open_block(&[1, 2], Path::new("f"), 7).is_err());
    }
}
