//! The merge commit record: the list of input files a merge is deleting.
//!
//! Deleting a merge's inputs takes one `remove` per file, and a crash can
//! stop it half way. A half-deleted input set is dangerous: merge drops a
//! tombstone when no *surviving* file can hold an older put of its key, so
//! if the file holding the tombstone is gone but an older input holding the
//! put is not, the put would come back. So before deleting anything the
//! merge writes this record atomically and durably (temporary file, sync,
//! rename, directory sync); open finishes the deletion before it loads any
//! file, and only then removes the record.
//!
//! ```text
//! | file header (16): magic "KVBCMRGE", version 1 | count u32 | count x file id u32 | crc32 (4) |
//! ```

use std::io;
use std::path::Path;

use kv_core::codec::{decode_file_header, encode_file_header, FILE_HEADER_BYTES};
use kv_core::fs::write_file_atomic;
use kv_core::{CorruptionKind, Error, Fs, Result};

use crate::data_file::{data_file_name, hint_file_name};
use crate::file_set::read_metadata_file;

/// Name of the merge commit record in the store directory.
pub const MERGE_COMMIT_FILE_NAME: &str = "MERGE_COMMIT";

/// Magic number of the record: `KVBCMRGE` in little-endian order.
pub const MERGE_COMMIT_MAGIC: u64 = u64::from_le_bytes(*b"KVBCMRGE");

/// Version of the record format.
pub const MERGE_COMMIT_VERSION: u32 = 1;

/// Encodes the record for the given input ids.
pub fn encode_merge_commit(input_ids: &[u32]) -> Vec<u8> {
    let mut out = encode_file_header(MERGE_COMMIT_MAGIC, MERGE_COMMIT_VERSION).to_vec();
    out.extend_from_slice(&(input_ids.len() as u32).to_le_bytes());
    for id in input_ids {
        out.extend_from_slice(&id.to_le_bytes());
    }
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Decodes the record. Never panics.
///
/// # Errors
/// `Corruption` if it does not decode (it is written atomically, so this is
/// damage, not a torn write).
pub fn decode_merge_commit(bytes: &[u8], path: &Path) -> Result<Vec<u32>> {
    let bad = |what: &str| Error::corruption(path, 0, CorruptionKind::Invariant(what.into()));
    if decode_file_header(bytes, path, MERGE_COMMIT_MAGIC, MERGE_COMMIT_VERSION)?.is_none() {
        return Err(bad("merge commit record is truncated"));
    }
    let Some((body, crc)) = bytes.split_last_chunk::<4>() else {
        return Err(bad("merge commit record is truncated"));
    };
    let (expected, got) = (u32::from_le_bytes(*crc), crc32fast::hash(body));
    if expected != got {
        return Err(Error::corruption(
            path,
            0,
            CorruptionKind::ChecksumMismatch { expected, got },
        ));
    }
    let rest = body.get(FILE_HEADER_BYTES..).unwrap_or_default();
    let Some((count, ids)) = rest.split_first_chunk::<4>() else {
        return Err(bad("merge commit record has no count"));
    };
    if ids.len() != u32::from_le_bytes(*count) as usize * 4 {
        return Err(bad("merge commit record count does not match its length"));
    }
    Ok(ids
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

/// Writes the record durably.
pub fn write_merge_commit(fs: &dyn Fs, dir: &Path, input_ids: &[u32]) -> io::Result<()> {
    write_file_atomic(
        fs,
        dir,
        MERGE_COMMIT_FILE_NAME,
        &encode_merge_commit(input_ids),
    )
}

/// Removes the data and hint files of `ids` (those that still exist) and
/// syncs the directory.
pub fn remove_inputs(fs: &dyn Fs, dir: &Path, ids: &[u32]) -> io::Result<()> {
    for id in ids {
        for name in [hint_file_name(*id), data_file_name(*id)] {
            match fs.remove(&dir.join(name)) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
    }
    fs.sync_dir(dir)
}

/// Removes the record (durably: a stale record must not outlive a reuse of
/// the file ids it names).
pub fn remove_merge_commit(fs: &dyn Fs, dir: &Path) -> io::Result<()> {
    fs.remove(&dir.join(MERGE_COMMIT_FILE_NAME))?;
    fs.sync_dir(dir)
}

/// The input ids of a merge that committed but did not finish deleting its
/// inputs (empty if there is none). Reads only: a read-only open uses it to
/// leave those files out instead of deleting them.
///
/// # Errors
/// I/O errors; `Corruption` for a damaged record or one over
/// [`crate::file_set::MAX_METADATA_FILE_BYTES`].
pub fn pending_merge_inputs(fs: &dyn Fs, dir: &Path) -> Result<Vec<u32>> {
    let path = dir.join(MERGE_COMMIT_FILE_NAME);
    match read_metadata_file(fs, &path)? {
        Some(bytes) => decode_merge_commit(&bytes, &path),
        None => Ok(Vec::new()),
    }
}

/// At open: finishes the deletion a merge committed to, if any; returns
/// the ids of the inputs it deleted (the file set may still list them).
///
/// # Errors
/// I/O errors; `Corruption` for a damaged record or one over
/// [`crate::file_set::MAX_METADATA_FILE_BYTES`].
pub fn finish_pending_merge(fs: &dyn Fs, dir: &Path) -> Result<Vec<u32>> {
    let path = dir.join(MERGE_COMMIT_FILE_NAME);
    let Some(bytes) = read_metadata_file(fs, &path)? else {
        return Ok(Vec::new());
    };
    let ids = decode_merge_commit(&bytes, &path)?;
    remove_inputs(fs, dir, &ids)?;
    remove_merge_commit(fs, dir)?;
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_damage() {
        let bytes = encode_merge_commit(&[3, 7, 9]);
        let p = Path::new("m");
        assert_eq!(decode_merge_commit(&bytes, p).unwrap(), vec![3, 7, 9]);
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 1;
            assert!(decode_merge_commit(&bad, p).is_err(), "flip at {i}");
            assert!(decode_merge_commit(&bytes[..i], p).is_err(), "cut at {i}");
        }
    }
}
