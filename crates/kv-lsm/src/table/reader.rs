//! An open table: footer, index, filter and properties read and verified at
//! open and kept in memory; data blocks read on demand through the block
//! cache, each verified (crc32) before it is decoded or cached.
//!
//! # Lifetime
//! A table is shared (`Arc`) by every version and scan that reads it. When a
//! compaction makes it obsolete it is marked, and the file is removed when the
//! last reference is dropped: a live scan never loses a file it reads.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use kv_core::codec::{open_block, LeReader};
use kv_core::{CorruptionKind, Error, File, Fs, Result};

use super::block::Block;
use super::bloom::{self, Bloom};
use super::footer::{BlockHandle, Footer, FOOTER_BYTES, FOOTER_V2_BYTES, MAX_BLOCK_BYTES};
use super::props::Props;
use crate::cache::BlockCache;
use crate::ikey;
use crate::range_del::RangeTombstone;
use crate::stats::Counters;
use crate::table_cache::TableCache;

/// One index entry: the separator of a data block (an internal key `>=`
/// every key of the block and `<` every key of the next) and its handle.
#[derive(Debug, Clone)]
pub struct IndexEntry {
    /// The first 8 bytes of the separator's user key, zero-padded, as a
    /// big-endian integer: compared before `last` (see [`key_prefix`]).
    pub prefix: u64,
    /// The block's separator (an internal key).
    pub last: Vec<u8>,
    /// Where the block is.
    pub handle: BlockHandle,
}

/// The first 8 bytes of `user`, zero-padded, as a big-endian integer.
/// Monotone: `a <= b` implies `key_prefix(a) <= key_prefix(b)`, so a
/// smaller prefix means a smaller key and only equal prefixes need the
/// whole keys compared.
pub fn key_prefix(user: &[u8]) -> u64 {
    let mut head = [0u8; 8];
    let n = user.len().min(8);
    head[..n].copy_from_slice(&user[..n]);
    u64::from_be_bytes(head)
}

/// An open table.
pub struct Table {
    number: u64,
    path: PathBuf,
    files: Arc<TableCache>,
    fs: Arc<dyn Fs>,
    size: u64,
    props: Props,
    index: Vec<IndexEntry>,
    bloom: Bloom,
    range_dels: Vec<RangeTombstone>,
    cache: Arc<BlockCache>,
    /// Heap bytes of the decoded index, filter and range tombstones,
    /// charged to the cache budget while the table is open.
    pinned_bytes: u64,
    counters: Arc<Counters>,
    obsolete: AtomicBool,
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table")
            .field("number", &self.number)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

/// What a table needs from the engine to open.
#[derive(Debug, Clone)]
pub struct TableContext {
    /// The file system.
    pub fs: Arc<dyn Fs>,
    /// The block cache.
    pub cache: Arc<BlockCache>,
    /// The engine's counters.
    pub counters: Arc<Counters>,
    /// Open table files, bounded by `max_open_files`.
    pub files: Arc<TableCache>,
}

fn read_sealed(file: &dyn File, path: &Path, h: BlockHandle) -> Result<Vec<u8>> {
    if h.len > MAX_BLOCK_BYTES {
        return Err(Error::corruption(
            path,
            h.offset,
            CorruptionKind::BadLength {
                got: u64::from(h.len),
                max: u64::from(MAX_BLOCK_BYTES),
            },
        ));
    }
    let mut buf = vec![0u8; h.len as usize];
    file.read_exact_at(&mut buf, h.offset).map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            Error::corruption(
                path,
                h.offset,
                CorruptionKind::BadLength {
                    got: u64::from(h.len),
                    max: 0,
                },
            )
        } else {
            Error::Io(e)
        }
    })?;
    Ok(buf)
}

fn decode_index(block: &Block, path: &Path, at: u64) -> Result<Vec<IndexEntry>> {
    let corrupt = |kind| Error::corruption(path, at, kind);
    let mut out = Vec::new();
    for (last, range) in block.entries().map_err(corrupt)? {
        let mut r = LeReader::new(block.value(&range));
        let bad = || {
            corrupt(CorruptionKind::Invariant(
                "index entry without a block handle".into(),
            ))
        };
        let offset = r.varint().ok_or_else(bad)?;
        let len = u32::try_from(r.varint().ok_or_else(bad)?).map_err(|_| bad())?;
        if ikey::decode(&last).is_none() {
            return Err(corrupt(CorruptionKind::Invariant(
                "index key is not an internal key".into(),
            )));
        }
        out.push(IndexEntry {
            prefix: key_prefix(ikey::user_key(&last)),
            last,
            handle: BlockHandle { offset, len },
        });
    }
    Ok(out)
}

/// Heap bytes of a table's decoded index (entries and their separator
/// allocations), bloom filter and range tombstones.
fn pinned_bytes(index: &[IndexEntry], bloom: &Bloom, range_dels: &[RangeTombstone]) -> u64 {
    let separators: usize = index.iter().map(|e| e.last.capacity() + 16).sum();
    let tombstones: usize = range_dels.iter().map(|t| t.bound_bytes() + 64).sum();
    (std::mem::size_of_val(index) + separators + bloom.size_bytes() + tombstones) as u64
}

impl Table {
    /// Opens table `number` at `path` (through `fs.open_read`), verifying
    /// the footer, index, filter and properties blocks.
    ///
    /// # Errors
    /// I/O failures; `Corruption` for any damage in those blocks.
    pub fn open(ctx: &TableContext, path: &Path, number: u64) -> Result<Self> {
        let file = ctx.fs.open_read(path)?;
        let size = file.len()?;
        if size < FOOTER_BYTES as u64 {
            return Err(Error::corruption(
                path,
                0,
                CorruptionKind::MissingFile(format!("table of {size} bytes has no footer")),
            ));
        }
        let tail_len = size.min(FOOTER_V2_BYTES as u64);
        let mut tail = vec![0u8; tail_len as usize];
        file.read_exact_at(&mut tail, size - tail_len)?;
        let footer_len = Footer::len_from_tail(&tail).min(tail.len());
        let fbytes = tail.get(tail.len() - footer_len..).unwrap_or(&[]);
        let footer = Footer::decode(fbytes, path, size)?;
        let open = |h: BlockHandle| -> Result<Vec<u8>> {
            let sealed = read_sealed(&*file, path, h)?;
            Ok(open_block(&sealed, path, h.offset)?.to_vec())
        };
        let corrupt_at = |h: BlockHandle| move |kind| Error::corruption(path, h.offset, kind);
        let index_block = Block::decode(&open(footer.index)?).map_err(corrupt_at(footer.index))?;
        let index = decode_index(&index_block, path, footer.index.offset)?;
        let bloom = Bloom::decode(&open(footer.filter)?).map_err(corrupt_at(footer.filter))?;
        let props = Props::decode(&open(footer.props)?).map_err(corrupt_at(footer.props))?;
        let range_dels = match footer.range_del {
            Some(h) => super::range_del_block::decode(&open(h)?).map_err(corrupt_at(h))?,
            None => Vec::new(),
        };
        // A table holds point entries, range tombstones, or both.
        if index.len() as u64 != props.data_blocks || (index.is_empty() && range_dels.is_empty()) {
            return Err(Error::corruption(
                path,
                footer.props.offset,
                CorruptionKind::Invariant(format!(
                    "{} index entries for {} data blocks",
                    index.len(),
                    props.data_blocks
                )),
            ));
        }
        let pinned_bytes = pinned_bytes(&index, &bloom, &range_dels);
        ctx.cache.pin(pinned_bytes);
        Ok(Self {
            number,
            path: path.to_path_buf(),
            files: {
                ctx.files.insert(number, file);
                Arc::clone(&ctx.files)
            },
            fs: Arc::clone(&ctx.fs),
            size,
            props,
            index,
            bloom,
            range_dels,
            cache: Arc::clone(&ctx.cache),
            pinned_bytes,
            counters: Arc::clone(&ctx.counters),
            obsolete: AtomicBool::new(false),
        })
    }

    /// File number.
    pub fn number(&self) -> u64 {
        self.number
    }

    /// Path of the file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// File size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The properties block.
    pub fn props(&self) -> &Props {
        &self.props
    }

    /// The index.
    pub fn index(&self) -> &[IndexEntry] {
        &self.index
    }

    /// The table's range tombstones (from its range-del block).
    pub fn range_dels(&self) -> &[RangeTombstone] {
        &self.range_dels
    }

    /// Smallest user key.
    pub fn smallest(&self) -> &[u8] {
        ikey::user_key(&self.props.smallest)
    }

    /// Largest user key.
    pub fn largest(&self) -> &[u8] {
        ikey::user_key(&self.props.largest)
    }

    /// True if the bloom filter may hold `key`.
    pub fn may_contain(&self, key: &[u8]) -> bool {
        self.bloom.may_contain(bloom::hash(key))
    }

    /// Reads and verifies data block `i`, through the cache.
    ///
    /// # Errors
    /// I/O failures; `Corruption` (file and block offset) for damage.
    pub fn block(&self, i: usize) -> Result<Arc<Block>> {
        self.block_with(i, true)
    }

    /// As [`Table::block`]; with `fill_cache` false a block read from the
    /// file is not cached (a cached one is still used): compactions and
    /// flushes read this way, as LevelDB's `fill_cache = false`, so one pass
    /// over the inputs neither evicts what readers use nor leaves a cache's
    /// worth of blocks in the background thread's allocator arena.
    ///
    /// # Errors
    /// As [`Table::block`].
    pub fn block_with(&self, i: usize, fill_cache: bool) -> Result<Arc<Block>> {
        let Some(entry) = self.index.get(i) else {
            return Err(Error::InvalidArgument(format!("block {i} out of range")));
        };
        let h = entry.handle;
        if let Some(b) = self.cache.get((self.number, h.offset)) {
            return Ok(b);
        }
        let block = Arc::new(self.read_block_uncached(h)?);
        if fill_cache {
            self.cache
                .insert((self.number, h.offset), Arc::clone(&block));
        }
        Ok(block)
    }

    /// Reads and verifies the block at `h` without the cache.
    ///
    /// # Errors
    /// As [`Table::block`].
    pub fn read_block_uncached(&self, h: BlockHandle) -> Result<Block> {
        let file = self.files.get(&*self.fs, self.number, &self.path)?;
        let mut sealed = read_sealed(&*file, &self.path, h)?;
        let payload_len = open_block(&sealed, &self.path, h.offset)?.len();
        // The verified payload is the buffer's prefix: decode it in place.
        sealed.truncate(payload_len);
        Block::decode_owned(sealed).map_err(|kind| Error::corruption(&self.path, h.offset, kind))
    }

    /// Index of the first block whose last key is `>= target`.
    ///
    /// Compares the inline 8-byte prefixes first (one memory access per
    /// step of the binary search), the whole keys only on a tie.
    pub fn find_block(&self, target: &[u8]) -> usize {
        let head = key_prefix(ikey::user_key(target));
        self.index.partition_point(|e| match e.prefix.cmp(&head) {
            std::cmp::Ordering::Equal => ikey::compare(&e.last, target) == std::cmp::Ordering::Less,
            order => order == std::cmp::Ordering::Less,
        })
    }

    /// The newest version of `key` with `seq <= snapshot`: `None` when the
    /// table has none, `Some(None)` for a tombstone. Consults the bloom
    /// filter before any data block.
    ///
    /// # Errors
    /// I/O failures and corruption of the block read.
    pub fn get(&self, key: &[u8], snapshot: u64) -> Result<Option<Option<Vec<u8>>>> {
        Ok(self.lookup(key, snapshot)?.map(|(_, v)| v))
    }

    /// As [`Table::get`], with the sequence number of the version found.
    ///
    /// # Errors
    /// As [`Table::get`].
    pub fn lookup(&self, key: &[u8], snapshot: u64) -> Result<Option<(u64, Option<Vec<u8>>)>> {
        self.lookup_hashed(key, bloom::hash(key), snapshot)
    }

    /// As [`Table::lookup`], with `hash` = [`bloom::hash`]`(key)` computed
    /// once by the caller for every table a `get` probes.
    ///
    /// # Errors
    /// As [`Table::get`].
    pub fn lookup_hashed(
        &self,
        key: &[u8],
        hash: u64,
        snapshot: u64,
    ) -> Result<Option<(u64, Option<Vec<u8>>)>> {
        if key < self.smallest() || key > self.largest() {
            return Ok(None);
        }
        if !self.bloom.may_contain(hash) {
            self.counters.add(&self.counters.bloom_negatives, 1);
            return Ok(None);
        }
        let target = ikey::encode(key, snapshot.min(ikey::MAX_SEQ), ikey::KIND_PUT);
        let i = self.find_block(&target);
        if i >= self.index.len() {
            return Ok(None);
        }
        let block = self.block(i)?;
        let offset = self.index[i].handle.offset;
        let found = block
            .seek(&target, ikey::compare)
            .map_err(|kind| Error::corruption(&self.path, offset, kind))?;
        let Some((ik, range)) = found else {
            return Ok(None);
        };
        let (user, seq, kind) = ikey::decode(&ik).ok_or_else(|| {
            Error::corruption(
                &self.path,
                offset,
                CorruptionKind::Invariant("bad internal key".into()),
            )
        })?;
        if user != key {
            return Ok(None);
        }
        Ok(Some((
            seq,
            (kind == ikey::KIND_PUT).then(|| block.value(&range).to_vec()),
        )))
    }

    /// Marks the table obsolete: its file is removed when the last reference
    /// is dropped.
    pub fn mark_obsolete(&self) {
        self.obsolete.store(true, Ordering::Release);
    }
}

impl Drop for Table {
    fn drop(&mut self) {
        self.cache.unpin(self.pinned_bytes);
        self.files.forget(self.number);
        if self.obsolete.load(Ordering::Acquire) {
            // Best effort: a file left behind is proven obsolete by the
            // manifest and removed at the next open.
            let _ = self.fs.remove(&self.path);
        }
    }
}
