//! Data files: naming, the file header, and reading one record back with
//! its identity checked.
//!
//! A data file is `{id:010}.data`: a 16-byte codec file header
//! (`KVBCDATA`, version [`DATA_FORMAT_VERSION`]) and, from version 3, an
//! 8-byte identity block naming the file's own id (so a data file copied
//! over another is refused), followed by codec records (`Put`, `Delete`,
//! `BatchBegin` groups, `Frontier`), appended only. Ids are unique, not
//! ordered by age: which record of a key is newest is decided by the
//! sequence number, so merge output can take fresh ids. See
//! `docs/bitcask.md` for the byte diagrams.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use kv_core::codec::{
    decode_file_header, decode_record, encode_file_header, Decoded, RecordKind, FILE_HEADER_BYTES,
};
use kv_core::{CorruptionKind, Error, File, Fs, Result};

use crate::keydir::Entry;
use crate::ttl::split_expiry;

/// Magic number of a data file header: `KVBCDATA` in little-endian order.
pub const DATA_MAGIC: u64 = u64::from_le_bytes(*b"KVBCDATA");

/// Version of the data file format. Version 3 files start with the file
/// id block (see [`data_file_header`]) and carry durable frontier records
/// (see `kv_core::codec::frontier`); version 2 files have the frontier but
/// no id; version 1 files have neither and are read with the version-1
/// rule. Only version-3 files are appended to.
pub const DATA_FORMAT_VERSION: u32 = 3;

/// The first data file version with durable frontier records.
pub const FRONTIER_FORMAT_VERSION: u32 = 2;

/// The first data file version whose header names the file's id.
pub const FILE_ID_FORMAT_VERSION: u32 = 3;

/// Bytes of the identity block after the codec header (version 3 on):
/// `file_id u32 | crc32 of the 20 bytes before`.
pub const ID_BLOCK_BYTES: u64 = 8;

/// Bytes of the header of a file written now.
pub const CURRENT_HEADER_BYTES: u64 = DATA_HEADER_BYTES + ID_BLOCK_BYTES;

/// Where the records of a data file of format `version` start.
pub fn header_len(version: u32) -> u64 {
    if version >= FILE_ID_FORMAT_VERSION {
        CURRENT_HEADER_BYTES
    } else {
        DATA_HEADER_BYTES
    }
}

/// The engine's name in the store directory's `KVLAB` marker.
pub const ENGINE_NAME: &str = "bitcask";

/// The store format version in the `KVLAB` marker: the highest data file
/// format version this build writes. From 3 on the store keeps its file set
/// in [`crate::file_set`] (a store marked 3 without one is damaged); a
/// store marked 2 or less is upgraded by its first read-write open.
pub const STORE_FORMAT_VERSION: u32 = DATA_FORMAT_VERSION;

/// The first store format version with a file-set record.
pub const FILE_SET_STORE_VERSION: u32 = 3;

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
                || n == crate::file_set::FILE_SET_NAME
        })
}

/// Bytes of the codec file header every data file starts with (the whole
/// header of a version 1 or 2 file; see [`header_len`]).
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

/// The header of data file `id` (24 bytes): the codec file header
/// (`KVBCDATA`, version [`DATA_FORMAT_VERSION`]), then `id` (u32) and a
/// crc32 of the 20 bytes before it.
pub fn data_file_header(id: u32) -> [u8; CURRENT_HEADER_BYTES as usize] {
    let mut out = [0; CURRENT_HEADER_BYTES as usize];
    out[..FILE_HEADER_BYTES].copy_from_slice(&encode_file_header(DATA_MAGIC, DATA_FORMAT_VERSION));
    out[16..20].copy_from_slice(&id.to_le_bytes());
    let crc = crc32fast::hash(&out[..20]);
    out[20..].copy_from_slice(&crc.to_le_bytes());
    out
}

/// A data file header as decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataHeader {
    /// The data file format version.
    pub version: u32,
    /// The id the header names (version 3 on).
    pub names_id: Option<u32>,
}

impl DataHeader {
    /// `Corruption` at the identity block of `path` if the header names a
    /// file other than `id`: the file holds another data file's bytes.
    ///
    /// # Errors
    /// As described.
    pub fn check_id(&self, path: &Path, id: u32) -> Result<()> {
        match self.names_id {
            Some(named) if named != id => Err(Error::corruption(
                path,
                DATA_HEADER_BYTES,
                CorruptionKind::Mismatch(format!(
                    "the header names data file {named}, not {id}: this file holds another data file's bytes (copied over it?)"
                )),
            )),
            _ => Ok(()),
        }
    }
}

/// Decodes the header at the start of `bytes` (the first
/// [`CURRENT_HEADER_BYTES`] of a data file, or all of it if shorter):
/// `Ok(None)` if `bytes` is shorter than its header (a torn creation, or a
/// file cut short).
///
/// # Errors
/// `Corruption` at offset 0 for a bad codec header, at offset 16 for a bad
/// identity block.
pub fn decode_data_header(bytes: &[u8], path: &Path) -> Result<Option<DataHeader>> {
    let Some(h) = decode_file_header(bytes, path, DATA_MAGIC, DATA_FORMAT_VERSION)? else {
        return Ok(None);
    };
    if h.version < FILE_ID_FORMAT_VERSION {
        return Ok(Some(DataHeader {
            version: h.version,
            names_id: None,
        }));
    }
    let Some(block) = bytes.get(..CURRENT_HEADER_BYTES as usize) else {
        return Ok(None);
    };
    let word = |i: usize| u32::from_le_bytes([block[i], block[i + 1], block[i + 2], block[i + 3]]);
    let (expected, got) = (word(20), crc32fast::hash(&block[..20]));
    if expected != got {
        return Err(Error::corruption(
            path,
            DATA_HEADER_BYTES,
            CorruptionKind::ChecksumMismatch { expected, got },
        ));
    }
    Ok(Some(DataHeader {
        version: h.version,
        names_id: Some(word(16)),
    }))
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
    /// Where its records start: the length of its header (see
    /// [`header_len`]).
    pub header_len: u64,
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
            header_len: CURRENT_HEADER_BYTES,
        }
    }

    /// The same handle for a file of format `version` (records start at
    /// [`header_len`]`(version)`).
    pub fn of_version(mut self, version: u32) -> Self {
        self.header_len = header_len(version);
        self
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
    fn the_header_names_its_file() {
        let p = Path::new("f");
        let header = data_file_header(7);
        let h = decode_data_header(&header, p).unwrap().unwrap();
        assert_eq!(h.version, DATA_FORMAT_VERSION);
        h.check_id(p, 7).unwrap();
        assert!(h.check_id(p, 8).unwrap_err().is_corruption());
        assert_eq!(decode_data_header(&header[..20], p).unwrap(), None);
        for i in 0..header.len() {
            let mut bad = header;
            bad[i] ^= 4;
            assert!(decode_data_header(&bad, p).is_err(), "flip at {i}");
        }
        let v2 = encode_file_header(DATA_MAGIC, 2);
        let h = decode_data_header(&v2, p).unwrap().unwrap();
        assert_eq!((h.version, h.names_id), (2, None));
        assert_eq!(header_len(2), 16);
        assert_eq!(header_len(3), 24);
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
