//! [`UnflushedTail`]: the records of the active file that are still in the
//! writer's buffer, readable without the writer lock.
//!
//! The writer lock is held across I/O: a full buffer's write, a rollover
//! (flush, trim, fsync, hint, new file, file-set record), a clean close, a
//! merge's commit sync. A `get` of a record that is not in the file yet
//! used to copy it out of the writer's buffer under that lock, so it could
//! wait behind all of that. Instead the writer mirrors what it appends to
//! its buffer here (a memory copy per write, under this lock's write side
//! for just that copy) before the keydir points at it, and a `get` copies
//! the record from here under the read side: it waits at most for a
//! memory copy, never for I/O.
//!
//! # Invariant
//! Every record the keydir points at is in its file below the file's
//! `readable_len`, or here: a flush publishes `readable_len` before the
//! writer's next [`UnflushedTail::mirror`] drops the flushed bytes, and the
//! bytes kept here are the file's bytes at those offsets (data files are
//! append-only while open), so a stale copy is still a correct one.

use std::sync::{PoisonError, RwLock};

use crate::keydir::Entry;

/// A mirror grown past this by a huge batch is given back when it is
/// reset.
const MAX_RETAINED_BYTES: usize = 4 << 20;

#[derive(Debug, Default)]
struct Tail {
    /// The file the bytes belong to.
    file_id: u32,
    /// The file offset of `bytes[0]`.
    start: u64,
    bytes: Vec<u8>,
}

/// The unflushed bytes of the active file (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct UnflushedTail {
    tail: RwLock<Tail>,
}

impl UnflushedTail {
    /// Makes this mirror `buffer`, the writer's buffer of file `file_id`
    /// whose first byte goes at offset `start`: copies only what was
    /// appended since the last call, unless the writer flushed or moved to
    /// another file meanwhile (then it starts over).
    /// REQUIRES: the writer lock; called before the keydir points at the
    /// buffer's new records.
    pub fn mirror(&self, file_id: u32, start: u64, buffer: &[u8]) {
        let mut t = self.tail.write().unwrap_or_else(PoisonError::into_inner);
        if t.file_id != file_id || t.start != start || t.bytes.len() > buffer.len() {
            t.file_id = file_id;
            t.start = start;
            t.bytes.clear();
            if t.bytes.capacity() > MAX_RETAINED_BYTES {
                t.bytes = Vec::new();
            }
        }
        let have = t.bytes.len();
        if let Some(new) = buffer.get(have..) {
            t.bytes.extend_from_slice(new);
        }
    }

    /// Copies the record `entry` into `out` if its bytes are here.
    pub fn copy(&self, entry: &Entry, out: &mut Vec<u8>) -> bool {
        let t = self.tail.read().unwrap_or_else(PoisonError::into_inner);
        let offset = u64::from(entry.offset);
        if entry.file_id != t.file_id || offset < t.start {
            return false;
        }
        let Ok(from) = usize::try_from(offset - t.start) else {
            return false;
        };
        match t.bytes.get(from..from.saturating_add(entry.len as usize)) {
            Some(bytes) => {
                out.clear();
                out.extend_from_slice(bytes);
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(file_id: u32, offset: u32, len: u32) -> Entry {
        Entry {
            file_id,
            offset,
            len,
            stored_seq: 1,
        }
    }

    #[test]
    fn mirrors_appends_and_starts_over_after_a_flush() {
        let t = UnflushedTail::default();
        let mut out = Vec::new();
        t.mirror(3, 100, b"abc");
        t.mirror(3, 100, b"abcdef");
        assert!(t.copy(&entry(3, 102, 3), &mut out));
        assert_eq!(out, b"cde");
        assert!(!t.copy(&entry(3, 104, 3), &mut out), "past the end");
        assert!(!t.copy(&entry(4, 102, 1), &mut out), "another file");
        assert!(!t.copy(&entry(3, 99, 1), &mut out), "before the start");
        // Flushed: the buffer now starts at 106.
        t.mirror(3, 106, b"gh");
        assert!(!t.copy(&entry(3, 100, 2), &mut out));
        assert!(t.copy(&entry(3, 106, 2), &mut out));
        assert_eq!(out, b"gh");
        // A buffer cut back (a write that failed) is mirrored as it is.
        t.mirror(3, 106, b"g");
        assert!(!t.copy(&entry(3, 107, 1), &mut out));
    }
}
