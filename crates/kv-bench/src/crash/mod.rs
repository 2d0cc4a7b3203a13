//! `kv-bench crash`: the process-kill durability check, for every engine.
//!
//! For each engine, over many rounds on one store directory:
//!
//! 1. a child process (`kv-bench crash-child`) opens the store under
//!    `SyncPolicy::Always` and applies the round's [`Script`] (puts, deletes
//!    and batches over a small key space, derived from the seed alone),
//!    printing each write's index on a pipe once the store acknowledged it;
//! 2. the parent SIGKILLs it after a seeded number of acknowledgements
//!    (0 to the round's length), while it is writing the next one, and
//!    collects every acknowledgement the pipe still holds;
//! 3. the parent reopens the store, reads it whole, and [`verify`]s it
//!    against the model: every acknowledged write there with its value, no
//!    deleted key back, the write in flight at the kill wholly there or
//!    wholly absent (no half batch);
//! 4. the recovered contents are the next round's starting state.
//!
//! A failed reopen is counted (`failed opens`), and the engine starts over
//! in a fresh directory. The same seed gives every engine the same writes
//! and the same kill points (counted in acknowledgements; where the kill
//! lands inside the next write depends on timing, which is the point).
//!
//! [`measure_crash_recovery`] uses the same child to time recovery: a
//! loaded store with an unsynced tail is killed, and the next open is timed.

pub mod child;
pub mod report;
pub mod script;
pub mod verify;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use kv_core::{Direction, Error, KeyRange, Result, SyncPolicy};
use serde::{Deserialize, Serialize};

use crate::registry::{self, OpenConfig};
use crate::workload::keys::splitmix64;

pub use self::script::{Contents, CrashOp, Script};
pub use self::verify::{verify, Verdict};

/// How long the parent waits for the child's next line before it gives up
/// on the round (a watchdog against a hung child, not a measurement).
const CHILD_SILENCE_LIMIT: Duration = Duration::from_secs(120);

/// What `kv-bench crash` runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrashSettings {
    /// Engines, in order.
    pub engines: Vec<String>,
    /// Kill rounds per engine.
    pub rounds: u64,
    /// Writes in one round's script (the kill comes after 0 to this many
    /// acknowledgements).
    pub writes_per_round: u64,
    /// Keys are drawn from this many.
    pub key_space: u64,
    /// Seed of the scripts and the kill points.
    pub seed: u64,
}

/// One engine's kill test.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EngineCrashResult {
    /// Engine name.
    pub engine: String,
    /// Rounds run (a child killed, the store reopened and checked).
    pub rounds: u64,
    /// Acknowledged writes (puts, deletes, batches) whose effect was checked.
    pub acknowledged_writes: u64,
    /// Keys checked over all rounds.
    pub keys_checked: u64,
    /// Keys whose acknowledged value was missing after recovery.
    pub lost: u64,
    /// Keys with a value never acknowledged for them, or back after a
    /// delete.
    pub wrong: u64,
    /// Rounds where the in-flight batch was applied in part.
    pub half_batches: u64,
    /// Reopens after a kill that failed.
    pub failed_opens: u64,
    /// Rounds where the child failed before it was killed.
    pub child_failures: u64,
    /// Rounds where the write in flight at the kill was found applied.
    pub in_flight_applied: u64,
    /// The first few error messages.
    pub errors: Vec<String>,
    /// Wall time of the engine's rounds, in seconds.
    pub secs: f64,
}

impl EngineCrashResult {
    /// True if nothing was lost or wrong and every reopen worked.
    pub fn is_clean(&self) -> bool {
        self.lost == 0
            && self.wrong == 0
            && self.half_batches == 0
            && self.failed_opens == 0
            && self.child_failures == 0
    }

    fn note_error(&mut self, message: String) {
        if self.errors.len() < 5 {
            self.errors.push(message);
        }
    }
}

/// Runs the kill test for every engine of `settings`, with stores under
/// `root/<engine>/`, children started from `exe` (the `kv-bench` binary).
/// Prints one line per engine to stderr as it finishes.
///
/// # Errors
/// `InvalidArgument` for an unknown or non-persistent engine (before
/// anything runs); I/O errors creating directories.
pub fn run(settings: &CrashSettings, exe: &Path, root: &Path) -> Result<Vec<EngineCrashResult>> {
    for engine in &settings.engines {
        let info = registry::info(engine)?;
        if !info.persistent {
            return Err(Error::InvalidArgument(format!(
                "engine '{engine}' keeps nothing on disk: a kill test has nothing to check"
            )));
        }
    }
    let mut results = Vec::new();
    for engine in &settings.engines {
        let result = run_engine(settings, exe, engine, &root.join(engine))?;
        eprintln!(
            "kv-bench: crash {engine}: {} rounds, {} acknowledged writes, {} lost, {} wrong, {} failed opens",
            result.rounds, result.acknowledged_writes, result.lost, result.wrong, result.failed_opens
        );
        results.push(result);
    }
    Ok(results)
}

fn run_engine(
    settings: &CrashSettings,
    exe: &Path,
    engine: &str,
    base: &Path,
) -> Result<EngineCrashResult> {
    let start = Instant::now();
    let mut result = EngineCrashResult {
        engine: engine.to_owned(),
        ..EngineCrashResult::default()
    };
    let mut generation = 0;
    let mut dir = base.join(format!("store-{generation}"));
    if base.exists() {
        std::fs::remove_dir_all(base)?;
    }
    std::fs::create_dir_all(base)?;
    let mut model = Contents::new();
    for round in 0..settings.rounds {
        let script = Script {
            seed: settings.seed,
            round,
            key_space: settings.key_space,
        };
        let kill_after = splitmix64(settings.seed ^ splitmix64(round ^ 0x6b69_6c6c))
            % (settings.writes_per_round + 1);
        let killed = kill_child(
            exe,
            engine,
            &dir,
            script,
            settings.writes_per_round,
            kill_after,
        );
        let acked = match killed {
            Ok(acked) => acked,
            Err(message) => {
                result.child_failures += 1;
                result.note_error(format!("round {round}: {message}"));
                // Whatever the child managed is unknown; take the store's
                // word for it below, as a new starting state.
                None
            }
        };
        result.rounds += 1;
        let recovered = match read_back(engine, &dir) {
            Ok(contents) => contents,
            Err(e) => {
                result.failed_opens += 1;
                result.note_error(format!("round {round}: reopen after the kill failed: {e}"));
                generation += 1;
                dir = base.join(format!("store-{generation}"));
                model.clear();
                continue;
            }
        };
        if let Some(acked) = acked {
            let mut expected = model.clone();
            for index in 0..acked.count {
                script.op(index).apply_to(&mut expected);
            }
            let in_flight = acked.in_flight.then(|| {
                let mut after = expected.clone();
                script.op(acked.count).apply_to(&mut after);
                after
            });
            let verdict = verify(&recovered, &expected, in_flight.as_ref());
            result.acknowledged_writes += acked.count;
            result.keys_checked += verdict.keys_checked;
            result.lost += verdict.lost;
            result.wrong += verdict.wrong;
            result.half_batches += verdict.half_batches;
            result.in_flight_applied += u64::from(verdict.in_flight_applied);
            if !verdict.is_clean() {
                result.note_error(format!(
                    "round {round}: after {} acknowledged writes: {} lost, {} wrong, {} half batches",
                    acked.count, verdict.lost, verdict.wrong, verdict.half_batches
                ));
            }
        }
        model = recovered;
    }
    result.secs = start.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(base);
    Ok(result)
}

/// What the parent learned from a killed child.
#[derive(Debug, Clone, Copy)]
struct Acked {
    /// Writes acknowledged (indices `0..count`).
    count: u64,
    /// True if write `count` may have been in flight at the kill.
    in_flight: bool,
}

fn spawn(exe: &Path, args: &[String]) -> std::result::Result<Child, String> {
    Command::new(exe)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start {}: {e}", exe.display()))
}

/// The child's stdout, line by line, on a channel (so the parent can wait
/// with a limit).
fn lines_of(child: &mut Child) -> std::result::Result<Receiver<String>, String> {
    let stdout = child.stdout.take().ok_or("child has no stdout")?;
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if send.send(line).is_err() {
                break;
            }
        }
    });
    Ok(receive)
}

fn stderr_of(child: &mut Child) -> String {
    let mut text = String::new();
    if let Some(mut stderr) = child.stderr.take() {
        let _ = stderr.read_to_string(&mut text);
    }
    text.trim().to_owned()
}

/// Runs one round's child and SIGKILLs it after `kill_after`
/// acknowledgements (or when it is done); returns what it acknowledged.
fn kill_child(
    exe: &Path,
    engine: &str,
    dir: &Path,
    script: Script,
    writes: u64,
    kill_after: u64,
) -> std::result::Result<Option<Acked>, String> {
    let args: Vec<String> = vec![
        "crash-child".into(),
        "--engine".into(),
        engine.into(),
        "--dir".into(),
        dir.display().to_string(),
        "--seed".into(),
        script.seed.to_string(),
        "--round".into(),
        script.round.to_string(),
        "--writes".into(),
        writes.to_string(),
        "--key-space".into(),
        script.key_space.to_string(),
    ];
    let mut child = spawn(exe, &args)?;
    let lines = lines_of(&mut child)?;
    let mut opened = false;
    let mut count = 0;
    let mut done = false;
    let mut killed = false;
    loop {
        let line = if killed {
            // Drain what the child wrote before it died.
            match lines.recv() {
                Ok(line) => line,
                Err(_) => break,
            }
        } else {
            match lines.recv_timeout(CHILD_SILENCE_LIMIT) {
                Ok(line) => line,
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!("child silent for {CHILD_SILENCE_LIMIT:?}"));
                }
            }
        };
        match line.as_str() {
            "open" => opened = true,
            "done" => done = true,
            n => {
                if n.parse::<u64>().ok() == Some(count) {
                    count += 1;
                } else {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!("child wrote '{n}' where write {count} was due"));
                }
            }
        }
        if !killed && opened && (count >= kill_after || done) {
            // `Child::kill` is SIGKILL on Unix.
            let _ = child.kill();
            killed = true;
        }
    }
    let status = child
        .wait()
        .map_err(|e| format!("waiting for the child: {e}"))?;
    if !killed {
        let stderr = stderr_of(&mut child);
        return Err(format!(
            "child exited with {status} before the kill: {stderr}"
        ));
    }
    Ok(Some(Acked {
        count,
        in_flight: !done && count < writes,
    }))
}

/// Reopens the store after a kill and reads every key.
fn read_back(engine: &str, dir: &Path) -> Result<Contents> {
    let config = OpenConfig {
        sync: SyncPolicy::Always,
        ..OpenConfig::default()
    };
    let store = registry::open(engine, dir, &config)?;
    let contents = store
        .scan(&KeyRange::all(), Direction::Forward)?
        .collect::<Result<Contents>>()?;
    store.close()?;
    Ok(contents)
}

/// What [`measure_crash_recovery`] timed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RecoveryTiming {
    /// The measurement: seconds of the first open after the kill.
    pub open_secs: f64,
    /// Harness work: seconds from starting the load child until it reported
    /// the store loaded.
    pub load_secs: f64,
}

/// Times recovery after a crash: a child loads `plan.keys` keys into
/// `engine` at `dir` (in write batches of `plan.batch`, synced every
/// `plan.sync_every` writes), overwrites `plan.unsynced_tail` of them
/// without a sync, and is SIGKILLed; the next open, in this process, is
/// timed. The directory is removed afterwards.
///
/// # Errors
/// `Io` if the child fails or the open after the kill fails.
pub fn measure_crash_recovery(
    exe: &Path,
    engine: &str,
    dir: &Path,
    plan: child::LoadPlan,
    config: &OpenConfig,
) -> Result<RecoveryTiming> {
    let args: Vec<String> = vec![
        "crash-child".into(),
        "--engine".into(),
        engine.into(),
        "--dir".into(),
        dir.display().to_string(),
        "--seed".into(),
        plan.seed.to_string(),
        "--load".into(),
        plan.keys.to_string(),
        "--sync-every".into(),
        plan.sync_every.to_string(),
        "--tail".into(),
        plan.unsynced_tail.to_string(),
        "--batch".into(),
        plan.batch.to_string(),
        "--key-size".into(),
        plan.key_size.to_string(),
        "--value-size".into(),
        plan.value_size.to_string(),
    ];
    let io_error = |m: String| Error::Io(std::io::Error::other(m));
    let load_start = Instant::now();
    let mut child = spawn(exe, &args).map_err(io_error)?;
    let lines = lines_of(&mut child).map_err(io_error)?;
    let ready = matches!(lines.recv().as_deref(), Ok("ready"));
    let load_secs = load_start.elapsed().as_secs_f64();
    let _ = child.kill();
    let _ = child.wait();
    if !ready {
        let stderr = stderr_of(&mut child);
        return Err(io_error(format!(
            "{engine}: the load child failed: {stderr}"
        )));
    }
    let start = Instant::now();
    let store = registry::open(engine, dir, config)?;
    let open_secs = start.elapsed().as_secs_f64();
    drop(store);
    let _ = std::fs::remove_dir_all(dir);
    Ok(RecoveryTiming {
        open_secs,
        load_secs,
    })
}

/// Where `kv-bench crash` keeps its stores: `--dir` or a temporary
/// directory (removed when the guard drops).
///
/// # Errors
/// I/O errors creating it.
pub fn crash_root(dir: Option<&Path>) -> Result<(PathBuf, Option<tempfile::TempDir>)> {
    match dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            Ok((dir.to_path_buf(), None))
        }
        None => {
            let temp = tempfile::Builder::new()
                .prefix("kv-bench-crash-")
                .tempdir()?;
            Ok((temp.path().to_path_buf(), Some(temp)))
        }
    }
}
