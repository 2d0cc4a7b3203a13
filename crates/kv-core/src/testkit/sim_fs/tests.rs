//! SimFs gives the same basic semantics as StdFs, and its bookkeeping keeps
//! its invariants.
//!
//! Submodules: directory durability, reordered writeback, and the crash-mode
//! sweep with its independent oracle.

mod dir_durability;
mod mode_sweep;
mod oracle;
mod reordered_writeback;

use std::io;
use std::path::Path;

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

use super::*;
use crate::fs::StdFs;
use crate::testkit::SeedGuard;

/// Behaviour every `Fs` must show; run against StdFs and SimFs alike.
fn check_basic_semantics(fs: &dyn Fs, root: &Path) {
    let dir = root.join("db");
    fs.create_dir(&dir.join("sub")).unwrap();
    fs.create_dir(&dir).unwrap(); // existing: not an error

    let a = fs.create(&dir.join("a")).unwrap();
    assert!(a.is_empty().unwrap());
    assert_eq!(a.append(b"hello").unwrap(), 0);
    assert_eq!(a.append(b" world").unwrap(), 5);
    assert_eq!(a.len().unwrap(), 11);
    let mut buf = [0; 5];
    a.read_exact_at(&mut buf, 6).unwrap();
    assert_eq!(&buf, b"world");
    let mut tail = [0; 8];
    assert_eq!(a.read_at(&mut tail, 8).unwrap(), 3);
    assert_eq!(a.read_at(&mut tail, 11).unwrap(), 0);
    assert_eq!(a.read_at(&mut tail, 1000).unwrap(), 0);
    let err = a.read_exact_at(&mut tail, 8).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);

    a.write_at(b"HE", 0).unwrap();
    a.write_at(b"!", 13).unwrap(); // past the end: the gap reads as zeros
    assert_eq!(a.read_all().unwrap(), b"HEllo world\0\0!");
    a.truncate(5).unwrap();
    assert_eq!(a.read_all().unwrap(), b"HEllo");
    assert_eq!(a.append(b"?").unwrap(), 5);
    a.sync().unwrap();

    let reopened = fs.open(&dir.join("a")).unwrap();
    assert_eq!(reopened.read_all().unwrap(), b"HEllo?");
    assert_eq!(reopened.append(b"x").unwrap(), 6);
    let mut last = [0; 1];
    a.read_exact_at(&mut last, 6).unwrap();
    assert_eq!(&last, b"x", "handles share one file");

    for name in ["c", "b"] {
        fs.create(&dir.join(name)).unwrap();
    }
    assert_eq!(fs.list(&dir).unwrap(), ["a", "b", "c", "sub"]);
    fs.rename(&dir.join("c"), &dir.join("b")).unwrap();
    assert_eq!(fs.list(&dir).unwrap(), ["a", "b", "sub"]);
    fs.remove(&dir.join("b")).unwrap();
    assert!(!fs.exists(&dir.join("b")).unwrap());
    assert!(fs.exists(&dir.join("a")).unwrap());
    assert!(fs.exists(&dir.join("sub")).unwrap());
    fs.sync_dir(&dir).unwrap();

    let kind = |e: io::Error| e.kind();
    let missing = dir.join("missing");
    assert_eq!(
        fs.open(&missing).map_err(kind).unwrap_err(),
        io::ErrorKind::NotFound
    );
    assert_eq!(
        fs.remove(&missing).map_err(kind).unwrap_err(),
        io::ErrorKind::NotFound
    );
    let moved = fs.rename(&missing, &dir.join("x")).map_err(kind);
    assert_eq!(moved.unwrap_err(), io::ErrorKind::NotFound);
    let orphan = fs.create(&dir.join("no_such_dir").join("f")).map_err(kind);
    assert_eq!(orphan.unwrap_err(), io::ErrorKind::NotFound);
    assert_eq!(
        fs.list(&missing).map_err(kind).unwrap_err(),
        io::ErrorKind::NotFound
    );

    // create on an existing name truncates it.
    let again = fs.create(&dir.join("a")).unwrap();
    assert_eq!(again.len().unwrap(), 0);
    assert_eq!(fs.open(&dir.join("a")).unwrap().len().unwrap(), 0);
    assert_eq!(a.read_at(&mut buf, 0).unwrap(), 0);
}

#[test]
fn std_fs_has_the_basic_semantics() {
    let tmp = tempfile::tempdir().unwrap();
    check_basic_semantics(&StdFs, tmp.path());
}

#[test]
fn sim_fs_has_the_same_basic_semantics_as_std_fs() {
    let fs = SimFs::new(1);
    check_basic_semantics(&fs, Path::new("/tmp/sim"));
    // Relative paths and `.` components work too.
    check_basic_semantics(&fs, Path::new("rel/./x"));
}

#[test]
fn list_shows_only_direct_children() {
    let fs = SimFs::new(2);
    fs.create_dir(Path::new("/d/e/f")).unwrap();
    fs.create(Path::new("/d/e/f/deep")).unwrap();
    fs.create(Path::new("/d/z")).unwrap();
    fs.create(Path::new("/d/a")).unwrap();
    assert_eq!(fs.list(Path::new("/d")).unwrap(), ["a", "e", "z"]);
    assert_eq!(fs.list(Path::new("/")).unwrap(), ["d"]);
    assert_eq!(fs.list(Path::new("/d/e/f/")).unwrap(), ["deep"]);
    assert_eq!(
        fs.files(),
        [
            Path::new("/d/a"),
            Path::new("/d/e/f/deep"),
            Path::new("/d/z")
        ]
    );
}

#[test]
fn wild_offsets_are_errors_not_allocations() {
    let fs = SimFs::new(3);
    let f = fs.create(Path::new("/big")).unwrap();
    let err = f.write_at(b"x", u64::MAX - 1).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::FileTooLarge);
    let err = f.truncate(MAX_SIM_FILE_BYTES + 1).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::FileTooLarge);
    assert_eq!(f.len().unwrap(), 0);
    assert_eq!(fs.op_count(), 1, "failed operations are not counted");
}

#[test]
fn files_and_dirs_cannot_share_a_name() {
    let fs = SimFs::new(4);
    fs.create_dir(Path::new("/d")).unwrap();
    fs.create(Path::new("/d/f")).unwrap();
    let err = fs.create_dir(Path::new("/d/f/g")).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotADirectory);
    let err = fs.create(Path::new("/d")).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::IsADirectory);
    let err = fs.rename(Path::new("/d/f"), Path::new("/d")).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::IsADirectory);
}

#[test]
fn inodes_are_freed_when_no_name_and_no_handle_remains() {
    let fs = SimFs::new(5);
    let inodes = |fs: &SimFs| fs.state().inodes.len();
    let f = fs.create(Path::new("/a")).unwrap();
    f.append(b"data").unwrap();
    fs.remove(Path::new("/a")).unwrap();
    assert_eq!(inodes(&fs), 1, "an open handle keeps the inode");
    drop(f);
    assert_eq!(inodes(&fs), 0);

    let f = fs.create(Path::new("/b")).unwrap();
    drop(f);
    fs.sync_dir(Path::new("/")).unwrap();
    fs.remove(Path::new("/b")).unwrap();
    assert_eq!(inodes(&fs), 1, "the durable name keeps the inode");
    fs.sync_dir(Path::new("/")).unwrap();
    assert_eq!(inodes(&fs), 0);
}

/// After any sequence of writes and truncations, replaying the pending
/// changes onto the durable bytes gives the written bytes, and a sync makes
/// them equal.
#[test]
fn pending_changes_replay_to_the_written_bytes() {
    let guard = SeedGuard::new("pending_changes_replay_to_the_written_bytes");
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(guard.seed());
    let fs = SimFs::new(guard.seed());
    let f = fs.create(Path::new("/f")).unwrap();
    for _ in 0..300 {
        match rng.random_range(0..10) {
            0 => f.sync().unwrap(),
            1 => f.truncate(rng.random_range(0..200)).unwrap(),
            2..=5 => {
                let data: Vec<u8> = (0..rng.random_range(0..20)).map(|_| rng.random()).collect();
                f.append(&data).unwrap();
            }
            _ => {
                let data: Vec<u8> = (0..rng.random_range(0..20)).map(|_| rng.random()).collect();
                f.write_at(&data, rng.random_range(0..220)).unwrap();
            }
        }
        let state = fs.state();
        let inode = state.inodes.values().next().unwrap();
        let mut replayed = inode.durable.clone();
        for op in &inode.pending {
            op.apply(&mut replayed);
        }
        assert_eq!(replayed, inode.written);
    }
    f.sync().unwrap();
    let path = Path::new("/f");
    assert_eq!(
        fs.durable_contents(path),
        None,
        "the name is not durable yet"
    );
    fs.sync_dir(Path::new("/")).unwrap();
    assert_eq!(fs.durable_contents(path), fs.contents(path));
}

#[test]
fn concurrent_appends_get_distinct_offsets() {
    let fs = SimFs::new(6);
    let f = fs.create(Path::new("/shared")).unwrap();
    let mut offsets: Vec<u64> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..4u8)
            .map(|t| {
                let f = Arc::clone(&f);
                scope.spawn(move || {
                    (0..100)
                        .map(|_| f.append(&[t; 3]).unwrap())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    offsets.sort_unstable();
    assert_eq!(offsets, (0..400).map(|i| i * 3).collect::<Vec<u64>>());
    let bytes = fs.contents(Path::new("/shared")).unwrap();
    assert!(bytes.chunks(3).all(|c| c[0] == c[1] && c[1] == c[2]));
    assert_eq!(fs.op_count(), 401);
}
