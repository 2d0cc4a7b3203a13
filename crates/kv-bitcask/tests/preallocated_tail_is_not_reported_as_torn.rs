//! Under `SyncPolicy::Always` the active data file is extended ahead of its
//! data (`BitcaskOptions::preallocate_bytes`), so after a power loss it ends
//! in zero-filled space that no write ever touched. That is not a torn
//! write: open trims it without counting it in `torn_bytes_truncated` (it is
//! reported in `extra["preallocated_bytes_trimmed_at_open"]`), keeps every
//! record, and the next write lands right after the last record, with no
//! hole of zeros before it. A write that was really torn inside that space
//! (the first bytes of a record, then zeros) is still counted as torn.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;

use common::{always_options, assert_matches, data_files, dir, key, read_log, value};
use kv_bitcask::Bitcask;
use kv_core::codec::{decode_record, encode_put, Decoded, Tail};
use kv_core::testkit::{Model, SimFs};
use kv_core::Store;

const PREALLOCATE_BYTES: u64 = 4096;
const MAX_FILE_BYTES: u64 = 1 << 20;
/// A put of a 7-byte key and a 50-byte value.
const PUT_BYTES: u64 = 23 + 8 + 50;
const PUTS: usize = 20;
/// A durable frontier record (format 2): one follows the first sync of a
/// file; a clean close appends one, and so does the first write after an
/// open that found none at the end of the file.
const FRONTIER_BYTES: u64 = 23;
/// The active file created at open: its header, synced before the file set
/// lists it, then one preallocation step added by the first write.
const ALLOCATED_BYTES: u64 = 24 + PREALLOCATE_BYTES;
const DATA_BYTES: u64 = 24 + FRONTIER_BYTES + PUTS as u64 * PUT_BYTES;

fn open(sim: &SimFs) -> Bitcask {
    Bitcask::open(
        dir(),
        always_options(sim, MAX_FILE_BYTES, PREALLOCATE_BYTES),
    )
    .unwrap()
}

fn trimmed(store: &Bitcask) -> u64 {
    store.stats().extra["preallocated_bytes_trimmed_at_open"]
}

/// A store of `PUTS` synced puts, and the world after a power loss that
/// hit while it was open (the clean close never ran).
fn crashed_with_a_preallocated_tail() -> (SimFs, Model) {
    let sim = SimFs::new(7);
    let store = open(&sim);
    let mut model = Model::new();
    for i in 0..PUTS {
        store.put(&key(i), &value(i, 1, 50)).unwrap();
        model.put(&key(i), &value(i, 1, 50));
    }
    let active = data_files(&sim).pop().unwrap();
    assert_eq!(sim.contents(&active).unwrap().len() as u64, ALLOCATED_BYTES);
    let stats = store.stats();
    assert_eq!(
        stats.extra["preallocated_bytes"],
        ALLOCATED_BYTES - DATA_BYTES
    );
    assert_eq!(stats.extra["file.0000000001.total_bytes"], DATA_BYTES);
    // The frontier record holds no live data.
    assert_eq!(stats.extra["file.0000000001.dead_bytes"], FRONTIER_BYTES);
    assert!(stats.disk_bytes >= ALLOCATED_BYTES, "{}", stats.disk_bytes);
    store.check().unwrap();
    let crashed = sim.crash();
    drop(store); // closes into the old world, not the crashed one
    (crashed, model)
}

fn record_key_at(bytes: &[u8], offset: u64) -> Vec<u8> {
    match decode_record(&bytes[offset as usize..]) {
        Decoded::Record { record, .. } => record.key.to_vec(),
        other => panic!("no record at offset {offset}: {other:?}"),
    }
}

#[test]
fn preallocated_tail_is_not_reported_as_torn() {
    let (sim, mut model) = crashed_with_a_preallocated_tail();
    let active = data_files(&sim).pop().unwrap();
    assert_eq!(
        sim.contents(&active).unwrap().len() as u64,
        ALLOCATED_BYTES,
        "the extension was synced with the first put"
    );

    let store = open(&sim);
    assert_eq!(store.stats().torn_bytes_truncated, 0);
    assert_eq!(trimmed(&store), ALLOCATED_BYTES - DATA_BYTES);
    assert_eq!(
        sim.durable_contents(&active).unwrap().len() as u64,
        DATA_BYTES
    );
    assert_matches(&store, &model, "after trimming the preallocated tail");
    store.check().unwrap();

    // The next write lands right after the data, and preallocates again.
    store.put(b"next", b"after the trim").unwrap();
    model.put(b"next", b"after the trim");
    let bytes = sim.contents(&active).unwrap();
    // The first write after the open says first what is durable.
    assert_eq!(record_key_at(&bytes, DATA_BYTES + FRONTIER_BYTES), b"next");
    assert_eq!(bytes.len() as u64, DATA_BYTES + PREALLOCATE_BYTES);

    // A clean close trims; the reopen finds nothing to trim and reuses the
    // file with its hint.
    drop(store);
    let next_end = DATA_BYTES + FRONTIER_BYTES + 23 + 4 + 14 + FRONTIER_BYTES;
    assert_eq!(
        sim.durable_contents(&active).unwrap().len() as u64,
        next_end
    );
    assert_eq!(read_log(&sim.contents(&active).unwrap()).0, Tail::Clean);
    let store = open(&sim);
    assert_eq!(store.stats().torn_bytes_truncated, 0);
    assert_eq!(trimmed(&store), 0);
    assert_eq!(store.stats().extra["hints_loaded_at_open"], 1);

    // A crash after more writes: the tail past the hint's coverage is
    // scanned, and its zeros are trimmed, not counted as torn.
    store.put(b"later", b"x").unwrap();
    model.put(b"later", b"x");
    let crashed = sim.crash();
    drop(store);
    let store = open(&crashed);
    let later_end = next_end + 23 + 5 + 1; // the close's frontier is current
    assert_eq!(store.stats().torn_bytes_truncated, 0);
    assert_eq!(trimmed(&store), next_end + PREALLOCATE_BYTES - later_end);
    assert_eq!(crashed.contents(&active).unwrap().len() as u64, later_end);
    assert_matches(&store, &model, "after a second crash");
    store.check().unwrap();
}

#[test]
fn a_write_torn_inside_preallocated_space_is_still_torn() {
    for kept in [1usize, 8, 30, PUT_BYTES as usize - 1] {
        let (sim, model) = crashed_with_a_preallocated_tail();
        let active = data_files(&sim).pop().unwrap();
        // The first `kept` bytes of the next put reached the disk, in place
        // of the zeros.
        let mut torn = Vec::new();
        encode_put(&mut torn, 1000, &key(99), &value(99, 1, 50));
        assert!(sim.corrupt(&active, DATA_BYTES, &torn[..kept]));
        let store = open(&sim);
        let context = format!("{kept} bytes of the torn put");
        assert_eq!(
            store.stats().torn_bytes_truncated,
            ALLOCATED_BYTES - DATA_BYTES,
            "{context}"
        );
        assert_eq!(trimmed(&store), 0, "{context}");
        assert_matches(&store, &model, &context);
        store.check().unwrap();
    }
}

#[test]
fn a_new_file_of_zeros_is_preallocated_space_not_a_torn_write() {
    // A rollover trimmed the active file, synced it, created the next file
    // and extended it, and the power went before the new file's header
    // reached the disk: it holds only zeros.
    let (sim, model) = crashed_with_a_preallocated_tail();
    let sealed = data_files(&sim).pop().unwrap();
    assert!(sim.set_len_durably(&sealed, DATA_BYTES));
    let path = dir().join("0000000009.data");
    let f = kv_core::Fs::create(&sim, &path).unwrap();
    f.truncate(PREALLOCATE_BYTES).unwrap();
    f.sync().unwrap();
    kv_core::Fs::sync_dir(&sim, Path::new(common::DIR)).unwrap();
    let store = open(&sim);
    assert_eq!(store.stats().torn_bytes_truncated, 0);
    assert_eq!(trimmed(&store), PREALLOCATE_BYTES);
    assert!(!sim.files().contains(&path), "the empty file is removed");
    assert_matches(&store, &model, "after removing a file of zeros");
    store.check().unwrap();
}
