//! A crash during compaction while unsynced writes are pending (`Manual`):
//! compaction may make them durable or not, but never half of what they
//! imply. A tombstone whose newer put is not durable must not be dropped
//! (the old value would come back), and an old put whose newer tombstone is
//! not durable must not be dropped either (a later unsynced write would be
//! lost while the delete survived).

use rand::rngs::StdRng;

use super::harness::{cap, crash_points, key, ok, seeded_rng, value};
use super::recovery::{crash_and_verify, crash_modes, fresh_sim_store, random_writes};
use super::{CaseOutcome, Engine};
use crate::options::SyncPolicy;
use crate::store::Store;
use crate::testkit::{History, Model, ModelOp, SeedGuard};

/// Key holding a durable tombstone that an unsynced put overwrites.
fn tombstoned() -> Vec<u8> {
    key(2000)
}

/// Key holding a durable value that an unsynced delete removes.
fn doomed() -> Vec<u8> {
    key(2001)
}

/// The workload: random synced writes plus a put and a delete (of
/// [`tombstoned`]) and a put of [`doomed`], then `Sync`; then unsynced: a
/// put of a new key, a delete of `doomed`, a put over `tombstoned`, and
/// random writes.
pub(super) fn compaction_workload(rng: &mut StdRng) -> Vec<ModelOp> {
    let put = |k: Vec<u8>, n| ModelOp::Put {
        value: value(n, n as u32, 120),
        key: k,
    };
    let mut ops = random_writes(rng, 120, 40, 300);
    ops.push(put(tombstoned(), 1));
    ops.push(ModelOp::Delete { key: tombstoned() });
    ops.push(put(doomed(), 2));
    ops.push(ModelOp::Sync);
    ops.push(put(key(3000), 3));
    ops.push(ModelOp::Delete { key: doomed() });
    ops.push(put(tombstoned(), 4));
    ops.extend(random_writes(rng, 30, 40, 300));
    ops
}

/// Applies `ops` (all must succeed), recording them and their syncs.
fn apply_all(store: &dyn Store, ops: &[ModelOp], history: &mut History) {
    for op in ops {
        if *op == ModelOp::Sync {
            ok(store.sync(), "sync");
            history.mark_synced();
        } else {
            ok(
                super::harness::write_op(store, op),
                "a write before compact()",
            );
            history.acknowledge(op);
        }
    }
}

/// Under `SyncPolicy::Manual`, with writes pending after the last `sync()`
/// (a put over a durable tombstone, a delete of a durable value), power is
/// cut at every file-system operation of `compact()` (sampled when there
/// are many) and after it: after a crash in every crash mode the store
/// holds a prefix of the acknowledged writes that keeps every synced one.
pub fn crash_during_compaction_with_unsynced_writes_loses_nothing_synced(
    engine: &Engine,
) -> CaseOutcome {
    let guard = SeedGuard::new(format!(
        "{}::crash_during_compaction_with_unsynced_writes_loses_nothing_synced",
        engine.name
    ));
    let mut rng = seeded_rng(guard.seed());
    let ops = compaction_workload(&mut rng);
    let (sim, store) = fresh_sim_store(engine, guard.seed(), SyncPolicy::Manual);
    apply_all(&*store, &ops, &mut History::new(Model::new()));
    let before = sim.op_count();
    ok(store.compact(), "compact() without a crash");
    let total = sim.op_count() - before;
    drop(store);
    for n in crash_points(total, cap(30, 500), &mut rng) {
        let (sim, store) = fresh_sim_store(engine, guard.seed() ^ n, SyncPolicy::Manual);
        let mut history = History::new(Model::new());
        apply_all(&*store, &ops, &mut history);
        sim.power_off_after(n);
        let _ = store.compact();
        for mode in crash_modes(&mut rng) {
            let context = format!(
                "power cut after {n} of compact()'s {total} operations, {} writes pending",
                history.acknowledged() - history.synced()
            );
            crash_and_verify(engine, &sim, mode, SyncPolicy::Manual, &history, context);
        }
        drop(store);
    }
    CaseOutcome::Passed
}
