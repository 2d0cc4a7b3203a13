//! SVG charts (plotters, SVG backend): throughput per workload, latency
//! percentiles, and the three amplifications per engine.
//!
//! Every chart is a grouped bar chart on a logarithmic y axis (throughputs
//! and latencies span orders of magnitude between workloads; a ratio of 1 is
//! the reference line for amplifications). A missing bar means the figure
//! does not exist for that engine (e.g. `Fs` counters of a peer).

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::compare::{amplification_summary, engines, find, workloads, Figure};
use super::format::nanos;
use crate::metrics::latency::LatencySummary;
use crate::results::RunReport;

/// Colours of the series, in order.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// One grouped bar chart.
struct GroupedBars<'a> {
    title: String,
    y_desc: &'a str,
    groups: Vec<String>,
    series: Vec<String>,
    /// `values[group][series]`.
    values: Vec<Vec<Option<f64>>>,
    format: fn(f64) -> String,
}

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

fn draw_grouped(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    bars: &GroupedBars<'_>,
) -> Result<(), String> {
    let positive: Vec<f64> = bars
        .values
        .iter()
        .flatten()
        .flatten()
        .copied()
        .filter(|v| v.is_finite() && *v > 0.0)
        .collect();
    let Some(high) = positive.iter().copied().reduce(f64::max) else {
        let style = ("sans-serif", 16).into_font().color(&BLACK);
        area.draw(&Text::new(
            format!("{}: no data", bars.title),
            (20, 20),
            style,
        ))
        .map_err(|e| e.to_string())?;
        return Ok(());
    };
    let low = positive.iter().copied().reduce(f64::min).unwrap_or(high) / 2.0;
    let top = legend_headroom(area, low, high, bars.series.len());
    let groups = bars.groups.len().max(1) as f64;
    let format = bars.format;
    let mut chart = ChartBuilder::on(area)
        .caption(&bars.title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(72)
        .build_cartesian_2d(0f64..groups, (low..top).log_scale())
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_desc(bars.y_desc)
        .y_label_formatter(&|v| format(*v))
        .draw()
        .map_err(|e| e.to_string())?;
    let width = 0.8 / bars.series.len().max(1) as f64;
    for (s, name) in bars.series.iter().enumerate() {
        let color = PALETTE[s % PALETTE.len()];
        let rects = bars.values.iter().enumerate().filter_map(|(g, row)| {
            let v = row.get(s).copied().flatten().filter(|v| *v > 0.0)?;
            let x0 = g as f64 + 0.1 + s as f64 * width;
            Some(Rectangle::new(
                [(x0, low), (x0 + width * 0.92, v)],
                color.filled(),
            ))
        });
        chart
            .draw_series(rects)
            .map_err(|e| e.to_string())?
            .label(name.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(|e| e.to_string())?;
    // Group names under the x axis, centred on their group.
    let (base_x, base_y) = area.get_base_pixel();
    let style = ("sans-serif", 13)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Center, VPos::Top));
    for (g, name) in bars.groups.iter().enumerate() {
        let (x, y) = chart.backend_coord(&(g as f64 + 0.5, low));
        area.draw(&Text::new(
            name.clone(),
            (x - base_x, y - base_y + 8),
            style.clone(),
        ))
        .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The top of a log axis from `low` to `high` that leaves room above the
/// highest bar for a legend of `rows` entries.
fn legend_headroom(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    low: f64,
    high: f64,
    rows: usize,
) -> f64 {
    let plot_px = f64::from(area.dim_in_pixel().1).max(200.0) - 90.0;
    let legend_px = rows as f64 * 19.0 + 24.0;
    let decades = (high / low).log10().max(0.3);
    let extra = decades * legend_px / (plot_px - legend_px).max(40.0);
    high * 10f64.powf(extra) * 1.2
}

fn chart_width(groups: usize, series: usize) -> u32 {
    (groups * (series * 16 + 40)).clamp(700, 2400) as u32 + 120
}

fn write_panels(
    path: &Path,
    size: (u32, u32),
    layout: (usize, usize),
    panels: &[GroupedBars<'_>],
) -> Result<(), String> {
    let root = SVGBackend::new(path, size).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    for (area, bars) in root.split_evenly(layout).iter().zip(panels) {
        draw_grouped(area, bars)?;
    }
    root.present().map_err(|e| e.to_string())
}

fn by_workload(
    report: &RunReport,
    value: impl Fn(&crate::results::WorkloadResult) -> Option<f64>,
) -> (Vec<String>, Vec<String>, Vec<Vec<Option<f64>>>) {
    let groups = workloads(&report.results);
    let series = engines(&report.results);
    let values = groups
        .iter()
        .map(|w| {
            series
                .iter()
                .map(|e| find(&report.results, e, w).and_then(&value))
                .collect()
        })
        .collect();
    (groups, series, values)
}

fn ratio_text(v: f64) -> String {
    short(v)
}

fn bytes_text(v: f64) -> String {
    if v < 1.0 {
        format!("{}B", short(v))
    } else {
        super::format::bytes(v as u64)
    }
}

/// A number in at most three significant digits with an SI suffix, for
/// axis labels: `0.01`, `250`, `10K`, `1.5M`, `20G`.
fn si(v: f64) -> String {
    let (scaled, suffix) = if v >= 1e9 {
        (v / 1e9, "G")
    } else if v >= 1e6 {
        (v / 1e6, "M")
    } else if v >= 1e3 {
        (v / 1e3, "K")
    } else {
        (v, "")
    };
    format!("{}{suffix}", short(scaled))
}

/// Up to three significant digits, without trailing zeros.
fn short(v: f64) -> String {
    let text = if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else if v >= 0.1 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    };
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

/// Writes `throughput.svg`, `latency.svg` and `amplification.svg` into `dir`.
///
/// # Errors
/// A message if plotting or writing a file fails.
pub fn write_charts(report: &RunReport, dir: &Path) -> Result<Vec<ChartFile>, String> {
    let mut files = Vec::new();
    let (groups, series, values) = by_workload(report, |r| Some(r.ops_per_sec));
    let width = chart_width(groups.len(), series.len());
    let throughput = GroupedBars {
        title: "Throughput per workload (ops/s, log scale, higher is better)".into(),
        y_desc: "ops/s",
        groups,
        series,
        values,
        format: si,
    };
    write_panels(
        &dir.join("throughput.svg"),
        (width, 520),
        (1, 1),
        &[throughput],
    )?;
    files.push(ChartFile {
        file: "throughput.svg".into(),
        title: "Throughput per workload".into(),
    });

    let percentiles: [(&str, PickPercentile); 3] = [
        ("p50", |l| l.p50_ns),
        ("p99", |l| l.p99_ns),
        ("p99.9", |l| l.p999_ns),
    ];
    let panels: Vec<GroupedBars<'_>> = percentiles
        .iter()
        .map(|(name, pick)| {
            let (groups, series, values) = by_workload(report, |r| Some(pick(&r.latency) as f64));
            GroupedBars {
                title: format!("Latency {name} per operation (log scale, lower is better)"),
                y_desc: "latency",
                groups,
                series,
                values,
                format: nanos,
            }
        })
        .collect();
    write_panels(&dir.join("latency.svg"), (width, 1200), (3, 1), &panels)?;
    files.push(ChartFile {
        file: "latency.svg".into(),
        title: "Latency percentiles per workload".into(),
    });

    write_amplification(report, dir)?;
    files.push(ChartFile {
        file: "amplification.svg".into(),
        title: "Write, read and space amplification per engine".into(),
    });
    Ok(files)
}

fn source(figures: &[Option<&Figure>]) -> String {
    let mut names: Vec<&str> = figures
        .iter()
        .flatten()
        .map(|f| f.workload.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();
    names.join("/")
}

fn write_amplification(report: &RunReport, dir: &Path) -> Result<(), String> {
    // Amplification is a property of storage: in-memory engines are left out.
    let stored: Vec<_> = report
        .results
        .iter()
        .filter(|r| r.persistent)
        .cloned()
        .collect();
    let summary = amplification_summary(&stored);
    let groups: Vec<String> = summary.iter().map(|s| s.engine.clone()).collect();
    let value = |f: &Option<Figure>| f.as_ref().map(|f| f.value);
    let write_from = source(
        &summary
            .iter()
            .map(|s| s.write_amp_wchar.as_ref())
            .collect::<Vec<_>>(),
    );
    let read_from = source(
        &summary
            .iter()
            .map(|s| s.rchar_per_read.as_ref())
            .collect::<Vec<_>>(),
    );
    let space_from = source(
        &summary
            .iter()
            .map(|s| s.space_amp.as_ref())
            .collect::<Vec<_>>(),
    );
    let panels = [
        GroupedBars {
            title: format!("Write amplification ({write_from})"),
            y_desc: "bytes written / user bytes",
            groups: groups.clone(),
            series: vec!["wchar".into(), "device".into(), "Fs (ours)".into()],
            values: summary
                .iter()
                .map(|s| {
                    vec![
                        value(&s.write_amp_wchar),
                        value(&s.write_amp_device),
                        value(&s.write_amp_fs),
                    ]
                })
                .collect(),
            format: ratio_text,
        },
        GroupedBars {
            title: format!("Read amplification ({read_from})"),
            y_desc: "bytes read per read",
            groups: groups.clone(),
            series: vec!["rchar".into(), "Fs (ours)".into()],
            values: summary
                .iter()
                .map(|s| vec![value(&s.rchar_per_read), value(&s.fs_bytes_per_read)])
                .collect(),
            format: bytes_text,
        },
        GroupedBars {
            title: format!("Space amplification ({space_from})"),
            y_desc: "bytes on disk / live bytes",
            groups,
            series: vec!["after workload".into(), "after compact".into()],
            values: summary
                .iter()
                .map(|s| vec![value(&s.space_amp), value(&s.space_amp_after_compact)])
                .collect(),
            format: ratio_text,
        },
    ];
    let width = (summary.len() * 3 * 70).clamp(1200, 2400) as u32;
    write_panels(
        &dir.join("amplification.svg"),
        (width, 520),
        (1, 3),
        &panels,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_labels_are_short() {
        assert_eq!(si(10_000.0), "10K");
        assert_eq!(si(1_500_000.0), "1.5M");
        assert_eq!(si(250.0), "250");
        assert_eq!(si(2e10), "20G");
        assert_eq!(short(0.01), "0.01");
        assert_eq!(ratio_text(1.0), "1");
        assert_eq!(bytes_text(0.05), "0.05B");
    }
}
