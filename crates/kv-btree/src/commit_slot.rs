//! The two commit slots: pages 0 and 1 of the file.
//!
//! A durable commit writes its slot into the page that does *not* hold the
//! newest durable commit, so the previous commit stays intact on disk while
//! the new one is written. Open takes the valid slot with the higher
//! transaction id. Each slot fills a whole page, so a torn slot write never
//! reaches into the other slot, and its checksum makes a torn slot invalid.
//!
//! ```text
//! offset  size  field
//!      0     8  magic "kvbtree\0"
//!      8     4  format version (2; version 1 files are refused)
//!     12     4  flags: bit 0 = clean (written by a clean close; every
//!               free page then holds a sealed page)
//!     16     8  transaction id
//!     24     8  root page (0 = empty tree)
//!     32     8  root txn
//!     40     4  root pages
//!     44     4  tree depth (0 empty, 1 = root is a leaf)
//!     48     8  page count: pages in use, the file's logical length
//!     56     8  free-list run page (0 = no free list)
//!     64     8  free-list run txn
//!     72     4  free-list run pages
//!     76     4  written digest: crc32 over (page, txn, pages, crc32 of
//!               the run's bytes) of every run this commit wrote, sorted
//!               by page (see `crate::written`)
//!     80     8  live keys
//!     88     8  live bytes (keys + values)
//!     96     8  leaf pages
//!    104     8  branch pages
//!    112     8  overflow pages
//!    120     8  previous durable txn: the runs this commit wrote are
//!               exactly the reachable runs with a newer txn
//!    128  3964  zero
//!   4092     4  crc32 of bytes 0..4092
//! ```

use std::path::Path;

use kv_core::codec::{seal_block, LeReader};
use kv_core::{CorruptionKind, Error, Result};

use crate::page::{open_sealed_page, RunRef, PAGE_BYTES};

/// The slot magic.
pub const SLOT_MAGIC: u64 = u64::from_le_bytes(*b"kvbtree\0");

/// The format version of slots (and of the store as a whole).
pub const FORMAT_VERSION: u32 = 2;

/// Pages the two slots occupy at the start of the file.
pub const SLOT_PAGES: u64 = 2;

/// The tree's figures a commit records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TreeCounts {
    /// Live keys.
    pub live_keys: u64,
    /// Bytes of live keys and values.
    pub live_bytes: u64,
    /// Pages in leaf runs.
    pub leaf_pages: u64,
    /// Pages in branch runs.
    pub branch_pages: u64,
    /// Pages in overflow runs.
    pub overflow_pages: u64,
}

/// One commit as recorded in a slot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommitSlot {
    /// Transaction id.
    pub txn: u64,
    /// Root node, or `None` for the empty tree.
    pub root: Option<RunRef>,
    /// Depth of the tree (every leaf at this depth).
    pub depth: u32,
    /// Pages in use: `[0, page_count)` is the tree, the free list and the
    /// free pages; the file past it is an unallocated tail.
    pub page_count: u64,
    /// The persisted free list.
    pub free_list: Option<RunRef>,
    /// Key, byte and page counts.
    pub counts: TreeCounts,
    /// Written by a clean close: every free page holds a sealed page, so
    /// `check()` can verify free pages too.
    pub clean: bool,
    /// The durable commit this one followed: every run this commit wrote
    /// carries a newer txn, every older reachable run was durable before.
    pub prev_txn: u64,
    /// The digest of the runs this commit wrote (see `crate::written`):
    /// open trusts the slot only if the runs on disk reproduce it.
    pub digest: u32,
}

fn put_ref(out: &mut Vec<u8>, r: Option<RunRef>) {
    let r = r.unwrap_or(RunRef {
        page: 0,
        txn: 0,
        pages: 0,
    });
    out.extend_from_slice(&r.page.to_le_bytes());
    out.extend_from_slice(&r.txn.to_le_bytes());
    out.extend_from_slice(&r.pages.to_le_bytes());
}

impl CommitSlot {
    /// The slot's page bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(PAGE_BYTES);
        out.extend_from_slice(&SLOT_MAGIC.to_le_bytes());
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&u32::from(self.clean).to_le_bytes());
        out.extend_from_slice(&self.txn.to_le_bytes());
        put_ref(&mut out, self.root);
        out.extend_from_slice(&self.depth.to_le_bytes());
        out.extend_from_slice(&self.page_count.to_le_bytes());
        put_ref(&mut out, self.free_list);
        out.extend_from_slice(&self.digest.to_le_bytes());
        let c = &self.counts;
        for v in [
            c.live_keys,
            c.live_bytes,
            c.leaf_pages,
            c.branch_pages,
            c.overflow_pages,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&self.prev_txn.to_le_bytes());
        out.resize(PAGE_BYTES - 4, 0);
        seal_block(&mut out);
        out
    }

    /// Decodes slot `index` (0 or 1) from its page bytes.
    ///
    /// # Errors
    /// `Corruption` at the slot's offset: a torn or damaged slot (checksum),
    /// a bad magic or version, impossible references.
    pub fn decode(bytes: &[u8], index: u64, file: &Path) -> Result<Self> {
        let offset = index * PAGE_BYTES as u64;
        let payload = open_sealed_page(bytes, offset, file)?;
        let mut r = LeReader::new(payload);
        let bad = |what: &str| {
            Error::corruption(
                file,
                offset,
                CorruptionKind::Invariant(format!("commit slot {what}")),
            )
        };
        let magic = r.u64().ok_or_else(|| bad("is cut"))?;
        if magic != SLOT_MAGIC {
            return Err(Error::corruption(
                file,
                offset,
                CorruptionKind::BadMagic {
                    expected: SLOT_MAGIC,
                    got: magic,
                },
            ));
        }
        let version = r.u32().ok_or_else(|| bad("is cut"))?;
        if version != FORMAT_VERSION {
            return Err(Error::corruption(
                file,
                offset,
                CorruptionKind::BadVersion {
                    supported: FORMAT_VERSION,
                    got: version,
                },
            ));
        }
        decode_fields(payload, file, offset)
    }
}

fn decode_fields(payload: &[u8], file: &Path, offset: u64) -> Result<CommitSlot> {
    let bad = |what: String| {
        Error::corruption(
            file,
            offset,
            CorruptionKind::Invariant(format!("commit slot {what}")),
        )
    };
    let mut r = LeReader::new(payload);
    r.bytes(12).ok_or_else(|| bad("is cut".into()))?;
    let flags = r.u32().ok_or_else(|| bad("is cut".into()))?;
    if flags > 1 {
        return Err(bad(format!("has unknown flags {flags:#x}")));
    }
    let cut = || bad("is cut".into());
    let txn = r.u64().ok_or_else(cut)?;
    let root = read_ref(&mut r).ok_or_else(cut)?;
    let depth = r.u32().ok_or_else(cut)?;
    let page_count = r.u64().ok_or_else(cut)?;
    let free_list = read_ref(&mut r).ok_or_else(cut)?;
    let digest = r.u32().ok_or_else(cut)?;
    let mut next = || r.u64().ok_or_else(cut);
    let counts = TreeCounts {
        live_keys: next()?,
        live_bytes: next()?,
        leaf_pages: next()?,
        branch_pages: next()?,
        overflow_pages: next()?,
    };
    let prev_txn = r.u64().ok_or_else(cut)?;
    if prev_txn > txn {
        return Err(bad(format!("txn {txn} follows a newer txn {prev_txn}")));
    }
    let in_file = |x: &Option<RunRef>| {
        x.is_none_or(|x| {
            x.page >= SLOT_PAGES
                && x.pages >= 1
                && x.txn <= txn
                && x.page.saturating_add(u64::from(x.pages)) <= page_count
        })
    };
    if !in_file(&root) || !in_file(&free_list) || (root.is_none() != (depth == 0)) {
        return Err(bad(format!(
            "txn {txn} names a root or free list outside its {page_count} pages"
        )));
    }
    Ok(CommitSlot {
        txn,
        root,
        depth,
        page_count,
        free_list,
        counts,
        clean: flags == 1,
        prev_txn,
        digest,
    })
}

fn read_ref(r: &mut LeReader<'_>) -> Option<Option<RunRef>> {
    let page = r.u64()?;
    let txn = r.u64()?;
    let pages = r.u32()?;
    Some((page != 0).then_some(RunRef { page, txn, pages }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_round_trip_and_detect_every_flip() {
        let slot = CommitSlot {
            txn: 9,
            root: Some(RunRef {
                page: 4,
                txn: 9,
                pages: 1,
            }),
            depth: 1,
            page_count: 6,
            free_list: None,
            counts: TreeCounts {
                live_keys: 3,
                ..TreeCounts::default()
            },
            clean: true,
            prev_txn: 7,
            digest: 0xdead_beef,
        };
        let bytes = slot.encode();
        assert_eq!(CommitSlot::decode(&bytes, 1, Path::new("f")).unwrap(), slot);
        for i in (0..PAGE_BYTES).step_by(13) {
            let mut bad = bytes.clone();
            bad[i] ^= 1;
            assert!(CommitSlot::decode(&bad, 1, Path::new("f")).is_err(), "{i}");
        }
    }
}
