//! [`EntryList`]: a compact list of (key, tombstone?, [`Entry`]) with the
//! keys packed into one buffer: no allocation per key. Hint contents,
//! recovery runs, the active file's tombstones and scan snapshots are all
//! entry lists.

use std::cmp::Ordering;

use crate::key_bound::compare_keys;
use crate::keydir::Entry;

#[derive(Debug, Clone, Copy)]
struct Item {
    key_start: usize,
    key_len: u32,
    tombstone: bool,
    entry: Entry,
}

/// Keys back to back in one buffer, with an item per key.
#[derive(Debug, Clone, Default)]
pub struct EntryList {
    keys: Vec<u8>,
    items: Vec<Item>,
}

impl EntryList {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends an item.
    pub fn push(&mut self, key: &[u8], tombstone: bool, entry: Entry) {
        let key_start = self.keys.len();
        self.keys.extend_from_slice(key);
        self.items.push(Item {
            key_start,
            key_len: key.len() as u32,
            tombstone,
            entry,
        });
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Removes every item, keeping the memory.
    pub fn clear(&mut self) {
        self.keys.clear();
        self.items.clear();
    }

    fn key_of<'a>(keys: &'a [u8], item: &Item) -> &'a [u8] {
        &keys[item.key_start..item.key_start + item.key_len as usize]
    }

    /// Item `i`: its key, whether it is a tombstone, and its entry.
    /// REQUIRES: `i < len()`.
    pub fn get(&self, i: usize) -> (&[u8], bool, Entry) {
        let item = &self.items[i];
        (Self::key_of(&self.keys, item), item.tombstone, item.entry)
    }

    /// Every item in list order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&[u8], bool, Entry)> + '_ {
        self.items
            .iter()
            .map(|item| (Self::key_of(&self.keys, item), item.tombstone, item.entry))
    }

    fn newest_first(keys: &[u8], a: &Item, b: &Item) -> Ordering {
        compare_keys(Self::key_of(keys, a), Self::key_of(keys, b))
            .then_with(|| b.entry.seq().cmp(&a.entry.seq()))
            .then_with(|| b.tombstone.cmp(&a.tombstone))
    }

    /// Sorts by key, and per key newest first (a tombstone before a put of
    /// the same sequence number), then keeps only the newest item per key.
    pub fn sort_and_keep_newest(&mut self) {
        let keys = &self.keys;
        let sorted = self
            .items
            .windows(2)
            .all(|w| compare_keys(Self::key_of(keys, &w[0]), Self::key_of(keys, &w[1])).is_lt());
        if sorted {
            return;
        }
        self.items
            .sort_unstable_by(|a, b| Self::newest_first(keys, a, b));
        self.items
            .dedup_by(|later, earlier| Self::key_of(keys, later) == Self::key_of(keys, earlier));
    }

    /// Gives back the room the vectors grew ahead of their items (up to
    /// half of what they hold): for a list kept in memory for a while.
    pub fn shrink_to_fit(&mut self) {
        self.keys.shrink_to_fit();
        self.items.shrink_to_fit();
    }

    /// Bytes of heap memory held.
    pub fn heap_bytes(&self) -> usize {
        self.keys.capacity() + self.items.capacity() * std::mem::size_of::<Item>()
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
}
