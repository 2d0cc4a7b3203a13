//! The kvlab conformance suite, stamped twice for the LSM engine:
//!
//! - `lsm_tiny`: a 4 KiB memtable, 256-byte blocks, 4 KiB tables and a
//!   16 KiB L1, so flushes, L0 compactions and deeper compactions run
//!   constantly inside the suite's small workloads, crash cases included,
//!   with `exact_live_keys` on (so the suite checks the exact count);
//! - `defaults`: the engine's defaults (64 MiB memtable, `live_keys` an
//!   estimate), where everything stays in the WAL and memtable until
//!   `compact()` or a reopen.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use kv_core::testkit::conformance::Engine;
use kv_lsm::{Lsm, LsmOptions};

fn lsm_tiny() -> Engine {
    Engine::new("lsm-tiny", |dir, core| {
        let mut options = LsmOptions::tiny(core);
        options.exact_live_keys = true;
        Ok(Box::new(Lsm::open(dir, options)?))
    })
    .snapshot_scans(true)
}

kv_core::conformance_suite!(lsm_tiny);

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
