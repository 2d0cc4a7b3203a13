//! [`EntryList`]: a compact list of (key, tombstone?, [`Entry`]) with the
//! keys packed into shared buffers: no allocation per key. Hint contents,
//! recovery runs, the active file's tombstones and scan snapshots are all
//! entry lists.
//!
//! # Memory
//! The list is stored in chunks of [`CHUNK_ITEMS`] items, each with its
//! own key buffer, so a list never grows by doubling one big vector (which
//! would hold up to twice its size, and three times while the vector is
//! copied): the items of a full chunk are allocated once at their final
//! size and its keys are trimmed to fit when the chunk fills. A list of n
//! items of k-byte keys holds about n x (32 + k) bytes. A consumer that
//! reads a list once, front to back, can take it apart chunk by chunk
//! ([`EntryList::into_chunks`]) and free each one as soon as it is read:
//! that is how open builds the keydir without holding every file's run
//! and the whole keydir at once.

use std::cmp::Ordering;

use crate::key_bound::compare_keys;
use crate::keydir::Entry;

/// Items per chunk (a power of two).
pub const CHUNK_ITEMS: usize = 4096;

/// One item. `key_start` is an offset into its chunk's key buffer, which
/// holds at most `CHUNK_ITEMS` keys of at most `MAX_KEY_BYTES` (4 KiB):
/// under 4 GiB.
#[derive(Debug, Clone, Copy)]
struct Item {
    key_start: u32,
    key_len: u16,
    tombstone: bool,
    entry: Entry,
}

/// Up to [`CHUNK_ITEMS`] items and their keys.
#[derive(Debug, Clone, Default)]
struct Chunk {
    keys: Vec<u8>,
    items: Vec<Item>,
}

impl Chunk {
    fn key(&self, item: &Item) -> &[u8] {
        let start = item.key_start as usize;
        &self.keys[start..start + usize::from(item.key_len)]
    }

    fn get(&self, i: usize) -> (&[u8], bool, Entry) {
        let item = &self.items[i];
        (self.key(item), item.tombstone, item.entry)
    }

    fn iter(&self) -> impl DoubleEndedIterator<Item = (&[u8], bool, Entry)> + '_ {
        self.items
            .iter()
            .map(|item| (self.key(item), item.tombstone, item.entry))
    }

    fn heap_bytes(&self) -> usize {
        self.keys.capacity() + self.items.capacity() * std::mem::size_of::<Item>()
    }
}

/// Keys back to back in chunked buffers, with an item per key.
#[derive(Debug, Clone, Default)]
pub struct EntryList {
    /// Every chunk but the last is full.
    chunks: Vec<Chunk>,
    len: usize,
}

impl EntryList {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends an item. REQUIRES: `key` is at most `MAX_KEY_BYTES` long
    /// (every key the store accepts or decodes is).
    pub fn push(&mut self, key: &[u8], tombstone: bool, entry: Entry) {
        let full = self
            .chunks
            .last()
            .is_none_or(|c| c.items.len() >= CHUNK_ITEMS);
        if full {
            if let Some(last) = self.chunks.last_mut() {
                last.keys.shrink_to_fit();
            }
            // The first chunk grows as needed (most lists are small); later
            // ones are allocated at their final size.
            let items = if self.chunks.is_empty() {
                Vec::new()
            } else {
                Vec::with_capacity(CHUNK_ITEMS)
            };
            self.chunks.push(Chunk {
                keys: Vec::new(),
                items,
            });
        }
        let Some(chunk) = self.chunks.last_mut() else {
            return; // unreachable: a chunk was just ensured
        };
        let key_start = chunk.keys.len() as u32;
        chunk.keys.extend_from_slice(key);
        chunk.items.push(Item {
            key_start,
            key_len: key.len() as u16,
            tombstone,
            entry,
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

    /// Removes every item, keeping the memory of the first chunk.
    pub fn clear(&mut self) {
        self.chunks.truncate(1);
        if let Some(first) = self.chunks.first_mut() {
            first.keys.clear();
            first.items.clear();
        }
        self.len = 0;
    }

    /// Item `i`: its key, whether it is a tombstone, and its entry.
    /// REQUIRES: `i < len()`.
    pub fn get(&self, i: usize) -> (&[u8], bool, Entry) {
        self.chunks[i / CHUNK_ITEMS].get(i % CHUNK_ITEMS)
    }

    /// Every item in list order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&[u8], bool, Entry)> + '_ {
        self.chunks.iter().flat_map(Chunk::iter)
    }

    /// The list taken apart into lists of one chunk each (at most
    /// [`CHUNK_ITEMS`] items), in order: a consumer frees each as soon as
    /// it has read it.
    pub fn into_chunks(self) -> impl Iterator<Item = EntryList> {
        self.chunks.into_iter().map(|c| EntryList {
            len: c.items.len(),
            chunks: vec![c],
        })
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
    /// Free for a list that is sorted already (hints are). Otherwise the
    /// sorted list is built beside the old one, which is then freed: twice
    /// the list's size for a moment.
    pub fn sort_and_keep_newest(&mut self) {
        let sorted = self
            .iter()
            .zip(self.iter().skip(1))
            .all(|((a, ..), (b, ..))| compare_keys(a, b).is_lt());
        if sorted {
            return;
        }
        let mut order: Vec<usize> = (0..self.len).collect();
        order.sort_unstable_by(|&a, &b| self.newest_first(a, b));
        order.dedup_by(|later, earlier| self.get(*later).0 == self.get(*earlier).0);
        let mut sorted = EntryList::new();
        for i in order {
            let (key, tombstone, entry) = self.get(i);
            sorted.push(key, tombstone, entry);
        }
        *self = sorted;
    }

    /// Gives back the room the vectors grew ahead of their items: for a
    /// list kept in memory for a while.
    pub fn shrink_to_fit(&mut self) {
        for chunk in &mut self.chunks {
            chunk.keys.shrink_to_fit();
            chunk.items.shrink_to_fit();
        }
        self.chunks.shrink_to_fit();
    }

    /// Bytes of heap memory held.
    pub fn heap_bytes(&self) -> usize {
        self.chunks.iter().map(Chunk::heap_bytes).sum::<usize>()
            + self.chunks.capacity() * std::mem::size_of::<Chunk>()
    }
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
    fn items_across_chunk_boundaries_keep_their_keys_and_order() {
        let n = CHUNK_ITEMS * 2 + 17;
        let mut list = EntryList::new();
        // Pushed in descending order, with a duplicate of every tenth key.
        for i in (0..n as u64).rev() {
            list.push(&i.to_be_bytes(), false, e(i));
            if i % 10 == 0 {
                list.push(&i.to_be_bytes(), true, e(i + 1));
            }
        }
        assert_eq!(list.len(), n + n.div_ceil(10));
        list.sort_and_keep_newest();
        assert_eq!(list.len(), n);
        for i in 0..n {
            let (key, tombstone, entry) = list.get(i);
            assert_eq!(key, (i as u64).to_be_bytes());
            assert_eq!(tombstone, i % 10 == 0, "item {i}");
            let seq = i as u64 + u64::from(i % 10 == 0);
            assert_eq!(entry.seq(), seq);
        }
        assert_eq!(list.iter().rev().count(), n);
        let chunks: Vec<EntryList> = list.clone().into_chunks().collect();
        assert_eq!(chunks.len(), 3);
        assert!(chunks[..2].iter().all(|c| c.len() == CHUNK_ITEMS));
        let rejoined: Vec<Vec<u8>> = chunks
            .iter()
            .flat_map(|c| c.iter().map(|(k, ..)| k.to_vec()))
            .collect();
        let original: Vec<Vec<u8>> = list.iter().map(|(k, ..)| k.to_vec()).collect();
        assert_eq!(rejoined, original);
    }

    #[test]
    fn a_full_list_holds_no_room_beyond_its_last_chunk() {
        let n = CHUNK_ITEMS * 8;
        let mut list = EntryList::new();
        for i in 0..n as u64 {
            list.push(&i.to_be_bytes(), false, e(i));
        }
        let exact = n * (8 + std::mem::size_of::<Item>());
        let held = list.heap_bytes();
        // Only the last chunk's key buffer may have room to spare (at most
        // its own size), plus the chunk table.
        assert!(held <= exact + CHUNK_ITEMS * 8 + 64 * 16, "{held} > {exact}");
        list.clear();
        assert!(list.is_empty() && list.iter().next().is_none());
    }
}
