//! [`MergeIter`]: merges sorted, versioned sources (memtables, tables, levels)
//! into one ordered stream, forward or reverse, with visibility by sequence
//! number.
//!
//! Every source yields [`VersionedEntry`]s (a user key, a sequence number and
//! a value or a tombstone) in key order for its direction; versions of one key
//! may come in any order. The merge takes the next key's versions from all
//! sources (a binary heap holds each source's next entry; taking one replaces
//! it with its source's next in one sift) and applies its [`MergeMode`]:
//!
//! - [`MergeMode::Visible`]: what a reader at sequence number `snapshot`
//!   sees: the newest version with `seq <= snapshot`, and nothing for the key
//!   when that version is a tombstone. Items are live pairs only. The other
//!   versions are skipped as they come, without being gathered: nothing is
//!   allocated per key beyond the entry yielded.
//! - [`MergeMode::Compaction`]: what a compaction must keep: for every live
//!   snapshot the newest version it can read, plus the newest version
//!   overall; older versions are dropped. The versions of a key are gathered
//!   and sorted newest first to decide. With `drop_tombstones` (no older
//!   data for the key can exist below the output), tombstones left as the
//!   oldest kept version are dropped too.
//!
//! Items are fallible: the first `Err` from a source is yielded once and the
//! iterator ends (it is fused). [`MergeIter::seek`] repositions every source.
//!
//! ```
//! use std::ops::Bound;
//! use kv_core::merge_iter::{MergeIter, MergeMode, VecSource, VersionedEntry};
//! use kv_core::Direction;
//! let newer = VecSource::new(vec![VersionedEntry::tombstone(b"a", 5)], Direction::Forward);
//! let older = VecSource::new(
//!     vec![VersionedEntry::put(b"a", 1, b"old"), VersionedEntry::put(b"b", 2, b"x")],
//!     Direction::Forward,
//! );
//! let mut merged = MergeIter::new(
//!     vec![Box::new(newer), Box::new(older)],
//!     Direction::Forward,
//!     MergeMode::Visible { snapshot: 10 },
//! );
//! merged.seek(Bound::Unbounded)?;
//! let keys: Vec<_> = merged.map(|e| e.map(|e| e.key)).collect::<Result<_, _>>()?;
//! assert_eq!(keys, vec![b"b".to_vec()]);
//! # Ok::<(), kv_core::Error>(())
//! ```

use std::cmp::Ordering;
use std::collections::binary_heap::PeekMut;
use std::collections::{BinaryHeap, VecDeque};
use std::ops::Bound;

use crate::error::Result;
use crate::store::Direction;

/// One version of one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionedEntry {
    /// The user key.
    pub key: Vec<u8>,
    /// The sequence number of the write that made this version.
    pub seq: u64,
    /// The value, or `None` for a tombstone.
    pub value: Option<Vec<u8>>,
}

impl VersionedEntry {
    /// A put of `value`.
    pub fn put(key: &[u8], seq: u64, value: &[u8]) -> Self {
        Self {
            key: key.to_vec(),
            seq,
            value: Some(value.to_vec()),
        }
    }

    /// A tombstone.
    pub fn tombstone(key: &[u8], seq: u64) -> Self {
        Self {
            key: key.to_vec(),
            seq,
            value: None,
        }
    }
}

/// A sorted source of versions for [`MergeIter`].
///
/// A source is created for one direction and yields keys in that direction's
/// order (ascending for `Forward`, descending for `Reverse`).
pub trait SortedSource: Send {
    /// Positions the source at the first key in its direction that satisfies
    /// `start`: for `Forward`, `Included(k)` means keys `>= k` and
    /// `Excluded(k)` keys `> k`; for `Reverse`, keys `<= k` and `< k`.
    /// `Unbounded` is the first key of the source.
    ///
    /// # Errors
    /// I/O or corruption while positioning.
    fn seek(&mut self, start: Bound<&[u8]>) -> Result<()>;

    /// The next version, `None` at the end.
    fn next_entry(&mut self) -> Option<Result<VersionedEntry>>;
}

/// A source over versions held in memory (tests, small merges).
#[derive(Debug, Clone)]
pub struct VecSource {
    entries: Vec<VersionedEntry>,
    direction: Direction,
    pos: usize,
}

impl VecSource {
    /// A source over `entries`, which it sorts for `direction`.
    pub fn new(mut entries: Vec<VersionedEntry>, direction: Direction) -> Self {
        entries.sort_by(|a, b| a.key.cmp(&b.key).then(b.seq.cmp(&a.seq)));
        if direction == Direction::Reverse {
            entries.reverse();
        }
        Self {
            entries,
            direction,
            pos: 0,
        }
    }
}

impl SortedSource for VecSource {
    fn seek(&mut self, start: Bound<&[u8]>) -> Result<()> {
        let direction = self.direction;
        self.pos = self
            .entries
            .partition_point(|e| !satisfies_start(&e.key, start, direction));
        Ok(())
    }

    fn next_entry(&mut self) -> Option<Result<VersionedEntry>> {
        let entry = self.entries.get(self.pos)?.clone();
        self.pos += 1;
        Some(Ok(entry))
    }
}

/// True if `key` lies at or after `start` in `direction`.
pub fn satisfies_start(key: &[u8], start: Bound<&[u8]>, direction: Direction) -> bool {
    match (start, direction) {
        (Bound::Unbounded, _) => true,
        (Bound::Included(s), Direction::Forward) => key >= s,
        (Bound::Excluded(s), Direction::Forward) => key > s,
        (Bound::Included(s), Direction::Reverse) => key <= s,
        (Bound::Excluded(s), Direction::Reverse) => key < s,
    }
}

/// What the merge keeps of the versions of a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MergeMode {
    /// A reader's view at sequence number `snapshot`: live pairs only.
    Visible {
        /// The newest sequence number visible.
        snapshot: u64,
    },
    /// A compaction's view: the versions live snapshots still need.
    Compaction {
        /// Sequence numbers of the live snapshots (any order).
        snapshots: Vec<u64>,
        /// True when no older data for any key can exist below the output,
        /// so a tombstone that hides nothing kept may go.
        drop_tombstones: bool,
    },
}

struct HeapItem {
    entry: VersionedEntry,
    source: usize,
    reverse: bool,
}

impl PartialEq for HeapItem {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for HeapItem {}
impl PartialOrd for HeapItem {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for HeapItem {
    /// Max-heap order: the item to yield next is the greatest.
    fn cmp(&self, other: &Self) -> Ordering {
        let by_key = self.entry.key.cmp(&other.entry.key);
        let by_key = if self.reverse {
            by_key
        } else {
            by_key.reverse()
        };
        by_key
            .then(self.entry.seq.cmp(&other.entry.seq))
            .then(other.source.cmp(&self.source))
    }
}

/// The merge of several [`SortedSource`]s; see the [module docs](self).
pub struct MergeIter {
    sources: Vec<Box<dyn SortedSource>>,
    heap: BinaryHeap<HeapItem>,
    direction: Direction,
    mode: MergeMode,
    pending: VecDeque<VersionedEntry>,
    error: Option<crate::Error>,
    done: bool,
}

impl std::fmt::Debug for MergeIter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MergeIter")
            .field("sources", &self.sources.len())
            .field("direction", &self.direction)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl MergeIter {
    /// A merge of `sources` (each created for `direction`). Call
    /// [`MergeIter::seek`] before iterating.
    pub fn new(
        sources: Vec<Box<dyn SortedSource>>,
        direction: Direction,
        mut mode: MergeMode,
    ) -> Self {
        if let MergeMode::Compaction { snapshots, .. } = &mut mode {
            snapshots.sort_unstable();
            snapshots.dedup();
        }
        Self {
            sources,
            heap: BinaryHeap::new(),
            direction,
            mode,
            pending: VecDeque::new(),
            error: None,
            done: true,
        }
    }

    /// Positions every source at `start` (see [`SortedSource::seek`]).
    ///
    /// # Errors
    /// The first source's error; the iterator then yields nothing.
    pub fn seek(&mut self, start: Bound<&[u8]>) -> Result<()> {
        self.heap.clear();
        self.pending.clear();
        self.error = None;
        self.done = true;
        for i in 0..self.sources.len() {
            self.sources[i].seek(start)?;
            self.refill(i);
        }
        self.done = false;
        Ok(())
    }

    fn refill(&mut self, source: usize) {
        let Some(next) = self.sources.get_mut(source).and_then(|s| s.next_entry()) else {
            return;
        };
        match next {
            Ok(entry) => self.heap.push(HeapItem {
                entry,
                source,
                reverse: self.direction == Direction::Reverse,
            }),
            Err(e) => {
                if self.error.is_none() {
                    self.error = Some(e);
                }
            }
        }
    }

    /// Takes the entry on top of the heap and puts the next entry of its
    /// source in its place (one sift of the heap instead of a pop and a
    /// push); `None` when every source is used up.
    fn pop_top(&mut self) -> Option<VersionedEntry> {
        let mut top = self.heap.peek_mut()?;
        match self
            .sources
            .get_mut(top.source)
            .and_then(|s| s.next_entry())
        {
            Some(Ok(next)) => Some(std::mem::replace(&mut top.entry, next)),
            Some(Err(e)) => {
                if self.error.is_none() {
                    self.error = Some(e);
                }
                Some(PeekMut::pop(top).entry)
            }
            None => Some(PeekMut::pop(top).entry),
        }
    }

    /// True when the heap's next entry is a version of `key`.
    fn next_is(&self, key: &[u8]) -> bool {
        self.heap.peek().is_some_and(|top| top.entry.key == key)
    }

    /// Every version of the next key, newest first; `None` at the end.
    fn next_key_versions(&mut self) -> Option<Vec<VersionedEntry>> {
        let mut versions = vec![self.pop_top()?];
        while self.next_is(&versions[0].key) {
            match self.pop_top() {
                Some(v) => versions.push(v),
                None => break,
            }
        }
        versions.sort_by_key(|v| std::cmp::Reverse(v.seq));
        versions.dedup_by_key(|v| v.seq);
        Some(versions)
    }

    /// The next key's newest version visible at `snapshot` (a tombstone
    /// included), skipping the key's other versions; without gathering them
    /// (forward, the newest comes first; reverse, sources yield a key's
    /// versions oldest first, so the newest visible one is tracked).
    /// `None` at the end.
    fn next_visible(&mut self, snapshot: u64) -> Option<VersionedEntry> {
        loop {
            let mut best = self.pop_top()?;
            let mut visible = best.seq <= snapshot;
            while self.next_is(&best.key) {
                let Some(v) = self.pop_top() else { break };
                if v.seq <= snapshot && (!visible || v.seq > best.seq) {
                    best = v;
                    visible = true;
                }
            }
            if visible || self.error.is_some() {
                return Some(best);
            }
        }
    }
}

/// The versions a compaction keeps of one key, newest first (see
/// [`MergeMode::Compaction`]). `snapshots` is sorted ascending.
pub fn versions_to_keep(
    versions: Vec<VersionedEntry>,
    snapshots: &[u64],
    drop_tombstones: bool,
) -> Vec<VersionedEntry> {
    let mut kept: Vec<VersionedEntry> = Vec::new();
    let mut last_stripe = None;
    for v in versions {
        // The stripe of a version: the oldest snapshot that can read it, or
        // `snapshots.len()` when it is newer than every snapshot.
        let stripe = snapshots.partition_point(|&s| s < v.seq);
        if last_stripe != Some(stripe) {
            last_stripe = Some(stripe);
            kept.push(v);
        }
    }
    if drop_tombstones {
        while kept.last().is_some_and(|v| v.value.is_none()) {
            kept.pop();
        }
    }
    kept
}

impl Iterator for MergeIter {
    type Item = Result<VersionedEntry>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(e) = self.error.take() {
                self.done = true;
                self.heap.clear();
                self.pending.clear();
                return Some(Err(e));
            }
            if let Some(entry) = self.pending.pop_front() {
                return Some(Ok(entry));
            }
            if self.done {
                return None;
            }
            match &self.mode {
                MergeMode::Visible { snapshot } => {
                    let snapshot = *snapshot;
                    let Some(v) = self.next_visible(snapshot) else {
                        if self.error.is_some() {
                            continue;
                        }
                        self.done = true;
                        return None;
                    };
                    if self.error.is_none() && v.value.is_some() {
                        return Some(Ok(v));
                    }
                }
                MergeMode::Compaction { .. } => {
                    let Some(versions) = self.next_key_versions() else {
                        if self.error.is_some() {
                            continue;
                        }
                        self.done = true;
                        return None;
                    };
                    if self.error.is_some() {
                        continue;
                    }
                    if let MergeMode::Compaction {
                        snapshots,
                        drop_tombstones,
                    } = &self.mode
                    {
                        self.pending.extend(versions_to_keep(
                            versions,
                            snapshots,
                            *drop_tombstones,
                        ));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::error::Error;

    fn merged(
        sources: Vec<Vec<VersionedEntry>>,
        direction: Direction,
        mode: MergeMode,
        start: Bound<&[u8]>,
    ) -> Vec<VersionedEntry> {
        let boxed: Vec<Box<dyn SortedSource>> = sources
            .into_iter()
            .map(|s| Box::new(VecSource::new(s, direction)) as Box<dyn SortedSource>)
            .collect();
        let mut it = MergeIter::new(boxed, direction, mode);
        it.seek(start).unwrap();
        it.collect::<Result<Vec<_>>>().unwrap()
    }

    fn sample() -> Vec<Vec<VersionedEntry>> {
        vec![
            vec![
                VersionedEntry::put(b"b", 9, b"b9"),
                VersionedEntry::tombstone(b"c", 8),
            ],
            vec![
                VersionedEntry::put(b"a", 1, b"a1"),
                VersionedEntry::put(b"b", 2, b"b2"),
                VersionedEntry::put(b"c", 3, b"c3"),
                VersionedEntry::put(b"d", 4, b"d4"),
            ],
        ]
    }

    #[test]
    fn newest_visible_version_wins_forward_and_reverse() {
        let all = |dir| {
            merged(
                sample(),
                dir,
                MergeMode::Visible { snapshot: 100 },
                Bound::Unbounded,
            )
            .into_iter()
            .map(|e| (e.key, e.value.unwrap()))
            .collect::<Vec<_>>()
        };
        let forward = all(Direction::Forward);
        assert_eq!(
            forward,
            vec![
                (b"a".to_vec(), b"a1".to_vec()),
                (b"b".to_vec(), b"b9".to_vec()),
                (b"d".to_vec(), b"d4".to_vec())
            ]
        );
        let mut reverse = all(Direction::Reverse);
        reverse.reverse();
        assert_eq!(reverse, forward);
    }

    #[test]
    fn snapshot_hides_later_writes() {
        let got = merged(
            sample(),
            Direction::Forward,
            MergeMode::Visible { snapshot: 5 },
            Bound::Unbounded,
        );
        let values: Vec<_> = got.into_iter().map(|e| e.value.unwrap()).collect();
        assert_eq!(
            values,
            vec![
                b"a1".to_vec(),
                b"b2".to_vec(),
                b"c3".to_vec(),
                b"d4".to_vec()
            ]
        );
    }

    #[test]
    fn seek_honours_bound_kinds_in_both_directions() {
        let keys = |dir, start| {
            merged(sample(), dir, MergeMode::Visible { snapshot: 5 }, start)
                .into_iter()
                .map(|e| e.key[0])
                .collect::<Vec<_>>()
        };
        assert_eq!(keys(Direction::Forward, Bound::Included(&b"b"[..])), b"bcd");
        assert_eq!(keys(Direction::Forward, Bound::Excluded(&b"b"[..])), b"cd");
        assert_eq!(keys(Direction::Reverse, Bound::Included(&b"c"[..])), b"cba");
        assert_eq!(keys(Direction::Reverse, Bound::Excluded(&b"c"[..])), b"ba");
    }

    #[test]
    fn compaction_keeps_what_snapshots_need() {
        let versions = vec![
            VersionedEntry::put(b"k", 9, b"9"),
            VersionedEntry::tombstone(b"k", 7),
            VersionedEntry::put(b"k", 5, b"5"),
            VersionedEntry::put(b"k", 3, b"3"),
        ];
        let seqs = |v: Vec<VersionedEntry>| v.into_iter().map(|e| e.seq).collect::<Vec<_>>();
        assert_eq!(
            seqs(versions_to_keep(versions.clone(), &[], false)),
            vec![9]
        );
        assert_eq!(
            seqs(versions_to_keep(versions.clone(), &[6], false)),
            vec![9, 5]
        );
        assert_eq!(
            seqs(versions_to_keep(versions.clone(), &[4, 8], false)),
            vec![9, 7, 3]
        );
        let only_tombstone = vec![VersionedEntry::tombstone(b"k", 4)];
        assert!(versions_to_keep(only_tombstone.clone(), &[], true).is_empty());
        assert_eq!(seqs(versions_to_keep(only_tombstone, &[], false)), vec![4]);
    }

    #[test]
    fn compaction_mode_yields_every_kept_version() {
        let got = merged(
            sample(),
            Direction::Forward,
            MergeMode::Compaction {
                snapshots: vec![5],
                drop_tombstones: true,
            },
            Bound::Unbounded,
        );
        let ks: Vec<_> = got.iter().map(|e| (e.key[0], e.seq)).collect();
        assert_eq!(
            ks,
            vec![
                (b'a', 1),
                (b'b', 9),
                (b'b', 2),
                (b'c', 8),
                (b'c', 3),
                (b'd', 4)
            ]
        );
    }

    #[test]
    fn visible_mode_picks_the_newest_visible_of_versions_in_one_source() {
        // One source holds three versions of "k": forward yields them
        // newest first, reverse oldest first; the merge must pick the same.
        let versions = || {
            vec![
                vec![
                    VersionedEntry::put(b"j", 1, b"j1"),
                    VersionedEntry::put(b"k", 2, b"k2"),
                    VersionedEntry::put(b"k", 4, b"k4"),
                    VersionedEntry::tombstone(b"k", 6),
                    VersionedEntry::put(b"l", 3, b"l3"),
                ],
                vec![VersionedEntry::put(b"k", 5, b"k5")],
            ]
        };
        for (snapshot, want) in [
            (1, vec![&b"j1"[..]]),
            (3, vec![b"j1", b"k2", b"l3"]),
            (4, vec![b"j1", b"k4", b"l3"]),
            (5, vec![b"j1", b"k5", b"l3"]),
            (9, vec![b"j1", b"l3"]),
        ] {
            for dir in [Direction::Forward, Direction::Reverse] {
                let mut got: Vec<_> = merged(
                    versions(),
                    dir,
                    MergeMode::Visible { snapshot },
                    Bound::Unbounded,
                )
                .into_iter()
                .map(|e| e.value.unwrap())
                .collect();
                if dir == Direction::Reverse {
                    got.reverse();
                }
                assert_eq!(got, want, "snapshot {snapshot} {dir:?}");
            }
        }
    }

    struct Failing(bool);
    impl SortedSource for Failing {
        fn seek(&mut self, _: Bound<&[u8]>) -> Result<()> {
            Ok(())
        }
        fn next_entry(&mut self) -> Option<Result<VersionedEntry>> {
            if self.0 {
                return None;
            }
            self.0 = true;
            Some(Err(Error::InvalidArgument("boom".into())))
        }
    }

    #[test]
    fn a_source_error_is_yielded_once_then_the_merge_ends() {
        let good = VecSource::new(vec![VersionedEntry::put(b"a", 1, b"1")], Direction::Forward);
        let mut it = MergeIter::new(
            vec![Box::new(good), Box::new(Failing(false))],
            Direction::Forward,
            MergeMode::Visible { snapshot: 9 },
        );
        it.seek(Bound::Unbounded).unwrap();
        assert!(it.next().unwrap().is_err());
        assert!(it.next().is_none());
    }
}
