//! Reordered writeback: unsynced writes reach the disk as independent 4 KiB
//! page pieces, later ones possibly without earlier ones, and the length
//! follows the documented rule.

use std::path::Path;

use super::super::*;
use crate::fs::create_dir_durably;

const PAGE: usize = WRITEBACK_PAGE_BYTES;
const SECTOR: usize = WRITEBACK_SECTOR_BYTES;

fn log_path() -> &'static Path {
    Path::new("/db/log")
}

/// A world whose durable, named `/db/log` holds `synced`.
fn world(seed: u64, synced: &[u8]) -> (SimFs, Arc<dyn File>) {
    let fs = SimFs::new(seed);
    create_dir_durably(&fs, Path::new("/db")).unwrap();
    let f = fs.create(log_path()).unwrap();
    f.append(synced).unwrap();
    f.sync().unwrap();
    fs.sync_dir(Path::new("/db")).unwrap();
    (fs, f)
}

fn crashed_log(fs: &SimFs, mode: CrashMode) -> Vec<u8> {
    fs.crash_with(mode).contents(log_path()).unwrap()
}

#[test]
fn reordered_crash_can_keep_a_later_write_without_an_earlier_one() {
    let found = (0..200u64).find(|&seed| {
        let (fs, f) = world(seed, b"");
        f.append(&[1; PAGE]).unwrap();
        f.append(&[2; PAGE]).unwrap();
        let got = crashed_log(&fs, CrashMode::reordered_writeback());
        got.len() == 2 * PAGE && got[..PAGE] == [0; PAGE] && got[PAGE..] == [2; PAGE]
    });
    assert!(
        found.is_some(),
        "no seed in 0..200 kept page 2 without page 1"
    );
}

#[test]
fn a_lost_overwrite_reads_as_the_old_contents() {
    let mut mixed = false;
    for seed in 0..100u64 {
        let (fs, f) = world(seed, &[b'a'; 3 * PAGE]);
        f.write_at(&[b'b'; 3 * PAGE], 0).unwrap();
        let got = crashed_log(&fs, CrashMode::reordered_writeback());
        assert_eq!(
            got.len(),
            3 * PAGE,
            "seed {seed}: an overwrite keeps the length"
        );
        let pages: Vec<u8> = got.chunks(PAGE).map(|page| page[0]).collect();
        for (page, &first) in got.chunks(PAGE).zip(&pages) {
            assert!(
                page.iter().all(|&b| b == first),
                "seed {seed}: a page is whole"
            );
        }
        mixed |= pages.contains(&b'a') && pages.contains(&b'b');
    }
    assert!(
        mixed,
        "some seed kept some pages of the overwrite and not others"
    );
}

/// Appends of distinct bytes, at unaligned offsets and lengths; returns each
/// write's (offset, byte, length).
fn unaligned_appends(f: &Arc<dyn File>) -> Vec<(usize, u8, usize)> {
    let lengths = [100, 5000, 4096, 9000, 1, 3000];
    let mut writes = Vec::new();
    for (i, &len) in lengths.iter().enumerate() {
        let byte = i as u8 + 1;
        let at = f.append(&vec![byte; len]).unwrap() as usize;
        writes.push((at, byte, len));
    }
    writes
}

/// For every page piece of every write: the bytes of its range that the
/// crashed file holds, split into the part equal to the write's byte and
/// the rest (which must be zeros: nothing was durable there).
fn piece_outcomes(got: &[u8], writes: &[(usize, u8, usize)]) -> Vec<(usize, usize, usize)> {
    let mut outcomes = Vec::new();
    for &(offset, byte, len) in writes {
        let mut at = offset;
        while at < offset + len {
            let end = ((at / PAGE + 1) * PAGE).min(offset + len);
            let held = got.get(at..end.min(got.len())).unwrap_or(&[]);
            let kept = held.iter().take_while(|&&b| b == byte).count();
            assert!(
                held[kept..].iter().all(|&b| b == 0),
                "only zeros after a piece's kept part"
            );
            outcomes.push((end - at, kept, at));
            at = end;
        }
    }
    outcomes
}

#[test]
fn reordered_pieces_are_whole_4k_aligned_pieces() {
    let mut split_write_seen = false;
    for seed in 0..200u64 {
        let (fs, f) = world(seed, &[9; 700]);
        let writes = unaligned_appends(&f);
        let got = crashed_log(&fs, CrashMode::reordered_writeback());
        assert_eq!(&got[..700], &[9; 700], "seed {seed}");
        let outcomes = piece_outcomes(&got, &writes);
        for &(len, kept, at) in &outcomes {
            assert!(
                kept == 0 || kept == len,
                "seed {seed}: piece at {at} is torn"
            );
        }
        // The 9000-byte write spans three pages: some seed keeps part of it.
        let big: Vec<_> = outcomes
            .iter()
            .filter(|o| o.2 >= writes[3].0 && o.2 < writes[4].0)
            .collect();
        split_write_seen |= big.iter().any(|o| o.1 > 0) && big.iter().any(|o| o.1 == 0);
    }
    assert!(
        split_write_seen,
        "a write spanning pages survived only in part"
    );
}

#[test]
fn torn_sectors_keep_a_sector_aligned_prefix_of_a_piece() {
    let mut torn_seen = false;
    for seed in 0..200u64 {
        let (fs, f) = world(seed, &[9; 700]);
        let writes = unaligned_appends(&f);
        let got = crashed_log(&fs, CrashMode::reordered_writeback_torn_sectors());
        for (len, kept, at) in piece_outcomes(&got, &writes) {
            let whole = kept == 0 || kept == len;
            assert!(
                whole || (at + kept) % SECTOR == 0,
                "seed {seed}: tear inside a sector"
            );
            torn_seen |= !whole;
        }
    }
    assert!(torn_seen, "some seed tore a piece at a sector boundary");
}

#[test]
fn the_length_is_the_durable_end_a_committed_length_or_a_piece_end() {
    let mut zero_tail_seen = false;
    for seed in 0..200u64 {
        let (fs, f) = world(seed, &[9; 100]);
        f.append(&[1; 2 * PAGE]).unwrap();
        let got = crashed_log(&fs, CrashMode::reordered_writeback());
        let ends = [100, PAGE, 2 * PAGE, 100 + 2 * PAGE];
        assert!(
            ends.contains(&got.len()),
            "seed {seed}: length {}",
            got.len()
        );
        zero_tail_seen |= got.len() == 100 + 2 * PAGE && got[PAGE..] == [0; PAGE + 100];
    }
    assert!(
        zero_tail_seen,
        "a committed length past lost data reads as zeros"
    );
}

#[test]
fn truncations_commit_in_order_and_zero_what_they_cut() {
    let mut outcomes = std::collections::BTreeSet::new();
    for seed in 0..200u64 {
        let (fs, f) = world(seed, &[b'a'; 2 * PAGE]);
        f.truncate(0).unwrap();
        f.append(&[b'b'; 10]).unwrap();
        let got = crashed_log(&fs, CrashMode::reordered_writeback());
        let outcome = match got.as_slice() {
            g if g == [b'a'; 2 * PAGE] => "truncation and write lost",
            [] => "truncation committed, write lost",
            g if g == [b'b'; 10] => "both",
            g if g == [0; 10] => "length committed, data lost",
            g if g[..10] == [b'b'; 10] && g[10..] == [b'a'; 2 * PAGE - 10] => {
                "write without the truncation"
            }
            other => panic!(
                "seed {seed}: {} bytes is no documented outcome",
                other.len()
            ),
        };
        outcomes.insert(outcome);
    }
    assert_eq!(outcomes.len(), 5, "every outcome occurs: {outcomes:?}");
}

#[test]
fn reordered_crash_is_the_same_for_the_same_seed() {
    let run = |seed| {
        let (fs, f) = world(seed, b"");
        unaligned_appends(&f);
        crashed_log(&fs, CrashMode::reordered_writeback_torn_sectors())
    };
    let outcomes: std::collections::BTreeSet<Vec<u8>> = (0..20).map(run).collect();
    assert!(outcomes.len() > 1, "the seed matters");
    for seed in 0..20 {
        assert_eq!(run(seed), run(seed), "seed {seed}");
    }
}
