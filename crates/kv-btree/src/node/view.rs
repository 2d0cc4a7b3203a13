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

use super::{Child, Entry, Node, Value};
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotValue {
    /// In the body.
    Inline(Span),
    /// In an overflow run of `len` bytes.
    Overflow {
        /// The run.
        run: RunRef,
        /// Value length in bytes.
        len: u32,
    },
}

/// One leaf entry: where its key and value are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeafSlot {
    /// The key.
    pub key: KeySpan,
    /// The value.
    pub value: SlotValue,
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

/// A committed node: its body and where its parts are (see the module
/// docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeView {
    body: Box<[u8]>,
    shape: ViewShape,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum ViewShape {
    Leaf(Vec<LeafSlot>),
    Branch {
        /// Separator `i` sits between child `i` and child `i + 1`.
        seps: Vec<KeySpan>,
        children: Vec<RunRef>,
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
                ViewShape::Branch { seps, children }
            }
            other => return Err(format!("a {other:?} run where a node was expected")),
        };
        Ok(Self {
            body: body.into_boxed_slice(),
            shape,
        })
    }

    /// A leaf with no entries (what a salvaging cursor reads in place of
    /// a damaged node).
    pub fn empty_leaf() -> Self {
        Self {
            body: Box::new([0]),
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
            ViewShape::Branch { seps, children } => {
                seps.len() * std::mem::size_of::<KeySpan>()
                    + children.len() * std::mem::size_of::<RunRef>()
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
            SlotValue::Overflow { run, len } => ValueRef::Overflow { run, len },
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

    /// Branch: every child.
    pub fn children(&self) -> &[RunRef] {
        match &self.shape {
            ViewShape::Branch { children, .. } => children,
            ViewShape::Leaf(_) => &[],
        }
    }

    /// The node this view describes, with owned keys and values (what a
    /// write transaction edits).
    pub fn to_node(&self) -> Node {
        match &self.shape {
            ViewShape::Leaf(slots) => Node::Leaf(
                slots
                    .iter()
                    .map(|s| Entry {
                        key: s.key.span.of(&self.body).to_vec(),
                        value: match s.value {
                            SlotValue::Inline(span) => Value::Inline(span.of(&self.body).to_vec()),
                            SlotValue::Overflow { run, len } => Value::Overflow { run, len },
                        },
                    })
                    .collect(),
            ),
            ViewShape::Branch { seps, children } => Node::Branch {
                keys: seps
                    .iter()
                    .map(|s| s.span.of(&self.body).to_vec())
                    .collect(),
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
                    key: format!("key{i:04}").into_bytes(),
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
                        Value::Inline(vec![i as u8; i as usize])
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
            assert_eq!(view.key(i), e.key.as_slice());
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

    #[test]
    fn a_branch_view_routes_like_the_node() {
        let keys: Vec<Vec<u8>> = (1..30u8).map(|i| vec![b'a', i * 3]).collect();
        let children: Vec<Child> = (0..30u64)
            .map(|i| {
                Child::Disk(RunRef {
                    page: i + 2,
                    txn: 1,
                    pages: 1,
                })
            })
            .collect();
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
