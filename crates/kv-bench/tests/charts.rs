#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! What the report's charts hold, checked on the chart data (not by eye):
//! `null` is left out, every engine keeps its colour across charts, the
//! throughput bars carry their ratio to the best peer, an mmap engine's
//! reads are "not measurable" rather than a near-zero bar, repeated
//! fillsync runs become a median with min-max whiskers, and our engines get
//! a ratio chart against the best peer.

use clap::Parser;
use kv_bench::cli::Cli;
use kv_bench::report::bars::GroupedBars;
use kv_bench::report::charts::{
    ours_vs_peers_chart, rum_chart, throughput_chart, write_charts, NOT_MEASURABLE,
};
use kv_bench::report::palette::engine_color;
use kv_bench::results::RunReport;

/// A tiny in-process run of bitcask, lmdb, sled and null.
fn tiny_run(workloads: &str) -> RunReport {
    let cli = Cli::try_parse_from([
        "kv-bench",
        "--engines",
        "bitcask,lmdb,sled,null",
        "--workloads",
        workloads,
        "--num",
        "300",
        "--sync-num",
        "20",
        "--in-process",
    ])
    .unwrap();
    let settings = cli.run.settings().unwrap();
    kv_bench::runner::run(&settings, None).unwrap()
}

fn series_names(chart: &GroupedBars) -> Vec<&str> {
    chart.series.iter().map(|s| s.name.as_str()).collect()
}

#[test]
fn comparison_charts_leave_null_out_and_keep_each_engines_colour() {
    let report = tiny_run("fillrandom,readrandom");
    for chart in [throughput_chart(&report), rum_chart(&report)] {
        assert!(!series_names(&chart).contains(&"null"), "{}", chart.title);
        assert!(series_names(&chart).contains(&"bitcask"), "{}", chart.title);
        for s in &chart.series {
            assert_eq!(s.color, engine_color(&s.name), "{}", chart.title);
        }
    }
}

#[test]
fn throughput_bars_carry_their_ratio_to_the_best_peer() {
    let report = tiny_run("fillrandom");
    let chart = throughput_chart(&report);
    let names = series_names(&chart);
    let row = &chart.bars[0];
    let ops = |e: &str| {
        row[names.iter().position(|n| *n == e).unwrap()]
            .value
            .unwrap()
    };
    let best = ops("lmdb").max(ops("sled"));
    let bitcask = &row[names.iter().position(|n| *n == "bitcask").unwrap()];
    assert_eq!(
        bitcask.note.as_deref(),
        Some(format!("{:.2}×", ops("bitcask") / best).as_str())
    );
    let ours = ours_vs_peers_chart(&report).unwrap();
    assert_eq!(series_names(&ours), ["bitcask"]);
    assert!(
        ours.groups[0].starts_with("fillrandom\nvs "),
        "{:?}",
        ours.groups
    );
    let ratio = ours.bars[0][0].value.unwrap();
    assert!((ratio - ops("bitcask") / best).abs() < 1e-9);
    assert_eq!(ours.reference, Some(1.0));
}

#[test]
fn mmap_reads_are_not_measurable_rather_than_a_tiny_bar() {
    let report = tiny_run("fillseq,readrandom");
    let chart = rum_chart(&report);
    let names = series_names(&chart);
    let lmdb = names.iter().position(|n| *n == "lmdb").unwrap();
    let read = &chart.bars[1][lmdb];
    assert_eq!(read.value, None);
    assert_eq!(read.missing.as_deref(), Some(NOT_MEASURABLE));
    let sled = names.iter().position(|n| *n == "sled").unwrap();
    assert_ne!(chart.bars[1][sled].missing.as_deref(), Some(NOT_MEASURABLE));
}

#[test]
fn reads_served_from_the_cache_are_cached_rather_than_a_near_zero_bar() {
    use kv_bench::report::charts::{rum_read_bar, CACHED, CACHED_BELOW};
    let cached = rum_read_bar(false, Some(0.000_13));
    assert_eq!(
        (cached.value, cached.missing.as_deref()),
        (None, Some(CACHED))
    );
    let zero = rum_read_bar(false, Some(0.0));
    assert_eq!(zero.missing.as_deref(), Some(CACHED));
    let real = rum_read_bar(false, Some(1.2));
    assert_eq!((real.value, real.missing), (Some(1.2), None));
    let edge = rum_read_bar(false, Some(CACHED_BELOW));
    assert_eq!(edge.value, Some(CACHED_BELOW));
    let mmap = rum_read_bar(true, Some(0.000_13));
    assert_eq!(mmap.missing.as_deref(), Some(NOT_MEASURABLE));
    assert_eq!(
        rum_read_bar(false, None),
        kv_bench::report::bars::Bar::of(None)
    );
}

#[test]
fn repeated_fillsync_is_a_median_with_min_max_whiskers() {
    let mut report = tiny_run("fillsync");
    let settings = report.settings.clone();
    report.repeats = kv_bench::repeat::repeat_workload(
        &settings,
        None,
        kv_bench::workload::Workload::FillSync,
        2,
    )
    .unwrap();
    let chart = throughput_chart(&report);
    let names = series_names(&chart);
    let b = names.iter().position(|n| *n == "bitcask").unwrap();
    let bar = &chart.bars[0][b];
    let mut runs = kv_bench::report::compare::runs_of(&report, "bitcask", "fillsync");
    assert_eq!(runs.len(), 3);
    runs.sort_by(f64::total_cmp);
    assert_eq!(bar.value, Some(runs[1]));
    assert_eq!(bar.whisker, Some((runs[0], runs[2])));
    assert!(chart.title.contains("median of 3 runs"), "{}", chart.title);
}

#[test]
fn every_chart_file_is_written_as_svg() {
    let report = tiny_run("fillrandom,readrandom,churn");
    let dir = tempfile::tempdir().unwrap();
    let files = write_charts(&report, dir.path()).unwrap();
    let names: Vec<&str> = files.iter().map(|f| f.file.as_str()).collect();
    for expected in [
        "throughput.svg",
        "ours_vs_peers.svg",
        "latency.svg",
        "rum.svg",
        "amplification.svg",
    ] {
        assert!(names.contains(&expected), "{names:?}");
        let svg = std::fs::read_to_string(dir.path().join(expected)).unwrap();
        assert!(svg.starts_with("<svg"), "{expected}");
        assert!(!svg.contains(">null<"), "{expected} shows null");
    }
    let rum = std::fs::read_to_string(dir.path().join("rum.svg")).unwrap();
    assert!(rum.contains(NOT_MEASURABLE), "rum.svg lacks the mmap note");
}
