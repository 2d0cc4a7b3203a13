//! The terminal table: one row per workload and engine, then our engines
//! against the best peer, the harness cost, and per-engine memory.

use std::fmt::Write as _;

use super::compare::{harness_cost, ratios_to_best_peer, workloads, HARNESS_COST_LIMIT};
use super::format::{bytes, nanos, opt_bytes, rate, ratio, secs};
use super::threads::{scaling, sync_lines, syncs_text};
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
    if let Some(reads) = c.reads {
        out.push_str(&format!(
            "random reads: {reads} ops each for readrandom, readmissing and seekrandom (--reads), keys drawn from all {}\n",
            c.num
        ));
    }
    out.push_str(&cadence_line(settings));
    out.push_str(&cache_lines(settings));
    out
}

/// The harness's sync cadence, as printed in the header and the notes.
pub fn cadence_line(settings: &Settings) -> String {
    match (settings.sync, settings.sync_every) {
        (crate::settings::SyncChoice::Always, _) => {
            "sync cadence: every write synced by the engine (--sync always)\n".to_owned()
        }
        (_, 0) => "sync cadence: the harness calls sync() on every engine at the end of each \
                   workload that wrote, never between (--sync-every 0)\n"
            .to_owned(),
        (_, n) => format!(
            "sync cadence: the harness calls sync() on every engine every {n} writes and at the \
             end of each workload that wrote (--sync-every {n}; fillsync syncs every write)\n"
        ),
    }
}

/// Per engine, where an acknowledged write lives until the harness syncs.
fn unsynced_lines(settings: &Settings) -> String {
    let mut out = String::from(
        "Acknowledged but unsynced writes (--sync manual; a power loss loses every write since \
         the last sync() on every engine):\n",
    );
    let width = settings.engines.iter().map(String::len).max().unwrap_or(0);
    for engine in &settings.engines {
        let _ = writeln!(
            out,
            "  {engine:<width$}  {}",
            settings.unsynced_of(engine).unwrap_or("unknown")
        );
    }
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

/// Columns of the table.
const COLUMNS: usize = 14;

const HEADER: [&str; COLUMNS] = [
    "workload",
    "engine",
    "ops/s",
    "p50",
    "p99",
    "p99.9",
    "max",
    "W-amp",
    "W-amp+C",
    "W-amp(dev)",
    "R B/read",
    "space",
    "compacted",
    "peak RSS",
];

fn row(r: &WorkloadResult) -> [String; COLUMNS] {
    // One source of write amplification for every engine: the kernel's
    // wchar (our Fs counters are the cross-check, see `fs_cross_check`).
    let write_amp = r.write_amp_wchar;
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
        ratio(r.write_amp_with_compaction),
        ratio(r.write_amp_device),
        ratio(read_bytes),
        ratio(r.space_amp),
        ratio(r.compaction.and_then(|c| c.space_amp_after)),
        opt_bytes(r.peak_rss_bytes),
    ]
}

/// Renders the whole table and its notes.
pub fn render(report: &RunReport) -> String {
    let mut rows: Vec<[String; COLUMNS]> = vec![HEADER.map(str::to_owned)];
    for workload in workloads(&report.results) {
        rows.extend(
            report
                .results
                .iter()
                .filter(|r| r.workload == workload)
                .map(row),
        );
    }
    let mut widths = [0usize; COLUMNS];
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
        "W-amp: bytes written (/proc/self/io wchar, every engine) / user bytes, during the \
         workload and its final sync. W-amp+C: the same including the compact() that followed \
         (last workload of each store). W-amp(dev): page-cache bytes dirtied for the device, less \
         those cancelled by a truncate or delete before writeback, / user bytes. R B/read: bytes \
         read per read (Fs; peers: rchar). space: allocated blocks (st_blocks*512) / live bytes, \
         after the workload; compacted: after compact() of the store's last workload.\n",
    );
    out.push_str(&cadence_line(&report.settings));
    out.push_str(&fs_cross_check(report));
    out.push_str(&capped_lines(report));
    render_ratios(report, &mut out);
    render_syncs(report, &mut out);
    render_scaling(report, &mut out);
    render_harness(report, &mut out);
    render_engines(report, &mut out);
    out
}

/// One line per workload `--duration` stopped early (the `*` of the
/// throughput column): what it did of what was planned.
pub fn capped_lines(report: &RunReport) -> String {
    let capped: Vec<String> = report
        .results
        .iter()
        .filter(|r| r.capped_by_duration)
        .map(|r| {
            format!(
                "{} {}: {}",
                r.engine,
                r.workload,
                crate::progress::capped_text(r.ops, r.planned_ops)
            )
        })
        .collect();
    if capped.is_empty() {
        return String::new();
    }
    format!("*: {}\n", capped.join("; "))
}

/// Our engines' `Fs` write counters against `wchar`, the one source of the
/// W-amp column: one line if they agree within 5% everywhere, else one line
/// per disagreement.
pub fn fs_cross_check(report: &RunReport) -> String {
    let pairs: Vec<(&WorkloadResult, f64, f64)> = report
        .results
        .iter()
        .filter_map(|r| Some((r, r.write_amp_fs?, r.write_amp_wchar?)))
        .collect();
    if pairs.is_empty() {
        return String::new();
    }
    let off: Vec<String> = pairs
        .iter()
        .filter(|(_, fs, wchar)| (fs - wchar).abs() > 0.05 * fs.max(*wchar))
        .map(|(r, fs, wchar)| {
            format!(
                "{} {}: Fs {fs:.2} vs wchar {wchar:.2}",
                r.engine, r.workload
            )
        })
        .collect();
    if off.is_empty() {
        format!(
            "Fs cross-check: our engines' own Fs write counters agree with wchar within 5% on all {} workloads that wrote.\n",
            pairs.len()
        )
    } else {
        format!(
            "Fs cross-check: Fs write counters and wchar differ by more than 5%: {}\n",
            off.join("; ")
        )
    }
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

/// The note above the syncs-per-write lines, in the table and `report.md`.
pub const SYNCS_NOTE: &str = "Syncs per acknowledged write (stores that sync every write; \
     durable file and directory syncs during the workload and its final sync / acknowledged \
     writes; ours from their Fs counters; n/a: the engine exposes no sync counter and the \
     kernel keeps no per-process count, so none is estimated):";

fn render_syncs(report: &RunReport, out: &mut String) {
    let lines = sync_lines(&report.results);
    if lines.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n{SYNCS_NOTE}");
    for line in lines {
        let cells: Vec<String> = line
            .engines
            .iter()
            .map(|(engine, syncs)| format!("{engine} {}", syncs_text(*syncs)))
            .collect();
        let _ = writeln!(out, "  {:<18} {}", line.workload, cells.join(", "));
    }
}

fn render_scaling(report: &RunReport, out: &mut String) {
    let sweeps = scaling(&report.results);
    if sweeps.is_empty() {
        return;
    }
    out.push_str(
        "\nThread scaling (ops/s at each --threads count, and over the first count; syncs per \
         acknowledged write where counted):\n",
    );
    for s in sweeps {
        let points: Vec<String> = s
            .points
            .iter()
            .map(|(threads, ops, speedup, syncs)| {
                let syncs = syncs.map_or_else(String::new, |v| format!(", {v:.2} syncs/write"));
                format!("{threads}t {} ({speedup:.2}x{syncs})", rate(*ops))
            })
            .collect();
        let _ = writeln!(
            out,
            "  {:<18} {:<10} {}",
            s.workload,
            s.engine,
            points.join("  ")
        );
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
        let _ = writeln!(
            out,
            "Reopen of the loaded store (close through open): {}",
            reopen.join("; ")
        );
    }
    let recovery: Vec<String> = report
        .engines
        .iter()
        .filter_map(|e| {
            e.crash_recovery_secs
                .map(|s| format!("{} {}", e.engine, secs(s)))
        })
        .collect();
    if !recovery.is_empty() {
        let _ = writeln!(
            out,
            "Crash recovery (first open after SIGKILL of a loaded child with an unsynced tail): {}",
            recovery.join("; ")
        );
    }
    out.push('\n');
    out.push_str(&unsynced_lines(&report.settings));
    out.push('\n');
    out.push_str(&super::timing::render_time(report));
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

    /// Every result records what it planned; a workload stopped by
    /// `--duration` is listed with what it did of that, not as finished.
    #[test]
    fn a_capped_workload_is_listed_with_its_done_and_planned_ops() {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings {
            store_dir: Some(dir.path().to_path_buf()),
            ..settings(&[
                "--engines",
                "memory",
                "--workloads",
                "fillseq,readrandom",
                "--num",
                "100",
                "--in-process",
            ])
        };
        let mut report = crate::runner::run(&settings, None).unwrap();
        for r in &report.results {
            assert_eq!(r.planned_ops, 100, "{}", r.workload);
            assert_eq!(r.ops, 100, "{}", r.workload);
        }
        assert!(!render(&report).contains("stopped by --duration"));
        let first = &mut report.results[0];
        first.capped_by_duration = true;
        first.ops = 40;
        let table = render(&report);
        assert!(
            table.contains("*: memory fillseq: stopped by --duration after 40 of 100 ops\n"),
            "{table}"
        );
    }
}
