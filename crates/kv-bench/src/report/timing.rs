//! Where a run's wall time went: per engine its child process (the
//! workloads, with their loads and compactions), its crash-recovery load
//! (harness work before the measurement), the timed open after the kill,
//! and the rest of that phase (the kill, closing and deleting the store);
//! then the repeated runs and the whole run. Printed by the table and
//! written to `report.md`, from the JSON's `engines[].wall_secs`,
//! `crash_recovery_load_secs`, `crash_recovery_secs`,
//! `crash_recovery_wall_secs`, and the report's `repeats_wall_secs` and
//! `wall_secs`.

use std::fmt::Write as _;

use crate::results::{EngineRun, RunReport};

/// One engine's share of the run, in seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineTime {
    /// Engine name.
    pub engine: String,
    /// Its workload run (the child process, or the in-process run).
    pub workloads_secs: f64,
    /// The crash-recovery load child until it reported `ready`.
    pub crash_load_secs: Option<f64>,
    /// The timed open after the kill (the measurement).
    pub crash_open_secs: Option<f64>,
    /// The rest of the crash-recovery phase: the kill, closing and deleting
    /// the store (at least 0).
    pub crash_other_secs: Option<f64>,
    /// `workloads_secs` plus the whole crash-recovery phase.
    pub total_secs: f64,
}

impl EngineTime {
    /// The share of `run`.
    pub fn of(run: &EngineRun) -> Self {
        let phase = run.crash_recovery_wall_secs;
        let known =
            run.crash_recovery_load_secs.unwrap_or(0.0) + run.crash_recovery_secs.unwrap_or(0.0);
        Self {
            engine: run.engine.clone(),
            workloads_secs: run.wall_secs,
            crash_load_secs: run.crash_recovery_load_secs,
            crash_open_secs: run.crash_recovery_secs,
            crash_other_secs: phase.map(|p| (p - known).max(0.0)),
            total_secs: run.wall_secs + phase.unwrap_or(0.0),
        }
    }
}

/// The whole run's time, in seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeBreakdown {
    /// One entry per engine, in run order.
    pub engines: Vec<EngineTime>,
    /// The repeated runs (`--repeat-fillsync`), if any ran.
    pub repeats_secs: Option<f64>,
    /// The whole run, if recorded.
    pub total_secs: Option<f64>,
    /// The total less the engines and the repeats: the parent's own work
    /// (machine description, directories), at least 0.
    pub other_secs: Option<f64>,
}

/// Where the time of `report` went.
pub fn time_breakdown(report: &RunReport) -> TimeBreakdown {
    let engines: Vec<EngineTime> = report.engines.iter().map(EngineTime::of).collect();
    let accounted: f64 =
        engines.iter().map(|e| e.total_secs).sum::<f64>() + report.repeats_wall_secs.unwrap_or(0.0);
    TimeBreakdown {
        engines,
        repeats_secs: report.repeats_wall_secs,
        total_secs: report.wall_secs,
        other_secs: report.wall_secs.map(|t| (t - accounted).max(0.0)),
    }
}

fn cell(secs: Option<f64>) -> String {
    secs.map_or_else(|| "-".into(), |s| format!("{s:.1}"))
}

/// The table of [`time_breakdown`], as printed after the run (seconds with
/// one decimal; `-` where a figure does not exist).
pub fn render_time(report: &RunReport) -> String {
    let t = time_breakdown(report);
    let mut out = String::from(
        "Where the time went (wall seconds; workloads = the engine's own process with its \
         loads and compactions; crash load = harness work before the crash-recovery \
         measurement; crash open = the measurement):\n",
    );
    let width = t
        .engines
        .iter()
        .map(|e| e.engine.len())
        .max()
        .unwrap_or(6)
        .max(6);
    let _ = writeln!(
        out,
        "  {:<width$}  {:>9}  {:>10}  {:>10}  {:>10}  {:>11}",
        "engine", "total", "workloads", "crash load", "crash open", "crash other"
    );
    for e in &t.engines {
        let _ = writeln!(
            out,
            "  {:<width$}  {:>9.1}  {:>10.1}  {:>10}  {:>10}  {:>11}",
            e.engine,
            e.total_secs,
            e.workloads_secs,
            cell(e.crash_load_secs),
            e.crash_open_secs
                .map_or_else(|| "-".into(), |s| format!("{s:.3}")),
            cell(e.crash_other_secs),
        );
    }
    let mut tail = Vec::new();
    if let Some(r) = t.repeats_secs {
        tail.push(format!("repeated runs {r:.1} s"));
    }
    if let Some(o) = t.other_secs {
        tail.push(format!("the parent's own work {o:.1} s"));
    }
    if let Some(total) = t.total_secs {
        tail.push(format!("whole run {total:.1} s ({:.1} min)", total / 60.0));
    }
    if !tail.is_empty() {
        let _ = writeln!(out, "  {}", tail.join("; "));
    }
    out
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::Cli;
    use crate::machine::MachineInfo;

    fn run(engine: &str, wall: f64, crash: Option<(f64, f64, f64)>) -> EngineRun {
        EngineRun {
            wall_secs: wall,
            crash_recovery_load_secs: crash.map(|c| c.0),
            crash_recovery_secs: crash.map(|c| c.1),
            crash_recovery_wall_secs: crash.map(|c| c.2),
            ..EngineRun::new(engine, "child")
        }
    }

    fn report(engines: Vec<EngineRun>, repeats: Option<f64>, total: Option<f64>) -> RunReport {
        RunReport {
            tool: "kv-bench".into(),
            machine: MachineInfo::collect(std::path::Path::new(".")),
            settings: Cli::try_parse_from(["kv-bench"])
                .unwrap()
                .run
                .settings()
                .unwrap(),
            engines,
            results: Vec::new(),
            repeats: Vec::new(),
            wall_secs: total,
            repeats_wall_secs: repeats,
        }
    }

    /// Each engine's total is its child plus its crash-recovery phase; the
    /// phase's remainder is what neither the load nor the open took; the
    /// parent's own share is what the engines and repeats leave of the
    /// whole.
    #[test]
    fn every_engine_share_adds_up_to_the_run_total() {
        let r = report(
            vec![
                run("bitcask", 50.0, Some((4.0, 0.5, 5.0))),
                run("null", 1.0, None),
            ],
            Some(10.0),
            Some(70.0),
        );
        let t = time_breakdown(&r);
        let bitcask = &t.engines[0];
        assert_eq!(bitcask.total_secs, 55.0);
        assert_eq!(bitcask.crash_load_secs, Some(4.0));
        assert_eq!(bitcask.crash_open_secs, Some(0.5));
        assert_eq!(bitcask.crash_other_secs, Some(0.5));
        let null = &t.engines[1];
        assert_eq!((null.total_secs, null.crash_other_secs), (1.0, None));
        assert_eq!(t.repeats_secs, Some(10.0));
        assert_eq!(t.other_secs, Some(4.0));
        let text = render_time(&r);
        assert!(
            text.contains("bitcask       55.0        50.0         4.0       0.500"),
            "{text}"
        );
        assert!(text.contains("repeated runs 10.0 s"), "{text}");
        assert!(text.contains("the parent's own work 4.0 s"), "{text}");
        assert!(text.contains("whole run 70.0 s (1.2 min)"), "{text}");
    }

    /// JSON from before the total was recorded: no total, no remainder,
    /// and nothing negative from rounding.
    #[test]
    fn a_report_without_a_total_shows_the_engines_alone() {
        let r = report(vec![run("lsm", 2.0, Some((1.0, 1.5, 2.0)))], None, None);
        let t = time_breakdown(&r);
        assert_eq!(t.other_secs, None);
        assert_eq!(t.engines[0].crash_other_secs, Some(0.0));
        assert!(!render_time(&r).contains("whole run"));
    }
}
