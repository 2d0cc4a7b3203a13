//! [`Planned`]: a stream drawn in full before the clock starts, four bytes
//! per operation.
//!
//! Drawing a YCSB operation costs a zipfian sample (a `pow`), an FNV-1a hash
//! and a 64-bit remainder: about a third of the harness's own time per
//! operation on ycsb-a (profiled with `perf` on the `null` engine). The
//! zipfian table is already setup, not work; drawing the whole stream up
//! front is the same rule applied one step further, like fillrandom's
//! shuffle: the timed loop then only reads the next four bytes.
//!
//! Only streams whose every operation is a get, put or read-modify-write of
//! an index below 2^30 ([`MAX_INDEX`], `--num` is at most 2^30) fit, and only
//! up to [`MAX_PLANNED_OPS`] operations (64 MiB); YCSB D and E, whose inserts
//! take indices from a counter shared with other threads at run time, and
//! longer streams stay drawn as they run ([`plan`] returns them unchanged).

use super::ops::{Op, OpStream};

/// Longest stream drawn up front: 2^24 operations, 64 MiB.
pub const MAX_PLANNED_OPS: u64 = 1 << 24;

/// Indices below this fit beside the two bits of the operation.
pub const MAX_INDEX: u64 = 1 << 30;

const KIND_SHIFT: u32 = 30;
const GET: u32 = 0;
const PUT: u32 = 1;
const READ_MODIFY_WRITE: u32 = 2;

/// Operations drawn in advance, each packed as `kind << 30 | index`.
#[derive(Debug, Clone)]
pub struct Planned {
    ops: Vec<u32>,
    pos: usize,
}

fn pack(op: Op) -> Option<u32> {
    let (kind, index) = match op {
        Op::Get(i) => (GET, i),
        Op::Put(i) => (PUT, i),
        Op::ReadModifyWrite(i) => (READ_MODIFY_WRITE, i),
        _ => return None,
    };
    (index < MAX_INDEX).then_some((kind << KIND_SHIFT) | index as u32)
}

impl Planned {
    /// Draws every operation of `stream`; `None` if one does not pack.
    fn draw(stream: &OpStream) -> Option<Self> {
        let mut source = stream.clone();
        let len = usize::try_from(source.planned_ops()).ok()?;
        let mut ops = Vec::with_capacity(len);
        while let Some(op) = source.next_op() {
            ops.push(pack(op)?);
        }
        Some(Self { ops, pos: 0 })
    }

    /// The next operation.
    #[inline]
    pub fn next_op(&mut self) -> Option<Op> {
        let word = *self.ops.get(self.pos)?;
        self.pos += 1;
        let index = u64::from(word & ((1 << KIND_SHIFT) - 1));
        Some(match word >> KIND_SHIFT {
            GET => Op::Get(index),
            PUT => Op::Put(index),
            _ => Op::ReadModifyWrite(index),
        })
    }

    /// Operations left.
    pub fn remaining(&self) -> u64 {
        (self.ops.len() - self.pos) as u64
    }
}

/// `stream` drawn in full if it is finite, at most [`MAX_PLANNED_OPS`] long
/// and every operation packs; otherwise `stream` itself. The operations are
/// the same either way.
pub fn plan(stream: OpStream) -> OpStream {
    // Drawing inserts would take indices from the counter shared with the
    // other threads before they run.
    let inserts = matches!(&stream, OpStream::Ycsb(y) if y.mix().inserts());
    if inserts || stream.planned_ops() > MAX_PLANNED_OPS {
        return stream;
    }
    match Planned::draw(&stream) {
        Some(planned) => OpStream::Planned(planned),
        None => stream,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::workload::db_bench::{IndexOp, Uniform};
    use crate::workload::ops::OpRng;
    use crate::workload::ycsb::{InsertCounter, Ycsb, YcsbMix};
    use crate::workload::zipfian::{Zipfian, YCSB_ZIPFIAN_CONSTANT};

    fn ycsb(mix: YcsbMix, records: u64, count: u64) -> OpStream {
        let zipf = Arc::new(Zipfian::new(records, YCSB_ZIPFIAN_CONSTANT));
        let inserts = InsertCounter::new(records, records * 2);
        OpStream::Ycsb(Ycsb::new(
            mix,
            OpRng::new(7, 1),
            zipf,
            records,
            inserts,
            count,
        ))
    }

    /// A planned stream yields exactly the operations of the stream it was
    /// drawn from.
    #[test]
    fn planned_streams_replay_their_source_exactly() {
        for mix in [YcsbMix::A, YcsbMix::B, YcsbMix::C, YcsbMix::F] {
            let source = ycsb(mix, 5_000, 20_000);
            let planned = plan(source.clone());
            assert!(matches!(planned, OpStream::Planned(_)), "{mix:?}");
            assert_eq!(planned.planned_ops(), 20_000);
            let a: Vec<Op> = source.collect();
            let b: Vec<Op> = planned.collect();
            assert_eq!(a, b, "{mix:?}");
        }
    }

    /// Streams that cannot be drawn up front are returned unchanged.
    #[test]
    fn inserts_scans_endless_and_wide_streams_are_not_planned() {
        // D inserts through a shared counter, E scans.
        for mix in [YcsbMix::D, YcsbMix::E] {
            let planned = plan(ycsb(mix, 100, 1_000));
            assert!(matches!(planned, OpStream::Ycsb(_)), "{mix:?}");
        }
        let endless = OpStream::Uniform(Uniform::new(OpRng::new(1, 1), 10, u64::MAX, IndexOp::Get));
        assert!(matches!(plan(endless), OpStream::Uniform(_)));
        let wide = OpStream::Uniform(Uniform::new(
            OpRng::new(1, 1),
            MAX_INDEX * 4,
            100,
            IndexOp::Get,
        ));
        let kept = plan(wide.clone());
        assert!(matches!(kept, OpStream::Uniform(_)));
        assert_eq!(kept.collect::<Vec<_>>(), wide.collect::<Vec<_>>());
        assert_eq!(pack(Op::Get(MAX_INDEX - 1)), Some((MAX_INDEX - 1) as u32));
        assert_eq!(pack(Op::Get(MAX_INDEX)), None);
    }
}
