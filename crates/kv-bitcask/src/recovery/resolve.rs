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

use crate::entry_list::{Draining, EntryList};
use crate::key_bound::compare_keys;
use crate::keydir::Entry;

/// One run to resolve: taken (what the merge has passed is freed, so a
/// caller building something from the stream never holds the runs and the
/// result whole at once) or borrowed.
pub enum Run<'a> {
    /// Consumed (see [`Draining`]).
    Owned(EntryList),
    /// Read in place.
    Borrowed(&'a EntryList),
}

/// Where a run is read.
enum Source<'a> {
    Owned(Draining),
    Borrowed { list: &'a EntryList, pos: usize },
}

/// The next unread item of a run. REQUIRES (while in the heap): an item is
/// left.
struct Head<'a> {
    source: Source<'a>,
}

impl<'a> Head<'a> {
    /// A head at the first item of `run`, if it has one.
    fn new(run: Run<'a>) -> Option<Self> {
        let source = match run {
            Run::Owned(list) => Source::Owned(Draining::new(list)),
            Run::Borrowed(list) => Source::Borrowed { list, pos: 0 },
        };
        let head = Self { source };
        head.has_current().then_some(head)
    }

    fn has_current(&self) -> bool {
        match &self.source {
            Source::Owned(d) => d.has_current(),
            Source::Borrowed { list, pos } => *pos < list.len(),
        }
    }

    fn item(&self) -> (&[u8], bool, Entry) {
        match &self.source {
            Source::Owned(d) => d.current(),
            Source::Borrowed { list, pos } => list.get(*pos),
        }
    }

    /// Moves to the next item of the run; `None` at its end.
    fn advance(mut self) -> Option<Self> {
        match &mut self.source {
            Source::Owned(d) => {
                d.advance();
            }
            Source::Borrowed { pos, .. } => *pos += 1,
        }
        self.has_current().then_some(self)
    }
}

impl Ord for Head<'_> {
    /// The heap pops the greatest: the smallest key, then the newest record.
    fn cmp(&self, other: &Self) -> Ordering {
        let (key, tombstone, entry) = self.item();
        let (other_key, other_tombstone, other_entry) = other.item();
        compare_keys(other_key, key)
            .then_with(|| entry.seq().cmp(&other_entry.seq()))
            .then_with(|| tombstone.cmp(&other_tombstone))
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

/// Calls `newest(key, tombstone, entry)` once per key of all runs, in
/// ascending key order, with that key's newest record.
/// REQUIRES: every run is sorted with one item per key.
///
/// # Memory
/// What an owned run's reader has passed is freed as it goes.
pub fn resolve(runs: Vec<Run<'_>>, mut newest: impl FnMut(&[u8], bool, Entry)) {
    let mut heap: BinaryHeap<Head<'_>> = runs.into_iter().filter_map(Head::new).collect();
    while let Some(top) = heap.pop() {
        let (key, tombstone, entry) = top.item();
        newest(key, tombstone, entry);
        while heap.peek().is_some_and(|h| h.item().0 == key) {
            if let Some(older) = heap.pop() {
                heap.extend(older.advance());
            }
        }
        heap.extend(top.advance());
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
        resolve(vec![Run::Borrowed(&a), Run::Owned(b)], |k, t, e| {
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

    #[test]
    fn owned_runs_of_many_chunks_resolve_as_borrowed_ones() {
        use crate::entry_list::CHUNK_ITEMS;
        let n = CHUNK_ITEMS as u64 * 3 + 5;
        let runs: Vec<EntryList> = (0..3u64)
            .map(|r| {
                let mut list = EntryList::new();
                // Run r holds every key k with k % (r + 2) == 0, at seq k*4 + r.
                for k in (0..n).filter(|k| k % (r + 2) == 0) {
                    list.push(&k.to_be_bytes(), r == 1, e(r as u32, k * 4 + r));
                }
                list
            })
            .collect();
        let collect = |runs: Vec<Run<'_>>| {
            let mut got = Vec::new();
            resolve(runs, |k, t, e| got.push((k.to_vec(), t, e.file_id)));
            got
        };
        let borrowed = collect(runs.iter().map(Run::Borrowed).collect());
        let owned = collect(runs.into_iter().map(Run::Owned).collect());
        assert_eq!(borrowed, owned);
        let keys: Vec<u64> = (0..n)
            .filter(|k| k % 2 == 0 || k % 3 == 0 || k % 4 == 0)
            .collect();
        assert_eq!(owned.len(), keys.len());
        for ((key, _, file), k) in owned.iter().zip(keys) {
            assert_eq!(key, &k.to_be_bytes());
            let newest = (0..3u64).rev().find(|r| k % (r + 2) == 0).unwrap_or(0);
            assert_eq!(u64::from(*file), newest);
        }
    }
}
