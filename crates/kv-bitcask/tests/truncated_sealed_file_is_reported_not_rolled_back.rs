//! A data file cut short is reported, never taken for a torn write and
//! never served as an older state: a sealed file shorter than the length
//! the file set recorded when it was sealed (even cut exactly at a record
//! boundary), and the newest file cut below what its hint covers (a hint is
//! written only after those bytes were synced, so the cut proves durable
//! data is gone). Open fails with `Corruption` naming the file, under
//! `ReadWrite` and `ReadOnly`, changing no byte (the hint, the evidence,
//! stays), and `Verify` lists the file in `check()`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::damage::{assert_reported, data_path, file_set, hint_path, store_with_history};
use kv_bitcask::hint::decode_hint;
use kv_core::testkit::SimFs;

/// The offset of the last record the hint of `id` names: cutting there
/// leaves a file that ends exactly at a record boundary.
fn last_record_offset(sim: &SimFs, id: u32) -> u64 {
    let path = hint_path(id);
    let hint = decode_hint(&sim.contents(&path).unwrap(), &path, id).unwrap();
    hint.entries
        .iter()
        .map(|(_, _, e)| u64::from(e.offset))
        .max()
        .unwrap()
}

#[test]
fn truncated_sealed_file_is_reported_not_rolled_back() {
    let (sim, _) = store_with_history(21);
    let set = file_set(&sim);
    for (&id, &len) in &set.sealed {
        let (sim, _) = store_with_history(21);
        let at = last_record_offset(&sim, id);
        assert!(at < len);
        assert!(sim.set_len_durably(&data_path(id), at));
        assert_reported(
            &sim,
            &data_path(id),
            &format!("sealed file {id} cut to {at}"),
        );
    }
}

#[test]
fn sealed_file_cut_by_one_byte_is_reported() {
    let (sim, _) = store_with_history(22);
    let (&id, &len) = file_set(&sim).sealed.iter().next().unwrap();
    assert!(sim.set_len_durably(&data_path(id), len - 1));
    assert_reported(&sim, &data_path(id), "sealed file cut by one byte");
}

#[test]
fn newest_file_cut_below_its_hint_is_reported_not_rolled_back() {
    let (sim, _) = store_with_history(23);
    let active = file_set(&sim).active.unwrap();
    let at = last_record_offset(&sim, active);
    assert!(sim.set_len_durably(&data_path(active), at));
    assert_reported(
        &sim,
        &data_path(active),
        "newest file cut at a record boundary",
    );
}

#[test]
fn salvage_accepts_a_cut_sealed_file_and_records_its_new_length() {
    let (sim, _) = store_with_history(24);
    let (&id, _) = file_set(&sim).sealed.iter().next().unwrap();
    let at = last_record_offset(&sim, id);
    assert!(sim.set_len_durably(&data_path(id), at));
    let mut options = common::sim_options(&sim, common::damage::MAX_FILE_BYTES);
    options.salvage = true;
    let store = kv_bitcask::Bitcask::open(common::dir(), options).unwrap();
    let report = kv_core::Store::check(&store).unwrap();
    assert!(
        report.notes.iter().any(|n| n.contains("salvage accepted")),
        "{report:?}"
    );
    drop(store);
    assert_eq!(file_set(&sim).sealed[&id], at, "the new length is recorded");
    // Without salvage the store opens again: the damage was accepted.
    let store = common::open(&sim, common::damage::MAX_FILE_BYTES);
    kv_core::Store::check(&store).unwrap();
}
