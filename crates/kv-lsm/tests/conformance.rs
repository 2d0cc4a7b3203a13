//! The kvlab conformance suite, stamped twice for the LSM engine:
//!
//! - `lsm_tiny`: a 4 KiB memtable, 256-byte blocks, 4 KiB tables and a
//!   16 KiB L1, so flushes, L0 compactions and deeper compactions run
//!   constantly inside the suite's small workloads, crash cases included,
//!   with `exact_live_keys` on (so the suite checks the exact count);
//! - `lsm_tiered_tiny`: the same tiny sizes with tiered compaction (the
//!   `lsm-tiered` registry entry's strategy), so sorted runs are merged and
//!   full merges forced by the space bound run inside the crash cases;
//! - `defaults`: the engine's defaults (64 MiB memtable, `live_keys` an
//!   estimate), where everything stays in the WAL and memtable until
//!   `compact()` or a reopen.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use kv_core::testkit::conformance::{Engine, PlantedDamage};
use kv_core::testkit::SimFs;
use kv_lsm::{Lsm, LsmOptions};

/// The table files of the store in `dir`, newest (highest number) first:
/// the newest are the live ones, as compaction removes its inputs.
fn tables_newest_first(sim: &SimFs, dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = sim
        .files()
        .into_iter()
        .filter(|p| p.parent() == Some(dir) && p.extension().is_some_and(|e| e == "sst"))
        .collect();
    files.sort();
    files.reverse();
    files
}

/// Flips a byte inside the first data block (which starts at offset 0) of
/// each of the `count` newest tables: bytes `check()` reads and verifies
/// from the file, but that a get served from the block cache, the
/// memtable or a newer version never reads.
fn damage_first_blocks(sim: &SimFs, dir: &Path, count: usize) -> Vec<PlantedDamage> {
    let mut planted = Vec::new();
    for file in tables_newest_first(sim, dir) {
        if planted.len() == count {
            break;
        }
        let spot = 8;
        if sim.corrupt(&file, spot, b"\xa5") {
            planted.push(PlantedDamage::new(file, spot));
        }
    }
    planted
}

fn lsm_tiny() -> Engine {
    Engine::new("lsm-tiny", |dir, core| {
        let mut options = LsmOptions::tiny(core);
        options.exact_live_keys = true;
        Ok(Box::new(Lsm::open(dir, options)?))
    })
    .snapshot_scans(true)
    .hidden_damage(|sim, dir| damage_first_blocks(sim, dir, 1))
    .separate_damage(damage_first_blocks)
}

kv_core::conformance_suite!(lsm_tiny);

mod tiered {
    use super::damage_first_blocks;
    use kv_core::testkit::conformance::Engine;
    use kv_lsm::{CompactionStrategy, Lsm, LsmOptions};

    fn lsm_tiered_tiny() -> Engine {
        Engine::new("lsm-tiered-tiny", |dir, core| {
            let mut options = LsmOptions::tiny(core);
            options.exact_live_keys = true;
            options.compaction = CompactionStrategy::tiered();
            Ok(Box::new(Lsm::open(dir, options)?))
        })
        .snapshot_scans(true)
        .hidden_damage(|sim, dir| damage_first_blocks(sim, dir, 1))
        .separate_damage(damage_first_blocks)
    }

    kv_core::conformance_suite!(lsm_tiered_tiny);
}

mod defaults {
    fn lsm_defaults() -> kv_core::testkit::conformance::Engine {
        kv_core::testkit::conformance::Engine::new("lsm", |dir, core| {
            Ok(Box::new(kv_lsm::Lsm::open(
                dir,
                kv_lsm::LsmOptions::new(core),
            )?))
        })
        .snapshot_scans(true)
    }

    kv_core::conformance_suite!(lsm_defaults);
}
