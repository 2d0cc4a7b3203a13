//! The terminal table: one row per workload and engine, then our engines
//! against the best peer, the harness cost, and per-engine memory.

use std::fmt::Write as _;

use super::compare::{harness_cost, ratios_to_best_peer, workloads, HARNESS_COST_LIMIT};
use super::format::{bytes, nanos, opt_bytes, rate, ratio, secs};
use crate::results::{RunReport, WorkloadResult};
use crate::settings::Settings;

/// The lines printed before a run starts: what runs, with what keys, seed,
/// sync policy, and the cache budget with what each engine gives it to.
pub fn render_header(settings: &Settings) -> String {
    let c = &settings.config;
    let mut out = format!(
        "kv-bench: {} engine(s) x {} workload(s), {} keys of {}+{} bytes, seed {}, sync {}\n",
        settings.engines.len(),
        settings.workloads.len(),
        c.num,
        c.key_size,
        c.value_size,
        c.seed,
        settings.sync.name()
    );
    out.push_str(&cache_lines(settings));
    out
}

/// The cache budget and, per engine, what it is given to.
fn cache_lines(settings: &Settings) -> String {
    let mut out = format!(
        "cache budget: {} per engine (--cache-mb {}), given to:\n",
        bytes(settings.cache_bytes() as u64),
        settings.cache_mb
    );
    let width = settings.engines.iter().map(String::len).max().unwrap_or(0);
    for engine in &settings.engines {
        let _ = writeln!(
            out,
            "  {engine:<width$}  {}",
            settings.cache_of(engine).unwrap_or("unknown")
        );
    }
    out
}

const HEADER: [&str; 13] = [
    "workload",
    "engine",
    "ops/s",
    "p50",
    "p99",
    "p99.9",
    "max",
    "W-amp",
    "W-amp(dev)",
    "R B/read",
    "space",
    "compacted",
    "peak RSS",
];

fn row(r: &WorkloadResult) -> [String; 13] {
    // Our engines: the exact Fs figure; peers: the kernel's wchar/rchar.
    let write_amp = r.write_amp_fs.or(r.write_amp_wchar);
    let read_bytes = r.read_bytes_per_read_fs.or(r.rchar_per_read);
    let mut ops = rate(r.ops_per_sec);
    if r.capped_by_duration {
        ops.push('*');
    }
    [
        r.workload.clone(),
        r.engine.clone(),
        ops,
        nanos(r.latency.p50_ns as f64),
        nanos(r.latency.p99_ns as f64),
        nanos(r.latency.p999_ns as f64),
        nanos(r.latency.max_ns as f64),
        ratio(write_amp),
        ratio(r.write_amp_device),
        ratio(read_bytes),
        ratio(r.space_amp),
        ratio(r.compaction.and_then(|c| c.space_amp_after)),
        opt_bytes(r.peak_rss_bytes),
    ]
}

/// Renders the whole table and its notes.
pub fn render(report: &RunReport) -> String {
    let mut rows: Vec<[String; 13]> = vec![HEADER.map(str::to_owned)];
    for workload in workloads(&report.results) {
        rows.extend(
            report
                .results
                .iter()
                .filter(|r| r.workload == workload)
                .map(row),
        );
    }
    let mut widths = [0usize; 13];
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut previous = String::new();
    for (i, r) in rows.iter().enumerate() {
        if i > 1 && r[0] != previous {
            out.push('\n');
        }
        previous.clone_from(&r[0]);
        for (col, (cell, w)) in r.iter().zip(widths).enumerate() {
            let pad = w - cell.chars().count();
            if col < 2 {
                let _ = write!(out, "{cell}{}  ", " ".repeat(pad));
            } else {
                let _ = write!(out, "{}{cell}  ", " ".repeat(pad));
            }
        }
        out.truncate(out.trim_end().len());
        out.push('\n');
    }
    out.push_str(
        "W-amp: bytes written / user bytes (kvlab engines: own Fs counters; peers: /proc wchar). \
         W-amp(dev): page-cache bytes dirtied for the device, less those cancelled by a truncate or \
         delete before writeback, / user bytes. R B/read: bytes read per \
         read (Fs; peers: rchar). space: bytes on disk / live bytes, after the workload; compacted: \
         after compact() of the store's last workload.\n",
    );
    if report.results.iter().any(|r| r.capped_by_duration) {
        out.push_str("*: stopped by --duration before finishing\n");
    }
    render_ratios(report, &mut out);
    render_harness(report, &mut out);
    render_engines(report, &mut out);
    out
}

fn render_ratios(report: &RunReport, out: &mut String) {
    let ratios = ratios_to_best_peer(&report.results);
    if ratios.is_empty() {
        return;
    }
    out.push_str(
        "\nOur engines against the best peer (throughput ratio, above 1 = ours faster):\n",
    );
    for workload in workloads(&report.results) {
        let line: Vec<String> = ratios
            .iter()
            .filter(|r| r.workload == workload)
            .map(|r| format!("{} {:.2}x {}", r.engine, r.ratio, r.best_peer))
            .collect();
        if !line.is_empty() {
            let _ = writeln!(out, "  {workload:<18} {}", line.join(", "));
        }
    }
}

fn render_harness(report: &RunReport, out: &mut String) {
    let costs = harness_cost(&report.results);
    if costs.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\nHarness cost (null engine time per op / fastest real engine's; limit {:.0}%):",
        HARNESS_COST_LIMIT * 100.0
    );
    for c in costs {
        let _ = writeln!(
            out,
            "  {:<18} {:>8} / {:>8} ({}) = {:>5.1}%{}",
            c.workload,
            nanos(c.null_ns_per_op),
            nanos(c.fastest_ns_per_op),
            c.fastest_engine,
            c.share * 100.0,
            if c.within_limit() { "" } else { "  OVER LIMIT" }
        );
    }
}

fn render_engines(report: &RunReport, out: &mut String) {
    out.push('\n');
    out.push_str(&cache_lines(&report.settings));
    out.push_str("\nEngines (peak RSS over all phases; child = own process):\n");
    for e in &report.engines {
        let _ = writeln!(
            out,
            "  {:<10} {:<6} peak RSS {:>9}  wall {:>8}{}",
            e.engine,
            e.process,
            opt_bytes(e.peak_rss_bytes),
            secs(e.wall_secs),
            e.error
                .as_ref()
                .map_or_else(String::new, |err| format!("  FAILED: {err}"))
        );
    }
    let reopen: Vec<String> = report
        .results
        .iter()
        .filter_map(|r| {
            r.reopen_secs
                .map(|s| format!("{} after {}: {}", r.engine, r.workload, secs(s)))
        })
        .collect();
    if !reopen.is_empty() {
        let _ = writeln!(out, "Reopen of the loaded store: {}", reopen.join("; "));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use clap::Parser;

    fn settings(args: &[&str]) -> Settings {
        let cli =
            Cli::try_parse_from(std::iter::once("kv-bench").chain(args.iter().copied())).unwrap();
        cli.run.settings().unwrap()
    }

    #[test]
    fn header_and_table_print_the_cache_budget_and_each_engines_cache() {
        let settings = settings(&[
            "--engines",
            "memory,bitcask",
            "--workloads",
            "fillseq",
            "--num",
            "100",
            "--cache-mb",
            "32",
            "--in-process",
        ]);
        let header = render_header(&settings);
        assert!(
            header.contains("cache budget: 32.0MiB per engine (--cache-mb 32)"),
            "{header}"
        );
        for name in ["memory", "bitcask"] {
            let cache = crate::registry::info(name).unwrap().cache;
            assert!(
                header
                    .lines()
                    .any(|l| l.trim_start().starts_with(name) && l.ends_with(cache)),
                "{name}: {header}"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings {
            store_dir: Some(dir.path().to_path_buf()),
            ..settings
        };
        let report = crate::runner::run(&settings, None).unwrap();
        let table = render(&report);
        assert!(
            table.contains("cache budget: 32.0MiB per engine"),
            "{table}"
        );
        assert!(
            table.contains(crate::registry::info("bitcask").unwrap().cache),
            "{table}"
        );
    }
}
