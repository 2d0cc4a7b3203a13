#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Where a run's time goes is recorded: the JSON has each engine's child
//! time, its crash-recovery load and open and the whole phase, the
//! repeats' time and the run's total, and the parts add up within the
//! total (each is timed inside it); the printed summary has the table.
//! A check of what is recorded, not of how long anything takes.

use std::process::Command;

use serde_json::Value;

fn secs(v: &Value, field: &str) -> f64 {
    v[field]
        .as_f64()
        .unwrap_or_else(|| panic!("{field} is not a number in {v}"))
}

#[test]
fn every_engines_wall_time_and_the_run_total_are_recorded() {
    let work = tempfile::tempdir().unwrap();
    let json = work.path().join("run.json");
    let out = Command::new(env!("CARGO_BIN_EXE_kv-bench"))
        .args([
            "--engines",
            "memory,bitcask",
            "--workloads",
            "fillsync,fillseq",
        ])
        .args([
            "--num",
            "3000",
            "--sync-num",
            "20",
            "--repeat-fillsync",
            "2",
        ])
        .args(["--sync-every", "1000", "--no-report", "--json"])
        .arg(&json)
        .arg("--dir")
        .arg(work.path().join("stores"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let total = secs(&doc, "wall_secs");
    let repeats = secs(&doc, "repeats_wall_secs");
    assert!(repeats > 0.0);
    let mut parts = repeats;
    for e in doc["engines"].as_array().unwrap() {
        let name = e["engine"].as_str().unwrap();
        let child = secs(e, "wall_secs");
        assert!(child > 0.0, "{name}");
        parts += child;
        if name == "bitcask" {
            let load = secs(e, "crash_recovery_load_secs");
            let open = secs(e, "crash_recovery_secs");
            let phase = secs(e, "crash_recovery_wall_secs");
            assert!(load > 0.0 && open >= 0.0, "{e}");
            assert!(phase >= load + open, "{e}");
            parts += phase;
        } else {
            for field in [
                "crash_recovery_load_secs",
                "crash_recovery_secs",
                "crash_recovery_wall_secs",
            ] {
                assert!(e[field].is_null(), "{name}: {field} of an in-memory engine");
            }
        }
    }
    assert!(total >= parts, "total {total} s < its parts {parts} s");
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("Where the time went"), "{table}");
    assert!(
        table.lines().any(|l| l.starts_with("  bitcask ")) && table.contains("whole run"),
        "{table}"
    );
}
