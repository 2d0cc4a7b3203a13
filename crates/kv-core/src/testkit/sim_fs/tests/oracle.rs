//! Independent statements of what each [`UnsyncedData`] mode may leave of one
//! file, written from the module docs rather than from the crash code: given
//! the durable bytes, the unsynced changes and the bytes after the crash,
//! `Err` explains which documented property failed.

use super::super::state::PendingOp;
use super::super::{UnsyncedData, WRITEBACK_PAGE_BYTES, WRITEBACK_SECTOR_BYTES};

/// One file's history since its last sync.
pub(super) struct FileHistory<'a> {
    pub(super) durable: &'a [u8],
    pub(super) ops: &'a [PendingOp],
    pub(super) written: &'a [u8],
}

fn replay(durable: &[u8], ops: &[PendingOp]) -> Vec<u8> {
    let mut out = durable.to_vec();
    for op in ops {
        op.apply(&mut out);
    }
    out
}

/// Checks `got` against everything `mode` documents for `file`.
pub(super) fn check(mode: UnsyncedData, file: &FileHistory<'_>, got: &[u8]) -> Result<(), String> {
    untouched_durable_bytes_survive(file, got)?;
    match mode {
        UnsyncedData::Lost => same(got, file.durable, "Lost keeps the durable bytes"),
        UnsyncedData::Kept => same(got, file.written, "Kept keeps the written bytes"),
        UnsyncedData::TornLastWrite { keep_bytes } => torn_last_write(file, keep_bytes, got),
        UnsyncedData::GarbageTail { bytes } => garbage_tail(file, bytes, got),
        UnsyncedData::Random => prefix_with_tear(file, got),
        UnsyncedData::Reordered { tear_sectors } => {
            reordered_bytes_come_from_somewhere(file, got)?;
            reordered_length(file, tear_sectors, got.len())
        }
    }
}

fn same(got: &[u8], expected: &[u8], what: &str) -> Result<(), String> {
    if got == expected {
        Ok(())
    } else {
        Err(format!(
            "{what}: got {} bytes, expected {} bytes",
            got.len(),
            expected.len()
        ))
    }
}

/// Every mode: a durable byte no unsynced write covers and no unsynced
/// truncation cut is still there.
fn untouched_durable_bytes_survive(file: &FileHistory<'_>, got: &[u8]) -> Result<(), String> {
    let mut touched = vec![false; file.durable.len()];
    for op in file.ops {
        match op {
            PendingOp::Write { offset, data } => {
                let end = (offset + data.len()).min(touched.len());
                for t in touched.iter_mut().take(end).skip(*offset) {
                    *t = true;
                }
            }
            PendingOp::Truncate { len } => {
                for t in touched.iter_mut().skip(*len) {
                    *t = true;
                }
            }
        }
    }
    for (p, byte) in file.durable.iter().enumerate() {
        if !touched[p] && got.get(p) != Some(byte) {
            return Err(format!("untouched durable byte {p} did not survive"));
        }
    }
    Ok(())
}

fn torn_last_write(file: &FileHistory<'_>, keep: usize, got: &[u8]) -> Result<(), String> {
    let last = file
        .ops
        .iter()
        .rposition(|op| matches!(op, PendingOp::Write { .. }));
    let Some(i) = last else {
        return same(got, file.written, "TornLastWrite without a write keeps all");
    };
    let mut expected = replay(file.durable, &file.ops[..i]);
    if let PendingOp::Write { offset, data } = &file.ops[i] {
        let torn = PendingOp::Write {
            offset: *offset,
            data: data[..keep.min(data.len())].to_vec(),
        };
        torn.apply(&mut expected);
    }
    same(got, &expected, "TornLastWrite")
}

fn garbage_tail(file: &FileHistory<'_>, bytes: usize, got: &[u8]) -> Result<(), String> {
    let end = file.durable.len();
    let extended = file.ops.iter().any(|op| match op {
        PendingOp::Write { offset, data } => offset + data.len() > end,
        PendingOp::Truncate { .. } => false,
    });
    if !extended {
        return same(got, file.durable, "GarbageTail without an extension");
    }
    if got.len() == end + bytes && &got[..end] == file.durable {
        Ok(())
    } else {
        Err(format!(
            "GarbageTail: {} bytes, not durable + {bytes}",
            got.len()
        ))
    }
}

/// `Random`: the durable bytes with `ops[..i]` replayed for some `i`, then
/// `ops[i]`, if a write, landing on a prefix of its range with any content.
fn prefix_with_tear(file: &FileHistory<'_>, got: &[u8]) -> Result<(), String> {
    let mut base = file.durable.to_vec();
    for op in file.ops {
        if got == base.as_slice() {
            return Ok(());
        }
        if let PendingOp::Write { offset, data } = op {
            if lands_within(&base, *offset, data.len(), got) {
                return Ok(());
            }
        }
        op.apply(&mut base);
    }
    same(
        got,
        &base,
        "Random is an in-order prefix with one torn write",
    )
}

/// Is `got` equal to `base` except inside `[offset, offset + t)` for some
/// `1 <= t <= len` (the length growing to `offset + t` if that is longer)?
fn lands_within(base: &[u8], offset: usize, len: usize, got: &[u8]) -> bool {
    if len == 0 || got.len() < base.len() || got.len() > base.len().max(offset + len) {
        return false;
    }
    if got.len() > base.len() && got.len() <= offset {
        return false;
    }
    got.iter()
        .zip(base)
        .enumerate()
        .all(|(p, (g, b))| g == b || (p >= offset && p < offset + len))
}

/// `Reordered`: every byte is an old durable byte, a zero, or the byte some
/// unsynced write put there.
fn reordered_bytes_come_from_somewhere(file: &FileHistory<'_>, got: &[u8]) -> Result<(), String> {
    let mut explained: Vec<bool> = got
        .iter()
        .enumerate()
        .map(|(p, g)| *g == 0 || file.durable.get(p) == Some(g))
        .collect();
    for op in file.ops {
        if let PendingOp::Write { offset, data } = op {
            for (i, byte) in data.iter().enumerate() {
                if got.get(offset + i) == Some(byte) {
                    explained[offset + i] = true;
                }
            }
        }
    }
    match explained.iter().position(|e| !e) {
        None => Ok(()),
        Some(p) => Err(format!("Reordered: byte {p} comes from no write")),
    }
}

/// `Reordered`: the length is the durable one, a committed length, a
/// truncation, or the end of a (possibly sector-torn) page piece.
fn reordered_length(file: &FileHistory<'_>, tear_sectors: bool, len: usize) -> Result<(), String> {
    let mut allowed = vec![file.durable.len()];
    let mut at = file.durable.len();
    for op in file.ops {
        match op {
            PendingOp::Truncate { len } => allowed.push(*len),
            PendingOp::Write { offset, data } => {
                for i in 1..=data.len() {
                    let end = offset + i;
                    let piece_end = end % WRITEBACK_PAGE_BYTES == 0 || i == data.len();
                    let sector_end = tear_sectors && end % WRITEBACK_SECTOR_BYTES == 0;
                    if piece_end || sector_end {
                        allowed.push(end);
                    }
                }
            }
        }
        at = super::super::reorder::length_after(at, std::slice::from_ref(op));
        allowed.push(at);
    }
    if allowed.contains(&len) {
        Ok(())
    } else {
        Err(format!("Reordered: length {len} is none of {allowed:?}"))
    }
}
