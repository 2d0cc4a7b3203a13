//! The leaf body: keys in ascending order, each with an inline value or an
//! overflow reference.
//!
//! ```text
//! count            varint
//! count × entry:
//!   key_len        varint (≤ 4096)
//!   key            key_len bytes
//!   tag            u8: 0 inline, 1 overflow
//!   tag 0: value_len varint (≤ 1024), value bytes
//!   tag 1: page u64, txn u64, pages u32, value_len u32   (24 bytes)
//! ```

use kv_core::codec::{put_varint, LeReader};
use kv_core::limits::{MAX_KEY_BYTES, MAX_VALUE_BYTES};

use super::view::{LeafSlot, NodeView, SlotValue, Span};
use super::{Entry, Node, Value, INLINE_VALUE_MAX};
use crate::page::{pages_for, Kind};

/// Appends the encoding of `entries` to `out`. Every value must be
/// `Inline` or `Overflow` (the commit resolves `Pending` first).
pub fn encode(entries: &[Entry], out: &mut Vec<u8>) {
    encode_into(entries, out, None);
}

/// As [`encode`], and pushes to `slots` where each key and value landed in
/// `out` (the slot table [`parse`] would find in the body, built in the
/// same pass instead of a second one over the encoded bytes).
pub(crate) fn encode_into(
    entries: &[Entry],
    out: &mut Vec<u8>,
    mut slots: Option<&mut Vec<LeafSlot>>,
) {
    put_varint(out, entries.len() as u64);
    for e in entries {
        let slot = encode_entry(e, out);
        if let Some(slots) = slots.as_deref_mut() {
            slots.push(slot);
        }
    }
}

/// Appends one entry's encoding to `out` and returns where its key and
/// value landed.
pub(crate) fn encode_entry(e: &Entry, out: &mut Vec<u8>) -> LeafSlot {
    put_varint(out, e.key.len() as u64);
    let key = super::view::KeySpan::new(out.len(), &e.key);
    out.extend_from_slice(&e.key);
    let value = match &e.value {
        Value::Inline(v) => {
            out.push(0);
            put_varint(out, v.len() as u64);
            let span = Span::new(out.len(), v.len());
            out.extend_from_slice(v);
            SlotValue::Inline(span)
        }
        Value::Overflow { run, len } => {
            out.push(1);
            let at = out.len() as u32;
            out.extend_from_slice(&run.page.to_le_bytes());
            out.extend_from_slice(&run.txn.to_le_bytes());
            out.extend_from_slice(&run.pages.to_le_bytes());
            out.extend_from_slice(&len.to_le_bytes());
            SlotValue::Overflow(at)
        }
        // Never encoded (see [`encode`]); an empty span keeps the table in
        // bounds.
        Value::Pending(_) => SlotValue::Inline(Span::new(out.len(), 0)),
    };
    LeafSlot { key, value }
}

/// Decodes a leaf body; `Err(what)` names the first thing that is wrong.
/// Never panics and allocates only by lengths the buffer can hold.
pub fn decode(body: &[u8]) -> Result<Vec<Entry>, String> {
    match NodeView::parse(Kind::Leaf, body.to_vec())?.to_node() {
        Node::Leaf(entries) => Ok(entries),
        Node::Branch { .. } | Node::Patched(_) => Err("a leaf body parsed as a branch".into()),
    }
}

/// Finds every entry of a leaf body without copying it (what
/// [`NodeView::parse`] and [`decode`] share): the checks of the format
/// above, in one pass.
pub(crate) fn parse(body: &[u8]) -> Result<Vec<LeafSlot>, String> {
    let mut r = LeReader::new(body);
    let count = r.varint().ok_or("leaf count is cut")?;
    // Every entry takes at least 3 bytes: a bound before allocating.
    if count > (body.len() / 3) as u64 {
        return Err(format!(
            "leaf count {count} cannot fit in {} bytes",
            body.len()
        ));
    }
    let mut slots = Vec::with_capacity(count as usize);
    for i in 0..count {
        let key_len = r.varint().ok_or("key length is cut")?;
        if key_len > MAX_KEY_BYTES as u64 {
            return Err(format!("entry {i}: key length {key_len} over the limit"));
        }
        let at = r.position();
        let key = super::view::KeySpan::new(at, r.bytes(key_len as usize).ok_or("key is cut")?);
        let value = match r.u8().ok_or("value tag is cut")? {
            0 => {
                let len = r.varint().ok_or("value length is cut")?;
                if len > INLINE_VALUE_MAX as u64 {
                    return Err(format!("entry {i}: inline value of {len} bytes"));
                }
                let span = Span::new(r.position(), len as usize);
                r.bytes(len as usize).ok_or("value is cut")?;
                SlotValue::Inline(span)
            }
            1 => {
                let at = r.position();
                r.u64().ok_or("overflow page is cut")?;
                r.u64().ok_or("overflow txn is cut")?;
                let pages = r.u32().ok_or("overflow pages is cut")?;
                let len = r.u32().ok_or("overflow length is cut")?;
                if len as usize > MAX_VALUE_BYTES || pages != pages_for(len as usize) {
                    return Err(format!(
                        "entry {i}: overflow of {len} bytes in {pages} pages"
                    ));
                }
                SlotValue::Overflow(at as u32)
            }
            tag => return Err(format!("entry {i}: unknown value tag {tag}")),
        };
        slots.push(LeafSlot { key, value });
    }
    if !r.is_empty() {
        return Err(format!("{} bytes after the last entry", r.remaining()));
    }
    Ok(slots)
}
