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
        }
    }

    /// A bar that never shows (for helper loops such as a background writer).
    pub fn hidden() -> Self {
        Self {
            bar: ProgressBar::hidden(),
            done: None,
            watcher: None,
            line: None,
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
}

impl Drop for PhaseProgress {
    fn drop(&mut self) {
        drop(self.done.take());
        if let Some(watcher) = self.watcher.take() {
            let _ = watcher.join();
        }
        self.bar.finish_and_clear();
        if let Some((label, start)) = self.line.take() {
            eprintln!(
                "{}",
                phase_line(&label, self.bar.position(), start.elapsed())
            );
        }
    }
}

/// The one line a finished phase prints when stderr is not a terminal.
fn phase_line(label: &str, ops: u64, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64();
    if ops > 0 {
        format!("kv-bench: {label}: {ops} ops in {secs:.2} s")
    } else {
        format!("kv-bench: {label}: done in {secs:.2} s")
    }
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
        let line = phase_line("bitcask fillseq", 200_000, Duration::from_millis(1500));
        assert_eq!(line, "kv-bench: bitcask fillseq: 200000 ops in 1.50 s");
        let spinner = phase_line("redb compact", 0, Duration::from_millis(20));
        assert_eq!(spinner, "kv-bench: redb compact: done in 0.02 s");
        assert!(!line.contains('\n'));
    }
}
