//! Process isolation: run one engine in a child process of the same binary
//! and collect its JSON report.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::cli::child_args;
use crate::results::{EngineRun, RunReport, WorkloadResult};
use crate::settings::Settings;

/// Runs `exe --single-engine engine ...` with the same settings, stores under
/// `root`, and returns its results. The child's stderr (progress bars,
/// errors) goes to ours; its stdout is the JSON report.
pub fn run_child(
    exe: &Path,
    settings: &Settings,
    engine: &str,
    root: &Path,
) -> (Vec<WorkloadResult>, EngineRun) {
    let start = Instant::now();
    let failed = |error: String| {
        let run = EngineRun {
            wall_secs: start.elapsed().as_secs_f64(),
            error: Some(error),
            ..EngineRun::new(engine, "child")
        };
        (Vec::new(), run)
    };
    let output = match Command::new(exe)
        .args(child_args(settings, engine, root))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .output()
    {
        Ok(output) => output,
        Err(e) => return failed(format!("could not start {}: {e}", exe.display())),
    };
    let report: RunReport = match serde_json::from_slice(&output.stdout) {
        Ok(report) => report,
        Err(e) => {
            return failed(format!(
                "child process exited with {} without a readable report ({e})",
                output.status
            ))
        }
    };
    let mut run = report
        .engines
        .into_iter()
        .find(|r| r.engine == engine)
        .unwrap_or_else(|| EngineRun {
            error: Some("child report has no entry for this engine".into()),
            ..EngineRun::new(engine, "child")
        });
    run.process = "child".into();
    run.wall_secs = start.elapsed().as_secs_f64();
    if !output.status.success() && run.error.is_none() {
        run.error = Some(format!("child process exited with {}", output.status));
    }
    (report.results, run)
}
