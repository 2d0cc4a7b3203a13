//! [`BlockIter`]: a cursor over one decoded block that decodes entries as it
//! moves, one at a time, into a single reused key buffer.
//!
//! A seek binary-searches the restart points (their keys are whole, so they
//! are compared in place) and then decodes at most one restart interval
//! (16 entries in data blocks). `step` decodes one entry; `step_back` re-decodes
//! from the restart point before the current entry, as LevelDB's block
//! iterator does (entries are prefix-compressed, so they can only be
//! decoded forward). Nothing is allocated per entry: the key lives in one
//! buffer, the value is a range of the block.
//!
//! Every offset and length is checked against the block: damage is a
//! [`CorruptionKind`], never a panic (the block's checksum was verified
//! before it was decoded, so this is a second line of defence).

use std::cmp::Ordering;
use std::ops::Range;
use std::sync::Arc;

use kv_core::CorruptionKind;

use super::block::Block;

/// A cursor over the entries of a [`Block`]; invalid until positioned.
#[derive(Debug)]
pub struct BlockIter {
    block: Arc<Block>,
    /// Offset of the current entry (the data length when invalid).
    cur: usize,
    /// Offset of the entry after the current one.
    next: usize,
    /// Index of the restart interval holding `cur`.
    restart: usize,
    key: Vec<u8>,
    value: Range<usize>,
    valid: bool,
}

impl BlockIter {
    /// A cursor over `block`, not positioned.
    pub fn new(block: Arc<Block>) -> Self {
        let end = block.data().len();
        Self {
            block,
            cur: end,
            next: end,
            restart: 0,
            key: Vec::new(),
            value: 0..0,
            valid: false,
        }
    }

    /// True when positioned at an entry.
    pub fn valid(&self) -> bool {
        self.valid
    }

    /// The current entry's key. REQUIRES: `valid()`.
    pub fn key(&self) -> &[u8] {
        &self.key
    }

    /// The current entry's value (empty when not valid).
    pub fn value(&self) -> &[u8] {
        self.block.value(&self.value)
    }

    fn invalidate(&mut self) {
        self.valid = false;
        self.cur = self.block.data().len();
        self.next = self.cur;
    }

    /// Decodes the entry at `pos` (its predecessor's key is in `self.key`,
    /// or `pos` starts restart interval `restart`, which clears it).
    fn decode(&mut self, pos: usize) -> Result<(), CorruptionKind> {
        let restarts = self.block.restarts();
        if restarts.get(self.restart + 1).map(|&r| r as usize) == Some(pos) {
            self.restart += 1;
        }
        if restarts.get(self.restart).map(|&r| r as usize) == Some(pos) {
            self.key.clear();
        }
        let (value, next) = self.block.decode_at(pos, &mut self.key)?;
        self.cur = pos;
        self.next = next;
        self.value = value;
        self.valid = true;
        Ok(())
    }

    /// Positions at the start of restart interval `i` (decoding its first
    /// entry).
    fn at_restart(&mut self, i: usize) -> Result<(), CorruptionKind> {
        let Some(&pos) = self.block.restarts().get(i) else {
            self.invalidate();
            return Ok(());
        };
        self.restart = i;
        self.key.clear();
        self.decode(pos as usize)
    }

    /// Positions at the first entry.
    ///
    /// # Errors
    /// The corruption found.
    pub fn seek_to_first(&mut self) -> Result<(), CorruptionKind> {
        self.at_restart(0)
    }

    /// Positions at the last entry.
    ///
    /// # Errors
    /// The corruption found.
    pub fn seek_to_last(&mut self) -> Result<(), CorruptionKind> {
        let n = self.block.restarts().len();
        let Some(last) = n.checked_sub(1) else {
            self.invalidate();
            return Ok(());
        };
        self.at_restart(last)?;
        while self.valid && self.next < self.block.data().len() {
            self.decode(self.next)?;
        }
        Ok(())
    }

    /// Positions at the first entry whose key is `>= target` under `cmp`
    /// (`cmp(key, target)` must be monotone over the block's entries);
    /// invalid when there is none.
    ///
    /// # Errors
    /// The corruption found.
    pub fn seek(
        &mut self,
        target: &[u8],
        cmp: fn(&[u8], &[u8]) -> Ordering,
    ) -> Result<(), CorruptionKind> {
        // The last restart whose key is < target (its run may hold target).
        let (mut lo, mut hi) = (0usize, self.block.restarts().len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if cmp(self.block.restart_key(mid)?, target) == Ordering::Less {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        self.at_restart(lo.saturating_sub(1))?;
        while self.valid && cmp(&self.key, target) == Ordering::Less {
            self.step()?;
        }
        Ok(())
    }

    /// Moves to the next entry (invalid past the last).
    ///
    /// # Errors
    /// The corruption found.
    pub fn step(&mut self) -> Result<(), CorruptionKind> {
        if !self.valid || self.next >= self.block.data().len() {
            self.invalidate();
            return Ok(());
        }
        self.decode(self.next)
    }

    /// Moves to the previous entry (invalid before the first).
    ///
    /// # Errors
    /// The corruption found.
    pub fn step_back(&mut self) -> Result<(), CorruptionKind> {
        if !self.valid {
            return Ok(());
        }
        let target = self.cur;
        // The last restart interval that starts before the current entry.
        let restarts = self.block.restarts();
        let Some(i) = restarts
            .partition_point(|&r| (r as usize) < target)
            .checked_sub(1)
        else {
            self.invalidate();
            return Ok(());
        };
        self.at_restart(i)?;
        while self.valid && self.next < target {
            self.decode(self.next)?;
        }
        if self.next != target {
            self.invalidate();
            return Err(CorruptionKind::Invariant(
                "block entries do not end where the next begins".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::super::block::BlockBuilder;
    use super::*;
    use kv_core::codec::open_block;
    use std::path::Path;

    fn block(n: usize, interval: usize) -> Arc<Block> {
        let mut b = BlockBuilder::new(interval);
        for i in 0..n {
            b.add(format!("key{i:04}").as_bytes(), format!("v{i}").as_bytes());
        }
        let sealed = b.finish();
        Arc::new(Block::decode(open_block(&sealed, Path::new("t"), 0).unwrap()).unwrap())
    }

    fn forward(it: &mut BlockIter) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while it.valid() {
            out.push(it.key().to_vec());
            it.step().unwrap();
        }
        out
    }

    #[test]
    fn cursor_walks_every_entry_forward_and_back_as_entries_lists_them() {
        for (n, interval) in [(1, 16), (17, 16), (100, 16), (40, 1), (33, 4)] {
            let b = block(n, interval);
            let want: Vec<Vec<u8>> = b.entries().unwrap().into_iter().map(|e| e.0).collect();
            let mut it = BlockIter::new(Arc::clone(&b));
            it.seek_to_first().unwrap();
            assert_eq!(forward(&mut it), want);
            it.seek_to_last().unwrap();
            let mut back = Vec::new();
            while it.valid() {
                back.push(it.key().to_vec());
                it.step_back().unwrap();
            }
            back.reverse();
            assert_eq!(back, want, "n={n} interval={interval}");
        }
    }

    #[test]
    fn seek_finds_the_first_key_at_or_after_the_target() {
        let b = block(100, 16);
        let mut it = BlockIter::new(b);
        it.seek(b"key0050", Ord::cmp).unwrap();
        assert_eq!((it.key(), it.value()), (&b"key0050"[..], &b"v50"[..]));
        it.seek(b"key00505", Ord::cmp).unwrap();
        assert_eq!(it.key(), b"key0051");
        it.seek(b"", Ord::cmp).unwrap();
        assert_eq!(it.key(), b"key0000");
        it.seek(b"zzz", Ord::cmp).unwrap();
        assert!(!it.valid());
        it.seek(b"key0016", Ord::cmp).unwrap();
        it.step_back().unwrap();
        assert_eq!(it.key(), b"key0015");
    }

    #[test]
    fn cursor_never_panics_on_damaged_payloads() {
        let mut b = BlockBuilder::new(4);
        for i in 0..40 {
            b.add(format!("key{i:04}").as_bytes(), b"v");
        }
        let sealed = b.finish();
        let payload = &sealed[..sealed.len() - 4];
        for i in 0..payload.len() {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut bad = payload.to_vec();
                bad[i] ^= flip;
                let Ok(block) = Block::decode(&bad) else {
                    continue;
                };
                let mut it = BlockIter::new(Arc::new(block));
                if it.seek_to_first().is_ok() {
                    while it.valid() && it.step().is_ok() {}
                }
                if it.seek_to_last().is_ok() {
                    while it.valid() && it.step_back().is_ok() {}
                }
                let _ = it.seek(b"key0020", Ord::cmp);
            }
        }
    }
}
