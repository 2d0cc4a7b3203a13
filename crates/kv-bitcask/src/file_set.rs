//! The file-set record (`FILESET`): the store's own list of its data files,
//! so that a data file that is missing, cut short, or emptied is reported
//! instead of being taken for a torn write or a file never written.
//!
//! ```text
//! | file header (16): magic "KVBCFSET", version 1 |
//! | next_id u64 | active u32 (u32::MAX: none) | count u32 |
//! | count x ( id u32 | sealed_len u64 ) | crc32 of every byte before (4) |
//! ```
//!
//! - `sealed` lists every immutable data file with its exact length: a
//!   sealed file never changes (it was trimmed and synced before it was
//!   listed), so any other length is damage.
//! - `active` is the file being appended to: the only one whose tail a
//!   crash may tear, and whose length is not recorded (a hint of it proves
//!   how much of it was synced).
//! - `next_id`: every data file id below it was handed out before the
//!   record was written. A data file with no record, no hint and an id at
//!   or above it was created after the record: a torn creation.
//!
//! The record is rewritten atomically (temporary file, sync, rename,
//! directory sync) whenever the set changes: after a rollover has made the
//! new active file's header durable, after a merge deleted its inputs, and
//! at the end of a read-write open that changed the set. Between a merge's
//! rename of its output and that rewrite, the outputs exist but are not
//! listed: a file that is not listed but holds records is such an output
//! (a byte-identical copy of records of listed files) and is adopted.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;

use kv_core::codec::{decode_file_header, encode_file_header, LeReader, FILE_HEADER_BYTES};
use kv_core::fs::write_file_atomic;
use kv_core::{CorruptionKind, Error, Fs, Result};

use crate::state::FileInfo;

/// Name of the record in the store directory.
pub const FILE_SET_NAME: &str = "FILESET";

/// Magic number of the record: `KVBCFSET` in little-endian order.
pub const FILE_SET_MAGIC: u64 = u64::from_le_bytes(*b"KVBCFSET");

/// Version of the record format.
pub const FILE_SET_VERSION: u32 = 1;

/// `active` when no file is active.
const NO_ACTIVE: u32 = u32::MAX;

/// The data files of a store, as last recorded durably.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileSet {
    /// Every data file id below this was handed out before the record.
    pub next_id: u64,
    /// The active file, if any.
    pub active: Option<u32>,
    /// Every immutable data file and its exact length.
    pub sealed: BTreeMap<u32, u64>,
}

impl FileSet {
    /// The set of a store whose file table is `files`, appending to
    /// `active`, with ids handed out below `next_id`. A sealed file's
    /// length is what its handle says is in it (it was trimmed and synced).
    pub fn of(files: &BTreeMap<u32, FileInfo>, active: u32, next_id: u64) -> Self {
        let sealed = files
            .iter()
            .filter(|(id, _)| **id != active)
            .map(|(id, f)| (*id, f.handle.readable_len()))
            .collect();
        Self {
            next_id,
            active: files.contains_key(&active).then_some(active),
            sealed,
        }
    }

    /// True if data file `id` is listed (sealed or active).
    pub fn lists(&self, id: u32) -> bool {
        self.active == Some(id) || self.sealed.contains_key(&id)
    }

    /// Every listed id, in order.
    pub fn ids(&self) -> Vec<u32> {
        let mut ids: Vec<u32> = self.sealed.keys().copied().collect();
        ids.extend(self.active);
        ids.sort_unstable();
        ids
    }

    /// The record's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = encode_file_header(FILE_SET_MAGIC, FILE_SET_VERSION).to_vec();
        out.extend_from_slice(&self.next_id.to_le_bytes());
        out.extend_from_slice(&self.active.unwrap_or(NO_ACTIVE).to_le_bytes());
        out.extend_from_slice(&(self.sealed.len() as u32).to_le_bytes());
        for (id, len) in &self.sealed {
            out.extend_from_slice(&id.to_le_bytes());
            out.extend_from_slice(&len.to_le_bytes());
        }
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// Decodes the record at `path`. Never panics.
    ///
    /// # Errors
    /// `Corruption` if it does not decode: it is written atomically, so a
    /// bad record is damage, never a torn write.
    pub fn decode(bytes: &[u8], path: &Path) -> Result<Self> {
        let bad = |what: &str| {
            Error::corruption(
                path,
                0,
                CorruptionKind::Invariant(format!("file-set record: {what}")),
            )
        };
        if decode_file_header(bytes, path, FILE_SET_MAGIC, FILE_SET_VERSION)?.is_none() {
            return Err(bad("shorter than its header"));
        }
        let Some((body, crc)) = bytes.split_last_chunk::<4>() else {
            return Err(bad("truncated"));
        };
        let (expected, got) = (u32::from_le_bytes(*crc), crc32fast::hash(body));
        if expected != got {
            return Err(Error::corruption(
                path,
                0,
                CorruptionKind::ChecksumMismatch { expected, got },
            ));
        }
        let mut r = LeReader::new(body.get(FILE_HEADER_BYTES..).unwrap_or_default());
        let (Some(next_id), Some(active), Some(count)) = (r.u64(), r.u32(), r.u32()) else {
            return Err(bad("truncated"));
        };
        if r.remaining() != count as usize * 12 {
            return Err(bad("count does not match its length"));
        }
        let mut sealed = BTreeMap::new();
        while let (Some(id), Some(len)) = (r.u32(), r.u64()) {
            if sealed.insert(id, len).is_some() || u64::from(id) >= next_id {
                return Err(bad("a file is listed twice, or above next_id"));
            }
        }
        let active = (active != NO_ACTIVE).then_some(active);
        if active.is_some_and(|a| sealed.contains_key(&a) || u64::from(a) >= next_id) {
            return Err(bad("the active file is also sealed, or above next_id"));
        }
        Ok(Self {
            next_id,
            active,
            sealed,
        })
    }
}

/// The largest small metadata file (`FILESET`, `MERGE_COMMIT`) a read
/// accepts: 16 MiB, a file set of about 1.4 million data files (12 bytes
/// each) or a merge of 4 million inputs, far more than a store holds.
pub const MAX_METADATA_FILE_BYTES: u64 = 16 << 20;

/// Reads a small metadata file whole, if it exists, refusing one larger
/// than [`MAX_METADATA_FILE_BYTES`] before allocating anything for it (its
/// length is not trusted).
///
/// # Errors
/// I/O errors other than the file being absent; `Corruption` naming the
/// file if it is over the cap.
pub fn read_metadata_file(fs: &dyn Fs, path: &Path) -> Result<Option<Vec<u8>>> {
    let file = match fs.open_read(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let len = file.len()?;
    if len > MAX_METADATA_FILE_BYTES {
        return Err(Error::corruption(
            path,
            0,
            CorruptionKind::Invariant(format!(
                "metadata file of {len} bytes is over the {MAX_METADATA_FILE_BYTES}-byte cap"
            )),
        ));
    }
    let mut bytes = vec![0; len as usize];
    file.read_exact_at(&mut bytes, 0)?;
    Ok(Some(bytes))
}

/// The store's file-set record, if it has one.
///
/// # Errors
/// I/O errors; `Corruption` for a damaged record or one over
/// [`MAX_METADATA_FILE_BYTES`].
pub fn read_file_set(fs: &dyn Fs, dir: &Path) -> Result<Option<FileSet>> {
    let path = dir.join(FILE_SET_NAME);
    read_metadata_file(fs, &path)?
        .map(|bytes| FileSet::decode(&bytes, &path))
        .transpose()
}

/// Writes the record atomically and durably (the directory too).
///
/// # Errors
/// I/O errors (the previous record is then still in place).
pub fn write_file_set(fs: &dyn Fs, dir: &Path, set: &FileSet) -> io::Result<()> {
    write_file_atomic(fs, dir, FILE_SET_NAME, &set.encode())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> FileSet {
        FileSet {
            next_id: 9,
            active: Some(8),
            sealed: BTreeMap::from([(3, 1000), (7, 24)]),
        }
    }

    #[test]
    fn round_trips() {
        let set = sample();
        let p = Path::new("FILESET");
        assert_eq!(FileSet::decode(&set.encode(), p).unwrap(), set);
        let empty = FileSet {
            next_id: 1,
            ..FileSet::default()
        };
        assert_eq!(FileSet::decode(&empty.encode(), p).unwrap(), empty);
        assert_eq!(set.ids(), vec![3, 7, 8]);
        assert!(set.lists(8) && set.lists(3) && !set.lists(4));
    }

    #[test]
    fn every_flip_and_cut_is_rejected_without_panicking() {
        let bytes = sample().encode();
        let p = Path::new("FILESET");
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x10;
            assert!(FileSet::decode(&bad, p).unwrap_err().is_corruption());
            assert!(FileSet::decode(&bytes[..i], p).is_err(), "cut at {i}");
        }
    }

    #[test]
    fn inconsistent_sets_are_rejected() {
        let p = Path::new("FILESET");
        let above = FileSet {
            next_id: 5,
            active: None,
            sealed: BTreeMap::from([(5, 100)]),
        };
        assert!(FileSet::decode(&above.encode(), p).is_err());
        let both = FileSet {
            next_id: 9,
            active: Some(3),
            sealed: BTreeMap::from([(3, 100)]),
        };
        assert!(FileSet::decode(&both.encode(), p).is_err());
    }
}
