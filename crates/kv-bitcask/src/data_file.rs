//! Data files: naming, the file header, and reading one record back with
//! its identity checked.
//!
//! A data file is `{id:010}.data`: a 16-byte codec file header
//! (`KVBCDATA`, version [`DATA_FORMAT_VERSION`]) followed by codec records
//! (`Put`, `Delete`, `BatchBegin` groups), appended only. Ids are unique,
//! not ordered by age: which record of a key is newest is decided by the
//! sequence number, so merge output can take fresh ids. See
//! `docs/bitcask.md` for the byte diagrams.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use kv_core::codec::{decode_record, encode_file_header, Decoded, RecordKind, FILE_HEADER_BYTES};
use kv_core::{CorruptionKind, Error, File, Fs, Result};

use crate::keydir::Entry;
use crate::ttl::split_expiry;

/// Magic number of a data file header: `KVBCDATA` in little-endian order.
pub const DATA_MAGIC: u64 = u64::from_le_bytes(*b"KVBCDATA");

/// Version of the data file format: the record format version of the shared
/// codec its records use. Version 2 files carry durable frontier records (see
/// `kv_core::codec::frontier`); version 1 files (written before) are read
/// with the version-1 rule and are never appended to again.
pub const DATA_FORMAT_VERSION: u32 = 2;

/// The first data file version with durable frontier records.
pub const FRONTIER_FORMAT_VERSION: u32 = 2;

/// The engine's name in the store directory's `KVLAB` marker.
pub const ENGINE_NAME: &str = "bitcask";

/// The store format version in the `KVLAB` marker: the highest data file
/// format version this build writes.
pub const STORE_FORMAT_VERSION: u32 = DATA_FORMAT_VERSION;

/// True if a directory without a `KVLAB` marker holding these entries is a
/// bitcask store written before markers existed: at least one data or hint
/// file, and nothing but bitcask's own files (data, hint, merge
/// temporaries, the merge commit record).
pub fn is_legacy_bitcask_store(names: &[String]) -> bool {
    let ours = |n: &String| matches!(parse_file_name(n), FileName::Data(_) | FileName::Hint(_));
    names.iter().any(ours)
        && names.iter().all(|n| {
            ours(n)
                || parse_file_name(n) == FileName::Tmp
                || n == crate::merge_commit::MERGE_COMMIT_FILE_NAME
        })
}

/// Bytes of the data file header.
pub const DATA_HEADER_BYTES: u64 = FILE_HEADER_BYTES as u64;

/// Suffix of files being written by a merge; open removes them.
pub const TMP_SUFFIX: &str = ".tmp";

/// The name of data file `id`.
pub fn data_file_name(id: u32) -> String {
    format!("{id:010}.data")
}

/// The name of the hint file of data file `id`.
pub fn hint_file_name(id: u32) -> String {
    format!("{id:010}.hint")
}

/// What a directory entry is to this engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileName {
    /// A data file and its id.
    Data(u32),
    /// A hint file and the id of its data file.
    Hint(u32),
    /// An unfinished merge output (removed at open).
    Tmp,
    /// Not ours (the lock file, anything a user put there).
    Other,
}

/// Classifies a directory entry by name.
pub fn parse_file_name(name: &str) -> FileName {
    if name.ends_with(TMP_SUFFIX) {
        return FileName::Tmp;
    }
    let id_of = |stem: &str| {
        (stem.len() == 10 && stem.bytes().all(|b| b.is_ascii_digit()))
            .then(|| stem.parse::<u32>().ok())
            .flatten()
    };
    if let Some(id) = name.strip_suffix(".data").and_then(id_of) {
        return FileName::Data(id);
    }
    if let Some(id) = name.strip_suffix(".hint").and_then(id_of) {
        return FileName::Hint(id);
    }
    FileName::Other
}

/// The error when no data file id is left: ids are `u32`, and every new
/// data file (rollover, merge output, open) takes the next one.
pub fn file_ids_exhausted() -> Error {
    Error::InvalidArgument(format!(
        "data file ids are exhausted (the next id would be past {}); remove stray data files with high ids from the store directory, or copy the data to a new store",
        u32::MAX
    ))
}

/// Creates the file at `path`, which must not exist yet: `Fs::create`
/// truncates an existing file, and a new data file must never take the
/// place of one that holds data.
///
/// # Errors
/// `AlreadyExists` if the name is taken; other I/O errors.
pub fn create_new_file(fs: &dyn Fs, path: &Path) -> io::Result<Arc<dyn File>> {
    if fs.exists(path)? {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!(
                "{} already exists where the store was about to create a new file; refusing to overwrite it",
                path.display()
            ),
        ));
    }
    fs.create(path)
}

/// The header every data file starts with.
pub fn data_file_header() -> [u8; FILE_HEADER_BYTES] {
    encode_file_header(DATA_MAGIC, DATA_FORMAT_VERSION)
}

/// An open data file shared by every reader: positioned reads only, no seek.
#[derive(Debug)]
pub struct DataFile {
    /// The file's id.
    pub id: u32,
    /// Its path (for error messages).
    pub path: PathBuf,
    /// The handle.
    pub file: Arc<dyn File>,
    /// Bytes handed to the file system: a record ending at or below this can
    /// be read with a positioned read; above it, it is still in the writer's
    /// buffer.
    readable_len: AtomicU64,
    /// The file's length as the store last set it: `readable_len` plus the
    /// zero-filled space preallocated past the data (active file under
    /// `SyncPolicy::Always` only; see `BitcaskOptions::preallocate_bytes`).
    allocated_len: AtomicU64,
}

impl DataFile {
    /// Wraps an open handle whose first `readable_len` bytes are written and
    /// that is exactly that long.
    pub fn new(id: u32, path: PathBuf, file: Arc<dyn File>, readable_len: u64) -> Self {
        Self {
            id,
            path,
            file,
            readable_len: AtomicU64::new(readable_len),
            allocated_len: AtomicU64::new(readable_len),
        }
    }

    /// See the field: bytes that positioned reads can reach.
    pub fn readable_len(&self) -> u64 {
        self.readable_len.load(Ordering::Acquire)
    }

    /// Publishes that the first `len` bytes are in the file.
    pub fn set_readable_len(&self, len: u64) {
        self.readable_len.store(len, Ordering::Release);
    }

    /// See the field: the file's length, preallocated space included.
    pub fn allocated_len(&self) -> u64 {
        self.allocated_len.load(Ordering::Acquire)
    }

    /// Records that the file's length is now `len`.
    pub fn set_allocated_len(&self, len: u64) {
        self.allocated_len.store(len, Ordering::Release);
    }

    /// Zero-filled bytes preallocated past the data handed to the file
    /// system (0 for every file but the active one).
    pub fn preallocated_bytes(&self) -> u64 {
        self.allocated_len().saturating_sub(self.readable_len())
    }

    /// Records that the file was truncated to `len` bytes, all of them data.
    pub fn set_trimmed_len(&self, len: u64) {
        self.set_readable_len(len);
        self.set_allocated_len(len);
    }

    /// Reads the `entry.len` bytes of the record at `entry.offset` into
    /// `buf` (resized to fit) with one positioned read.
    ///
    /// # Errors
    /// I/O errors; a file shorter than the entry says is `Corruption`.
    pub fn read_record(&self, entry: &Entry, buf: &mut Vec<u8>) -> Result<()> {
        buf.resize(entry.len as usize, 0);
        self.file
            .read_exact_at(buf, u64::from(entry.offset))
            .map_err(|e| self.read_error(e, entry))
    }

    fn read_error(&self, e: io::Error, entry: &Entry) -> Error {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            Error::corruption(
                &self.path,
                u64::from(entry.offset),
                CorruptionKind::BadLength {
                    got: entry.end(),
                    max: self.file.len().unwrap_or(0),
                },
            )
        } else {
            Error::Io(e)
        }
    }
}

/// A verified put as stored: the user's value and its expiry, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredPut<'a> {
    /// The user's value.
    pub value: &'a [u8],
    /// Expiry in Unix milliseconds, for a TTL put.
    pub expiry_unix_ms: Option<u64>,
}

impl StoredPut<'_> {
    /// True if the put has expired at `now_unix_ms`.
    pub fn is_expired(&self, now_unix_ms: u64) -> bool {
        self.expiry_unix_ms.is_some_and(|at| at <= now_unix_ms)
    }
}

/// Checks that `bytes` is exactly the record `entry` names: it decodes with
/// a valid checksum, is `entry.len` long, is a `Put`, and carries `key` and
/// the entry's sequence number (the identity check: a stale or misplaced
/// record fails it).
///
/// # Errors
/// `Corruption` at `entry.offset` of `path` describing what did not match.
pub fn verify_put<'a>(
    path: &Path,
    entry: &Entry,
    key: &[u8],
    bytes: &'a [u8],
) -> Result<StoredPut<'a>> {
    let at = u64::from(entry.offset);
    let corrupt = |kind| Err(Error::corruption(path, at, kind));
    let (record, len) = match decode_record(bytes) {
        Decoded::Record { record, len } => (record, len),
        Decoded::Invalid(kind) => return corrupt(kind),
        Decoded::Incomplete { needed } => {
            return corrupt(CorruptionKind::BadLength {
                got: needed as u64,
                max: bytes.len() as u64,
            })
        }
    };
    if len != bytes.len()
        || record.kind != RecordKind::Put
        || record.key != key
        || record.seq != entry.stored_seq
    {
        let (want_seq, want_len) = (entry.stored_seq, entry.len);
        return corrupt(CorruptionKind::Mismatch(format!(
            "expected a put of key {key:?} with sequence {want_seq:#x} and length {want_len}, found {:?} of key {:?} with sequence {:#x} and length {len}",
            record.kind, record.key, record.seq
        )));
    }
    if !entry.has_ttl() {
        return Ok(StoredPut {
            value: record.value,
            expiry_unix_ms: None,
        });
    }
    match split_expiry(record.value) {
        Some((expiry, value)) => Ok(StoredPut {
            value,
            expiry_unix_ms: Some(expiry),
        }),
        None => corrupt(CorruptionKind::BadLength {
            got: record.value.len() as u64,
            max: 8,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kv_core::codec::encode_put;

    #[test]
    fn names_round_trip() {
        assert_eq!(data_file_name(42), "0000000042.data");
        assert_eq!(parse_file_name(&data_file_name(42)), FileName::Data(42));
        assert_eq!(parse_file_name(&hint_file_name(7)), FileName::Hint(7));
        assert_eq!(parse_file_name("0000000042.data.tmp"), FileName::Tmp);
        assert_eq!(parse_file_name("LOCK"), FileName::Other);
        assert_eq!(parse_file_name("42.data"), FileName::Other);
        assert_eq!(parse_file_name("9999999999.data"), FileName::Other);
    }

    #[test]
    fn a_new_file_never_replaces_an_existing_one() {
        let sim = kv_core::testkit::SimFs::new(3);
        let dir = Path::new("/d");
        sim.create_dir(dir).unwrap();
        let path = dir.join(data_file_name(1));
        let file = create_new_file(&sim, &path).unwrap();
        file.append(b"data").unwrap();
        let err = create_new_file(&sim, &path).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(sim.contents(&path).unwrap(), b"data");
    }

    #[test]
    fn identity_check_catches_stale_records() {
        let mut buf = Vec::new();
        encode_put(&mut buf, 5, b"k", b"v");
        let entry = Entry {
            file_id: 1,
            offset: 16,
            len: buf.len() as u32,
            stored_seq: 5,
        };
        let p = Path::new("f");
        assert_eq!(verify_put(p, &entry, b"k", &buf).unwrap().value, b"v");
        assert!(verify_put(p, &entry, b"x", &buf)
            .unwrap_err()
            .is_corruption());
        let stale = Entry {
            stored_seq: 6,
            ..entry
        };
        assert!(verify_put(p, &stale, b"k", &buf)
            .unwrap_err()
            .is_corruption());
    }
}
