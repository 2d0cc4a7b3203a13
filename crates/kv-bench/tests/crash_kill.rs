#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `kv-bench crash`, short: a few SIGKILL rounds per engine through the real
//! binary; every acknowledged write of our engines survives, the table has a
//! row per engine, and crash-recovery time is measured after a kill.

use std::path::Path;
use std::process::Command;
use std::sync::{Mutex, MutexGuard, PoisonError};

use kv_bench::crash::{self, child::LoadPlan, CrashSettings};
use kv_bench::registry::{self, EngineKind, OpenConfig};

/// Held by every test of this file for its whole run: they must not run
/// side by side. Each test opens stores in this process (reading back
/// after a kill) and spawns children that open the same directories. A
/// directory lock is an `flock` on the store's `LOCK` file, and a child
/// being spawned by another test's thread holds a duplicate of every open
/// descriptor of this process until it execs (close-on-exec closes them
/// only then). So a store one test had just closed could still be locked
/// by another test's child in that window, and the next child of the first
/// test failed to open it ("locked by another open handle", seen once in
/// session 8's CI series, on a loaded machine). One test at a time, no
/// child is spawned while another test holds a store open.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

fn exe() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_kv-bench"))
}

fn persistent() -> Vec<registry::EngineInfo> {
    registry::engines()
        .into_iter()
        .filter(|e| e.persistent)
        .collect()
}

/// Every engine goes through rounds of kills; ours lose nothing, and every
/// round's acknowledged writes were checked.
#[test]
fn acknowledged_writes_survive_sigkill() {
    let _serial = serial();
    let guard = kv_core::testkit::SeedGuard::new("acknowledged_writes_survive_sigkill");
    let seed = guard.seed();
    let root = tempfile::tempdir().unwrap();
    let settings = CrashSettings {
        engines: persistent().iter().map(|e| e.name.to_owned()).collect(),
        rounds: 4,
        writes_per_round: 12,
        key_space: 20,
        seed,
    };
    let results = crash::run(&settings, exe(), root.path()).unwrap();
    assert_eq!(results.len(), settings.engines.len());
    for r in &results {
        assert_eq!(r.rounds, 4, "{} (KV_SEED={seed})", r.engine);
        let info = registry::info(&r.engine).unwrap();
        if info.kind == EngineKind::Ours {
            assert!(r.is_clean(), "{}: {r:?} (KV_SEED={seed})", r.engine);
        }
    }
}

#[test]
fn the_crash_command_prints_a_row_per_engine() {
    let _serial = serial();
    let report = tempfile::tempdir().unwrap();
    let out = Command::new(exe())
        .args([
            "crash",
            "--engines",
            "bitcask",
            "--rounds",
            "3",
            "--writes",
            "8",
        ])
        .arg("--report")
        .arg(report.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let row = stdout.lines().find(|l| l.starts_with("bitcask")).unwrap();
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cells[1], "3", "{row}");
    assert_eq!(&cells[4..9], ["0", "0", "0", "0", "0"], "{row}");
    let md = std::fs::read_to_string(report.path().join("crash.md")).unwrap();
    assert!(md.contains("| bitcask | 3 |"), "{md}");
}

/// Crash recovery time is measured for every engine: the open after the
/// kill succeeds and recovers at least the synced load.
#[test]
fn crash_recovery_is_measured_after_a_kill() {
    let _serial = serial();
    for info in persistent() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("store");
        let plan = LoadPlan {
            keys: 500,
            sync_every: 200,
            unsynced_tail: 50,
            batch: 64,
            key_size: 16,
            value_size: 100,
            seed: 1,
        };
        let timing =
            crash::measure_crash_recovery(exe(), info.name, &dir, plan, &OpenConfig::default())
                .unwrap_or_else(|e| panic!("{}: {e}", info.name));
        assert!(timing.open_secs >= 0.0, "{}", info.name);
        assert!(timing.load_secs > 0.0, "{}", info.name);
    }
}

/// The crash-recovery load writes in batches with the harness cadence:
/// after the kill, every engine holds every synced key of the load (the
/// unsynced tail only overwrites loaded keys, so the key count is exact).
#[test]
fn batched_crash_load_leaves_every_synced_key_after_the_kill() {
    let _serial = serial();
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    use kv_core::{Direction, KeyRange};

    for info in persistent() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("store");
        let mut child = Command::new(exe())
            .args(["crash-child", "--engine", info.name, "--dir"])
            .arg(&dir)
            .args(["--load", "2500", "--sync-every", "1000", "--tail", "300"])
            .args(["--batch", "128", "--seed", "3"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready", "{}", info.name);
        child.kill().unwrap();
        child.wait().unwrap();
        let store = registry::open(info.name, &dir, &OpenConfig::default()).unwrap();
        let keys = store
            .scan(&KeyRange::all(), Direction::Forward)
            .unwrap()
            .count();
        assert_eq!(keys, 2500, "{}", info.name);
    }
}
