//! Progress bars (indicatif) for the phases of a run.
//!
//! Every phase gets a bar that stays hidden for its first second, so short
//! phases print nothing; after that it draws to stderr, which indicatif keeps
//! hidden when stderr is not a terminal (CI logs, pipes). When stderr is not
//! a terminal, each phase instead prints one line when it ends (its label,
//! operations and seconds), so a long run in a log is not silent. The hot
//! loops only call [`PhaseProgress::inc`] once every [`PROGRESS_STRIDE`]
//! operations.

use std::io::IsTerminal;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Operations between two progress updates in the hot loops.
pub const PROGRESS_STRIDE: u64 = 1024;

/// How long a phase runs before its bar appears.
const SHOW_AFTER: Duration = Duration::from_secs(1);

/// The progress bar of one phase; cleared when dropped.
#[derive(Debug)]
pub struct PhaseProgress {
    bar: ProgressBar,
    done: Option<mpsc::Sender<()>>,
    watcher: Option<JoinHandle<()>>,
    /// Label and start of a phase whose end is printed as one line
    /// (stderr not a terminal).
    line: Option<(String, Instant)>,
    /// Set when `--duration` stopped the phase early.
    capped: bool,
}

impl PhaseProgress {
    /// Starts a phase called `label` of `total` operations (`None`: a
    /// spinner, for phases that are one long call such as a compaction).
    pub fn start(label: &str, total: Option<u64>) -> Self {
        let style = match total {
            Some(_) => ProgressStyle::with_template(
                "{msg} [{wide_bar}] {percent:>3}% {per_sec:0} eta {eta}",
            ),
            None => ProgressStyle::with_template("{msg} {spinner} {elapsed}"),
        }
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::hidden())
            .with_style(style)
            .with_message(label.to_owned());
        let (done, waiting) = mpsc::channel::<()>();
        let shown = bar.clone();
        let watcher = std::thread::Builder::new()
            .name("kv-bench-progress".into())
            .spawn(move || {
                if waiting.recv_timeout(SHOW_AFTER) == Err(RecvTimeoutError::Timeout) {
                    shown.set_draw_target(ProgressDrawTarget::stderr());
                    shown.enable_steady_tick(Duration::from_millis(250));
                }
            })
            .ok();
        let line = (!std::io::stderr().is_terminal()).then(|| (label.to_owned(), Instant::now()));
        Self {
            bar,
            done: Some(done),
            watcher,
            line,
            capped: false,
        }
    }

    /// A bar that never shows (for helper loops such as a background writer).
    pub fn hidden() -> Self {
        Self {
            bar: ProgressBar::hidden(),
            done: None,
            watcher: None,
            line: None,
            capped: false,
        }
    }

    /// Adds `n` finished operations.
    #[inline]
    pub fn inc(&self, n: u64) {
        self.bar.inc(n);
    }

    /// Ends the phase and clears the bar.
    pub fn finish(self) {
        drop(self);
    }

    /// Ends the phase; `capped_by_duration` says `--duration` stopped it
    /// before its planned operations were done (its line then says so).
    pub fn finish_with(mut self, capped_by_duration: bool) {
        self.capped = capped_by_duration;
        drop(self);
    }
}

impl Drop for PhaseProgress {
    fn drop(&mut self) {
        drop(self.done.take());
        if let Some(watcher) = self.watcher.take() {
            let _ = watcher.join();
        }
        self.bar.finish_and_clear();
        if let Some((label, start)) = self.line.take() {
            let planned = self.capped.then(|| self.bar.length()).flatten();
            eprintln!(
                "{}",
                phase_line(&label, self.bar.position(), planned, start.elapsed())
            );
        }
    }
}

/// The one line a finished phase prints when stderr is not a terminal;
/// `capped_of` is the planned count of a phase `--duration` stopped early.
fn phase_line(label: &str, ops: u64, capped_of: Option<u64>, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64();
    if let Some(planned) = capped_of {
        format!(
            "kv-bench: {label}: {}, in {secs:.2} s",
            capped_text(ops, planned)
        )
    } else if ops > 0 {
        format!("kv-bench: {label}: {ops} ops in {secs:.2} s")
    } else {
        format!("kv-bench: {label}: done in {secs:.2} s")
    }
}

/// What a workload stopped by `--duration` says about itself, in the
/// progress line and the table's notes.
pub fn capped_text(ops: u64, planned: u64) -> String {
    format!("stopped by --duration after {ops} of {planned} ops")
}

/// Runs `work` under a spinner called `label` (shown only if it takes more
/// than a second).
pub fn with_spinner<T>(label: &str, work: impl FnOnce() -> T) -> T {
    let progress = PhaseProgress::start(label, None);
    let out = work();
    progress.finish();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finished_phase_is_one_line_with_its_count_and_time() {
        let line = phase_line(
            "bitcask fillseq",
            200_000,
            None,
            Duration::from_millis(1500),
        );
        assert_eq!(line, "kv-bench: bitcask fillseq: 200000 ops in 1.50 s");
        let spinner = phase_line("redb compact", 0, None, Duration::from_millis(20));
        assert_eq!(spinner, "kv-bench: redb compact: done in 0.02 s");
        assert!(!line.contains('\n'));
    }

    /// A phase `--duration` stopped says so, with what it did of what was
    /// planned, not as if it had finished.
    #[test]
    fn a_capped_phase_says_it_was_stopped_by_the_duration() {
        let line = phase_line(
            "redb fillrandom",
            41_000,
            Some(200_000),
            Duration::from_secs(150),
        );
        assert_eq!(
            line,
            "kv-bench: redb fillrandom: stopped by --duration after 41000 of 200000 ops, in 150.00 s"
        );
    }
}
