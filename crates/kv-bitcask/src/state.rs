//! The in-memory state: the keydir, the table of data files with their
//! live and dead byte counts, and the store-wide totals. Recovery builds a
//! [`State`]; an open store splits it into the keydir (with the file
//! handles, behind the index lock and per-leaf locks) and the
//! [`Accounting`] (behind a mutex no read takes); see
//! `crate::shared_state`.

use std::collections::BTreeMap;
use std::sync::Arc;

use kv_core::codec::HEADER_BYTES;

use crate::data_file::DataFile;
use crate::entry_list::EntryList;
use crate::expiry_index::{Expired, ExpiryIndex};
use crate::keydir::{Entry, Keydir};
use crate::ttl::EXPIRY_PREFIX_BYTES;

/// One data file and what is known about its contents.
#[derive(Debug, Clone)]
pub struct FileInfo {
    /// The shared read handle.
    pub handle: Arc<DataFile>,
    /// Length of the file's data, header included (for the active file,
    /// including bytes still in the write buffer, and not its preallocated
    /// space: see [`DataFile::preallocated_bytes`]).
    pub total_bytes: u64,
    /// Bytes of the records the keydir points at.
    pub live_bytes: u64,
    /// Keys whose newest record is here.
    pub live_keys: u64,
    /// Bytes of tombstones known to be here.
    pub tombstone_bytes: u64,
    /// Highest sequence number of those tombstones (0 if none).
    pub tombstone_max_seq: u64,
    /// Lowest sequence number of any record here (`u64::MAX` if none).
    pub min_seq: u64,
    /// Highest sequence number of any record here (0 if none).
    pub max_seq: u64,
    /// Size of its hint file (0 if none).
    pub hint_bytes: u64,
    /// Put and delete records in the file, dead ones included.
    pub records: u64,
}

impl FileInfo {
    /// A file with nothing accounted yet.
    pub fn new(handle: Arc<DataFile>, total_bytes: u64) -> Self {
        Self {
            handle,
            total_bytes,
            live_bytes: 0,
            live_keys: 0,
            tombstone_bytes: 0,
            tombstone_max_seq: 0,
            min_seq: u64::MAX,
            max_seq: 0,
            hint_bytes: 0,
            records: 0,
        }
    }

    /// Records that are not a key's live version: superseded puts and
    /// tombstones.
    pub fn dead_records(&self) -> u64 {
        self.records.saturating_sub(self.live_keys)
    }

    /// Bytes that hold no live record: superseded puts, tombstones, batch
    /// headers.
    pub fn dead_bytes(&self) -> u64 {
        self.total_bytes
            .saturating_sub(self.handle.header_len)
            .saturating_sub(self.live_bytes)
    }

    /// True if the file holds at least one record.
    pub fn has_records(&self) -> bool {
        self.min_seq <= self.max_seq
    }

    /// Records that a record with sequence `seq` is here.
    pub fn note_seq(&mut self, seq: u64) {
        self.min_seq = self.min_seq.min(seq);
        self.max_seq = self.max_seq.max(seq);
    }

    /// A file loaded at open or written by a merge: its sequence bounds,
    /// record count and hint size, with the tombstones of `entries` (one
    /// entry per record of the file) accounted. Live bytes and keys are
    /// accounted later, as the keydir is built or switched.
    pub fn summarized(
        handle: Arc<DataFile>,
        total_bytes: u64,
        (min_seq, max_seq): (u64, u64),
        records: u64,
        hint_bytes: u64,
        entries: &EntryList,
    ) -> Self {
        let mut info = Self::new(handle, total_bytes);
        info.min_seq = min_seq;
        info.max_seq = max_seq;
        info.records = records;
        info.hint_bytes = hint_bytes;
        for (_, tombstone, e) in entries.iter() {
            if tombstone {
                info.note_tombstone(e.seq(), e.len);
            }
        }
        info
    }

    /// Records a tombstone of `len` bytes with sequence `seq`.
    pub fn note_tombstone(&mut self, seq: u64, len: u32) {
        self.tombstone_bytes += u64::from(len);
        self.tombstone_max_seq = self.tombstone_max_seq.max(seq);
    }
}

/// Bytes of key plus user value of the record an entry points at.
pub fn payload_bytes(entry: &Entry) -> u64 {
    let prefix = if entry.has_ttl() {
        EXPIRY_PREFIX_BYTES
    } else {
        0
    };
    u64::from(entry.len).saturating_sub((HEADER_BYTES + prefix) as u64)
}

/// The keydir, the file table and the totals, as recovery builds them
/// (single-threaded); an open store splits them with [`State::into_parts`]
/// into the keydir and the [`Accounting`] (see `crate::shared_state`).
#[derive(Debug, Default)]
pub struct State {
    /// Every live key.
    pub keydir: Keydir,
    /// Every data file of the store, by id.
    pub files: BTreeMap<u32, FileInfo>,
    /// Sum of key plus value bytes over the live keys (expired TTL puts
    /// included, until a merge drops them).
    pub live_payload_bytes: u64,
    /// When each live TTL put expires.
    pub expiring: ExpiryIndex,
}

impl State {
    /// The handle of data file `id`.
    pub fn handle(&self, id: u32) -> Option<Arc<DataFile>> {
        self.files.get(&id).map(|f| Arc::clone(&f.handle))
    }

    /// The keydir, and everything else.
    pub fn into_parts(self) -> (Keydir, Accounting) {
        let accounting = Accounting {
            files: self.files,
            live_payload_bytes: self.live_payload_bytes,
            expiring: self.expiring,
        };
        (self.keydir, accounting)
    }
}

/// What is known about the data files and the live keys besides where each
/// key is: the file table with its per-file counts, the payload total and
/// the expiry index. No read (`get`, `scan`) ever needs it; writes update it
/// with every keydir change they make, *while they hold the changed key's
/// leaf lock* (so changes of one key are accounted in the order they were
/// made), through the `on_*` methods, which take the entry the key had.
#[derive(Debug, Default)]
pub struct Accounting {
    /// Every data file of the store, by id.
    pub files: BTreeMap<u32, FileInfo>,
    /// Sum of key plus value bytes over the live keys (expired TTL puts
    /// included, until a merge drops them).
    pub live_payload_bytes: u64,
    /// When each live TTL put expires.
    pub expiring: ExpiryIndex,
}

impl Accounting {
    /// Forgets the live record `old` of `key`: its counts and its expiry.
    fn forget(&mut self, key: &[u8], old: Entry) {
        if old.has_ttl() {
            self.expiring.remove(key);
        }
        self.drop_counts(old);
    }

    fn drop_counts(&mut self, old: Entry) {
        if let Some(f) = self.files.get_mut(&old.file_id) {
            f.live_bytes = f.live_bytes.saturating_sub(u64::from(old.len));
            f.live_keys = f.live_keys.saturating_sub(1);
        }
        self.live_payload_bytes = self.live_payload_bytes.saturating_sub(payload_bytes(&old));
    }

    fn adopt(&mut self, new: Entry) {
        if let Some(f) = self.files.get_mut(&new.file_id) {
            f.live_bytes += u64::from(new.len);
            f.live_keys += 1;
        }
        self.live_payload_bytes += payload_bytes(&new);
    }

    /// `key`, which pointed at `old`, now points at a new put `entry`;
    /// `expiry_unix_ms` is the put's expiry if it is a TTL put.
    pub fn on_put(
        &mut self,
        key: &[u8],
        old: Option<Entry>,
        entry: Entry,
        expiry_unix_ms: Option<u64>,
    ) {
        if let Some(old) = old {
            self.forget(key, old);
        }
        self.adopt(entry);
        if let Some(at) = expiry_unix_ms.filter(|_| entry.has_ttl()) {
            self.expiring.insert(key, at, payload_bytes(&entry));
        }
    }

    /// `key`, which pointed at `old`, is removed because of a tombstone
    /// written at `tombstone`.
    pub fn on_delete(&mut self, key: &[u8], old: Option<Entry>, tombstone: Entry) {
        if let Some(old) = old {
            self.forget(key, old);
        }
        if let Some(f) = self.files.get_mut(&tombstone.file_id) {
            f.note_tombstone(tombstone.seq(), tombstone.len);
        }
    }

    /// A key moved from `old` to `new`, a merge's verbatim copy of the same
    /// record (its expiry, if any, stays as indexed).
    pub fn on_switch(&mut self, old: Entry, new: Entry) {
        self.drop_counts(old);
        self.adopt(new);
    }

    /// `key`, which pointed at `old`, is removed (expired, by a merge).
    pub fn on_removed(&mut self, key: &[u8], old: Entry) {
        self.forget(key, old);
    }

    /// The live TTL puts that have expired at `now_unix_ms`: in the keydir
    /// (a merge has not dropped them yet) but not visible.
    pub fn expired_at(&self, now_unix_ms: u64) -> Expired {
        self.expiring.expired_at(now_unix_ms)
    }

    /// The handle of data file `id`.
    pub fn handle(&self, id: u32) -> Option<Arc<DataFile>> {
        self.files.get(&id).map(|f| Arc::clone(&f.handle))
    }
}

/// What one write appended to the active file, for its file-table entry.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Appended {
    /// The active file.
    pub file_id: u32,
    /// Its length now (see [`FileInfo::total_bytes`]).
    pub total_bytes: u64,
    /// Its records now.
    pub records: u64,
    /// The write's first and last sequence numbers.
    pub seqs: (u64, u64),
}

impl Accounting {
    /// Records `appended` in its file's entry.
    pub(crate) fn on_append(&mut self, appended: &Appended) {
        if let Some(f) = self.files.get_mut(&appended.file_id) {
            f.total_bytes = appended.total_bytes;
            f.records = appended.records;
            f.note_seq(appended.seqs.0);
            f.note_seq(appended.seqs.1);
        }
    }
}
