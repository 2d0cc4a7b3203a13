//! The report's SVG charts, built from a [`RunReport`]: throughput per
//! workload, latency percentiles, the amplifications, our engines against
//! the best peer, and the read/write/space (RUM) trade-off.
//!
//! Every chart is a grouped bar chart on a logarithmic axis that fits its
//! data ([`super::axis::log_axis`]), drawn by [`super::bars`]. Every chart
//! leaves out `null` (its cost is the harness-cost table's) and gives each
//! engine the same colour ([`super::palette::engine_color`]). A figure that
//! does not exist for an engine is a missing bar, or, for the reads of an
//! engine that reads through a memory map, the words "not measurable" (and
//! on the RUM chart, for reads served from an engine's own cache, "cached,
//! not measurable": [`CACHED_BELOW`]).

use std::path::Path;

use super::axis::TickUnit;
use super::bars::{chart_width, write_panels, Bar, GroupedBars, Series};
use super::compare::{
    amplification_summary, best_peer, chart_engines, find, reads_bypass_counters, record_bytes,
    runs_of, typical_ops, workloads, AmplificationSummary, Figure, Spread,
};
use super::palette::engine_color;
use crate::metrics::latency::LatencySummary;
use crate::results::RunReport;

/// What a chart bar of an engine whose reads bypass the counters says.
pub const NOT_MEASURABLE: &str = "not measurable (mmap)";

/// What the RUM chart's read bar says for an engine that read almost
/// nothing through system calls: its reads were served from its own cache.
pub const CACHED: &str = "cached, not measurable";

/// Below this many bytes read per byte of record (`rchar` per read over
/// key plus value), the reads were served from the engine's cache: the
/// figure is a few stray system calls over many reads (btree and sled read
/// 0.015 bytes per get in the quiet default run, 1e-4 of a record), not
/// what a read costs, and is shown as [`CACHED`] instead of a bar four
/// decades below the others.
pub const CACHED_BELOW: f64 = 0.01;

/// Picks one percentile out of a latency summary.
type PickPercentile = fn(&LatencySummary) -> u64;

/// A chart file written by [`write_charts`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartFile {
    /// File name inside the report directory.
    pub file: String,
    /// What it shows.
    pub title: String,
}

fn series_of(engines: &[String]) -> Vec<Series> {
    engines
        .iter()
        .map(|e| Series {
            name: e.clone(),
            color: engine_color(e),
        })
        .collect()
}

/// The throughput chart: a bar per engine and workload (the median of its
/// runs with min-max whiskers when the workload was repeated), labelled with
/// its ratio to the best peer.
pub fn throughput_chart(report: &RunReport) -> GroupedBars {
    let engines = chart_engines(&report.results);
    let groups = workloads(&report.results);
    let mut repeated = 0;
    let bars = groups
        .iter()
        .map(|w| {
            let best = best_peer(report, w);
            engines
                .iter()
                .map(|e| {
                    let runs = runs_of(report, e, w);
                    let spread = Spread::of(&runs);
                    let value = spread.as_ref().map(|s| s.median);
                    let whisker = spread.filter(|s| s.runs > 1).map(|s| {
                        repeated = repeated.max(s.runs);
                        (s.min, s.max)
                    });
                    let note = match (value, &best) {
                        (Some(v), Some((_, b))) if v > 0.0 => Some(format!("{:.2}×", v / b)),
                        _ => None,
                    };
                    Bar {
                        value,
                        note,
                        whisker,
                        missing: None,
                    }
                })
                .collect()
        })
        .collect();
    let spread = if repeated > 1 {
        format!("; repeated workloads: median of {repeated} runs, whiskers min-max")
    } else {
        String::new()
    };
    GroupedBars {
        title: format!(
            "Throughput (ops/s, log scale, higher is better; label: ratio to the best peer{spread})"
        ),
        y_desc: "ops/s".into(),
        unit: TickUnit::Count,
        groups,
        series: series_of(&engines),
        bars,
        reference: None,
    }
}

fn latency_panel(report: &RunReport, name: &str, pick: PickPercentile) -> GroupedBars {
    let engines = chart_engines(&report.results);
    let groups = workloads(&report.results);
    let bars = groups
        .iter()
        .map(|w| {
            engines
                .iter()
                .map(|e| Bar::of(find(&report.results, e, w).map(|r| pick(&r.latency) as f64)))
                .collect()
        })
        .collect();
    GroupedBars {
        title: format!("Latency {name} per operation (log scale, lower is better)"),
        y_desc: "latency".into(),
        unit: TickUnit::Nanos,
        groups,
        series: series_of(&engines),
        bars,
        reference: None,
    }
}

/// Our engines' throughput over the best peer's, per workload (1 = as fast
/// as the fastest peer); the group label names that peer.
pub fn ours_vs_peers_chart(report: &RunReport) -> Option<GroupedBars> {
    let ours: Vec<String> = chart_engines(&report.results)
        .into_iter()
        .filter(|e| report.results.iter().any(|r| r.engine == *e && r.ours))
        .collect();
    let mut groups = Vec::new();
    let mut bars = Vec::new();
    for w in workloads(&report.results) {
        let Some((peer, best)) = best_peer(report, &w) else {
            continue;
        };
        groups.push(format!("{w}\nvs {peer}"));
        bars.push(
            ours.iter()
                .map(|e| {
                    let ratio = typical_ops(report, e, &w).map(|v| v / best);
                    Bar {
                        note: ratio.map(|r| format!("{r:.2}×")),
                        ..Bar::of(ratio)
                    }
                })
                .collect(),
        );
    }
    if ours.is_empty() || groups.is_empty() {
        return None;
    }
    Some(GroupedBars {
        title: "Our engines: throughput / the best peer's on each workload (1× = as fast)".into(),
        y_desc: "ratio to the best peer".into(),
        unit: TickUnit::Ratio,
        groups,
        series: series_of(&ours),
        bars,
        reference: Some(1.0),
    })
}

fn value(f: &Option<Figure>) -> Option<f64> {
    f.as_ref().map(|f| f.value)
}

fn source(
    summary: &[AmplificationSummary],
    pick: fn(&AmplificationSummary) -> &Option<Figure>,
) -> String {
    let mut names: Vec<&str> = summary
        .iter()
        .filter_map(|s| pick(s).as_ref().map(|f| f.workload.as_str()))
        .collect();
    names.sort_unstable();
    names.dedup();
    names.join("/")
}

/// The read figure of one engine: `missing` says "not measurable" for an
/// engine that reads through a memory map.
fn read_bar(report: &RunReport, engine: &str, figure: Option<f64>) -> Bar {
    if reads_bypass_counters(&report.settings, engine) {
        Bar {
            missing: Some(NOT_MEASURABLE.into()),
            ..Bar::default()
        }
    } else {
        Bar::of(figure)
    }
}

/// The RUM chart's read bar: `figure` is bytes read per read over the
/// record's bytes. An mmap engine is [`NOT_MEASURABLE`]; a figure below
/// [`CACHED_BELOW`] is [`CACHED`]; otherwise a bar of that height.
pub fn rum_read_bar(mmap: bool, figure: Option<f64>) -> Bar {
    let missing = if mmap {
        Some(NOT_MEASURABLE)
    } else if figure.is_some_and(|f| f < CACHED_BELOW) {
        Some(CACHED)
    } else {
        None
    };
    match missing {
        Some(text) => Bar {
            missing: Some(text.into()),
            ..Bar::default()
        },
        None => Bar::of(figure),
    }
}

/// One panel per amplification: groups are the instruments (wchar, device,
/// `Fs`; before and after compaction), bars the engines.
fn amplification_panels(report: &RunReport) -> Vec<GroupedBars> {
    let stored: Vec<_> = report
        .results
        .iter()
        .filter(|r| r.persistent)
        .cloned()
        .collect();
    let summary = amplification_summary(&stored);
    let engines: Vec<String> = summary.iter().map(|s| s.engine.clone()).collect();
    let series = series_of(&engines);
    let column = |f: &dyn Fn(&AmplificationSummary) -> Bar| summary.iter().map(f).collect();
    let write_from = source(&summary, |s| &s.write_amp_wchar);
    let read_from = source(&summary, |s| &s.rchar_per_read);
    let space_from = source(&summary, |s| &s.space_amp);
    vec![
        GroupedBars {
            title: format!("Write amplification ({write_from})"),
            y_desc: "bytes written / user bytes".into(),
            unit: TickUnit::Ratio,
            groups: vec!["wchar".into(), "device".into(), "Fs (ours)".into()],
            series: series.clone(),
            bars: vec![
                column(&|s| Bar::of(value(&s.write_amp_wchar))),
                column(&|s| Bar::of(value(&s.write_amp_device))),
                column(&|s| Bar::of(value(&s.write_amp_fs))),
            ],
            reference: Some(1.0),
        },
        GroupedBars {
            title: format!("Bytes read per read ({read_from})"),
            y_desc: "bytes read per read".into(),
            unit: TickUnit::Bytes,
            groups: vec!["rchar".into(), "Fs (ours)".into()],
            series: series.clone(),
            bars: vec![
                column(&|s| read_bar(report, &s.engine, value(&s.rchar_per_read))),
                column(&|s| Bar::of(value(&s.fs_bytes_per_read))),
            ],
            reference: Some(record_bytes(&report.settings)),
        },
        GroupedBars {
            title: format!("Space amplification ({space_from})"),
            y_desc: "bytes on disk / live bytes".into(),
            unit: TickUnit::Ratio,
            groups: vec!["after workload".into(), "after compact".into()],
            series,
            bars: vec![
                column(&|s| Bar::of(value(&s.space_amp))),
                column(&|s| Bar::of(value(&s.space_amp_after_compact))),
            ],
            reference: Some(1.0),
        },
    ]
}

/// The RUM trade-off at a glance: for every persistent engine its write,
/// read and space amplification as ratios (1 = ideal), on one axis.
pub fn rum_chart(report: &RunReport) -> GroupedBars {
    let stored: Vec<_> = report
        .results
        .iter()
        .filter(|r| r.persistent)
        .cloned()
        .collect();
    let summary = amplification_summary(&stored);
    let engines: Vec<String> = summary.iter().map(|s| s.engine.clone()).collect();
    let record = record_bytes(&report.settings);
    let groups = vec![
        format!(
            "write: wchar / user bytes\n({})",
            source(&summary, |s| &s.write_amp_wchar)
        ),
        format!(
            "read: rchar per read / record\n({})",
            source(&summary, |s| &s.rchar_per_read)
        ),
        format!(
            "space: disk / live bytes\n({})",
            source(&summary, |s| &s.space_amp)
        ),
    ];
    let bars = vec![
        summary
            .iter()
            .map(|s| Bar::of(value(&s.write_amp_wchar)))
            .collect(),
        summary
            .iter()
            .map(|s| {
                rum_read_bar(
                    reads_bypass_counters(&report.settings, &s.engine),
                    value(&s.rchar_per_read).map(|b| b / record),
                )
            })
            .collect(),
        summary
            .iter()
            .map(|s| Bar::of(value(&s.space_amp)))
            .collect(),
    ];
    GroupedBars {
        title:
            "Read, write and space amplification (RUM), every engine (1× = ideal, lower is better)"
                .into(),
        y_desc: "amplification".into(),
        unit: TickUnit::Ratio,
        groups,
        series: series_of(&engines),
        bars,
        reference: Some(1.0),
    }
}

/// Writes the charts into `dir`: `throughput.svg`, `latency.svg`,
/// `amplification.svg`, `rum.svg`, and `ours_vs_peers.svg` when one of our
/// engines and a peer ran.
///
/// # Errors
/// A message if plotting or writing a file fails.
pub fn write_charts(report: &RunReport, dir: &Path) -> Result<Vec<ChartFile>, String> {
    let mut files = Vec::new();
    let mut add = |file: &str, title: &str| {
        files.push(ChartFile {
            file: file.into(),
            title: title.into(),
        });
    };
    let throughput = throughput_chart(report);
    let width = chart_width(throughput.groups.len(), throughput.series.len());
    write_panels(
        &dir.join("throughput.svg"),
        (width, 560),
        (1, 1),
        &[throughput],
    )?;
    add("throughput.svg", "Throughput per workload");

    if let Some(ours) = ours_vs_peers_chart(report) {
        let width = chart_width(ours.groups.len(), ours.series.len() + 2);
        write_panels(
            &dir.join("ours_vs_peers.svg"),
            (width, 520),
            (1, 1),
            &[ours],
        )?;
        add("ours_vs_peers.svg", "Our engines against the best peer");
    }

    let percentiles: [(&str, PickPercentile); 3] = [
        ("p50", |l| l.p50_ns),
        ("p99", |l| l.p99_ns),
        ("p99.9", |l| l.p999_ns),
    ];
    let panels: Vec<GroupedBars> = percentiles
        .iter()
        .map(|(name, pick)| latency_panel(report, name, *pick))
        .collect();
    write_panels(&dir.join("latency.svg"), (width, 1260), (3, 1), &panels)?;
    add("latency.svg", "Latency percentiles per workload");

    let rum = rum_chart(report);
    let rum_width = chart_width(3, rum.series.len()).max(1100);
    write_panels(&dir.join("rum.svg"), (rum_width, 560), (1, 1), &[rum])?;
    add(
        "rum.svg",
        "Read, write and space amplification (RUM) of every engine",
    );

    let panels = amplification_panels(report);
    write_panels(&dir.join("amplification.svg"), (1800, 560), (1, 3), &panels)?;
    add("amplification.svg", "Amplification by instrument");
    Ok(files)
}
