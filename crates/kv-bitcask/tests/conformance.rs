//! The kvlab conformance suite, run against Bitcask with 4 KiB data files so
//! that rollover, hint files and automatic merges all happen inside the
//! suite's small workloads.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use kv_bitcask::{Bitcask, BitcaskOptions, MergePolicy};
use kv_core::testkit::conformance::Engine;

fn bitcask_small_files() -> Engine {
    Engine {
        name: "bitcask",
        persistent: true,
        uses_fs: true,
        open: Arc::new(|dir, core| {
            let options = BitcaskOptions {
                core,
                max_file_bytes: 4096,
                merge: MergePolicy {
                    small_file_bytes: 1024,
                    check_interval_ms: 20,
                    ..MergePolicy::default()
                },
                write_buffer_bytes: 2048,
                ..BitcaskOptions::default()
            };
            Ok(Box::new(Bitcask::open(dir, options)?))
        }),
    }
}

kv_core::conformance_suite!(bitcask_small_files);
