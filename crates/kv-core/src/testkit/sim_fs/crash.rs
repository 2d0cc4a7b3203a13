//! What survives a simulated power loss: [`CrashMode`] chooses, per file, how
//! much of the unsynced data is kept, and whether unsynced directory entries
//! (of files and of directories) revert.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use rand::rngs::Xoshiro256PlusPlus;
use rand::{Rng, RngExt, SeedableRng};

use super::mode::{CrashMode, UnsyncedData};
use super::reorder::reordered_bytes;
use super::state::{is_root, parent_of, write_into, Inode, InodeId, PendingOp, State};

/// Salt so the crash stream differs from other uses of the same seed.
const CRASH_SALT: u64 = 0x5eed_c4a5_4b1d_0001;
/// Odd constant spreading inode ids over the seed space.
const INODE_SPREAD: u64 = 0x9e37_79b9_7f4a_7c15;

/// The world after power loss: a pure function of `old` and `mode`, so the
/// same state and mode always give the same result.
pub(super) fn crash_state(old: &State, mode: CrashMode) -> State {
    let mut seeder = Xoshiro256PlusPlus::seed_from_u64(old.seed ^ CRASH_SALT);
    let mut new = State::new(seeder.next_u64());
    new.dirs = surviving_dirs(old, mode.forget_unsynced_dir_entries);
    new.durable_dirs = new.dirs.clone();
    let names = if mode.forget_unsynced_dir_entries {
        &old.durable
    } else {
        &old.current
    };
    // An inode reachable by two surviving names stays one inode (a hard link).
    let mut renumbered: BTreeMap<InodeId, InodeId> = BTreeMap::new();
    for (path, old_id) in names {
        if !new.is_dir(parent_of(path)) {
            continue; // its directory vanished
        }
        let new_id = match renumbered.get(old_id) {
            Some(id) => *id,
            None => {
                let bytes = old
                    .inodes
                    .get(old_id)
                    .map(|inode| surviving_bytes(inode, mode.unsynced, old.seed, *old_id))
                    .unwrap_or_default();
                let id = new.add_inode(Inode::durable_with(bytes));
                renumbered.insert(*old_id, id);
                id
            }
        };
        new.current.insert(path.clone(), new_id);
        new.durable.insert(path.clone(), new_id);
    }
    new
}

/// The directories a crash keeps: all current ones, or, when unsynced entries
/// are forgotten, those whose own entry and every ancestor's entry were
/// synced into their parents (the roots are implied and always kept).
fn surviving_dirs(old: &State, forget_unsynced_dir_entries: bool) -> BTreeSet<PathBuf> {
    if !forget_unsynced_dir_entries {
        return old.dirs.clone();
    }
    old.durable_dirs
        .iter()
        .filter(|dir| {
            dir.ancestors()
                .skip(1)
                .all(|a| is_root(a) || old.durable_dirs.contains(a))
        })
        .cloned()
        .collect()
}

/// The bytes of one file after power loss.
pub(super) fn surviving_bytes(
    inode: &Inode,
    mode: UnsyncedData,
    seed: u64,
    id: InodeId,
) -> Vec<u8> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(
        seed ^ CRASH_SALT ^ id.wrapping_add(1).wrapping_mul(INODE_SPREAD),
    );
    let ops = &inode.pending;
    match mode {
        UnsyncedData::Lost => inode.durable.clone(),
        UnsyncedData::Kept => inode.written.clone(),
        UnsyncedData::TornLastWrite { keep_bytes } => {
            let last_write = ops
                .iter()
                .rposition(|op| matches!(op, PendingOp::Write { .. }));
            match last_write {
                None => inode.written.clone(),
                Some(i) => replay_with_tear(&inode.durable, ops, i, |data| {
                    data[..keep_bytes.min(data.len())].to_vec()
                }),
            }
        }
        UnsyncedData::GarbageTail { bytes } => {
            let mut out = inode.durable.clone();
            let durable_end = out.len();
            let appended = ops.iter().any(|op| match op {
                PendingOp::Write { offset, data } => offset + data.len() > durable_end,
                PendingOp::Truncate { .. } => false,
            });
            if appended {
                out.extend((0..bytes).map(|_| rng.random::<u8>()));
            }
            out
        }
        UnsyncedData::Random => {
            let survivors = rng.random_range(0..=ops.len());
            replay_with_tear(&inode.durable, ops, survivors, |data| {
                let kept = rng.random_range(0..=data.len());
                let mut torn = data[..kept].to_vec();
                if kept < data.len() && rng.random_range(0..4) == 0 {
                    let garbage = rng.random_range(1..=data.len() - kept);
                    torn.extend((0..garbage).map(|_| rng.random::<u8>()));
                }
                torn
            })
        }
        UnsyncedData::Reordered { tear_sectors } => {
            reordered_bytes(&inode.durable, ops, tear_sectors, &mut rng)
        }
    }
}

/// `durable` with `ops[..survivors]` replayed, then `ops[survivors]`, if a
/// write, replayed with the data `tear` returns for it.
fn replay_with_tear(
    durable: &[u8],
    ops: &[PendingOp],
    survivors: usize,
    tear: impl FnOnce(&[u8]) -> Vec<u8>,
) -> Vec<u8> {
    let mut out = durable.to_vec();
    for op in &ops[..survivors] {
        op.apply(&mut out);
    }
    if let Some(PendingOp::Write { offset, data }) = ops.get(survivors) {
        write_into(&mut out, *offset, &tear(data));
    }
    out
}
