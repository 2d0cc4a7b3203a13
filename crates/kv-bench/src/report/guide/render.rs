//! The Markdown of each generated block of the guide, from one run.
//!
//! Every figure of `docs/choosing.md` comes from here: a block is a pure
//! function of the run's JSON (no clock, no machine state), so rendering it
//! again from the same JSON gives the same bytes, which is what the guide's
//! test compares.

use std::fmt::Write as _;

use super::{
    figures, guide_engines, is_ours, shape, versus_best_peer, Metric, ShapeFigures, SHAPES,
};
use crate::report::compare::{
    amplification_summary, best_peer, find, reads_bypass_counters, runs_of, typical_ops, Spread,
    NULL_ENGINE,
};
use crate::report::format::{bytes, rate, secs};
use crate::results::RunReport;

/// The names of every block [`block`] renders, in the guide's order.
pub fn block_names() -> Vec<&'static str> {
    let mut names = vec!["run", "glance"];
    names.extend(SHAPES.iter().map(|s| s.block));
    names.push("losses");
    names
}

/// The Markdown of block `name` (without its markers), or `None` for an
/// unknown name.
pub fn block(report: &RunReport, name: &str) -> Option<String> {
    match name {
        "run" => Some(run_block(report)),
        "glance" => Some(glance_block(report)),
        "losses" => Some(losses_block(report)),
        other => shape(other).map(|s| shape_block(report, &figures(report, s))),
    }
}

/// A factor as the guide writes it, with at least two significant
/// digits: `0.93×`, `12.4×`, `150×`, `0.0013×`.
pub fn factor(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}×")
    } else if v >= 10.0 {
        format!("{v:.1}×")
    } else if v >= 0.1 || v == 0.0 {
        format!("{v:.2}×")
    } else {
        let digits = (1.0 - v.log10().floor()).clamp(2.0, 12.0) as usize;
        format!("{v:.digits$}×")
    }
}

fn amp(v: Option<f64>) -> String {
    match v {
        Some(v) if v >= 100.0 => format!("{v:.0}"),
        Some(v) if v >= 10.0 => format!("{v:.1}"),
        Some(v) => format!("{v:.2}"),
        None => "-".into(),
    }
}

fn run_block(report: &RunReport) -> String {
    let s = &report.settings;
    let c = &s.config;
    let m = &report.machine;
    let workloads: Vec<&str> = s.workloads.iter().map(|w| w.name()).collect();
    let fillsync_runs = 1 + report
        .repeats
        .iter()
        .filter(|r| r.workload == "fillsync")
        .map(|r| &r.engine)
        .fold(
            std::collections::BTreeMap::<&str, usize>::new(),
            |mut m, e| {
                *m.entry(e.as_str()).or_default() += 1;
                m
            },
        )
        .into_values()
        .max()
        .unwrap_or(0);
    let mut md = String::new();
    let _ = writeln!(
        md,
        "| the run | |\n|---|---|\n| engines | {} |\n| workloads | {} |\n\
         | keys (`--num`) | {} of {} + {} bytes |\n| threads / batch | {} / {} |\n\
         | sync | `{}`, harness `sync()` every {} writes |\n| cache budget | {} MiB per engine |\n\
         | seed | {} |\n| fillsync runs per engine | {} (median shown) |\n\
         | machine | {}, {} cores, {}, {}, store on {}, {} build |\n| machine load | {} |\n\
         | wall time | {} |",
        s.engines.join(", "),
        workloads.join(", "),
        c.num,
        c.key_size,
        c.value_size,
        c.threads,
        c.batch,
        s.sync.name(),
        s.sync_every,
        s.cache_mb,
        c.seed,
        fillsync_runs,
        m.cpu_model,
        m.cores,
        bytes(m.memory_bytes),
        m.kernel,
        m.store_fs_type,
        m.build,
        m.load_average.as_deref().map_or_else(
            || "not recorded in this JSON".to_owned(),
            |l| format!("1/5/15-minute load average {l} at the start")
        ),
        report
            .wall_secs
            .map_or_else(|| "not recorded".to_owned(), |w| format!("{w:.1} s")),
    );
    md
}

fn glance_block(report: &RunReport) -> String {
    let ours: Vec<String> = guide_engines(report)
        .into_iter()
        .filter(|e| is_ours(report, e))
        .collect();
    let mut md = String::from("| workload shape | winner | by how much (over the runner-up) |");
    for e in &ours {
        let _ = write!(md, " {e} / best peer |");
    }
    md.push_str("\n|---|---|--:|");
    md.push_str(&"--:|".repeat(ours.len()));
    md.push('\n');
    for shape in &SHAPES {
        let f = figures(report, shape);
        let Some(winner) = f.winner() else {
            let _ = writeln!(
                md,
                "| {} | not measured by this run | - |{}",
                shape.title,
                " - |".repeat(ours.len())
            );
            continue;
        };
        let runner_up = f.ranking.get(1).map_or("-", |s| s.engine.as_str());
        let margin = f.margin().map_or_else(
            || "-".to_owned(),
            |m| format!("{} ({runner_up})", factor(m)),
        );
        let _ = write!(md, "| {} | {} | {} |", shape.title, winner.engine, margin);
        for e in &ours {
            let v = versus_best_peer(report, &f, e).map_or_else(|| "-".to_owned(), factor);
            let _ = write!(md, " {v} |");
        }
        md.push('\n');
    }
    md.push_str(
        "\nThroughput shapes are scored by the geometric mean of each engine's ops/s over the \
         shape's workloads (the median of repeated runs); \"best peer\" columns are the geometric \
         mean of each workload's ratio to its fastest peer (above 1×: ours is faster). Memory, \
         restart and space: the best peer's figure over ours (above 1×: ours is better).\n",
    );
    md
}

fn shape_block(report: &RunReport, f: &ShapeFigures) -> String {
    let Some(winner) = f.winner() else {
        return not_measured(report, f);
    };
    let mut md = match f.shape.metric {
        Metric::Throughput(_) => throughput_tables(report, f),
        Metric::PeakRss => memory_table(report),
        Metric::CrashRecovery => restart_table(report),
        Metric::SpaceAfterCompact => space_table(report),
    };
    let ranking: Vec<String> = f
        .ranking
        .iter()
        .map(|s| format!("{} {}", s.engine, score_text(f, s.value)))
        .collect();
    let _ = writeln!(
        md,
        "\nWinner: {}{}. Ranking: {}.",
        winner.engine,
        f.margin().map_or_else(String::new, |m| format!(
            ", {} the runner-up ({})",
            factor(m),
            f.ranking.get(1).map_or("", |s| s.engine.as_str())
        )),
        ranking.join(", ")
    );
    md
}

fn score_text(f: &ShapeFigures, v: f64) -> String {
    match f.shape.metric {
        Metric::Throughput(_) => rate(v),
        Metric::PeakRss => bytes(v as u64),
        Metric::CrashRecovery => secs(v),
        Metric::SpaceAfterCompact => amp(Some(v)),
    }
}

fn not_measured(report: &RunReport, f: &ShapeFigures) -> String {
    if f.shape.block == "large-values" {
        return format!(
            "Not measured by this run: its values are {} bytes (a large-value run has values of \
             at least {} bytes). To measure: `cargo run --release -p kv-bench -- --value-size \
             4000 --num 20000 --workloads fillrandom,readrandom,overwrite`.\n",
            report.settings.config.value_size,
            super::LARGE_VALUE_BYTES
        );
    }
    "Not measured by this run.\n".to_owned()
}

fn header(engines: &[String], ours: &[String], first: &str) -> String {
    let mut md = format!("| {first} |");
    for e in engines {
        let _ = write!(md, " {e} |");
    }
    md.push_str(" best peer |");
    for e in ours {
        let _ = write!(md, " {e} / best peer |");
    }
    md.push_str("\n|---|");
    md.push_str(&"--:|".repeat(engines.len()));
    md.push_str("---|");
    md.push_str(&"--:|".repeat(ours.len()));
    md.push('\n');
    md
}

fn throughput_tables(report: &RunReport, f: &ShapeFigures) -> String {
    let engines = guide_engines(report);
    let ours: Vec<String> = engines
        .iter()
        .filter(|e| is_ours(report, e))
        .cloned()
        .collect();
    let mut md = String::from(
        "Throughput, ops/s (ratios: ours over the fastest peer on that workload):\n\n",
    );
    md.push_str(&header(&engines, &ours, "workload"));
    for w in &f.workloads {
        let _ = write!(md, "| {w} |");
        for e in &engines {
            let v = typical_ops(report, e, w).map_or_else(|| "-".to_owned(), rate);
            let _ = write!(md, " {v} |");
        }
        let best = best_peer(report, w);
        let _ = write!(md, " {} |", best.as_ref().map_or("-", |b| b.0.as_str()));
        for e in &ours {
            let v = match (typical_ops(report, e, w), &best) {
                (Some(o), Some((_, p))) => factor(o / p),
                _ => "-".to_owned(),
            };
            let _ = write!(md, " {v} |");
        }
        md.push('\n');
    }
    if f.workloads.iter().any(|w| w == "fillsync") {
        md.push_str(&spread_lines(report, &engines));
    }
    md.push_str(&amplification_rows(report, f, &engines));
    md
}

fn spread_lines(report: &RunReport, engines: &[String]) -> String {
    let mut parts = Vec::new();
    for e in engines {
        if let Some(s) = Spread::of(&runs_of(report, e, "fillsync")) {
            parts.push(format!(
                "{e} {} / {} / {}",
                rate(s.min),
                rate(s.median),
                rate(s.max)
            ));
        }
    }
    format!(
        "\nfillsync runs (slowest / median / fastest, ops/s): {}.\n",
        parts.join(", ")
    )
}

/// Write amplification of the shape's writing workloads, and bytes read
/// per read of its reading ones, every engine measured by the kernel's
/// counters (`wchar`, `rchar`).
fn amplification_rows(report: &RunReport, f: &ShapeFigures, engines: &[String]) -> String {
    let on = |w: &String, pred: fn(&crate::results::WorkloadResult) -> bool| {
        engines
            .iter()
            .any(|e| find(&report.results, e, w).is_some_and(pred))
    };
    let writes: Vec<&String> = f
        .workloads
        .iter()
        .filter(|w| on(w, |r| r.writes > 0))
        .collect();
    let reads: Vec<&String> = f
        .workloads
        .iter()
        .filter(|w| {
            on(w, |r| {
                r.writes == 0 && r.background_writes == 0 && r.reads > 0
            })
        })
        .collect();
    let mut md = String::new();
    if !writes.is_empty() {
        md.push_str("\nWrite amplification (`wchar` bytes per user byte; with the compaction after it where that workload ended its store):\n\n");
        md.push_str(&plain_header(engines, "workload"));
        for w in writes {
            let _ = write!(md, "| {w} |");
            for e in engines {
                let r = find(&report.results, e, w);
                let text = match r {
                    Some(r) => match r.write_amp_with_compaction {
                        Some(c) => format!(
                            "{} ({} with compaction)",
                            amp(r.write_amp_wchar),
                            amp(Some(c))
                        ),
                        None => amp(r.write_amp_wchar),
                    },
                    None => "-".to_owned(),
                };
                let _ = write!(md, " {text} |");
            }
            md.push('\n');
        }
    }
    if !reads.is_empty() {
        md.push_str("\nBytes read per read (`rchar`; `mmap`: reads through a memory map, not measurable):\n\n");
        md.push_str(&plain_header(engines, "workload"));
        for w in reads {
            let _ = write!(md, "| {w} |");
            for e in engines {
                let text = if reads_bypass_counters(&report.settings, e) {
                    "mmap".to_owned()
                } else {
                    amp(find(&report.results, e, w).and_then(|r| r.rchar_per_read))
                };
                let _ = write!(md, " {text} |");
            }
            md.push('\n');
        }
    }
    md
}

fn plain_header(engines: &[String], first: &str) -> String {
    let mut md = format!("| {first} |");
    for e in engines {
        let _ = write!(md, " {e} |");
    }
    md.push_str("\n|---|");
    md.push_str(&"--:|".repeat(engines.len()));
    md.push('\n');
    md
}

fn memory_table(report: &RunReport) -> String {
    let mut engines = guide_engines(report);
    if report.engines.iter().any(|e| e.engine == NULL_ENGINE) {
        engines.push(NULL_ENGINE.to_owned());
    }
    let mut md = String::from("Peak RSS of each engine's process over the whole run (the largest of its workloads; `null` is the harness alone):\n\n");
    md.push_str(&plain_header(&engines, "engine"));
    md.push_str("| peak RSS |");
    for e in &engines {
        let v = report
            .engines
            .iter()
            .find(|r| &r.engine == e)
            .and_then(|r| r.peak_rss_bytes)
            .map_or_else(|| "-".to_owned(), bytes);
        let _ = write!(md, " {v} |");
    }
    md.push('\n');
    md
}

fn restart_table(report: &RunReport) -> String {
    let engines = guide_engines(report);
    let mut md = String::from("Crash recovery: the first open after a child that loaded the keys (with the harness's sync cadence) and overwrote half a cadence of them unsynced was SIGKILLed. Reopen: close and open again after the clean fill.\n\n");
    md.push_str(&plain_header(&engines, "engine"));
    md.push_str("| crash recovery |");
    for e in &engines {
        let v = report
            .engines
            .iter()
            .find(|r| &r.engine == e)
            .and_then(|r| r.crash_recovery_secs)
            .map_or_else(|| "-".to_owned(), secs);
        let _ = write!(md, " {v} |");
    }
    for fill in ["fillseq", "fillrandom"] {
        let _ = write!(md, "\n| reopen after {fill} |");
        for e in &engines {
            let v = find(&report.results, e, fill)
                .and_then(|r| r.reopen_secs)
                .map_or_else(|| "-".to_owned(), secs);
            let _ = write!(md, " {v} |");
        }
    }
    md.push('\n');
    md
}

fn space_table(report: &RunReport) -> String {
    let engines = guide_engines(report);
    let summary = amplification_summary(&report.results);
    let of = |e: &str| summary.iter().find(|s| s.engine == e);
    let mut md = String::from("Space amplification (allocated blocks over live bytes) after each store's last workload, before and after `compact()`:\n\n");
    md.push_str(&plain_header(&engines, "engine"));
    for (label, pick) in [("after the workload", 0), ("after `compact()`", 1)] {
        let _ = write!(md, "| {label} |");
        for e in &engines {
            let fig = of(e).and_then(|s| {
                if pick == 0 {
                    s.space_amp.clone()
                } else {
                    s.space_amp_after_compact.clone()
                }
            });
            let text = fig.map_or_else(
                || "-".to_owned(),
                |f| format!("{} ({})", amp(Some(f.value)), f.workload),
            );
            let _ = write!(md, " {text} |");
        }
        md.push('\n');
    }
    md
}

fn losses_block(report: &RunReport) -> String {
    let ours: Vec<String> = guide_engines(report)
        .into_iter()
        .filter(|e| is_ours(report, e))
        .collect();
    let all: Vec<ShapeFigures> = SHAPES.iter().map(|s| figures(report, s)).collect();
    let mut md = String::from(
        "| ours | behind the best peer (ours / best peer) | level or ahead |\n|---|---|---|\n",
    );
    for e in &ours {
        let mut behind = Vec::new();
        let mut ahead = Vec::new();
        for f in &all {
            if let Some(v) = versus_best_peer(report, f, e) {
                let item = format!("{} {}", f.shape.block, factor(v));
                if v < 1.0 {
                    behind.push(item);
                } else {
                    ahead.push(item);
                }
            }
        }
        let _ = writeln!(
            md,
            "| {e} | {} | {} |",
            none_if_empty(&behind),
            none_if_empty(&ahead)
        );
    }
    md
}

fn none_if_empty(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factors_keep_two_significant_digits() {
        assert_eq!(factor(150.4), "150×");
        assert_eq!(factor(12.44), "12.4×");
        assert_eq!(factor(0.934), "0.93×");
        assert_eq!(factor(0.0134), "0.013×");
        assert_eq!(factor(0.00134), "0.0013×");
        assert_eq!(factor(0.0), "0.00×");
    }
}
