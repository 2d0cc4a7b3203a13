//! # kv-registry
//!
//! Every engine kvlab can open by name, as a `Box<dyn kv_core::Store>`: the
//! one place the `kv` command line, `kv-bench` and `kv-bench conformance`
//! get engines from. It links no test code (kv-core without its `testkit`
//! feature), so the `kv` binary does not either.
//!
//! - [`engines`], [`info`], [`open`]: the table of [`EngineInfo`] (name,
//!   identity, kind, capabilities, cache use, factory) and opening by name
//!   with one [`OpenConfig`];
//! - **ours**: kvlab's engines (`bitcask`; `lsm`, `btree` as they land);
//! - **peers** ([`peers`]): redb, fjall, LMDB (heed), sled behind default
//!   cargo features, RocksDB behind `rocksdb` (off); each adapter gives the
//!   peer kvlab's rules at the edges (limits, lock, identity marker,
//!   poisoning, sync policy, cache budget);
//! - **harness**: `memory` ([`kv_core::MemStore`]) and `null` ([`NullStore`],
//!   stores nothing: the benchmark's baseline);
//! - [`clap_error_line`]: the one-line command-line error both binaries
//!   print.
//!
//! # Store identity
//!
//! Every persistent engine's directory holds kv-core's `KVLAB` marker naming
//! the engine ([`EngineInfo::identity`]). Our engines claim their directory
//! themselves at open; the registry claims it for each peer before the peer
//! opens ([`kv_core::claim_store_dir`]), so opening one engine's store as
//! another is `Error::WrongEngine` naming the engine that wrote it.

mod clap_error;
mod config;
mod engines;
pub mod null;
pub mod peers;

pub use clap_error::clap_error_line;
pub use config::OpenConfig;
pub use engines::{engine_names, engines, info, open, EngineInfo, EngineKind, Factory};
pub use null::NullStore;
pub use peers::DEFAULT_CACHE_BYTES;
