//! Tree nodes in memory, their encoded sizes, and their codecs
//! ([`leaf`], [`branch`]).
//!
//! A node read from disk holds only on-disk references ([`Child::Disk`],
//! [`Value::Inline`], [`Value::Overflow`]). Inside a write transaction the
//! nodes it copied are edited in place and may also point at other copied
//! nodes ([`Child::Dirty`]) and at values not yet written
//! ([`Value::Pending`]); the commit resolves both before encoding.

pub mod branch;
pub mod leaf;
pub mod patch;
pub mod seps;
pub mod view;

use std::sync::Arc;

pub use bytes::Bytes;
pub use seps::Seps;

use crate::page::{Kind, RunRef, PAGE_BODY_BYTES};

/// Values longer than this go to an overflow run instead of the leaf.
pub const INLINE_VALUE_MAX: usize = 1024;

/// A node whose body exceeds this is split (unless it holds one entry).
pub const NODE_CAPACITY: usize = PAGE_BODY_BYTES;

/// A non-root node whose body falls under this after a delete is merged
/// with a sibling or rebalanced (a quarter of a page, LMDB's threshold).
pub const MIN_FILL: usize = NODE_CAPACITY / 4;

/// How full nodes get and which values stay inline. The defaults fill
/// 4 KiB pages; smaller shapes make trees deep with few keys (the second
/// conformance stamp uses one so that splits, merges and overflow runs
/// happen inside the suite's small crash workloads).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// A node whose body exceeds this many bytes is split (clamped to
    /// `256..=NODE_CAPACITY`).
    pub node_capacity: usize,
    /// Values longer than this go to overflow runs (clamped to
    /// `..=INLINE_VALUE_MAX`).
    pub inline_value_max: usize,
}

impl Default for Shape {
    fn default() -> Self {
        Self {
            node_capacity: NODE_CAPACITY,
            inline_value_max: INLINE_VALUE_MAX,
        }
    }
}

impl Shape {
    /// This shape with its fields clamped to what pages allow.
    pub fn clamped(self) -> Self {
        Self {
            node_capacity: self.node_capacity.clamp(256, NODE_CAPACITY),
            inline_value_max: self.inline_value_max.min(INLINE_VALUE_MAX),
        }
    }

    /// The fill threshold: a non-root node under this many body bytes after
    /// a delete is merged or rebalanced (a quarter of the capacity).
    pub fn min_fill(&self) -> usize {
        self.node_capacity / 4
    }
}

/// A leaf's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Stored in the leaf (a slice of the body it was read from, or a
    /// copy of what the caller put).
    Inline(Bytes),
    /// Stored in an overflow run of `len` bytes.
    Overflow {
        /// The run.
        run: RunRef,
        /// Value length in bytes.
        len: u32,
    },
    /// A large value of the open transaction, written to an overflow run at
    /// commit.
    Pending(Arc<Vec<u8>>),
}

impl Value {
    /// Bytes of the value itself (what the user stored).
    pub fn len(&self) -> u64 {
        match self {
            Self::Inline(v) => v.len() as u64,
            Self::Overflow { len, .. } => u64::from(*len),
            Self::Pending(v) => v.len() as u64,
        }
    }

    /// True for an empty value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One key of a leaf.
///
/// Keys, separators and inline values are [`Bytes`]: a node a write
/// transaction copies from a committed view shares the view's body
/// (one reference count per key and value) instead of allocating and
/// copying every key and value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The key.
    pub key: Bytes,
    /// Its value.
    pub value: Value,
}

/// A branch's reference to a child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Child {
    /// A node on disk (or committed in memory).
    Disk(RunRef),
    /// A node copied into the open transaction (an index into its arena).
    Dirty(usize),
}

/// A B+tree node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// Keys in ascending order with their values.
    Leaf(Vec<Entry>),
    /// `children.len() == keys.len() + 1`; child `i` holds the keys `k` with
    /// `keys[i-1] <= k < keys[i]`.
    Branch {
        /// Separators, ascending.
        keys: Seps,
        /// Children.
        children: Vec<Child>,
    },
    /// A leaf a write transaction only put keys into: its committed view
    /// and the entries put, merged when the commit encodes it (see
    /// [`patch`]). Only the put path of a transaction makes and edits one;
    /// everything else sees it as the leaf [`Node::into_plain`] makes.
    Patched(patch::Patch),
}

/// Encoded bytes of a varint.
pub fn varint_len(mut v: u64) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

/// Encoded bytes of an overflow or child reference.
pub const REF_BYTES: usize = 20;

/// Encoded bytes of one leaf entry.
pub fn entry_bytes(e: &Entry) -> usize {
    let value = match &e.value {
        Value::Inline(v) => varint_len(v.len() as u64) + v.len(),
        Value::Overflow { .. } | Value::Pending(_) => REF_BYTES + 4,
    };
    varint_len(e.key.len() as u64) + e.key.len() + 1 + value
}

/// Encoded bytes of one separator.
pub fn key_bytes(k: &[u8]) -> usize {
    varint_len(k.len() as u64) + k.len()
}

impl Node {
    /// The run kind this node is written as.
    pub fn kind(&self) -> Kind {
        match self {
            Self::Leaf(_) | Self::Patched(_) => Kind::Leaf,
            Self::Branch { .. } => Kind::Branch,
        }
    }

    /// This node with a patch merged into an ordinary leaf (any other node
    /// as it is).
    pub fn into_plain(self) -> Self {
        match self {
            Self::Patched(p) => Self::Leaf(p.into_entries()),
            other => other,
        }
    }

    /// Bytes of the node's encoded body.
    pub fn body_bytes(&self) -> usize {
        match self {
            Self::Leaf(entries) => {
                varint_len(entries.len() as u64) + entries.iter().map(entry_bytes).sum::<usize>()
            }
            Self::Branch { keys, children } => {
                varint_len(children.len() as u64)
                    + children.len() * REF_BYTES
                    + keys.encoded_bytes()
            }
            Self::Patched(p) => p.body_bytes(),
        }
    }

    /// Number of entries (leaf) or children (branch).
    pub fn len(&self) -> usize {
        match self {
            Self::Leaf(e) => e.len(),
            Self::Branch { children, .. } => children.len(),
            Self::Patched(p) => p.len(),
        }
    }

    /// True for a node with no entries or children.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The shortest separator `s` with `left < s <= right` (a prefix of
/// `right`), for `left < right`.
pub fn shortest_separator(left: &[u8], right: &Bytes) -> Bytes {
    let common = left
        .iter()
        .zip(right.iter())
        .take_while(|(a, b)| a == b)
        .count();
    right.slice(..(common + 1).min(right.len()))
}

/// Encodes `node` (every reference resolved) as the body of its run.
pub fn encode_body(node: &Node) -> Vec<u8> {
    let mut out = Vec::with_capacity(node.body_bytes());
    match node {
        Node::Leaf(entries) => leaf::encode(entries, &mut out),
        Node::Branch { keys, children } => branch::encode(keys, children, &mut out),
        Node::Patched(p) => p.encode_into(&mut out, &mut Vec::new()),
    }
    out
}

/// Decodes a node body of `kind`; `Err(what)` for a malformed body or a
/// kind that is not a node.
pub fn decode_body(kind: Kind, body: &[u8]) -> Result<Node, String> {
    view::NodeView::parse(kind, body.to_vec()).map(|v| v.to_node())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_prefix_is_the_zero_padded_big_endian_head() {
        let mut keys: Vec<Vec<u8>> = vec![Vec::new()];
        for len in 1..=12usize {
            for fill in [0u8, 1, 0x7f, 0x80, 0xff] {
                let mut k: Vec<u8> = (0..len as u8).map(|i| i.wrapping_mul(37) ^ fill).collect();
                keys.push(k.clone());
                k[len - 1] = fill;
                keys.push(k);
            }
        }
        for k in &keys {
            let mut padded = [0u8; 8];
            let n = k.len().min(8);
            padded[..n].copy_from_slice(&k[..n]);
            assert_eq!(view::key_prefix(k), u64::from_be_bytes(padded), "{k:?}");
        }
    }

    #[test]
    fn separators_are_short_and_between() {
        for (l, r) in [
            (&b"abc"[..], &b"abd"[..]),
            (b"a", b"b"),
            (b"", b"x"),
            (b"ab", b"abc"),
            (b"apple", b"banana"),
        ] {
            let s = shortest_separator(l, &Bytes::copy_from_slice(r));
            assert!(l < &s[..] && &s[..] <= r, "{l:?} {s:?} {r:?}");
        }
        assert_eq!(
            shortest_separator(b"apple", &Bytes::from_static(b"banana")),
            &b"b"[..]
        );
    }
}
