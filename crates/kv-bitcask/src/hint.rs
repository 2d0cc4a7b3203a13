//! Hint files: for an immutable data file, the newest record of every key it
//! holds (puts and tombstones), sorted by key, so open can rebuild the
//! keydir without reading the data.
//!
//! ```text
//! | file header (16): magic "KVBCHINT", version 1                         |
//! | data_file_id u32 | covered_len u64 | min_seq u64 | max_seq u64 | records u64 | count u64 |
//! | count entries: kind u8 | key_len u16 | offset u32 | len u32 | stored_seq u64 | key |
//! | crc32 (4) of every byte before it                                      |
//! ```
//!
//! `covered_len` is the data file length the hint describes: a data file
//! that is longer (the active file reused after a clean close) is scanned
//! from there; one that is shorter makes the hint invalid. `min_seq` and
//! `max_seq` bound the sequence numbers of every record in the data file,
//! dead ones included, and `records` counts them (puts and tombstones). A
//! hint is never trusted for data: every `get` checks
//! the record it points at. A missing or bad hint only costs a scan of the
//! data file at open.

use std::path::Path;

use kv_core::codec::{
    decode_file_header, encode_file_header, RecordKind, FILE_HEADER_BYTES, HEADER_BYTES,
    MAX_RECORD_BYTES,
};
use kv_core::limits::MAX_KEY_BYTES;
use kv_core::{CorruptionKind, Error, Result};

use crate::data_file::DATA_HEADER_BYTES;
use crate::entry_list::EntryList;
use crate::keydir::Entry;
use crate::ttl::{is_ttl_seq, EXPIRY_PREFIX_BYTES, MAX_SEQUENCE};

/// Magic number of a hint file header: `KVBCHINT` in little-endian order.
pub const HINT_MAGIC: u64 = u64::from_le_bytes(*b"KVBCHINT");

/// Version of the hint format.
pub const HINT_FORMAT_VERSION: u32 = 1;

/// Bytes of the fixed part after the file header.
const FIXED_BYTES: usize = 4 + 8 + 8 + 8 + 8 + 8;

/// Bytes of an entry before its key.
const ENTRY_HEADER_BYTES: usize = 1 + 2 + 4 + 4 + 8;

/// What a hint file says about its data file.
#[derive(Debug, Clone, Default)]
pub struct Hint {
    /// The data file it describes.
    pub data_file_id: u32,
    /// Length of the data file it describes.
    pub covered_len: u64,
    /// Lowest sequence number of any record in the data file (`u64::MAX` if
    /// none).
    pub min_seq: u64,
    /// Highest sequence number of any record in the data file (0 if none).
    pub max_seq: u64,
    /// Put and delete records in the covered part of the data file, dead
    /// ones included.
    pub records: u64,
    /// Newest record per key, sorted by key.
    pub entries: EntryList,
}

/// Encodes a hint. REQUIRES: `hint.entries` sorted with one item per key
/// ([`EntryList::sort_and_keep_newest`]).
pub fn encode_hint(hint: &Hint) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        FILE_HEADER_BYTES + FIXED_BYTES + hint.entries.len() * (ENTRY_HEADER_BYTES + 16),
    );
    out.extend_from_slice(&encode_file_header(HINT_MAGIC, HINT_FORMAT_VERSION));
    out.extend_from_slice(&hint.data_file_id.to_le_bytes());
    out.extend_from_slice(&hint.covered_len.to_le_bytes());
    out.extend_from_slice(&hint.min_seq.to_le_bytes());
    out.extend_from_slice(&hint.max_seq.to_le_bytes());
    out.extend_from_slice(&hint.records.to_le_bytes());
    out.extend_from_slice(&(hint.entries.len() as u64).to_le_bytes());
    for (key, tombstone, e) in hint.entries.iter() {
        let kind = if tombstone {
            RecordKind::Delete
        } else {
            RecordKind::Put
        };
        out.push(kind.tag());
        out.extend_from_slice(&(key.len() as u16).to_le_bytes());
        out.extend_from_slice(&e.offset.to_le_bytes());
        out.extend_from_slice(&e.len.to_le_bytes());
        out.extend_from_slice(&e.stored_seq.to_le_bytes());
        out.extend_from_slice(key);
    }
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Reads little-endian integers from a byte slice, failing on a short read.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let out = self.bytes.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(out)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        let mut a = [0; N];
        a.copy_from_slice(self.take(N)?);
        Some(a)
    }

    fn u16(&mut self) -> Option<u16> {
        self.array().map(u16::from_le_bytes)
    }

    fn u32(&mut self) -> Option<u32> {
        self.array().map(u32::from_le_bytes)
    }

    fn u64(&mut self) -> Option<u64> {
        self.array().map(u64::from_le_bytes)
    }
}

/// Decodes and checks a hint file's bytes. Never panics on bad input.
///
/// # Errors
/// `Corruption` for a bad header or checksum, a hint of another data file,
/// impossible sequence bounds (`min_seq > max_seq`, or `max_seq` at or
/// above [`MAX_SEQUENCE`]), or an entry that cannot describe a record of its
/// data file (outside `covered_len`, longer than `MAX_RECORD_BYTES`, a
/// sequence number outside the bounds, a length that does not fit its
/// kind).
pub fn decode_hint(bytes: &[u8], path: &Path, data_file_id: u32) -> Result<Hint> {
    let bad = |offset: usize, what: String| {
        Error::corruption(path, offset as u64, CorruptionKind::Invariant(what))
    };
    if decode_file_header(bytes, path, HINT_MAGIC, HINT_FORMAT_VERSION)?.is_none()
        || bytes.len() < FILE_HEADER_BYTES + FIXED_BYTES + 4
    {
        return Err(bad(
            0,
            format!("hint file of {} bytes is truncated", bytes.len()),
        ));
    }
    let (body, crc) = bytes.split_at(bytes.len() - 4);
    let mut stored = [0; 4];
    stored.copy_from_slice(crc);
    let (expected, got) = (u32::from_le_bytes(stored), crc32fast::hash(body));
    if expected != got {
        return Err(Error::corruption(
            path,
            0,
            CorruptionKind::ChecksumMismatch { expected, got },
        ));
    }
    let mut c = Cursor {
        bytes: body,
        at: FILE_HEADER_BYTES,
    };
    let fixed = (|| Some((c.u32()?, c.u64()?, c.u64()?, c.u64()?, c.u64()?, c.u64()?)))();
    let Some((id, covered_len, min_seq, max_seq, records, count)) = fixed else {
        return Err(bad(FILE_HEADER_BYTES, "fixed fields truncated".into()));
    };
    if id != data_file_id {
        return Err(bad(
            FILE_HEADER_BYTES,
            format!("hint describes data file {id}, expected {data_file_id}"),
        ));
    }
    // No records: the empty bounds (u64::MAX, 0); else lowest <= highest.
    let empty = min_seq == u64::MAX && max_seq == 0 && count == 0;
    let bounds_ok = max_seq < MAX_SEQUENCE && (min_seq <= max_seq || empty);
    if !bounds_ok {
        return Err(bad(
            FILE_HEADER_BYTES,
            format!(
                "sequence bounds {min_seq}..={max_seq} are impossible for {count} entries (numbers stay below {MAX_SEQUENCE})"
            ),
        ));
    }
    let mut hint = Hint {
        data_file_id: id,
        covered_len,
        min_seq,
        max_seq,
        records,
        entries: EntryList::new(),
    };
    for _ in 0..count {
        let at = c.at;
        let entry = decode_entry(&mut c, covered_len)
            .ok_or_else(|| bad(at, "entry is truncated or out of range".into()))?;
        let (key, tombstone, entry) = entry;
        if !(min_seq..=max_seq).contains(&entry.seq()) {
            return Err(bad(
                at,
                format!(
                    "entry has sequence {}, outside the hint's bounds {min_seq}..={max_seq}",
                    entry.seq()
                ),
            ));
        }
        hint.entries.push(
            key,
            tombstone,
            Entry {
                file_id: id,
                ..entry
            },
        );
    }
    if c.at != body.len() {
        return Err(bad(c.at, "bytes after the last entry".into()));
    }
    hint.entries.sort_and_keep_newest();
    Ok(hint)
}

fn decode_entry<'a>(c: &mut Cursor<'a>, covered_len: u64) -> Option<(&'a [u8], bool, Entry)> {
    let kind = c.take(1)?[0];
    let key_len = usize::from(c.u16()?);
    let (offset, len, stored_seq) = (c.u32()?, c.u32()?, c.u64()?);
    let key = c.take(key_len)?;
    let min_len = HEADER_BYTES + key_len;
    let tombstone = match kind {
        k if k == RecordKind::Put.tag() => false,
        k if k == RecordKind::Delete.tag() => true,
        _ => return None,
    };
    let shape_ok = key_len <= MAX_KEY_BYTES
        && len as usize <= MAX_RECORD_BYTES
        && u64::from(offset) >= DATA_HEADER_BYTES
        && u64::from(offset) + u64::from(len) <= covered_len
        && if tombstone {
            len as usize == min_len && !is_ttl_seq(stored_seq)
        } else if is_ttl_seq(stored_seq) {
            len as usize >= min_len + EXPIRY_PREFIX_BYTES
        } else {
            len as usize >= min_len
        };
    shape_ok.then_some((
        key,
        tombstone,
        Entry {
            file_id: 0,
            offset,
            len,
            stored_seq,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Hint {
        let mut entries = EntryList::new();
        entries.push(
            b"a",
            false,
            Entry {
                file_id: 3,
                offset: 16,
                len: 30,
                stored_seq: 1,
            },
        );
        entries.push(
            b"b",
            true,
            Entry {
                file_id: 3,
                offset: 46,
                len: 24,
                stored_seq: 2,
            },
        );
        Hint {
            data_file_id: 3,
            covered_len: 70,
            min_seq: 1,
            max_seq: 2,
            records: 2,
            entries,
        }
    }

    #[test]
    fn round_trips() {
        let bytes = encode_hint(&sample());
        let hint = decode_hint(&bytes, Path::new("h"), 3).unwrap();
        assert_eq!((hint.covered_len, hint.min_seq, hint.max_seq), (70, 1, 2));
        let got: Vec<_> = hint
            .entries
            .iter()
            .map(|(k, t, e)| (k.to_vec(), t, e))
            .collect();
        let want: Vec<_> = sample()
            .entries
            .iter()
            .map(|(k, t, e)| (k.to_vec(), t, e))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn impossible_bounds_and_lengths_are_rejected() {
        let refused = |hint: &Hint| decode_hint(&encode_hint(hint), Path::new("h"), 3).is_err();
        let mut h = sample();
        h.max_seq = MAX_SEQUENCE;
        assert!(refused(&h), "max_seq at the sequence limit");
        let mut h = sample();
        h.max_seq = 1; // below the entry with sequence 2
        assert!(refused(&h), "entry above max_seq");
        let mut h = sample();
        h.min_seq = 2; // above the entry with sequence 1
        assert!(refused(&h), "entry below min_seq");
        let mut h = sample();
        (h.min_seq, h.max_seq) = (5, 4);
        assert!(refused(&h), "min_seq above max_seq");
        let mut h = sample();
        let mut entries = EntryList::new();
        let len = (MAX_RECORD_BYTES + 1) as u32;
        entries.push(
            b"a",
            false,
            Entry {
                file_id: 3,
                offset: 16,
                len,
                stored_seq: 1,
            },
        );
        h.entries = entries;
        h.covered_len = 16 + u64::from(len);
        assert!(refused(&h), "an entry longer than any record");
        let mut h = sample();
        h.entries = EntryList::new();
        (h.min_seq, h.max_seq) = (u64::MAX, 0);
        assert!(!refused(&h), "a hint of no records has empty bounds");
    }

    #[test]
    fn every_flip_and_cut_is_rejected_without_panicking() {
        let bytes = encode_hint(&sample());
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x40;
            assert!(decode_hint(&bad, Path::new("h"), 3).is_err(), "flip at {i}");
            assert!(
                decode_hint(&bytes[..i], Path::new("h"), 3).is_err(),
                "cut at {i}"
            );
        }
        assert!(decode_hint(&bytes, Path::new("h"), 4).is_err());
    }
}
