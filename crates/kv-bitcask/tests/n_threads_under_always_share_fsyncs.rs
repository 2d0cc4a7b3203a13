//! Under `SyncPolicy::Always`, concurrent writers go through the group-commit
//! queue: whatever the interleaving, no write costs more than one file sync
//! (syncs never exceed acknowledged writes; the sharing ratio itself depends
//! on scheduling and is a benchmark figure, see `examples/fillsync_threads`),
//! and every acknowledged write survives a power loss that keeps only synced
//! data.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use common::{always_options, dir};
use kv_bitcask::Bitcask;
use kv_core::testkit::{SeedGuard, SimFs};
use kv_core::Store;

const THREADS: usize = 4;
const PUTS_PER_THREAD: usize = 60;

fn key(t: usize, i: usize) -> Vec<u8> {
    format!("t{t}-{i:04}").into_bytes()
}

fn value(t: usize, i: usize) -> Vec<u8> {
    format!("value of thread {t} put {i}").into_bytes()
}

#[test]
fn n_threads_under_always_share_fsyncs() {
    let guard = SeedGuard::new("n_threads_under_always_share_fsyncs");
    let sim = SimFs::new(guard.seed());
    // Small files, so writers also race rollovers; preallocation on.
    let store = Arc::new(Bitcask::open(dir(), always_options(&sim, 2048, 512)).unwrap());
    let before = store.stats().io;
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                for i in 0..PUTS_PER_THREAD {
                    store.put(&key(t, i), &value(t, i)).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let io = store.stats().io;
    let acknowledged = (THREADS * PUTS_PER_THREAD) as u64;
    let syncs = io.file_syncs - before.file_syncs;
    // A rollover costs three syncs of its own (under the writer lock, once
    // per file): sealing the old file, the new file's header, and the
    // file-set record listing it; every other sync is a group's and covers
    // at least one acknowledged write.
    let rollovers = store.stats().extra["files"] - 1;
    assert!(rollovers >= 1, "the workload should roll over");
    assert!(syncs >= 1, "an Always store that took writes never synced");
    assert!(
        syncs <= acknowledged + 3 * rollovers,
        "{syncs} file syncs for {acknowledged} acknowledged writes and {rollovers} rollovers"
    );

    // Power loss without a close: only synced bytes survive.
    let crashed = sim.crash();
    drop(store);
    let reopened = Bitcask::open(dir(), always_options(&crashed, 2048, 512)).unwrap();
    for t in 0..THREADS {
        for i in 0..PUTS_PER_THREAD {
            assert_eq!(
                reopened.get(&key(t, i)).unwrap(),
                Some(value(t, i)),
                "acknowledged put {i} of thread {t} lost"
            );
        }
    }
    reopened.check().unwrap();
}
