//! [`CrashMode`] and [`UnsyncedData`]: what a simulated crash keeps of the
//! data and directory entries that were not made durable, with one named
//! constructor per mode and the list the conformance suite loops over.

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

/// How a crash treats what was not made durable.
///
/// Build one with a named constructor ([`CrashMode::power_loss`],
/// [`CrashMode::reordered_writeback`], [`CrashMode::process_kill`], ...) or
/// take them all from [`CrashMode::suite_modes`]; the fields stay public for
/// the callers that spell a mode out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrashMode {
    /// What happens to file data written since the file's last `sync`.
    pub unsynced: UnsyncedData,
    /// If true, directory entries created, renamed or removed since the last
    /// `sync_dir` of their parent directory revert (the file vanishes / the
    /// old name comes back / the removed file comes back), and a directory
    /// whose entry in its parent was never synced vanishes with everything in
    /// it. If false, the current namespace and every current directory
    /// survive as they are.
    pub forget_unsynced_dir_entries: bool,
}

impl Default for CrashMode {
    /// The harshest ordinary power loss: [`CrashMode::power_loss`].
    fn default() -> Self {
        CrashMode::power_loss()
    }
}

impl CrashMode {
    /// A mode from its two parts.
    pub const fn new(unsynced: UnsyncedData, forget_unsynced_dir_entries: bool) -> CrashMode {
        CrashMode {
            unsynced,
            forget_unsynced_dir_entries,
        }
    }

    /// Power loss: only synced data and synced directory entries survive
    /// ([`UnsyncedData::Lost`], entries forgotten). The default.
    pub const fn power_loss() -> CrashMode {
        CrashMode::new(UnsyncedData::Lost, true)
    }

    /// Power loss in the middle of the last write of every file: the earlier
    /// unsynced changes reached the disk in order, the last write only its
    /// first `keep_bytes` bytes ([`UnsyncedData::TornLastWrite`], entries
    /// forgotten).
    pub const fn torn_last_write(keep_bytes: usize) -> CrashMode {
        CrashMode::new(UnsyncedData::TornLastWrite { keep_bytes }, true)
    }

    /// Power loss that leaves `bytes` bytes of seeded garbage after the
    /// durable end of every file an unsynced write extended
    /// ([`UnsyncedData::GarbageTail`], entries forgotten).
    pub const fn garbage_tail(bytes: usize) -> CrashMode {
        CrashMode::new(UnsyncedData::GarbageTail { bytes }, true)
    }

    /// Power loss keeping a seeded in-order prefix of every file's unsynced
    /// changes, the next write torn at a seeded byte, sometimes followed by
    /// garbage ([`UnsyncedData::Random`], entries forgotten).
    pub const fn random_prefix() -> CrashMode {
        CrashMode::new(UnsyncedData::Random, true)
    }

    /// Power loss after out-of-order writeback: any seeded subset of the
    /// unsynced 4 KiB page pieces of every file reached the disk, later ones
    /// possibly without earlier ones ([`UnsyncedData::Reordered`] without
    /// sector tears, entries forgotten).
    pub const fn reordered_writeback() -> CrashMode {
        CrashMode::new(
            UnsyncedData::Reordered {
                tear_sectors: false,
            },
            true,
        )
    }

    /// [`CrashMode::reordered_writeback`] on a disk whose atomic unit is a
    /// 512-byte sector: a page piece that reached the disk may have kept only
    /// its first sectors ([`UnsyncedData::Reordered`] with sector tears,
    /// entries forgotten).
    pub const fn reordered_writeback_torn_sectors() -> CrashMode {
        CrashMode::new(UnsyncedData::Reordered { tear_sectors: true }, true)
    }

    /// The kernel wrote every dirty page back but the directory updates since
    /// the last `sync_dir` were lost ([`UnsyncedData::Kept`], entries
    /// forgotten).
    pub const fn kept_data_lost_entries() -> CrashMode {
        CrashMode::new(UnsyncedData::Kept, true)
    }

    /// The process was killed while the machine stayed up: everything written
    /// survives, nothing is torn, every directory and directory entry is as
    /// it was ([`UnsyncedData::Kept`], entries kept).
    pub const fn process_kill() -> CrashMode {
        CrashMode::new(UnsyncedData::Kept, false)
    }

    /// The modes every crash case of the conformance suite runs under, in
    /// this order: [`power_loss`](CrashMode::power_loss),
    /// [`torn_last_write`](CrashMode::torn_last_write) with `keep_bytes` in
    /// `0..64`, [`garbage_tail`](CrashMode::garbage_tail) with `bytes` in
    /// `1..200`, [`random_prefix`](CrashMode::random_prefix),
    /// [`reordered_writeback`](CrashMode::reordered_writeback),
    /// [`reordered_writeback_torn_sectors`](CrashMode::reordered_writeback_torn_sectors)
    /// and [`process_kill`](CrashMode::process_kill). The two sizes derive
    /// from `seed`, so the same seed always gives the same list; every mode
    /// but `process_kill` forgets unsynced directory entries.
    pub fn suite_modes(seed: u64) -> Vec<CrashMode> {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed ^ SUITE_MODES_SALT);
        vec![
            CrashMode::power_loss(),
            CrashMode::torn_last_write(rng.random_range(0..64)),
            CrashMode::garbage_tail(rng.random_range(1..200)),
            CrashMode::random_prefix(),
            CrashMode::reordered_writeback(),
            CrashMode::reordered_writeback_torn_sectors(),
            CrashMode::process_kill(),
        ]
    }
}

/// Salt so the sizes of [`CrashMode::suite_modes`] differ from other uses of
/// the same seed.
const SUITE_MODES_SALT: u64 = 0x5eed_c4a5_4d0d_e500;

/// What survives of the data written to a file since its last `sync`. Every
/// mode keeps the synced bytes no unsynced change touched; they differ in
/// what they keep of the unsynced changes. New modes may be added: match
/// with a wildcard arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum UnsyncedData {
    /// Only synced bytes survive.
    #[default]
    Lost,
    /// Everything written survives (a process crash with the OS still up).
    Kept,
    /// Per file: all unsynced changes before the last write survive, in
    /// order; the last write keeps only its first `keep_bytes` bytes (0 =
    /// lost entirely); truncations after it are lost. A file whose unsynced
    /// changes hold no write keeps them all.
    TornLastWrite {
        /// Bytes of the last write that reach the disk.
        keep_bytes: usize,
    },
    /// Unsynced data lost, and `bytes` bytes of seeded garbage appear after
    /// the file's durable end if an unsynced write reached past that end.
    GarbageTail {
        /// Length of the garbage tail.
        bytes: usize,
    },
    /// Chosen per file from the seed: a random prefix of the unsynced changes
    /// survives (possibly all or none), the next one, if a write, torn at a
    /// random byte; one time in four the rest of that torn write's range is
    /// partly filled with garbage instead of its data.
    Random,
    /// Out-of-order writeback, chosen per file from the seed. Every unsynced
    /// write is cut into page pieces at the file offsets that are multiples
    /// of [`WRITEBACK_PAGE_BYTES`](super::WRITEBACK_PAGE_BYTES); each piece
    /// independently reached the disk or not (the file's survival rate is
    /// drawn from 0, 1/4, 1/2, 3/4 and 1, so all and none both occur). The
    /// length changes are metadata the file system commits in order: a
    /// seeded prefix of the unsynced changes has its length effect
    /// committed. The result is the durable bytes with, in the original
    /// order, the surviving pieces written and the committed truncations
    /// applied, then zero-extended to the committed length if shorter. So a
    /// piece that did not survive reads as the old durable bytes, or as
    /// zeros past the old durable end; the length is the durable one, a
    /// committed truncation, a committed length, or the end of a surviving
    /// (possibly sector-torn) piece.
    Reordered {
        /// If true, a surviving piece spanning a 512-byte sector boundary
        /// ([`WRITEBACK_SECTOR_BYTES`](super::WRITEBACK_SECTOR_BYTES)) is,
        /// one time in four, torn at a seeded one of those boundaries: only
        /// its sectors before the tear reach the disk.
        tear_sectors: bool,
    },
}
