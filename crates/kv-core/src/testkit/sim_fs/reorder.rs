//! Reordered writeback ([`UnsyncedData::Reordered`](super::UnsyncedData)):
//! the kernel writes dirty pages back in any order and the disk persists them
//! in any order, so at a power cut any subset of a file's unsynced page
//! pieces may be on the disk, while the file's length (metadata) is committed
//! in order.

use rand::RngExt;

use super::state::{write_into, PendingOp};

/// The unit of reordered writeback: an unsynced write is cut at the file
/// offsets that are multiples of this, and each piece survives a
/// [`UnsyncedData::Reordered`](super::UnsyncedData) crash on its own.
pub const WRITEBACK_PAGE_BYTES: usize = 4096;

/// The unit a page piece can be torn at under
/// `UnsyncedData::Reordered { tear_sectors: true }`.
pub const WRITEBACK_SECTOR_BYTES: usize = 512;

/// The bytes of a file after a reordered-writeback crash: `durable` with, in
/// order, each surviving piece of each write in `ops` written and each
/// committed truncation applied, then zero-extended to the committed length.
/// See [`UnsyncedData::Reordered`](super::UnsyncedData) for the rule; every
/// choice comes from `rng`, in a fixed order.
pub(super) fn reordered_bytes(
    durable: &[u8],
    ops: &[PendingOp],
    tear_sectors: bool,
    rng: &mut impl RngExt,
) -> Vec<u8> {
    if ops.is_empty() {
        return durable.to_vec();
    }
    let committed = rng.random_range(0..=ops.len());
    let committed_len = length_after(durable.len(), &ops[..committed]);
    // Survival rate in quarters: 0 (nothing) to 4 (everything).
    let quarters = rng.random_range(0..=4u32);
    let mut out = durable.to_vec();
    for (i, op) in ops.iter().enumerate() {
        match op {
            PendingOp::Truncate { len } => {
                if i < committed {
                    out.resize(*len, 0);
                }
            }
            PendingOp::Write { offset, data } => {
                for (at, piece) in pieces(*offset, data, WRITEBACK_PAGE_BYTES) {
                    if rng.random_range(0..4u32) >= quarters {
                        continue;
                    }
                    let kept = if tear_sectors {
                        torn_len(at, piece.len(), rng)
                    } else {
                        piece.len()
                    };
                    write_into(&mut out, at, &piece[..kept]);
                }
            }
        }
    }
    if out.len() < committed_len {
        out.resize(committed_len, 0);
    }
    out
}

/// The file length after `ops` are applied to a file `len` bytes long.
pub(super) fn length_after(len: usize, ops: &[PendingOp]) -> usize {
    ops.iter().fold(len, |len, op| match op {
        PendingOp::Write { data, .. } if data.is_empty() => len,
        PendingOp::Write { offset, data } => len.max(offset + data.len()),
        PendingOp::Truncate { len } => *len,
    })
}

/// `data` written at `offset`, cut at the multiples of `unit`: the pieces
/// with their file offsets, in order.
pub(super) fn pieces(
    offset: usize,
    data: &[u8],
    unit: usize,
) -> impl Iterator<Item = (usize, &[u8])> {
    let mut at = offset;
    let mut rest = data;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let room = unit - at % unit;
        let (head, tail) = rest.split_at(room.min(rest.len()));
        let piece = (at, head);
        at += head.len();
        rest = tail;
        Some(piece)
    })
}

/// How many bytes of a surviving piece of `len` bytes at `at` reach the disk
/// when sectors can tear: all of it three times in four (and always when no
/// sector boundary lies inside it), else up to a seeded sector boundary
/// strictly inside it.
fn torn_len(at: usize, len: usize, rng: &mut impl RngExt) -> usize {
    let first = (at / WRITEBACK_SECTOR_BYTES + 1) * WRITEBACK_SECTOR_BYTES;
    let end = at + len;
    if first >= end || rng.random_range(0..4u32) != 0 {
        return len;
    }
    let boundaries = (end - 1 - first) / WRITEBACK_SECTOR_BYTES + 1;
    let chosen = rng.random_range(0..boundaries);
    first + chosen * WRITEBACK_SECTOR_BYTES - at
}
