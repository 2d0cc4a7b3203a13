//! The kvlab conformance suite, run against Bitcask with 4 KiB data files so
//! that rollover, hint files and automatic merges all happen inside the
//! suite's small workloads. The default preallocation (1 MiB, capped at the
//! file size) applies to the cases under `SyncPolicy::Always`, so there each
//! file is extended once, to its full size. The suite is stamped a second
//! time in `preallocated_in_steps`, with a 512-byte step, so that the cases
//! also cut the power around extensions in the middle of a file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use kv_bitcask::{Bitcask, BitcaskOptions, MergePolicy};
use kv_core::testkit::conformance::Engine;

fn bitcask_with(name: &'static str, preallocate_bytes: u64) -> Engine {
    Engine::new(name, move |dir, core| {
        let options = BitcaskOptions {
            core,
            max_file_bytes: 4096,
            merge: MergePolicy {
                small_file_bytes: 1024,
                check_interval_ms: 20,
                ..MergePolicy::default()
            },
            write_buffer_bytes: 2048,
            preallocate_bytes,
            ..BitcaskOptions::default()
        };
        Ok(Box::new(Bitcask::open(dir, options)?))
    })
}

fn bitcask_small_files() -> Engine {
    bitcask_with("bitcask", kv_bitcask::options::DEFAULT_PREALLOCATE_BYTES)
}

kv_core::conformance_suite!(bitcask_small_files);

mod preallocated_in_steps {
    fn bitcask_preallocated_in_steps() -> kv_core::testkit::conformance::Engine {
        super::bitcask_with("bitcask-preallocated-in-steps", 512)
    }

    kv_core::conformance_suite!(bitcask_preallocated_in_steps);
}
