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
//!
//! A hint grows with the keys of its data file (tens of MiB for a big one),
//! so it is never read whole: [`read_hint`] reads it [`HINT_CHUNK_BYTES`]
//! at a time, hashing and decoding as it goes, and keeps only the decoded
//! entries, used once the final checksum matches.

use std::io;
use std::path::Path;
use std::sync::Arc;

use kv_core::codec::{
    decode_file_header, encode_file_header, RecordKind, FILE_HEADER_BYTES, HEADER_BYTES,
    MAX_RECORD_BYTES,
};
use kv_core::limits::MAX_KEY_BYTES;
use kv_core::{CorruptionKind, Error, File, Fs, Result};

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

/// Bytes per read of a hint file: a read is never larger, and the decoder
/// holds at most one chunk plus one entry of the file at once.
pub const HINT_CHUNK_BYTES: usize = kv_core::codec::STREAM_CHUNK_BYTES;

/// Where a hint's bytes come from: its file, read in chunks, or bytes
/// already in memory.
enum Source<'a> {
    File(&'a dyn File),
    Bytes(&'a [u8]),
}

impl Source<'_> {
    fn read(&self, buf: &mut [u8], at: u64) -> Result<()> {
        match self {
            Self::File(f) => Ok(f.read_exact_at(buf, at)?),
            Self::Bytes(b) => {
                // A read past the end is an I/O error, as from a file.
                let from = usize::try_from(at).unwrap_or(usize::MAX);
                match b.get(from..from.saturating_add(buf.len())) {
                    Some(src) => {
                        buf.copy_from_slice(src);
                        Ok(())
                    }
                    None => Err(io::Error::from(io::ErrorKind::UnexpectedEof).into()),
                }
            }
        }
    }
}

/// Reads the body of a hint (every byte before its checksum) front to
/// back, a chunk at a time, feeding each byte read to a running crc32.
///
/// # Memory
/// `buf` holds the unconsumed rest of the last chunk plus, when a value
/// runs past it, the next chunk: at most one chunk plus one entry.
struct Cursor<'a> {
    src: Source<'a>,
    /// Body bytes (the hint's length less its checksum).
    end: u64,
    /// Body offset of `buf[0]`.
    buf_at: u64,
    buf: Vec<u8>,
    /// Consumed bytes of `buf`.
    pos: usize,
    chunk: usize,
    hasher: crc32fast::Hasher,
}

impl<'a> Cursor<'a> {
    fn new(src: Source<'a>, end: u64, chunk: usize) -> Self {
        Self {
            src,
            end,
            buf_at: 0,
            buf: Vec::new(),
            pos: 0,
            chunk: chunk.max(1),
            hasher: crc32fast::Hasher::new(),
        }
    }

    /// Body offset of the next unconsumed byte.
    fn at(&self) -> u64 {
        self.buf_at + self.pos as u64
    }

    /// Reads (and hashes) the next chunk onto `buf`, dropping consumed
    /// bytes first; false at the end of the body.
    fn refill(&mut self) -> Result<bool> {
        let read_to = self.buf_at + self.buf.len() as u64;
        if read_to >= self.end {
            return Ok(false);
        }
        self.buf.drain(..self.pos);
        self.buf_at += self.pos as u64;
        self.pos = 0;
        let n = (self.end - read_to).min(self.chunk as u64) as usize;
        let old = self.buf.len();
        self.buf.resize(old + n, 0);
        self.src.read(&mut self.buf[old..], read_to)?;
        self.hasher.update(&self.buf[old..]);
        Ok(true)
    }

    /// The next `n` bytes, or `None` if the body ends first.
    fn take(&mut self, n: usize) -> Result<Option<&[u8]>> {
        while self.buf.len() - self.pos < n {
            if !self.refill()? {
                return Ok(None);
            }
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(Some(out))
    }

    fn array<const N: usize>(&mut self) -> Result<Option<[u8; N]>> {
        Ok(self.take(N)?.map(|b| {
            let mut a = [0; N];
            a.copy_from_slice(b);
            a
        }))
    }

    fn u32(&mut self) -> Result<Option<u32>> {
        Ok(self.array()?.map(u32::from_le_bytes))
    }

    fn u64(&mut self) -> Result<Option<u64>> {
        Ok(self.array()?.map(u64::from_le_bytes))
    }

    /// Reads the rest of the body and returns the crc32 of all of it.
    fn finish(mut self) -> Result<u32> {
        self.pos = self.buf.len();
        while self.refill()? {
            self.pos = self.buf.len();
        }
        Ok(self.hasher.finalize())
    }
}

/// Opens the hint file at `path` for reading, if it exists.
///
/// # Errors
/// I/O errors other than the file being absent.
pub fn open_hint(fs: &dyn Fs, path: &Path) -> Result<Option<Arc<dyn File>>> {
    match fs.open_read(path) {
        Ok(file) => Ok(Some(file)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Reads, decodes and checks the hint file `file` a chunk
/// ([`HINT_CHUNK_BYTES`]) at a time, never holding the file whole: only
/// the decoded entries are kept. Returns the hint and the file's length.
/// Gives the same verdict as [`decode_hint`] for every input.
///
/// # Errors
/// As [`decode_hint`], and I/O errors reading the file.
pub fn read_hint(file: &dyn File, path: &Path, data_file_id: u32) -> Result<(Hint, u64)> {
    let len = file.len()?;
    let hint = decode_from(
        Source::File(file),
        len,
        path,
        data_file_id,
        HINT_CHUNK_BYTES,
    )?;
    Ok((hint, len))
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
    let len = bytes.len() as u64;
    decode_from(
        Source::Bytes(bytes),
        len,
        path,
        data_file_id,
        HINT_CHUNK_BYTES,
    )
}

/// The decoder behind [`read_hint`] and [`decode_hint`]: checks the file
/// header and length, then decodes the body while hashing it. A body that
/// does not decode is still hashed to its end, so a checksum mismatch is
/// reported as one, as a check of the whole file first would.
fn decode_from(
    src: Source<'_>,
    len: u64,
    path: &Path,
    data_file_id: u32,
    chunk: usize,
) -> Result<Hint> {
    let mut header = vec![0; len.min(FILE_HEADER_BYTES as u64) as usize];
    src.read(&mut header, 0)?;
    if decode_file_header(&header, path, HINT_MAGIC, HINT_FORMAT_VERSION)?.is_none()
        || len < (FILE_HEADER_BYTES + FIXED_BYTES + 4) as u64
    {
        let what = format!("hint file of {len} bytes is truncated");
        return Err(invariant(path, 0, what));
    }
    let mut stored = [0; 4];
    src.read(&mut stored, len - 4)?;
    let expected = u32::from_le_bytes(stored);
    let mut c = Cursor::new(src, len - 4, chunk);
    let decoded = decode_body(&mut c, path, data_file_id);
    let got = match &decoded {
        Ok(_) => c.hasher.clone().finalize(),
        Err(Error::Io(_)) => return decoded,
        Err(_) => c.finish()?,
    };
    if expected != got {
        return Err(Error::corruption(
            path,
            0,
            CorruptionKind::ChecksumMismatch { expected, got },
        ));
    }
    let mut hint = decoded?;
    hint.entries.sort_and_keep_newest();
    Ok(hint)
}

/// The fixed fields and every entry of the body, which must end with the
/// last entry.
fn decode_body(c: &mut Cursor<'_>, path: &Path, data_file_id: u32) -> Result<Hint> {
    if c.take(FILE_HEADER_BYTES)?.is_none() {
        return Err(invariant(path, 0, "hint file is truncated".into()));
    }
    let (mut hint, count) = decode_fixed(c, path, data_file_id)?;
    decode_entries(c, path, &mut hint, count)?;
    if c.at() != c.end {
        return Err(invariant(path, c.at(), "bytes after the last entry".into()));
    }
    Ok(hint)
}

fn invariant(path: &Path, offset: impl TryInto<u64>, what: String) -> Error {
    let offset = offset.try_into().unwrap_or(u64::MAX);
    Error::corruption(path, offset, CorruptionKind::Invariant(what))
}

/// The fixed fields, checked: a hint without entries yet, and the number
/// of entries that follow.
fn decode_fixed(c: &mut Cursor<'_>, path: &Path, data_file_id: u32) -> Result<(Hint, u64)> {
    let fixed = (c.u32()?, c.u64()?, c.u64()?, c.u64()?, c.u64()?, c.u64()?);
    let (Some(id), Some(covered_len), Some(min_seq), Some(max_seq), Some(records), Some(count)) =
        fixed
    else {
        return Err(invariant(
            path,
            FILE_HEADER_BYTES,
            "fixed fields truncated".into(),
        ));
    };
    if id != data_file_id {
        let what = format!("hint describes data file {id}, expected {data_file_id}");
        return Err(invariant(path, FILE_HEADER_BYTES, what));
    }
    // No records: the empty bounds (u64::MAX, 0); else lowest <= highest.
    let empty = min_seq == u64::MAX && max_seq == 0 && count == 0;
    let bounds_ok = max_seq < MAX_SEQUENCE && (min_seq <= max_seq || empty);
    if !bounds_ok {
        let what = format!(
            "sequence bounds {min_seq}..={max_seq} are impossible for {count} entries (numbers stay below {MAX_SEQUENCE})"
        );
        return Err(invariant(path, FILE_HEADER_BYTES, what));
    }
    let hint = Hint {
        data_file_id: id,
        covered_len,
        min_seq,
        max_seq,
        records,
        entries: EntryList::new(),
    };
    Ok((hint, count))
}

/// The `count` entries, each inside the hint's coverage and bounds.
fn decode_entries(c: &mut Cursor<'_>, path: &Path, hint: &mut Hint, count: u64) -> Result<()> {
    let (min_seq, max_seq) = (hint.min_seq, hint.max_seq);
    for _ in 0..count {
        let at = c.at();
        let (key, tombstone, entry) = decode_entry(c, hint.covered_len)?
            .ok_or_else(|| invariant(path, at, "entry is truncated or out of range".into()))?;
        if !(min_seq..=max_seq).contains(&entry.seq()) {
            let what = format!(
                "entry has sequence {}, outside the hint's bounds {min_seq}..={max_seq}",
                entry.seq()
            );
            return Err(invariant(path, at, what));
        }
        let entry = Entry {
            file_id: hint.data_file_id,
            ..entry
        };
        hint.entries.push(key, tombstone, entry);
    }
    Ok(())
}

fn decode_entry<'c>(
    c: &'c mut Cursor<'_>,
    covered_len: u64,
) -> Result<Option<(&'c [u8], bool, Entry)>> {
    let Some(head) = c.array::<ENTRY_HEADER_BYTES>()? else {
        return Ok(None);
    };
    let kind = head[0];
    let le = |from: usize, to: usize| {
        let mut a = [0u8; 8];
        a[..to - from].copy_from_slice(&head[from..to]);
        u64::from_le_bytes(a)
    };
    let key_len = le(1, 3) as usize;
    let (offset, len, stored_seq) = (le(3, 7) as u32, le(7, 11) as u32, le(11, 19));
    let Some(key) = c.take(key_len)? else {
        return Ok(None);
    };
    let min_len = HEADER_BYTES + key_len;
    let tombstone = match kind {
        k if k == RecordKind::Put.tag() => false,
        k if k == RecordKind::Delete.tag() => true,
        _ => return Ok(None),
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
    Ok(shape_ok.then_some((
        key,
        tombstone,
        Entry {
            file_id: 0,
            offset,
            len,
            stored_seq,
        },
    )))
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

    /// The verdict (and the error) of a decode `chunk` bytes at a time.
    fn chunked(bytes: &[u8], id: u32, chunk: usize) -> std::result::Result<Vec<Vec<u8>>, String> {
        decode_from(
            Source::Bytes(bytes),
            bytes.len() as u64,
            Path::new("h"),
            id,
            chunk,
        )
        .map(|h| h.entries.iter().map(|(k, _, _)| k.to_vec()).collect())
        .map_err(|e| e.to_string())
    }

    #[test]
    fn chunk_boundaries_never_change_a_verdict() {
        let mut h = sample();
        let mut entries = EntryList::new();
        for i in 0..40u32 {
            let key = format!("key-{i:03}-{}", "x".repeat(i as usize % 9));
            let len = (HEADER_BYTES + key.len()) as u32 + 5;
            let entry = Entry {
                file_id: 3,
                offset: 16 + i * 100,
                len,
                stored_seq: 1 + u64::from(i % 2),
            };
            entries.push(key.as_bytes(), false, entry);
        }
        h.entries = entries;
        h.covered_len = 16 + 40 * 100;
        let bytes = encode_hint(&h);
        let whole = chunked(&bytes, 3, usize::MAX);
        assert_eq!(whole.as_ref().map(Vec::len), Ok(40));
        for chunk in [1, 2, 7, 19, 64, 1000] {
            assert_eq!(chunked(&bytes, 3, chunk), whole, "chunk {chunk}");
            assert_eq!(chunked(&bytes, 4, chunk), chunked(&bytes, 4, usize::MAX));
            for i in (0..bytes.len()).step_by(3) {
                let mut bad = bytes.clone();
                bad[i] ^= 0x40;
                let want = chunked(&bad, 3, usize::MAX);
                assert!(want.is_err(), "flip at {i}");
                assert_eq!(chunked(&bad, 3, chunk), want, "flip at {i}, chunk {chunk}");
                let want = chunked(&bytes[..i], 3, usize::MAX);
                assert!(want.is_err(), "cut at {i}");
                assert_eq!(chunked(&bytes[..i], 3, chunk), want, "cut at {i}");
            }
        }
    }
}
