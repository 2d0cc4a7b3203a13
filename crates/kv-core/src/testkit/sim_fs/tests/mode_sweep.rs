//! Every crash mode keeps its documented properties for every seed of a
//! sweep, and the properties every mode shares: synced data survives, a
//! crash with nothing unsynced changes nothing, the same seed gives the same
//! outcome, process kill keeps everything.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rand::rngs::Xoshiro256PlusPlus;
use rand::{Rng, RngExt, SeedableRng};

use super::super::state::PendingOp;
use super::super::*;
use super::oracle::{check, FileHistory};
use crate::fs::create_dir_durably;
use crate::testkit::SeedGuard;

/// A file as the old world holds it: durable bytes, unsynced changes, the
/// written bytes, and whether its name is durable.
struct Snapshot {
    durable: Vec<u8>,
    ops: Vec<PendingOp>,
    written: Vec<u8>,
    name_durable: bool,
}

fn snapshot(fs: &SimFs) -> BTreeMap<PathBuf, Snapshot> {
    let state = fs.state();
    state
        .current
        .iter()
        .map(|(path, id)| {
            let inode = &state.inodes[id];
            let snap = Snapshot {
                durable: inode.durable.clone(),
                ops: inode.pending.clone(),
                written: inode.written.clone(),
                name_durable: state.durable.get(path) == Some(id),
            };
            (path.clone(), snap)
        })
        .collect()
}

fn random_bytes(rng: &mut Xoshiro256PlusPlus, len: usize) -> Vec<u8> {
    let mut data = vec![0; len];
    rng.fill_bytes(&mut data);
    data
}

/// Random unsynced changes (appends and overwrites up to a few pages,
/// truncations that shrink or grow) on top of a random synced prefix.
fn random_file(fs: &SimFs, path: &Path, rng: &mut Xoshiro256PlusPlus) {
    let f = fs.create(path).unwrap();
    let synced = rng.random_range(0..9000);
    f.append(&random_bytes(rng, synced)).unwrap();
    f.sync().unwrap();
    for _ in 0..rng.random_range(0..7) {
        let len = f.len().unwrap();
        match rng.random_range(0..6) {
            0 => f.truncate(rng.random_range(0..len + 5000)).unwrap(),
            1 | 2 => {
                let n = rng.random_range(0..6000);
                let data = random_bytes(rng, n);
                f.write_at(&data, rng.random_range(0..=len + 100)).unwrap();
            }
            _ => {
                let n = rng.random_range(1..6000);
                f.append(&random_bytes(rng, n)).unwrap();
            }
        }
    }
}

/// A world from `seed`: the durable `/d`, a directory `/d/n` (its entry
/// synced or not) holding `/d/n/m` (never synced into `/d/n` one time in
/// two), and files in all three whose names are synced or not.
fn random_world(seed: u64) -> SimFs {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let fs = SimFs::new(seed);
    create_dir_durably(&fs, Path::new("/d")).unwrap();
    fs.create_dir(Path::new("/d/n/m")).unwrap();
    for dir in ["/d", "/d/n", "/d/n/m"] {
        for name in ["x", "y"] {
            random_file(&fs, &Path::new(dir).join(name), &mut rng);
        }
    }
    for dir in ["/d", "/d/n", "/d/n/m"] {
        if rng.random_bool(0.6) {
            fs.sync_dir(Path::new(dir)).unwrap();
        }
    }
    fs.create(Path::new("/d/late")).unwrap(); // created after every sync_dir
    fs
}

/// The documented outcome of crashing `old` with `mode`, checked on `new`.
fn check_crash(old: &SimFs, mode: CrashMode, new: &SimFs) -> Result<(), String> {
    let files = snapshot(old);
    let forget = mode.forget_unsynced_dir_entries;
    for dir in ["/", "", "/d", "/d/n", "/d/n/m"] {
        let dir = Path::new(dir);
        let expected = !forget || old.dir_is_durable(dir);
        if new.exists(dir).unwrap() != expected || !new.dir_is_durable(dir) && expected {
            return Err(format!(
                "directory {}: expected kept={expected}",
                dir.display()
            ));
        }
    }
    for (path, snap) in &files {
        let parent = path.parent().unwrap();
        let kept = !forget || (snap.name_durable && old.dir_is_durable(parent));
        let got = new.contents(path);
        match (kept, got) {
            (false, None) => {}
            (true, Some(got)) => {
                let history = FileHistory {
                    durable: &snap.durable,
                    ops: &snap.ops,
                    written: &snap.written,
                };
                check(mode.unsynced, &history, &got)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
            }
            (kept, got) => {
                return Err(format!(
                    "{}: expected kept={kept}, found {}",
                    path.display(),
                    got.is_some()
                ))
            }
        }
    }
    // Durable names of files no longer current come back (none here).
    if new.files().iter().any(|p| !files.contains_key(p)) {
        return Err("a file appeared from nowhere".into());
    }
    Ok(())
}

/// Seeds 0..1000, plus one from `KV_SEED` (or fresh, printed on failure) so
/// runs keep exploring while the fixed range always replays.
#[test]
fn every_mode_keeps_its_documented_properties_for_seeds_0_to_1000() {
    let guard = SeedGuard::new("every_mode_keeps_its_documented_properties_for_seeds_0_to_1000");
    for seed in (0..1000u64).chain([guard.seed()]) {
        let fs = random_world(seed);
        let modes = CrashMode::suite_modes(seed);
        for (i, &mode) in modes.iter().enumerate() {
            let after = fs.crash_with(mode);
            if let Err(e) = check_crash(&fs, mode, &after) {
                panic!("seed {seed}, {mode:?}: {e}");
            }
            // The crashed world is fully synced: crashing it again keeps all.
            if i == seed as usize % modes.len() {
                let twice = after.crash_with(mode);
                for path in after.files() {
                    assert_eq!(twice.contents(&path), after.contents(&path), "seed {seed}");
                }
            }
        }
    }
}

#[test]
fn same_seed_and_operations_give_the_same_outcome_in_every_mode() {
    for seed in 0..50u64 {
        let (one, two) = (random_world(seed), random_world(seed));
        for mode in CrashMode::suite_modes(seed) {
            let (a, b) = (one.crash_with(mode), two.crash_with(mode));
            assert_eq!(a.files(), b.files(), "seed {seed} {mode:?}");
            for path in a.files() {
                assert_eq!(a.contents(&path), b.contents(&path), "seed {seed} {mode:?}");
            }
        }
    }
}

#[test]
fn synced_data_and_entries_survive_every_mode() {
    for seed in 0..50u64 {
        let fs = SimFs::new(seed);
        create_dir_durably(&fs, Path::new("/db")).unwrap();
        let f = fs.create(Path::new("/db/log")).unwrap();
        let synced: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8 + 1).collect();
        f.append(&synced).unwrap();
        f.sync().unwrap();
        fs.sync_dir(Path::new("/db")).unwrap();
        f.append(&[7; 9000]).unwrap(); // unsynced, past the durable end
        for mode in CrashMode::suite_modes(seed) {
            let got = fs.crash_with(mode).contents(Path::new("/db/log"));
            let got = got.unwrap_or_else(|| panic!("seed {seed} {mode:?}: file lost"));
            assert_eq!(
                &got[..synced.len()],
                synced.as_slice(),
                "seed {seed} {mode:?}"
            );
        }
    }
}

#[test]
fn a_crash_with_nothing_unsynced_changes_nothing() {
    for seed in 0..50u64 {
        let fs = random_world(seed);
        for dir in ["/", "/d", "/d/n", "/d/n/m"] {
            fs.sync_dir(Path::new(dir)).unwrap();
        }
        for path in fs.files() {
            fs.open(&path).unwrap().sync().unwrap();
        }
        for mode in CrashMode::suite_modes(seed) {
            let after = fs.crash_with(mode);
            assert_eq!(after.files(), fs.files(), "seed {seed} {mode:?}");
            for path in fs.files() {
                assert_eq!(
                    after.contents(&path),
                    fs.contents(&path),
                    "seed {seed} {mode:?}"
                );
            }
            for dir in ["/d", "/d/n", "/d/n/m"] {
                assert_eq!(
                    after.list(Path::new(dir)).unwrap(),
                    fs.list(Path::new(dir)).unwrap()
                );
            }
        }
    }
}

#[test]
fn process_kill_keeps_everything_written_and_every_entry() {
    for seed in 0..50u64 {
        let fs = random_world(seed);
        let after = fs.crash_with(CrashMode::process_kill());
        assert_eq!(after.files(), fs.files(), "seed {seed}");
        for path in fs.files() {
            assert_eq!(after.contents(&path), fs.contents(&path), "seed {seed}");
        }
        for dir in ["/d", "/d/n", "/d/n/m"] {
            assert_eq!(
                after.list(Path::new(dir)).unwrap(),
                fs.list(Path::new(dir)).unwrap()
            );
            assert!(
                after.dir_is_durable(Path::new(dir)),
                "the crashed world is synced"
            );
        }
    }
}

#[test]
fn suite_modes_are_fixed_by_the_seed_and_name_every_kind_once() {
    assert_eq!(CrashMode::suite_modes(7), CrashMode::suite_modes(7));
    let modes = CrashMode::suite_modes(7);
    let kept_entries: Vec<_> = modes
        .iter()
        .filter(|m| !m.forget_unsynced_dir_entries)
        .collect();
    assert_eq!(kept_entries, [&CrashMode::process_kill()]);
    assert!(modes.contains(&CrashMode::power_loss()));
    assert!(modes.contains(&CrashMode::random_prefix()));
    assert!(modes.contains(&CrashMode::reordered_writeback()));
    assert!(modes.contains(&CrashMode::reordered_writeback_torn_sectors()));
    let kinds = |m: &CrashMode| std::mem::discriminant(&m.unsynced);
    let torn = modes
        .iter()
        .filter(|m| kinds(m) == kinds(&CrashMode::torn_last_write(0)))
        .count();
    let garbage = modes
        .iter()
        .filter(|m| kinds(m) == kinds(&CrashMode::garbage_tail(1)))
        .count();
    assert_eq!((torn, garbage), (1, 1));
    assert_eq!(CrashMode::default(), CrashMode::power_loss());
}
