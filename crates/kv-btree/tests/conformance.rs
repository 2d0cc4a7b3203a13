//! The kvlab conformance suite, run against the B+tree twice:
//!
//! - `btree_small_cache`: default node shape, a 64 KiB node cache (reads go
//!   to the file inside every case) and a 256 KiB dirty budget (Manual
//!   cases make commits durable on their own as well as at `sync()`);
//! - `small_nodes::btree_small_nodes`: nodes split past 256 bytes and
//!   values over 48 bytes go to overflow runs, so the suite's small
//!   workloads (tens to hundreds of keys, values of 0 to 300 bytes) build
//!   trees three and four levels deep, mix inline and overflow values in
//!   every leaf, and split, merge and rebalance inside every crash case;
//!   the limits cases' 4 KiB keys become multi-page nodes.
//!
//! Both stamps declare the damage hooks: a flipped byte inside leaves of
//! the newest durable tree (found by walking it from the newest slot), and
//! for `hidden_damage` also inside the persisted free list, which only open
//! reads. `check()` reads every run from the file, never from the cache, so
//! it must list each spot.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use kv_btree::commit_slot::CommitSlot;
use kv_btree::node::{decode_body, Child, Node};
use kv_btree::page::{open_run, RunRef, HEADER_BYTES, PAGE_BYTES};
use kv_btree::{Btree, BtreeOptions, FILE_NAME};
use kv_core::testkit::conformance::{Engine, PlantedDamage};
use kv_core::testkit::SimFs;

/// The newest valid commit slot of a store file's bytes.
fn newest_slot(bytes: &[u8], file: &Path) -> CommitSlot {
    (0..2u64)
        .filter_map(|i| {
            let at = i as usize * PAGE_BYTES;
            CommitSlot::decode(bytes.get(at..at + PAGE_BYTES)?, i, file).ok()
        })
        .max_by_key(|slot| slot.txn)
        .expect("no valid commit slot")
}

/// The leaf runs of the tree under `run`, in key order.
fn leaves(bytes: &[u8], file: &Path, run: RunRef, out: &mut Vec<RunRef>) {
    let at = run.offset() as usize;
    let buf = &bytes[at..at + run.bytes()];
    let (kind, body) = open_run(buf, run, file).expect("a live run does not verify");
    match decode_body(kind, &body).expect("a live node does not decode") {
        Node::Leaf(_) | Node::Patched(_) => out.push(run),
        Node::Branch { children, .. } => {
            for child in children {
                if let Child::Disk(c) = child {
                    leaves(bytes, file, c, out);
                }
            }
        }
    }
}

/// Flips a byte inside the body of `count` leaves of the newest tree, spread
/// over the key space (one page each, so each is its own damage), and inside
/// the free-list run if `free_list` and there is one.
fn damage_leaves(sim: &SimFs, dir: &Path, count: usize, free_list: bool) -> Vec<PlantedDamage> {
    let file: PathBuf = dir.join(FILE_NAME);
    let bytes = sim.contents(&file).expect("no store file");
    let slot = newest_slot(&bytes, &file);
    let mut runs = Vec::new();
    if let Some(root) = slot.root {
        leaves(&bytes, &file, root, &mut runs);
    }
    let step = (runs.len() / count.max(1)).max(1);
    let mut targets: Vec<RunRef> = runs.into_iter().step_by(step).take(count).collect();
    if free_list {
        targets.extend(slot.free_list);
    }
    let mut planted = Vec::new();
    for run in targets {
        let spot = run.offset() + HEADER_BYTES as u64 + 7;
        let old = bytes[spot as usize];
        if sim.corrupt(&file, spot, &[old ^ 0xa5]) {
            planted.push(PlantedDamage::new(file.clone(), spot));
        }
    }
    planted
}

/// Declares both damage hooks on `engine`.
fn with_damage_hooks(engine: Engine) -> Engine {
    engine
        .hidden_damage(|sim, dir| damage_leaves(sim, dir, 1, true))
        .separate_damage(|sim, dir, count| damage_leaves(sim, dir, count, false))
}

fn btree_small_cache() -> Engine {
    let engine = Engine::new("btree", |dir, core| {
        let options = BtreeOptions::new(core.cache_bytes(64 << 10)).dirty_budget_bytes(256 << 10);
        Ok(Box::new(Btree::open(dir, options)?))
    })
    .snapshot_scans(true);
    with_damage_hooks(engine)
}

kv_core::conformance_suite!(btree_small_cache);

mod small_nodes {
    use kv_btree::{Btree, BtreeOptions, Shape};
    use kv_core::testkit::conformance::Engine;

    fn btree_small_nodes() -> Engine {
        let engine = Engine::new("btree-small-nodes", |dir, core| {
            let shape = Shape {
                node_capacity: 256,
                inline_value_max: 48,
            };
            let options = BtreeOptions::new(core.cache_bytes(256 << 10)).shape(shape);
            Ok(Box::new(Btree::open(dir, options)?))
        })
        .snapshot_scans(true);
        super::with_damage_hooks(engine)
    }

    kv_core::conformance_suite!(btree_small_nodes);
}
