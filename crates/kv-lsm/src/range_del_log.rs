//! The write path of a range delete: the memtable insert, the WAL record,
//! its replay, and the live-key count `exact_live_keys` needs.
//!
//! # WAL record (interim)
//! Until the shared record codec has engine-private record kinds, a range
//! tombstone is logged as one `Put` record whose key is
//! [`RANGE_DEL_WAL_KEY`] and whose value is the tombstone
//! ([`RangeTombstone::encode`]: `| seq | start len | start | has end |
//! [end len | end] |`). It is one record, so a crash keeps all of the
//! delete or none of it. A user key equal to `RANGE_DEL_WAL_KEY` would be
//! read back as a range delete: that is why this encoding is interim, and
//! every use of it is in this file.

use kv_core::{Direction, KeyRange, Result};

use crate::inner::Inner;
use crate::memtable::Memtable;
use crate::range_del::RangeTombstone;
use crate::wal::Wal;

/// The key of the interim WAL record of a range tombstone.
pub const RANGE_DEL_WAL_KEY: &[u8] = b"\xff\x00kvlab-lsm-range-del\x00\xff";

/// Inserts `r` with sequence number `seq` into `mem`.
pub fn insert(mem: &Memtable, seq: u64, r: &RangeTombstone) {
    mem.insert_range_del(RangeTombstone { seq, ..r.clone() });
}

/// Buffers the WAL record of `r` with sequence number `seq`.
pub fn log(wal: &mut Wal, seq: u64, r: &RangeTombstone) {
    let tombstone = RangeTombstone { seq, ..r.clone() };
    wal.put(seq, RANGE_DEL_WAL_KEY, &tombstone.encode());
}

/// Applies one replayed WAL record to `mem`: a range tombstone when it is
/// one, else a put (`Some`) or a delete (`None`).
pub fn replay_into(mem: &Memtable, seq: u64, key: &[u8], value: Option<&[u8]>) {
    if key == RANGE_DEL_WAL_KEY {
        if let Some(t) = value.and_then(|v| RangeTombstone::decode(v).ok()) {
            if t.seq == seq {
                mem.insert_range_del(t);
                return;
            }
        }
    }
    mem.insert(key, seq, value);
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
