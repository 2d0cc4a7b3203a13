//! An incomplete last record (a write cut by power loss) is a torn tail:
//! open truncates it, reports the bytes in `stats().torn_bytes_truncated`,
//! keeps every complete record before it, and later appends land after the
//! cut and survive reopening.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::PathBuf;

use common::{assert_matches, key, open, value};
use kv_core::codec::encode_put;
use kv_core::testkit::{Model, SimFs};
use kv_core::{Fs, Store, WriteBatch};

fn data_files(sim: &SimFs) -> Vec<PathBuf> {
    sim.files()
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "data"))
        .collect()
}

#[test]
fn torn_tail_truncated_then_append_survives() {
    for cut in [1usize, 10, 22, 23, 40, 70] {
        let sim = SimFs::new(cut as u64);
        let store = open(&sim, 1 << 20);
        let mut model = Model::new();
        for i in 0..20 {
            store.put(&key(i), &value(i, 1, 50)).unwrap();
            model.put(&key(i), &value(i, 1, 50));
        }
        store.sync().unwrap();
        // Closed first: a clean close ends the file with its durable frontier
        // record (written at the writer's offset, so the tear below must come
        // after it to stay a tear).
        drop(store);
        let active = data_files(&sim).pop().unwrap();
        let synced_len = sim.contents(&active).unwrap().len();
        // The power goes out while a record (a put, or a batch) is written:
        // only its first `cut` bytes reach the disk.
        let mut torn = Vec::new();
        if cut % 2 == 0 {
            encode_put(&mut torn, 1000, b"torn", &[7; 50]);
        } else {
            let mut batch = WriteBatch::new();
            batch
                .put(b"a".to_vec(), b"1".to_vec())
                .put(b"b".to_vec(), b"2".to_vec());
            kv_core::codec::encode_batch(&mut torn, 1000, &batch);
        }
        let f = sim.open(&active).unwrap();
        f.append(&torn[..cut.min(torn.len() - 1)]).unwrap();
        f.sync().unwrap();
        let torn_bytes = cut.min(torn.len() - 1) as u64;
        let crashed = sim.crash();
        // The clean close above wrote a hint; the torn bytes lie past it.
        let store = open(&crashed, 1 << 20);
        assert_eq!(store.stats().torn_bytes_truncated, torn_bytes, "cut {cut}");
        assert_eq!(
            crashed.contents(&active).unwrap().len(),
            synced_len,
            "cut {cut}"
        );
        assert_matches(&store, &model, &format!("cut {cut}: after truncation"));
        store.put(b"next", b"after the tear").unwrap();
        model.put(b"next", b"after the tear");
        store.sync().unwrap();
        drop(store);
        let store = open(&crashed.crash(), 1 << 20);
        assert_eq!(
            store.stats().torn_bytes_truncated,
            0,
            "cut {cut}: nothing torn now"
        );
        assert_matches(
            &store,
            &model,
            &format!("cut {cut}: after an append and a crash"),
        );
        store.check().unwrap();
    }
}

#[test]
fn torn_creation_with_a_garbage_header_is_removed() {
    let sim = SimFs::new(99);
    let store = open(&sim, 1 << 20);
    store.put(b"k", b"v").unwrap();
    store.sync().unwrap();
    drop(store);
    // A file created by a rollover whose header never reached the disk:
    // after the crash it holds garbage (no valid record anywhere).
    let garbage: Vec<u8> = (0..108u32).map(|i| (i * 37 + 11) as u8).collect();
    let f = sim.create(&common::dir().join("0000000009.data")).unwrap();
    f.append(&garbage).unwrap();
    f.sync().unwrap();
    let store = open(&sim, 1 << 20);
    assert_eq!(store.stats().torn_bytes_truncated, 108);
    assert_eq!(store.get(b"k").unwrap(), Some(b"v".to_vec()));
    assert!(!sim.files().iter().any(|p| p.ends_with("0000000009.data")));
    store.check().unwrap();
}
