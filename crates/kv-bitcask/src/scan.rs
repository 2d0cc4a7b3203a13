//! Range scans: walk the keydir in chunks and read each value with one
//! positioned read.
//!
//! # What a scan sees
//!
//! Bitcask keeps one version per key, so a scan is not a snapshot of the
//! whole range. It takes the keydir in chunks (32 keys at first, doubling
//! up to 1,024, so a short seek costs little): each chunk is copied under
//! the keydir lock together with handles to the files it points at, and
//! each key of a chunk is returned with the value its entry pointed at when
//! the chunk was taken (a merge deleting that file meanwhile does not
//! matter: the handle stays readable). Keys come out strictly ascending (or
//! descending), each at most once. A key written or deleted while the scan
//! runs is seen with its new state if its chunk is taken after the write,
//! with its old state otherwise. Expired TTL keys are skipped.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

use kv_core::{CorruptionKind, Direction, Error, KeyRange, KvPair, Result, ScanIter};

use crate::data_file::DataFile;
use crate::entry_list::EntryList;
use crate::read::read_value;
use crate::shared_state::SharedState;
use crate::ttl::Clock;
use crate::unflushed::UnflushedTail;

const FIRST_CHUNK_KEYS: usize = 32;
const MAX_CHUNK_KEYS: usize = 1024;

/// What a scan reads: the keydir, the write buffer's mirror (see
/// [`crate::read`]), the clock that says which TTL puts expired, and the
/// store's directory (named by the error for a keydir entry without a
/// file).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ScanSource<'a> {
    /// The keydir and the file handles.
    pub state: &'a SharedState,
    /// Records still in the write buffer.
    pub unflushed: &'a UnflushedTail,
    /// Says which TTL puts have expired.
    pub clock: &'a dyn Clock,
    /// The store's directory.
    pub dir: &'a Path,
}

/// Starts a scan of `range` in `direction`.
///
/// # Errors
/// None at the start; reading errors come out of the iterator.
pub(crate) fn scan<'a>(
    source: ScanSource<'a>,
    range: &KeyRange,
    direction: Direction,
) -> Result<ScanIter<'a>> {
    if range.is_empty() {
        return Ok(Box::new(std::iter::empty()));
    }
    Ok(Box::new(ChunkedScan {
        source,
        reverse: direction == Direction::Reverse,
        start: range.start.clone(),
        end: range.end.clone(),
        chunk: EntryList::new(),
        handles: BTreeMap::new(),
        pos: 0,
        chunk_keys: FIRST_CHUNK_KEYS,
        exhausted: false,
    }))
}

struct ChunkedScan<'a> {
    source: ScanSource<'a>,
    reverse: bool,
    /// The part of the range not taken yet.
    start: Bound<Vec<u8>>,
    end: Bound<Vec<u8>>,
    chunk: EntryList,
    handles: BTreeMap<u32, Arc<DataFile>>,
    pos: usize,
    chunk_keys: usize,
    exhausted: bool,
}

fn as_slice(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match b {
        Bound::Included(k) => Bound::Included(k),
        Bound::Excluded(k) => Bound::Excluded(k),
        Bound::Unbounded => Bound::Unbounded,
    }
}

impl ChunkedScan<'_> {
    fn refill(&mut self) {
        self.chunk.clear();
        self.handles.clear();
        self.pos = 0;
        let limit = self.chunk_keys;
        {
            let (chunk, handles) = (&mut self.chunk, &mut self.handles);
            let range = (as_slice(&self.start), as_slice(&self.end));
            // Each key's handle is taken under its leaf's lock, with its
            // entry: a merge drops a file only after moving every key off it.
            self.source
                .state
                .visit_range(range, self.reverse, |k, e, open| {
                    chunk.push(k, false, e);
                    if let std::collections::btree_map::Entry::Vacant(slot) =
                        handles.entry(e.file_id)
                    {
                        if let Some(h) = open.get(&e.file_id) {
                            slot.insert(Arc::clone(h));
                        }
                    }
                    chunk.len() < limit
                });
        }
        if self.chunk.len() < limit {
            self.exhausted = true;
        } else if let Some((last, _, _)) = self.chunk.iter().next_back() {
            let past = Bound::Excluded(last.to_vec());
            if self.reverse {
                self.end = past;
            } else {
                self.start = past;
            }
        }
        self.chunk_keys = (self.chunk_keys * 2).min(MAX_CHUNK_KEYS);
    }
}

impl Iterator for ChunkedScan<'_> {
    type Item = Result<KvPair>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.pos >= self.chunk.len() {
                if self.exhausted {
                    return None;
                }
                self.refill();
                continue;
            }
            let (key, _, entry) = self.chunk.get(self.pos);
            self.pos += 1;
            let Some(handle) = self.handles.get(&entry.file_id) else {
                self.exhausted = true;
                self.pos = self.chunk.len();
                return Some(Err(Error::corruption(
                    self.source.dir,
                    0,
                    CorruptionKind::Invariant(format!(
                        "keydir points at data file {} which is not open",
                        entry.file_id
                    )),
                )));
            };
            let ScanSource {
                unflushed, clock, ..
            } = self.source;
            match read_value(key, entry, handle, unflushed, clock) {
                Ok(Some(value)) => return Some(Ok((key.to_vec(), value))),
                Ok(None) => continue, // expired
                Err(e) => {
                    self.exhausted = true;
                    self.pos = self.chunk.len();
                    return Some(Err(e));
                }
            }
        }
    }
}
