//! Only the newest data file may end in anything but a complete record:
//! open truncates a bad tail only there, and calls one anywhere else
//! damage. Preallocation must keep it so. The active file is extended ahead
//! of its data under `SyncPolicy::Always`, so a rollover trims it back to
//! its data, durably, before it creates the next file; a clean close trims
//! it too. Checked after every write of a workload with rollovers and a
//! merge, on what a power loss at that moment would leave: at most one file
//! ends in zeros, it holds the newest record (or no record yet: a file
//! just created by a rollover, which the torn-tail rule picks first), every
//! other file ends exactly with its last record, and the store reopens with
//! every write and nothing counted as torn.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{always_options, assert_matches, data_files, dir, read_log, value};
use kv_bitcask::Bitcask;
use kv_core::codec::Tail;
use kv_core::testkit::{Model, SeedGuard, SimFs};
use kv_core::{Store, WriteBatch};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

const MAX_FILE_BYTES: u64 = 1000;
/// Less than a file, so a file is extended several times, the last time
/// only up to `MAX_FILE_BYTES`.
const PREALLOCATE_BYTES: u64 = 300;

/// Asserts the invariant on the durable state of `sim`, whose store under
/// `SyncPolicy::Always` has acknowledged exactly `model`.
fn assert_only_the_newest_file_has_a_zero_tail(sim: &SimFs, model: &Model, context: &str) {
    let crashed = sim.crash();
    let mut newest_seq = 0;
    let mut zero_tails = Vec::new();
    for path in data_files(&crashed) {
        let bytes = crashed.contents(&path).unwrap();
        let (tail, max_seq) = read_log(&bytes);
        newest_seq = newest_seq.max(max_seq);
        match tail {
            Tail::Clean => {}
            Tail::Torn { offset, .. } => {
                assert!(
                    bytes[offset as usize..].iter().all(|&b| b == 0),
                    "{context}: {} ends in bytes that are not zeros after offset {offset}",
                    path.display()
                );
                zero_tails.push((path, max_seq));
            }
            Tail::Pending => unreachable!("read_log reads to the end"),
        }
    }
    assert!(
        zero_tails.len() <= 1,
        "{context}: several files end in preallocated space: {zero_tails:?}"
    );
    if let Some((path, max_seq)) = zero_tails.first() {
        assert!(
            *max_seq == newest_seq || *max_seq == 0,
            "{context}: {} ends in preallocated space but holds neither the newest record nor none",
            path.display()
        );
    }
    let reopened = Bitcask::open(
        dir(),
        always_options(&crashed, MAX_FILE_BYTES, PREALLOCATE_BYTES),
    )
    .unwrap_or_else(|e| panic!("{context}: reopen after a crash failed: {e}"));
    assert_eq!(reopened.stats().torn_bytes_truncated, 0, "{context}");
    assert_matches(&reopened, model, context);
}

#[test]
fn sealed_files_have_no_preallocated_tail() {
    let guard = SeedGuard::new("sealed_files_have_no_preallocated_tail");
    let mut rng = StdRng::seed_from_u64(guard.seed());
    let sim = SimFs::new(guard.seed());
    let options = || always_options(&sim, MAX_FILE_BYTES, PREALLOCATE_BYTES);
    let store = Bitcask::open(dir(), options()).unwrap();
    let mut model = Model::new();
    for step in 0..80 {
        let i = rng.random_range(0..25);
        let k = format!("k{i}").into_bytes();
        if step == 40 {
            store.compact().unwrap(); // rolls over, writes merge output
        } else if rng.random_range(0..6) == 0 {
            let mut batch = WriteBatch::new();
            batch
                .put(k.clone(), value(i, step, 30))
                .delete(b"k0".to_vec());
            store.write(&batch).unwrap();
            model.apply_batch(&batch);
        } else {
            let v = value(i, step, rng.random_range(0..120));
            store.put(&k, &v).unwrap();
            model.put(&k, &v);
        }
        assert_only_the_newest_file_has_a_zero_tail(&sim, &model, &format!("step {step}"));
    }
    assert!(
        store.stats().extra["files"] >= 4,
        "too few rollovers: {:?}",
        store.stats().extra
    );
    assert!(store.stats().extra["preallocated_bytes"] > 0);
    store.check().unwrap();

    // A clean close trims the active file too.
    drop(store);
    for path in data_files(&sim) {
        let durable = sim.durable_contents(&path).unwrap();
        assert_eq!(
            read_log(&durable).0,
            Tail::Clean,
            "{} after a clean close",
            path.display()
        );
    }
    let store = Bitcask::open(dir(), options()).unwrap();
    let stats = store.stats();
    assert_eq!(stats.torn_bytes_truncated, 0);
    assert_eq!(stats.extra["preallocated_bytes_trimmed_at_open"], 0);
    assert_matches(&store, &model, "after a clean close");
    store.check().unwrap();
}
