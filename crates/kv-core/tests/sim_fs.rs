//! SimFs crash semantics: what survives a simulated power loss, for every
//! crash mode, and how handles, locks and the power switch behave.
#![cfg(feature = "testkit")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kv_core::fs::{create_dir_durably, write_file_atomic, File, Fs};
use kv_core::testkit::{CrashMode, SeedGuard, SimFs, UnsyncedData};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

const DIR: &str = "/db";

fn path(name: &str) -> PathBuf {
    Path::new(DIR).join(name)
}

/// A world holding the durable, empty directory [`DIR`].
fn new_fs(seed: u64) -> SimFs {
    let fs = SimFs::new(seed);
    create_dir_durably(&fs, Path::new(DIR)).unwrap();
    fs
}

/// A file whose name is durable and whose content is `synced`.
fn durable_file(fs: &SimFs, name: &str, synced: &[u8]) -> Arc<dyn File> {
    let f = fs.create(&path(name)).unwrap();
    f.append(synced).unwrap();
    f.sync().unwrap();
    fs.sync_dir(Path::new(DIR)).unwrap();
    f
}

fn mode(unsynced: UnsyncedData) -> CrashMode {
    CrashMode {
        unsynced,
        forget_unsynced_dir_entries: true,
    }
}

fn read(fs: &SimFs, name: &str) -> Option<Vec<u8>> {
    match fs.open(&path(name)) {
        Ok(f) => Some(f.read_all().unwrap()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => panic!("open {name}: {e}"),
    }
}

#[test]
fn default_crash_mode_loses_unsynced_data_and_dir_entries() {
    assert_eq!(
        CrashMode::default(),
        CrashMode {
            unsynced: UnsyncedData::Lost,
            forget_unsynced_dir_entries: true
        }
    );
}

/// The named constructors are the modes the fields spell out, so callers
/// that build a `CrashMode` by hand keep meaning the same thing.
#[test]
fn named_crash_modes_spell_out_their_fields() {
    let spelled = |unsynced, forget_unsynced_dir_entries| CrashMode {
        unsynced,
        forget_unsynced_dir_entries,
    };
    assert_eq!(CrashMode::power_loss(), spelled(UnsyncedData::Lost, true));
    assert_eq!(
        CrashMode::process_kill(),
        spelled(UnsyncedData::Kept, false)
    );
    assert_eq!(
        CrashMode::kept_data_lost_entries(),
        spelled(UnsyncedData::Kept, true)
    );
    assert_eq!(
        CrashMode::torn_last_write(9),
        spelled(UnsyncedData::TornLastWrite { keep_bytes: 9 }, true)
    );
    assert_eq!(
        CrashMode::garbage_tail(5),
        spelled(UnsyncedData::GarbageTail { bytes: 5 }, true)
    );
    assert_eq!(
        CrashMode::random_prefix(),
        spelled(UnsyncedData::Random, true)
    );
    assert_eq!(
        CrashMode::reordered_writeback_torn_sectors(),
        CrashMode::new(UnsyncedData::Reordered { tear_sectors: true }, true)
    );
    assert_eq!(CrashMode::suite_modes(3).len(), 7);
}

#[test]
fn unsynced_data_is_gone_after_crash() {
    let fs = new_fs(1);
    let f = durable_file(&fs, "log", b"synced");
    f.append(b"-unsynced").unwrap();
    f.write_at(b"S", 0).unwrap();
    assert_eq!(fs.contents(&path("log")).unwrap(), b"Synced-unsynced");
    assert_eq!(fs.durable_contents(&path("log")).unwrap(), b"synced");
    let after = fs.crash();
    assert_eq!(read(&after, "log").unwrap(), b"synced");
}

#[test]
fn synced_data_stays_after_crash() {
    let fs = new_fs(2);
    let f = durable_file(&fs, "log", b"one");
    f.append(b"two").unwrap();
    f.truncate(4).unwrap();
    f.sync().unwrap();
    let after = fs.crash();
    assert_eq!(read(&after, "log").unwrap(), b"onet");
    // The crashed world is fully synced: a second crash changes nothing.
    assert_eq!(read(&after.crash(), "log").unwrap(), b"onet");
}

#[test]
fn kept_mode_keeps_everything_written() {
    let fs = new_fs(3);
    let f = durable_file(&fs, "log", b"abc");
    f.append(b"def").unwrap();
    f.truncate(5).unwrap();
    let after = fs.crash_with(mode(UnsyncedData::Kept));
    assert_eq!(read(&after, "log").unwrap(), b"abcde");
}

#[test]
fn torn_last_write_keeps_exactly_k_bytes_of_it() {
    let last = b"0123456789";
    for keep_bytes in [0, 1, 3, 9, 10, 25] {
        let fs = new_fs(4);
        let f = durable_file(&fs, "log", b"durable|");
        f.append(b"first|").unwrap();
        f.append(last).unwrap();
        let after = fs.crash_with(mode(UnsyncedData::TornLastWrite { keep_bytes }));
        let mut expected = b"durable|first|".to_vec();
        expected.extend_from_slice(&last[..keep_bytes.min(last.len())]);
        assert_eq!(
            read(&after, "log").unwrap(),
            expected,
            "keep_bytes {keep_bytes}"
        );
    }
}

#[test]
fn torn_overwrite_keeps_the_old_bytes_past_the_tear() {
    let fs = new_fs(5);
    let f = durable_file(&fs, "log", b"aaaaaaaa");
    f.write_at(b"bbbb", 2).unwrap();
    let after = fs.crash_with(mode(UnsyncedData::TornLastWrite { keep_bytes: 2 }));
    assert_eq!(read(&after, "log").unwrap(), b"aabbaaaa");
}

#[test]
fn garbage_tail_appears_after_the_durable_end_of_appended_files() {
    let fs = new_fs(6);
    let appended = durable_file(&fs, "appended", b"durable");
    appended.append(b"lost data").unwrap();
    let overwritten = durable_file(&fs, "overwritten", b"durable");
    overwritten.write_at(b"X", 0).unwrap();
    durable_file(&fs, "untouched", b"durable");
    let after = fs.crash_with(mode(UnsyncedData::GarbageTail { bytes: 16 }));

    let got = read(&after, "appended").unwrap();
    assert_eq!(got.len(), 7 + 16);
    assert_eq!(&got[..7], b"durable");
    assert_ne!(&got[7..], &[0; 16], "garbage is random, not zeros");
    assert_eq!(read(&after, "overwritten").unwrap(), b"durable");
    assert_eq!(read(&after, "untouched").unwrap(), b"durable");
    // Seeded: the same state crashes to the same garbage.
    let again = fs.crash_with(mode(UnsyncedData::GarbageTail { bytes: 16 }));
    assert_eq!(read(&again, "appended").unwrap(), got);
}

#[test]
fn unsynced_create_vanishes_after_crash() {
    let fs = new_fs(7);
    let f = fs.create(&path("new")).unwrap();
    f.append(b"data").unwrap();
    f.sync().unwrap(); // data synced, but the name is not
    assert_eq!(fs.durable_contents(&path("new")), None);
    let after = fs.crash();
    assert_eq!(read(&after, "new"), None);
    assert!(after.files().is_empty());

    // Without forgetting directory entries, the name stays with its synced data.
    let kept = fs.crash_with(CrashMode {
        unsynced: UnsyncedData::Lost,
        forget_unsynced_dir_entries: false,
    });
    assert_eq!(read(&kept, "new").unwrap(), b"data");
}

#[test]
fn created_but_never_synced_file_is_empty_after_crash() {
    let fs = new_fs(8);
    let f = fs.create(&path("new")).unwrap();
    f.append(b"data").unwrap();
    fs.sync_dir(Path::new(DIR)).unwrap();
    let after = fs.crash();
    assert_eq!(read(&after, "new").unwrap(), b"");
}

#[test]
fn unsynced_rename_is_lost_and_synced_rename_is_kept() {
    let fs = new_fs(9);
    durable_file(&fs, "a.tmp", b"new");
    durable_file(&fs, "a", b"old");
    fs.rename(&path("a.tmp"), &path("a")).unwrap();
    assert_eq!(read(&fs, "a").unwrap(), b"new");

    let lost = fs.crash();
    assert_eq!(read(&lost, "a").unwrap(), b"old");
    assert_eq!(read(&lost, "a.tmp").unwrap(), b"new");

    let current = fs.crash_with(CrashMode {
        unsynced: UnsyncedData::Lost,
        forget_unsynced_dir_entries: false,
    });
    assert_eq!(read(&current, "a").unwrap(), b"new");
    assert_eq!(read(&current, "a.tmp"), None);

    fs.sync_dir(Path::new(DIR)).unwrap();
    let kept = fs.crash();
    assert_eq!(read(&kept, "a").unwrap(), b"new");
    assert_eq!(read(&kept, "a.tmp"), None);
}

#[test]
fn removed_but_unsynced_file_comes_back() {
    let fs = new_fs(10);
    durable_file(&fs, "old", b"still here");
    fs.remove(&path("old")).unwrap();
    assert_eq!(read(&fs, "old"), None);
    assert_eq!(read(&fs.crash(), "old").unwrap(), b"still here");
    fs.sync_dir(Path::new(DIR)).unwrap();
    assert_eq!(read(&fs.crash(), "old"), None);
}

#[test]
fn sync_dir_makes_only_that_directorys_entries_durable() {
    let fs = new_fs(11);
    fs.create_dir(Path::new("/other")).unwrap();
    fs.create(&path("here")).unwrap();
    fs.create(Path::new("/other/there")).unwrap();
    fs.sync_dir(Path::new(DIR)).unwrap();
    fs.sync_dir(Path::new("/")).unwrap(); // keeps /other, not /other/there
    let after = fs.crash();
    assert_eq!(after.files(), [path("here")]);
    assert_eq!(
        after.list(Path::new("/other")).unwrap(),
        Vec::<String>::new()
    );
}

#[test]
fn create_on_existing_file_truncates_and_the_truncation_is_unsynced() {
    let fs = new_fs(12);
    durable_file(&fs, "f", b"old content");
    let f = fs.create(&path("f")).unwrap();
    assert_eq!(f.len().unwrap(), 0);
    f.append(b"new").unwrap();
    assert_eq!(read(&fs.crash(), "f").unwrap(), b"old content");
    f.sync().unwrap();
    assert_eq!(read(&fs.crash(), "f").unwrap(), b"new");
}

#[test]
fn handles_keep_working_after_remove_and_rename() {
    let fs = new_fs(13);
    let removed = durable_file(&fs, "removed", b"abc");
    let renamed = durable_file(&fs, "renamed", b"xyz");
    fs.remove(&path("removed")).unwrap();
    fs.rename(&path("renamed"), &path("moved")).unwrap();

    assert_eq!(removed.read_all().unwrap(), b"abc");
    assert_eq!(removed.append(b"d").unwrap(), 3);
    removed.sync().unwrap();
    assert_eq!(removed.read_all().unwrap(), b"abcd");
    assert_eq!(
        read(&fs, "removed"),
        None,
        "writes to a removed file stay unnamed"
    );

    assert_eq!(renamed.append(b"!").unwrap(), 3);
    assert_eq!(read(&fs, "moved").unwrap(), b"xyz!");
}

#[test]
fn crash_leaves_the_old_world_alone() {
    let fs = new_fs(14);
    let f = durable_file(&fs, "f", b"base");
    f.append(b"+more").unwrap();
    let after = fs.crash();
    f.append(b"+old world only").unwrap();
    f.sync().unwrap();
    assert_eq!(read(&after, "f").unwrap(), b"base");
    assert_eq!(read(&fs, "f").unwrap(), b"base+more+old world only");
    let g = after.open(&path("f")).unwrap();
    g.append(b"+new world").unwrap();
    assert_eq!(read(&fs, "f").unwrap(), b"base+more+old world only");
}

#[test]
fn lock_dir_would_block_until_the_guard_drops() {
    let fs = new_fs(15);
    let guard = fs.lock_dir(Path::new(DIR)).unwrap();
    let err = fs.lock_dir(Path::new(DIR)).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
    let clone = fs.clone();
    let err = clone.lock_dir(Path::new("/db/")).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::WouldBlock, "clones share locks");

    let after = fs.crash();
    let new_guard = after
        .lock_dir(Path::new(DIR))
        .expect("a crash releases locks");
    drop(guard);
    drop(new_guard);
    assert!(fs.lock_dir(Path::new(DIR)).is_ok());
    let missing = fs.lock_dir(Path::new("/nope")).unwrap_err();
    assert_eq!(missing.kind(), io::ErrorKind::NotFound);
}

fn is_power_loss(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::Other && e.to_string().contains("simulated power loss")
}

#[test]
fn power_off_after_n_refuses_the_next_mutating_op_and_all_later_ones() {
    let fs = new_fs(16);
    let f = durable_file(&fs, "f", b"base");
    let start = fs.op_count();
    assert_eq!(
        start, 6,
        "create_dir, sync_dir of /, create, append, sync, sync_dir"
    );
    fs.power_off_after(3);
    f.append(b"1").unwrap();
    let _ = fs.open(&path("f")).unwrap(); // opens and reads are not counted
    assert_eq!(f.read_all().unwrap(), b"base1");
    f.append(b"2").unwrap();
    f.sync().unwrap();
    assert!(!fs.is_powered_off());
    assert!(is_power_loss(&f.append(b"3").unwrap_err()));
    assert!(fs.is_powered_off());
    assert!(is_power_loss(&f.sync().unwrap_err()));
    assert!(is_power_loss(&f.truncate(0).unwrap_err()));
    assert!(is_power_loss(&fs.create(&path("g")).unwrap_err()));
    assert!(is_power_loss(
        &fs.rename(&path("f"), &path("h")).unwrap_err()
    ));
    assert!(is_power_loss(&fs.remove(&path("f")).unwrap_err()));
    assert!(is_power_loss(&fs.sync_dir(Path::new(DIR)).unwrap_err()));
    assert!(is_power_loss(&fs.create_dir(Path::new("/x")).unwrap_err()));
    assert_eq!(fs.op_count(), start + 3);
    // Refused operations had no effect, and reads keep working.
    assert_eq!(f.read_all().unwrap(), b"base12");
    assert_eq!(fs.files(), [path("f")]);
    let after = fs.crash();
    assert!(!after.is_powered_off());
    assert_eq!(read(&after, "f").unwrap(), b"base12");
    after.create(&path("g")).unwrap();
}

#[test]
fn power_off_after_zero_fails_the_very_next_op() {
    let fs = new_fs(17);
    fs.power_off_after(0);
    assert!(!fs.is_powered_off());
    assert!(is_power_loss(&fs.create(&path("f")).unwrap_err()));
    assert!(fs.is_powered_off());
    assert!(fs.files().is_empty());
}

/// Atomic replacement survives power loss at every single operation: after
/// the crash the file holds the old content or the new, never anything else.
#[test]
fn write_file_atomic_is_all_or_nothing_at_every_power_cut() {
    for cut in 0..8 {
        for unsynced in [UnsyncedData::Lost, UnsyncedData::Kept] {
            let fs = new_fs(18);
            write_file_atomic(&fs, Path::new(DIR), "CURRENT", b"old").unwrap();
            fs.power_off_after(cut);
            let result = write_file_atomic(&fs, Path::new(DIR), "CURRENT", b"new");
            let after = fs.crash_with(mode(unsynced));
            let got = read(&after, "CURRENT").unwrap();
            assert!(got == b"old" || got == b"new", "cut {cut}: {got:?}");
            if result.is_ok() {
                assert_eq!(got, b"new", "cut {cut}: an acknowledged write survives");
            }
        }
    }
}

#[test]
fn corrupt_and_set_len_durably_change_both_states() {
    let fs = new_fs(19);
    let f = durable_file(&fs, "f", b"abcdef");
    f.append(b"gh").unwrap();
    assert!(fs.corrupt(&path("f"), 4, b"XYZ"));
    assert_eq!(fs.contents(&path("f")).unwrap(), b"abcdXYZh");
    assert_eq!(fs.durable_contents(&path("f")).unwrap(), b"abcdXY");
    assert!(!fs.corrupt(&path("f"), 7, b"too long"));
    assert!(!fs.corrupt(&path("missing"), 0, b"x"));

    assert!(fs.set_len_durably(&path("f"), 3));
    assert_eq!(fs.contents(&path("f")).unwrap(), b"abc");
    assert_eq!(read(&fs.crash(), "f").unwrap(), b"abc");
    assert!(!fs.set_len_durably(&path("missing"), 3));
}

/// One file's history since its last sync, as the test saw it.
#[derive(Debug, Clone)]
enum Change {
    Write { offset: usize, data: Vec<u8> },
    Truncate { len: usize },
}

fn apply(bytes: &mut Vec<u8>, change: &Change) {
    match change {
        Change::Write { offset, data } => {
            if data.is_empty() {
                return;
            }
            let end = offset + data.len();
            if bytes.len() < end {
                bytes.resize(end, 0);
            }
            bytes[*offset..end].copy_from_slice(data);
        }
        Change::Truncate { len } => bytes.resize(*len, 0),
    }
}

/// Is `got` the durable bytes with the first `i` changes replayed and change
/// `i`, if a write, landing on some first `m` bytes of its range (with any
/// content: its data torn, maybe followed by garbage)? Returns `i`.
fn prefix_with_tear(durable: &[u8], changes: &[Change], got: &[u8]) -> Option<usize> {
    let mut base = durable.to_vec();
    for (i, change) in changes.iter().enumerate() {
        if got == base.as_slice() {
            return Some(i);
        }
        if let Change::Write { offset, data } = change {
            for m in 1..=data.len() {
                if got.len() < offset + m {
                    continue;
                }
                let mut candidate = base.clone();
                apply(
                    &mut candidate,
                    &Change::Write {
                        offset: *offset,
                        data: got[*offset..offset + m].to_vec(),
                    },
                );
                if candidate == got {
                    return Some(i);
                }
            }
        }
        apply(&mut base, change);
    }
    (got == base.as_slice()).then_some(changes.len())
}

/// Random unsynced history for three files; returns per file the durable
/// bytes and the changes since the last sync.
fn random_history(fs: &SimFs, rng: &mut Xoshiro256PlusPlus) -> Vec<(Vec<u8>, Vec<Change>)> {
    let mut out = Vec::new();
    for name in ["a", "b", "c"] {
        let f = durable_file(fs, name, b"");
        let mut durable = Vec::new();
        let mut changes = Vec::new();
        let mut written = Vec::new();
        for _ in 0..rng.random_range(0..12) {
            let change = match rng.random_range(0..8) {
                0 => Change::Truncate {
                    len: rng.random_range(0..=written.len()),
                },
                1 => Change::Write {
                    offset: rng.random_range(0..=written.len()),
                    data: (0..rng.random_range(0..10)).map(|_| rng.random()).collect(),
                },
                2 => {
                    f.sync().unwrap();
                    durable = written.clone();
                    changes.clear();
                    continue;
                }
                _ => Change::Write {
                    offset: written.len(),
                    data: (0..rng.random_range(1..16)).map(|_| rng.random()).collect(),
                },
            };
            match &change {
                Change::Write { offset, data } => f.write_at(data, *offset as u64).unwrap(),
                Change::Truncate { len } => f.truncate(*len as u64).unwrap(),
            }
            apply(&mut written, &change);
            changes.push(change);
        }
        assert_eq!(fs.contents(&path(name)).unwrap(), written);
        out.push((durable, changes));
    }
    out
}

#[test]
fn random_crash_is_a_valid_prefix_with_tear_and_deterministic_per_seed() {
    let guard =
        SeedGuard::new("random_crash_is_a_valid_prefix_with_tear_and_deterministic_per_seed");
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(guard.seed());
    let random = mode(UnsyncedData::Random);
    let mut prefixes_seen = std::collections::BTreeSet::new();
    for case in 0..300 {
        let fs_seed: u64 = rng.random();
        let mut history_rng = Xoshiro256PlusPlus::seed_from_u64(rng.random());
        let fs = new_fs(fs_seed);
        let history = random_history(&fs, &mut history_rng.clone());
        let after = fs.crash_with(random);

        // Same seed and same operations: same outcome, file by file.
        let twin = new_fs(fs_seed);
        random_history(&twin, &mut history_rng);
        let twin_after = twin.crash_with(random);
        for ((durable, changes), name) in history.iter().zip(["a", "b", "c"]) {
            let got = read(&after, name).unwrap();
            assert_eq!(
                read(&twin_after, name).unwrap(),
                got,
                "case {case} file {name}"
            );
            match prefix_with_tear(durable, changes, &got) {
                Some(i) => {
                    prefixes_seen.insert((changes.len().min(3), i.min(3)));
                }
                None => panic!(
                    "case {case} file {name}: {got:?} is no prefix-with-tear of {durable:?} + {changes:?}"
                ),
            }
        }
    }
    // Random really varies: with several changes pending, outcomes from "none
    // survive" to "3 or more survive" all occur.
    for i in 0..=3 {
        assert!(
            prefixes_seen.contains(&(3, i)),
            "never kept {i} of 3+ changes: {prefixes_seen:?}"
        );
    }
}
