//! The write path of a range delete: the memtable insert, the WAL record,
//! its replay, and the live-key count `exact_live_keys` needs.
//!
//! # WAL record
//! A range tombstone is one engine-private record of the shared codec
//! (`docs/format-record.md`), kind [`RANGE_DEL_KIND`] (`0x80`):
//!
//! ```text
//! | crc32 | len | kind = 0x80 | seq | key_len = 0 | value_len | value: the tombstone |
//! tombstone: | seq (varint, = the record's) | start len (varint) | start |
//!            | has end (u8) | [end len (varint) | end] |
//! ```
//!
//! The bounds are in the value (a half-open start may be one byte longer
//! than a key may be). It is one record, so after a crash all of the delete
//! is there or none of it. Replay refuses a value that does not decode or
//! whose sequence number is not the record's (`Corruption`, as any damaged
//! record with valid data after it).

use kv_core::codec::EngineKind;
use kv_core::{CorruptionKind, Direction, KeyRange, Result};

use crate::inner::Inner;
use crate::memtable::Memtable;
use crate::range_del::RangeTombstone;
use crate::wal::Wal;

/// The engine-private record kind of a range tombstone in the WAL.
// A const item is evaluated at compile time: `None` here fails the build.
#[allow(clippy::panic)]
pub const RANGE_DEL_KIND: EngineKind = match EngineKind::new(0x80) {
    Some(kind) => kind,
    None => panic!("0x80 is an engine-private record tag"),
};

/// Inserts `r` with sequence number `seq` into `mem`.
pub fn insert(mem: &Memtable, seq: u64, r: &RangeTombstone) {
    mem.insert_range_del(RangeTombstone { seq, ..r.clone() });
}

/// Buffers the WAL record of `r` with sequence number `seq`.
pub fn log(wal: &mut Wal, seq: u64, r: &RangeTombstone) {
    let tombstone = RangeTombstone { seq, ..r.clone() };
    wal.engine_record(RANGE_DEL_KIND, seq, &[], &tombstone.encode());
}

/// The tombstone of a replayed range tombstone record.
///
/// # Errors
/// The corruption found: the value does not decode, or names another
/// sequence number than the record.
pub fn decode_record(
    seq: u64,
    value: &[u8],
) -> std::result::Result<RangeTombstone, CorruptionKind> {
    let t = RangeTombstone::decode(value)?;
    if t.seq != seq {
        return Err(CorruptionKind::Mismatch(format!(
            "range tombstone of seq {} in a record of seq {seq}",
            t.seq
        )));
    }
    Ok(t)
}

/// The range `r` covers, as a [`KeyRange`].
pub fn key_range(r: &RangeTombstone) -> KeyRange {
    use std::ops::Bound;
    KeyRange {
        start: Bound::Included(r.start.clone()),
        end: r.end.clone().map_or(Bound::Unbounded, Bound::Excluded),
    }
}

/// Live keys inside `r` now (a scan: only `exact_live_keys` pays it).
///
/// # Errors
/// I/O failures and corruption met by the scan.
pub fn live_keys_in(inner: &Inner, r: &RangeTombstone) -> Result<i64> {
    let mut n = 0i64;
    for item in crate::read::scan(inner, &key_range(r), Direction::Forward)? {
        item?;
        n += 1;
    }
    Ok(n)
}
