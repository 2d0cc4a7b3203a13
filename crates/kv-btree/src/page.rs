//! Pages and runs: the unit of every read and write of the store file.
//!
//! The file is an array of 4 KiB pages. Pages 0 and 1 are the two commit
//! slots ([`crate::commit_slot`]); every other page belongs to a *run*: one
//! or more contiguous pages written and read with one positioned I/O. A
//! tree node is a run of one page (two or more only when it holds a
//! maximum-size key), an overflow value is a run of as many pages as its
//! bytes need, the free list is one run.
//!
//! Every page of a run is sealed on its own, so any single page of the
//! file can be verified alone (what `check()` does for free pages):
//!
//! ```text
//! offset  size  field
//!      0     1  kind (1 leaf, 2 branch, 3 overflow value, 4 free list,
//!               5 free page rewritten at a clean close)
//!      1     1  format version (1)
//!      2     2  reserved, zero
//!      4     4  run length in pages (u32 LE)
//!      8     8  this page's number (u64 LE)
//!     16     8  id of the transaction that wrote the run (u64 LE)
//!     24     4  body bytes in this page (u32 LE, ≤ 4060)
//!     28     4  this page's index within its run (u32 LE)
//!     32  4060  body bytes (the run's body is the pages' bodies in order;
//!               every page but the last is full), zero padding
//!   4092     4  crc32 of bytes 0..4092 (u32 LE)
//! ```
//!
//! The checksum covers the kind, the page number and the transaction id, so
//! a torn page fails its checksum, a page written to the wrong place names
//! another page number, and a stale page (an older version of a page that
//! has since been reused) names another transaction than the reference the
//! reader followed: all three are detected when the run is read.

use std::borrow::Cow;
use std::path::Path;

use kv_core::codec::{open_block, LeReader};
use kv_core::{CorruptionKind, Error, Result};

/// Bytes per page.
pub const PAGE_BYTES: usize = 4096;

/// Bytes of the run header.
pub const HEADER_BYTES: usize = 32;

/// Bytes of the checksum at the end of a run.
pub const TRAILER_BYTES: usize = 4;

/// Body bytes one page holds.
pub const PAGE_BODY_BYTES: usize = PAGE_BYTES - HEADER_BYTES - TRAILER_BYTES;

/// The run format version this build writes and reads.
pub const RUN_FORMAT: u8 = 1;

/// Longest run accepted when decoding (a 16 MiB value plus its header).
pub const MAX_RUN_PAGES: u32 = ((16 << 20) / PAGE_BODY_BYTES as u32) + 2;

/// What a run holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A leaf node: keys with inline values or overflow references.
    Leaf = 1,
    /// A branch node: separators and child references.
    Branch = 2,
    /// The bytes of one large value.
    Overflow = 3,
    /// The persisted free list.
    FreeList = 4,
    /// A free page rewritten at a clean close (its old content was not
    /// trusted after a crash).
    Free = 5,
}

impl Kind {
    fn from_u8(tag: u8) -> Option<Self> {
        match tag {
            1 => Some(Self::Leaf),
            2 => Some(Self::Branch),
            3 => Some(Self::Overflow),
            4 => Some(Self::FreeList),
            5 => Some(Self::Free),
            _ => None,
        }
    }
}

/// A reference to a run: where it starts, how long it is, and the
/// transaction that wrote it (what the reader expects to find there).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RunRef {
    /// First page.
    pub page: u64,
    /// Transaction that wrote the run.
    pub txn: u64,
    /// Length in pages (at least 1).
    pub pages: u32,
}

impl RunRef {
    /// Byte offset of the run in the file.
    pub fn offset(&self) -> u64 {
        self.page * PAGE_BYTES as u64
    }

    /// Length of the run in bytes.
    pub fn bytes(&self) -> usize {
        self.pages as usize * PAGE_BYTES
    }
}

/// Pages a run needs for a body of `body_bytes`.
pub fn pages_for(body_bytes: usize) -> u32 {
    body_bytes.div_ceil(PAGE_BODY_BYTES).max(1) as u32
}

/// Builds the bytes of a run of `kind` holding `body`, at `page`, written by
/// `txn`: each page with its header, body share, padding and checksum.
pub fn seal_run(kind: Kind, page: u64, txn: u64, body: &[u8]) -> Vec<u8> {
    seal_run_pages(kind, page, txn, body, 1)
}

/// As [`seal_run`], padded to at least `min_pages` pages (the free list
/// fills the run it was given).
pub fn seal_run_pages(kind: Kind, page: u64, txn: u64, body: &[u8], min_pages: u32) -> Vec<u8> {
    let mut out = Vec::new();
    seal_run_into(&mut out, kind, page, txn, body, min_pages);
    out
}

/// Appends the sealed pages of [`seal_run_pages`] to `out` (what the pager
/// does to fill its write buffer without a buffer per page). Each page's
/// trailer is [`kv_core::codec::seal_block`]'s: the crc32 of the page's
/// first 4092 bytes, little endian.
pub fn seal_run_into(
    out: &mut Vec<u8>,
    kind: Kind,
    page: u64,
    txn: u64,
    body: &[u8],
    min_pages: u32,
) {
    let pages = pages_for(body.len()).max(min_pages);
    out.reserve(pages as usize * PAGE_BYTES);
    for i in 0..pages {
        let from = (i as usize * PAGE_BODY_BYTES).min(body.len());
        let to = (from + PAGE_BODY_BYTES).min(body.len());
        let chunk = body.get(from..to).unwrap_or_default();
        let start = out.len();
        out.push(kind as u8);
        out.push(RUN_FORMAT);
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&pages.to_le_bytes());
        out.extend_from_slice(&(page + u64::from(i)).to_le_bytes());
        out.extend_from_slice(&txn.to_le_bytes());
        out.extend_from_slice(&(chunk.len() as u32).to_le_bytes());
        out.extend_from_slice(&i.to_le_bytes());
        out.extend_from_slice(chunk);
        out.resize(start + PAGE_BYTES - TRAILER_BYTES, 0);
        let crc = crc32fast::hash(out.get(start..).unwrap_or_default());
        out.extend_from_slice(&crc.to_le_bytes());
    }
}

/// The header fields of a verified page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageHeader {
    /// What its run holds.
    pub kind: Kind,
    /// Its run's length in pages.
    pub pages: u32,
    /// Its own page number.
    pub page: u64,
    /// The transaction that wrote it.
    pub txn: u64,
    /// Body bytes it holds.
    pub body_len: usize,
    /// Its index within its run.
    pub index: u32,
}

fn bad(file: &Path, offset: u64, what: String) -> Error {
    Error::corruption(file, offset, CorruptionKind::Mismatch(what))
}

/// Checks that `bytes` (read at `offset`) is one whole page whose
/// checksum holds, and returns the bytes the checksum covers: what every
/// page of the file, run page or commit slot, is opened with.
///
/// # Errors
/// `Corruption` at `offset`: a short page, a checksum that fails.
pub fn open_sealed_page<'a>(bytes: &'a [u8], offset: u64, file: &Path) -> Result<&'a [u8]> {
    if bytes.len() != PAGE_BYTES {
        return Err(Error::corruption(
            file,
            offset,
            CorruptionKind::BadLength {
                got: bytes.len() as u64,
                max: PAGE_BYTES as u64,
            },
        ));
    }
    open_block(bytes, file, offset)
}

/// Verifies one page read from page `page_no`: checksum, format, and that
/// it names `page_no`. Returns its header and body share.
///
/// # Errors
/// `Corruption` at the page's offset.
pub fn open_page<'a>(bytes: &'a [u8], page_no: u64, file: &Path) -> Result<(PageHeader, &'a [u8])> {
    let offset = page_no * PAGE_BYTES as u64;
    let payload = open_sealed_page(bytes, offset, file)?;
    let header = decode_header(payload, file, offset)?;
    if header.page != page_no {
        return Err(bad(
            file,
            offset,
            format!("page names page {}, read at page {page_no}", header.page),
        ));
    }
    if header.body_len > PAGE_BODY_BYTES
        || header.index >= header.pages
        || header.pages > MAX_RUN_PAGES
    {
        return Err(Error::corruption(
            file,
            offset,
            CorruptionKind::BadLength {
                got: header.body_len as u64,
                max: PAGE_BODY_BYTES as u64,
            },
        ));
    }
    let body = payload
        .get(HEADER_BYTES..HEADER_BYTES + header.body_len)
        .unwrap_or_default();
    Ok((header, body))
}

/// Verifies the run in `buf` (read from `expect`'s place) and returns its
/// kind and body. `expect` is the reference the reader followed: every
/// page's number, transaction and run length must match it.
///
/// # Errors
/// `Corruption` naming `file` and the page's offset for a torn or damaged
/// page (checksum), a misplaced page (page number), a stale page
/// (transaction), a run of another length or kind, or a bad body length.
pub fn open_run<'a>(buf: &'a [u8], expect: RunRef, file: &Path) -> Result<(Kind, Cow<'a, [u8]>)> {
    if buf.len() != expect.bytes() || buf.is_empty() {
        return Err(Error::corruption(
            file,
            expect.offset(),
            CorruptionKind::BadLength {
                got: buf.len() as u64,
                max: expect.bytes() as u64,
            },
        ));
    }
    let mut kind = None;
    let mut body: Cow<'a, [u8]> = Cow::Borrowed(&[]);
    for (i, bytes) in buf.chunks(PAGE_BYTES).enumerate() {
        let page_no = expect.page + i as u64;
        let offset = page_no * PAGE_BYTES as u64;
        let (h, chunk) = open_page(bytes, page_no, file)?;
        if h.txn != expect.txn {
            return Err(bad(
                file,
                offset,
                format!(
                    "stale page: written by txn {}, the reference expects txn {}",
                    h.txn, expect.txn
                ),
            ));
        }
        let full = h.body_len == PAGE_BODY_BYTES || i + 1 == expect.pages as usize;
        if h.pages != expect.pages
            || h.index as usize != i
            || !full
            || kind.is_some_and(|k| k != h.kind)
        {
            return Err(bad(
                file,
                offset,
                format!(
                    "page {i} of a run of {} pages says it is page {} of {} ({:?}, {} bytes)",
                    expect.pages, h.index, h.pages, h.kind, h.body_len
                ),
            ));
        }
        kind = Some(h.kind);
        if expect.pages == 1 {
            body = Cow::Borrowed(chunk);
        } else {
            body.to_mut().extend_from_slice(chunk);
        }
    }
    let kind = kind.ok_or_else(|| bad(file, expect.offset(), "empty run".into()))?;
    Ok((kind, body))
}

/// Decodes the header fields of a page's verified payload.
fn decode_header(payload: &[u8], file: &Path, offset: u64) -> Result<PageHeader> {
    let mut r = LeReader::new(payload);
    let short = || {
        Error::corruption(
            file,
            offset,
            CorruptionKind::BadLength {
                got: payload.len() as u64,
                max: HEADER_BYTES as u64,
            },
        )
    };
    let tag = r.u8().ok_or_else(short)?;
    let kind = Kind::from_u8(tag)
        .ok_or_else(|| Error::corruption(file, offset, CorruptionKind::BadKind { got: tag }))?;
    let version = r.u8().ok_or_else(short)?;
    if version != RUN_FORMAT {
        return Err(Error::corruption(
            file,
            offset,
            CorruptionKind::BadVersion {
                supported: u32::from(RUN_FORMAT),
                got: u32::from(version),
            },
        ));
    }
    r.u16().ok_or_else(short)?;
    let pages = r.u32().ok_or_else(short)?;
    let page = r.u64().ok_or_else(short)?;
    let txn = r.u64().ok_or_else(short)?;
    let body_len = r.u32().ok_or_else(short)? as usize;
    let index = r.u32().ok_or_else(short)?;
    Ok(PageHeader {
        kind,
        pages,
        page,
        txn,
        body_len,
        index,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(page: u64, txn: u64, pages: u32) -> RunRef {
        RunRef { page, txn, pages }
    }

    #[test]
    fn runs_sealed_into_a_buffer_carry_seal_blocks_trailers() {
        let mut out = vec![9u8; 3];
        let value = vec![5; PAGE_BODY_BYTES + 10];
        seal_run_into(&mut out, Kind::Overflow, 4, 2, &value, 1);
        assert_eq!(
            out.len(),
            3 + 2 * PAGE_BYTES,
            "appended after what was there"
        );
        let run = &out[3..];
        let (_, body) = open_run(run, at(4, 2, 2), Path::new("f")).unwrap();
        assert_eq!(&*body, &value[..]);
        for page in run.chunks(PAGE_BYTES) {
            let mut resealed = page[..PAGE_BYTES - TRAILER_BYTES].to_vec();
            kv_core::codec::seal_block(&mut resealed);
            assert_eq!(&resealed[..], page);
        }
    }

    #[test]
    fn a_run_round_trips_and_names_its_place() {
        let run = seal_run(Kind::Leaf, 7, 3, b"body");
        assert_eq!(run.len(), PAGE_BYTES);
        let (kind, body) = open_run(&run, at(7, 3, 1), Path::new("f")).unwrap();
        assert_eq!((kind, &*body), (Kind::Leaf, &b"body"[..]));
        assert!(
            open_run(&run, at(8, 3, 1), Path::new("f")).is_err(),
            "misplaced"
        );
        assert!(
            open_run(&run, at(7, 2, 1), Path::new("f")).is_err(),
            "stale"
        );
        let value = vec![5; PAGE_BODY_BYTES * 2 + 1];
        let big = seal_run(Kind::Overflow, 9, 1, &value);
        assert_eq!(big.len(), PAGE_BYTES * 3);
        let (_, body) = open_run(&big, at(9, 1, 3), Path::new("f")).unwrap();
        assert_eq!(&*body, &value[..]);
        let (h, _) = open_page(&big[PAGE_BYTES..PAGE_BYTES * 2], 10, Path::new("f")).unwrap();
        assert_eq!((h.index, h.pages), (1, 3));
    }

    #[test]
    fn every_flip_of_a_run_is_detected() {
        let run = seal_run(Kind::Branch, 2, 1, &[7; 5000]);
        for i in (0..run.len()).step_by(7) {
            let mut bad = run.clone();
            bad[i] ^= 0x40;
            assert!(
                open_run(&bad, at(2, 1, 2), Path::new("f")).is_err(),
                "flip {i}"
            );
        }
    }
}
