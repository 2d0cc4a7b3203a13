//! The kvlab conformance suite, run against Bitcask with 4 KiB data files so
//! that rollover, hint files and automatic merges all happen inside the
//! suite's small workloads. The default preallocation (1 MiB, capped at the
//! file size) applies to the cases under `SyncPolicy::Always`, so there each
//! file is extended once, to its full size. The suite is stamped a second
//! time in `preallocated_in_steps`, with a 512-byte step, so that the cases
//! also cut the power around extensions in the middle of a file. Both stamps
//! declare the damage hooks: a flipped byte in the value of the first put of
//! sealed data files (records `check()` verifies and a get of a newer
//! version never reads).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use kv_bitcask::{Bitcask, BitcaskOptions, MergePolicy};
use kv_core::codec::{LogEntry, LogReader, RecordKind};
use kv_core::testkit::conformance::{Engine, PlantedDamage};
use kv_core::testkit::SimFs;

/// The data files of the store in `dir`, oldest id first, without the
/// newest (the one a crash may have torn: damage there may be a torn tail).
fn sealed_data_files(sim: &SimFs, dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = sim
        .files()
        .into_iter()
        .filter(|p| p.parent() == Some(dir) && p.extension().is_some_and(|e| e == "data"))
        .collect();
    files.pop();
    files
}

/// Offset of the first put record of a data file's bytes.
fn first_put(bytes: &[u8]) -> Option<u64> {
    let body = bytes.get(24..)?;
    LogReader::new(Path::new("data"), body, 24).find_map(|entry| match entry.ok()? {
        LogEntry::Single(rec) if rec.record.kind == RecordKind::Put => Some(rec.offset),
        _ => None,
    })
}

/// Flips a byte inside the value of the first put of each of the first
/// `count` sealed data files: records `check()` reads and verifies but a get
/// of a newer version never touches.
fn damage_first_puts(sim: &SimFs, dir: &Path, count: usize) -> Vec<PlantedDamage> {
    let mut planted = Vec::new();
    for file in sealed_data_files(sim, dir) {
        if planted.len() == count {
            break;
        }
        let Some(at) = sim.contents(&file).as_deref().and_then(first_put) else {
            continue;
        };
        let spot = at + 40; // inside the value of a 100-byte-value put
        if sim.corrupt(&file, spot, b"\xa5") {
            planted.push(PlantedDamage::new(file, spot));
        }
    }
    planted
}

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
    .hidden_damage(|sim, dir| damage_first_puts(sim, dir, 1))
    .separate_damage(damage_first_puts)
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
