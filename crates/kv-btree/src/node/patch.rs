//! [`Patch`]: a committed leaf plus the entries a write transaction put
//! into it, merged only when the commit encodes it.
//!
//! A batch of random puts touches hundreds of leaves once each. Copying
//! each into an owned [`Node::Leaf`] costs a `Vec` of entries and two
//! reference counts per entry, their release at the next durable commit,
//! and an encoding that copies every key and value one by one. A patch
//! keeps the leaf's [`NodeView`] as it is and only the entries put: the
//! encoding copies the view's body between the puts as whole ranges
//! (entries are encoded one after another) and moves its slot table over,
//! and the puts are encoded in between. Anything other than a put (a
//! delete, a split, an overflow value to write, vacuum) first turns the
//! patch into an ordinary leaf ([`Patch::into_entries`]).

use std::sync::Arc;

use kv_core::codec::put_varint;

use super::view::{LeafSlot, NodeView, ValueRef};
use super::{entry_bytes, leaf, varint_len, Entry, Value};
use crate::page::RunRef;

/// An entry put into a patch: where it goes among the base's entries.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Put {
    entry: Entry,
    /// Base entries with a key below this one's.
    at: usize,
    /// True when base entry `at` has this key (the put replaces it).
    replaces: bool,
}

/// A leaf view with entries put into it (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patch {
    base: Arc<NodeView>,
    /// Ascending by key, no two equal.
    puts: Vec<Put>,
    /// Entries of the merged leaf.
    len: usize,
    /// Encoded bytes of the merged leaf's entries (its body less the count).
    entries_bytes: usize,
}

/// What a put into a patch displaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Displaced {
    /// Key plus value bytes of the entry it replaced, if any.
    pub replaced_bytes: Option<u64>,
    /// The overflow run of the replaced value, now unreachable.
    pub overflow: Option<RunRef>,
    /// True when the key went after every key of the leaf.
    pub at_end: bool,
}

impl Patch {
    /// A patch of the leaf `base` with nothing put yet.
    pub fn new(base: Arc<NodeView>) -> Self {
        let len = base.len();
        let count = varint_len(len as u64);
        let entries_bytes = base.body().len().saturating_sub(count);
        Self {
            base,
            puts: Vec::new(),
            len,
            entries_bytes,
        }
    }

    /// Entries of the merged leaf.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the merged leaf is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Encoded body bytes of the merged leaf.
    pub fn body_bytes(&self) -> usize {
        varint_len(self.len as u64) + self.entries_bytes
    }

    /// True when an entry put holds a value not yet written.
    pub fn has_pending(&self) -> bool {
        self.puts
            .iter()
            .any(|p| matches!(p.entry.value, Value::Pending(_)))
    }

    /// True when the merged leaf holds `key`.
    pub fn contains(&self, key: &[u8]) -> bool {
        self.find_put(key).is_ok() || self.base.lower_bound(key).1
    }

    fn find_put(&self, key: &[u8]) -> Result<usize, usize> {
        self.puts.binary_search_by(|p| p.entry.key[..].cmp(key))
    }

    /// Puts `entry`, replacing an entry with its key.
    pub fn put(&mut self, entry: Entry) -> Displaced {
        let added = entry_bytes(&entry);
        match self.find_put(&entry.key) {
            Ok(i) => {
                let old = std::mem::replace(&mut self.puts[i].entry, entry);
                self.entries_bytes = self.entries_bytes + added - entry_bytes(&old);
                Displaced {
                    replaced_bytes: Some(old.key.len() as u64 + old.value.len()),
                    overflow: match old.value {
                        Value::Overflow { run, .. } => Some(run),
                        _ => None,
                    },
                    at_end: false,
                }
            }
            Err(i) => {
                let (at, replaces) = self.base.lower_bound(&entry.key);
                let at_end = !replaces && at == self.base.len() && i == self.puts.len();
                let mut displaced = Displaced {
                    replaced_bytes: None,
                    overflow: None,
                    at_end,
                };
                if replaces {
                    let old_bytes = self.base.entry_start(at + 1) - self.base.entry_start(at);
                    self.entries_bytes = self.entries_bytes + added - old_bytes;
                    let (key_len, value) = (self.base.key(at).len() as u64, self.base.value(at));
                    displaced.replaced_bytes = Some(
                        key_len
                            + match value {
                                Some(ValueRef::Inline(v)) => v.len() as u64,
                                Some(ValueRef::Overflow { len, .. }) => u64::from(len),
                                None => 0,
                            },
                    );
                    if let Some(ValueRef::Overflow { run, .. }) = value {
                        displaced.overflow = Some(run);
                    }
                } else {
                    self.entries_bytes += added;
                    self.len += 1;
                }
                self.puts.insert(
                    i,
                    Put {
                        entry,
                        at,
                        replaces,
                    },
                );
                displaced
            }
        }
    }

    /// The merged leaf's entries, ascending (keys and inline values of the
    /// base share its body).
    pub fn into_entries(self) -> Vec<Entry> {
        let mut out = Vec::with_capacity(self.len);
        let mut next = 0;
        for put in self.puts {
            out.extend((next..put.at).filter_map(|i| self.base.entry(i)));
            next = put.at + usize::from(put.replaces);
            out.push(put.entry);
        }
        out.extend((next..self.base.len()).filter_map(|i| self.base.entry(i)));
        out
    }

    /// Appends the merged leaf's body to `out` (empty on entry) and its
    /// slot table to `slots`: the base's entries between the puts copied
    /// as whole ranges with their slots moved, each put encoded in place.
    /// Every value must be resolved ([`Patch::has_pending`] false).
    pub(crate) fn encode_into(&self, out: &mut Vec<u8>, slots: &mut Vec<LeafSlot>) {
        put_varint(out, self.len as u64);
        let mut next = 0;
        for put in &self.puts {
            self.copy_base(next, put.at, out, slots);
            slots.push(leaf::encode_entry(&put.entry, out));
            next = put.at + usize::from(put.replaces);
        }
        self.copy_base(next, self.base.len(), out, slots);
    }

    /// Copies base entries `from..to` to the end of `out`, slots moved.
    fn copy_base(&self, from: usize, to: usize, out: &mut Vec<u8>, slots: &mut Vec<LeafSlot>) {
        if from >= to {
            return;
        }
        let (start, end) = (self.base.entry_start(from), self.base.entry_start(to));
        let dest = out.len();
        out.extend_from_slice(self.base.body().get(start..end).unwrap_or_default());
        let moved = self.base.leaf_slot_range(from, to);
        slots.extend(moved.map(|s| s.moved(start, dest)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::{encode_body, Bytes, Node};
    use crate::page::Kind;

    fn entry(key: &str, value: &[u8]) -> Entry {
        Entry {
            key: Bytes::from(key.as_bytes().to_vec()),
            value: Value::Inline(Bytes::from(value.to_vec())),
        }
    }

    fn base_entries() -> Vec<Entry> {
        (0..30u32)
            .map(|i| {
                let mut e = entry(
                    &format!("key{:03}", i * 2 + 10),
                    &vec![i as u8; i as usize * 3],
                );
                if i % 9 == 4 {
                    e.value = Value::Overflow {
                        run: RunRef {
                            page: u64::from(i) + 100,
                            txn: 2,
                            pages: 1,
                        },
                        len: 1500,
                    };
                }
                e
            })
            .collect()
    }

    /// Puts `e` into a plain leaf the way `Txn::leaf_put` does.
    fn put_plain(entries: &mut Vec<Entry>, e: Entry) -> Option<Entry> {
        match entries.binary_search_by(|x| x.key.cmp(&e.key)) {
            Ok(i) => Some(std::mem::replace(&mut entries[i], e)),
            Err(i) => {
                entries.insert(i, e);
                None
            }
        }
    }

    #[test]
    fn a_patch_encodes_and_merges_as_the_leaf_with_its_puts() {
        let mut plain = base_entries();
        let view = NodeView::parse(Kind::Leaf, encode_body(&Node::Leaf(plain.clone()))).unwrap();
        let mut patch = Patch::new(Arc::new(view));
        let puts = [
            ("key000", &b"before every key"[..], false),
            ("key011", b"between two", false),
            ("key018", b"replaces an inline value", false),
            ("key018", b"replaces that put again", false),
            ("key028", b"replaces an overflow value", false),
            ("key010", b"", false),
            ("key069", b"", true),
            ("key099", b"after every key", true),
            ("key100", b"after that one too", true),
            ("key099", b"a put replaced at the end", false),
        ];
        for (key, value, at_end) in puts {
            let e = entry(key, value);
            let old = put_plain(&mut plain, e.clone());
            let displaced = patch.put(e);
            assert_eq!(displaced.at_end, at_end, "{key}");
            assert_eq!(
                displaced.replaced_bytes,
                old.as_ref().map(|o| o.key.len() as u64 + o.value.len()),
                "{key}"
            );
            let overflow = match old.map(|o| o.value) {
                Some(Value::Overflow { run, .. }) => Some(run),
                _ => None,
            };
            assert_eq!(displaced.overflow, overflow, "{key}");
            let expected = Node::Leaf(plain.clone());
            assert_eq!(
                (patch.len(), patch.body_bytes()),
                (plain.len(), expected.body_bytes())
            );
            let encoded = NodeView::encode(&Node::Patched(patch.clone()));
            assert_eq!(
                encoded,
                NodeView::parse(Kind::Leaf, encode_body(&expected)).unwrap()
            );
            assert_eq!(
                encode_body(&Node::Patched(patch.clone())),
                encode_body(&expected)
            );
        }
        assert!(
            patch.contains(b"key011") && patch.contains(b"key012") && !patch.contains(b"key013")
        );
        assert!(!patch.has_pending());
        assert_eq!(patch.into_entries(), plain);
    }
}
