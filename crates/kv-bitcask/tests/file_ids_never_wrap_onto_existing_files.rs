//! Regression (review finding 5, file ids): a stray data file with the
//! largest id panicked open, or made the store overwrite its own files.
//!
//! The story. Open computed the next file id as the largest id in the
//! directory plus one, in `u32`. A file named `4294967295.data` (a valid
//! name: ten digits) made that addition overflow: a panic in a debug build;
//! in a release build the id wrapped to 0, the id counter then handed out 0,
//! 1, 2, ... again, and `Fs::create` on the name of a live data file
//! truncates it: a rollover would have wiped the store's oldest data.
//!
//! The fix: ids are counted in `u64` and checked when taken. When no `u32`
//! id is left, a rollover or a merge fails with a clear error (the store
//! keeps its data and stays readable), and open fails the same way if it
//! needs a new file. A new data file is also never created over an existing
//! name: that is refused as an error instead of truncating the file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{dir, key, open, sim_options, value};
use kv_bitcask::data_file::data_file_header;
use kv_bitcask::Bitcask;
use kv_core::codec::encode_put;
use kv_core::testkit::SimFs;
use kv_core::{Error, Fs, Store};

const MAX_FILE_BYTES: u64 = 1024;

/// A store with 8 keys in file 1, closed cleanly, plus a stray data file
/// with the largest possible id holding one put with sequence number `seq`.
fn store_with_a_stray_last_id(seed: u64, seq: u64) -> SimFs {
    let sim = SimFs::new(seed);
    let store = open(&sim, MAX_FILE_BYTES);
    for i in 0..8 {
        store.put(&key(i), &value(i, 0, 50)).unwrap();
    }
    drop(store);
    let mut bytes = data_file_header(u32::MAX).to_vec();
    encode_put(&mut bytes, seq, b"stray", b"s");
    let stray = sim.create(&dir().join("4294967295.data")).unwrap();
    stray.append(&bytes).unwrap();
    stray.sync().unwrap();
    sim.sync_dir(dir()).unwrap();
    sim
}

fn file_1(sim: &SimFs) -> Vec<u8> {
    sim.contents(&dir().join("0000000001.data")).unwrap()
}

#[test]
fn file_ids_never_wrap_onto_existing_files() {
    // The stray file holds the newest record, so open reuses it as the
    // active file and needs no new id yet.
    let sim = store_with_a_stray_last_id(41, 1000);
    let before = file_1(&sim);
    let store = open(&sim, MAX_FILE_BYTES);
    assert_eq!(store.get(b"stray").unwrap(), Some(b"s".to_vec()));
    // Write enough for several rollovers: the first needs an id, and there
    // is none left. (With wrapping ids the second rollover took id 1 and
    // truncated file 1.)
    let mut refused = None;
    for i in 100..160 {
        if let Err(e) = store.put(&key(i), &value(i, 0, 50)) {
            refused = Some((i, e));
            break;
        }
    }
    assert!(file_1(&sim) == before, "file 1 was overwritten");
    let (first_refused, err) = refused.expect("a rollover needed a new file id");
    assert!(
        matches!(&err, Error::InvalidArgument(m) if m.contains("file ids")),
        "{err}"
    );
    for i in 0..8 {
        assert_eq!(store.get(&key(i)).unwrap(), Some(value(i, 0, 50)), "{i}");
    }
    drop(store);
    let store = open(&sim, MAX_FILE_BYTES);
    for i in (0..8).chain(100..first_refused) {
        assert_eq!(store.get(&key(i)).unwrap(), Some(value(i, 0, 50)), "{i}");
    }
    assert_eq!(store.get(&key(first_refused)).unwrap(), None);
    store.check().unwrap();
}

#[test]
fn open_that_needs_a_new_file_and_has_no_id_left_says_so() {
    // The stray file's record is older than file 1's newest, so open cannot
    // reuse either file and needs a new one.
    let sim = store_with_a_stray_last_id(42, 1);
    let before = file_1(&sim);
    let err = Bitcask::open(dir(), sim_options(&sim, MAX_FILE_BYTES)).unwrap_err();
    assert!(
        matches!(&err, Error::InvalidArgument(m) if m.contains("file ids")),
        "{err}"
    );
    assert!(file_1(&sim) == before, "file 1 was overwritten");
}
