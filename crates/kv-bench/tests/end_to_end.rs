#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! A tiny full run of the binary: memory and bitcask, every workload, 2,000
//! keys, JSON and the Markdown report; the JSON is read back as plain JSON
//! (not through the harness's own types) and every field is checked.

use std::process::Command;

use serde_json::Value;

const RESULT_FIELDS: [&str; 39] = [
    "engine",
    "ours",
    "kind",
    "persistent",
    "workload",
    "threads",
    "batch",
    "sync",
    "ops",
    "reads",
    "writes",
    "found",
    "items_scanned",
    "background_writes",
    "capped_by_duration",
    "planned_ops",
    "elapsed_secs",
    "ops_per_sec",
    "ns_per_op",
    "latency",
    "user_bytes_written",
    "fs_io",
    "proc_io",
    "write_amp_fs",
    "write_amp_wchar",
    "write_amp_device",
    "read_bytes_per_read_fs",
    "read_calls_per_read_fs",
    "rchar_per_read",
    "live_keys",
    "live_bytes",
    "disk",
    "space_amp",
    "compaction",
    "reopen_secs",
    "rss_start_bytes",
    "peak_rss_bytes",
    "peak_rss_scope",
    "engine_stats",
];
const LATENCY_FIELDS: [&str; 6] = [
    "samples", "mean_ns", "p50_ns", "p99_ns", "p999_ns", "max_ns",
];
const FS_FIELDS: [&str; 6] = [
    "bytes_read",
    "read_calls",
    "bytes_written",
    "write_calls",
    "file_syncs",
    "dir_syncs",
];
const PROC_FIELDS: [&str; 7] = [
    "rchar",
    "wchar",
    "syscr",
    "syscw",
    "read_bytes",
    "write_bytes",
    "cancelled_write_bytes",
];
const MACHINE_FIELDS: [&str; 7] = [
    "cpu_model",
    "cores",
    "memory_bytes",
    "kernel",
    "store_fs_type",
    "build",
    "kv_bench_version",
];
const SETTINGS_FIELDS: [&str; 16] = [
    "engines",
    "workloads",
    "num",
    "key_size",
    "value_size",
    "batch",
    "threads",
    "seed",
    "seek_nexts",
    "sync_ops",
    "duration_secs",
    "sync",
    "store_dir",
    "isolation",
    "cache_mb",
    "engine_caches",
];

const NUM: u64 = 2_000;

fn u(v: &Value, field: &str) -> u64 {
    v[field]
        .as_u64()
        .unwrap_or_else(|| panic!("{field} is not an integer in {v}"))
}

fn f(v: &Value, field: &str) -> f64 {
    v[field]
        .as_f64()
        .unwrap_or_else(|| panic!("{field} is not a number in {v}"))
}

fn has_all(v: &Value, fields: &[&str], what: &str) {
    let object = v
        .as_object()
        .unwrap_or_else(|| panic!("{what} is not an object: {v}"));
    for field in fields {
        assert!(object.contains_key(*field), "{what} lacks {field}: {v}");
    }
}

fn check_result(r: &Value) {
    has_all(r, &RESULT_FIELDS, "result");
    let name = format!("{} {}", r["engine"], r["workload"]);
    let workload = r["workload"].as_str().unwrap();
    let persistent = r["persistent"].as_bool().unwrap();
    has_all(&r["latency"], &LATENCY_FIELDS, &name);
    let lat = &r["latency"];
    assert!(u(lat, "p50_ns") <= u(lat, "p99_ns") && u(lat, "p99_ns") <= u(lat, "p999_ns"));
    assert!(
        u(lat, "p999_ns") <= u(lat, "max_ns") + u(lat, "max_ns") / 500,
        "{name}: {lat}"
    );
    assert_eq!(u(lat, "samples"), u(r, "ops"), "{name}");
    assert!(u(r, "ops") > 0, "{name} did nothing");
    assert!(
        f(r, "ops_per_sec") > 0.0 && f(r, "elapsed_secs") > 0.0,
        "{name}"
    );
    assert!(!r["capped_by_duration"].as_bool().unwrap(), "{name}");
    has_all(&r["proc_io"], &PROC_FIELDS, &name);
    assert!(["workload", "process"].contains(&r["peak_rss_scope"].as_str().unwrap()));
    assert!(
        u(r, "peak_rss_bytes") > 0 && u(r, "rss_start_bytes") > 0,
        "{name}"
    );
    assert_eq!(u(r, "live_bytes"), u(r, "live_keys") * 116, "{name}");
    match workload {
        "readrandom" | "ycsb-c" | "readwhilewriting" => {
            assert_eq!(
                u(r, "found"),
                u(r, "reads"),
                "{name}: every loaded key is found"
            )
        }
        "readmissing" => assert_eq!(u(r, "found"), 0, "{name}: a missing key was found"),
        "readseq" | "readreverse" => assert_eq!(u(r, "items_scanned"), NUM, "{name}"),
        "fillseq" | "fillrandom" => {
            assert_eq!((u(r, "writes"), u(r, "live_keys")), (NUM, NUM), "{name}");
            assert_eq!(u(r, "user_bytes_written"), NUM * 116, "{name}");
        }
        _ => {}
    }
    if workload == "readwhilewriting" {
        assert!(
            u(r, "background_writes") > 0,
            "{name}: the writer never wrote"
        );
    }
    if persistent {
        has_all(&r["fs_io"], &FS_FIELDS, &name);
        has_all(
            &r["disk"],
            &["file_bytes", "allocated_bytes", "files"],
            &name,
        );
        assert!(f(r, "space_amp") > 0.0, "{name}");
        if u(r, "user_bytes_written") > 0 {
            assert!(
                f(r, "write_amp_fs") >= 1.0,
                "{name}: wrote less than the user data"
            );
            assert!(f(r, "write_amp_wchar") > 0.0, "{name}");
            assert!(r["write_amp_device"].is_number(), "{name}");
        }
        if u(r, "reads") > 0 {
            assert!(r["read_bytes_per_read_fs"].is_number(), "{name}");
            assert!(r["read_calls_per_read_fs"].is_number(), "{name}");
            assert!(r["rchar_per_read"].is_number(), "{name}");
        }
        if workload == "fillseq" || workload == "fillrandom" {
            assert!(f(r, "reopen_secs") > 0.0, "{name}: reopen not timed");
        }
        // Ours record their own figures after every workload.
        let stats = r["engine_stats"]
            .as_object()
            .unwrap_or_else(|| panic!("{name}: no engine_stats"));
        assert!(stats.contains_key("merges_run"), "{name}: {stats:?}");
        assert!(
            stats.contains_key("keydir_write_lock_max_us.publish"),
            "{name}: {stats:?}"
        );
    } else {
        for field in [
            "fs_io",
            "disk",
            "space_amp",
            "write_amp_fs",
            "write_amp_wchar",
            "reopen_secs",
            "engine_stats",
        ] {
            assert!(
                r[field].is_null(),
                "{name}: {field} should be null for an in-memory engine"
            );
        }
    }
}

#[test]
fn tiny_run_of_every_workload_writes_complete_json_and_a_report() {
    let work = tempfile::tempdir().unwrap();
    let json = work.path().join("run.json");
    let report = work.path().join("report");
    let stores = work.path().join("stores");
    let out = Command::new(env!("CARGO_BIN_EXE_kv-bench"))
        .args([
            "--engines",
            "memory,bitcask",
            "--workloads",
            "all",
            "--num",
            "2000",
        ])
        .args([
            "--sync-num",
            "200",
            "--seed",
            "7",
            "--cache-mb",
            "48",
            "--json",
        ])
        .arg(&json)
        .arg("--report")
        .arg(&report)
        .arg("--dir")
        .arg(&stores)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("fillseq") && table.contains("bitcask"),
        "{table}"
    );

    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(doc["tool"], "kv-bench");
    has_all(&doc["machine"], &MACHINE_FIELDS, "machine");
    assert!(u(&doc["machine"], "cores") >= 1);
    has_all(&doc["settings"], &SETTINGS_FIELDS, "settings");
    assert_eq!(u(&doc["settings"], "seed"), 7);
    assert_eq!(u(&doc["settings"], "num"), NUM);
    assert_eq!(doc["settings"]["isolation"], "process");
    // The cache budget and what each engine gives it to: JSON, header, table.
    assert_eq!(u(&doc["settings"], "cache_mb"), 48);
    let caches = doc["settings"]["engine_caches"].as_array().unwrap();
    assert_eq!(caches.len(), 2);
    for (entry, name) in caches.iter().zip(["memory", "bitcask"]) {
        let cache = kv_bench::registry::info(name).unwrap().cache;
        assert_eq!(entry["engine"], name);
        assert_eq!(entry["cache"], cache);
        assert!(
            stderr.contains(cache),
            "header lacks {name}'s cache: {stderr}"
        );
        assert!(table.contains(cache), "table lacks {name}'s cache: {table}");
    }
    assert!(
        stderr.contains("cache budget: 48.0MiB per engine (--cache-mb 48)"),
        "{stderr}"
    );
    let engines = doc["engines"].as_array().unwrap();
    assert_eq!(engines.len(), 2);
    for e in engines {
        has_all(
            e,
            &["engine", "process", "peak_rss_bytes", "wall_secs", "error"],
            "engine run",
        );
        assert!(e["error"].is_null(), "{e}");
        assert_eq!(e["process"], "child");
    }
    let results = doc["results"].as_array().unwrap();
    assert_eq!(results.len(), 2 * kv_bench::workload::ALL.len());
    for r in results {
        check_result(r);
    }
    // The same seed drives both engines: the same keys end up live.
    for w in kv_bench::workload::ALL {
        let live: Vec<u64> = results
            .iter()
            .filter(|r| r["workload"] == w.name())
            .map(|r| u(r, "live_keys"))
            .collect();
        assert!(
            live.windows(2).all(|p| p[0] == p[1]),
            "{}: {live:?}",
            w.name()
        );
    }
    // Every store was compacted before it was discarded; churn ran last.
    let churn = results
        .iter()
        .find(|r| r["engine"] == "bitcask" && r["workload"] == "churn")
        .unwrap();
    has_all(
        &churn["compaction"],
        &["secs", "disk_before", "disk_after", "space_amp_after"],
        "compaction",
    );
    assert!(f(&churn["compaction"], "space_amp_after") > 0.0);

    let md = std::fs::read_to_string(report.join("report.md")).unwrap();
    for chart in ["throughput.svg", "latency.svg", "amplification.svg"] {
        assert!(md.contains(chart), "report.md does not show {chart}");
        let svg = std::fs::read_to_string(report.join(chart)).unwrap();
        assert!(
            svg.starts_with("<svg") && svg.contains("bitcask"),
            "{chart}"
        );
    }
    assert!(md.contains("ycsb-e") && md.contains("| CPU |"), "{md}");
    assert!(
        md.contains("| cache budget (`--cache-mb`) | 48.0MiB"),
        "{md}"
    );
    assert!(
        std::fs::read_dir(&stores).unwrap().next().is_none(),
        "stores were not cleaned up"
    );
}
