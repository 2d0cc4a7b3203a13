//! The scaling sweep's output: a terminal table, `scale.svg` (six panels
//! against the key count) and `scale.md`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::axis::TickUnit;
use super::bars::Series;
use super::compare::find;
use super::format::{opt_bytes, rate, ratio, secs};
use super::lines::{write_panels, Lines};
use super::palette::engine_color;
use crate::results::WorkloadResult;
use crate::scale::{ScaleReport, ScaleStep};

/// Picks one figure of a result.
type Pick = fn(&WorkloadResult) -> Option<f64>;

/// The panels of `scale.svg`: what each shows and how it is picked.
const PANELS: [(&str, &str, &str, TickUnit, Pick); 5] = [
    (
        "fillrandom throughput",
        "ops/s",
        "fillrandom",
        TickUnit::Count,
        |r| Some(r.ops_per_sec),
    ),
    (
        "readrandom throughput",
        "ops/s",
        "readrandom",
        TickUnit::Count,
        |r| Some(r.ops_per_sec),
    ),
    (
        "overwrite throughput",
        "ops/s",
        "overwrite",
        TickUnit::Count,
        |r| Some(r.ops_per_sec),
    ),
    (
        "overwrite write amplification (wchar, with the compaction after it)",
        "bytes written / user bytes",
        "overwrite",
        TickUnit::Ratio,
        |r| r.write_amp_with_compaction.or(r.write_amp_wchar),
    ),
    (
        "space amplification after overwrite (before compact)",
        "disk / live bytes",
        "overwrite",
        TickUnit::Ratio,
        |r| r.space_amp,
    ),
];

/// Engines of the sweep, in the order they ran.
fn engines(report: &ScaleReport) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for step in &report.steps {
        for e in &step.engines {
            if !out.contains(&e.engine) {
                out.push(e.engine.clone());
            }
        }
    }
    out
}

fn peak_rss(step: &ScaleStep, engine: &str) -> Option<u64> {
    step.engines
        .iter()
        .find(|e| e.engine == engine)
        .and_then(|e| e.peak_rss_bytes)
}

/// The six panels of `scale.svg`.
pub fn scale_panels(report: &ScaleReport) -> Vec<Lines> {
    let engines = engines(report);
    let xs: Vec<f64> = report.steps.iter().map(|s| s.num as f64).collect();
    let series: Vec<Series> = engines
        .iter()
        .map(|e| Series {
            name: e.clone(),
            color: engine_color(e),
        })
        .collect();
    let mut panels: Vec<Lines> = PANELS
        .iter()
        .map(|(title, y_desc, workload, unit, pick)| Lines {
            title: (*title).into(),
            y_desc: (*y_desc).into(),
            unit: *unit,
            xs: xs.clone(),
            series: series.clone(),
            points: engines
                .iter()
                .map(|e| {
                    report
                        .steps
                        .iter()
                        .map(|s| find(&s.results, e, workload).and_then(pick))
                        .collect()
                })
                .collect(),
        })
        .collect();
    panels.push(Lines {
        title: "peak RSS of the engine's process".into(),
        y_desc: "bytes".into(),
        unit: TickUnit::Bytes,
        xs,
        series,
        points: engines
            .iter()
            .map(|e| {
                report
                    .steps
                    .iter()
                    .map(|s| peak_rss(s, e).map(|b| b as f64))
                    .collect()
            })
            .collect(),
    });
    panels
}

/// The sweep as a text table: one row per key count and engine.
pub fn render(report: &ScaleReport) -> String {
    let mut out = String::from(
        "keys        engine      fillrandom  readrandom   overwrite  W-amp+C  space  peak RSS  wall\n",
    );
    for step in &report.steps {
        for run in &step.engines {
            let e = run.engine.as_str();
            let ops = |w: &str| {
                find(&step.results, e, w).map_or_else(|| "-".into(), |r| rate(r.ops_per_sec))
            };
            let over = find(&step.results, e, "overwrite");
            let _ = writeln!(
                out,
                "{:<11} {:<10} {:>11} {:>11} {:>11} {:>8} {:>6} {:>9} {:>5}",
                step.num,
                e,
                ops("fillrandom"),
                ops("readrandom"),
                ops("overwrite"),
                ratio(over.and_then(|r| r.write_amp_with_compaction.or(r.write_amp_wchar))),
                ratio(over.and_then(|r| r.space_amp)),
                opt_bytes(run.peak_rss_bytes),
                secs(run.wall_secs)
            );
        }
    }
    let _ = writeln!(out, "sweep wall time: {}", secs(report.wall_secs));
    out
}

/// Writes `scale.svg` and `scale.md` into `dir` (created if missing);
/// returns the path of `scale.md`.
///
/// # Errors
/// A message if a file cannot be written or the chart cannot be drawn.
pub fn write_report(report: &ScaleReport, dir: &Path) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    write_panels(
        &dir.join("scale.svg"),
        (1800, 1000),
        (2, 3),
        &scale_panels(report),
    )?;
    let counts: Vec<String> = report.steps.iter().map(|s| s.num.to_string()).collect();
    let m = &report.machine;
    let mut md = format!(
        "# kv-bench scaling sweep\n\nKey counts {}; workloads fillrandom, readrandom, overwrite; \
         seed {}; {} cores ({}), {} build; whole sweep {}.\n\n![scaling sweep](scale.svg)\n\n```text\n",
        counts.join(", "),
        report.settings.config.seed,
        m.cores,
        m.cpu_model,
        m.build,
        secs(report.wall_secs)
    );
    md.push_str(&render(report));
    md.push_str("```\n");
    let path = dir.join("scale.md");
    std::fs::write(&path, md).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}
