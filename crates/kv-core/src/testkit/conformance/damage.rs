//! Damage lists: `check()` reads what the hot path trusts without reading,
//! and under `OpenMode::Verify` lists every damaged spot, one entry each.
//!
//! Both cases damage the store through the engine's own hooks
//! ([`Engine::hidden_damage`], [`Engine::separate_damage`]), since only the
//! engine knows which bytes its reads skip and how far apart two spots must
//! be to count as two; they skip cleanly where the engine declares none.

use std::path::Path;

use super::harness::{key, ok, open_on, read_all, sim_arc, try_open_on_with, value};
use super::{CaseOutcome, Engine, PlantedDamage};
use crate::error::Error;
use crate::options::{OpenMode, SyncPolicy};
use crate::store::{CheckReport, Damage, Store};
use crate::testkit::{show_bytes, Model, SimFs};

/// Spots planted, for messages.
fn show_planted(planted: &[PlantedDamage]) -> String {
    planted
        .iter()
        .map(|p| format!("{} at {}", p.file.display(), p.offset))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The damage entry that covers `spot`: the last one in its file at or
/// before its offset.
fn covering<'a>(damage: &'a [Damage], spot: &PlantedDamage) -> Option<&'a Damage> {
    damage
        .iter()
        .filter(|d| d.file == spot.file && d.offset <= spot.offset)
        .max_by_key(|d| d.offset)
}

/// Keys `0..200` written twice (the first versions shadowed), synced.
fn write_twice(store: &dyn Store) -> Model {
    let mut model = Model::new();
    for version in 1..=2 {
        for i in 0..200 {
            let v = value(i, version, 100);
            ok(store.put(&key(i), &v), "put");
            model.put(&key(i), &v);
        }
    }
    ok(store.sync(), "sync");
    model
}

/// Reads after hidden damage return the written data or `Err(Corruption)`,
/// never other data.
fn assert_reads_correct_or_corrupt(store: &dyn Store, model: &Model, context: &str) {
    for (k, v) in model.map() {
        match store.get(k) {
            Ok(got) => assert!(
                got.as_deref() == Some(v.as_slice()),
                "{context}: get({}) returned {} instead of the written value",
                show_bytes(k),
                got.as_deref().map_or("None".into(), show_bytes)
            ),
            Err(e) if e.is_corruption() => {}
            Err(e) => panic!("{context}: get({}) failed with `{e}`", show_bytes(k)),
        }
    }
}

/// The engine damages, while the store is open, bytes it trusts but does
/// not read on the hot path (see [`Engine::hidden_damage`]); reads still
/// return written data (or `Err(Corruption)`), and `check()` returns
/// `Ok(report)` whose damage list covers every planted spot.
pub fn check_finds_damage_reads_cannot_see(engine: &Engine) -> CaseOutcome {
    let Some(hook) = engine.hidden_damage.clone() else {
        return CaseOutcome::Skipped(format!(
            "engine '{}' declares no hidden_damage hook",
            engine.name
        ));
    };
    let sim = SimFs::new(11);
    let store = open_on(engine, sim_arc(&sim), SyncPolicy::Manual, "open");
    let model = write_twice(&*store);
    let planted = hook(&sim, Path::new(super::SIM_DB_DIR));
    assert!(
        !planted.is_empty(),
        "engine '{}': its hidden_damage hook damaged nothing",
        engine.name
    );
    let context = format!("after damaging {}", show_planted(&planted));
    assert_reads_correct_or_corrupt(&*store, &model, &context);
    let report: CheckReport = match store.check() {
        Ok(report) => report,
        Err(e) => panic!(
            "{context}: check() failed with `{e}`; damage must be listed in Ok(report).damage"
        ),
    };
    for spot in &planted {
        assert!(
            covering(&report.damage, spot).is_some(),
            "{context}: check() did not list the damage at {} offset {} (damage listed: {:?})",
            spot.file.display(),
            spot.offset,
            report.damage
        );
    }
    CaseOutcome::Passed
}

/// Three separate spots damaged through [`Engine::separate_damage`] on a
/// closed store: a normal open refuses the store (or a read or `check()`
/// reports it), and an `OpenMode::Verify` open succeeds and its `check()`
/// lists exactly three entries, one covering each spot.
pub fn verify_mode_lists_every_damaged_spot(engine: &Engine) -> CaseOutcome {
    const SPOTS: usize = 3;
    let Some(hook) = engine.separate_damage.clone() else {
        return CaseOutcome::Skipped(format!(
            "engine '{}' declares no separate_damage hook",
            engine.name
        ));
    };
    let sim = SimFs::new(12);
    let store = open_on(engine, sim_arc(&sim), SyncPolicy::Manual, "open");
    for i in 0..300 {
        ok(store.put(&key(i), &value(i, 1, 100)), "put");
    }
    ok(store.sync(), "sync");
    drop(store);
    let planted = hook(&sim, Path::new(super::SIM_DB_DIR), SPOTS);
    assert_eq!(
        planted.len(),
        SPOTS,
        "engine '{}': its separate_damage hook damaged {} spots, asked for {SPOTS}",
        engine.name,
        planted.len()
    );
    let context = format!("after damaging {}", show_planted(&planted));
    let verify = match try_open_on_with(engine, sim_arc(&sim), SyncPolicy::Manual, OpenMode::Verify) {
        Ok(store) => store,
        Err(e) => panic!("{context}: an OpenMode::Verify open failed with `{e}`; it must open and list the damage"),
    };
    let _ = read_all(&*verify, format!("{context}: reading under Verify"));
    let report = ok(verify.check(), format!("{context}: check() under Verify"));
    assert_eq!(
        report.damage.len(),
        SPOTS,
        "{context}: check() under Verify listed {} damaged spots, expected {SPOTS}: {:?}",
        report.damage.len(),
        report.damage
    );
    let covered: std::collections::BTreeSet<(std::path::PathBuf, u64)> = planted
        .iter()
        .map(|spot| {
            let entry = covering(&report.damage, spot).unwrap_or_else(|| {
                panic!(
                    "{context}: no damage entry covers {} offset {}: {:?}",
                    spot.file.display(),
                    spot.offset,
                    report.damage
                )
            });
            (entry.file.clone(), entry.offset)
        })
        .collect();
    assert_eq!(
        covered.len(),
        SPOTS,
        "{context}: two planted spots map to one damage entry: {:?}",
        report.damage
    );
    drop(verify);
    if let Err(e) = try_open_on_with(
        engine,
        sim_arc(&sim),
        SyncPolicy::Manual,
        OpenMode::ReadWrite,
    )
    .and_then(|s| s.check())
    .and_then(CheckReport::into_result)
    {
        assert!(
            matches!(e, Error::Corruption { .. }),
            "{context}: a normal open (or its check()) failed with `{e}`, expected Err(Corruption)"
        );
    } else {
        panic!("{context}: a normal open and its check() both missed the damage");
    }
    CaseOutcome::Passed
}
