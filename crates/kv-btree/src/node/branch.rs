//! The branch body: child references with the separators between them.
//!
//! ```text
//! count              varint (children, ≥ 2)
//! child 0            page u64, txn u64, pages u32   (20 bytes)
//! (count-1) × :
//!   sep_len          varint (≤ 4096)
//!   separator        sep_len bytes
//!   child            page u64, txn u64, pages u32
//! ```

use kv_core::codec::{put_varint, LeReader};
use kv_core::limits::MAX_KEY_BYTES;

use super::view::{KeySpan, NodeView};
use super::{Bytes, Child, Node};
use crate::page::{Kind, RunRef, MAX_RUN_PAGES};

/// Appends a reference as one fixed-size copy (a commit re-encodes the
/// root and a branch per single put: hundreds of references each).
fn put_ref(out: &mut Vec<u8>, r: &RunRef) {
    let mut bytes = [0u8; 20];
    let (page, rest) = bytes.split_at_mut(8);
    let (txn, pages) = rest.split_at_mut(8);
    page.copy_from_slice(&r.page.to_le_bytes());
    txn.copy_from_slice(&r.txn.to_le_bytes());
    pages.copy_from_slice(&r.pages.to_le_bytes());
    out.extend_from_slice(&bytes);
}

/// Appends the encoding of a branch. Every child must be `Child::Disk`
/// (the commit resolves dirty children first).
pub fn encode(keys: &[Bytes], children: &[Child], out: &mut Vec<u8>) {
    put_varint(out, children.len() as u64);
    for (i, child) in children.iter().enumerate() {
        if i > 0 {
            let key = keys.get(i - 1).map_or(&[][..], |k| &k[..]);
            put_varint(out, key.len() as u64);
            out.extend_from_slice(key);
        }
        if let Child::Disk(r) = child {
            put_ref(out, r);
        }
    }
}

fn get_ref(r: &mut LeReader<'_>) -> Option<RunRef> {
    let page = r.u64()?;
    let txn = r.u64()?;
    let pages = r.u32()?;
    (1..=MAX_RUN_PAGES)
        .contains(&pages)
        .then_some(RunRef { page, txn, pages })
}

/// A decoded branch: separators and child references.
pub type Decoded = (Vec<Bytes>, Vec<Child>);

/// Decodes a branch body; `Err(what)` names the first thing that is wrong.
pub fn decode(body: &[u8]) -> Result<Decoded, String> {
    match NodeView::parse(Kind::Branch, body.to_vec())?.to_node() {
        Node::Branch { keys, children } => Ok((keys.into_vec(), children)),
        Node::Leaf(_) | Node::Patched(_) => Err("a branch body parsed as a leaf".into()),
    }
}

/// Finds every separator and child of a branch body without copying it
/// (what [`NodeView::parse`] and [`decode`] share).
pub(crate) fn parse(body: &[u8]) -> Result<(Vec<KeySpan>, Vec<RunRef>), String> {
    let mut r = LeReader::new(body);
    let count = r.varint().ok_or("branch count is cut")?;
    if count < 2 || count > (body.len() / 20) as u64 {
        return Err(format!(
            "branch with {count} children in {} bytes",
            body.len()
        ));
    }
    let mut seps = Vec::with_capacity(count as usize - 1);
    let mut children = Vec::with_capacity(count as usize);
    children.push(get_ref(&mut r).ok_or("child 0 is cut or bad")?);
    for i in 1..count {
        let len = r.varint().ok_or("separator length is cut")?;
        if len > MAX_KEY_BYTES as u64 {
            return Err(format!("separator {i} of {len} bytes"));
        }
        let at = r.position();
        seps.push(super::view::KeySpan::new(
            at,
            r.bytes(len as usize).ok_or("separator is cut")?,
        ));
        children.push(get_ref(&mut r).ok_or_else(|| format!("child {i} is cut or bad"))?);
    }
    if !r.is_empty() {
        return Err(format!("{} bytes after the last child", r.remaining()));
    }
    Ok((seps, children))
}
