//! [`NodeView`]: a committed node as the read path uses it: its verified
//! body bytes plus tables that find every key, value and child, built in
//! one pass when the run is read.
//!
//! A [`Node`] owns a `Vec` per key and per value (about 70 allocations
//! for a leaf of 16-byte keys and 100-byte values); a view is one
//! allocation holding its search tables and then its body ([`layout`]:
//! 8 bytes of key prefix and 4 bytes of offset an entry), so a cache miss
//! costs one pass over the body instead of a heap allocation per entry,
//! and a hit searches in place: a linear pass over the few lines of
//! prefixes, then the one key and value the match points at. The page
//! cache and the dirty runs hold views; a write transaction turns the
//! nodes it edits into [`Node`]s with [`NodeView::to_node`].
//!
//! The parse is the decoders' validation ([`super::leaf::decode`] and
//! [`super::branch::decode`] are built on it), so a view exists only for a
//! body that decodes, and every accessor is in bounds.

mod layout;
mod pool;

use std::sync::{Arc, OnceLock, Weak};

use kv_core::codec::LeReader;

use super::{Bytes, Child, Entry, Node, Value};
use crate::page::{Kind, RunRef};

/// Bytes of a child reference in a branch body (page u64, txn u64, pages
/// u32).
const REF_BYTES: usize = 20;

/// A range of a node body: `off..off + len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// First byte.
    pub off: u32,
    /// Length in bytes.
    pub len: u32,
}

impl Span {
    /// A span of `len` bytes at `off` (both within a run body, so they fit
    /// in `u32`: a run is at most [`crate::page::MAX_RUN_PAGES`] pages).
    pub fn new(off: usize, len: usize) -> Self {
        Self {
            off: off as u32,
            len: len as u32,
        }
    }

    fn of(self, body: &[u8]) -> &[u8] {
        let from = self.off as usize;
        body.get(from..from + self.len as usize).unwrap_or_default()
    }

    /// This span moved from `from` to `to` (what a range of a body copied
    /// from offset `from` to offset `to` of another body holds).
    fn moved(self, from: usize, to: usize) -> Self {
        Self {
            off: (self.off as usize + to - from) as u32,
            len: self.len,
        }
    }
}

/// Where a key (or separator) is, with its first eight bytes as a
/// big-endian number (zero-padded): two keys whose prefixes differ are
/// ordered as their prefixes, so most comparisons of a search are one
/// integer comparison instead of a `memcmp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySpan {
    /// Where the key is.
    pub span: Span,
    /// [`key_prefix`] of the key.
    pub prefix: u64,
}

/// The first eight bytes of `key` as a big-endian number, zero-padded.
/// For keys `a`, `b`: `key_prefix(a) < key_prefix(b)` implies `a < b`
/// (the first byte where the padded prefixes differ is either a byte where
/// the keys differ, or a byte past the end of the shorter key, which is
/// then a prefix of the longer one).
///
/// Computed without a call to `memcpy` (a variable-length copy into a
/// buffer is a library call, and write transactions and the codecs take a
/// key's prefix at every comparison of a branch search and for every key
/// they encode: 5% of a batched fill's samples in session 8's profile).
#[inline]
pub fn key_prefix(key: &[u8]) -> u64 {
    if let Some(head) = key.first_chunk::<8>() {
        return u64::from_be_bytes(*head);
    }
    let mut v = 0u64;
    for (i, &b) in key.iter().enumerate() {
        v |= u64::from(b) << (56 - 8 * i);
    }
    v
}

impl KeySpan {
    /// The key `key` found at `off` of a body.
    #[inline]
    pub fn new(off: usize, key: &[u8]) -> Self {
        Self {
            span: Span::new(off, key.len()),
            prefix: key_prefix(key),
        }
    }
}

/// Where a leaf entry's value is.
///
/// An overflow reference is kept as where its 24 encoded bytes are in the
/// body (checked when the body was parsed), not decoded: a slot is then 32
/// bytes instead of 48. Slots are what the parse and the encoders hand
/// over to a view (and what a patch copies); the view keeps only its
/// 12-byte table entries ([`layout`]) and decodes a slot when asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotValue {
    /// In the body.
    Inline(Span),
    /// In an overflow run whose reference (page u64, txn u64, pages u32,
    /// value length u32, little endian) starts at this body offset.
    Overflow(u32),
}

/// The overflow reference encoded at `at` of `body` (see [`SlotValue`]).
fn overflow_ref(body: &[u8], at: u32) -> (RunRef, u32) {
    let mut r = kv_core::codec::LeReader::new(body.get(at as usize..).unwrap_or_default());
    let page = r.u64().unwrap_or_default();
    let txn = r.u64().unwrap_or_default();
    let pages = r.u32().unwrap_or_default();
    let len = r.u32().unwrap_or_default();
    (RunRef { page, txn, pages }, len)
}

/// One leaf entry: where its key and value are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeafSlot {
    /// The key.
    pub key: KeySpan,
    /// The value.
    pub value: SlotValue,
}

impl LeafSlot {
    /// This slot in a body that holds its entry's bytes copied from offset
    /// `from` (of the body it describes, at or before the entry) to `to`.
    pub(crate) fn moved(self, from: usize, to: usize) -> Self {
        Self {
            key: KeySpan {
                span: self.key.span.moved(from, to),
                prefix: self.key.prefix,
            },
            value: match self.value {
                SlotValue::Inline(span) => SlotValue::Inline(span.moved(from, to)),
                SlotValue::Overflow(at) => SlotValue::Overflow((at as usize + to - from) as u32),
            },
        }
    }
}

/// A leaf entry's value, borrowed from its view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueRef<'a> {
    /// Stored in the leaf.
    Inline(&'a [u8]),
    /// Stored in an overflow run of `len` bytes.
    Overflow {
        /// The run.
        run: RunRef,
        /// Value length in bytes.
        len: u32,
    },
}

/// What a branch view remembers of a child's view once a read loaded it:
/// a read that descends through a cached branch then follows a pointer to
/// the child (as LMDB follows one into its map) instead of looking it up
/// in the page cache.
///
/// The reference is weak, so a remembered child still leaves the cache
/// when it is evicted (the cache alone decides what stays in memory); a
/// dead reference sends the read back to the cache. Views are immutable
/// and a branch's child references never change, so a remembered view is
/// always the exact run its reference names.
///
/// `hint` is where the child's tables are in memory, kept as a plain
/// number: the address rounded down to 16 bytes, with how many cache
/// lines to ask for in the low four bits. It is only ever handed to
/// [`prefetch`], which reads nothing, so the child's lines are on their
/// way while the weak reference is upgraded (a locked write to the
/// child's count that no later load can pass). It may name freed memory
/// once the child is gone; it is never dereferenced. A slot is 24 bytes.
struct Remembered {
    view: Weak<NodeView>,
    hint: usize,
}

/// Most cache lines of a child's tables [`NodeView::prefetch_child`]
/// asks for (what fits in a hint's low bits: a leaf's whole table up to
/// 80 entries, a branch's first part).
const PREFETCH_MAX_LINES: usize = 15;

/// The prefetch hint of `view` (see [`Remembered`]).
fn prefetch_hint(view: &NodeView) -> usize {
    let lines = (view.body_at as usize)
        .div_ceil(64)
        .clamp(1, PREFETCH_MAX_LINES);
    (view.data.as_ptr() as usize & !15) | lines
}

/// A branch's remembered children, one slot per child, each set once.
/// The slots are allocated by the first child remembered: a branch a
/// commit encodes that no read descends through (most of those a batched
/// fill writes) never allocates them. Slots are not part of a view's
/// value: clones start empty and comparisons ignore them.
struct ChildViews {
    children: usize,
    slots: OnceLock<Box<[OnceLock<Remembered>]>>,
}

impl ChildViews {
    fn new(children: usize) -> Self {
        Self {
            children,
            slots: OnceLock::new(),
        }
    }

    /// Slot `i`, if the slots were allocated.
    fn get(&self, i: usize) -> Option<&OnceLock<Remembered>> {
        self.slots.get()?.get(i)
    }

    /// Slot `i`, allocating the slots first if needed (`None` past the
    /// last child).
    fn get_or_alloc(&self, i: usize) -> Option<&OnceLock<Remembered>> {
        if i >= self.children {
            return None;
        }
        let slots = self
            .slots
            .get_or_init(|| (0..self.children).map(|_| OnceLock::new()).collect());
        slots.get(i)
    }
}

impl Clone for ChildViews {
    fn clone(&self) -> Self {
        Self::new(self.children)
    }
}

impl PartialEq for ChildViews {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for ChildViews {}

impl std::fmt::Debug for ChildViews {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ChildViews({})", self.children)
    }
}

/// Asks the CPU to bring the cache lines of `bytes` bytes from `addr` into
/// its caches, without reading them.
#[inline]
fn prefetch(addr: usize, bytes: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        for line in (0..bytes).step_by(64) {
            // SAFETY: PREFETCHT0 is a hint, not an access: it never
            // faults, reads nothing into the program and is dropped for
            // an address that is not mapped, so any address value is
            // sound (`addr` may name memory freed since; nothing is
            // dereferenced). SSE is part of the x86_64 baseline.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(addr.wrapping_add(line) as *const i8) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (addr, bytes);
}

/// A committed node: its search tables and body in one allocation (see
/// the module docs and [`layout`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeView {
    /// The tables, then the body ([`layout`]).
    data: Bytes,
    /// Entries (leaf) or children (branch).
    count: u32,
    /// Where the body starts in `data`.
    body_at: u32,
    /// Branch: the children's remembered views; `None` for a leaf.
    views: Option<ChildViews>,
}

impl NodeView {
    /// A leaf view of `body`, whose entries `slots` describes.
    fn leaf(body: &[u8], slots: &[LeafSlot]) -> Self {
        Self::leaf_of(layout::build_leaf(body, slots), slots.len())
    }

    /// The leaf view of `count` entries whose allocation ([`layout`]) is
    /// `data`.
    fn leaf_of(data: Vec<u8>, count: usize) -> Self {
        Self {
            data: pool::into_bytes(data),
            count: count as u32,
            body_at: layout::table_bytes(count, count) as u32,
            views: None,
        }
    }

    /// A branch view of `body`, whose separators `seps` describes.
    fn branch(body: &[u8], seps: &[KeySpan]) -> Self {
        Self::branch_of(layout::build_branch(body, seps), seps.len() + 1)
    }

    /// The branch view of `children` children whose allocation
    /// ([`layout`]) is `data`.
    fn branch_of(data: Vec<u8>, children: usize) -> Self {
        let seps = children.saturating_sub(1);
        Self {
            data: pool::into_bytes(data),
            count: children as u32,
            body_at: layout::table_bytes(seps, children) as u32,
            views: Some(ChildViews::new(children)),
        }
    }

    /// Parses a node body of `kind`; `Err(what)` for a malformed body or a
    /// kind that is not a node (the decoders' messages).
    pub fn parse(kind: Kind, body: Vec<u8>) -> Result<Self, String> {
        Self::parse_slice(kind, &body)
    }

    /// As [`NodeView::parse`], from borrowed bytes (the view copies them
    /// into its allocation once, after its tables).
    pub fn parse_slice(kind: Kind, body: &[u8]) -> Result<Self, String> {
        match kind {
            Kind::Leaf => Ok(Self::leaf(body, &super::leaf::parse(body)?)),
            Kind::Branch => Ok(Self::branch(body, &super::branch::parse(body)?.0)),
            other => Err(format!("a {other:?} run where a node was expected")),
        }
    }

    /// The view of `node` encoded: its body and tables built from one
    /// encoding pass, equal to what [`NodeView::parse`] finds in the
    /// encoded body (what a commit makes of every node it writes; every
    /// reference of `node` must be resolved, as for
    /// [`super::encode_body`]).
    pub fn encode(node: &Node) -> Self {
        let (data, count) = match node {
            Node::Leaf(entries) => {
                layout::encode_leaf(entries.len(), node.body_bytes(), |out, slots| {
                    super::leaf::encode_into(entries, out, Some(slots));
                })
            }
            Node::Patched(patch) => {
                layout::encode_leaf(patch.len(), patch.body_bytes(), |out, slots| {
                    patch.encode_into(out, slots);
                })
            }
            Node::Branch { keys, children } => {
                return Self::branch_of(layout::encode_branch(keys, children), children.len());
            }
        };
        Self::leaf_of(data, count)
    }

    /// A leaf with no entries (what a salvaging cursor reads in place of
    /// a damaged node).
    pub fn empty_leaf() -> Self {
        Self::leaf(&[0], &[])
    }

    /// The node's encoded body (what its run holds).
    pub fn body(&self) -> &[u8] {
        self.data.get(self.body_at as usize..).unwrap_or_default()
    }

    /// True for a leaf.
    pub fn is_leaf(&self) -> bool {
        self.views.is_none()
    }

    /// The run kind of this node.
    pub fn kind(&self) -> Kind {
        if self.is_leaf() {
            Kind::Leaf
        } else {
            Kind::Branch
        }
    }

    /// Entries (leaf) or children (branch).
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// True for a node with no entries or children.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Prefixes in the table: one per key (leaf) or separator (branch).
    fn prefixes(&self) -> usize {
        if self.is_leaf() {
            self.len()
        } else {
            self.len().saturating_sub(1)
        }
    }

    /// Bytes this view holds in memory (what the page cache weighs): the
    /// allocation of tables and body (the capacity of its [`pool`] class),
    /// the view itself and its reference counts, and a branch's
    /// remembered-child slots.
    pub fn weight(&self) -> u64 {
        let counts = 2 * std::mem::size_of::<usize>();
        let views = self.views.as_ref().map_or(0, |v| {
            v.children * std::mem::size_of::<OnceLock<Remembered>>()
        });
        let data = pool::capacity_for(self.data.len());
        (data + std::mem::size_of::<Self>() + counts + views) as u64
    }

    /// Where body offset `off` of this view's (validated) entry `i`
    /// starts: a reader over the body from there.
    fn reader_at(&self, off: usize) -> LeReader<'_> {
        LeReader::new(self.body().get(off..).unwrap_or_default())
    }

    /// Leaf: the key of entry `i` (empty past the end or on a branch).
    pub fn key(&self, i: usize) -> &[u8] {
        if !self.is_leaf() || i >= self.len() {
            return &[];
        }
        let mut r = self.reader_at(layout::offset(&self.data, self.len(), i));
        let len = r.varint().unwrap_or_default() as usize;
        r.bytes(len).unwrap_or_default()
    }

    /// Leaf: slot `i` decoded from the body (where its key and value are).
    fn slot(&self, i: usize) -> Option<LeafSlot> {
        if !self.is_leaf() || i >= self.len() {
            return None;
        }
        let start = layout::offset(&self.data, self.len(), i);
        let mut r = self.reader_at(start);
        let key_len = r.varint()? as usize;
        let key = KeySpan::new(start + r.position(), r.bytes(key_len)?);
        let value = match r.u8()? {
            0 => {
                let len = r.varint()? as usize;
                SlotValue::Inline(Span::new(start + r.position(), len))
            }
            _ => SlotValue::Overflow((start + r.position()) as u32),
        };
        Some(LeafSlot { key, value })
    }

    /// Leaf: the value of entry `i`.
    pub fn value(&self, i: usize) -> Option<ValueRef<'_>> {
        self.slot(i).map(|s| self.slot_value(s.value))
    }

    /// Leaf: the key and value of entry `i` (one decode of its slot, for
    /// a scan that wants both).
    pub fn key_value(&self, i: usize) -> Option<(&[u8], ValueRef<'_>)> {
        self.slot(i)
            .map(|s| (s.key.span.of(self.body()), self.slot_value(s.value)))
    }

    /// The value a slot describes, borrowed from the body.
    fn slot_value(&self, value: SlotValue) -> ValueRef<'_> {
        match value {
            SlotValue::Inline(span) => ValueRef::Inline(span.of(self.body())),
            SlotValue::Overflow(at) => {
                let (run, len) = overflow_ref(self.body(), at);
                ValueRef::Overflow { run, len }
            }
        }
    }

    /// The first of `0..n` for which `below` is false, for a `below` true
    /// on a prefix of them (a binary search).
    fn first_not(n: usize, below: impl Fn(usize) -> bool) -> usize {
        let (mut lo, mut hi) = (0, n);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if below(mid) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// Leaf: the number of entries whose key satisfies `pred`, for a `pred`
    /// true on a prefix of the (ascending) entries.
    pub fn partition_point(&self, pred: impl Fn(&[u8]) -> bool) -> usize {
        if !self.is_leaf() {
            return 0;
        }
        Self::first_not(self.len(), |i| pred(self.key(i)))
    }

    /// The number of table keys (leaf keys or branch separators) below
    /// `key` (`or_equal`: at or below it), found by prefix: one linear pass
    /// over the prefixes (see [`layout`]), then whole keys compared only
    /// among those whose prefix equals `key`'s: the one at the match when
    /// keys differ in their first eight bytes, a binary search of the run
    /// when many share them (keys such as `user:000001`).
    fn count_below<'a>(
        &'a self,
        key: &[u8],
        or_equal: bool,
        at: impl Fn(usize) -> &'a [u8],
    ) -> usize {
        let prefix = key_prefix(key);
        let n = self.prefixes();
        let from = layout::prefixes_below(&self.data, n, prefix);
        let ties = |i: usize| i < n && layout::prefix(&self.data, i) == prefix;
        if !ties(from) {
            return from;
        }
        let to = if !ties(from + 1) {
            from + 1
        } else {
            prefix
                .checked_add(1)
                .map_or(n, |next| layout::prefixes_below(&self.data, n, next))
        };
        from + Self::first_not(to - from, |m| match at(from + m).cmp(key) {
            std::cmp::Ordering::Less => true,
            std::cmp::Ordering::Equal => or_equal,
            std::cmp::Ordering::Greater => false,
        })
    }

    /// Leaf: the number of entries whose key is below `key` (`or_equal`:
    /// at or below it); 0 on a branch.
    pub fn keys_below(&self, key: &[u8], or_equal: bool) -> usize {
        if !self.is_leaf() {
            return 0;
        }
        self.count_below(key, or_equal, |i| self.key(i))
    }

    /// Leaf: the entry holding `key`, or `None`.
    pub fn find(&self, key: &[u8]) -> Option<usize> {
        let (i, found) = self.lower_bound(key);
        found.then_some(i)
    }

    /// Branch: where separator `i` is in the body (after child `i`'s
    /// reference and its own length); `None` past the end or on a leaf.
    fn sep_span(&self, i: usize) -> Option<Span> {
        if self.is_leaf() || i >= self.prefixes() {
            return None;
        }
        let at = layout::offset(&self.data, self.prefixes(), i) + REF_BYTES;
        let mut r = self.reader_at(at);
        let len = r.varint()? as usize;
        Some(Span::new(at + r.position(), len))
    }

    /// Branch: separator `i` (empty past the end or on a leaf).
    fn sep(&self, i: usize) -> &[u8] {
        self.sep_span(i).map_or(&[][..], |s| s.of(self.body()))
    }

    /// Branch: the number of separators that satisfy `pred`, for a `pred`
    /// true on a prefix of the (ascending) separators.
    pub fn sep_partition_point(&self, pred: impl Fn(&[u8]) -> bool) -> usize {
        if self.is_leaf() {
            return 0;
        }
        Self::first_not(self.prefixes(), |i| pred(self.sep(i)))
    }

    /// Branch: the number of separators below `key` (`or_equal`: at or
    /// below it); 0 on a leaf.
    pub fn seps_below(&self, key: &[u8], or_equal: bool) -> usize {
        if self.is_leaf() {
            return 0;
        }
        self.count_below(key, or_equal, |i| self.sep(i))
    }

    /// Branch: the child that holds `key` (child `i` holds the keys `k`
    /// with `sep[i-1] <= k < sep[i]`).
    pub fn child_index(&self, key: &[u8]) -> usize {
        self.seps_below(key, true)
    }

    /// Branch: child `i`.
    pub fn child(&self, i: usize) -> Option<RunRef> {
        if self.is_leaf() || i >= self.len() {
            return None;
        }
        let mut r = self.reader_at(layout::offset(&self.data, self.prefixes(), i));
        Some(RunRef {
            page: r.u64()?,
            txn: r.u64()?,
            pages: r.u32()?,
        })
    }

    /// Branch: the view of child `i` if a read remembered it and it is
    /// still in memory (see [`Remembered`]).
    pub fn child_view(&self, i: usize) -> Option<Arc<NodeView>> {
        self.views.as_ref()?.get(i)?.get()?.view.upgrade()
    }

    /// Branch: as [`NodeView::child_view`], after asking the CPU for the
    /// child's first lines and tables (see [`Remembered`]): the misses of
    /// a child not touched lately then overlap instead of following one
    /// another.
    pub fn prefetch_child(&self, i: usize) -> Option<Arc<NodeView>> {
        let remembered = self.views.as_ref()?.get(i)?.get()?;
        prefetch(remembered.view.as_ptr() as usize, 64);
        let lines = remembered.hint & 15;
        prefetch(remembered.hint & !15, lines * 64);
        remembered.view.upgrade()
    }

    /// Branch: remembers `view` as the view of child `i` (the caller
    /// loaded it through the reference [`NodeView::child`] returned).
    /// A slot is set once; a later call for it changes nothing.
    pub fn remember_child(&self, i: usize, view: &Arc<NodeView>) {
        if let Some(slot) = self.views.as_ref().and_then(|v| v.get_or_alloc(i)) {
            let _ = slot.set(Remembered {
                view: Arc::downgrade(view),
                hint: prefetch_hint(view),
            });
        }
    }

    /// Branch: every child.
    pub fn children(&self) -> impl Iterator<Item = RunRef> + '_ {
        let n = if self.is_leaf() { 0 } else { self.len() };
        (0..n).filter_map(|i| self.child(i))
    }

    /// The part `span` of the body, sharing it (no copy).
    fn share(&self, span: Span) -> Bytes {
        let body = self.body_at as usize;
        let end = self.data.len();
        let from = (body + span.off as usize).min(end);
        let to = (from + span.len as usize).min(end);
        self.data.slice(from..to)
    }

    /// Leaf: the slots of entries `from..to`, decoded from the body.
    pub(crate) fn leaf_slot_range(
        &self,
        from: usize,
        to: usize,
    ) -> impl Iterator<Item = LeafSlot> + '_ {
        (from..to).filter_map(|i| self.slot(i))
    }

    /// Leaf: where entry `i` starts in the body (its key length's varint);
    /// the body's length for `i` past the last entry. Entries are encoded
    /// one after another, so entries `a..b` are the body bytes
    /// `entry_start(a)..entry_start(b)`.
    pub(crate) fn entry_start(&self, i: usize) -> usize {
        if self.is_leaf() && i < self.len() {
            layout::offset(&self.data, self.len(), i)
        } else {
            self.body().len()
        }
    }

    /// Leaf: the number of entries whose key is below `key`, and whether
    /// the next one's key is `key`.
    pub(crate) fn lower_bound(&self, key: &[u8]) -> (usize, bool) {
        let i = self.keys_below(key, false);
        let found = i < self.len() && self.is_leaf() && self.key(i) == key;
        (i, found)
    }

    /// Leaf: entry `i` as a write transaction edits it (sharing the body).
    pub(crate) fn entry(&self, i: usize) -> Option<Entry> {
        self.slot(i).map(|s| self.slot_entry(&s))
    }

    /// The entry a leaf slot describes, sharing this view's body.
    fn slot_entry(&self, s: &LeafSlot) -> Entry {
        Entry {
            key: self.share(s.key.span),
            value: match s.value {
                SlotValue::Inline(span) => Value::Inline(self.share(span)),
                SlotValue::Overflow(at) => {
                    let (run, len) = overflow_ref(self.body(), at);
                    Value::Overflow { run, len }
                }
            },
        }
    }

    /// The node this view describes, as a write transaction edits it: its
    /// keys and inline values share this view's body (no per-entry copy).
    pub fn to_node(&self) -> Node {
        if self.is_leaf() {
            return Node::Leaf((0..self.len()).filter_map(|i| self.entry(i)).collect());
        }
        let seps = (0..self.prefixes()).filter_map(|i| self.sep_span(i));
        Node::Branch {
            keys: seps.map(|s| self.share(s)).collect(),
            children: self.children().map(Child::Disk).collect(),
        }
    }
}

#[cfg(test)]
mod tests;
