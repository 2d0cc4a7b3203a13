//! [`EntryList`]: a compact list of (key, tombstone?, [`Entry`]) with the
//! keys packed into shared buffers: no allocation per key. Hint contents,
//! recovery runs, the active file's tombstones and scan snapshots are all
//! entry lists.
//!
//! # Memory
//! Items (32 bytes each) are stored in chunks of [`CHUNK_ITEMS`], keys in
//! blocks of [`KEY_BLOCK_BYTES`], so a list never grows by doubling one big
//! vector (which holds up to twice its size, and three times while the
//! vector is copied): after the first chunk and block, each is allocated
//! once at its final size. A list of n items of k-byte keys holds about
//! n x (32 + k) bytes. Sorting moves items in place (8 bytes per item of
//! scratch), never keys. A consumer that reads a list once, front to back,
//! can take it ([`Draining`]) and free each chunk, and each key block of a
//! list that was never reordered, as soon as it has passed it: that is how
//! open builds the keydir without holding every file's run and the whole
//! keydir at once.

use std::cmp::Ordering;

use crate::key_bound::compare_keys;
use crate::keydir::Entry;

/// Items per chunk.
pub const CHUNK_ITEMS: usize = 4096;

/// Bytes per key block (a key never spans two; keys are at most 4 KiB).
pub const KEY_BLOCK_BYTES: usize = 64 * 1024;

/// One item: where its key is, and its entry with the fields unpacked so
/// the item is 32 bytes (an `Entry` is 8-aligned).
#[derive(Debug, Clone, Copy)]
struct Item {
    block: u32,
    key_start: u16,
    key_len: u16,
    tombstone: bool,
    file_id: u32,
    offset: u32,
    len: u32,
    seq: [u32; 2],
}

impl Item {
    fn entry(&self) -> Entry {
        Entry {
            file_id: self.file_id,
            offset: self.offset,
            len: self.len,
            stored_seq: u64::from(self.seq[0]) | (u64::from(self.seq[1]) << 32),
        }
    }
}

/// Keys back to back in blocks, with an item per key.
#[derive(Debug, Clone)]
pub struct EntryList {
    /// Every block but the last is closed (the next key did not fit).
    blocks: Vec<Vec<u8>>,
    /// Every chunk but the last is full.
    chunks: Vec<Vec<Item>>,
    len: usize,
    /// Items reference key blocks in non-decreasing order (true until a
    /// sort moved items), so a [`Draining`] reader may free passed blocks.
    blocks_in_order: bool,
}

impl Default for EntryList {
    fn default() -> Self {
        Self {
            blocks: Vec::new(),
            chunks: Vec::new(),
            len: 0,
            blocks_in_order: true,
        }
    }
}

impl EntryList {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// The block `key` goes in, opening a new one if it does not fit.
    fn block_for(&mut self, key_len: usize) -> usize {
        let fits = self
            .blocks
            .last()
            .is_some_and(|b| b.len() + key_len < KEY_BLOCK_BYTES);
        if !fits {
            if let Some(last) = self.blocks.last_mut() {
                last.shrink_to_fit();
            }
            // The first block grows as needed (most lists are small);
            // later ones are allocated at their final size.
            let block = if self.blocks.is_empty() {
                Vec::new()
            } else {
                Vec::with_capacity(KEY_BLOCK_BYTES)
            };
            self.blocks.push(block);
        }
        self.blocks.len() - 1
    }

    /// The chunk the next item goes in, opening a new one if the last is
    /// full.
    fn chunk_for_next(&mut self) -> usize {
        if self.chunks.last().is_none_or(|c| c.len() >= CHUNK_ITEMS) {
            let chunk = if self.chunks.is_empty() {
                Vec::new()
            } else {
                Vec::with_capacity(CHUNK_ITEMS)
            };
            self.chunks.push(chunk);
        }
        self.chunks.len() - 1
    }

    /// Appends an item. REQUIRES: `key` is at most `MAX_KEY_BYTES` (4 KiB)
    /// long (every key the store accepts or decodes is).
    pub fn push(&mut self, key: &[u8], tombstone: bool, entry: Entry) {
        let b = self.block_for(key.len());
        let block = &mut self.blocks[b];
        let key_start = block.len() as u16;
        block.extend_from_slice(key);
        let c = self.chunk_for_next();
        self.chunks[c].push(Item {
            block: b as u32,
            key_start,
            key_len: key.len() as u16,
            tombstone,
            file_id: entry.file_id,
            offset: entry.offset,
            len: entry.len,
            seq: [entry.stored_seq as u32, (entry.stored_seq >> 32) as u32],
        });
        self.len += 1;
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Removes every item, keeping the memory of the first chunk and block.
    pub fn clear(&mut self) {
        self.chunks.truncate(1);
        self.blocks.truncate(1);
        self.chunks.iter_mut().for_each(Vec::clear);
        self.blocks.iter_mut().for_each(Vec::clear);
        self.len = 0;
        self.blocks_in_order = true;
    }

    fn item(&self, i: usize) -> &Item {
        &self.chunks[i / CHUNK_ITEMS][i % CHUNK_ITEMS]
    }

    fn set_item(&mut self, i: usize, item: Item) {
        self.chunks[i / CHUNK_ITEMS][i % CHUNK_ITEMS] = item;
    }

    fn view(&self, item: &Item) -> (&[u8], bool, Entry) {
        let start = usize::from(item.key_start);
        let key = &self.blocks[item.block as usize][start..start + usize::from(item.key_len)];
        (key, item.tombstone, item.entry())
    }

    /// Item `i`: its key, whether it is a tombstone, and its entry.
    /// REQUIRES: `i < len()`.
    pub fn get(&self, i: usize) -> (&[u8], bool, Entry) {
        self.view(self.item(i))
    }

    /// Every item in list order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&[u8], bool, Entry)> + '_ {
        self.chunks.iter().flatten().map(|item| self.view(item))
    }

    fn newest_first(&self, a: usize, b: usize) -> Ordering {
        let (ka, ta, ea) = self.get(a);
        let (kb, tb, eb) = self.get(b);
        compare_keys(ka, kb)
            .then_with(|| eb.seq().cmp(&ea.seq()))
            .then_with(|| tb.cmp(&ta))
    }

    /// Sorts by key, and per key newest first (a tombstone before a put of
    /// the same sequence number), then keeps only the newest item per key.
    ///
    /// # Memory
    /// Free for a list that is sorted already (hints are). Otherwise 12
    /// bytes per item of scratch while the order is sorted (then 8): the
    /// order is sorted, then the items are moved into it in place (keys stay
    /// where they are; those of dropped items stay unused until the list is
    /// dropped).
    pub fn sort_and_keep_newest(&mut self) {
        let sorted = self
            .iter()
            .zip(self.iter().skip(1))
            .all(|((a, ..), (b, ..))| compare_keys(a, b).is_lt());
        if sorted {
            return;
        }
        let mut order = self.sorted_order();
        order.dedup_by(|later, earlier| self.get(*later).0 == self.get(*earlier).0);
        let kept = order.len();
        // A permutation: the kept items in order, then the dropped ones.
        let mut is_kept = vec![false; self.len];
        for &i in &order {
            is_kept[i] = true;
        }
        order.extend((0..self.len).filter(|&i| !is_kept[i]));
        drop(is_kept);
        self.permute(order);
        self.truncate(kept);
        self.blocks_in_order = false;
    }

    /// The item indices sorted by key, newest first per key
    /// ([`EntryList::newest_first`]). Each slot carries its key's first
    /// eight bytes, so most comparisons never read the keys: sorting a
    /// rollover's 1.9M items took 3.5 s comparing keys through the list
    /// (`examples/stalls.rs` under `perf`), all of it under the writer lock.
    fn sorted_order(&self) -> Vec<usize> {
        let Ok(len) = u32::try_from(self.len) else {
            let mut order: Vec<usize> = (0..self.len).collect();
            order.sort_unstable_by(|&a, &b| self.newest_first(a, b));
            return order;
        };
        let mut slots: Vec<[u32; 3]> = (0..len)
            .map(|i| {
                let prefix = key_prefix(self.get(i as usize).0);
                [(prefix >> 32) as u32, prefix as u32, i]
            })
            .collect();
        slots.sort_unstable_by(|a, b| {
            (a[0], a[1])
                .cmp(&(b[0], b[1]))
                .then_with(|| self.newest_first(a[2] as usize, b[2] as usize))
        });
        slots.into_iter().map(|slot| slot[2] as usize).collect()
    }

    /// Moves item `perm[j]` to position `j`, for every `j`, in place.
    /// REQUIRES: `perm` is a permutation of `0..len()`.
    fn permute(&mut self, mut perm: Vec<usize>) {
        for i in 0..perm.len() {
            if perm[i] == i {
                continue;
            }
            let first = *self.item(i);
            let mut j = i;
            loop {
                let k = perm[j];
                perm[j] = j; // placed
                if k == i {
                    self.set_item(j, first);
                    break;
                }
                let moved = *self.item(k);
                self.set_item(j, moved);
                j = k;
            }
        }
    }

    /// Keeps the first `n` items.
    fn truncate(&mut self, n: usize) {
        if n >= self.len {
            return;
        }
        self.chunks.truncate(n.div_ceil(CHUNK_ITEMS).max(1));
        if let Some(last) = self.chunks.last_mut() {
            last.truncate(n - (n.saturating_sub(1) / CHUNK_ITEMS) * CHUNK_ITEMS);
        }
        self.len = n;
    }

    /// Gives back the room the vectors grew ahead of their items: for a
    /// list kept in memory for a while.
    pub fn shrink_to_fit(&mut self) {
        self.chunks.iter_mut().for_each(Vec::shrink_to_fit);
        self.blocks.iter_mut().for_each(Vec::shrink_to_fit);
        self.chunks.shrink_to_fit();
        self.blocks.shrink_to_fit();
    }

    /// Bytes of heap memory held.
    pub fn heap_bytes(&self) -> usize {
        let items: usize = self.chunks.iter().map(Vec::capacity).sum();
        let keys: usize = self.blocks.iter().map(Vec::capacity).sum();
        items * std::mem::size_of::<Item>()
            + keys
            + (self.chunks.capacity() + self.blocks.capacity()) * std::mem::size_of::<Vec<u8>>()
    }
}

/// A list read once, front to back, that frees what it has passed: each
/// chunk of items, and (for a list never reordered) each key block.
#[derive(Debug)]
pub struct Draining {
    list: EntryList,
    pos: usize,
    /// Key blocks below this were freed.
    freed_blocks: usize,
}

impl Draining {
    /// Reads `list` from its first item.
    pub fn new(list: EntryList) -> Self {
        Self {
            list,
            pos: 0,
            freed_blocks: 0,
        }
    }

    /// True while an item is left.
    pub fn has_current(&self) -> bool {
        self.pos < self.list.len
    }

    /// The current item. REQUIRES: [`Draining::has_current`].
    pub fn current(&self) -> (&[u8], bool, Entry) {
        self.list.get(self.pos)
    }

    /// Moves to the next item, freeing what no later item needs; false at
    /// the end.
    pub fn advance(&mut self) -> bool {
        self.pos += 1;
        if self.pos.is_multiple_of(CHUNK_ITEMS) {
            if let Some(done) = self.list.chunks.get_mut(self.pos / CHUNK_ITEMS - 1) {
                *done = Vec::new();
            }
        }
        if !self.has_current() {
            return false;
        }
        if self.list.blocks_in_order {
            let needed = self.list.item(self.pos).block as usize;
            while self.freed_blocks < needed {
                self.list.blocks[self.freed_blocks] = Vec::new();
                self.freed_blocks += 1;
            }
        }
        true
    }

    /// Bytes of heap memory still held.
    pub fn heap_bytes(&self) -> usize {
        self.list.heap_bytes()
    }
}

/// The first eight bytes of `key` as a big-endian number, zero-padded: keys
/// in [`compare_keys`] order have prefixes in the same order (ties decided
/// by the whole keys).
fn key_prefix(key: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    let n = key.len().min(8);
    word[..n].copy_from_slice(&key[..n]);
    u64::from_be_bytes(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(seq: u64) -> Entry {
        Entry {
            file_id: 1,
            offset: 16,
            len: 30,
            stored_seq: seq,
        }
    }

    #[test]
    fn keeps_the_newest_item_per_key_and_tombstones_win_ties() {
        let mut list = EntryList::new();
        list.push(b"b", false, e(1));
        list.push(b"a", false, e(2));
        list.push(b"b", false, e(5));
        list.push(b"a", true, e(2));
        list.push(b"b", true, e(3));
        list.sort_and_keep_newest();
        let got: Vec<_> = list
            .iter()
            .map(|(k, t, e)| (k.to_vec(), t, e.seq()))
            .collect();
        assert_eq!(
            got,
            vec![(b"a".to_vec(), true, 2), (b"b".to_vec(), false, 5)]
        );
    }

    #[test]
    fn sorting_by_key_prefix_keeps_the_newest_per_key_as_a_model_does() {
        use rand::rngs::StdRng;
        use rand::{RngExt, SeedableRng};
        let guard = kv_core::testkit::SeedGuard::new("entry_list_prefix_sort");
        let mut rng = StdRng::seed_from_u64(guard.seed());
        // Short keys (below the 8-byte prefix, and ones that are a prefix of
        // others, with zero bytes) and long keys sharing their first 8 bytes.
        let mut list = EntryList::new();
        let mut model: std::collections::BTreeMap<Vec<u8>, (u64, bool)> = Default::default();
        for _ in 0..20_000 {
            let len = rng.random_range(0..14usize);
            let mut key: Vec<u8> = (0..len).map(|_| rng.random_range(0..3u8)).collect();
            if len > 9 {
                key[..8].copy_from_slice(b"samepref");
            }
            let seq = rng.random_range(0..1_000u64);
            let tombstone = rng.random_range(0..4u32) == 0;
            list.push(&key, tombstone, e(seq));
            let newest = model.entry(key).or_insert((seq, tombstone));
            if (seq, tombstone) > *newest {
                *newest = (seq, tombstone);
            }
        }
        list.sort_and_keep_newest();
        let got: Vec<_> = list
            .iter()
            .map(|(k, t, e)| (k.to_vec(), (e.seq(), t)))
            .collect();
        let want: Vec<_> = model.into_iter().collect();
        assert_eq!(got, want);
    }

    #[test]
    fn items_across_chunk_and_block_boundaries_sort_in_place() {
        let n = CHUNK_ITEMS * 2 + 17;
        let mut list = EntryList::new();
        // Pushed in descending order, with a newer tombstone of every tenth
        // key, and keys long enough to fill several key blocks.
        let key = |i: u64| {
            let mut k = i.to_be_bytes().to_vec();
            k.resize(40, (i % 251) as u8);
            k
        };
        for i in (0..n as u64).rev() {
            list.push(&key(i), false, e(i));
            if i % 10 == 0 {
                list.push(&key(i), true, e(i + (1 << 40)));
            }
        }
        assert_eq!(list.len(), n + n.div_ceil(10));
        list.sort_and_keep_newest();
        assert_eq!(list.len(), n);
        for i in 0..n {
            let (k, tombstone, entry) = list.get(i);
            assert_eq!(k, key(i as u64));
            assert_eq!(tombstone, i % 10 == 0, "item {i}");
            let seq = i as u64 + if i % 10 == 0 { 1 << 40 } else { 0 };
            assert_eq!(entry.seq(), seq);
        }
        assert_eq!(list.iter().rev().count(), n);
        let mut d = Draining::new(list.clone());
        let mut drained = Vec::new();
        while d.has_current() {
            drained.push(d.current().0.to_vec());
            d.advance();
        }
        let original: Vec<Vec<u8>> = list.iter().map(|(k, ..)| k.to_vec()).collect();
        assert_eq!(drained, original);
    }

    #[test]
    fn a_list_holds_no_room_beyond_its_last_chunk_and_block() {
        let n = CHUNK_ITEMS * 8;
        let mut list = EntryList::new();
        for i in 0..n as u64 {
            list.push(&i.to_be_bytes(), false, e(i));
        }
        assert_eq!(std::mem::size_of::<Item>(), 32);
        let exact = n * (8 + 32);
        let held = list.heap_bytes();
        assert!(
            held <= exact + CHUNK_ITEMS * 32 + KEY_BLOCK_BYTES + 4096,
            "{held} > {exact}"
        );
        list.clear();
        assert!(list.is_empty() && list.iter().next().is_none());
    }

    #[test]
    fn draining_frees_what_it_passed() {
        let n = CHUNK_ITEMS * 8;
        let mut list = EntryList::new();
        for i in 0..n as u64 {
            list.push(&i.to_be_bytes(), false, e(i));
        }
        let full = list.heap_bytes();
        let mut d = Draining::new(list);
        for _ in 0..n / 2 {
            assert!(d.advance());
        }
        let half = d.heap_bytes();
        assert!(
            half <= full / 2 + CHUNK_ITEMS * 32 + KEY_BLOCK_BYTES,
            "{half} of {full}"
        );
        assert_eq!(d.current().0, ((n / 2) as u64).to_be_bytes());
    }
}
