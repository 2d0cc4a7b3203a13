//! Deciding which record of each key is the newest across several files.
//!
//! Every file contributes a *run*: its newest record per key, sorted by key
//! ([`EntryList::sort_and_keep_newest`]). A k-way merge of the runs yields,
//! in ascending key order, the newest record of every key: the highest
//! sequence number wins, and a tombstone wins a tie with a put (a merge may
//! have turned an expired put into a tombstone with the same sequence number
//! while the put's old file still exists). Open builds the keydir from this
//! stream in O(n log k), and `check` compares the keydir against it.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::entry_list::EntryList;
use crate::key_bound::compare_keys;
use crate::keydir::Entry;

struct Head<'a> {
    key: &'a [u8],
    seq: u64,
    tombstone: bool,
    run: usize,
    pos: usize,
}

impl Ord for Head<'_> {
    /// The heap pops the greatest: the smallest key, then the newest record.
    fn cmp(&self, other: &Self) -> Ordering {
        compare_keys(other.key, self.key)
            .then_with(|| self.seq.cmp(&other.seq))
            .then_with(|| self.tombstone.cmp(&other.tombstone))
    }
}

impl PartialOrd for Head<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Head<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Head<'_> {}

fn head<'a>(runs: &[&'a EntryList], run: usize, pos: usize) -> Option<Head<'a>> {
    let list = runs.get(run)?;
    (pos < list.len()).then(|| {
        let (key, tombstone, entry) = list.get(pos);
        Head {
            key,
            seq: entry.seq(),
            tombstone,
            run,
            pos,
        }
    })
}

/// Calls `newest(key, tombstone, entry)` once per key of all runs, in
/// ascending key order, with that key's newest record.
/// REQUIRES: every run is sorted with one item per key.
pub fn resolve<'a>(runs: &[&'a EntryList], mut newest: impl FnMut(&'a [u8], bool, Entry)) {
    if let [only] = runs {
        for (key, tombstone, entry) in only.iter() {
            newest(key, tombstone, entry);
        }
        return;
    }
    let mut heap: BinaryHeap<Head<'a>> = (0..runs.len()).filter_map(|r| head(runs, r, 0)).collect();
    while let Some(top) = heap.pop() {
        let (key, tombstone, entry) = runs[top.run].get(top.pos);
        newest(key, tombstone, entry);
        heap.extend(head(runs, top.run, top.pos + 1));
        while heap.peek().is_some_and(|h| h.key == key) {
            if let Some(older) = heap.pop() {
                heap.extend(head(runs, older.run, older.pos + 1));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(file_id: u32, seq: u64) -> Entry {
        Entry {
            file_id,
            offset: 16,
            len: 30,
            stored_seq: seq,
        }
    }

    #[test]
    fn newest_wins_and_tombstones_win_ties() {
        let mut a = EntryList::new();
        a.push(b"k1", false, e(1, 5));
        a.push(b"k2", false, e(1, 6));
        a.push(b"k3", false, e(1, 7));
        let mut b = EntryList::new();
        b.push(b"k1", false, e(2, 9));
        b.push(b"k2", true, e(2, 6));
        b.push(b"k4", true, e(2, 1));
        let mut got = Vec::new();
        resolve(&[&a, &b], |k, t, e| {
            got.push((k.to_vec(), t, e.file_id, e.seq()))
        });
        assert_eq!(
            got,
            vec![
                (b"k1".to_vec(), false, 2, 9),
                (b"k2".to_vec(), true, 2, 6),
                (b"k3".to_vec(), false, 1, 7),
                (b"k4".to_vec(), true, 2, 1),
            ]
        );
    }
}
