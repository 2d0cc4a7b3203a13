//! [`MemSource`]: a memtable read as a sorted source, in batches.

use std::collections::VecDeque;
use std::ops::Bound;
use std::sync::Arc;

use kv_core::merge_iter::{SortedSource, VersionedEntry};
use kv_core::{Direction, Result};

use super::{MemKey, Memtable};

/// Entries a [`MemSource`] reads at most per skiplist search.
const SOURCE_BATCH: usize = 128;

/// Entries the first refill after a seek reads: a short scan (a seek and a
/// few nexts) copies a few entries, not [`SOURCE_BATCH`]; each refill
/// then doubles up to [`SOURCE_BATCH`].
const FIRST_BATCH: usize = 16;

/// A [`SortedSource`] over a memtable that stays valid while writers insert:
/// each refill is a fresh skiplist search from the last key examined, then
/// a walk along the bottom level for a batch of entries, [`FIRST_BATCH`]
/// after a seek, doubling up to [`SOURCE_BATCH`] (so a flush or a long scan
/// costs one search per batch, not one per entry, and a short scan copies
/// little more than it reads). An entry inserted into a stretch already
/// examined is missed; it has a sequence number above every snapshot taken
/// before it, so no reader of this source may see it.
///
/// A source made by [`MemSource::visible_at`] (scans) yields of each key
/// only the newest version with `seq <= snapshot`: the other versions of
/// the key in this memtable can never be what the reader sees, so they are
/// stepped over without copying their values (an overwritten key has many
/// versions in one memtable). Flushes and recovery use [`MemSource::new`],
/// which yields every version.
#[derive(Debug)]
pub struct MemSource {
    mem: Arc<Memtable>,
    direction: Direction,
    snapshot: Option<u64>,
    start: Bound<MemKey>,
    cursor: Option<MemKey>,
    /// Forward with a snapshot: the user key last yielded.
    last_user: Option<Vec<u8>>,
    buffered: VecDeque<VersionedEntry>,
    batch: usize,
    finished: bool,
}

type MemEntry<'a> = crossbeam_skiplist::map::Entry<'a, MemKey, ()>;

/// The version `key` holds, copied out.
pub(super) fn owned(key: &MemKey) -> VersionedEntry {
    VersionedEntry {
        key: key.user().to_vec(),
        seq: key.seq(),
        value: key.value().map(<[u8]>::to_vec),
    }
}

impl MemSource {
    /// A source over every version of `mem` in `direction`; call `seek`
    /// first.
    pub fn new(mem: Arc<Memtable>, direction: Direction) -> Self {
        Self {
            mem,
            direction,
            snapshot: None,
            start: Bound::Unbounded,
            cursor: None,
            last_user: None,
            buffered: VecDeque::new(),
            batch: FIRST_BATCH,
            finished: true,
        }
    }

    /// A source over what a reader at `snapshot` can see of `mem`: per key,
    /// the newest version with `seq <= snapshot` (a tombstone included).
    pub fn visible_at(mem: Arc<Memtable>, direction: Direction, snapshot: u64) -> Self {
        Self {
            snapshot: Some(snapshot),
            ..Self::new(mem, direction)
        }
    }

    /// Takes the next batch of entries after the cursor into the buffer
    /// (with a snapshot, only those a reader may see); false when there
    /// are none left to examine.
    fn refill(&mut self) -> bool {
        let batch = self.batch;
        self.batch = (batch * 2).min(SOURCE_BATCH);
        let lower = match &self.cursor {
            Some(c) => Bound::Excluded(c),
            None => self.start.as_ref(),
        };
        let map = &self.mem.map;
        let last = match self.direction {
            Direction::Forward => {
                let range = map.range::<MemKey, _>((lower, Bound::Unbounded));
                take_forward(
                    range.take(batch),
                    self.snapshot,
                    &mut self.last_user,
                    &mut self.buffered,
                )
            }
            Direction::Reverse => {
                let range = map.range::<MemKey, _>((Bound::Unbounded, lower)).rev();
                take_reverse(range, batch, self.snapshot, &mut self.buffered)
            }
        };
        match last {
            Some(key) => {
                self.cursor = Some(key);
                true
            }
            None => false,
        }
    }
}

/// Forward: appends the entries of `range` to `out` (with a snapshot, the
/// first visible version of each key only); returns the key of the last
/// entry examined.
fn take_forward<'a>(
    range: impl Iterator<Item = MemEntry<'a>>,
    snapshot: Option<u64>,
    last_user: &mut Option<Vec<u8>>,
    out: &mut VecDeque<VersionedEntry>,
) -> Option<MemKey> {
    let mut last = None;
    for e in range {
        let take = match snapshot {
            None => true,
            Some(s) => e.key().seq() <= s && last_user.as_deref() != Some(e.key().user()),
        };
        if take {
            out.push_back(owned(e.key()));
            if snapshot.is_some() {
                let user = last_user.get_or_insert_with(Vec::new);
                user.clear();
                user.extend_from_slice(e.key().user());
            }
        }
        last = Some(e);
    }
    last.map(|e| e.key().search_key())
}

/// Reverse: appends up to `batch` entries of `range` to `out`; with a
/// snapshot, of each key only its newest visible version, which comes last
/// of the key's versions in reverse order (one entry of look-ahead tells).
/// Returns the key of the last entry examined.
fn take_reverse<'a>(
    range: impl Iterator<Item = MemEntry<'a>>,
    batch: usize,
    snapshot: Option<u64>,
    out: &mut VecDeque<VersionedEntry>,
) -> Option<MemKey> {
    let mut range = range.peekable();
    let mut last = None;
    for _ in 0..batch {
        let Some(e) = range.next() else { break };
        let take = match snapshot {
            None => true,
            Some(s) => {
                e.key().seq() <= s
                    && !range
                        .peek()
                        .is_some_and(|n| n.key().same_user(e.key()) && n.key().seq() <= s)
            }
        };
        if take {
            out.push_back(owned(e.key()));
        }
        last = Some(e);
    }
    last.map(|e| e.key().search_key())
}

fn probe(user: &[u8], seq: u64) -> MemKey {
    MemKey::new(user, seq)
}

impl SortedSource for MemSource {
    fn seek(&mut self, start: Bound<&[u8]>) -> Result<()> {
        let max = u64::MAX;
        self.start = match (start, self.direction) {
            (Bound::Unbounded, _) => Bound::Unbounded,
            (Bound::Included(k), Direction::Forward) => Bound::Included(probe(k, max)),
            (Bound::Excluded(k), Direction::Forward) => Bound::Excluded(probe(k, 0)),
            (Bound::Included(k), Direction::Reverse) => Bound::Included(probe(k, 0)),
            (Bound::Excluded(k), Direction::Reverse) => Bound::Excluded(probe(k, max)),
        };
        self.cursor = None;
        self.last_user = None;
        self.buffered.clear();
        self.batch = FIRST_BATCH;
        self.finished = false;
        Ok(())
    }

    fn next_entry(&mut self) -> Option<Result<VersionedEntry>> {
        if self.finished {
            return None;
        }
        while self.buffered.is_empty() {
            if !self.refill() {
                self.finished = true;
                return None;
            }
        }
        self.buffered.pop_front().map(Ok)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn source_refills_across_many_batches_in_both_directions() {
        let mem = Arc::new(Memtable::new(1));
        let key = |i: usize| format!("key{i:05}").into_bytes();
        for i in 0..1000 {
            mem.insert(&key(i), 2 * i as u64 + 1, Some(b"v"));
            mem.insert(&key(i), 2 * i as u64 + 2, None);
        }
        let mut fwd = MemSource::new(Arc::clone(&mem), Direction::Forward);
        fwd.seek(Bound::Excluded(&key(100))).unwrap();
        let got: Vec<_> = std::iter::from_fn(|| fwd.next_entry())
            .map(|e| e.unwrap())
            .map(|e| (e.key, e.seq))
            .collect();
        let want: Vec<_> = (101..1000)
            .flat_map(|i| [(key(i), 2 * i as u64 + 2), (key(i), 2 * i as u64 + 1)])
            .collect();
        assert_eq!(got, want);
        let mut rev = MemSource::new(mem, Direction::Reverse);
        rev.seek(Bound::Included(&key(900))).unwrap();
        let got: Vec<_> = std::iter::from_fn(|| rev.next_entry())
            .map(|e| e.unwrap())
            .map(|e| (e.key, e.seq))
            .collect();
        let want: Vec<_> = (0..=900)
            .rev()
            .flat_map(|i| [(key(i), 2 * i as u64 + 1), (key(i), 2 * i as u64 + 2)])
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn visible_source_yields_the_newest_visible_version_of_each_key_only() {
        let mem = Arc::new(Memtable::new(1));
        let key = |i: usize| format!("key{i:05}").into_bytes();
        // Key i has versions 10i+1 ..= 10i+1+(i % 7); every third key's
        // newest is a tombstone. Many keys span a batch boundary.
        let mut seq_of = Vec::new();
        for i in 0..500 {
            let versions = (i % 7) as u64 + 1;
            for v in 0..versions {
                let seq = 10 * i as u64 + 1 + v;
                let newest = v + 1 == versions;
                let value = (!(newest && i % 3 == 0)).then_some(&b"v"[..]);
                mem.insert(&key(i), seq, value);
            }
            seq_of.push(10 * i as u64 + versions);
        }
        for snapshot in [5u64, 2_503, 10_000] {
            let want: Vec<(Vec<u8>, u64)> = (0..500)
                .filter(|&i| 10 * (i as u64) < snapshot)
                .map(|i| (key(i), seq_of[i].min(snapshot)))
                .collect();
            for direction in [Direction::Forward, Direction::Reverse] {
                let mut src = MemSource::visible_at(Arc::clone(&mem), direction, snapshot);
                src.seek(Bound::Unbounded).unwrap();
                let mut got: Vec<_> = std::iter::from_fn(|| src.next_entry())
                    .map(|e| e.unwrap())
                    .map(|e| (e.key, e.seq))
                    .collect();
                if direction == Direction::Reverse {
                    got.reverse();
                }
                assert!(got == want, "snapshot {snapshot} {direction:?}");
            }
        }
    }

    #[test]
    fn source_walks_both_directions() {
        let mem = Arc::new(Memtable::new(1));
        for (i, k) in [b"a", b"b", b"c"].iter().enumerate() {
            mem.insert(*k, i as u64 + 1, Some(b"v"));
        }
        let mut fwd = MemSource::new(Arc::clone(&mem), Direction::Forward);
        fwd.seek(Bound::Excluded(b"a")).unwrap();
        let keys: Vec<_> = std::iter::from_fn(|| fwd.next_entry())
            .map(|e| e.unwrap().key)
            .collect();
        assert_eq!(keys, vec![b"b".to_vec(), b"c".to_vec()]);
        let mut rev = MemSource::new(mem, Direction::Reverse);
        rev.seek(Bound::Included(b"b")).unwrap();
        let keys: Vec<_> = std::iter::from_fn(|| rev.next_entry())
            .map(|e| e.unwrap().key)
            .collect();
        assert_eq!(keys, vec![b"b".to_vec(), b"a".to_vec()]);
    }
}
