//! Blocks: sorted entries with prefix-compressed keys and restart points.
//!
//! ```text
//! entry:   | shared (varint) | unshared (varint) | value_len (varint) | key[shared..] | value |
//! block:   | entry ... | restart offset (u32 LE) x n | n (u32 LE) | crc32 (4, seal_block) |
//! ```
//!
//! A restart entry stores its whole key (`shared = 0`); every
//! `restart_interval` entries start a restart. Data blocks hold internal
//! keys; the index block uses the same layout with a restart per entry.
//! Decoding checks every length against the bytes present and never
//! allocates by an untrusted length.

use std::cmp::Ordering;
use std::ops::Range;

use kv_core::codec::{put_varint, seal_block, LeReader};
use kv_core::CorruptionKind;

/// A decoded entry: its key and where its value lies in the block.
pub type Entry = (Vec<u8>, Range<usize>);

/// Builds one block.
#[derive(Debug)]
pub struct BlockBuilder {
    buf: Vec<u8>,
    restarts: Vec<u32>,
    since_restart: usize,
    interval: usize,
    last_key: Vec<u8>,
    entries: usize,
}

impl BlockBuilder {
    /// An empty block with a restart every `interval` entries.
    pub fn new(interval: usize) -> Self {
        Self {
            buf: Vec::new(),
            restarts: Vec::new(),
            since_restart: 0,
            interval: interval.max(1),
            last_key: Vec::new(),
            entries: 0,
        }
    }

    /// Appends an entry. REQUIRES: `key` sorts after every key added before.
    pub fn add(&mut self, key: &[u8], value: &[u8]) {
        let shared = if self.since_restart == 0 || self.since_restart >= self.interval {
            self.restarts.push(self.buf.len() as u32);
            self.since_restart = 0;
            0
        } else {
            self.last_key
                .iter()
                .zip(key)
                .take_while(|(a, b)| a == b)
                .count()
        };
        put_varint(&mut self.buf, shared as u64);
        put_varint(&mut self.buf, (key.len() - shared) as u64);
        put_varint(&mut self.buf, value.len() as u64);
        self.buf.extend_from_slice(&key[shared..]);
        self.buf.extend_from_slice(value);
        self.last_key.clear();
        self.last_key.extend_from_slice(key);
        self.since_restart += 1;
        self.entries += 1;
    }

    /// Bytes the finished block would take.
    pub fn estimated_bytes(&self) -> usize {
        self.buf.len() + 4 * self.restarts.len() + 8
    }

    /// True when no entry was added.
    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// The last key added.
    pub fn last_key(&self) -> &[u8] {
        &self.last_key
    }

    /// The sealed block; the builder is empty again.
    pub fn finish(&mut self) -> Vec<u8> {
        let mut out = std::mem::take(&mut self.buf);
        for r in &self.restarts {
            out.extend_from_slice(&r.to_le_bytes());
        }
        out.extend_from_slice(&(self.restarts.len() as u32).to_le_bytes());
        seal_block(&mut out);
        self.restarts.clear();
        self.since_restart = 0;
        self.last_key.clear();
        self.entries = 0;
        out
    }
}

/// A decoded (checksum-verified) block.
#[derive(Debug, Clone)]
pub struct Block {
    data: Vec<u8>,
    restarts: Vec<u32>,
}

fn bad(what: &str) -> CorruptionKind {
    CorruptionKind::Invariant(format!("block {what}"))
}

impl Block {
    /// Parses a block payload (trailer already verified and removed).
    ///
    /// # Errors
    /// The corruption found (bad restart array).
    pub fn decode(payload: &[u8]) -> Result<Self, CorruptionKind> {
        Self::decode_owned(payload.to_vec())
    }

    /// As [`Block::decode`], taking the payload without copying it (the
    /// read path hands over the buffer it read the block into).
    ///
    /// # Errors
    /// The corruption found (bad restart array).
    pub fn decode_owned(mut payload: Vec<u8>) -> Result<Self, CorruptionKind> {
        let count_at = payload
            .len()
            .checked_sub(4)
            .ok_or_else(|| bad("shorter than its restart count"))?;
        let count = LeReader::new(&payload[count_at..])
            .u32()
            .ok_or_else(|| bad("without restart count"))? as usize;
        if count > count_at / 4 {
            return Err(CorruptionKind::BadLength {
                got: count as u64,
                max: (count_at / 4) as u64,
            });
        }
        let data_end = count_at - 4 * count;
        let mut reader = LeReader::new(&payload[data_end..count_at]);
        let mut restarts = Vec::with_capacity(count);
        for i in 0..count {
            let r = reader.u32().ok_or_else(|| bad("restart array cut short"))?;
            let in_order = restarts.last().is_none_or(|&p: &u32| r > p);
            if (r as usize) >= data_end || !in_order || (i == 0 && r != 0) {
                return Err(bad("restart offset out of place"));
            }
            restarts.push(r);
        }
        if count == 0 && data_end != 0 {
            return Err(bad("has entries but no restart"));
        }
        payload.truncate(data_end);
        Ok(Self {
            data: payload,
            restarts,
        })
    }

    /// Bytes held (for cache accounting).
    pub fn size_bytes(&self) -> usize {
        self.data.len() + 4 * self.restarts.len() + 32
    }

    /// The value bytes of an entry.
    pub fn value(&self, range: &Range<usize>) -> &[u8] {
        self.data.get(range.clone()).unwrap_or(&[])
    }

    /// The entries' bytes (without the restart array).
    pub(super) fn data(&self) -> &[u8] {
        &self.data
    }

    /// The restart offsets (strictly ascending, the first 0).
    pub(super) fn restarts(&self) -> &[u32] {
        &self.restarts
    }

    /// Decodes the entry at `pos`, whose predecessor's key is in `key`
    /// (replaced by this entry's key). Returns the value range and the
    /// offset of the next entry.
    pub(super) fn decode_at(
        &self,
        pos: usize,
        key: &mut Vec<u8>,
    ) -> Result<(Range<usize>, usize), CorruptionKind> {
        let rest = self
            .data
            .get(pos..)
            .ok_or_else(|| bad("entry offset past the end"))?;
        let mut r = LeReader::new(rest);
        let cut = || bad("entry cut short");
        let shared = r.varint().ok_or_else(cut)?;
        let unshared = r.varint().ok_or_else(cut)?;
        let value_len = r.varint().ok_or_else(cut)?;
        if shared > key.len() as u64 {
            return Err(bad("entry shares more than the previous key"));
        }
        let unshared = usize::try_from(unshared).map_err(|_| cut())?;
        let value_len = usize::try_from(value_len).map_err(|_| cut())?;
        let delta = r.bytes(unshared).ok_or_else(cut)?;
        let value_at = pos + r.position();
        r.bytes(value_len).ok_or_else(cut)?;
        key.truncate(shared as usize);
        key.extend_from_slice(delta);
        Ok((value_at..value_at + value_len, pos + r.position()))
    }

    /// The whole key of restart `i`, in place (a restart shares nothing
    /// with its predecessor).
    pub(super) fn restart_key(&self, i: usize) -> Result<&[u8], CorruptionKind> {
        let pos = self
            .restarts
            .get(i)
            .map(|&p| p as usize)
            .ok_or_else(|| bad("restart index past the end"))?;
        let rest = self
            .data
            .get(pos..)
            .ok_or_else(|| bad("entry offset past the end"))?;
        let mut r = LeReader::new(rest);
        let cut = || bad("entry cut short");
        let shared = r.varint().ok_or_else(cut)?;
        let unshared = r.varint().ok_or_else(cut)?;
        r.varint().ok_or_else(cut)?;
        if shared != 0 {
            return Err(bad("entry shares more than the previous key"));
        }
        let unshared = usize::try_from(unshared).map_err(|_| cut())?;
        r.bytes(unshared).ok_or_else(cut)
    }

    /// Every entry: (key, value range), in block order.
    ///
    /// # Errors
    /// The corruption found.
    pub fn entries(&self) -> Result<Vec<Entry>, CorruptionKind> {
        let mut out = Vec::new();
        let mut key = Vec::new();
        let mut pos = 0;
        let mut next_restart = 0;
        while pos < self.data.len() {
            let at_restart = self.restarts.get(next_restart) == Some(&(pos as u32));
            if at_restart {
                key.clear();
                next_restart += 1;
            }
            let (value, next) = self.decode_at(pos, &mut key)?;
            out.push((key.clone(), value));
            pos = next;
        }
        Ok(out)
    }

    /// The first entry whose key is `>= target` under `cmp`, if any.
    ///
    /// # Errors
    /// The corruption found.
    pub fn seek(
        &self,
        target: &[u8],
        cmp: fn(&[u8], &[u8]) -> Ordering,
    ) -> Result<Option<Entry>, CorruptionKind> {
        // The last restart whose key is < target (its run may hold target).
        // Restart keys are whole, so they are compared in place.
        let (mut lo, mut hi) = (0usize, self.restarts.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if cmp(self.restart_key(mid)?, target) == Ordering::Less {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let start_restart = lo.saturating_sub(1);
        let Some(&start) = self.restarts.get(start_restart) else {
            return Ok(None);
        };
        let mut pos = start as usize;
        let mut key = Vec::new();
        let mut next_restart = start_restart;
        while pos < self.data.len() {
            if self.restarts.get(next_restart) == Some(&(pos as u32)) {
                key.clear();
                next_restart += 1;
            }
            let (value, next) = self.decode_at(pos, &mut key)?;
            if cmp(&key, target) != Ordering::Less {
                return Ok(Some((key, value)));
            }
            pos = next;
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use kv_core::codec::open_block;
    use std::path::Path;

    fn built(n: usize, interval: usize) -> Vec<u8> {
        let mut b = BlockBuilder::new(interval);
        for i in 0..n {
            b.add(format!("key{i:04}").as_bytes(), format!("v{i}").as_bytes());
        }
        b.finish()
    }

    #[test]
    fn entries_and_seek_round_trip() {
        let sealed = built(100, 16);
        let block = Block::decode(open_block(&sealed, Path::new("t"), 0).unwrap()).unwrap();
        let entries = block.entries().unwrap();
        assert_eq!(entries.len(), 100);
        assert_eq!(block.value(&entries[42].1), b"v42");
        let (k, v) = block.seek(b"key0050", Ord::cmp).unwrap().unwrap();
        assert_eq!(
            (k.as_slice(), block.value(&v)),
            (&b"key0050"[..], &b"v50"[..])
        );
        let (k, _) = block.seek(b"key00505", Ord::cmp).unwrap().unwrap();
        assert_eq!(k, b"key0051");
        assert!(block.seek(b"zzz", Ord::cmp).unwrap().is_none());
        let (k, _) = block.seek(b"", Ord::cmp).unwrap().unwrap();
        assert_eq!(k, b"key0000");
    }

    /// The data-block example of `docs/format-sstable.md` section 3, byte for byte.
    #[test]
    fn worked_example_in_docs_matches_the_encoder() {
        let mut b = BlockBuilder::new(16);
        b.add(&crate::ikey::encode(b"apple", 7, 1), b"red");
        b.add(&crate::ikey::encode(b"apricot", 8, 1), b"tart");
        let sealed = b.finish();
        let mut expected = vec![0x00, 0x0d, 0x03];
        expected.extend_from_slice(b"apple");
        expected.extend_from_slice(&[0x01, 0x07, 0, 0, 0, 0, 0, 0]);
        expected.extend_from_slice(b"red");
        expected.extend_from_slice(&[0x02, 0x0d, 0x04]);
        expected.extend_from_slice(b"ricot");
        expected.extend_from_slice(&[0x01, 0x08, 0, 0, 0, 0, 0, 0]);
        expected.extend_from_slice(b"tart");
        expected.extend_from_slice(&[0, 0, 0, 0, 1, 0, 0, 0]);
        assert_eq!(&sealed[..sealed.len() - 4], &expected[..]);
        assert_eq!(
            &sealed[sealed.len() - 4..],
            &crc32fast::hash(&expected).to_le_bytes()
        );
    }

    #[test]
    fn decoder_never_panics_on_damaged_payloads() {
        let sealed = built(40, 4);
        let payload = &sealed[..sealed.len() - 4];
        for i in 0..payload.len() {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut bad = payload.to_vec();
                bad[i] ^= flip;
                if let Ok(block) = Block::decode(&bad) {
                    let _ = block.entries();
                    let _ = block.seek(b"key0020", Ord::cmp);
                }
            }
        }
        for cut in 0..payload.len() {
            if let Ok(block) = Block::decode(&payload[..cut]) {
                let _ = block.entries();
            }
        }
    }
}
