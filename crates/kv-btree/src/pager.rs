//! The pager: reads runs through the page cache, holds the runs of
//! committed transactions that are not yet on disk, and writes them out.
//!
//! Lookups go dirty runs first (committed in memory under
//! `SyncPolicy::Manual`, not yet written), then the node cache (quick_cache,
//! sized by `cache_bytes` and weighted by the bytes each entry holds), then
//! the file: one positioned read per run, verified by
//! [`crate::page::open_run`] against the reference followed (page number,
//! transaction, length) before use. Both hold nodes as [`NodeView`]s
//! (search tables and the body in one allocation, searched in place), so
//! a miss costs one read, one checksum and one pass over the body.
//!
//! Runs are immutable once committed: a page number is only reused after no
//! reader and no durable commit can reach its old content, so a cached node
//! is never stale for a reader that can reach it (and every hit is checked
//! against the reference's transaction anyway).

use std::collections::{HashMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use kv_core::{CorruptionKind, Error, File, Result};
use quick_cache::sync::Cache;
use quick_cache::Weighter;

use crate::node::view::NodeView;
use crate::node::Node;
use crate::page::{open_page, open_run, seal_run, seal_run_into, Kind, RunRef, PAGE_BYTES};

/// A run committed in memory but not yet on disk: a node's view or a
/// value. It is sealed (headers and checksums) only when it is written, so
/// a version that a later commit replaces before the next durable commit
/// costs no sealing and no buffer.
#[derive(Debug, Clone)]
pub struct DirtyRun {
    /// Where it goes.
    pub run: RunRef,
    /// The node's view, for node runs.
    pub node: Option<Arc<NodeView>>,
    /// The value, for overflow runs.
    pub value: Option<Arc<Vec<u8>>>,
}

impl DirtyRun {
    /// The run's kind and body (what its pages hold once sealed).
    fn content(&self) -> (Kind, &[u8]) {
        match (&self.node, &self.value) {
            (Some(node), _) => (node.kind(), node.body()),
            (None, Some(value)) => (Kind::Overflow, value.as_slice()),
            (None, None) => (Kind::Overflow, &[]),
        }
    }

    /// The run's sealed bytes, as written to the file.
    pub fn seal(&self) -> Vec<u8> {
        let (kind, body) = self.content();
        seal_run(kind, self.run.page, self.run.txn, body)
    }

    /// Appends the run's sealed bytes to `out` (see [`DirtyRun::seal`]).
    fn seal_into(&self, out: &mut Vec<u8>) {
        let (kind, body) = self.content();
        seal_run_into(out, kind, self.run.page, self.run.txn, body, 1);
    }
}

/// A sealed run a durable commit writes besides the dirty runs (see
/// [`Pager::write_dirty`]).
#[derive(Debug, Clone)]
pub struct ExtraRun {
    /// Where it goes.
    pub run: RunRef,
    /// Its sealed bytes.
    pub sealed: Vec<u8>,
    /// True when the commit's written digest covers it (the free list);
    /// false for what open does not walk (a clean close's free pages).
    pub covered: bool,
}

/// The dirty runs by first page, and the bytes they will take on disk.
#[derive(Debug, Default)]
struct DirtyRuns {
    runs: HashMap<u64, DirtyRun>,
    bytes: usize,
}

impl DirtyRuns {
    fn remove(&mut self, page: u64) {
        if let Some(old) = self.runs.remove(&page) {
            self.bytes = self.bytes.saturating_sub(old.run.bytes());
        }
    }
}

#[derive(Clone)]
struct RunWeight;

impl Weighter<u64, (RunRef, Arc<NodeView>)> for RunWeight {
    fn weight(&self, _key: &u64, val: &(RunRef, Arc<NodeView>)) -> u64 {
        val.1.weight()
    }
}

/// Pages of the aligned window a miss reads while the cache has room (see
/// [`Pager::load_node`]): 256 KiB.
const READ_AROUND_PAGES: u64 = 64;

/// Largest read buffer a thread keeps between node reads ([`Pager::read_node`]):
/// node runs are one page, two for a key near 4 KiB.
const READ_BUF_KEEP_BYTES: usize = 4 * PAGE_BYTES;

thread_local! {
    /// The buffer [`Pager::read_node`] reads runs into.
    static READ_BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Reads and writes runs of the store file.
pub struct Pager {
    file: Arc<dyn File>,
    path: PathBuf,
    cache: Cache<u64, (RunRef, Arc<NodeView>), RunWeight>,
    dirty: RwLock<DirtyRuns>,
    /// How many runs `dirty` holds, stored after every change under its
    /// write lock: a read finds no dirty run without taking the lock when
    /// it is zero (after every durable commit, and on a store that is only
    /// read).
    dirty_runs: AtomicUsize,
    hits: AtomicU64,
    misses: AtomicU64,
    /// The root the last read started from (see [`Pager::load_root`]).
    root: RwLock<Option<(RunRef, Arc<NodeView>)>>,
}

impl std::fmt::Debug for Pager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pager")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn read_error(path: &Path, run: RunRef, e: io::Error) -> Error {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        Error::corruption(
            path,
            run.offset(),
            CorruptionKind::MissingFile(format!(
                "run of {} pages at page {} lies past the end of the file",
                run.pages, run.page
            )),
        )
    } else {
        Error::Io(e)
    }
}

impl Pager {
    /// A pager over `file` (named `path` in errors) with a node cache of
    /// `cache_bytes`.
    pub fn new(file: Arc<dyn File>, path: PathBuf, cache_bytes: u64) -> Self {
        let items = (cache_bytes / PAGE_BYTES as u64).clamp(16, 1 << 22) as usize;
        Self {
            file,
            path,
            cache: Cache::with_weighter(items, cache_bytes.max(PAGE_BYTES as u64), RunWeight),
            dirty: RwLock::new(DirtyRuns::default()),
            dirty_runs: AtomicUsize::new(0),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            root: RwLock::new(None),
        }
    }

    /// The store file.
    pub fn file(&self) -> &Arc<dyn File> {
        &self.file
    }

    /// The store file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Cache hits and misses since open.
    pub fn cache_counts(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }

    /// Counts `hits` cache hits that did not go through the cache (a read
    /// that followed remembered children counts them once, at its end).
    pub fn count_hits(&self, hits: u64) {
        if hits > 0 {
            self.hits.fetch_add(hits, Ordering::Relaxed);
        }
    }

    fn dirty_run(&self, run: RunRef) -> Option<DirtyRun> {
        // A tree a reader follows was published (`publish`, then the
        // writer's swap of the newest tree) before the reader took it, so
        // a count of zero here means none of its runs is dirty: they were
        // settled into the cache and written first.
        if self.dirty_runs.load(Ordering::Acquire) == 0 {
            return None;
        }
        let dirty = self.dirty.read().unwrap_or_else(PoisonError::into_inner);
        dirty.runs.get(&run.page).filter(|d| d.run == run).cloned()
    }

    /// Reads and verifies the run `run` from the file (no cache).
    ///
    /// # Errors
    /// I/O failures; `Corruption` for a run that fails verification or lies
    /// past the end of the file.
    pub fn read_run(&self, run: RunRef) -> Result<Vec<u8>> {
        let mut buf = vec![0; run.bytes()];
        self.file
            .read_exact_at(&mut buf, run.offset())
            .map_err(|e| read_error(&self.path, run, e))?;
        Ok(buf)
    }

    /// Reads, verifies and parses the node run `run` from the file (no
    /// cache), through a buffer the thread reuses: the view copies the body
    /// into its own buffer anyway, so a miss allocates no read buffer.
    ///
    /// # Errors
    /// As [`Pager::read_run`], and `Corruption` for a malformed node body.
    fn read_node(&self, run: RunRef) -> Result<NodeView> {
        READ_BUF.with_borrow_mut(|buf| {
            buf.resize(run.bytes(), 0);
            let read = self
                .file
                .read_exact_at(buf, run.offset())
                .map_err(|e| read_error(&self.path, run, e))
                .and_then(|()| self.decode_node(run, buf));
            if buf.capacity() > READ_BUF_KEEP_BYTES {
                *buf = Vec::new();
            }
            read
        })
    }

    /// Parses a verified node run.
    fn decode_node(&self, run: RunRef, buf: &[u8]) -> Result<NodeView> {
        let (kind, body) = open_run(buf, run, &self.path)?;
        NodeView::parse_slice(kind, &body).map_err(|what| {
            Error::corruption(&self.path, run.offset(), CorruptionKind::Invariant(what))
        })
    }

    /// The node at `run`: from the dirty runs, the cache, or the file.
    ///
    /// # Errors
    /// As [`Pager::read_run`], and `Corruption` for a malformed node body.
    pub fn load_node(&self, run: RunRef) -> Result<Arc<NodeView>> {
        if let Some(node) = self.dirty_run(run).and_then(|d| d.node) {
            return Ok(node);
        }
        if let Some((cached, node)) = self.cache.get(&run.page) {
            if cached == run {
                self.hits.fetch_add(1, Ordering::Relaxed);
                return Ok(node);
            }
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        if let Some(node) = self.read_around(run) {
            self.cache.insert(run.page, (run, Arc::clone(&node)));
            return Ok(node);
        }
        let node = Arc::new(self.read_node(run)?);
        self.cache.insert(run.page, (run, Arc::clone(&node)));
        Ok(node)
    }

    /// The node at `run` for a write transaction that copies it (and so
    /// frees `run`): as [`Pager::load_node`], but a miss is not cached and
    /// reads no window around it, and a hit leaves the cache. The copied
    /// version is replaced by the commit, so keeping it cached would only
    /// evict nodes that are still in the tree (in a batched random fill
    /// about as many dead copies as live nodes went through the cache
    /// between two durable commits); a reader of an older snapshot that
    /// still wants it reads it from the file, which keeps it until no
    /// reader can reach it (section 5 of `docs/btree.md`).
    ///
    /// # Errors
    /// As [`Pager::load_node`].
    pub fn load_node_to_copy(&self, run: RunRef) -> Result<Arc<NodeView>> {
        if let Some(node) = self.dirty_run(run).and_then(|d| d.node) {
            return Ok(node);
        }
        if let Some((_, (_, node))) = self
            .cache
            .remove_if(&run.page, |(cached, _)| *cached == run)
        {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(node);
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        Ok(Arc::new(self.read_node(run)?))
    }

    /// The root node at `run`, as [`Pager::load_node`], kept beside the
    /// cache: every read starts at the newest root, so it is looked up
    /// under one lock instead of hashed into the cache. A reference names
    /// one content (runs are immutable and every lookup compares page and
    /// transaction), so the kept root is the node at `run` whenever the
    /// references match; it is replaced by the next read of another root
    /// (the slot holds one view the cache does not weigh).
    ///
    /// # Errors
    /// As [`Pager::load_node`].
    pub fn load_root(&self, run: RunRef) -> Result<Arc<NodeView>> {
        if let Some((kept, view)) = &*self.root.read().unwrap_or_else(PoisonError::into_inner) {
            if *kept == run {
                self.hits.fetch_add(1, Ordering::Relaxed);
                return Ok(Arc::clone(view));
            }
        }
        let view = self.load_node(run)?;
        *self.root.write().unwrap_or_else(PoisonError::into_inner) = Some((run, Arc::clone(&view)));
        Ok(view)
    }

    /// Child `i` of the branch view `parent`, whose reference is `run`
    /// ([`NodeView::child`]): the view `parent` remembers when it is still
    /// in memory (a hit without a cache lookup, its lines prefetched: see
    /// [`NodeView::prefetch_child`]), else [`Pager::load_node`], which
    /// `parent` then remembers.
    ///
    /// # Errors
    /// As [`Pager::load_node`].
    pub fn load_child(&self, parent: &NodeView, i: usize, run: RunRef) -> Result<Arc<NodeView>> {
        if let Some(view) = parent.prefetch_child(i) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(view);
        }
        let view = self.load_node(run)?;
        parent.remember_child(i, &view);
        Ok(view)
    }

    /// Read-around, for a miss of the one-page run `run` while the cache
    /// has room for more than the window: reads the aligned window of
    /// [`READ_AROUND_PAGES`] pages that holds it in one read, and caches
    /// every other page of the window that is a valid one-page node
    /// (checksum, page number, kind) under the transaction its own header
    /// names. Every lookup compares the whole reference (page *and*
    /// transaction), so a stale or free page cached this way is never
    /// used: it only takes room, and only room the cache has spare, so
    /// read-around never evicts. A cache that holds the whole tree then
    /// warms with one read per window instead of one per page; a cache
    /// smaller than the tree stops reading around once full.
    ///
    /// Returns `run`'s node, or `None` (nothing cached for `run`) when the
    /// window is not taken, cannot be read, or `run` fails to verify in it:
    /// the caller then reads `run` alone and reports what it finds.
    fn read_around(&self, run: RunRef) -> Option<Arc<NodeView>> {
        let window = READ_AROUND_PAGES * PAGE_BYTES as u64;
        let room = self.cache.capacity().saturating_sub(self.cache.weight());
        if run.pages != 1 || room < 2 * window {
            return None;
        }
        let start = run.page - run.page % READ_AROUND_PAGES;
        let mut buf = vec![0; window as usize];
        let mut filled = 0;
        while filled < buf.len() {
            let at = start * PAGE_BYTES as u64 + filled as u64;
            match self.file.read_at(buf.get_mut(filled..)?, at) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(_) => return None,
            }
        }
        let mut wanted = None;
        for (page, bytes) in (start..).zip(buf.get(..filled)?.chunks_exact(PAGE_BYTES)) {
            if page == run.page {
                wanted = Some(Arc::new(self.decode_node(run, bytes).ok()?));
                continue;
            }
            if self.cache.contains_key(&page) {
                continue;
            }
            let Ok((header, _)) = open_page(bytes, page, &self.path) else {
                continue;
            };
            if header.pages != 1 || !matches!(header.kind, Kind::Leaf | Kind::Branch) {
                continue;
            }
            let found = RunRef {
                page,
                txn: header.txn,
                pages: 1,
            };
            if let Ok(node) = self.decode_node(found, bytes) {
                self.cache.insert(page, (found, Arc::new(node)));
            }
        }
        wanted
    }

    /// The node at `run` read from the file even if cached (what `check()`
    /// verifies); dirty runs come from memory since they are not on disk.
    ///
    /// # Errors
    /// As [`Pager::load_node`].
    pub fn load_node_from_disk(&self, run: RunRef) -> Result<Arc<Node>> {
        if let Some(node) = self.dirty_run(run).and_then(|d| d.node) {
            return Ok(Arc::new(node.to_node()));
        }
        let buf = self.read_run(run)?;
        Ok(Arc::new(self.decode_node(run, &buf)?.to_node()))
    }

    /// The value of `len` bytes in the overflow run `run`: one read.
    ///
    /// # Errors
    /// As [`Pager::read_run`]; `Corruption` if the run is not an overflow
    /// run of exactly `len` bytes.
    pub fn read_value(&self, run: RunRef, len: u32) -> Result<Vec<u8>> {
        let bad = |what: String| {
            Error::corruption(&self.path, run.offset(), CorruptionKind::Mismatch(what))
        };
        if let Some(value) = self.dirty_run(run).and_then(|d| d.value) {
            return Ok(value.to_vec());
        }
        let buf = self.read_run(run)?;
        let (kind, body) = open_run(&buf, run, &self.path)?;
        if kind != Kind::Overflow || body.len() != len as usize {
            return Err(bad(format!(
                "expected an overflow run of {len} bytes, found a {kind:?} run of {} bytes",
                body.len()
            )));
        }
        Ok(body.into_owned())
    }

    /// Makes committed runs visible to readers before they are written.
    pub fn publish(&self, runs: Vec<DirtyRun>) {
        let mut dirty = self.dirty.write().unwrap_or_else(PoisonError::into_inner);
        for run in runs {
            dirty.remove(run.run.page);
            dirty.bytes += run.run.bytes();
            dirty.runs.insert(run.run.page, run);
        }
        self.dirty_runs.store(dirty.runs.len(), Ordering::Release);
    }

    /// Bytes the dirty runs take on disk (kept as a running total: the
    /// writer asks after every commit).
    pub fn dirty_bytes(&self) -> usize {
        self.dirty
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .bytes
    }

    /// Writes every dirty run and `extra` (the free list, a clean close's
    /// sealed free pages) to the file, in page order, one positioned write
    /// per run. Does not sync. Returns `(run, crc32 of its bytes)` in page
    /// order for the runs the commit's written digest covers
    /// ([`crate::written`]): every dirty run but those in `unreachable`
    /// (freed by a commit since the last durable one and still held by a
    /// reader: written, since a reader may read them after [`Pager::settle`],
    /// but no longer reachable from the tree), and each `extra` marked as
    /// covered.
    ///
    /// Runs are not coalesced into larger writes: a write of many pages
    /// makes the kernel cache them in large folios (ext4 on Linux 6.x), and
    /// a later one-page write into such a folio marks all of it dirty. The
    /// device still receives only the dirty blocks, but the dirty-page
    /// accounting (`/proc/self/io` `write_bytes`, writeback work per folio)
    /// then charges every rewritten node for the whole folio: three times
    /// the bytes written in batched random fills (`docs/btree.md`, section
    /// 7). A node run is one page (two for a key near 4 KiB), so its pages
    /// stay in folios of their own; an overflow run is one write.
    ///
    /// # Errors
    /// I/O failures.
    pub fn write_dirty(
        &self,
        extra: &[ExtraRun],
        unreachable: &HashSet<RunRef>,
    ) -> Result<Vec<(RunRef, u32)>> {
        let dirty = self.dirty.read().unwrap_or_else(PoisonError::into_inner);
        let mut runs: Vec<(RunRef, Option<&DirtyRun>, &[u8], bool)> = dirty
            .runs
            .values()
            .map(|d| (d.run, Some(d), &[][..], !unreachable.contains(&d.run)))
            .chain(
                extra
                    .iter()
                    .map(|e| (e.run, None, e.sealed.as_slice(), e.covered)),
            )
            .collect();
        runs.sort_unstable_by_key(|r| r.0.page);
        let mut buf: Vec<u8> = Vec::with_capacity(PAGE_BYTES);
        let mut crcs = Vec::with_capacity(runs.len());
        for (run, dirty_run, sealed, covered) in runs {
            let bytes = match dirty_run {
                Some(d) => {
                    buf.clear();
                    d.seal_into(&mut buf);
                    &buf[..]
                }
                None => sealed,
            };
            if covered {
                crcs.push((run, crate::written::sealed_run_crc(bytes)));
            }
            self.file.write_at(bytes, run.page * PAGE_BYTES as u64)?;
        }
        Ok(crcs)
    }

    /// Forgets the unwritten bytes of runs that were freed before any
    /// durable commit reached them (their pages are about to be reused).
    pub fn forget(&self, runs: &[RunRef]) {
        if runs.is_empty() {
            return;
        }
        let mut dirty = self.dirty.write().unwrap_or_else(PoisonError::into_inner);
        for run in runs {
            if dirty.runs.get(&run.page).is_some_and(|d| d.run == *run) {
                dirty.remove(run.page);
            }
        }
        self.dirty_runs.store(dirty.runs.len(), Ordering::Release);
    }

    /// After a durable commit: moves the written nodes into the cache and
    /// forgets the dirty runs.
    pub fn settle(&self) {
        let mut dirty = self.dirty.write().unwrap_or_else(PoisonError::into_inner);
        dirty.bytes = 0;
        for (page, d) in dirty.runs.drain() {
            match d.node {
                Some(node) => self.cache.insert(page, (d.run, node)),
                None => {
                    self.cache.remove(&page);
                }
            }
        }
        self.dirty_runs.store(0, Ordering::Release);
    }

    /// Forgets every cached node (after vacuum moved pages).
    pub fn clear_cache(&self) {
        self.cache.clear();
        *self.root.write().unwrap_or_else(PoisonError::into_inner) = None;
    }
}
