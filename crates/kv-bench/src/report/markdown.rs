//! `--report DIR`: `report.md` with the machine, the settings, the charts,
//! every result, our engines against the best peer and the harness cost.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::charts::write_charts;
use super::compare::{harness_cost, ratios_to_best_peer, workloads, HARNESS_COST_LIMIT};
use super::format::{bytes, nanos, opt_bytes, rate, ratio, secs};
use super::threads::{scaling, sync_lines, syncs_text};
use crate::results::RunReport;
use crate::settings::Isolation;

/// Writes `report.md` and the SVG charts into `dir` (created if missing);
/// returns the path of `report.md`.
///
/// # Errors
/// A message if a file cannot be written or a chart cannot be drawn.
pub fn write_report(report: &RunReport, dir: &Path) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let charts = write_charts(report, dir)?;
    let mut md = String::new();
    header(report, &mut md);
    md.push_str("## Charts\n\n");
    for chart in &charts {
        let _ = writeln!(
            md,
            "### {}\n\n![{}]({})\n",
            chart.title, chart.title, chart.file
        );
    }
    results_table(report, &mut md);
    amplification_table(report, &mut md);
    comparisons(report, &mut md);
    engines(report, &mut md);
    let _ = write!(
        md,
        "\n## Where the time went\n\n```text\n{}```\n",
        super::timing::render_time(report)
    );
    md.push_str(
        "\nEvery figure is defined in `docs/benchmarking.md` (how it is measured, fairness rules \
         for the peers, how to read the charts).\n",
    );
    let path = dir.join("report.md");
    std::fs::write(&path, md).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

fn header(report: &RunReport, md: &mut String) {
    let m = &report.machine;
    let s = &report.settings;
    let c = &s.config;
    md.push_str("# kv-bench report\n\n");
    let _ = writeln!(
        md,
        "| machine | |\n|---|---|\n| CPU | {} ({} cores) |\n| memory | {} |\n| kernel | {} |\n\
         | store file system | {} |\n| build | {} (kv-bench {}) |\n",
        m.cpu_model,
        m.cores,
        bytes(m.memory_bytes),
        m.kernel,
        m.store_fs_type,
        m.build,
        m.kv_bench_version
    );
    let workloads: Vec<&str> = s.workloads.iter().map(|w| w.name()).collect();
    let _ = writeln!(
        md,
        "| settings | |\n|---|---|\n| engines | {} |\n| workloads | {} |\n| keys (`--num`) | {} |\n\
         | key / value size | {} B / {} B |\n| batch | {} |\n| threads | {} |\n| sync | {} |\n\
         | seed | {} |\n| fillsync ops | {} |\n| random-read ops (`--reads`) | {} |\n| seek nexts | {} |\n| duration cap | {} |\n\
         | isolation | {} |\n| cache budget (`--cache-mb`) | {} per engine (what each engine gives it \
         to: *Engines* below) |\n",
        s.engines.join(", "),
        workloads.join(", "),
        c.num,
        c.key_size,
        c.value_size,
        c.batch,
        s.thread_counts()
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        s.sync.name(),
        c.seed,
        c.sync_ops.min(c.num),
        c.read_ops(),
        c.seek_nexts,
        c.duration_secs.map_or_else(|| "none".into(), |d| format!("{d} s")),
        match s.isolation {
            Isolation::Process => "one child process per engine",
            Isolation::Shared => "every engine in one process",
        },
        bytes(s.cache_bytes() as u64)
    );
}

fn results_table(report: &RunReport, md: &mut String) {
    md.push_str("## Results\n\n");
    md.push_str(
        "| workload | engine | ops/s | p50 | p99 | p99.9 | max | ops | found | elapsed | peak RSS |\n\
         |---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n",
    );
    for workload in workloads(&report.results) {
        for r in report.results.iter().filter(|r| r.workload == workload) {
            let _ = writeln!(
                md,
                "| {} | {} | {}{} | {} | {} | {} | {} | {} | {} | {} | {} |",
                r.workload,
                r.engine,
                rate(r.ops_per_sec),
                if r.capped_by_duration {
                    " (capped)"
                } else {
                    ""
                },
                nanos(r.latency.p50_ns as f64),
                nanos(r.latency.p99_ns as f64),
                nanos(r.latency.p999_ns as f64),
                nanos(r.latency.max_ns as f64),
                r.ops,
                r.found,
                secs(r.elapsed_secs),
                opt_bytes(r.peak_rss_bytes)
            );
        }
    }
    md.push('\n');
}

fn amplification_table(report: &RunReport, md: &mut String) {
    md.push_str("## Amplification\n\n");
    md.push_str(
        "| workload | engine | user bytes | W-amp Fs | W-amp wchar | W-amp device | Fs B/read | \
         Fs calls/read | rchar/read | disk | space | space after compact | compact | reopen |\n\
         |---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n",
    );
    for workload in workloads(&report.results) {
        for r in report.results.iter().filter(|r| r.workload == workload) {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                r.workload,
                r.engine,
                bytes(r.user_bytes_written),
                ratio(r.write_amp_wchar),
                ratio(r.write_amp_with_compaction),
                ratio(r.write_amp_fs),
                ratio(r.write_amp_device),
                ratio(r.read_bytes_per_read_fs),
                ratio(r.read_calls_per_read_fs),
                ratio(r.rchar_per_read),
                opt_bytes(r.disk.map(|d| d.allocated_bytes)),
                ratio(r.space_amp),
                ratio(r.space_amp_apparent),
                ratio(r.compaction.and_then(|c| c.space_amp_after)),
                r.compaction.map_or_else(|| "-".into(), |c| secs(c.secs)),
                r.reopen_secs.map_or_else(|| "-".into(), secs),
                r.harness_syncs
            );
        }
    }
    md.push('\n');
    md.push_str(&super::table::fs_cross_check(report));
    md.push('\n');
}

fn comparisons(report: &RunReport, md: &mut String) {
    let ratios = ratios_to_best_peer(&report.results);
    if !ratios.is_empty() {
        md.push_str(
            "## Our engines against the best peer\n\nThroughput of each of our engines divided by \
             the fastest peer's on the same workload (above 1: ours is faster).\n\n\
             | workload | engine | ops/s | best peer | peer ops/s | ratio |\n|---|---|--:|---|--:|--:|\n",
        );
        for r in ratios {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {:.2} |",
                r.workload,
                r.engine,
                rate(r.ops_per_sec),
                r.best_peer,
                rate(r.best_peer_ops_per_sec),
                r.ratio
            );
        }
        md.push('\n');
    }
    syncs_and_scaling(report, md);
    let costs = harness_cost(&report.results);
    if !costs.is_empty() {
        let _ = writeln!(
            md,
            "## Harness cost\n\nTime per operation of the `null` engine (the harness alone) against \
             the fastest real engine; it must stay under {:.0}%.\n\n\
             | workload | null | fastest | engine | share |\n|---|--:|--:|---|--:|",
            HARNESS_COST_LIMIT * 100.0
        );
        for c in costs {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {:.1}%{} |",
                c.workload,
                nanos(c.null_ns_per_op),
                nanos(c.fastest_ns_per_op),
                c.fastest_engine,
                c.share * 100.0,
                if c.within_limit() { "" } else { " (over)" }
            );
        }
        md.push('\n');
    }
}

/// Syncs per acknowledged write and, after a `--threads` sweep, each
/// engine's scaling.
fn syncs_and_scaling(report: &RunReport, md: &mut String) {
    let lines = sync_lines(&report.results);
    if !lines.is_empty() {
        let _ = writeln!(
            md,
            "## Syncs per acknowledged write\n\n{}\n\n| workload | engine | syncs per write |\n|---|---|--:|",
            super::table::SYNCS_NOTE.trim_end_matches(':')
        );
        for line in lines {
            for (engine, syncs) in &line.engines {
                let _ = writeln!(
                    md,
                    "| {} | {engine} | {} |",
                    line.workload,
                    syncs_text(*syncs)
                );
            }
        }
        md.push('\n');
    }
    let sweeps = scaling(&report.results);
    if !sweeps.is_empty() {
        md.push_str(
            "## Thread scaling\n\nThroughput at each `--threads` count, and over the engine's \
             throughput at the first count.\n\n\
             | workload | engine | threads | ops/s | over first | syncs per write |\n\
             |---|---|--:|--:|--:|--:|\n",
        );
        for s in sweeps {
            for (threads, ops, speedup, syncs) in &s.points {
                let _ = writeln!(
                    md,
                    "| {} | {} | {threads} | {} | {speedup:.2}x | {} |",
                    s.workload,
                    s.engine,
                    rate(*ops),
                    syncs_text(*syncs)
                );
            }
        }
        md.push('\n');
    }
}

fn engines(report: &RunReport, md: &mut String) {
    let _ = writeln!(
        md,
        "## Engines\n\nEvery engine gets the same cache budget, {} (`--cache-mb {}`); the *cache* \
         column says what each one gives it to.\n\n\
         {}\n\n\
         *Unsynced writes* says where a write acknowledged under `--sync manual` lives until the \
         harness's next `sync()`, and what a process crash can lose (a power loss can lose every \
         write since the last sync on every engine). *Crash recovery* is the first open after a \
         child that loaded the store and left an unsynced tail was SIGKILLed.\n\n\
         | engine | cache | unsynced writes | process | peak RSS | wall time | crash recovery | status |\n\
         |---|---|---|---|--:|--:|--:|---|",
        bytes(report.settings.cache_bytes() as u64),
        report.settings.cache_mb,
        super::table::cadence_line(&report.settings).trim_end()
    );
    for e in &report.engines {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            e.engine,
            report.settings.cache_of(&e.engine).unwrap_or("unknown"),
            report.settings.unsynced_of(&e.engine).unwrap_or("unknown"),
            e.process,
            opt_bytes(e.peak_rss_bytes),
            secs(e.wall_secs),
            e.crash_recovery_secs.map_or_else(
                || e.crash_recovery_error.clone().unwrap_or_else(|| "-".into()),
                secs
            ),
            e.error.as_deref().unwrap_or("ok")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use clap::Parser;

    #[test]
    fn report_states_the_cache_budget_and_each_engines_cache() {
        let cli = Cli::try_parse_from([
            "kv-bench",
            "--engines",
            "memory,null",
            "--workloads",
            "fillseq",
            "--num",
            "100",
            "--cache-mb",
            "32",
            "--in-process",
        ])
        .unwrap();
        let settings = cli.run.settings().unwrap();
        let report = crate::runner::run(&settings, None).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = write_report(&report, dir.path()).unwrap();
        let md = std::fs::read_to_string(path).unwrap();
        assert!(
            md.contains("| cache budget (`--cache-mb`) | 32.0MiB per engine"),
            "{md}"
        );
        let memory = crate::registry::info("memory").unwrap();
        assert!(
            md.contains(&format!(
                "| memory | {} | {} | shared |",
                memory.cache, memory.unsynced
            )),
            "{md}"
        );
        assert!(md.contains("| null | "), "{md}");
    }
}
