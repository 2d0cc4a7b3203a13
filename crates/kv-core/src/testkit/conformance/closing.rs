//! `Store::close`: a reported clean close. It returns `Ok` on a sound
//! store, keeps every acknowledged write (synced or not), and releases the
//! directory so it opens again at once.

use super::harness::{apply_both, assert_matches_model, key, ok, passed, value, TempStore};
use super::{CaseOutcome, Engine};
use crate::error::Error;
use crate::testkit::{Model, ModelOp};

/// `Box<dyn Store>::close()` returns `Ok` after synced and unsynced writes;
/// the directory then opens at once (not `Err(Locked)`) with every write
/// (for persistent engines), twice in a row.
pub fn close_reports_success_and_releases_the_lock(engine: &Engine) -> CaseOutcome {
    let db = TempStore::new(engine);
    let mut model = Model::new();
    let mut store = db.open();
    for round in 0..2u32 {
        for i in 0..100 {
            let op = ModelOp::Put {
                key: key(i),
                value: value(i, round, 40),
            };
            apply_both(&*store, &mut model, &op);
            if i == 50 {
                ok(store.sync(), "sync");
            }
        }
        apply_both(
            &*store,
            &mut model,
            &ModelOp::Delete {
                key: key(round as usize),
            },
        );
        ok(store.close(), format!("round {round}: close()"));
        store = match db.try_open() {
            Ok(store) => store,
            Err(Error::Locked { .. }) => {
                panic!("round {round}: the directory is still locked after close() returned Ok")
            }
            Err(e) => panic!("round {round}: reopening after close() failed: {e}"),
        };
        if engine.persistent {
            assert_matches_model(
                &*store,
                &model,
                format!("round {round}: after close() and a reopen"),
            );
        } else {
            model = Model::new();
        }
    }
    passed(store)
}
