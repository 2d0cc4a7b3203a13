//! The seed sweep: every seed-dependent precondition of the suite holds for
//! seeds 0..1000, so no seed can make a case fail (or pass vacuously) for
//! reasons of its own. One fast test; the cases assert the same
//! preconditions at run time.

use rand::RngExt;

use super::crash_recovery::{plan_preconditions, power_cut_plan};
use super::harness::{crash_points, seeded_rng};
use super::recovery::{crash_modes, random_writes};
use crate::testkit::{CrashMode, ModelOp, UnsyncedData};

const SEEDS: u64 = 1000;

/// One test for the whole sweep: each precondition below, for every seed.
#[test]
fn seed_dependent_preconditions_hold_for_seeds_0_to_1000() {
    for seed in 0..SEEDS {
        crash_points_are_sorted_bounded_and_keep_both_ends(seed);
        every_crash_mode_runs(seed);
        random_workloads_have_the_asked_shape(seed);
        the_power_cut_plan_meets_its_preconditions(seed);
    }
}

fn crash_points_are_sorted_bounded_and_keep_both_ends(seed: u64) {
    let mut rng = seeded_rng(seed);
    let total = rng.random_range(0..5000u64);
    let max = rng.random_range(10..200usize);
    let points = crash_points(total, max, &mut rng);
    assert!(
        points.windows(2).all(|w| w[0] < w[1]),
        "seed {seed}: not sorted"
    );
    assert!(
        points.len() <= max.max(total as usize + 1),
        "seed {seed}: {} points",
        points.len()
    );
    assert_eq!(
        points.first(),
        Some(&0),
        "seed {seed}: misses the first operation"
    );
    assert_eq!(
        points.last(),
        Some(&total),
        "seed {seed}: misses the last operation"
    );
    assert!(
        points.iter().all(|&p| p <= total),
        "seed {seed}: a point past the end"
    );
}

fn every_crash_mode_runs(seed: u64) {
    let modes = crash_modes(&mut seeded_rng(seed));
    let has = |f: &dyn Fn(&CrashMode) -> bool| modes.iter().any(f);
    assert!(
        has(&|m| *m == CrashMode::power_loss()),
        "seed {seed}: no power loss"
    );
    assert!(
        has(&|m| *m == CrashMode::process_kill()),
        "seed {seed}: no process kill"
    );
    assert!(
        has(&|m| matches!(m.unsynced, UnsyncedData::Reordered { .. })),
        "seed {seed}: no reordered writeback"
    );
    assert!(
        has(&|m| matches!(m.unsynced, UnsyncedData::TornLastWrite { .. })),
        "seed {seed}: no torn last write"
    );
}

fn random_workloads_have_the_asked_shape(seed: u64) {
    let mut rng = seeded_rng(seed);
    let ops = random_writes(&mut rng, 40, 24, 300);
    assert_eq!(ops.len(), 40, "seed {seed}");
    assert!(
        ops.iter().all(ModelOp::is_write),
        "seed {seed}: a non-write"
    );
    assert!(
        ops.iter().any(|op| matches!(op, ModelOp::Put { .. })),
        "seed {seed}: 40 random writes without a put"
    );
}

fn the_power_cut_plan_meets_its_preconditions(seed: u64) {
    let plan = power_cut_plan(&mut seeded_rng(seed), 16);
    if let Err(why) = plan_preconditions(&plan) {
        panic!("seed {seed}: {why}");
    }
}
