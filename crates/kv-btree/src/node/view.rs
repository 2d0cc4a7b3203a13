//! [`NodeView`]: a committed node as the read path uses it: its verified
//! body bytes plus the position of every key, value and child, found in
//! one pass when the run is read.
//!
//! A [`Node`] owns a `Vec` per key and per value (about 70 allocations
//! for a leaf of 16-byte keys and 100-byte values); a view owns two
//! allocations (the body and its slot table), so a cache miss costs one
//! pass over the body instead of a heap allocation per entry, and a hit
//! searches the body in place (binary search over the slot table, keys
//! compared as slices of the body). The page cache and the dirty runs hold
//! views; a write transaction turns the nodes it edits into [`Node`]s
//! with [`NodeView::to_node`].
//!
//! The parse is the decoders' validation ([`super::leaf::decode`] and
//! [`super::branch::decode`] are built on it), so a view exists only for a
//! body that decodes, and every accessor is in bounds.

use std::sync::{Arc, OnceLock, Weak};

use super::{Bytes, Child, Entry, Node, Value};
use crate::page::{Kind, RunRef};

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
pub fn key_prefix(key: &[u8]) -> u64 {
    let mut bytes = [0u8; 8];
    let n = key.len().min(8);
    if let (Some(to), Some(from)) = (bytes.get_mut(..n), key.get(..n)) {
        to.copy_from_slice(from);
    }
    u64::from_be_bytes(bytes)
}

impl KeySpan {
    /// The key `key` found at `off` of a body.
    pub fn new(off: usize, key: &[u8]) -> Self {
        Self {
            span: Span::new(off, key.len()),
            prefix: key_prefix(key),
        }
    }

    /// This key (in `body`) compared with `key`, whose prefix is `prefix`.
    fn cmp_key(&self, body: &[u8], key: &[u8], prefix: u64) -> std::cmp::Ordering {
        match self.prefix.cmp(&prefix) {
            std::cmp::Ordering::Equal => self.span.of(body).cmp(key),
            other => other,
        }
    }
}

/// Where a leaf entry's value is.
///
/// An overflow reference is kept as where its 24 encoded bytes are in the
/// body (checked when the body was parsed), not decoded: a slot is then 32
/// bytes instead of 48, so the page cache, which weighs a view by its body
/// and its slot table, holds about a tenth more leaves in the same bytes.
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

/// Where a branch view remembers the views of its children once a read
/// loaded them: a read that descends through a cached branch then follows
/// a pointer to the child (as LMDB follows one into its map) instead of
/// looking it up in the page cache.
///
/// The references are weak, so a remembered child still leaves the cache
/// when it is evicted (the cache alone decides what stays in memory); a
/// dead reference sends the read back to the cache. Views are immutable
/// and a branch's child references never change, so a remembered view is
/// always the exact run its reference names. Slots are not part of a
/// view's value: clones start empty and comparisons ignore them.
#[derive(Default)]
struct ChildViews(Box<[OnceLock<Weak<NodeView>>]>);

impl ChildViews {
    fn new(children: usize) -> Self {
        Self((0..children).map(|_| OnceLock::new()).collect())
    }
}

impl Clone for ChildViews {
    fn clone(&self) -> Self {
        Self::new(self.0.len())
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
        write!(f, "ChildViews({})", self.0.len())
    }
}

/// A committed node: its body and where its parts are (see the module
/// docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeView {
    body: Bytes,
    shape: ViewShape,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum ViewShape {
    Leaf(Vec<LeafSlot>),
    Branch {
        /// Separator `i` sits between child `i` and child `i + 1`.
        seps: Vec<KeySpan>,
        children: Vec<RunRef>,
        /// The children's views, once loaded (see [`ChildViews`]).
        views: ChildViews,
    },
}

impl NodeView {
    /// Parses a node body of `kind`; `Err(what)` for a malformed body or a
    /// kind that is not a node (the decoders' messages).
    pub fn parse(kind: Kind, body: Vec<u8>) -> Result<Self, String> {
        let shape = match kind {
            Kind::Leaf => ViewShape::Leaf(super::leaf::parse(&body)?),
            Kind::Branch => {
                let (seps, children) = super::branch::parse(&body)?;
                let views = ChildViews::new(children.len());
                ViewShape::Branch {
                    seps,
                    children,
                    views,
                }
            }
            other => return Err(format!("a {other:?} run where a node was expected")),
        };
        Ok(Self {
            body: Bytes::from(body),
            shape,
        })
    }

    /// The view of `node` encoded: its body and slot table built in one
    /// pass, equal to what [`NodeView::parse`] finds in the encoded body
    /// (what a commit makes of every node it writes; every reference of
    /// `node` must be resolved, as for [`super::encode_body`]).
    pub fn encode(node: &Node) -> Self {
        let mut body = Vec::with_capacity(node.body_bytes());
        let shape = match node {
            Node::Leaf(entries) => {
                let mut slots = Vec::with_capacity(entries.len());
                super::leaf::encode_into(entries, &mut body, Some(&mut slots));
                ViewShape::Leaf(slots)
            }
            Node::Patched(patch) => {
                let mut slots = Vec::with_capacity(patch.len());
                patch.encode_into(&mut body, &mut slots);
                ViewShape::Leaf(slots)
            }
            Node::Branch { keys, children } => {
                let mut table = (
                    Vec::with_capacity(keys.len()),
                    Vec::with_capacity(children.len()),
                );
                super::branch::encode_into(keys, children, &mut body, Some(&mut table));
                let (seps, children) = table;
                let views = ChildViews::new(children.len());
                ViewShape::Branch {
                    seps,
                    children,
                    views,
                }
            }
        };
        Self {
            body: Bytes::from(body),
            shape,
        }
    }

    /// A leaf with no entries (what a salvaging cursor reads in place of
    /// a damaged node).
    pub fn empty_leaf() -> Self {
        Self {
            body: Bytes::from_static(&[0]),
            shape: ViewShape::Leaf(Vec::new()),
        }
    }

    /// The node's encoded body (what its run holds).
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// True for a leaf.
    pub fn is_leaf(&self) -> bool {
        matches!(self.shape, ViewShape::Leaf(_))
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
        match &self.shape {
            ViewShape::Leaf(slots) => slots.len(),
            ViewShape::Branch { children, .. } => children.len(),
        }
    }

    /// True for a node with no entries or children.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes this view holds in memory (what the page cache weighs).
    pub fn weight(&self) -> u64 {
        let table = match &self.shape {
            ViewShape::Leaf(slots) => slots.len() * std::mem::size_of::<LeafSlot>(),
            ViewShape::Branch { seps, children, .. } => {
                seps.len() * std::mem::size_of::<KeySpan>()
                    + children.len()
                        * (std::mem::size_of::<RunRef>()
                            + std::mem::size_of::<OnceLock<Weak<NodeView>>>())
            }
        };
        (self.body.len() + table + std::mem::size_of::<Self>()) as u64
    }

    /// Leaf: the key of entry `i` (empty past the end or on a branch).
    pub fn key(&self, i: usize) -> &[u8] {
        match &self.shape {
            ViewShape::Leaf(slots) => slots.get(i).map_or(&[][..], |s| s.key.span.of(&self.body)),
            ViewShape::Branch { .. } => &[],
        }
    }

    /// Leaf: the value of entry `i`.
    pub fn value(&self, i: usize) -> Option<ValueRef<'_>> {
        let ViewShape::Leaf(slots) = &self.shape else {
            return None;
        };
        slots.get(i).map(|s| match s.value {
            SlotValue::Inline(span) => ValueRef::Inline(span.of(&self.body)),
            SlotValue::Overflow(at) => {
                let (run, len) = overflow_ref(&self.body, at);
                ValueRef::Overflow { run, len }
            }
        })
    }

    /// Leaf: the number of entries whose key satisfies `pred`, for a `pred`
    /// true on a prefix of the (ascending) entries.
    pub fn partition_point(&self, pred: impl Fn(&[u8]) -> bool) -> usize {
        match &self.shape {
            ViewShape::Leaf(slots) => slots.partition_point(|s| pred(s.key.span.of(&self.body))),
            ViewShape::Branch { .. } => 0,
        }
    }

    /// Leaf: the entry holding `key`, or `None`.
    pub fn find(&self, key: &[u8]) -> Option<usize> {
        match &self.shape {
            ViewShape::Leaf(slots) => {
                let prefix = key_prefix(key);
                slots
                    .binary_search_by(|s| s.key.cmp_key(&self.body, key, prefix))
                    .ok()
            }
            ViewShape::Branch { .. } => None,
        }
    }

    /// Branch: the number of separators that satisfy `pred`, for a `pred`
    /// true on a prefix of the (ascending) separators.
    pub fn sep_partition_point(&self, pred: impl Fn(&[u8]) -> bool) -> usize {
        match &self.shape {
            ViewShape::Branch { seps, .. } => seps.partition_point(|s| pred(s.span.of(&self.body))),
            ViewShape::Leaf(_) => 0,
        }
    }

    /// Branch: the child that holds `key` (child `i` holds the keys `k`
    /// with `sep[i-1] <= k < sep[i]`).
    pub fn child_index(&self, key: &[u8]) -> usize {
        match &self.shape {
            ViewShape::Branch { seps, .. } => {
                let prefix = key_prefix(key);
                seps.partition_point(|s| s.cmp_key(&self.body, key, prefix).is_le())
            }
            ViewShape::Leaf(_) => 0,
        }
    }

    /// Branch: child `i`.
    pub fn child(&self, i: usize) -> Option<RunRef> {
        match &self.shape {
            ViewShape::Branch { children, .. } => children.get(i).copied(),
            ViewShape::Leaf(_) => None,
        }
    }

    /// Branch: the view of child `i` if a read remembered it and it is
    /// still in memory (see [`ChildViews`]).
    pub fn child_view(&self, i: usize) -> Option<Arc<NodeView>> {
        match &self.shape {
            ViewShape::Branch { views, .. } => views.0.get(i)?.get()?.upgrade(),
            ViewShape::Leaf(_) => None,
        }
    }

    /// Branch: remembers `view` as the view of child `i` (the caller
    /// loaded it through the reference [`NodeView::child`] returned).
    /// A slot is set once; a later call for it changes nothing.
    pub fn remember_child(&self, i: usize, view: &Arc<NodeView>) {
        if let ViewShape::Branch { views, .. } = &self.shape {
            if let Some(slot) = views.0.get(i) {
                let _ = slot.set(Arc::downgrade(view));
            }
        }
    }

    /// Branch: every child.
    pub fn children(&self) -> &[RunRef] {
        match &self.shape {
            ViewShape::Branch { children, .. } => children,
            ViewShape::Leaf(_) => &[],
        }
    }

    /// The part `span` of the body, sharing it (no copy).
    fn share(&self, span: Span) -> Bytes {
        let from = (span.off as usize).min(self.body.len());
        let to = (from + span.len as usize).min(self.body.len());
        self.body.slice(from..to)
    }

    /// Leaf: the slot table.
    pub(crate) fn leaf_slots(&self) -> &[LeafSlot] {
        match &self.shape {
            ViewShape::Leaf(slots) => slots,
            ViewShape::Branch { .. } => &[],
        }
    }

    /// Leaf: where entry `i` starts in the body (its key length's varint);
    /// the body's length for `i` past the last entry. Entries are encoded
    /// one after another, so entries `a..b` are the body bytes
    /// `entry_start(a)..entry_start(b)`.
    pub(crate) fn entry_start(&self, i: usize) -> usize {
        match self.leaf_slots().get(i) {
            Some(s) => s.key.span.off as usize - super::varint_len(u64::from(s.key.span.len)),
            None => self.body.len(),
        }
    }

    /// Leaf: the number of entries whose key is below `key`, and whether
    /// the next one's key is `key`.
    pub(crate) fn lower_bound(&self, key: &[u8]) -> (usize, bool) {
        let prefix = key_prefix(key);
        let slots = self.leaf_slots();
        let i = slots.partition_point(|s| s.key.cmp_key(&self.body, key, prefix).is_lt());
        let found = slots
            .get(i)
            .is_some_and(|s| s.key.span.of(&self.body) == key);
        (i, found)
    }

    /// Leaf: entry `i` as a write transaction edits it (sharing the body).
    pub(crate) fn entry(&self, i: usize) -> Option<Entry> {
        self.leaf_slots().get(i).map(|s| self.slot_entry(s))
    }

    /// The entry a leaf slot describes, sharing this view's body.
    fn slot_entry(&self, s: &LeafSlot) -> Entry {
        Entry {
            key: self.share(s.key.span),
            value: match s.value {
                SlotValue::Inline(span) => Value::Inline(self.share(span)),
                SlotValue::Overflow(at) => {
                    let (run, len) = overflow_ref(&self.body, at);
                    Value::Overflow { run, len }
                }
            },
        }
    }

    /// The node this view describes, as a write transaction edits it: its
    /// keys and inline values share this view's body (no per-entry copy).
    pub fn to_node(&self) -> Node {
        match &self.shape {
            ViewShape::Leaf(slots) => {
                Node::Leaf(slots.iter().map(|s| self.slot_entry(s)).collect())
            }
            ViewShape::Branch { seps, children, .. } => Node::Branch {
                keys: seps.iter().map(|s| self.share(s.span)).collect(),
                children: children.iter().map(|r| Child::Disk(*r)).collect(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::encode_body;

    fn leaf() -> Node {
        Node::Leaf(
            (0..40u32)
                .map(|i| Entry {
                    key: Bytes::from(format!("key{i:04}").into_bytes()),
                    value: if i % 7 == 0 {
                        Value::Overflow {
                            run: RunRef {
                                page: u64::from(i) + 10,
                                txn: 3,
                                pages: 1,
                            },
                            len: 2000,
                        }
                    } else {
                        Value::Inline(Bytes::from(vec![i as u8; i as usize]))
                    },
                })
                .collect(),
        )
    }

    #[test]
    fn a_view_finds_what_the_node_holds() {
        let node = leaf();
        let view = NodeView::parse(Kind::Leaf, encode_body(&node)).unwrap();
        assert_eq!(view.to_node(), node);
        let Node::Leaf(entries) = &node else {
            unreachable!()
        };
        for (i, e) in entries.iter().enumerate() {
            assert_eq!(view.find(&e.key), Some(i));
            assert_eq!(view.key(i), &e.key[..]);
        }
        assert_eq!(view.find(b"key0000x"), None);
        assert_eq!(view.partition_point(|k| k < b"key0010".as_slice()), 10);
    }

    #[test]
    fn differing_prefixes_order_keys_as_the_keys() {
        let keys: [&[u8]; 9] = [
            b"",
            b"\0",
            b"a",
            b"a\0",
            b"a\x01",
            b"abcdefgh",
            b"abcdefgh\0",
            b"abcdefgi",
            b"b",
        ];
        for a in keys {
            for b in keys {
                if key_prefix(a) != key_prefix(b) {
                    assert_eq!(key_prefix(a).cmp(&key_prefix(b)), a.cmp(b), "{a:?} {b:?}");
                }
            }
        }
    }

    /// `count` on-disk children at pages 2, 3, ... written by transaction 1.
    fn disk_children(count: u64) -> Vec<Child> {
        (0..count)
            .map(|i| {
                Child::Disk(RunRef {
                    page: i + 2,
                    txn: 1,
                    pages: 1,
                })
            })
            .collect()
    }

    #[test]
    fn a_remembered_child_lives_only_as_long_as_its_cache_entry() {
        let children = disk_children(3);
        let node = Node::Branch {
            keys: vec![Bytes::from_static(b"b"), Bytes::from_static(b"c")],
            children,
        };
        let parent = NodeView::parse(Kind::Branch, encode_body(&node)).unwrap();
        let child = Arc::new(NodeView::parse(Kind::Leaf, encode_body(&leaf())).unwrap());
        assert!(parent.child_view(1).is_none(), "nothing remembered yet");
        parent.remember_child(1, &child);
        let other = Arc::new(NodeView::empty_leaf());
        parent.remember_child(1, &other);
        let got = parent.child_view(1).unwrap();
        assert!(Arc::ptr_eq(&got, &child), "a slot is set once");
        assert!(parent.child_view(0).is_none() && parent.child_view(9).is_none());
        assert!(parent.clone().child_view(1).is_none(), "clones start empty");
        drop(got);
        drop(child);
        assert!(
            parent.child_view(1).is_none(),
            "an evicted child is not kept alive by its parent"
        );
        let leaf_view = NodeView::parse(Kind::Leaf, encode_body(&leaf())).unwrap();
        leaf_view.remember_child(0, &other);
        assert!(leaf_view.child_view(0).is_none(), "leaves have no children");
    }

    #[test]
    fn a_leaf_slot_takes_32_bytes() {
        // What the page cache charges per entry on top of the body (see
        // `SlotValue`): an overflow reference stays in the body.
        assert_eq!(std::mem::size_of::<LeafSlot>(), 32);
    }

    #[test]
    fn an_encoded_view_equals_the_parse_of_its_body() {
        let branch = Node::Branch {
            keys: (1..30u8)
                .map(|i| Bytes::from(vec![b'k'; usize::from(i)]))
                .collect(),
            children: disk_children(30),
        };
        for node in [leaf(), branch, Node::Leaf(Vec::new())] {
            let encoded = NodeView::encode(&node);
            assert_eq!(encoded.body(), &encode_body(&node)[..]);
            let parsed = NodeView::parse(node.kind(), encode_body(&node)).unwrap();
            assert_eq!(encoded, parsed);
            assert_eq!(encoded.weight(), parsed.weight());
        }
    }

    #[test]
    fn a_copied_leaf_shares_the_view_body() {
        let view = NodeView::parse(Kind::Leaf, encode_body(&leaf())).unwrap();
        let Node::Leaf(entries) = view.to_node() else {
            unreachable!()
        };
        let body = view.body().as_ptr_range();
        for e in &entries {
            assert!(body.contains(&e.key.as_ptr()), "keys are not copied");
            if let Value::Inline(v) = &e.value {
                assert!(v.is_empty() || body.contains(&v.as_ptr()));
            }
        }
    }

    #[test]
    fn a_branch_view_routes_like_the_node() {
        let keys: Vec<Bytes> = (1..30u8).map(|i| Bytes::from(vec![b'a', i * 3])).collect();
        let children = disk_children(30);
        let node = Node::Branch {
            keys: keys.clone(),
            children,
        };
        let view = NodeView::parse(Kind::Branch, encode_body(&node)).unwrap();
        assert_eq!(view.to_node(), node);
        for probe in 0..100u8 {
            let key = [b'a', probe];
            assert_eq!(view.child_index(&key), crate::txn::child_index(&keys, &key));
        }
    }
}
