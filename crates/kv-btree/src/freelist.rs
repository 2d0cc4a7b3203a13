//! Free space: free extents, pages pending per freeing transaction, and the
//! persisted free-list run.
//!
//! A page freed by transaction `T` (reachable from the commit before `T`,
//! not from `T`) is *pending* until two things hold: `T` is durable (so no
//! crash can bring back a commit that reaches it), and no reader holds a
//! snapshot older than `T`. A run that no durable commit ever reached
//! (written and freed between two durable commits under
//! `SyncPolicy::Manual`) waits for the readers only. Only then does it join the *free* extents that
//! allocation draws from. Allocation is first-fit from the start of an
//! extent (runs are contiguous), else from the tail of the file.
//!
//! The free-list run, written at every durable commit, lists every page that
//! is free or pending at that commit (after a reopen no reader and no older
//! commit remains, so all of them are free):
//!
//! ```text
//! count          varint
//! count × :
//!   start        varint (page number)
//!   len          varint (pages, ≥ 1)
//! ```
//! Extents are ascending, non-overlapping and non-adjacent.

use std::collections::{BTreeMap, HashSet};

use kv_core::codec::{put_varint, LeReader};

use crate::page::RunRef;

/// Free and pending pages, and the allocation tail.
#[derive(Debug, Clone, Default)]
pub struct FreeSpace {
    /// Free extents: start → length in pages.
    free: BTreeMap<u64, u64>,
    /// Pages freed by each transaction, oldest first.
    pending: Vec<(u64, Vec<(u64, u64)>)>,
    /// Runs written by a commit that was never made durable and freed by a
    /// later one, by freeing transaction: no durable commit reaches them,
    /// so only readers hold them back.
    volatile: Vec<(u64, Vec<RunRef>)>,
    /// Pages `[0, page_count)` are in use or free; past it is the tail.
    pub page_count: u64,
    /// Free pages whose content cannot be trusted to be a sealed page
    /// (free at an open after a crash: a lost commit may have torn them).
    unverified: BTreeMap<u64, u64>,
    /// Pages in `free` (kept as a running total: the writer reports it
    /// after every commit).
    free_total: u64,
    /// Pages in `pending` and `volatile`.
    pending_total: u64,
}

/// Removes `[start, start+len)` from `set`, splitting extents. Walks back
/// from `end` only over the extents it overlaps (they are disjoint and
/// ascending, so the first one that ends at or before `start` ends the
/// walk).
fn remove_range(set: &mut BTreeMap<u64, u64>, start: u64, len: u64) {
    let end = start + len;
    let hit: Vec<(u64, u64)> = set
        .range(..end)
        .rev()
        .take_while(|(&s, &l)| s + l > start)
        .map(|(&s, &l)| (s, l))
        .collect();
    for (s, l) in hit {
        set.remove(&s);
        if s < start {
            set.insert(s, start - s);
        }
        if s + l > end {
            set.insert(end, s + l - end);
        }
    }
}

/// Adds `[start, start+len)` to `set`, merging with neighbours.
fn insert_extent(set: &mut BTreeMap<u64, u64>, mut start: u64, mut len: u64) {
    if len == 0 {
        return;
    }
    if let Some((&s, &l)) = set.range(..start).next_back() {
        if s + l == start {
            set.remove(&s);
            start = s;
            len += l;
        }
    }
    if let Some(&l) = set.get(&(start + len)) {
        set.remove(&(start + len));
        len += l;
    }
    set.insert(start, len);
}

impl FreeSpace {
    /// Free space of a store whose pages `[0, page_count)` hold `free`.
    pub fn new(page_count: u64, free: &[(u64, u64)]) -> Self {
        let mut set = BTreeMap::new();
        for &(s, l) in free {
            insert_extent(&mut set, s, l);
        }
        let free_total = set.values().sum();
        Self {
            free: set,
            pending: Vec::new(),
            volatile: Vec::new(),
            page_count,
            unverified: BTreeMap::new(),
            free_total,
            pending_total: 0,
        }
    }

    /// Takes a run of `pages` contiguous pages: first fit among the free
    /// extents, else at the tail.
    pub fn allocate(&mut self, pages: u32) -> u64 {
        let want = u64::from(pages);
        let found = self
            .free
            .iter()
            .find(|(_, &l)| l >= want)
            .map(|(&s, &l)| (s, l));
        if let Some((start, len)) = found {
            self.free.remove(&start);
            if len > want {
                self.free.insert(start + want, len - want);
            }
            self.free_total -= want;
            remove_range(&mut self.unverified, start, want);
            return start;
        }
        self.allocate_at_tail(pages)
    }

    /// Takes a run of `pages` pages at the tail, past every free extent.
    pub fn allocate_at_tail(&mut self, pages: u32) -> u64 {
        let start = self.page_count;
        self.page_count += u64::from(pages);
        start
    }

    /// Gives back a run allocated in the open transaction that was never
    /// written (free again at once).
    pub fn unallocate(&mut self, page: u64, pages: u32) {
        if page + u64::from(pages) == self.page_count {
            self.page_count = page;
        } else {
            insert_extent(&mut self.free, page, u64::from(pages));
            self.free_total += u64::from(pages);
        }
    }

    /// Marks every free page as unverified (after an open that followed a
    /// crash).
    pub fn distrust_free_pages(&mut self) {
        self.unverified = self.free.clone();
    }

    /// The unverified free extents, ascending.
    pub fn unverified_extents(&self) -> Vec<(u64, u64)> {
        self.unverified.iter().map(|(&s, &l)| (s, l)).collect()
    }

    /// Forgets the unverified extents (once they have been rewritten).
    pub fn trust_free_pages(&mut self) {
        self.unverified.clear();
    }

    /// Records that transaction `txn` freed `run`; `durable_txn` is the
    /// newest durable commit (a run written after it never reached a
    /// durable commit).
    pub fn free_later(&mut self, txn: u64, run: RunRef, durable_txn: u64) {
        self.pending_total += u64::from(run.pages);
        if run.txn > durable_txn {
            match self.volatile.last_mut() {
                Some((t, list)) if *t == txn => list.push(run),
                _ => self.volatile.push((txn, vec![run])),
            }
            return;
        }
        let extent = (run.page, u64::from(run.pages));
        match self.pending.last_mut() {
            Some((t, list)) if *t == txn => list.push(extent),
            _ => self.pending.push((txn, vec![extent])),
        }
    }

    /// The runs freed since the last durable commit that no durable commit
    /// reached and that are still pending (a reader may hold them): dirty
    /// runs the tree no longer reaches.
    pub fn volatile_runs(&self) -> HashSet<RunRef> {
        self.volatile
            .iter()
            .flat_map(|(_, runs)| runs.iter().copied())
            .collect()
    }

    /// Moves to the free extents the pages freed by transactions no newer
    /// than `upto_durable` (durable ones) or `upto_reader` (volatile ones,
    /// which no durable commit reaches). Returns the volatile runs freed,
    /// whose unwritten bytes the pager must forget.
    pub fn release(&mut self, upto_durable: u64, upto_reader: u64) -> Vec<RunRef> {
        let upto = upto_durable.min(upto_reader);
        let keep = self.pending.partition_point(|(t, _)| *t <= upto);
        for (_, list) in self.pending.drain(..keep) {
            for (s, l) in list {
                insert_extent(&mut self.free, s, l);
                self.free_total += l;
                self.pending_total -= l;
            }
        }
        let keep = self.volatile.partition_point(|(t, _)| *t <= upto_reader);
        let runs: Vec<RunRef> = self.volatile.drain(..keep).flat_map(|(_, l)| l).collect();
        for r in &runs {
            insert_extent(&mut self.free, r.page, u64::from(r.pages));
            self.free_total += u64::from(r.pages);
            self.pending_total -= u64::from(r.pages);
            // Maybe never written: `check()` cannot expect a sealed page.
            insert_extent(&mut self.unverified, r.page, u64::from(r.pages));
        }
        runs
    }

    /// Drops a free extent at the end of the used pages, shrinking
    /// `page_count`; returns true if it shrank.
    pub fn trim_tail(&mut self) -> bool {
        let Some((&s, &l)) = self.free.iter().next_back() else {
            return false;
        };
        if s + l != self.page_count {
            return false;
        }
        self.free.remove(&s);
        self.free_total -= l;
        remove_range(&mut self.unverified, s, l);
        self.page_count = s;
        true
    }

    /// Pages in free extents.
    pub fn free_pages(&self) -> u64 {
        self.free_total
    }

    /// Pages pending release.
    pub fn pending_pages(&self) -> u64 {
        self.pending_total
    }

    /// The free extents, ascending.
    pub fn free_extents(&self) -> Vec<(u64, u64)> {
        self.free.iter().map(|(&s, &l)| (s, l)).collect()
    }

    /// The pending extents with their freeing transaction.
    pub fn pending_extents(&self) -> Vec<(u64, u64, u64)> {
        let durable = self
            .pending
            .iter()
            .flat_map(|(t, l)| l.iter().map(move |&(s, n)| (*t, s, n)));
        let volatile = self
            .volatile
            .iter()
            .flat_map(|(t, l)| l.iter().map(move |r| (*t, r.page, u64::from(r.pages))));
        durable.chain(volatile).collect()
    }

    /// Every free and pending page as merged extents: what a durable commit
    /// persists.
    ///
    /// One merge of the free extents (ascending) with the sorted pending
    /// ones, coalescing neighbours: no copy of the free map per commit.
    pub fn persisted_extents(&self) -> Vec<(u64, u64)> {
        let mut pending: Vec<(u64, u64)> = self
            .pending_extents()
            .into_iter()
            .map(|(_, s, l)| (s, l))
            .collect();
        pending.sort_unstable();
        let mut out: Vec<(u64, u64)> = Vec::with_capacity(self.free.len() + pending.len());
        let mut free = self.free.iter().map(|(&s, &l)| (s, l)).peekable();
        let mut pending = pending.into_iter().peekable();
        loop {
            let next = match (free.peek(), pending.peek()) {
                (Some(f), Some(p)) if f.0 <= p.0 => free.next(),
                (Some(_), None) => free.next(),
                (_, Some(_)) => pending.next(),
                (None, None) => break,
            };
            let Some((s, l)) = next else { break };
            match out.last_mut() {
                Some((ls, ll)) if *ls + *ll >= s => *ll = (*ll).max(s + l - *ls),
                _ => out.push((s, l)),
            }
        }
        out
    }
}

/// Encodes extents as a free-list body.
pub fn encode(extents: &[(u64, u64)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(extents.len() * 6 + 4);
    put_varint(&mut out, extents.len() as u64);
    for &(s, l) in extents {
        put_varint(&mut out, s);
        put_varint(&mut out, l);
    }
    out
}

/// Decodes a free-list body and checks that every extent lies in
/// `[first, page_count)`, ascending and disjoint.
pub fn decode(body: &[u8], first: u64, page_count: u64) -> Result<Vec<(u64, u64)>, String> {
    let mut r = LeReader::new(body);
    let count = r.varint().ok_or("free list count is cut")?;
    if count > (body.len() / 2) as u64 {
        return Err(format!("free list count {count} in {} bytes", body.len()));
    }
    let mut out = Vec::with_capacity(count as usize);
    let mut next_free = first;
    for i in 0..count {
        let s = r.varint().ok_or("extent start is cut")?;
        let l = r.varint().ok_or("extent length is cut")?;
        let end = s.checked_add(l).ok_or("extent overflows")?;
        if l == 0 || s < next_free || end > page_count {
            return Err(format!(
                "extent {i} [{s}, {end}) is empty, out of order or past page {page_count}"
            ));
        }
        next_free = end;
        out.push((s, l));
    }
    if !r.is_empty() {
        return Err("bytes after the last extent".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(page: u64, pages: u32) -> RunRef {
        RunRef {
            page,
            txn: 1,
            pages,
        }
    }

    #[test]
    fn pending_pages_wait_for_release_then_merge() {
        let mut fs = FreeSpace::new(10, &[]);
        fs.free_later(5, run(3, 1), 4);
        fs.free_later(5, run(4, 2), 4);
        fs.free_later(6, run(9, 1), 4);
        assert_eq!(fs.allocate(1), 10, "pending pages must not be reused");
        fs.release(5, 9);
        assert_eq!(fs.free_extents(), vec![(3, 3)]);
        assert_eq!(fs.allocate(2), 3);
        fs.release(6, 9);
        assert_eq!(fs.persisted_extents(), vec![(5, 1), (9, 1)]);
        assert!(!fs.trim_tail());
        fs.unallocate(10, 1);
        assert_eq!(fs.page_count, 10, "a tail run given back shrinks the tail");
        fs.unallocate(3, 1);
        fs.distrust_free_pages();
        assert_eq!(fs.allocate(1), 3);
        assert_eq!(fs.unverified_extents(), vec![(5, 1), (9, 1)]);
        assert!(fs.trim_tail());
        assert_eq!((fs.page_count, fs.unverified_extents()), (9, vec![(5, 1)]));
    }

    #[test]
    fn runs_no_durable_commit_reached_wait_only_for_readers() {
        let mut fs = FreeSpace::new(10, &[]);
        let fresh = RunRef {
            page: 4,
            txn: 8,
            pages: 2,
        };
        fs.free_later(9, fresh, 7);
        assert!(
            fs.release(7, 8).is_empty(),
            "a reader of txn 8 still reaches it"
        );
        assert_eq!(fs.release(7, 9), vec![fresh]);
        assert_eq!(fs.free_extents(), vec![(4, 2)]);
    }

    #[test]
    fn running_totals_match_the_extents() {
        let mut fs = FreeSpace::new(40, &[(2, 3), (10, 1)]);
        let sum = |fs: &FreeSpace| -> (u64, u64) {
            let free = fs.free_extents().iter().map(|e| e.1).sum();
            let pending = fs.pending_extents().iter().map(|e| e.2).sum();
            (free, pending)
        };
        fs.free_later(5, run(20, 2), 4);
        fs.free_later(
            5,
            RunRef {
                page: 30,
                txn: 5,
                pages: 3,
            },
            4,
        );
        assert_eq!(sum(&fs), (fs.free_pages(), fs.pending_pages()));
        fs.allocate(2);
        fs.allocate(5);
        fs.release(5, 9);
        assert_eq!(sum(&fs), (fs.free_pages(), fs.pending_pages()));
        fs.unallocate(39, 1);
        fs.unallocate(12, 1);
        while fs.trim_tail() {}
        assert_eq!(sum(&fs), (fs.free_pages(), fs.pending_pages()));
        assert_eq!(fs.pending_pages(), 0);
    }

    #[test]
    fn persisted_extents_merge_free_and_pending_into_disjoint_runs() {
        let mut fs = FreeSpace::new(100, &[(2, 3), (10, 1), (40, 5)]);
        for (txn, page, pages) in [(5, 5, 2), (5, 11, 1), (6, 30, 3), (6, 45, 1), (7, 60, 2)] {
            fs.free_later(txn, run(page, pages), 4);
        }
        fs.free_later(
            8,
            RunRef {
                page: 33,
                txn: 8,
                pages: 1,
            },
            4,
        );
        let mut naive = BTreeMap::new();
        for (s, l) in fs.free_extents() {
            insert_extent(&mut naive, s, l);
        }
        for (_, s, l) in fs.pending_extents() {
            insert_extent(&mut naive, s, l);
        }
        let naive: Vec<(u64, u64)> = naive.into_iter().collect();
        assert_eq!(fs.persisted_extents(), naive);
        assert_eq!(
            naive,
            vec![(2, 5), (10, 2), (30, 4), (40, 6), (60, 2)],
            "neighbours coalesce"
        );
    }

    #[test]
    fn removing_a_range_splits_only_what_it_overlaps() {
        let mut set = BTreeMap::new();
        for (s, l) in [(0, 2), (4, 4), (10, 2), (20, 5)] {
            insert_extent(&mut set, s, l);
        }
        remove_range(&mut set, 5, 6);
        let left: Vec<(u64, u64)> = set.into_iter().collect();
        assert_eq!(left, vec![(0, 2), (4, 1), (11, 1), (20, 5)]);
    }

    #[test]
    fn free_list_round_trips_and_rejects_overlap() {
        let e = vec![(2, 3), (7, 1)];
        assert_eq!(decode(&encode(&e), 2, 8).unwrap(), e);
        assert!(decode(&encode(&[(2, 3), (4, 1)]), 2, 8).is_err());
        assert!(decode(&encode(&e), 2, 7).is_err());
    }
}
