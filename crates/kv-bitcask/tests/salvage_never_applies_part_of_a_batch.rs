//! Regression (review finding 4): salvage applied half a batch.
//!
//! The story. A batch is one framed group: a `BatchBegin` record announcing
//! `n` members, then the members, plain `Put` and `Delete` records with
//! consecutive sequence numbers. The log reader yields a group only whole, so
//! when member k was damaged it yielded nothing of the batch and reported
//! corruption at member k. Salvage then resumed at the next valid record,
//! member k+1, where nothing marks a record as a batch member: the reader
//! took members k+1..n as ordinary single writes, and the store opened with
//! the end of the batch applied and its start missing.
//!
//! The fix: after damage inside a batch whose `BatchBegin` decodes, salvage
//! knows the batch's sequence numbers and drops every record of that range
//! it resumes at, counting it in `salvaged_records` and its bytes in
//! `salvaged_bytes`. When the `BatchBegin` itself is damaged the batch's
//! length is unknown: unless the damaged bytes still parse as single records,
//! salvage drops the run of consecutively numbered records it resumes at,
//! up to the next batch, a gap in the numbers, or the end of the file (it may
//! drop single writes after the batch too, and reports them).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::PathBuf;

use common::{dir, open, sim_options};
use kv_bitcask::{Bitcask, BitcaskOptions};
use kv_core::testkit::SimFs;
use kv_core::{Error, Store, WriteBatch};

const HEADER_BYTES: u64 = 23;
/// A put of a one-byte key and a two-byte value.
const PUT_BYTES: u64 = HEADER_BYTES + 1 + 2;
const DELETE_BYTES: u64 = HEADER_BYTES + 1;
/// Where the batch starts: after the file header and `put a`.
const BATCH_AT: u64 = 24 + PUT_BYTES;
/// The batch: BatchBegin, put b, put c, delete a, put d.
const BATCH_BYTES: u64 = HEADER_BYTES + 3 * PUT_BYTES + DELETE_BYTES;

/// One data file, no hint: `put a` (seq 1), the batch `put b, put c,
/// delete a, put d` (seqs 2..=5), `put e` (seq 6), then a second batch
/// `put f, put g` (seqs 7, 8) and `put h` (seq 9).
fn setup(seed: u64) -> (SimFs, PathBuf) {
    let sim = SimFs::new(seed);
    let store = open(&sim, 1 << 20);
    store.put(b"a", b"a1").unwrap();
    let mut batch = WriteBatch::new();
    batch
        .put(b"b".to_vec(), b"b1".to_vec())
        .put(b"c".to_vec(), b"c1".to_vec())
        .delete(b"a".to_vec())
        .put(b"d".to_vec(), b"d1".to_vec());
    store.write(&batch).unwrap();
    store.put(b"e", b"e1").unwrap();
    let mut second = WriteBatch::new();
    second
        .put(b"f".to_vec(), b"f1".to_vec())
        .put(b"g".to_vec(), b"g1".to_vec());
    store.write(&second).unwrap();
    store.put(b"h", b"h1").unwrap();
    drop(store);
    let hint = sim
        .files()
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "hint"))
        .unwrap();
    assert!(sim.set_len_durably(&hint, 0), "lose the hint so open scans");
    let data = sim
        .files()
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "data"))
        .unwrap();
    (sim, data)
}

fn salvaging(sim: &SimFs) -> BitcaskOptions {
    let mut options = sim_options(sim, 1 << 20);
    options.salvage = true;
    options
}

fn get(store: &Bitcask, key: &[u8]) -> Option<Vec<u8>> {
    store.get(key).unwrap()
}

#[test]
fn salvage_never_applies_part_of_a_batch() {
    let (sim, file) = setup(31);
    // Bit rot in the value of member 1 (put c).
    let member_1 = BATCH_AT + HEADER_BYTES + PUT_BYTES;
    assert!(sim.corrupt(&file, member_1 + HEADER_BYTES + 1, b"#"));
    let err = Bitcask::open(dir(), sim_options(&sim, 1 << 20)).unwrap_err();
    assert!(
        matches!(&err, Error::Corruption { offset, .. } if *offset == member_1),
        "{err}"
    );

    let store = Bitcask::open(dir(), salvaging(&sim)).unwrap();
    // None of the batch: a is not deleted, b, c and d are not there.
    assert_eq!(get(&store, b"a"), Some(b"a1".to_vec()));
    for key in [&b"b"[..], b"c", b"d"] {
        assert_eq!(get(&store, key), None, "{key:?} of the damaged batch");
    }
    // Everything after the batch is kept.
    for key in [&b"e"[..], b"f", b"g", b"h"] {
        assert!(get(&store, key).is_some(), "{key:?} after the batch");
    }
    let stats = store.stats();
    assert_eq!(stats.extra["salvaged_bytes"], BATCH_BYTES);
    // put b, delete a and put d were intact but dropped; put c is damaged.
    assert_eq!(stats.extra["salvaged_records"], 3);
}

#[test]
fn damage_in_the_last_member_drops_the_whole_batch() {
    let (sim, file) = setup(32);
    let last_member = BATCH_AT + HEADER_BYTES + 2 * PUT_BYTES + DELETE_BYTES;
    assert!(sim.corrupt(&file, last_member + HEADER_BYTES + 1, b"#"));
    let store = Bitcask::open(dir(), salvaging(&sim)).unwrap();
    assert_eq!(get(&store, b"a"), Some(b"a1".to_vec()));
    for key in [&b"b"[..], b"c", b"d"] {
        assert_eq!(get(&store, key), None, "{key:?} of the damaged batch");
    }
    for key in [&b"e"[..], b"f", b"g", b"h"] {
        assert!(get(&store, key).is_some(), "{key:?} after the batch");
    }
    let stats = store.stats();
    assert_eq!(stats.extra["salvaged_bytes"], BATCH_BYTES);
    assert_eq!(stats.extra["salvaged_records"], 3);
}

#[test]
fn a_damaged_batch_begin_drops_the_run_it_may_have_announced() {
    let (sim, file) = setup(33);
    // Bit rot in the BatchBegin's sequence number: its member count can no
    // longer be trusted.
    assert!(sim.corrupt(&file, BATCH_AT + 10, b"#"));
    let store = Bitcask::open(dir(), salvaging(&sim)).unwrap();
    assert_eq!(get(&store, b"a"), Some(b"a1".to_vec()));
    // The run of consecutive sequence numbers after the damage (seqs 2..=6:
    // the four members and put e) is dropped, up to the next batch.
    for key in [&b"b"[..], b"c", b"d", b"e"] {
        assert_eq!(get(&store, key), None, "{key:?} in the dropped run");
    }
    for key in [&b"f"[..], b"g", b"h"] {
        assert!(get(&store, key).is_some(), "{key:?} after the next batch");
    }
    let stats = store.stats();
    assert_eq!(stats.extra["salvaged_bytes"], BATCH_BYTES + PUT_BYTES);
    assert_eq!(stats.extra["salvaged_records"], 5);
}

#[test]
fn a_damaged_single_record_drops_only_itself() {
    let (sim, file) = setup(34);
    // Bit rot in the value of put e, a single write: its header still
    // parses as a single record, so nothing else is dropped.
    let put_e = BATCH_AT + BATCH_BYTES;
    assert!(sim.corrupt(&file, put_e + HEADER_BYTES + 1, b"#"));
    let store = Bitcask::open(dir(), salvaging(&sim)).unwrap();
    assert_eq!(get(&store, b"a"), None, "the batch deleted it");
    for key in [&b"b"[..], b"c", b"d", b"f", b"g", b"h"] {
        assert!(get(&store, key).is_some(), "{key:?}");
    }
    assert_eq!(get(&store, b"e"), None);
    let stats = store.stats();
    assert_eq!(stats.extra["salvaged_bytes"], PUT_BYTES);
    assert_eq!(stats.extra["salvaged_records"], 0);
}
