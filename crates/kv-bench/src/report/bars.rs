//! A grouped bar chart on a logarithmic axis (plotters, SVG backend): the
//! one drawing routine behind every bar chart of the report.
//!
//! The axis comes from [`log_axis`] (it fits the data: see its guarantees);
//! the legend is a row under the title, outside the plot, so it never hides
//! a bar; a bar may carry a note above it (a ratio), min-max whiskers (the
//! spread of repeated runs), or, when its figure does not exist, a text in
//! its place ("not measurable").

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::axis::{labels, log_axis, TickUnit};

/// One bar.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bar {
    /// Its height; `None`: no bar.
    pub value: Option<f64>,
    /// Text written above the bar (vertically), e.g. `0.47×`.
    pub note: Option<String>,
    /// Min-max whiskers, e.g. the spread of repeated runs.
    pub whisker: Option<(f64, f64)>,
    /// Written (vertically, from the axis) where the bar would be when
    /// `value` is `None`, e.g. `not measurable (mmap)`.
    pub missing: Option<String>,
}

impl Bar {
    /// A bar of height `value` (none if `None`).
    pub fn of(value: Option<f64>) -> Self {
        Bar {
            value,
            ..Bar::default()
        }
    }
}

/// One series: a name in the legend and its colour.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend text.
    pub name: String,
    /// Fill colour.
    pub color: RGBColor,
}

/// One grouped bar chart.
#[derive(Debug, Clone)]
pub struct GroupedBars {
    /// Title above the chart.
    pub title: String,
    /// Description of the y axis.
    pub y_desc: String,
    /// How tick labels are written.
    pub unit: TickUnit,
    /// Group labels under the x axis (a `\n` starts a second line).
    pub groups: Vec<String>,
    /// The series, in legend order.
    pub series: Vec<Series>,
    /// `bars[group][series]`.
    pub bars: Vec<Vec<Bar>>,
    /// A horizontal reference line (e.g. 1 for ratios).
    pub reference: Option<f64>,
}

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Every number the axis must hold: values and whisker ends.
fn axis_values(chart: &GroupedBars) -> Vec<f64> {
    let mut out: Vec<f64> = Vec::new();
    for bar in chart.bars.iter().flatten() {
        out.extend(bar.value);
        if let Some((lo, hi)) = bar.whisker {
            out.push(lo);
            out.push(hi);
        }
    }
    out.extend(chart.reference);
    out
}

/// Pixels above the plot for notes: they are written vertically from the
/// top of their bar, so the room grows with the longest note (the axis
/// itself stays fitted to the data).
fn note_margin(chart: &GroupedBars) -> u32 {
    let longest = chart
        .bars
        .iter()
        .flatten()
        .filter_map(|b| b.note.as_ref().map(|n| n.chars().count()))
        .max();
    longest.map_or(10, |chars| 12 + 7 * chars as u32)
}

/// A legend row: a colour box and the name of each series, left to right.
///
/// # Errors
/// A message if drawing fails.
pub fn draw_legend(area: &Area<'_>, series: &[Series]) -> Result<(), String> {
    let mut x = 12;
    for s in series {
        area.draw(&Rectangle::new([(x, 8), (x + 12, 20)], s.color.filled()))
            .map_err(err)?;
        let style = ("sans-serif", 14).into_font().color(&BLACK);
        area.draw(&Text::new(s.name.clone(), (x + 16, 7), style))
            .map_err(err)?;
        x += 16 + 8 * s.name.chars().count() as i32 + 18;
    }
    Ok(())
}

/// Draws `chart` into `area`.
///
/// # Errors
/// A message if plotting fails.
pub fn draw(area: &Area<'_>, chart: &GroupedBars) -> Result<(), String> {
    let area = area.titled(&chart.title, ("sans-serif", 19)).map_err(err)?;
    let Some(axis) = log_axis(&axis_values(chart), 1.0) else {
        let style = ("sans-serif", 15).into_font().color(&BLACK);
        area.draw(&Text::new("no data", (20, 20), style))
            .map_err(err)?;
        return Ok(());
    };
    let (legend, plot) = area.split_vertically(30);
    draw_legend(&legend, &chart.series)?;
    let ticks = labels(&axis, chart.unit);
    let points: Vec<f64> = ticks.iter().map(|(t, _)| *t).collect();
    let groups = chart.groups.len().max(1) as f64;
    let two_lines = chart.groups.iter().any(|g| g.contains('\n'));
    let mut c = ChartBuilder::on(&plot)
        .margin(10)
        .margin_top(note_margin(chart))
        .x_label_area_size(if two_lines { 44 } else { 28 })
        .y_label_area_size(78)
        .build_cartesian_2d(
            0f64..groups,
            (axis.low..axis.high).log_scale().with_key_points(points),
        )
        .map_err(err)?;
    let unit = chart.unit;
    c.configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_desc(chart.y_desc.as_str())
        .y_label_formatter(&|v| unit.label(*v))
        .draw()
        .map_err(err)?;
    if let Some(r) = chart.reference {
        c.draw_series(LineSeries::new(
            [(0.0, r), (groups, r)],
            BLACK.stroke_width(1),
        ))
        .map_err(err)?;
    }
    draw_bars(&mut c, chart, axis.low)?;
    draw_group_labels(&plot, &c, chart, axis.low)
}

type Chart<'a, 'b> = ChartContext<
    'a,
    SVGBackend<'b>,
    Cartesian2d<
        plotters::coord::types::RangedCoordf64,
        plotters::coord::combinators::WithKeyPoints<plotters::coord::combinators::LogCoord<f64>>,
    >,
>;

fn draw_bars(c: &mut Chart<'_, '_>, chart: &GroupedBars, low: f64) -> Result<(), String> {
    let width = 0.8 / chart.series.len().max(1) as f64;
    let vertical = ("sans-serif", 11)
        .into_font()
        .transform(FontTransform::Rotate270)
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    for (g, row) in chart.bars.iter().enumerate() {
        for (s, bar) in row.iter().enumerate() {
            let Some(series) = chart.series.get(s) else {
                continue;
            };
            let x0 = g as f64 + 0.1 + s as f64 * width;
            let mid = x0 + width * 0.46;
            let top = match bar.value {
                Some(v) if v > 0.0 => {
                    c.draw_series([Rectangle::new(
                        [(x0, low), (x0 + width * 0.92, v)],
                        series.color.filled(),
                    )])
                    .map_err(err)?;
                    v
                }
                Some(_) => {
                    c.draw_series([Text::new("0", (mid, low), vertical.clone())])
                        .map_err(err)?;
                    low
                }
                None => {
                    if let Some(text) = &bar.missing {
                        c.draw_series([Text::new(text.clone(), (mid, low), vertical.clone())])
                            .map_err(err)?;
                    }
                    continue;
                }
            };
            let mut above = top;
            if let Some((lo, hi)) = bar.whisker {
                let line = BLACK.stroke_width(1);
                let cap = width * 0.25;
                c.draw_series([
                    PathElement::new([(mid, lo), (mid, hi)], line),
                    PathElement::new([(mid - cap, lo), (mid + cap, lo)], line),
                    PathElement::new([(mid - cap, hi), (mid + cap, hi)], line),
                ])
                .map_err(err)?;
                above = above.max(hi);
            }
            if let Some(note) = &bar.note {
                c.draw_series([Text::new(note.clone(), (mid, above), vertical.clone())])
                    .map_err(err)?;
            }
        }
    }
    Ok(())
}

/// Group names under the x axis, centred on their group.
fn draw_group_labels(
    plot: &Area<'_>,
    c: &Chart<'_, '_>,
    chart: &GroupedBars,
    low: f64,
) -> Result<(), String> {
    let (base_x, base_y) = plot.get_base_pixel();
    let style = ("sans-serif", 13)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Center, VPos::Top));
    for (g, name) in chart.groups.iter().enumerate() {
        let (x, y) = c.backend_coord(&(g as f64 + 0.5, low));
        for (line, text) in name.lines().enumerate() {
            plot.draw(&Text::new(
                text.to_owned(),
                (x - base_x, y - base_y + 8 + 16 * line as i32),
                style.clone(),
            ))
            .map_err(err)?;
        }
    }
    Ok(())
}

/// Writes `panels` into one SVG file of `size` pixels, split into
/// `layout` (rows, columns).
///
/// # Errors
/// A message if plotting or writing fails.
pub fn write_panels(
    path: &std::path::Path,
    size: (u32, u32),
    layout: (usize, usize),
    panels: &[GroupedBars],
) -> Result<(), String> {
    let root = SVGBackend::new(path, size).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    for (area, bars) in root.split_evenly(layout).iter().zip(panels) {
        draw(area, bars)?;
    }
    root.present().map_err(err)
}

/// A width that gives every bar of `groups` × `series` room.
pub fn chart_width(groups: usize, series: usize) -> u32 {
    (groups * (series * 18 + 36)).clamp(700, 2600) as u32 + 120
}
