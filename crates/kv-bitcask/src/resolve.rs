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

/// One run to resolve: taken (its chunks are freed as the merge passes
/// them, so a caller building something from the stream never holds the
/// runs and the result whole at once) or borrowed.
pub enum Run<'a> {
    /// Consumed: each chunk is dropped once its last item was read.
    Owned(EntryList),
    /// Read in place.
    Borrowed(&'a EntryList),
}

/// A run's current piece: one chunk of an owned run, or a borrowed run.
enum Piece<'a> {
    Owned(EntryList),
    Borrowed(&'a EntryList),
}

impl Piece<'_> {
    fn list(&self) -> &EntryList {
        match self {
            Self::Owned(list) => list,
            Self::Borrowed(list) => list,
        }
    }
}

type Pieces<'a> = Box<dyn Iterator<Item = Piece<'a>> + 'a>;

fn pieces(run: Run<'_>) -> Pieces<'_> {
    match run {
        Run::Owned(list) => Box::new(list.into_chunks().map(Piece::Owned)),
        Run::Borrowed(list) => Box::new(std::iter::once(Piece::Borrowed(list))),
    }
}

/// The next unread item of a run.
struct Head<'a> {
    piece: Piece<'a>,
    pos: usize,
    run: usize,
}

impl<'a> Head<'a> {
    /// The first item of the next non-empty piece of run `run`.
    fn first(rest: &mut Pieces<'a>, run: usize) -> Option<Self> {
        let piece = rest.find(|p| !p.list().is_empty())?;
        Some(Self { piece, pos: 0, run })
    }

    fn item(&self) -> (&[u8], bool, Entry) {
        self.piece.list().get(self.pos)
    }

    /// The head after this one in its run (freeing a finished chunk).
    fn advance(mut self, rest: &mut [Pieces<'a>]) -> Option<Self> {
        self.pos += 1;
        if self.pos < self.piece.list().len() {
            return Some(self);
        }
        let run = self.run;
        drop(self);
        Self::first(rest.get_mut(run)?, run)
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
/// An owned run's chunks are freed as the merge passes them.
pub fn resolve(runs: Vec<Run<'_>>, mut newest: impl FnMut(&[u8], bool, Entry)) {
    let mut rest: Vec<Pieces<'_>> = runs.into_iter().map(pieces).collect();
    let mut heap: BinaryHeap<Head<'_>> = rest
        .iter_mut()
        .enumerate()
        .filter_map(|(run, pieces)| Head::first(pieces, run))
        .collect();
    while let Some(top) = heap.pop() {
        let (key, tombstone, entry) = top.item();
        newest(key, tombstone, entry);
        while heap.peek().is_some_and(|h| h.item().0 == key) {
            if let Some(older) = heap.pop() {
                heap.extend(older.advance(&mut rest));
            }
        }
        heap.extend(top.advance(&mut rest));
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
