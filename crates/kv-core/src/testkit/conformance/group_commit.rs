//! Several writer threads under `SyncPolicy::Always` on a `SimFs`, then a
//! power loss: engines that share syncs among concurrent writers (group
//! commit) must still acknowledge a write only once a sync covered it.
//!
//! Which writes of different threads share a sync depends on scheduling, so
//! the case asserts only what holds under any interleaving: every
//! acknowledged write survives the crash (in every crash mode), and per
//! writer thread the surviving writes form a prefix of what it attempted
//! (no hole: a thread's later write never survives without its earlier
//! ones), extended by at most the one write that failed when the power went.

use std::fmt::Display;
use std::thread;

use rand::RngExt;

use super::harness::{cap, ok, open_on, read_all, seeded_rng, sim_arc};
use super::recovery::crash_modes;
use super::{CaseOutcome, Engine};
use crate::options::SyncPolicy;
use crate::store::Store;
use crate::testkit::{Model, SeedGuard, SimFs};

/// Writer threads per round.
const THREADS: usize = 4;

/// Puts each writer thread attempts per round.
const PUTS_PER_THREAD: usize = 20;

/// Key `j` of writer thread `t`.
fn thread_key(t: usize, j: usize) -> Vec<u8> {
    format!("gc{t}:{j:04}").into_bytes()
}

/// The value writer thread `t` puts under its key `j`.
fn thread_value(t: usize, j: usize) -> Vec<u8> {
    format!("value {j} of writer {t}, padded to a realistic size ........").into_bytes()
}

/// Runs `THREADS` (4) writers at once, each putting its own keys in order
/// until one fails; returns how many each had acknowledged.
fn run_writers(store: &dyn Store) -> Vec<usize> {
    thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                s.spawn(move || {
                    (0..PUTS_PER_THREAD)
                        .take_while(|&j| store.put(&thread_key(t, j), &thread_value(t, j)).is_ok())
                        .count()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

/// Checks the store recovered after a crash against what each writer had
/// acknowledged (see the module docs).
fn assert_no_acknowledged_loss_or_hole(
    recovered: &Model,
    acknowledged: &[usize],
    context: impl Display,
) {
    for (t, &acked) in acknowledged.iter().enumerate() {
        let survived = (0..PUTS_PER_THREAD)
            .take_while(|&j| recovered.get(&thread_key(t, j)).is_some())
            .count();
        assert!(
            survived >= acked,
            "{context}: writer {t} had {acked} puts acknowledged under Always, \
             but only its first {survived} survived the crash"
        );
        assert!(
            survived <= acked + 1,
            "{context}: writer {t} had {acked} puts acknowledged and stopped at its first \
             failure, but {survived} survived"
        );
        for j in 0..PUTS_PER_THREAD {
            let got = recovered.get(&thread_key(t, j));
            if j < survived {
                assert_eq!(
                    got,
                    Some(&thread_value(t, j)[..]),
                    "{context}: writer {t}'s put {j} came back with the wrong value"
                );
            } else {
                assert!(
                    got.is_none(),
                    "{context}: writer {t}'s put {j} survived without its put {survived} \
                     (a hole in that writer's writes)"
                );
            }
        }
    }
    let expected: usize = (0..THREADS)
        .map(|t| {
            (0..PUTS_PER_THREAD)
                .filter(|&j| recovered.get(&thread_key(t, j)).is_some())
                .count()
        })
        .sum();
    assert_eq!(
        recovered.len(),
        expected,
        "{context}: keys no writer wrote were recovered"
    );
}

/// Crashes `sim` in every suite crash mode and checks each recovery.
fn crash_and_check(engine: &Engine, sim: &SimFs, acknowledged: &[usize], modes_seed: u64) {
    let mut rng = seeded_rng(modes_seed);
    for mode in crash_modes(&mut rng) {
        let context = format!("acknowledged {acknowledged:?}, crash mode {mode:?}");
        let crashed = sim.crash_with(mode);
        let store = open_on(
            engine,
            sim_arc(&crashed),
            SyncPolicy::Always,
            format!("{context}: reopening"),
        );
        let recovered: Model = read_all(&*store, &context).into_iter().collect();
        assert_no_acknowledged_loss_or_hole(&recovered, acknowledged, &context);
        let report = ok(store.check(), format!("{context}: check"));
        assert!(
            report.damage.is_empty(),
            "{context}: check lists damage after a crash: {:?}",
            report.damage
        );
    }
}

/// `THREADS` (4) writers put under `Always` on a `SimFs`; then power is lost,
/// once after they all finished and, in further rounds, mid-way (a power
/// cut after a seeded number of file-system operations). In every crash
/// mode every acknowledged put survives and each writer's surviving puts
/// have no hole.
pub fn concurrent_writers_under_always_survive_power_loss(engine: &Engine) -> CaseOutcome {
    let guard = SeedGuard::new(format!(
        "{}::concurrent_writers_under_always_survive_power_loss",
        engine.name
    ));
    let mut rng = seeded_rng(guard.seed());
    let sim = SimFs::new(guard.seed());
    let store = open_on(engine, sim_arc(&sim), SyncPolicy::Always, "opening");
    let before = sim.op_count();
    let acknowledged = run_writers(&*store);
    assert_eq!(
        acknowledged,
        vec![PUTS_PER_THREAD; THREADS],
        "writers failed without a crash"
    );
    let total = sim.op_count() - before;
    crash_and_check(engine, &sim, &acknowledged, rng.random());
    drop(store);
    for round in 0..cap(4, 40) {
        let seed = guard.seed() ^ (round as u64 + 1);
        let sim = SimFs::new(seed);
        let store = open_on(engine, sim_arc(&sim), SyncPolicy::Always, "opening");
        sim.power_off_after(rng.random_range(0..=total));
        let acknowledged = run_writers(&*store);
        crash_and_check(engine, &sim, &acknowledged, rng.random());
        drop(store);
    }
    CaseOutcome::Passed
}
