//! Pages and runs: the unit of every read and write of the store file.
//!
//! The file is an array of 4 KiB pages. Pages 0 and 1 are the two commit
//! slots ([`crate::commit_slot`]); every other page belongs to a *run*: one
//! or more contiguous pages written and read with one positioned I/O. A
//! tree node is a run of one page (two or more only when it holds a
//! maximum-size key), an overflow value is a run of as many pages as its
//! bytes need, the free list is one run.
//!
//! ```text
//! offset  size  field
//!      0     1  kind (1 leaf, 2 branch, 3 overflow value, 4 free list)
//!      1     1  format version (1)
//!      2     2  reserved, zero
//!      4     4  run length in pages (u32 LE)
//!      8     8  page number of the run's first page (u64 LE)
//!     16     8  id of the transaction that wrote the run (u64 LE)
//!     24     4  body length in bytes (u32 LE)
//!     28     4  reserved, zero
//!     32     n  body (the node, value or free list encoding)
//!      …        zero padding
//!  end-4     4  crc32 of every byte of the run before it (u32 LE)
//! ```
//!
//! The checksum covers the kind, the page number and the transaction id, so
//! a torn run fails its checksum, a run written to the wrong place names
//! another page number, and a stale run (an older version of a page that
//! has since been reused) names another transaction than the reference the
//! reader followed: all three are detected when the run is read.

use std::path::Path;

use kv_core::codec::{open_block, seal_block, LeReader};
use kv_core::{CorruptionKind, Error, Result};

/// Bytes per page.
pub const PAGE_BYTES: usize = 4096;

/// Bytes of the run header.
pub const HEADER_BYTES: usize = 32;

/// Bytes of the checksum at the end of a run.
pub const TRAILER_BYTES: usize = 4;

/// Body bytes a one-page run holds.
pub const PAGE_BODY_BYTES: usize = PAGE_BYTES - HEADER_BYTES - TRAILER_BYTES;

/// The run format version this build writes and reads.
pub const RUN_FORMAT: u8 = 1;

/// Longest run accepted when decoding (a 16 MiB value plus its header).
pub const MAX_RUN_PAGES: u32 = ((16 << 20) + PAGE_BYTES as u32 * 2) / PAGE_BYTES as u32;

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
}

impl Kind {
    fn from_u8(tag: u8) -> Option<Self> {
        match tag {
            1 => Some(Self::Leaf),
            2 => Some(Self::Branch),
            3 => Some(Self::Overflow),
            4 => Some(Self::FreeList),
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
    let total = HEADER_BYTES + body_bytes + TRAILER_BYTES;
    total.div_ceil(PAGE_BYTES) as u32
}

/// Builds the bytes of a run of `kind` holding `body`, at `page`, written by
/// `txn`: header, body, zero padding, checksum.
pub fn seal_run(kind: Kind, page: u64, txn: u64, body: &[u8]) -> Vec<u8> {
    seal_run_pages(kind, page, txn, body, 1)
}

/// As [`seal_run`], padded to at least `min_pages` pages (the free list
/// fills the run it was given).
pub fn seal_run_pages(kind: Kind, page: u64, txn: u64, body: &[u8], min_pages: u32) -> Vec<u8> {
    let pages = pages_for(body.len()).max(min_pages);
    let total = pages as usize * PAGE_BYTES;
    let mut out = Vec::with_capacity(total);
    out.push(kind as u8);
    out.push(RUN_FORMAT);
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&pages.to_le_bytes());
    out.extend_from_slice(&page.to_le_bytes());
    out.extend_from_slice(&txn.to_le_bytes());
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(body);
    out.resize(total - TRAILER_BYTES, 0);
    seal_block(&mut out);
    out
}

/// The header fields of a verified run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunHeader {
    /// What the run holds.
    pub kind: Kind,
    /// Its length in pages.
    pub pages: u32,
    /// Its first page.
    pub page: u64,
    /// The transaction that wrote it.
    pub txn: u64,
}

fn bad(file: &Path, offset: u64, what: String) -> Error {
    Error::corruption(file, offset, CorruptionKind::Mismatch(what))
}

/// Verifies the run in `buf` (read from `expect`'s place) and returns its
/// header and body. `expect` is the reference the reader followed: the
/// page number, transaction and length must match it.
///
/// # Errors
/// `Corruption` naming `file` and the run's offset for a torn or damaged run
/// (checksum), a misplaced run (page number), a stale run (transaction), a
/// run of another length, an unknown kind or version, or a bad body length.
pub fn open_run<'a>(buf: &'a [u8], expect: RunRef, file: &Path) -> Result<(RunHeader, &'a [u8])> {
    let offset = expect.offset();
    if buf.len() != expect.bytes() || buf.len() < PAGE_BYTES {
        return Err(Error::corruption(
            file,
            offset,
            CorruptionKind::BadLength {
                got: buf.len() as u64,
                max: expect.bytes() as u64,
            },
        ));
    }
    let payload = open_block(buf, file, offset)?;
    let header = decode_header(payload, file, offset)?;
    if header.page != expect.page {
        return Err(bad(
            file,
            offset,
            format!("run names page {}, read at page {}", header.page, expect.page),
        ));
    }
    if header.txn != expect.txn {
        return Err(bad(
            file,
            offset,
            format!(
                "stale run: written by txn {}, the reference expects txn {}",
                header.txn, expect.txn
            ),
        ));
    }
    if header.pages != expect.pages {
        return Err(bad(
            file,
            offset,
            format!("run spans {} pages, the reference says {}", header.pages, expect.pages),
        ));
    }
    let mut r = LeReader::new(payload);
    r.bytes(24);
    let body_len = r.u32().unwrap_or(u32::MAX) as usize;
    let body = payload
        .get(HEADER_BYTES..HEADER_BYTES.saturating_add(body_len))
        .ok_or_else(|| {
            Error::corruption(
                file,
                offset,
                CorruptionKind::BadLength {
                    got: body_len as u64,
                    max: (payload.len().saturating_sub(HEADER_BYTES)) as u64,
                },
            )
        })?;
    Ok((header, body))
}

/// Decodes the header fields (kind, version, length, page, txn) of a run's
/// verified payload.
fn decode_header(payload: &[u8], file: &Path, offset: u64) -> Result<RunHeader> {
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
    Ok(RunHeader {
        kind,
        pages,
        page,
        txn,
    })
}

/// Reads the header of the run that starts at `page` in `first_page` (its
/// first page's bytes) without verifying the checksum: what `check()` uses
/// to learn a run's length before reading it whole. `None` if the bytes are
/// not a run header of this format.
pub fn peek_header(first_page: &[u8]) -> Option<RunHeader> {
    let mut r = LeReader::new(first_page);
    let kind = Kind::from_u8(r.u8()?)?;
    if r.u8()? != RUN_FORMAT {
        return None;
    }
    r.u16()?;
    let pages = r.u32()?;
    let page = r.u64()?;
    let txn = r.u64()?;
    (pages >= 1 && pages <= MAX_RUN_PAGES).then_some(RunHeader {
        kind,
        pages,
        page,
        txn,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(page: u64, txn: u64, pages: u32) -> RunRef {
        RunRef { page, txn, pages }
    }

    #[test]
    fn a_run_round_trips_and_names_its_place() {
        let run = seal_run(Kind::Leaf, 7, 3, b"body");
        assert_eq!(run.len(), PAGE_BYTES);
        let (h, body) = open_run(&run, at(7, 3, 1), Path::new("f")).unwrap();
        assert_eq!((h.kind, h.page, h.txn, body), (Kind::Leaf, 7, 3, &b"body"[..]));
        assert!(open_run(&run, at(8, 3, 1), Path::new("f")).is_err(), "misplaced");
        assert!(open_run(&run, at(7, 2, 1), Path::new("f")).is_err(), "stale");
        let big = seal_run(Kind::Overflow, 9, 1, &vec![5; PAGE_BYTES * 2]);
        assert_eq!(big.len(), PAGE_BYTES * 3);
        assert_eq!(peek_header(&big).map(|h| h.pages), Some(3));
    }

    #[test]
    fn every_flip_of_a_run_is_detected() {
        let run = seal_run(Kind::Branch, 2, 1, b"abc");
        for i in (0..run.len()).step_by(7) {
            let mut bad = run.clone();
            bad[i] ^= 0x40;
            assert!(open_run(&bad, at(2, 1, 1), Path::new("f")).is_err(), "flip {i}");
        }
    }
}
