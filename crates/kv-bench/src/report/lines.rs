//! A line chart on logarithmic x and y axes (plotters, SVG backend): one
//! line per engine, in its colour, with a marker at each point. Used by the
//! scaling sweep (x: key count).

use plotters::coord::Shift;
use plotters::prelude::*;

use super::axis::{labels, log_axis, TickUnit};
use super::bars::{draw_legend, Series};

/// One line chart.
#[derive(Debug, Clone)]
pub struct Lines {
    /// Title above the chart.
    pub title: String,
    /// Description of the y axis.
    pub y_desc: String,
    /// How y tick labels are written.
    pub unit: TickUnit,
    /// The x positions (ascending), labelled with [`TickUnit::Count`].
    pub xs: Vec<f64>,
    /// The lines, in legend order.
    pub series: Vec<Series>,
    /// `points[series][x]`; a `None` leaves a gap.
    pub points: Vec<Vec<Option<f64>>>,
}

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Draws `lines` into `area`.
///
/// # Errors
/// A message if plotting fails.
pub fn draw(area: &Area<'_>, lines: &Lines) -> Result<(), String> {
    let all: Vec<f64> = lines.points.iter().flatten().flatten().copied().collect();
    let (Some(y), Some(x)) = (log_axis(&all, 1.0), log_axis(&lines.xs, 1.0)) else {
        let style = ("sans-serif", 15).into_font().color(&BLACK);
        area.draw(&Text::new(
            format!("{}: no data", lines.title),
            (20, 20),
            style,
        ))
        .map_err(err)?;
        return Ok(());
    };
    // Label the measured counts themselves, not the nice numbers around them.
    let x_points = lines.xs.clone();
    let y_points: Vec<f64> = labels(&y, lines.unit).iter().map(|(t, _)| *t).collect();
    // Title, then a legend row outside the plot (it never covers a point).
    let titled = area.titled(&lines.title, ("sans-serif", 17)).map_err(err)?;
    let (legend, plot) = titled.split_vertically(30);
    draw_legend(&legend, &lines.series)?;
    let mut c = ChartBuilder::on(&plot)
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(70)
        .build_cartesian_2d(
            (x.low..x.high).log_scale().with_key_points(x_points),
            (y.low..y.high).log_scale().with_key_points(y_points),
        )
        .map_err(err)?;
    let unit = lines.unit;
    c.configure_mesh()
        .x_desc("keys")
        .y_desc(lines.y_desc.as_str())
        .x_label_formatter(&|v| TickUnit::Count.label(*v))
        .y_label_formatter(&|v| unit.label(*v))
        .draw()
        .map_err(err)?;
    for (series, row) in lines.series.iter().zip(&lines.points) {
        let pts: Vec<(f64, f64)> = lines
            .xs
            .iter()
            .zip(row)
            .filter_map(|(x, y)| y.filter(|v| *v > 0.0).map(|v| (*x, v)))
            .collect();
        let color = series.color;
        c.draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
            .map_err(err)?;
        c.draw_series(pts.into_iter().map(|p| Circle::new(p, 4, color.filled())))
            .map_err(err)?;
    }
    Ok(())
}

/// Writes `panels` into one SVG file of `size` pixels split into `layout`
/// (rows, columns).
///
/// # Errors
/// A message if plotting or writing fails.
pub fn write_panels(
    path: &std::path::Path,
    size: (u32, u32),
    layout: (usize, usize),
    panels: &[Lines],
) -> Result<(), String> {
    let root = SVGBackend::new(path, size).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    for (area, lines) in root.split_evenly(layout).iter().zip(panels) {
        draw(area, lines)?;
    }
    root.present().map_err(err)
}
