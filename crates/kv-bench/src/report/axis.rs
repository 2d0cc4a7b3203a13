//! The choice of a logarithmic chart axis, as a pure function of the data,
//! and the text of its tick labels.
//!
//! # Guarantees of [`log_axis`]
//!
//! - every positive value lies between the lowest and the highest tick, and
//!   both ends of the axis are labelled ticks (so every bar starts at, and
//!   rises above, the lowest labelled tick);
//! - the axis starts less than one decade below the smallest value and ends
//!   less than one decade above the largest (no decade of empty space);
//! - ticks are strictly increasing "nice" numbers (a mantissa of one series
//!   times a power of ten), at least two and at most [`MAX_TICKS`];
//! - zeros, negatives, NaN and infinities are ignored (a log axis cannot
//!   show them); with no positive value there is no axis (`None`).
//!
//! Labels come from one formatter per axis ([`TickUnit`]), so they use one
//! scheme of units (`10K`, `100K`, `1M`; `100ns`, `1µs`; `100B`, `1kB`), and
//! [`labels`] never returns the same text twice.

/// Most ticks on one axis.
pub const MAX_TICKS: usize = 12;

/// Mantissa series, coarsest first: powers of ten, the 1-2-5 series, and a
/// fine series for data within a fraction of a decade.
const SERIES: [&[f64]; 3] = [
    &[1.0],
    &[1.0, 2.0, 5.0],
    &[1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0],
];

/// Data spanning more decades than this gets ticks at powers of ten only.
const COARSE_ABOVE_DECADES: f64 = 3.0;

/// Data spanning fewer decades than this gets the fine series.
const FINE_BELOW_DECADES: f64 = 0.7;

/// A logarithmic axis: its ends and its labelled ticks.
#[derive(Debug, Clone, PartialEq)]
pub struct LogAxis {
    /// Bottom of the axis (the lowest tick).
    pub low: f64,
    /// Top of the axis (the highest tick).
    pub high: f64,
    /// Labelled ticks, ascending, `low` and `high` included.
    pub ticks: Vec<f64>,
}

/// Every nice number of `series` from the largest one at or below `low`
/// to the smallest one at or above `high`.
fn nice_ticks(series: &[f64], low: f64, high: f64) -> Vec<f64> {
    let mut ticks = Vec::new();
    let mut exp = low.log10().floor() as i32 - 1;
    let end = high.log10().ceil() as i32 + 1;
    while exp <= end {
        // Dividing by an exact power of ten keeps 0.8 exactly 0.8.
        let decade = 10f64.powi(exp.abs());
        for m in series {
            ticks.push(if exp < 0 { m / decade } else { m * decade });
        }
        exp += 1;
    }
    // Tolerate float error in `m * 10^exp` (e.g. 3 * 0.1).
    let eps = 1e-9;
    let first = ticks
        .iter()
        .rposition(|t| *t <= low * (1.0 + eps))
        .unwrap_or(0);
    let last = ticks
        .iter()
        .position(|t| *t >= high * (1.0 - eps))
        .unwrap_or(ticks.len() - 1);
    ticks[first..=last.max(first)].to_vec()
}

/// Keeps every `step`-th tick counted from the bottom, and the top one, so
/// at most [`MAX_TICKS`] remain.
fn thin(ticks: Vec<f64>) -> Vec<f64> {
    if ticks.len() <= MAX_TICKS {
        return ticks;
    }
    let step = ticks.len().div_ceil(MAX_TICKS - 1);
    let mut out: Vec<f64> = ticks.iter().copied().step_by(step).collect();
    if out.last() != ticks.last() {
        out.extend(ticks.last().copied());
    }
    out
}

/// Chooses a log axis for `values` (see the module docs for the
/// guarantees); `headroom` (at least 1) multiplies the largest value first,
/// to leave room above the highest bar for a label.
pub fn log_axis(values: &[f64], headroom: f64) -> Option<LogAxis> {
    let positive = values.iter().copied().filter(|v| v.is_finite() && *v > 0.0);
    let (min, max) = positive.fold(None, |acc: Option<(f64, f64)>, v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    })?;
    let max = max * headroom.max(1.0);
    let decades = (max / min).log10();
    let series = if decades > COARSE_ABOVE_DECADES {
        SERIES[0]
    } else if decades > FINE_BELOW_DECADES {
        SERIES[1]
    } else {
        SERIES[2]
    };
    let mut ticks = nice_ticks(series, min, max);
    if ticks.len() < 2 {
        // Every value on one nice number: extend one step up.
        let above = max * (1.0 + 1e-6);
        ticks.extend(nice_ticks(series, above, above).last().copied());
    }
    let ticks = thin(ticks);
    Some(LogAxis {
        low: ticks[0],
        high: ticks[ticks.len() - 1],
        ticks,
    })
}

/// What the numbers on an axis measure, and so how its ticks are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TickUnit {
    /// A plain count or rate with SI suffixes: `500`, `1K`, `2.5M`.
    Count,
    /// A ratio: `0.5`, `1`, `20`, and `×` appended.
    Ratio,
    /// Nanoseconds: `500ns`, `1µs`, `20ms`, `1.5s`.
    Nanos,
    /// Bytes with decimal prefixes (ticks are decimal): `100B`, `1kB`, `2MB`.
    Bytes,
}

/// Up to three significant digits, without trailing zeros.
pub fn short(v: f64) -> String {
    if v > 0.0 && v < 0.001 {
        // `1e-4`, not a `0.000` that reads as zero.
        return format!("{v:.0e}");
    }
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

/// `v` scaled by the largest of `steps` (divisor, suffix) it reaches.
fn scaled(v: f64, steps: &[(f64, &str)], base: &str) -> String {
    for (div, suffix) in steps {
        if v >= *div * (1.0 - 1e-9) {
            return format!("{}{suffix}", short(v / div));
        }
    }
    format!("{}{base}", short(v))
}

impl TickUnit {
    /// The label of one tick.
    pub fn label(self, v: f64) -> String {
        match self {
            TickUnit::Count => scaled(v, &[(1e9, "G"), (1e6, "M"), (1e3, "K")], ""),
            TickUnit::Ratio => format!("{}×", short(v)),
            TickUnit::Nanos => scaled(v, &[(1e9, "s"), (1e6, "ms"), (1e3, "µs")], "ns"),
            TickUnit::Bytes => scaled(v, &[(1e9, "GB"), (1e6, "MB"), (1e3, "kB")], "B"),
        }
    }
}

/// The labels of `axis`'s ticks, distinct (a tick whose text repeats the
/// previous one is dropped with its label).
pub fn labels(axis: &LogAxis, unit: TickUnit) -> Vec<(f64, String)> {
    let mut out: Vec<(f64, String)> = Vec::new();
    for t in &axis.ticks {
        let text = unit.label(*t);
        if out.iter().all(|(_, seen)| *seen != text) {
            out.push((*t, text));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The guarantees of the module docs, for one data set.
    fn check(values: &[f64]) -> LogAxis {
        let axis = log_axis(values, 1.0).unwrap();
        let positive: Vec<f64> = values.iter().copied().filter(|v| *v > 0.0).collect();
        let min = positive.iter().copied().fold(f64::INFINITY, f64::min);
        let max = positive.iter().copied().fold(0.0, f64::max);
        assert!(
            axis.ticks.len() >= 2 && axis.ticks.len() <= MAX_TICKS,
            "{axis:?}"
        );
        assert!(axis.ticks.windows(2).all(|w| w[0] < w[1]), "{axis:?}");
        assert_eq!(axis.low, axis.ticks[0]);
        assert_eq!(axis.high, *axis.ticks.last().unwrap());
        assert!(axis.low <= min, "lowest tick above a bar: {axis:?}");
        assert!(axis.high >= max, "{axis:?}");
        assert!(axis.low > min / 10.0, "a decade empty below: {axis:?}");
        assert!(axis.high < max * 10.0, "a decade empty above: {axis:?}");
        axis
    }

    #[test]
    fn values_within_one_decade_get_fine_ticks() {
        let axis = check(&[3_100.0, 3_900.0, 4_400.0]);
        assert!(axis.ticks.len() >= 3, "{axis:?}");
        assert_eq!(axis.ticks, vec![3_000.0, 4_000.0, 5_000.0]);
        let text: Vec<String> = labels(&axis, TickUnit::Count)
            .into_iter()
            .map(|(_, t)| t)
            .collect();
        assert_eq!(text, ["3K", "4K", "5K"]);
    }

    #[test]
    fn values_in_one_decade_use_the_1_2_5_series() {
        let axis = check(&[120.0, 450.0, 900.0]);
        assert_eq!(axis.ticks, vec![100.0, 200.0, 500.0, 1_000.0]);
    }

    #[test]
    fn values_spanning_six_decades_get_powers_of_ten() {
        let axis = check(&[2.5, 40.0, 7_000.0, 1_900_000.0]);
        assert_eq!(axis.ticks, vec![1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6, 1e7]);
        let text: Vec<String> = labels(&axis, TickUnit::Count)
            .into_iter()
            .map(|(_, t)| t)
            .collect();
        assert_eq!(text, ["1", "10", "100", "1K", "10K", "100K", "1M", "10M"]);
    }

    #[test]
    fn a_zero_is_ignored_not_a_log_of_zero() {
        let axis = check(&[0.0, 0.8, 3.0]);
        assert!(axis.low > 0.0);
        assert_eq!(axis.ticks, vec![0.8, 1.0, 1.5, 2.0, 3.0]);
        assert_eq!(log_axis(&[0.0, 0.0], 1.0), None);
        assert_eq!(log_axis(&[], 1.0), None);
        assert_eq!(log_axis(&[f64::NAN, -1.0], 1.0), None);
    }

    #[test]
    fn equal_values_still_get_an_axis_of_two_ticks() {
        let axis = check(&[100.0, 100.0]);
        assert_eq!(axis.low, 100.0);
        assert!(axis.high > 100.0);
        let axis = check(&[7.3]);
        assert!(axis.low <= 7.3 && axis.high >= 7.3);
    }

    #[test]
    fn many_decades_are_thinned_to_at_most_max_ticks() {
        let axis = check(&[1e-3, 1e12]);
        assert!(axis.ticks.len() <= MAX_TICKS, "{axis:?}");
    }

    #[test]
    fn headroom_raises_only_the_top() {
        let plain = log_axis(&[10.0, 90.0], 1.0).unwrap();
        let roomy = log_axis(&[10.0, 90.0], 1.5).unwrap();
        assert_eq!(plain.low, roomy.low);
        assert!(roomy.high >= 135.0);
    }

    #[test]
    fn tick_labels_share_one_unit_scheme_and_never_repeat() {
        assert_eq!(TickUnit::Nanos.label(500.0), "500ns");
        assert_eq!(TickUnit::Nanos.label(1_000.0), "1µs");
        assert_eq!(TickUnit::Nanos.label(20e6), "20ms");
        assert_eq!(TickUnit::Bytes.label(1_000.0), "1kB");
        assert_eq!(TickUnit::Ratio.label(0.5), "0.5×");
        assert_eq!(TickUnit::Count.label(1_500_000.0), "1.5M");
        assert_eq!(TickUnit::Ratio.label(0.0001), "1e-4×");
        assert_eq!(TickUnit::Ratio.label(0.001), "0.001×");
        let axis = LogAxis {
            low: 1.0,
            high: 1.0004,
            ticks: vec![1.0, 1.0002, 1.0004],
        };
        assert_eq!(labels(&axis, TickUnit::Count).len(), 1);
    }
}
