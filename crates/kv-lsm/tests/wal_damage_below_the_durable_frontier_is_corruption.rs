//! A byte flipped in a WAL record that a durable frontier record proves was
//! synced is corruption, not a torn tail: even after a crash with
//! out-of-order writeback, a normal open fails with `Corruption` naming the
//! WAL, and a `Verify` open lists the damage in `check()`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{dir, key, options, value};
use kv_core::testkit::{CrashMode, SeedGuard, SimFs};
use kv_core::{Error, OpenMode, Store};
use kv_lsm::Lsm;

/// Writes two synced flush groups (the first over 4 KiB, so the frontier
/// record starting the second covers it), then crashes. Returns the crashed
/// file system and the WAL's path.
fn crashed_store(seed: u64, mode: CrashMode) -> (SimFs, std::path::PathBuf) {
    let sim = SimFs::new(seed);
    let mut o = options(&sim);
    o.write_buffer_bytes = 1 << 20;
    let store = Lsm::open(dir(), o).unwrap();
    for i in 0..60 {
        store.put(&key(i), &value(i, 0, 100)).unwrap();
    }
    store.sync().unwrap();
    for i in 0..10 {
        store.put(&key(i), &value(i, 1, 100)).unwrap();
    }
    store.sync().unwrap();
    std::mem::forget(store); // a crash: no clean close
    let crashed = sim.crash_with(mode);
    let wal = crashed
        .files()
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "log"))
        .expect("a WAL file");
    (crashed, wal)
}

#[test]
fn wal_damage_below_the_durable_frontier_is_corruption() {
    let guard = SeedGuard::new("wal_damage_below_the_durable_frontier_is_corruption");
    for mode in [
        CrashMode::power_loss(),
        CrashMode::reordered_writeback(),
        CrashMode::reordered_writeback_torn_sectors(),
    ] {
        let (sim, wal) = crashed_store(guard.seed(), mode);
        // Header (16) + the first frontier record (23) + a few bytes into
        // the first put: synced, and below the frontier of the second group.
        let at = 16 + 23 + 12;
        let old = sim.contents(&wal).unwrap()[at];
        assert!(sim.corrupt(&wal, at as u64, &[old ^ 0x5a]));
        let mut o = options(&sim);
        o.write_buffer_bytes = 1 << 20;
        match Lsm::open(dir(), o) {
            Err(Error::Corruption { file, .. }) => assert_eq!(file, wal, "{mode:?}"),
            Err(e) => panic!("{mode:?}: expected Corruption, got {e}"),
            Ok(_) => panic!("{mode:?}: open accepted damaged synced WAL bytes"),
        }
        let mut o = options(&sim);
        o.core = o.core.clone().open_mode(OpenMode::Verify);
        let verified = Lsm::open(dir(), o).unwrap();
        let report = verified.check().unwrap();
        assert!(
            report.damage.iter().any(|d| d.file == wal),
            "{mode:?}: check() does not list the WAL damage: {:?}",
            report.damage
        );
    }
}
