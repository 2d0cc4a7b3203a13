//! The engine table: name -> [`EngineInfo`] (description, kind, identity,
//! capabilities, factory), and [`open`] by name.
//!
//! # Registering an engine
//!
//! One entry in [`engines`] and one factory function:
//!
//! ```text
//! fn open_lsm(dir: &Path, config: &OpenConfig) -> Result<Box<dyn Store>> {
//!     Ok(Box::new(kv_lsm::Lsm::open(dir, kv_lsm::LsmOptions { core: config.core_options(), ..Default::default() })?))
//! }
//! // in engines():
//! list.push(EngineInfo::ours("lsm", "kvlab LSM tree: ...", "block cache", open_lsm));
//! list.push(EngineInfo::ours("lsm-tiered", "kvlab LSM, tiered compaction", "block cache", open_lsm_tiered).identity("lsm"));
//! ```
//!
//! A variant of an engine (another compaction strategy of the same format)
//! names its engine's identity with [`EngineInfo::identity`], so a store
//! written by `lsm-tiered` opens as `lsm` and the other way round.

use std::path::Path;

use kv_core::{Error, MemStore, Result, Store};

use crate::config::OpenConfig;
use crate::null::NullStore;

/// Who wrote an engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineKind {
    /// kvlab's own engine.
    Ours,
    /// A well-known embedded store, compared with ours.
    Peer,
    /// Part of the harness: a reference or a baseline, not a real store.
    Harness,
}

impl EngineKind {
    /// `"ours"`, `"peer"` or `"harness"`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Ours => "ours",
            Self::Peer => "peer",
            Self::Harness => "harness",
        }
    }
}

/// Opens one engine on a directory (created if missing).
pub type Factory = fn(&Path, &OpenConfig) -> Result<Box<dyn Store>>;

/// What the registry knows about one engine.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct EngineInfo {
    /// Name used on the command line (`--engine NAME`).
    pub name: &'static str,
    /// The name written in a store's `KVLAB` identity marker
    /// ([`kv_core::StoreIdentity`]): the engine's own name, or for a variant
    /// (`lsm-tiered`) the engine whose format it writes (`lsm`). Stores are
    /// interchangeable between engines of one identity and refused
    /// (`Error::WrongEngine`) by every other.
    pub identity: &'static str,
    /// One line: what it is.
    pub description: &'static str,
    /// True for kvlab's own engines, false for peers and harness engines
    /// (the same as `kind == EngineKind::Ours`).
    pub ours: bool,
    /// Ours, peer or harness.
    pub kind: EngineKind,
    /// True if data survives reopening the directory.
    pub persistent: bool,
    /// True if every byte the engine reads or writes goes through
    /// [`OpenConfig::fs`] (so `SimFs`, `FaultFs` and the I/O counters reach
    /// it); false for peers and in-memory engines.
    pub uses_fs: bool,
    /// What [`OpenConfig::cache_bytes`] is given to, for reports.
    pub cache: &'static str,
    /// Under `SyncPolicy::Manual`: where a write lives once acknowledged and
    /// before `sync()`, and so what a process crash can lose (a power loss
    /// or OS crash can lose every write since the last `sync()`).
    pub unsynced: &'static str,
    /// Opens the engine.
    pub factory: Factory,
}

impl PartialEq for EngineInfo {
    /// Two descriptions are equal when every field but the factory is.
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
            && self.identity == other.identity
            && self.description == other.description
            && self.kind == other.kind
            && self.persistent == other.persistent
            && self.uses_fs == other.uses_fs
            && self.cache == other.cache
            && self.unsynced == other.unsynced
    }
}

impl Eq for EngineInfo {}

impl EngineInfo {
    /// One of kvlab's engines: persistent, all I/O through `OpenConfig::fs`,
    /// identity = `name`.
    pub const fn ours(
        name: &'static str,
        description: &'static str,
        cache: &'static str,
        factory: Factory,
    ) -> Self {
        Self {
            name,
            identity: name,
            description,
            ours: true,
            kind: EngineKind::Ours,
            persistent: true,
            uses_fs: true,
            cache,
            unsynced: "not stated",
            factory,
        }
    }

    /// A peer: persistent, real file system, identity = `name` (claimed by
    /// the registry, see [`crate::peers`]).
    pub const fn peer(
        name: &'static str,
        description: &'static str,
        cache: &'static str,
        factory: Factory,
    ) -> Self {
        Self {
            kind: EngineKind::Peer,
            ours: false,
            uses_fs: false,
            ..Self::ours(name, description, cache, factory)
        }
    }

    /// A harness engine: in memory, nothing persists.
    pub const fn harness(name: &'static str, description: &'static str, factory: Factory) -> Self {
        Self {
            kind: EngineKind::Harness,
            ours: false,
            persistent: false,
            uses_fs: false,
            unsynced: "process memory only: a crash loses everything",
            ..Self::ours(name, description, "none (in memory)", factory)
        }
    }

    /// The same engine description with its statement of where an
    /// acknowledged, unsynced write lives ([`EngineInfo::unsynced`]).
    pub const fn unsynced(self, unsynced: &'static str) -> Self {
        Self { unsynced, ..self }
    }

    /// The same engine description with the identity of another engine
    /// (a variant writing that engine's format).
    pub const fn identity(self, identity: &'static str) -> Self {
        Self { identity, ..self }
    }

    /// Opens this engine on `dir` with `config`.
    ///
    /// # Errors
    /// Whatever the engine's open returns (`Locked`, `WrongEngine`,
    /// `Corruption`, I/O).
    pub fn open(&self, dir: &Path, config: &OpenConfig) -> Result<Box<dyn Store>> {
        (self.factory)(dir, config)
    }
}

fn open_bitcask(dir: &Path, config: &OpenConfig) -> Result<Box<dyn Store>> {
    Ok(Box::new(kv_bitcask::Bitcask::open(
        dir,
        kv_bitcask::BitcaskOptions {
            core: config.core_options(),
            ..Default::default()
        },
    )?))
}

fn open_lsm(dir: &Path, config: &OpenConfig) -> Result<Box<dyn Store>> {
    Ok(Box::new(kv_lsm::Lsm::open(
        dir,
        kv_lsm::LsmOptions::new(config.core_options()),
    )?))
}

fn open_lsm_tiered(dir: &Path, config: &OpenConfig) -> Result<Box<dyn Store>> {
    let mut options = kv_lsm::LsmOptions::new(config.core_options());
    options.compaction = kv_lsm::CompactionStrategy::tiered();
    Ok(Box::new(kv_lsm::Lsm::open(dir, options)?))
}

fn open_btree(dir: &Path, config: &OpenConfig) -> Result<Box<dyn Store>> {
    Ok(Box::new(kv_btree::Btree::open(
        dir,
        kv_btree::BtreeOptions::new(config.core_options()),
    )?))
}

fn open_memory(_: &Path, _: &OpenConfig) -> Result<Box<dyn Store>> {
    Ok(Box::new(MemStore::new()))
}

fn open_null(_: &Path, _: &OpenConfig) -> Result<Box<dyn Store>> {
    Ok(Box::new(NullStore::new()))
}

/// An entry of the LSM engine (`lsm`, and its `lsm-tiered` variant, which
/// differs only in its compaction strategy): one cache and one unsynced
/// statement for both.
fn lsm_entry(name: &'static str, description: &'static str, open: Factory) -> EngineInfo {
    EngineInfo::ours(
        name,
        description,
        "cache_bytes for data blocks and the pinned index and filter blocks",
        open,
    )
    .unsynced(
        "the LSM's WAL write buffer in process memory (64 KiB), then the OS page cache: a \
         process crash loses at most the buffered 64 KiB (the memtable is rebuilt from the WAL)",
    )
}

/// Every engine available in this build: ours first, then peers, then the
/// harness engines.
pub fn engines() -> Vec<EngineInfo> {
    // Our engines first.
    let mut list = vec![EngineInfo::ours(
        "bitcask",
        "kvlab Bitcask: append-only log segments, in-memory ordered keydir, hint files, merge",
        "none (keydir in memory, values read through the OS page cache)",
        open_bitcask,
    )
    .unsynced(
        "bitcask's write buffer in process memory (at most write_buffer_bytes, 1 MiB by default), \
         then the OS page cache once the buffer fills: a process crash loses at most the buffered \
         1 MiB",
    )];
    list.push(lsm_entry(
        "lsm",
        "kvlab LSM tree: WAL, skiplist memtable, SSTables with index and bloom filters, manifest, leveled compaction",
        open_lsm,
    ));
    list.push(
        lsm_entry(
            "lsm-tiered",
            "kvlab LSM tree with tiered (universal) compaction: sorted runs of similar size merged, a space-amplification bound forcing a full merge",
            open_lsm_tiered,
        )
        .identity("lsm"),
    );
    list.push(
        EngineInfo::ours(
            "btree",
            "kvlab copy-on-write B+tree: 4 KiB pages, two commit slots, persisted free list",
            "node cache of cache_bytes",
            open_btree,
        )
        .unsynced(
            "committed pages held in process memory (at most dirty_budget_bytes, 64 MiB by \
             default) until sync(): a process crash loses every commit since the last sync",
        ),
    );
    list.extend(crate::peers::registered());
    list.push(EngineInfo::harness(
        "memory",
        "in-memory BTreeMap reference store (nothing persists)",
        open_memory,
    ));
    list.push(EngineInfo::harness(
        "null",
        "stores nothing: measures the harness's own cost per operation",
        open_null,
    ));
    list
}

/// Names of every engine in this build, comma-separated, for error messages.
pub fn engine_names() -> String {
    engines()
        .iter()
        .map(|e| e.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Looks up an engine by name.
///
/// # Errors
/// `InvalidArgument` naming the engines that exist when `name` is unknown.
pub fn info(name: &str) -> Result<EngineInfo> {
    engines()
        .into_iter()
        .find(|e| e.name == name)
        .ok_or_else(|| {
            Error::InvalidArgument(format!(
                "unknown engine '{name}'; available engines: {}",
                engine_names()
            ))
        })
}

/// Opens engine `name` on directory `path` (created if missing).
///
/// # Errors
/// `InvalidArgument` for an unknown name; otherwise whatever the engine's
/// open returns (`Locked`, `WrongEngine`, `Corruption`, I/O).
pub fn open(name: &str, path: &Path, config: &OpenConfig) -> Result<Box<dyn Store>> {
    info(name)?.open(path, config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_identities_name_a_registered_engine() {
        let list = engines();
        for (i, e) in list.iter().enumerate() {
            assert!(list[..i].iter().all(|o| o.name != e.name), "{}", e.name);
            assert!(list.iter().any(|o| o.name == e.identity), "{}", e.name);
        }
    }

    #[test]
    fn every_persistent_engine_states_where_unsynced_writes_live() {
        for e in engines().iter().filter(|e| e.persistent) {
            assert_ne!(e.unsynced, "not stated", "{}", e.name);
        }
    }

    #[test]
    fn a_variant_keeps_everything_but_its_identity() {
        let base = EngineInfo::ours("lsm", "d", "c", open_memory);
        let variant = EngineInfo::ours("lsm-tiered", "d", "c", open_memory).identity("lsm");
        assert_eq!(variant.identity, base.name);
        assert_eq!(variant.kind, EngineKind::Ours);
        assert!(variant.persistent && variant.uses_fs);
    }
}
